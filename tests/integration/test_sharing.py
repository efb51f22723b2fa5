# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The mailbox shared with the programs that really use /var/mail.

procmail delivers, dotlockfile and flock(1) lock, and a mail reader's
sync (mutt's: under fcntl and a dotlock, rewrite from the first changed
message on, then truncate) is imitated, during POP3 sessions.  Each test
is a finding of a review done as such a mailbox's other users: pop3d
must not delete a message the client did not ask to remove, drop mail
appended during UPDATE, change UIDs when a reader adds its headers, or
keep a user out behind a dead program's dotlock.
"""

import fcntl
import os
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Pop3dCase  # noqa: E402
from test_crash_kill import big_messages  # noqa: E402


def alert(i):
    """Fixed-format alerts: every one the same length."""
    return (b"From monitor@example.org Mon Jan  6 10:00:%02d 2025\n"
            b"From: monitor@example.org\nSubject: alert %03d\n\n"
            b"disk usage above threshold on host-%03d\n\n" % (i, i, i))


def have(*progs):
    return all(shutil.which(p) is not None for p in progs)


@unittest.skipUnless(harness.IS_ROOT, "the MDAs deliver as root here")
@unittest.skipUnless(have("procmail", "dotlockfile", "flock"),
                     "procmail, dotlockfile (liblockfile-bin), flock needed")
class SharingTest(Pop3dCase):

    def procmail(self, srv, msg):
        rc = os.path.join(srv.dir, "procmailrc")
        if not os.path.exists(rc):
            with open(rc, "w") as f:
                f.write("LOCKSLEEP=1\n")
        r = subprocess.run(["procmail", "-m", "DEFAULT=" + srv.mbox_path(),
                            rc], input=msg, capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)

    def reader_sync(self, srv, data):
        """A mail reader's sync: its locks (fcntl on the file, a dotlock
        by dotlockfile), the file rewritten from the first byte that
        differs, cut to its new length."""
        lock = srv.mbox_path() + ".lock"
        r = subprocess.run(["dotlockfile", "-r", "10", "-l", lock],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        try:
            with open(srv.mbox_path(), "r+b") as f:
                fcntl.lockf(f, fcntl.LOCK_EX)
                old = f.read()
                k = 0
                while k < min(len(old), len(data)) and old[k] == data[k]:
                    k += 1
                f.seek(k)
                f.write(data[k:])
                f.truncate()
                f.flush()
                fcntl.lockf(f, fcntl.LOCK_UN)
        finally:
            subprocess.run(["dotlockfile", "-u", lock], timeout=60)

    def test_expunge_and_deliveries_do_not_shift_a_delete(self):
        # Alerts of one length: after the reader expunges 1 and two more
        # arrive, the messages sit on each other's old offsets.
        alerts = [alert(i) for i in range(1, 6)]
        srv = self.server(b"".join(alerts), conf={"expire": "never"})
        c = self.login_client(srv)
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 5 "))
        self.reader_sync(srv, b"".join(alerts[1:]))
        self.procmail(srv, alert(6))
        self.procmail(srv, alert(7))
        now = srv.read_mbox()
        self.assertEqual(len(now), len(alert(1)) * 6)
        self.assertOK(c.cmd("DELE 2"))
        r = c.cmd("QUIT")
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
        self.assertEqual(srv.read_mbox(), now)

    def test_expire_0_keeps_mail_that_took_a_retrieved_place(self):
        alerts = [alert(i) for i in range(1, 6)]
        srv = self.server(b"".join(alerts))	# expire 0
        c = self.login_client(srv)
        for n in range(1, 6):
            self.assertOK(c.cmd("RETR %d" % n))
            c.multi()
        self.reader_sync(srv, b"".join(alerts[1:]))
        self.procmail(srv, alert(6))
        self.procmail(srv, alert(7))
        now = srv.read_mbox()
        r = c.cmd("QUIT")
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
        self.assertEqual(srv.read_mbox(), now)
        self.assertIn(b"Subject: alert 006", srv.read_mbox())

    def test_flock_only_mda_during_update(self):
        # An MDA that takes flock alone does not wait for pop3d's locks:
        # what it appends while UPDATE compacts must survive.
        msgs = big_messages(24)
        srv = self.server(b"".join(msgs))
        late = [b"From flock@example.org Mon Jan  6 11:00:0%d 2025\n"
                b"Subject: late %d\n\nappended under flock\n\n" % (i, i)
                for i in range(3)]
        c = self.login_client(srv)
        c.send(b"".join(b"DELE %d\r\n" % i
                        for i in range(2, len(msgs) + 1, 2)))
        for _ in range(2, len(msgs) + 1, 2):
            self.assertTrue(c.line().startswith(b"+OK"))

        def append_all():
            for m in late:
                subprocess.run(["flock", srv.mbox_path(), "sh", "-c",
                                'cat >> "$0"', srv.mbox_path()], input=m,
                               timeout=60, check=True)
                time.sleep(0.01)

        t = threading.Thread(target=append_all)
        c.send(b"QUIT\r\n")
        t.start()
        self.assertTrue(c.line().startswith(b"+OK"))
        t.join(60)
        want = b"".join(m for i, m in enumerate(msgs) if i % 2 == 0)
        got = srv.read_mbox()
        self.assertEqual(got[:len(want)], want)
        for m in late:
            self.assertEqual(got.count(m), 1, m[:60])
        self.assertEqual(len(got), len(want) + sum(map(len, late)))

    def test_uidl_survives_what_readers_write(self):
        msgs = [b"From user%d@example.org Mon Jan  6 10:00:00 2025\n"
                b"Received: from mx by host with SMTP id %d\n"
                b"Message-ID: <%d@example.org>\nSubject: hello %d\n\n"
                b"text %d\n\n\n" % (i, i, i, i, i) for i in range(12)]
        srv = self.server(b"".join(msgs), conf={"expire": "never"})
        p = self.poplib(srv)
        before = p.uidl()[1]
        p.quit()
        # Thunderbird's and Evolution's headers, the separator made one
        # blank line, CRLF line ends.
        after = b"".join(m.replace(b"\nReceived:", b"\nX-Mozilla-Status: "
                                   b"0001\nX-Mozilla-Status2: 00000000\n"
                                   b"X-Mozilla-Keys:\nX-Evolution: "
                                   b"00000001-0010\nReceived:", 1)
                         .replace(b"\n\n\n", b"\n\n")
                         .replace(b"\n", b"\r\n") for m in msgs)
        self.reader_sync(srv, after)
        p = self.poplib(srv)
        self.assertEqual(p.uidl()[1], before)
        p.quit()

    def test_dead_programs_dotlock(self):
        # dotlockfile -p writes its caller's pid; the caller is gone.
        srv = self.server(b"".join(alert(i) for i in range(1, 3)),
                          conf={"lock_timeout": "3"})
        lock = srv.mbox_path() + ".lock"
        r = subprocess.run(["sh", "-c", 'dotlockfile -p -l "$0"', lock],
                           capture_output=True, timeout=60)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(os.path.exists(lock))
        p = self.poplib(srv)
        self.assertEqual(p.stat()[0], 2)
        p.dele(1)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(srv.read_mbox(), alert(2))
        self.assertFalse(os.path.exists(lock))
        self.assertRegex(srv.log(), r"removed a stale dotlock \(its process "
                         r"\d+ is gone\)")


if __name__ == "__main__":
    unittest.main()
