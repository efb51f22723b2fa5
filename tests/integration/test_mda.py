# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Real MDAs and other programs on the mailbox while sessions run.

procmail (as a delivery agent: fcntl and dotlock) and dotlockfile from
liblockfile-bin with an append deliver while POP3 sessions retrieve and
delete; afterwards every delivered message must be in the mailbox exactly
once and intact, and every deleted one gone.  Also: a mailbox rewritten
by another program during a session, the folder-data message, mboxcl2,
X-UIDL and the UIDs of identical twins across sessions.

POP3D_MDA_COUNT sets the messages each MDA delivers (default 25; CI's
long run can raise it).
"""

import os
import poplib
import random
import re
import shutil
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Pop3dCase, message, build_mbox  # noqa: E402

COUNT = int(os.environ.get("POP3D_MDA_COUNT", "25"))
DEADLINE = 120.0		# the whole concurrent run, seconds

SUBJ = re.compile(rb"^Subject: (m-\S+)$", re.M)


def body_of(tag):
    """A body that is easy to check and has lines worth transforming."""
    lines = [b"message %s line %d %s" % (tag.encode(), i, b"x" * (i * 7 % 50))
             for i in range(1 + hash(tag) % 40)]
    lines.insert(1, b".a line starting with a dot")
    lines.append(b"end of " + tag.encode())
    return b"\n".join(lines) + b"\n"


def parse_mbox(data):
    """(subject, body) of every message, split at From_ lines that start
    the file or follow a blank line, as mboxo readers do."""
    out = []
    starts = [0] if data.startswith(b"From ") else []
    starts += [m.start() + 2 for m in re.finditer(rb"\n\nFrom ", data)]
    for i, s in enumerate(starts):
        e = starts[i + 1] - 1 if i + 1 < len(starts) else len(data)
        msg = data[s:e]
        head, _, body = msg.partition(b"\n\n")
        m = SUBJ.search(head)
        out.append((m.group(1).decode() if m else None, body))
    return out


def pop_body(lines):
    """The body of a RETR reply (poplib has undone the dot-stuffing)."""
    text = b"\n".join(lines) + b"\n"
    head, _, body = text.partition(b"\n\n")
    m = SUBJ.search(head)
    return (m.group(1).decode() if m else None), body


def have(prog):
    return shutil.which(prog) is not None


@unittest.skipUnless(harness.IS_ROOT, "MDAs deliver as root here")
@unittest.skipUnless(have("procmail") and have("dotlockfile"),
                     "procmail and dotlockfile (liblockfile-bin) needed")
class MdaTest(Pop3dCase):

    def setUp(self):
        self.lock = threading.Lock()
        self.delivered = {}		# subject -> body
        self.deleted = set()
        self.errors = []

    def stored(self, tag):
        date = "Mon Jan  6 10:%02d:%02d 2025" % (len(tag) % 60,
                                                hash(tag) % 60)
        hdr = ("From mda@example.org %s\nFrom: mda@example.org\n"
               "Subject: %s\n\n" % (date, tag)).encode()
        return hdr + body_of(tag)

    def note(self, tag):
        with self.lock:
            self.delivered[tag] = body_of(tag)

    def deliver_procmail(self, srv, rc):
        for i in range(COUNT):
            tag = "m-procmail-%d" % i
            self.note(tag)	# before a session can see it
            r = subprocess.run(
                ["procmail", "-m", "DEFAULT=" + srv.mbox_path(), rc],
                input=self.stored(tag), capture_output=True, timeout=60)
            if r.returncode != 0:
                self.errors.append("procmail %d: %r" % (i, r.stderr))
                return
            time.sleep(random.random() * 0.02)

    def deliver_dotlockfile(self, srv):
        lock = srv.mbox_path() + ".lock"
        for i in range(COUNT):
            tag = "m-dotlock-%d" % i
            self.note(tag)
            # dotlockfile's own retries pause 5 s and more: retry here
            deadline = time.monotonic() + 60
            while True:
                r = subprocess.run(["dotlockfile", "-r", "0", lock],
                                   capture_output=True, timeout=60)
                if r.returncode == 0 or time.monotonic() > deadline:
                    break
                time.sleep(0.02)
            if r.returncode != 0:
                self.errors.append("dotlockfile %d: %r" % (i, r.stderr))
                return
            try:
                with open(srv.mbox_path(), "ab") as f:
                    # an MDA writes its message in pieces
                    data = self.stored(tag) + b"\n"
                    half = len(data) // 2
                    f.write(data[:half])
                    f.flush()
                    time.sleep(0.002)
                    f.write(data[half:])
            finally:
                subprocess.run(["dotlockfile", "-u", lock], timeout=60)
            time.sleep(random.random() * 0.02)

    def one_session(self, srv, rnd):
        """Retrieve some messages, check them, delete some, QUIT."""
        try:
            p = srv.poplib(inuse_wait=10)
        except (poplib.error_proto, OSError) as e:
            self.errors.append("login: %r" % (e,))
            return
        try:
            n = p.stat()[0]
            chosen = []
            for msn in range(1, n + 1):
                if rnd.random() < 0.5:
                    continue
                subj, body = pop_body(p.retr(msn)[1])
                with self.lock:
                    want = self.delivered.get(subj)
                if subj is not None and subj.startswith("m-") and \
                        want != body:
                    self.errors.append("RETR %d (%s) not intact: %r, "
                                       "expected %r" % (msn, subj, body[-80:],
                                                        (want or b"")[-80:]))
                if subj is not None and rnd.random() < 0.5:
                    p.dele(msn)
                    chosen.append(subj)
            r = p.quit()
            if r.startswith(b"+OK"):
                with self.lock:
                    self.deleted.update(chosen)
        except (poplib.error_proto, OSError, EOFError) as e:
            self.errors.append("session: %r" % (e,))
            p.close()

    def test_concurrent_delivery(self):
        srv = self.server([message("first", "already there\n")],
                          conf={"expire": "never"})
        rc = os.path.join(srv.dir, "procmailrc")
        with open(rc, "w") as f:
            # everything to $DEFAULT; retry a busy lock after 1 s, not 8
            f.write("LOCKSLEEP=1\n")
        rnd = random.Random(1939)
        mdas = [threading.Thread(target=self.deliver_procmail,
                                 args=(srv, rc)),
                threading.Thread(target=self.deliver_dotlockfile,
                                 args=(srv,))]
        for t in mdas:
            t.start()
        deadline = time.monotonic() + DEADLINE
        sessions = 0
        while any(t.is_alive() for t in mdas) and \
                time.monotonic() < deadline:
            self.one_session(srv, rnd)
            sessions += 1
        for t in mdas:
            t.join(max(1.0, deadline - time.monotonic()))
        self.one_session(srv, rnd)
        # the lines that say what pop3d took for a rewrite, then the end
        said = [ln for ln in srv.log().splitlines()
                if "another program" in ln or "stale" in ln]
        self.assertEqual(self.errors, [],
                         "\n".join(said + [srv.log()[-2000:]]))
        self.assertEqual(len(self.delivered), 2 * COUNT)
        self.assertGreater(sessions, 2)
        self.assertTrue(self.deleted, "no session deleted anything")

        got = parse_mbox(srv.read_mbox())
        subjects = [s for s, _ in got if s is not None]
        self.assertEqual(len(subjects), len(set(subjects)),
                         "a message is in the mailbox twice")
        want = set(self.delivered) - self.deleted
        self.assertEqual(set(subjects), want)
        for s, body in got:
            if s is not None:
                self.assertEqual(body.rstrip(b"\n"),
                                 self.delivered[s].rstrip(b"\n"),
                                 "%s is not intact" % s)
        self.assertFalse(srv.lock_file_exists())


class RewriteTest(Pop3dCase):
    """A local mail reader rewrites the mailbox during a session."""

    def test_same_size_rewrite(self):
        msgs = [message("one", "1\n"), message("two", "2\n"),
                message("three", "3\n")]
        srv = self.server(msgs)
        orig = srv.read_mbox()
        c = self.login_client(srv)
        self.assertOK(c.cmd("DELE 1"))
        time.sleep(0.05)
        data = orig.replace(b"Subject: two", b"Subject: Two")
        self.assertEqual(len(data), len(orig))
        with open(srv.mbox_path(), "r+b") as f:
            f.write(data)
        r = c.cmd("RETR 2")
        self.assertEqual(r, b"-ERR [SYS/TEMP] maildrop changed by another "
                         b"program, log in again\r\n")
        r = c.cmd("QUIT")
        self.assertEqual(r, b"-ERR [SYS/TEMP] maildrop changed by another "
                         b"program, no message deleted\r\n")
        self.assertEqual(srv.read_mbox(), data)
        self.assertIn(b"modified in place", srv.log().encode()
                      if isinstance(srv.log(), str) else srv.log())

    def test_body_changed_after_read_ahead(self):
        """After RETR 1 the session reads message 2 ahead.  A body changed
        in place after that (same length, the mtime put back, so that no
        check can see it) goes out as it is now, not as it was read."""
        body = b"".join(b"line %05d " % i + b"x" * 60 + b"\n"
                        for i in range(2000))	# over 64 KB: two writes
        msgs = [message("one", "1\n"), message("two", body),
                message("three", "3\n")]
        srv = self.server(msgs)
        st = os.stat(srv.mbox_path())
        c = self.login_client(srv)
        self.assertOK(c.cmd("RETR 1"))
        c.multi()
        # answered after the read-ahead, which comes before reading input
        self.assertOK(c.cmd("NOOP"))
        data = srv.read_mbox().replace(b"line 01000 ", b"LINE 01000 ")
        with open(srv.mbox_path(), "r+b") as f:
            f.write(data)
        os.utime(srv.mbox_path(), ns=(st.st_atime_ns, st.st_mtime_ns))
        self.assertOK(c.cmd("RETR 2"))
        self.assertEqual(c.multi(), harness.pop_form(
            msgs[1].replace(b"line 01000 ", b"LINE 01000 ")))
        self.assertOK(c.cmd("QUIT"))

    def test_expunge_by_mail_reader(self):
        msgs = [message("one", "1\n"), message("two", "2\n"),
                message("three", "3\n")]
        srv = self.server(msgs)
        c = self.login_client(srv)
        self.assertOK(c.cmd("DELE 3"))
        data = build_mbox(msgs[1:])
        with open(srv.mbox_path(), "r+b") as f:
            f.write(data)
            f.truncate()
        self.assertERR(c.cmd("TOP 1 0"))
        self.assertERR(c.cmd("QUIT"))
        self.assertEqual(srv.read_mbox(), data)


class FormatTest(Pop3dCase):

    def uidl(self, srv):
        p = self.poplib(srv)
        r = [l.split(b" ")[1].decode() for l in p.uidl()[1]]
        p.quit()
        return r

    def test_folder_data_hidden(self):
        pseudo = message("DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA",
                         "This text is part of the internal format.\n",
                         headers=["X-IMAP: 1700000000 0000000002"])
        msgs = [pseudo, message("one", "1\n"), message("two", "2\n")]
        srv = self.server(msgs)
        p = self.poplib(srv)
        self.assertEqual(p.stat()[0], 2)
        self.assertIn(b"Subject: one", b"\n".join(p.retr(1)[1]))
        p.dele(1)
        self.assertOK(p.quit())
        self.assertEqual(srv.read_mbox(), build_mbox([pseudo, msgs[2]]))

    def test_mboxcl2(self):
        body = b"a\n\nFrom inside the body\nb\n"
        m1 = (b"From a@example.org Mon Jan  6 10:00:00 2025\n"
              b"Subject: cl\nContent-Length: %d\n\n" % len(body)) + body
        msgs = [m1, message("plain", "p\n")]
        srv = self.server(msgs, conf={"mbox_format": "mboxcl2"})
        p = self.poplib(srv)
        self.assertEqual(p.stat()[0], 2)
        self.assertEqual(p.retr(1)[1][-2:], [b"From inside the body", b"b"])
        p.quit()

    def test_xuidl_and_twins(self):
        twin = message("twin", "same\n")
        msgs = [message("old", "o\n", headers=["X-UIDL: 4f2a9c01qpop"]),
                twin, twin, twin]
        srv = self.server(msgs)
        u = self.uidl(srv)
        self.assertEqual(u[0], "4f2a9c01qpop")
        self.assertEqual(len(set(u)), 4)
        p = self.poplib(srv)
        p.dele(2)
        self.assertOK(p.quit())
        # The surviving twins keep their UIDs, in this and later sessions.
        self.assertEqual(self.uidl(srv), [u[0], u[2], u[3]])
        srv.append_mbox(build_mbox([twin]))
        u2 = self.uidl(srv)
        self.assertEqual(u2[:3], [u[0], u[2], u[3]])
        self.assertNotIn(u2[3], u)


if __name__ == "__main__":
    unittest.main()
