# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""No name-service module in a session process.

glibc loads the modules /etc/nsswitch.conf names (libnss_systemd with
Debian's `passwd: files systemd') into whichever process asks it for a
name /etc/passwd or /etc/group lacks, or for an account's groups, and
the process keeps them mapped.  pop3d's lookups run in throw-away
children (account.c), so neither the pre-login process nor the one
serving the mailbox maps a libnss_ library: these tests read the
/proc/PID/maps of every process of an open session, before and after
the login, for a passwd-file user with uid:gid (whom no system
database knows), over plain and TLS, for checkpassword and for PAM with
a system account.
"""

import os
import pwd
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (IS_ROOT, CertMixin, Pop3dCase, make_hash,  # noqa: E402
                     make_jail, message, tls_conf, wait_for)

# A name no database holds, looked up the way a session's would be.
PROBE = ("import pwd, grp\n"
         "try:\n    pwd.getpwnam('pop3d-nss-probe-x')\nexcept KeyError:\n"
         "    pass\n"
         "import os\n"
         "os.getgrouplist('root', 0)\n"
         "print(''.join(sorted({l.split()[-1] + '\\n' for l in "
         "open('/proc/self/maps') if 'libnss_' in l})), end='')\n")


def nss_loaded_by_lookups():
    """The libnss_ libraries a process maps after a lookup of a missing
    name and an account's groups, here: the modules the tests must not
    find in a session."""
    r = subprocess.run([sys.executable, "-c", PROBE], capture_output=True,
                       text=True, check=True)
    return r.stdout.split()


def nsswitch_lines():
    try:
        with open("/etc/nsswitch.conf") as f:
            return " / ".join(l.strip() for l in f
                              if l.startswith(("passwd:", "group:")))
    except OSError as e:
        return "no /etc/nsswitch.conf (%s)" % e


def nss_libs(pid):
    """The libnss_ libraries pid maps."""
    with open("/proc/%d/maps" % pid) as f:
        return sorted({l.split()[-1] for l in f if "libnss_" in l})


MODULES = nss_loaded_by_lookups()


@unittest.skipUnless(IS_ROOT, "sessions switch users only as root: run the "
                     "tests as root (CI does)")
@unittest.skipUnless(MODULES, "lookups load no name-service module on this "
                     "machine (%s), so no session could map one: install "
                     "libnss-systemd (tools/deps.sh test) for Debian's "
                     "`passwd: files systemd'" % nsswitch_lines())
class SessionMapsNoNssTest(CertMixin, Pop3dCase):

    def setUp(self):
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)

    def start(self, conf=None, tls=False):
        c = {"chroot": self.jail, "expire": "never"}
        if tls:
            c.update(tls_conf(self.cert, self.key))
        c.update(conf or {})
        srv = self.server([message("a", "x\n")], conf=c,
                          users={"alice": "secret"}, tls=tls)
        # bob is known to the passwd file alone: uid:gid and no account.
        srv.write_passwd(["bob:%s:4242:4243" % make_hash("bobpw")])
        srv.write_mbox([message("b", "y\n")], "bob")
        os.chown(srv.mbox_path("bob"), 4242, 4243)
        os.chmod(srv.maildir, 0o777)
        return srv

    def assert_clean(self, srv, want):
        """Every process of the one open connection (the monitor or the
        session, and the pre-login process or relay): want of them,
        none mapping a libnss_ library."""
        pids = []

        def all_there():
            pids[:] = harness.session_pids(srv.proc.pid)
            for p in list(pids):
                pids.extend(harness.session_pids(p))
            return len(pids) == want
        self.assertTrue(wait_for(all_there), pids)
        for p in pids:
            self.assertEqual(nss_libs(p), [], "pid %d of %s" % (p, pids))
        return pids

    def login(self, srv, c, user, password, want_after):
        self.assertOK(c.line())
        self.assert_clean(srv, 2)
        self.assertOK(c.cmd("USER " + user))
        self.assertOK(c.cmd("PASS " + password))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assert_clean(srv, want_after)
        self.assertOK(c.cmd("QUIT"))

    def test_passwd_file_user_with_ids_plain(self):
        srv = self.start()
        self.login(srv, self.client(srv), "bob", "bobpw", 1)
        self.assertEqual(nss_libs(srv.proc.pid), [])

    def test_passwd_file_user_with_ids_tls(self):
        srv = self.start(tls=True)
        ctx = ssl.create_default_context(cafile=self.cert)
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        f = s.makefile("rb")

        class Tls:
            def line(self):
                return f.readline()

            def cmd(self, text):
                s.sendall(text.encode() + b"\r\n")
                return f.readline()
        # After the login: the session process and the relay.
        self.login(srv, Tls(), "bob", "bobpw", 2)

    def test_checkpassword_user_without_account(self):
        srv = self.start({"auth": "checkpassword",
                          "checkpassword": self.make_checkpassword()})
        self.login(srv, self.client(srv), "alice", "secret", 1)

    def make_checkpassword(self):
        d = tempfile.mkdtemp(prefix="pop3d-cpw-")
        os.chmod(d, 0o755)
        self.addCleanup(shutil.rmtree, d, True)
        prog = os.path.join(d, "checkpw")
        with open(prog, "w") as f:
            f.write("#!/bin/sh\nexec \"$1\"\n")
        os.chmod(prog, 0o755)
        return prog


@unittest.skipUnless(IS_ROOT, "creating a system account needs root")
@unittest.skipUnless(shutil.which("useradd") and shutil.which("chpasswd"),
                     "useradd/chpasswd not installed")
@unittest.skipUnless(MODULES, "lookups load no name-service module on this "
                     "machine (%s)" % nsswitch_lines())
class PamSessionMapsNoNssTest(Pop3dCase):
    """A system account through PAM: PAM, the account's lookup and its
    groups all load modules, none of them in the session."""

    def setUp(self):
        import test_privsep
        if not test_privsep.pam_built():
            self.skipTest("pop3d built without PAM")
        self.user = harness.system_account(self, "p3n", "pam-Secret-2")
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)

    def test_pam_system_account(self):
        pw = pwd.getpwnam(self.user)
        srv = self.server(None, conf={"auth": "pam", "chroot": self.jail},
                          users={})
        srv.write_mbox([message("p", "pam\n")], self.user)
        os.chown(srv.mbox_path(self.user), pw.pw_uid, pw.pw_gid)
        os.chmod(srv.maildir, 0o777)
        c = self.client(srv)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER " + self.user))
        r = c.cmd("PASS pam-Secret-2")
        self.assertTrue(r.startswith(b"+OK"), (r, srv.log()))
        mon = wait_for(lambda: harness.session_pids(srv.proc.pid))
        self.assertEqual(len(mon), 1, mon)
        self.assertEqual(harness.proc_ids(mon[0]), [pw.pw_uid] * 4)
        self.assertEqual(nss_libs(mon[0]), [])
        with open("/proc/%d/maps" % mon[0]) as f:
            self.assertNotIn("libpam", f.read())
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assertOK(c.cmd("QUIT"))


if __name__ == "__main__":
    unittest.main()
