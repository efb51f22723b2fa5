# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The session's log lines an administrator reads (pop3d.8, LOGGING), from
the daemon's own log: the TLS in use on failed logins as on good ones,
QUIT's deletions by DELE apart from those of EXPIRE 0, a logout line for
a session ended by SIGTERM, file paths named as they are outside the
session's chroot with the uid it ran as, and the client's address handed
to PAM as PAM_RHOST (a pam_access rule that refuses one address)."""

import glob
import os
import pwd
import re
import shutil
import signal
import ssl
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (CertMixin, Client, IS_ROOT, RUN_AS, Pop3dCase,  # noqa: E402
                     chown_tree, have_ipv6_loopback, make_jail, message,
                     session_pids, tls_conf, wait_for)

WAIT = 10
TLS_HOW = r"TLSv1\.[23] TLS[A-Z0-9-]+"


class SessionLogTest(CertMixin, Pop3dCase):

    def tls_server(self, msgs, **conf):
        srv = self.server(msgs, start=False, tls=True)
        crt, key = (os.path.join(srv.dir, n) for n in ("s.crt", "s.key"))
        shutil.copy(self.cert, crt)
        shutil.copy(self.key, key)
        srv.extra.update(tls_conf(crt, key, **conf))
        chown_tree(srv.dir)
        return srv.start()

    def tls_client(self, srv, implicit):
        """A client over TLS, implicit or by STLS, greeting read."""
        ctx = ssl.create_default_context(cafile=self.cert)
        c = Client(srv.tls_port if implicit else srv.port)
        self.addCleanup(c.close)
        if implicit:
            c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        self.assertOK(c.line())
        if not implicit:
            self.assertOK(c.cmd("STLS"))
            c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        return c

    def wait_log(self, srv, pattern, n=1):
        self.assertTrue(wait_for(lambda: len(re.findall(
            pattern, srv.log(), re.M)) >= n, limit=WAIT), srv.log())

    def test_failed_login_names_tls(self):
        srv = self.tls_server([message("a", "x\n")])
        for implicit in (True, False):
            c = self.tls_client(srv, implicit)
            self.assertOK(c.cmd("USER alice"))
            self.assertERR(c.cmd("PASS wrong"))
            self.assertERR(c.cmd("AUTH PLAIN AGFsaWNlAG5v"))  # alice, "no"
            self.assertOK(c.cmd("USER alice"))
            self.assertOK(c.cmd("PASS secret"))
            self.assertOK(c.cmd("QUIT"))
            c.close()
        self.wait_log(srv, r"\] logout ", 2)
        log = srv.log()
        for how in ("USER", "AUTH PLAIN"):
            self.assertEqual(len(re.findall(
                r"login alice from 127\.0\.0\.1:\d+ \(%s, %s\): failed, "
                r"wrong password$" % (how, TLS_HOW), log, re.M)), 2, log)
        self.assertEqual(len(re.findall(
            r"login alice from 127\.0\.0\.1:\d+ \(USER, %s\): ok, "
            r"1 messages$" % TLS_HOW, log, re.M)), 2, log)
        # Without TLS the command stands alone.
        c = self.client(srv)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER alice"))
        self.assertERR(c.cmd("PASS wrong"))
        self.wait_log(srv, r"\(USER\): failed, wrong password$")

    def test_logout_counts_expired_apart_from_dele(self):
        msgs = [message(s, "body %s\n" % s) for s in "abcde"]
        srv = self.server(msgs)
        c = self.login_client(srv)
        self.assertOK(c.cmd("LIST"))
        size = {int(n): int(o) for n, o in
                (l.split() for l in c.multi().decode().splitlines())}
        for n in (1, 2):
            self.assertOK(c.cmd("DELE %d" % n))
        for n in (3, 4, 5):
            self.assertOK(c.cmd("RETR %d" % n))
            c.multi()
        self.assertOK(c.cmd("QUIT"))
        self.wait_log(srv, r"\] logout ")
        self.assertRegex(srv.log(), re.compile(
            r"logout alice from 127\.0\.0\.1:\d+: retrieved 3 messages "
            r"\(%d octets\), deleted 2 \(DELE, %d octets\), expired 3 "
            r"\(retrieved, %d octets\)$" % (
                size[3] + size[4] + size[5], size[1] + size[2],
                size[3] + size[4] + size[5]), re.M))
        self.assertNotIn(b"Subject: ", srv.read_mbox())

    def sigterm_ends_session(self, srv, c, kill):
        """DELE in c's session, then kill(); the session must end, log
        its logout and leave the mailbox as it was."""
        before = srv.read_mbox()
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("RETR 2"))
        c.multi()
        kill()
        self.assertEqual(c.read_until_eof(WAIT), b"")
        self.wait_log(srv, r"\] logout ")
        log = srv.log()
        self.assertRegex(log, re.compile(
            r"\] logout alice from 127\.0\.0\.1:\d+: terminated by signal, "
            r"nothing deleted$", re.M))
        self.assertEqual(log.count("] logout "), 1, log)
        self.assertEqual(srv.read_mbox(), before)

    def test_sigterm_to_daemon_logs_logout(self):
        msgs = [message("a", "x\n"), message("b", "y\n")]
        for tls in (False, True):
            with self.subTest(tls=tls):
                if tls:
                    srv = self.tls_server(msgs, shutdown_timeout=1)
                    c = self.tls_client(srv, implicit=True)
                    self.assertOK(c.cmd("USER alice"))
                    self.assertOK(c.cmd("PASS secret"))
                else:
                    srv = self.server(msgs, conf={"shutdown_timeout": 1})
                    c = self.login_client(srv)
                self.sigterm_ends_session(
                    srv, c, lambda: srv.proc.send_signal(signal.SIGTERM))
                srv.proc.wait(WAIT)
                self.assertIn("ending 1 sessions without update", srv.log())

    def test_sigterm_to_session_logs_logout(self):
        srv = self.server([message("a", "x\n"), message("b", "y\n")])
        c = self.login_client(srv)
        pids = session_pids(srv.proc.pid)
        self.assertEqual(len(pids), 1, pids)
        self.sigterm_ends_session(
            srv, c, lambda: os.kill(pids[0], signal.SIGTERM))
        # The daemon goes on serving.
        c = self.login_client(srv)
        self.assertOK(c.cmd("QUIT"))

    @unittest.skipUnless(IS_ROOT, "the session's chroot needs root")
    def test_unreadable_mailbox_named_by_real_path_and_uid(self):
        # The session runs chrooted in the mailbox's directory, as RUN_AS.
        jail = make_jail()
        self.addCleanup(shutil.rmtree, jail, True)
        srv = self.server([message("a", "x\n")], conf={"chroot": jail})
        os.chmod(srv.mbox_path(), 0)
        c = self.client(srv)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER alice"))
        self.assertTrue(c.cmd("PASS secret").startswith(b"-ERR [SYS/PERM]"))
        uid = pwd.getpwnam(RUN_AS).pw_uid
        self.wait_log(srv, re.escape("%s: open as uid %d: Permission denied"
                                     % (srv.mbox_path(), uid)))
        self.assertNotRegex(srv.log(), r"\] /alice: ")


def pam_built():
    try:
        with open(harness.pop3d_path(), "rb") as f:
            return b"libpam.so.0" in f.read()
    except OSError:
        return False


PAM_SERVICE = "/etc/pam.d/pop3"
PAM_ACCESS = glob.glob("/lib/*/security/pam_access.so") + \
    glob.glob("/usr/lib/*/security/pam_access.so")


@unittest.skipUnless(IS_ROOT, "a system account and /etc/pam.d need root")
@unittest.skipUnless(shutil.which("useradd") and shutil.which("chpasswd"),
                     "useradd/chpasswd not installed")
@unittest.skipUnless(pam_built(), "pop3d built without PAM "
                     "(libpam0g-dev missing at build time)")
class PamRhostTest(Pop3dCase):
    """pop3d's PAM service is pop3: a file of that name is written for
    the test (and removed after) only where none exists.  It is Debian's
    common-auth and common-account with pam_access before the latter, reading
    an access.conf that refuses the test's account from 127.0.0.1 alone,
    so other logins through pop3 are not changed meanwhile."""

    def setUp(self):
        if not PAM_ACCESS:
            self.skipTest("pam_access.so missing (libpam-modules)")
        if os.path.exists(PAM_SERVICE):
            self.skipTest(PAM_SERVICE + " exists: not replaced by a test")
        if not have_ipv6_loopback():
            self.skipTest("no ::1 to log in from")
        self.user = harness.system_account(self, "p3r", "pam-Secret-2")
        self.work = tempfile.mkdtemp(prefix="pop3d-pam-")
        self.addCleanup(shutil.rmtree, self.work, True)
        access = os.path.join(self.work, "access.conf")
        with open(access, "w") as f:
            f.write("-:%s:127.0.0.1\n+:ALL:ALL\n" % self.user)
        with open(PAM_SERVICE, "x") as f:
            f.write("# written by pop3d's test_logging.py, removed after\n"
                    "@include common-auth\n"
                    "account required pam_access.so accessfile=%s\n"
                    "@include common-account\n" % access)
        self.addCleanup(os.unlink, PAM_SERVICE)
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)

    def login(self, srv, host):
        c = self.client(srv, host)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER " + self.user))
        return c.cmd("PASS pam-Secret-2")

    def test_pam_access_sees_client_address(self):
        pw = pwd.getpwnam(self.user)
        srv = self.server(None, conf={"auth": "pam", "chroot": self.jail},
                          users={}, ipv6=True)
        srv.write_mbox([message("p", "pam\n")], self.user)
        os.chown(srv.mbox_path(self.user), pw.pw_uid, pw.pw_gid)
        os.chmod(srv.maildir, 0o777)
        self.assertTrue(self.login(srv, "127.0.0.1").startswith(
            b"-ERR [AUTH]"), srv.log())
        r = self.login(srv, "::1")
        self.assertTrue(r.startswith(b"+OK"), (r, srv.log()))
        self.assertRegex(srv.log(), r"login %s from 127\.0\.0\.1:\d+ "
                         r"\(USER\): failed, " % self.user)


if __name__ == "__main__":
    unittest.main()
