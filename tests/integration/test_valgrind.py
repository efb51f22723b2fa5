# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""pop3d under valgrind's memcheck: whole sessions with `pop3d -i`, plain
(scripted stdin) and implicit TLS (-s, over a socketpair), must show no
invalid read, write or jump, no use of uninitialised memory and no leak
(definite, indirect or possible) in any process of the session: the
session process (the one valgrind started, which becomes the mailbox
owner after the login) and the pre-login process it forks.

valgrind reports on descriptor 9, kept open across pop3d's forks and its
chroot (a log file by name could not be written from inside the jail).

The pre-login process's syscall filter is off here (`sandbox no'), on
purpose and only here: valgrind runs its own code in the process, so a
filter installed under it judges valgrind's calls too and kills the
process on the first one not on pop3d's list.
"""

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Pop3dCase, pop3d_path, default_messages,  # noqa: E402
                     pop_form, stuff, build_mbox, make_cert, tls_conf,
                     chown_tree, pop3d_sanitized)

VALGRIND_TIMEOUT = 120		# memcheck runs pop3d some 20-50 times slower
LOG_FD = 9

SCRIPT = [b"CAPA", b"USER alice", b"PASS secret", b"STAT", b"LIST",
          b"UIDL", b"TOP 2 3", b"RETR 1", b"RETR 6", b"DELE 2", b"RSET",
          b"DELE 3", b"LIST 3", b"RETR 99", b"BOGUS", b"NOOP", b"QUIT"]


# See the docstring: valgrind can't run the filter.
NO_FILTER = {"sandbox": "no"}

VALGRIND = ["valgrind", "--tool=memcheck", "--vgdb=no", "--leak-check=full",
            "--show-leak-kinds=all",
            "--errors-for-leak-kinds=definite,indirect,possible",
            "--error-exitcode=99", "--log-fd=%d" % LOG_FD]


@unittest.skipUnless(shutil.which("valgrind"), "valgrind not installed")
@unittest.skipIf(pop3d_sanitized(), "valgrind can't run a sanitizer build "
                 "(make check-asan); make test runs this")
class ValgrindTest(Pop3dCase):

    def setUp(self):
        # valgrind's report file, open on LOG_FD for the child to inherit.
        fd, self.vglog = tempfile.mkstemp(prefix="pop3d-vg-")
        self.addCleanup(os.unlink, self.vglog)
        if fd != LOG_FD:
            os.dup2(fd, LOG_FD)
            os.close(fd)
        self.addCleanup(self.close_log)

    def close_log(self):
        try:
            os.close(LOG_FD)
        except OSError:
            pass

    def report(self):
        with open(self.vglog, "r", errors="replace") as f:
            return f.read()

    def assertClean(self, report, processes):
        """Every process valgrind followed ended with 0 errors and all heap
        blocks freed (or nothing lost)."""
        pids = set(re.findall(r"^==(\d+)== ", report, re.M))
        summaries = dict(re.findall(
            r"^==(\d+)== ERROR SUMMARY: (\d+) errors", report, re.M))
        self.assertGreaterEqual(len(summaries), processes, report)
        self.assertEqual(set(summaries), pids, report)
        self.assertEqual(set(summaries.values()), {"0"}, report)
        for pid in pids:
            mine = "\n".join(l for l in report.splitlines()
                             if l.startswith("==%s== " % pid))
            self.assertTrue(
                "All heap blocks were freed" in mine or
                re.search(r"definitely lost: 0 bytes.*indirectly lost: 0 "
                          r"bytes.*possibly lost: 0 bytes", mine, re.S),
                mine)

    def check_session(self, srv, msgs, out):
        """The replies to SCRIPT and the mailbox it leaves."""
        self.assertTrue(out.startswith(b"+OK"), out[:200])
        for i in (0, 5):
            self.assertIn(b"+OK %d octets\r\n" % len(pop_form(msgs[i])) +
                          stuff(pop_form(msgs[i])) + b".\r\n", out)
        self.assertIn(b"-ERR message is deleted\r\n-ERR no such message"
                      b"\r\n-ERR unknown command\r\n+OK\r\n", out)
        self.assertTrue(out.endswith(b"(1 messages deleted)\r\n"),
                        out[-200:])
        # RSET forgot RETR 1, RETR 6 and DELE 2; DELE 3 came after it.
        self.assertEqual(srv.read_mbox(), build_mbox(msgs[:2] + msgs[3:]))

    def test_plain_session(self):
        msgs = default_messages()
        srv = self.server(msgs, conf=NO_FILTER, start=False)
        srv.write_conf()
        r = subprocess.run(VALGRIND + [pop3d_path(), "-i", "-f",
                                       srv.conf_path],
                           input=b"\r\n".join(SCRIPT) + b"\r\n",
                           pass_fds=(LOG_FD,), capture_output=True,
                           timeout=VALGRIND_TIMEOUT)
        self.close_log()
        report = self.report()
        self.assertEqual(r.returncode, 0, report + r.stderr.decode())
        self.check_session(srv, msgs, r.stdout)
        # The session process and the pre-login one.
        self.assertClean(report, 2)

    def test_tls_session(self):
        msgs = default_messages()
        srv = self.server(msgs, conf=NO_FILTER, start=False)
        crt, key = make_cert(srv.dir)
        srv.extra.update(tls_conf(crt, key, listen_tls="none"))
        chown_tree(srv.dir)
        srv.write_conf()
        ours, theirs = socket.socketpair()
        self.addCleanup(ours.close)
        p = subprocess.Popen(VALGRIND + [pop3d_path(), "-i", "-s", "-f",
                                         srv.conf_path],
                             stdin=theirs, stdout=theirs,
                             stderr=subprocess.PIPE, pass_fds=(LOG_FD,))
        theirs.close()
        self.close_log()
        try:
            out = self.tls_script(ours, crt)
            rc = p.wait(VALGRIND_TIMEOUT)
            err = p.stderr.read().decode()
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
        report = self.report()
        self.assertEqual(rc, 0, report + err)
        self.check_session(srv, msgs, out)
        # The session, and the pre-login process that became its relay.
        self.assertClean(report, 2)

    @staticmethod
    def tls_script(sock, ca):
        """SCRIPT over TLS on sock; everything the server sent."""
        ctx = ssl.create_default_context(cafile=ca)
        sock.settimeout(VALGRIND_TIMEOUT)
        tls = ctx.wrap_socket(sock, server_hostname="localhost")
        tls.sendall(b"\r\n".join(SCRIPT) + b"\r\n")
        out = b""
        while True:
            try:
                chunk = tls.recv(65536)
            except (ssl.SSLEOFError, ConnectionResetError):
                break
            if not chunk:
                break
            out += chunk
        tls.close()
        return out


if __name__ == "__main__":
    unittest.main()
