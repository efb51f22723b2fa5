# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""popa3d as a reference server, for the tests of uidl_compat popa3d.

popa3d_session(mbox, commands) answers: what does Debian's popa3d say to
these commands on a mailbox holding these bytes?  popa3d is never
installed: its Debian package is fetched with `apt-get download` into
CACHE/debs and unpacked with `dpkg-deb -x` into CACHE/root, once (`make
clean` removes CACHE), as dovecot_ref does for Dovecot.

popa3d runs as root from inetd, checks passwords through PAM and reads
/var/mail/USER, and it needs its own account (popa3d) and jail
(/var/lib/popa3d).  So each session runs in a private mount namespace
(unshare -m) where copies of /etc/passwd, /etc/group and /etc/shadow
that add the users popa3d and USER, a temporary /var/mail and an empty
/var/lib are mounted over the real ones: nothing outside the temporary
directory changes, and the namespace is gone when popa3d exits.  That
needs root and unshare; unavailable() says why not, for
unittest.SkipTest.
"""

import fcntl
import os
import shutil
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".popa3d")
PACKAGE = "popa3d"
USER = "p3user"
PASSWORD = "secret"
# Ids for the two accounts, unused on a test machine.
UID_POPA3D = 64990
UID_USER = 64991

FETCH_TIMEOUT = 120.0		# apt-get download (50 KB)
UNPACK_TIMEOUT = 60.0
SESSION_TIMEOUT = 30.0		# one whole session, start to exit

_state = {}


def _run(what, argv, timeout, cwd=None):
    """Run argv; None when it succeeded, else a one-line reason."""
    try:
        r = subprocess.run(argv, cwd=cwd, capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "%s: %s" % (what, e)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        return "%s failed: %s" % (what, err[-1] if err else r.returncode)
    return None


def _deb():
    d = os.path.join(CACHE, "debs")
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    return next((os.path.join(d, n) for n in names
                 if n.startswith(PACKAGE + "_") and n.endswith(".deb")), None)


def _fetch():
    """Download and unpack the package unless CACHE/root is complete.
    None on success, else why not."""
    root = os.path.join(CACHE, "root")
    if os.path.exists(os.path.join(root, ".complete")):
        return None
    debs = os.path.join(CACHE, "debs")
    os.makedirs(debs, exist_ok=True)
    if _deb() is None:
        if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
            return "apt-get and dpkg-deb are needed to fetch popa3d"
        why = _run("apt-get download",
                   ["apt-get", "-qq", "-o", "APT::Sandbox::User=root",
                    "download", PACKAGE], FETCH_TIMEOUT, cwd=debs)
        if why:
            return why
    if _deb() is None:
        return "apt-get download left no package in " + debs
    part = root + ".part"
    shutil.rmtree(part, ignore_errors=True)
    why = _run("dpkg-deb -x", ["dpkg-deb", "-x", _deb(), part],
               UNPACK_TIMEOUT)
    if why:
        return why
    open(os.path.join(part, ".complete"), "w").close()
    shutil.rmtree(root, ignore_errors=True)
    os.rename(part, root)
    return None


def _binary():
    return os.path.join(CACHE, "root/usr/sbin/popa3d")


def unavailable():
    """None when popa3d can be run, else the reason it can't."""
    if "why" not in _state:
        why = None
        if os.geteuid() != 0:
            why = "popa3d runs as root (it authenticates system users)"
        elif not shutil.which("unshare"):
            why = "unshare (util-linux) is needed for popa3d's namespace"
        else:
            try:
                os.makedirs(CACHE, exist_ok=True)
                with open(os.path.join(CACHE, "lock"), "w") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX)
                    why = _fetch()
            except OSError as e:
                why = "popa3d cache %s: %s" % (CACHE, e)
            if why is None and not os.access(_binary(), os.X_OK):
                why = "not in the package: " + _binary()
        _state["why"] = why and "popa3d can't be had (%s)" % why
    return _state["why"]


def require():
    why = unavailable()
    if why:
        raise unittest.SkipTest(why)


def _etc(tmp):
    """Copies of passwd, group and shadow with popa3d's two users."""
    h = subprocess.run(["openssl", "passwd", "-6", PASSWORD],
                       capture_output=True, check=True).stdout.decode().strip()
    etc = os.path.join(tmp, "etc")
    os.mkdir(etc)
    for name, extra in (
            ("passwd", ["popa3d:x:%d:%d::/nonexistent:/usr/sbin/nologin"
                        % (UID_POPA3D, UID_POPA3D),
                        "%s:x:%d:%d::/nonexistent:/usr/sbin/nologin"
                        % (USER, UID_USER, UID_USER)]),
            ("group", ["popa3d:x:%d:" % UID_POPA3D,
                       "%s:x:%d:" % (USER, UID_USER)]),
            ("shadow", ["popa3d:*:19000:0:99999:7:::",
                        "%s:%s:19000:0:99999:7:::" % (USER, h)])):
        try:
            with open("/etc/" + name) as f:
                text = f.read()
        except FileNotFoundError:
            text = ""
        with open(os.path.join(etc, name), "w") as f:
            f.write(text + "".join(l + "\n" for l in extra))
    os.chmod(os.path.join(etc, "shadow"), 0o640)
    return etc


def popa3d_session(mbox_bytes, commands):
    """Log in to popa3d on a mailbox holding mbox_bytes, send commands
    (strings without line ends; end with QUIT), and return (the raw
    bytes popa3d sent after the login, the mailbox afterwards)."""
    why = unavailable()
    if why:
        raise RuntimeError(why)
    tmp = tempfile.mkdtemp(prefix="popa3d-ref-")
    try:
        etc = _etc(tmp)
        mail = os.path.join(tmp, "mail")
        os.mkdir(mail)
        box = os.path.join(mail, USER)
        with open(box, "wb") as f:
            f.write(mbox_bytes)
        os.chown(box, UID_USER, UID_USER)
        os.chmod(box, 0o600)
        script = (
            'set -e; for f in passwd group shadow; do '
            'mount --bind "$1/$f" "/etc/$f"; done; '
            'mount --bind "$2" /var/mail; mount -t tmpfs none /var/lib; '
            'mkdir /var/lib/popa3d; exec "$3"')
        lines = ["USER " + USER, "PASS " + PASSWORD] + list(commands)
        r = subprocess.run(
            ["unshare", "-m", "--propagation", "private", "/bin/sh", "-c",
             script, "sh", etc, mail, _binary()],
            input="".join(l + "\r\n" for l in lines).encode(),
            capture_output=True, timeout=SESSION_TIMEOUT)
        out = r.stdout
        # the greeting, USER's and PASS's replies: one line each
        for _ in range(3):
            line, _, out = out.partition(b"\r\n")
            if not line.startswith(b"+OK"):
                raise RuntimeError("popa3d refused the login: %r (%r)"
                                   % (line, r.stderr))
        with open(box, "rb") as f:
            after = f.read()
        return out, after
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def popa3d_uidls(mbox_bytes):
    """popa3d's UIDL listing of mbox_bytes: a list of UIDs in order."""
    out, _ = popa3d_session(mbox_bytes, ["UIDL", "QUIT"])
    head, _, rest = out.partition(b"\r\n")
    if not head.startswith(b"+OK"):
        raise RuntimeError("popa3d UIDL: %r" % out)
    body, _, _ = rest.partition(b".\r\n")
    return [l.split()[1].decode() for l in body.splitlines()]
