# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Interrupted UPDATEs finished without waiting for their owner's login.

A session killed (kill -9) in the middle of its UPDATE leaves a journal
and a mailbox half compacted, with messages twice over, which every other
reader of the file sees until the journal is finished.  The listener
finishes it at once (recover.c), as the mailbox's owner; one left while
no listener ran (inetd, a power cut) is finished when the daemon starts.
No test here logs in before it looks at the mailbox.
"""

import os
import random
import signal
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Pop3dCase, pop3d_path, session_pids, wait_for  # noqa
from test_crash_kill import big_messages  # noqa: E402

FOUND = "an interrupted UPDATE's journal: finishing it as uid"
ROUNDS = 12


class RecoveryCase(Pop3dCase):

    def setUp(self):
        self.msgs = big_messages(24)
        self.before = b"".join(self.msgs)
        self.after = b"".join(m for i, m in enumerate(self.msgs)
                              if i % 2 == 0)
        self.dele = b"".join(b"DELE %d\r\n" % i
                             for i in range(2, len(self.msgs) + 1, 2))

    def journal(self, srv):
        return os.path.join(srv.maildir, ".alice.pop3d-journal")

    def settled(self, srv):
        """No journal, and the mailbox before or after, byte for byte."""
        return not os.path.exists(self.journal(srv)) and \
            srv.read_mbox() in (self.before, self.after)


class InetdLeftoverTest(RecoveryCase):

    def inetd_session(self, srv):
        """A `pop3d -i` session that has deleted every second message and
        been sent QUIT; the process (the session itself after login)."""
        p = subprocess.Popen([pop3d_path(), "-i", "-f", srv.conf_path],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL)
        self.addCleanup(p.wait, 30)
        self.addCleanup(p.stdout.close)
        self.addCleanup(p.stdin.close)
        p.stdin.write(b"USER alice\r\nPASS secret\r\n" + self.dele)
        p.stdin.flush()
        for _ in range(2 + len(self.msgs) // 2 + 1):
            self.assertTrue(p.stdout.readline().startswith(b"+OK"))
        p.stdin.write(b"QUIT\r\n")
        p.stdin.flush()
        return p

    def test_start_finishes_a_journal_left_behind(self):
        srv = self.server(self.before, conf={"mbox_locks": "fcntl"},
                          start=False)
        srv.write_conf()
        t0 = time.monotonic()
        p = self.inetd_session(srv)
        self.assertTrue(p.stdout.readline().startswith(b"+OK"))
        took = time.monotonic() - t0
        self.assertEqual(srv.read_mbox(), self.after)
        # Kill -9 inside an UPDATE, with nobody to finish it after.
        rnd = random.Random(5)
        for _ in range(ROUNDS):
            srv.write_mbox(self.before)
            p = self.inetd_session(srv)
            time.sleep(rnd.uniform(0.3, 0.8) * took)
            p.kill()
            p.wait(10)
            if os.path.exists(self.journal(srv)):
                break
        else:
            self.skipTest("no kill of %d landed inside an UPDATE" % ROUNDS)
        srv.start()
        self.assertTrue(wait_for(lambda: self.settled(srv), 30),
                        srv.log()[-3000:])
        self.assertIn(FOUND, srv.log())
        # Finished now, or found done (killed between its cut and unlink).
        self.assertRegex(srv.log(), "finishing an UPDATE interrupted|"
                         "an interrupted UPDATE had finished")


class KilledSessionTest(RecoveryCase):

    def delete_half(self, srv):
        before = set(session_pids(srv.proc.pid))
        c = self.login_client(srv)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            new = set(session_pids(srv.proc.pid)) - before
            if len(new) == 1:
                break
            time.sleep(0.01)
        self.assertEqual(len(new), 1)
        c.send(self.dele)
        for _ in range(2, len(self.msgs) + 1, 2):
            self.assertTrue(c.line().startswith(b"+OK"))
        return c, new.pop()

    def test_session_killed_in_update_is_finished_at_once(self):
        srv = self.server(self.before, conf={"mbox_locks": "fcntl"})
        c, pid = self.delete_half(srv)
        t0 = time.monotonic()
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        took = time.monotonic() - t0
        rnd = random.Random(3)
        finished = 0
        for r in range(ROUNDS):
            srv.write_mbox(self.before)
            c, pid = self.delete_half(srv)
            c.send(b"QUIT\r\n")
            time.sleep(rnd.uniform(0.3, 0.8) * took)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass		# the UPDATE was over
            c.close()
            # No login: the listener's pass alone settles the mailbox.
            self.assertTrue(wait_for(lambda: self.settled(srv), 30),
                            "round %d\n%s" % (r, srv.log()[-3000:]))
            finished = srv.log().count(FOUND)
            if finished >= 2:
                break
        if finished == 0:
            self.skipTest("no kill of %d landed inside an UPDATE" % ROUNDS)
        self.assertIsNone(srv.proc.poll())
        # The recovery's processes are gone, and counted as no session.
        self.assertTrue(wait_for(
            lambda: session_pids(srv.proc.pid) == []))
        self.assertTrue(self.poplib(srv).stat()[0] > 0)


if __name__ == "__main__":
    unittest.main()
