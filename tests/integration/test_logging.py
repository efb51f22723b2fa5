"""The session's log lines an administrator reads (pop3d.8, LOGGING), from
the daemon's own log: the TLS in use on failed logins as on good ones,
QUIT's deletions by DELE apart from those of EXPIRE 0, a logout line for
a session ended by SIGTERM, and file paths named as they are outside the
session's chroot, with the uid it ran as."""

import os
import pwd
import re
import shutil
import signal
import ssl
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CertMixin, Client, IS_ROOT, RUN_AS, Pop3dCase,  # noqa: E402
                     chown_tree, make_jail, message, session_pids, tls_conf,
                     wait_for)

WAIT = 10
TLS_HOW = r"TLSv1\.[23] TLS-[A-Z0-9-]+"


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


if __name__ == "__main__":
    unittest.main()
