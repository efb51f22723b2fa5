# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""pop3d -t against the mistakes that break logins, and pop3d -n.

Each broken configuration is written for real (files, modes, a read-only
mount, PAM service files bind-mounted over /etc/pam.d in a mount namespace
of the test's own) and -t must exit 1 with a message that names the
problem, its file:line and the fix; weak hashes and a PAM fallback that
works are warnings that leave the exit status 0.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Pop3dCase, IS_ROOT, PROC_TIMEOUT  # noqa: E402

# Hashes of the password "secret" by the weak methods -t warns about
# (openssl passwd -1 -salt saltsalt; crypt("secret", "sa")).
MD5_HASH = "$1$saltsalt$9xy1btjgzLYfb7hivXtC//"
DES_HASH = "saHW9GdxihkGQ"


def unshare_usable():
    """Whether this process may make a mount namespace of its own."""
    if not IS_ROOT or shutil.which("unshare") is None:
        return False
    r = subprocess.run(["unshare", "-m", "true"], capture_output=True,
                       timeout=PROC_TIMEOUT)
    return r.returncode == 0


class CheckCase(Pop3dCase):

    def setUp(self):
        self.srv = self.server([], start=False)

    def check(self, conf=None, passwd=None, wrap=None):
        """Run pop3d -t on the harness's configuration plus conf (a dict)
        and, if given, passwd lines in place of the harness's own; wrap
        is a shell script run around pop3d ("$@" is the command).
        Returns (exit status, stderr, stdout) as text."""
        self.srv.extra.update(conf or {})
        if passwd is not None:
            with open(self.srv.passwd, "w") as f:
                f.write("".join(l + "\n" for l in passwd))
        self.srv.write_conf(port=harness.free_port())
        cmd = [harness.pop3d_path(), "-t", "-f", self.srv.conf_path]
        if wrap is not None:
            cmd = ["unshare", "-m", "sh", "-c", wrap, "sh"] + cmd
        r = subprocess.run(cmd, capture_output=True, timeout=PROC_TIMEOUT)
        return r.returncode, r.stderr.decode(), r.stdout.decode()

    def replace(self, key, value):
        """Write value for key (mailbox or passwd_file) in the line the
        harness writes for it."""
        text = self.srv.conf_text
        old = {"mailbox": os.path.join(self.srv.maildir, "%u"),
               "passwd_file": self.srv.passwd}[key]
        self.srv.conf_text = lambda *a: text(*a).replace(
            "\n%s %s\n" % (key, old), "\n%s %s\n" % (key, value))

    def where(self, key):
        """"conf:N:" for the line of the written config that sets key."""
        with open(self.srv.conf_path) as f:
            for n, line in enumerate(f, 1):
                if line.split(" ", 1)[0] == key:
                    found = n
        return "%s:%d: " % (self.srv.conf_path, found)

    def assertSays(self, err, *parts):
        """Some one line of err holds every part."""
        for line in err.splitlines():
            if all(p in line for p in parts):
                return
        self.fail("no line of -t's output holds %r:\n%s" % (parts, err))


class GoodTest(CheckCase):

    def test_good_config_passes(self):
        rc, err, out = self.check()
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", out)
        self.assertNotIn("warning", err)

    def test_weak_hashes_warn_only(self):
        good = harness.make_hash("secret")
        rc, err, out = self.check(passwd=["alice:" + good,
                                          "carol:" + MD5_HASH,
                                          "dave:" + DES_HASH,
                                          "locked:*", "gone:!" + good])
        self.assertEqual(rc, 0, err)
        self.assertIn("configuration OK", out)
        p = self.srv.passwd
        self.assertSays(err, p + ":2: warning:", "carol", "MD5-crypt",
                        "mkpasswd")
        self.assertSays(err, p + ":3: warning:", "dave", "traditional DES",
                        "mkpasswd")
        # Locked accounts and the good hash say nothing.
        self.assertEqual(len(err.strip().splitlines()), 2, err)
        # Warnings, not errors: those users do log in.
        for user in ("carol", "dave"):
            r = self.srv.inetd(("USER %s\r\nPASS secret\r\nQUIT\r\n" %
                                user).encode())
            self.assertTrue(r.stdout.split(b"\r\n")[2].startswith(b"+OK"),
                            r.stdout)


class PasswdTest(CheckCase):

    def test_missing_passwd_file(self):
        nope = os.path.join(self.srv.dir, "nope")
        self.replace("passwd_file", nope)
        rc, err, _ = self.check()
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("passwd_file") + "passwd_file " +
                        nope, "No such file", "[SYS/TEMP]", "create it")

    def test_unreadable_passwd_file(self):
        # A directory opens but can't be read: EISDIR, even for root.
        self.replace("passwd_file", self.srv.maildir)
        rc, err, _ = self.check()
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("passwd_file"), "Is a directory",
                        "[SYS/TEMP]")

    def test_unusable_hashes(self):
        good = harness.make_hash("secret")
        rc, err, _ = self.check(passwd=[
            "alice:" + good,
            "cut:" + good[:30],		# truncated $6$
            "plain:secret",		# plain text
            "odd:$9$abc$def",		# a scheme libcrypt doesn't know
            "# a comment",
            "no colon at all",		# malformed lines
            "badid:" + good + ":x:100",
            "rel:" + good + ":1000:1000:var/mail/rel"])
        self.assertEqual(rc, 1)
        p = self.srv.passwd
        self.assertSays(err, p + ":2: ", "hash of cut",
                        "not a complete crypt(3) hash", "wrong password",
                        "mkpasswd")
        self.assertSays(err, p + ":3: ", "hash of plain",
                        "not a complete crypt(3) hash", "mkpasswd")
        self.assertSays(err, p + ":4: ", "hash of odd",
                        "unknown scheme", "[SYS/TEMP]", "mkpasswd")
        self.assertSays(err, p + ":6: ", "expected user:hash", "correct it")
        self.assertSays(err, p + ":7: ", "uid and gid")
        self.assertSays(err, p + ":8: ", "absolute path")
        self.assertNotIn(p + ":1: ", err)
        self.assertNotIn(p + ":5: ", err)
        self.assertIn("6 errors", err)


class PathsTest(CheckCase):

    def test_mailbox_directory_missing(self):
        tmpl = os.path.join(self.srv.dir, "mial", "%u")
        self.replace("mailbox", tmpl)
        rc, err, _ = self.check()
        self.assertEqual(rc, 1)
        missing = os.path.join(self.srv.dir, "mial")
        self.assertSays(err, self.where("mailbox") + "mailbox " + tmpl,
                        "directory %s: No such file" % missing,
                        "create " + missing)

    def test_template_with_user_directory(self):
        # /home/%u/mbox: the fixed part, before %u, is what must exist.
        tmpl = os.path.join(self.srv.dir, "homes", "%u", "mbox")
        self.replace("mailbox", tmpl)
        rc, err, _ = self.check()
        self.assertEqual(rc, 1)
        homes = os.path.join(self.srv.dir, "homes")
        self.assertSays(err, self.where("mailbox"), "directory %s:" % homes)
        # Then each account's own directory, named at its passwd line.
        os.mkdir(homes)
        rc, err, _ = self.check()
        self.assertEqual(rc, 1)
        self.assertSays(err, self.srv.passwd + ":1: ", "of alice",
                        "directory %s/alice: No such file" % homes)
        os.mkdir(os.path.join(homes, "alice"))
        rc, err, _ = self.check()
        self.assertEqual(rc, 0, err)

    def test_passwd_mailbox_directory_missing(self):
        good = harness.make_hash("secret")
        box = os.path.join(self.srv.dir, "elsewhere", "alice")
        rc, err, _ = self.check(passwd=["alice:%s:1000:1000:%s" %
                                        (good, box)])
        self.assertEqual(rc, 1)
        self.assertSays(err, self.srv.passwd + ":1: ", "mailbox " + box,
                        "No such file")

    def test_pidfile_directory_missing(self):
        pid = os.path.join(self.srv.dir, "run", "pop3d.pid")
        rc, err, _ = self.check({"pidfile": pid})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("pidfile") + "pidfile " + pid,
                        "No such file", "create " +
                        os.path.join(self.srv.dir, "run"))

    @unittest.skipUnless(unshare_usable(), "needs root and unshare -m")
    def test_pidfile_directory_read_only(self):
        # As under systemd's ProtectSystem=strict: root can't write there.
        run = os.path.join(self.srv.dir, "run")
        os.mkdir(run)
        pid = os.path.join(run, "pop3d.pid")
        rc, err, _ = self.check({"pidfile": pid},
                                wrap='mount -t tmpfs -o ro tmpfs %s && '
                                'exec "$@"' % run)
        self.assertEqual(rc, 1, err)
        self.assertSays(err, self.where("pidfile"), "not writable",
                        "Read-only file system")

    def test_every_error_is_printed(self):
        self.replace("passwd_file", os.path.join(self.srv.dir, "nope"))
        rc, err, _ = self.check({
            "pidfile": os.path.join(self.srv.dir, "run", "pop3d.pid")})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("pidfile"))
        self.assertSays(err, self.where("passwd_file"))
        self.assertIn("2 errors", err)


class CheckpasswordTest(CheckCase):

    def prog(self, mode):
        path = os.path.join(self.srv.dir, "checkpw")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(path, mode)
        return path

    def test_missing_program(self):
        path = os.path.join(self.srv.dir, "nope")
        rc, err, _ = self.check({"auth": "checkpassword",
                                 "checkpassword": path})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("checkpassword") +
                        "checkpassword " + path, "No such file",
                        "install the program")

    def test_not_executable(self):
        path = self.prog(0o644)
        rc, err, _ = self.check({"auth": "checkpassword",
                                 "checkpassword": path})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("checkpassword"), "not executable",
                        "chmod 755")

    def test_directory(self):
        rc, err, _ = self.check({"auth": "checkpassword",
                                 "checkpassword": self.srv.dir})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("checkpassword"), "not a regular")

    def test_executable_passes(self):
        marker = os.path.join(self.srv.dir, "ran")
        path = self.prog(0o755)
        with open(path, "w") as f:
            f.write("#!/bin/sh\ntouch %s\nexit 1\n" % marker)
        rc, err, _ = self.check({"auth": "checkpassword",
                                 "checkpassword": path})
        self.assertEqual(rc, 0, err)
        # -t looks at the program and never runs it.
        self.assertFalse(os.path.exists(marker))


@unittest.skipUnless(unshare_usable(), "needs root and unshare -m")
class PamTest(CheckCase):
    """auth pam with PAM service files of the test's choosing, bind-mounted
    over /etc/pam.d in a mount namespace that only pop3d -t sees."""

    def pam(self, files):
        pamd = tempfile.mkdtemp(prefix="pop3d-pamd-")
        self.addCleanup(shutil.rmtree, pamd, True)
        for name, text in files.items():
            with open(os.path.join(pamd, name), "w") as f:
                f.write(text)
        return self.check({"auth": "pam"},
                          wrap='mount --bind %s /etc/pam.d && exec "$@"' %
                          pamd)

    def test_service_file_present(self):
        with open(os.path.join(harness.REPO, "dist", "pam.d", "pop3")) as f:
            rc, err, out = self.pam({"pop3": f.read(), "other":
                                     "auth required pam_deny.so\n"})
        self.assertEqual(rc, 0, err)
        self.assertNotIn("pam", err)

    def test_falls_back_to_debian_other(self):
        # Debian 12's /etc/pam.d/other: the common-* stacks.
        rc, err, out = self.pam({"other": "@include common-auth\n"
                                 "@include common-account\n"})
        self.assertEqual(rc, 0, err)
        self.assertSays(err, self.where("auth") + "warning: auth pam",
                        "/etc/pam.d/pop3", '"other"', "/etc/pam.d/other",
                        "copy dist/pam.d/pop3")

    def test_other_denies(self):
        rc, err, out = self.pam({"other": "# deny all\n"
                                 "auth\trequired\tpam_deny.so\n"
                                 "account required pam_deny.so\n"})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("auth") + "auth pam",
                        "/etc/pam.d/other", "pam_deny, line 2",
                        "copy dist/pam.d/pop3")

    def test_no_service_at_all(self):
        rc, err, out = self.pam({})
        self.assertEqual(rc, 1)
        self.assertSays(err, self.where("auth"), "no /etc/pam.d/pop3",
                        "no /etc/pam.d/other", "copy dist/pam.d/pop3")


class PrintTest(CheckCase):

    def print_conf(self, conf=None):
        self.srv.extra.update(conf or {})
        self.srv.write_conf(port=harness.free_port())
        r = subprocess.run([harness.pop3d_path(), "-n", "-f",
                            self.srv.conf_path], capture_output=True,
                           timeout=PROC_TIMEOUT)
        return r.returncode, r.stdout.decode(), r.stderr.decode()

    def test_defaults_and_set_values(self):
        rc, out, err = self.print_conf({"expire": "never",
                                        "login_delay": "60"})
        self.assertEqual(rc, 0, err)
        lines = out.splitlines()
        # Set values, as set.
        self.assertIn("expire never", lines)
        self.assertIn("login_delay 60", lines)
        self.assertIn("passwd_file " + self.srv.passwd, lines)
        # Defaults the file never mentions.
        for default in ("idle_timeout 600", "mbox_format mboxo",
                        "mbox_locks fcntl dotlock", "plaintext_auth local",
                        "sandbox yes", "listen_tls none",
                        "# tls_cert (not set)"):
            self.assertIn(default, lines)

    def test_printout_reparses(self):
        rc, out, err = self.print_conf({"max_sessions": "20",
                                        "proxy_trusted": "192.0.2.0/24"})
        self.assertEqual(rc, 0, err)
        again = os.path.join(self.srv.dir, "printed.conf")
        with open(again, "w") as f:
            f.write(out)
        r = subprocess.run([harness.pop3d_path(), "-t", "-f", again],
                           capture_output=True, timeout=PROC_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        r = subprocess.run([harness.pop3d_path(), "-n", "-f", again],
                           capture_output=True, timeout=PROC_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        # The same settings; only the header's file name differs.
        self.assertEqual(r.stdout.decode().splitlines()[1:],
                         out.splitlines()[1:])
        # max_sessions_per_ip follows max_sessions when not given.
        self.assertIn("max_sessions_per_ip 5", out.splitlines())

    def test_parse_error(self):
        rc, out, err = self.print_conf({"idle_timeout": "soon"})
        self.assertEqual(rc, 1)
        self.assertIn(self.where("idle_timeout"), err)
        self.assertEqual(out, "")


if __name__ == "__main__":
    unittest.main()
