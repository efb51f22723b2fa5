# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""kill -9 of the real daemon's session at random instants of UPDATE.

A large mailbox, every second message deleted, QUIT, and SIGKILL of the
session process a random delay after the QUIT line was sent; an MDA then
appends a message; the next session's open must finish (or find nothing
to finish), leaving, byte for byte, the mailbox before or after the UPDATE
followed by the new mail, and no journal.  CRASH_LONG=1 (CI) uses an
80 MB mailbox and more rounds.
"""

import os
import random
import signal
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Pop3dCase, session_pids  # noqa: E402

LONG = bool(os.environ.get("CRASH_LONG"))
MBOX_MB = 80 if LONG else 24
ROUNDS = 40 if LONG else 12


def big_messages(total_mb, seed=7):
    """Messages of 2 kB to 200 kB, about total_mb MB in all."""
    rnd = random.Random(seed)
    msgs, size, i = [], 0, 0
    line = b"".join(bytes([97 + (k * 7) % 26]) for k in range(75)) + b"\n"
    while size < total_mb * 1024 * 1024:
        n = rnd.choice((2, 8, 30, 60, 200)) * 1024 // len(line) + 1
        m = (b"From user%d@example.org Sat Jan  6 12:00:00 2024\n"
             b"Subject: message %d\n\n" % (i, i)) + line * n + b"\n"
        msgs.append(m)
        size += len(m)
        i += 1
    return msgs


LATE = (b"From mda@example.org Sat Jan  6 13:00:00 2024\n"
        b"Subject: delivered after the kill\n\nhello\n\n")


class CrashKillTest(Pop3dCase):

    def session_pid(self, srv, before):
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            new = set(session_pids(srv.proc.pid)) - before
            if len(new) == 1:
                return new.pop()
            time.sleep(0.01)
        self.fail("no session process found")

    def delete_half(self, srv, n):
        """Log in, DELE every second message; the client and its pid."""
        before = set(session_pids(srv.proc.pid))
        c = self.login_client(srv)
        pid = self.session_pid(srv, before)
        c.send(b"".join(b"DELE %d\r\n" % i for i in range(2, n + 1, 2)))
        for _ in range(2, n + 1, 2):
            self.assertTrue(c.line().startswith(b"+OK"))
        return c, pid

    def test_kill_during_update(self):
        msgs = big_messages(MBOX_MB)
        before = b"".join(msgs)
        after = b"".join(m for i, m in enumerate(msgs) if i % 2 == 0)
        srv = self.server(before, conf={"mbox_locks": "fcntl"})
        journal = os.path.join(srv.maildir, ".alice.pop3d-journal")
        # One UPDATE to the end, to learn how long one takes here.
        c, pid = self.delete_half(srv, len(msgs))
        t0 = time.monotonic()
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        took = time.monotonic() - t0
        self.assertEqual(srv.read_mbox(), after)
        seen = {"before": 0, "after": 0, "cut": 0}
        rnd = random.Random(11)
        for r in range(ROUNDS):
            srv.write_mbox(before)
            c, pid = self.delete_half(srv, len(msgs))
            delay = rnd.uniform(0, took * 1.1)
            c.send(b"QUIT\r\n")
            time.sleep(delay)
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            c.close()
            # a journal here: the kill landed inside the UPDATE
            deadline = time.monotonic() + 5
            while pid in session_pids(srv.proc.pid) and \
                    time.monotonic() < deadline:
                time.sleep(0.005)
            seen["cut"] += os.path.exists(journal)
            srv.append_mbox(LATE)
            # The next session recovers at its open, then changes nothing.
            p = self.poplib(srv)
            p.stat()
            p.quit()
            got = srv.read_mbox()
            self.assertFalse(os.path.exists(journal), "journal left")
            if got == before + LATE:
                seen["before"] += 1
            elif got == after + LATE:
                seen["after"] += 1
            else:
                self.fail("round %d (kill after %.3f s): %d bytes, neither "
                          "before (%d) nor after (%d)\n%s" %
                          (r, delay, len(got), len(before + LATE),
                           len(after + LATE), srv.log()[-3000:]))
        sys.stderr.write("\n  %d kills in UPDATEs of %d MB (%.2f s), %d "
                         "with a journal left: %d before, %d after ... " %
                         (ROUNDS, MBOX_MB, took, seen["cut"],
                          seen["before"], seen["after"]))


if __name__ == "__main__":
    unittest.main()
