# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The Debian package (debian/, make deb): it builds, lintian finds no
errors, and installed with `dpkg --root` into a scratch directory it
creates the pop3d account and /run/pop3d, enables nothing, passes
`pop3d -t` on its own /etc/pop3d.conf, serves a POP3 session there
(PAM, /var/mail), and `dpkg --purge` takes it away again.

The package is built afresh by `make deb DEB_DIR=<scratch>` (a .deb left
in build/deb may be older than the tree).  Nothing is installed on this
machine: dpkg runs with --root and --force-script-chrootless, so the
maintainer scripts run here with DPKG_ROOT set, as Debian's bootstrap
tools run them; they do so in a mount namespace where /etc, /usr and
/var/lib are read-only and /run is empty (no systemd to talk to), so a
script that ignored DPKG_ROOT would fail rather than change this
machine.  pop3d then runs chrooted into that directory, with this
machine's libraries bound into it."""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (REPO, PROC_TIMEOUT, build_mbox, make_hash,  # noqa: E402
                     message, pop_form, pop3d_version)

BUILD_TIMEOUT = 900	# make deb on a loaded two-core machine
LINTIAN_TIMEOUT = 300
TOOLS = {"dpkg-buildpackage": "dpkg-dev", "dh": "debhelper",
         "lintian": "lintian"}
# The files and conffiles the package must hold.
EXPECTED_FILES = [
    "/usr/sbin/pop3d", "/etc/pop3d.conf", "/etc/pam.d/pop3",
    "/etc/fail2ban/filter.d/pop3d.conf",
    "/usr/share/man/man8/pop3d.8.gz", "/usr/share/man/man5/pop3d.conf.5.gz",
    "/lib/systemd/system/pop3d.service", "/lib/systemd/system/pop3d@.service",
    "/lib/systemd/system/pop3d.socket", "/lib/systemd/system/pop3s.socket",
    "/usr/lib/sysusers.d/pop3d.conf", "/usr/lib/tmpfiles.d/pop3d.conf",
    "/usr/share/doc/pop3d/README.gz", "/usr/share/doc/pop3d/README.Debian",
    "/usr/share/doc/pop3d/copyright",
    "/usr/share/doc/pop3d/fail2ban/jail.d/pop3d.conf",
    "/var/lib/pop3d/empty", "/etc/pop3d",
]
CONFFILES = ["/etc/pop3d.conf", "/etc/pam.d/pop3",
             "/etc/fail2ban/filter.d/pop3d.conf"]
USER, PASSWORD, UID = "alice", "alice deb pw", 1100

_deb = {}


def installed(pkg):
    r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", pkg],
                       capture_output=True, timeout=PROC_TIMEOUT)
    return r.stdout.endswith(b" installed")


def why_not_build():
    missing = sorted(p for t, p in TOOLS.items() if shutil.which(t) is None)
    if shutil.which("dpkg-query") and not installed("build-essential"):
        missing.append("build-essential")
    if missing:
        return ("make deb needs %s (apt-get install %s, or sh tools/deps.sh "
                "deb)" % (", ".join(missing), " ".join(missing)))
    return None


def why_not_install():
    if os.geteuid() != 0:
        return "dpkg --root, mount namespaces and chroot need root"
    for tool, pkg in (("unshare", "util-linux"),
                      ("systemd-sysusers", "systemd"),
                      ("systemd-tmpfiles", "systemd")):
        if shutil.which(tool) is None:
            return ("%s (package %s) is needed to install the package into "
                    "a scratch root" % (tool, pkg))
    return None


def setUpModule():
    why = why_not_build()
    if why:
        raise unittest.SkipTest(why)
    out = tempfile.mkdtemp(prefix="pop3d-deb-")
    _deb["dir"] = out
    # Not the flags of a make that runs this test (make test CFLAGS=...):
    # the package is built with dpkg-buildflags'.
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(["nice", "-n", "19", "make", "-s", "-C", REPO, "deb",
                        "DEB_DIR=" + out], capture_output=True, env=env,
                       timeout=BUILD_TIMEOUT)
    if r.returncode != 0:
        raise AssertionError("make deb failed:\n" +
                             (r.stdout + r.stderr).decode(errors="replace"))
    debs = glob.glob(os.path.join(out, "pop3d_*.deb"))
    if len(debs) != 1:
        raise AssertionError("make deb left %r in %s" % (debs, out))
    _deb["deb"] = debs[0]
    _deb["changes"] = glob.glob(os.path.join(out, "pop3d_*.changes"))[0]


def tearDownModule():
    if "dir" in _deb:
        shutil.rmtree(_deb["dir"], ignore_errors=True)


def run(args, **kw):
    return subprocess.run(args, capture_output=True, timeout=PROC_TIMEOUT,
                          **kw)


def sh_quote(s):
    return "'" + s.replace("'", "'\\''") + "'"


class BuildTest(unittest.TestCase):
    """What make deb built, read with dpkg-deb and lintian."""

    def deb_field(self, field):
        return run(["dpkg-deb", "-f", _deb["deb"], field]).stdout.decode()

    def test_version_is_pop3d_version(self):
        self.assertEqual(self.deb_field("Version").strip(), pop3d_version())

    def test_files_and_conffiles(self):
        listing = run(["dpkg-deb", "-c", _deb["deb"]]).stdout.decode()
        paths = {line.split()[-1].lstrip(".").rstrip("/")
                 for line in listing.splitlines()}
        expected = EXPECTED_FILES + (
            ["/usr/share/doc/pop3d/NEWS.gz"]
            if os.path.exists(os.path.join(REPO, "NEWS")) else [])
        for f in expected:
            self.assertIn(f, paths)
        # The licence is debian/copyright; /var/empty is not the chroot.
        self.assertNotIn("/usr/share/doc/pop3d/LICENSE", paths)
        self.assertNotIn("/var/empty", paths)
        ctl = tempfile.mkdtemp(prefix="pop3d-debctl-")
        self.addCleanup(shutil.rmtree, ctl)
        run(["dpkg-deb", "-e", _deb["deb"], ctl], check=True)
        with open(os.path.join(ctl, "conffiles")) as f:
            self.assertEqual(sorted(f.read().split()), sorted(CONFFILES))

    def test_units_name_usr_sbin(self):
        ex = tempfile.mkdtemp(prefix="pop3d-debx-")
        self.addCleanup(shutil.rmtree, ex)
        run(["dpkg-deb", "-x", _deb["deb"], ex], check=True)
        for unit in ("pop3d.service", "pop3d@.service"):
            with open(os.path.join(ex, "lib/systemd/system", unit)) as f:
                text = f.read()
            self.assertNotIn("@SBINDIR@", text)
            self.assertIn("ExecStart=/usr/sbin/pop3d ", text)

    def test_stripped_with_dbgsym(self):
        """dh_strip stripped the binary and moved its debugging symbols to
        pop3d-dbgsym, which the Makefile's compiler flags (-g) gave it."""
        ex = tempfile.mkdtemp(prefix="pop3d-debx-")
        self.addCleanup(shutil.rmtree, ex)
        run(["dpkg-deb", "-x", _deb["deb"], ex], check=True)
        r = run(["readelf", "-S", "-W", os.path.join(ex, "usr/sbin/pop3d")])
        self.assertEqual(r.returncode, 0, r.stderr)
        for section in (b" .symtab ", b" .debug_info "):
            self.assertNotIn(section, r.stdout, "pop3d is not stripped")
        dbg = glob.glob(os.path.join(_deb["dir"], "pop3d-dbgsym_*.deb"))
        self.assertEqual(len(dbg), 1, "no pop3d-dbgsym package")
        listing = run(["dpkg-deb", "-c", dbg[0]]).stdout.decode()
        self.assertRegex(listing, r"/usr/lib/debug/\.build-id/.*\.debug")

    def test_lintian_no_errors(self):
        r = subprocess.run(["nice", "-n", "19", "lintian", "--display-info",
                            "--pedantic", "--fail-on", "error",
                            _deb["changes"]], capture_output=True,
                           timeout=LINTIAN_TIMEOUT)
        out = r.stdout.decode(errors="replace")
        tags = [ln for ln in out.splitlines() if ln[:2] in
                ("E:", "W:", "I:", "P:")]
        if tags:
            print("\nlintian:\n  " + "\n  ".join(tags))
        errors = [ln for ln in tags if ln.startswith("E:")]
        self.assertEqual(errors, [], out)
        self.assertNotIn(r.returncode, (1, 2), r.stderr.decode())


class ScratchRoot:
    """A directory holding an empty dpkg database, into which the package
    is installed and from which it is purged with `dpkg --root`, and in
    which pop3d runs chrooted."""

    def __init__(self):
        self.root = tempfile.mkdtemp(prefix="pop3d-debroot-")
        os.chmod(self.root, 0o755)
        admin = os.path.join(self.root, "var/lib/dpkg")
        for d in ("info", "updates", "triggers"):
            os.makedirs(os.path.join(admin, d))
        for f in ("status", "available"):
            open(os.path.join(admin, f), "w").close()

    def path(self, p):
        return os.path.join(self.root, p.lstrip("/"))

    def guarded(self, script):
        """Run the shell script in a mount namespace where this machine's
        /etc, /usr and /var/lib are read-only and /run is empty."""
        guard = ["mount -t tmpfs tmpfs /run"]
        for d in ("/etc", "/usr", "/var/lib"):
            guard.append("mount --bind %s %s" % (d, d))
            guard.append("mount -o remount,bind,ro %s" % d)
        return run(["unshare", "--mount", "sh", "-ec",
                    "\n".join(guard + [script])])

    def dpkg(self, *args):
        return self.guarded(" ".join(
            ["dpkg", "--root=" + sh_quote(self.root),
             "--force-script-chrootless", "--force-depends"] +
            [sh_quote(a) for a in args]))

    def chroot(self, args, stdin=b""):
        """Run args chrooted into the root, with this machine's
        libraries (and PAM modules, which live beside them) bound in."""
        binds = []
        for host, inside in (("/usr/lib", "/usr/lib"), ("/lib", "/lib"),
                             ("/lib64", "/lib64")):
            real = os.path.realpath(host)
            if not os.path.isdir(real):
                continue
            os.makedirs(self.path(inside), exist_ok=True)
            binds.append("mount --bind %s %s" % (
                sh_quote(real), sh_quote(self.path(inside))))
        script = "\n".join(binds + ['exec chroot "$0" "$@"'])
        return subprocess.run(["unshare", "--mount", "sh", "-ec", script,
                               self.root] + args, input=stdin,
                              capture_output=True, timeout=PROC_TIMEOUT)

    def remove(self):
        # chroot()'s binds live and die in its namespace; should one ever
        # show here, removing the tree would remove this machine's /usr/lib.
        for inside in ("/usr/lib", "/lib", "/lib64"):
            if os.path.ismount(self.path(inside)):
                raise AssertionError("%s is still mounted: %s left in "
                                     "place" % (inside, self.root))
        shutil.rmtree(self.root, ignore_errors=True)


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except FileNotFoundError:
        return None


def host_state():
    """What the package's scripts must never change on this machine."""
    return {p: read(p) for p in ("/etc/passwd", "/etc/group", "/etc/shadow")}


def debian_base(sr):
    """What every Debian system has before this package comes, and its
    configuration names: the group mail (base-passwd) and /var/mail,
    root:mail 2775 (base-files)."""
    os.makedirs(sr.path("/etc"), exist_ok=True)
    with open(sr.path("/etc/group"), "a") as f:
        f.write("mail:x:8:\n")
    spool = sr.path("/var/mail")
    os.makedirs(spool, exist_ok=True)
    os.chown(spool, 0, 8)
    os.chmod(spool, 0o2775)


def add_mail_user(sr):
    """An account with a password and mail, and PAM's common-* files as
    Debian has them."""
    with open(sr.path("/etc/group"), "a") as f:
        f.write("%s:x:%d:\n" % (USER, UID))
    with open(sr.path("/etc/passwd"), "a") as f:
        f.write("%s:x:%d:%d::/nonexistent:/bin/sh\n" % (USER, UID, UID))
    with open(sr.path("/etc/shadow"), "a") as f:
        f.write("%s:%s:19000:0:99999:7:::\n" % (USER, make_hash(PASSWORD)))
    with open(sr.path("/etc/nsswitch.conf"), "w") as f:
        f.write("passwd: files\ngroup: files\nshadow: files\n")
    # Debian's common-auth and common-account with pam_unix alone.
    with open(sr.path("/etc/pam.d/common-auth"), "w") as f:
        f.write("auth [success=1 default=ignore] pam_unix.so nullok\n"
                "auth requisite pam_deny.so\nauth required pam_permit.so\n")
    with open(sr.path("/etc/pam.d/common-account"), "w") as f:
        f.write("account [success=1 new_authtok_reqd=done default=ignore] "
                "pam_unix.so\naccount requisite pam_deny.so\n"
                "account required pam_permit.so\n")
    spool = sr.path("/var/mail")
    msgs = [message("first", "one\n"), message("second", "two\n")]
    mbox = os.path.join(spool, USER)
    with open(mbox, "wb") as f:
        f.write(build_mbox(msgs))
    os.chown(mbox, UID, 8)
    os.chmod(mbox, 0o660)
    return msgs


@unittest.skipIf(why_not_install(), why_not_install())
class InstallTest(unittest.TestCase):
    """The package installed into a scratch root, as dpkg installs it."""

    @classmethod
    def setUpClass(cls):
        cls.sr = ScratchRoot()
        cls.host_before = host_state()
        debian_base(cls.sr)
        r = cls.sr.dpkg("--install", _deb["deb"])
        cls.install = r
        if r.returncode != 0:
            cls.sr.remove()
            raise AssertionError("dpkg --root --install failed:\n" +
                                 (r.stdout + r.stderr).decode())

    @classmethod
    def tearDownClass(cls):
        cls.sr.remove()

    def test_host_untouched(self):
        self.assertEqual(host_state(), self.host_before)

    def test_files_where_dpkg_says(self):
        r = run(["dpkg-query", "--root=" + self.sr.root, "-L", "pop3d"])
        self.assertEqual(r.returncode, 0, r.stderr)
        listed = r.stdout.decode().split()
        for f in EXPECTED_FILES:
            self.assertIn(f, listed)
        for f in listed:
            self.assertTrue(os.path.lexists(self.sr.path(f)), f)
        r = run(["dpkg-query", "--root=" + self.sr.root, "-W",
                 "-f=${Conffiles}", "pop3d"])
        conffiles = [ln.split()[0] for ln in r.stdout.decode().splitlines()
                     if ln.strip()]
        self.assertEqual(sorted(conffiles), sorted(CONFFILES))

    def test_pop3d_account_and_run_dir(self):
        """postinst made the account (systemd-sysusers) and the pidfile's
        directory (systemd-tmpfiles), in the root and not here."""
        passwd = read(self.sr.path("/etc/passwd")) or ""
        entry = [ln.split(":") for ln in passwd.splitlines()
                 if ln.startswith("pop3d:")]
        self.assertEqual(len(entry), 1, "no pop3d account in the root")
        uid, home, shell = int(entry[0][2]), entry[0][5], entry[0][6]
        self.assertTrue(0 < uid < 1000, uid)
        self.assertEqual(home, "/nonexistent")
        self.assertTrue(shell.endswith("/nologin"), shell)
        self.assertTrue(os.path.isdir(self.sr.path("/run/pop3d")))
        st = os.stat(self.sr.path("/var/lib/pop3d/empty"))
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o755))
        self.assertEqual(os.listdir(self.sr.path("/var/lib/pop3d/empty")), [])
        st = os.stat(self.sr.path("/etc/pop3d"))	# for keys
        self.assertEqual((st.st_uid, st.st_mode & 0o777), (0, 0o750))

    def test_nothing_enabled(self):
        """No unit is enabled: no symlink to one anywhere in /etc/systemd."""
        links = []
        for dirpath, dirs, files in os.walk(self.sr.path("/etc/systemd")):
            links += [f for f in files + dirs if f.startswith("pop3")]
        self.assertEqual(links, [])

    def test_config_check_passes(self):
        """pop3d -t on /etc/pop3d.conf as installed, no certificate."""
        r = self.sr.chroot(["/usr/sbin/pop3d", "-t"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn(b"/etc/pop3d.conf: configuration OK", r.stdout)

    def test_version(self):
        r = self.sr.chroot(["/usr/sbin/pop3d", "-V"])
        self.assertEqual(r.stdout.decode().split()[:2],
                         ["pop3d", self.deb_version()], r.stderr)

    def deb_version(self):
        r = run(["dpkg-query", "--root=" + self.sr.root, "-W",
                 "-f=${Version}", "pop3d"])
        return r.stdout.decode()

    def test_session(self):
        """A PAM login to a system account's /var/mail mailbox through the
        installed binary and configuration, unchanged (pop3d -i on a pipe,
        where plaintext_auth local allows a password); what QUIT removes
        is the default's (expire 0: retrieved mail)."""
        msgs = add_mail_user(self.sr)
        r = self.sr.chroot(["/usr/sbin/pop3d", "-i"], stdin=(
            "USER %s\r\nPASS %s\r\nSTAT\r\nRETR 1\r\nQUIT\r\n" %
            (USER, PASSWORD)).encode())
        out = r.stdout
        self.assertEqual(r.returncode, 0, out + r.stderr)
        lines = out.split(b"\r\n")
        self.assertTrue(lines[2].startswith(b"+OK"), out)  # PASS
        self.assertTrue(lines[3].startswith(b"+OK 2 "), out)  # STAT
        self.assertIn(pop_form(msgs[0]) + b".\r\n", out)
        self.assertTrue(lines[-2].startswith(b"+OK"), out)  # QUIT
        with open(self.sr.path("/var/mail/" + USER), "rb") as f:
            self.assertEqual(f.read(), build_mbox(msgs[1:]))


@unittest.skipIf(why_not_install(), why_not_install())
class PurgeTest(unittest.TestCase):

    def test_purge_removes_it(self):
        sr = ScratchRoot()
        self.addCleanup(sr.remove)
        before = host_state()
        r = sr.dpkg("--install", _deb["deb"])
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        listed = run(["dpkg-query", "--root=" + sr.root, "-L", "pop3d"]) \
            .stdout.decode().split()
        r = sr.dpkg("--purge", "pop3d")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        r = run(["dpkg-query", "--root=" + sr.root, "-W", "pop3d"])
        self.assertNotEqual(r.returncode, 0, r.stdout)
        for f in listed:
            p = sr.path(f)
            if f in ("/", "/etc", "/usr", "/lib", "/var", "/var/lib") or \
                    os.path.isdir(p) and os.listdir(p):
                continue	# directories the package shares
            self.assertFalse(os.path.lexists(p), f + " is left")
        # The account stays (README.Debian says why).
        passwd = read(sr.path("/etc/passwd")) or ""
        self.assertIn("\npop3d:", "\n" + passwd)
        self.assertEqual(host_state(), before)


if __name__ == "__main__":
    unittest.main()
