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

import os
import shutil
import subprocess
import tempfile
import unittest

import debfetch

HERE = os.path.dirname(os.path.abspath(__file__))
CACHE = os.path.join(HERE, ".popa3d")
PACKAGE = "popa3d"
USER = "p3user"
PASSWORD = "secret"
# Ids for the two accounts, unused on a test machine.
UID_POPA3D = 64990
UID_USER = 64991

FETCH_TIMEOUT = 120.0		# apt-get download (50 KB)
SESSION_TIMEOUT = 30.0		# one whole session, start to exit

_state = {}


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
            why = debfetch.fetch(CACHE, [PACKAGE], FETCH_TIMEOUT)
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
