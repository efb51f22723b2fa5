# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""What a session does to the mbox: DELE, EXPIRE, drops, concurrent MDA."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Pop3dCase, message, pop_form, build_mbox,  # noqa: E402
                     default_messages)


def without(msgs, gone):
    """The mbox bytes expected once the 1-based msns in gone are removed."""
    return build_mbox([m for i, m in enumerate(msgs) if i + 1 not in gone])


class UpdateTest(Pop3dCase):

    def setUp(self):
        self.msgs = default_messages()
        self.orig = build_mbox(self.msgs)

    def assertMbox(self, srv, want):
        got = srv.read_mbox()
        if got != want:
            self.fail("mbox differs: %d octets, expected %d\n%s" %
                      (len(got), len(want), srv.log()[-2000:]))

    def uidls(self, srv):
        p = self.poplib(srv)
        lines = p.uidl()[1]
        p.close()		# no QUIT: nothing changes
        return [l.split(b" ")[1] for l in lines]

    def test_dele_quit_removes_exactly_those(self):
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        for n in (1, 4, 6, 9):
            self.assertOK(p.dele(n))
        self.assertOK(p.quit())
        self.assertMbox(srv, without(self.msgs, {1, 4, 6, 9}))
        self.assertFalse(srv.lock_file_exists())
        # The survivors are served unchanged afterwards.
        p = self.poplib(srv)
        left = [m for i, m in enumerate(self.msgs) if i + 1 not in
                {1, 4, 6, 9}]
        self.assertEqual(p.stat()[0], len(left))
        for i, m in enumerate(left):
            self.assertEqual(b"".join(l + b"\r\n" for l in p.retr(i + 1)[1]),
                             pop_form(m))

    def test_dele_one_twin_keeps_the_other(self):
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        self.assertOK(p.dele(8))
        self.assertOK(p.quit())
        self.assertMbox(srv, without(self.msgs, {8}))

    def test_rset_undoes_dele(self):
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        self.assertOK(p.dele(2))
        self.assertOK(p.rset())
        self.assertOK(p.quit())
        self.assertMbox(srv, self.orig)

    def test_rset_also_cancels_expire_0(self):
        # session.c's documented choice: RSET unmarks the messages RETR
        # would remove under EXPIRE 0 too (a client saying RSET wants
        # nothing removed).  Retrievals after the RSET count again.
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        p.retr(1)
        self.assertOK(p.rset())
        p.retr(2)
        self.assertOK(p.quit())
        self.assertMbox(srv, without(self.msgs, {2}))

    def test_quit_without_changes_leaves_file_alone(self):
        srv = self.server(self.msgs)
        before = os.stat(srv.mbox_path())
        time.sleep(0.05)
        p = self.poplib(srv)
        p.stat()
        p.list()
        p.uidl()
        p.top(1, 1)
        self.assertOK(p.quit())
        after = os.stat(srv.mbox_path())
        self.assertMbox(srv, self.orig)
        self.assertEqual(before.st_mtime_ns, after.st_mtime_ns)
        self.assertEqual(before.st_ino, after.st_ino)

    def test_expire_0_removes_retrieved(self):
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        self.assertEqual(p.capa().get("EXPIRE"), ["0"])
        p.retr(2)
        p.retr(5)
        p.dele(7)
        self.assertOK(p.quit())
        self.assertMbox(srv, without(self.msgs, {2, 5, 7}))

    def test_expire_never_keeps_retrieved(self):
        srv = self.server(self.msgs, conf={"expire": "never"})
        p = self.poplib(srv)
        self.assertEqual(p.capa().get("EXPIRE"), ["NEVER"])
        for n in range(1, len(self.msgs) + 1):
            p.retr(n)
        p.dele(3)
        self.assertOK(p.quit())
        self.assertMbox(srv, without(self.msgs, {3}))

    def test_dropped_connection_removes_nothing(self):
        srv = self.server(self.msgs)
        c = self.login_client(srv)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("RETR 2"))
        c.multi()
        self.assertOK(c.cmd("DELE 3"))
        c.close()			# no QUIT
        # A new login succeeds once the dropped session's process let go.
        c2 = self.login_client(srv)
        self.assertMbox(srv, self.orig)
        self.assertFalse(srv.lock_file_exists(),
                         "dotlock left behind: %s.lock" % srv.mbox_path())
        r = c2.cmd("STAT")
        self.assertEqual(r, b"+OK %d %d\r\n" % (
            len(self.msgs), sum(len(pop_form(m)) for m in self.msgs)))

    def test_reset_connection_removes_nothing(self):
        # A RST instead of a FIN (SO_LINGER 0) after DELE.
        import socket
        import struct
        srv = self.server(self.msgs)
        c = self.login_client(srv)
        self.assertOK(c.cmd("DELE 1"))
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                          struct.pack("ii", 1, 0))
        c.close()
        self.login_client(srv)
        self.assertMbox(srv, self.orig)
        self.assertFalse(srv.lock_file_exists())

    def test_quit_pipelined_then_close(self):
        # A client that sends QUIT and closes at once (as Outlook does)
        # still gets its deletions committed.
        srv = self.server(self.msgs)
        c = self.login_client(srv)
        c.send(b"DELE 1\r\nDELE 2\r\nQUIT\r\n")
        c.close()
        deadline = time.monotonic() + 5
        want = without(self.msgs, {1, 2})
        while srv.read_mbox() != want and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertMbox(srv, want)

    def test_mail_appended_during_session_survives(self):
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        count = p.stat()[0]
        p.dele(1)
        p.retr(3)
        new = message("new arrival", "delivered during the session\n")
        srv.append_mbox(new + b"\n")
        # The session still sees the maildrop as it was at login.
        self.assertEqual(p.stat()[0], count - 1)
        self.assertOK(p.quit())
        self.assertMbox(srv, without(self.msgs, {1, 3}) + new + b"\n")
        p = self.poplib(srv)
        n = p.stat()[0]
        self.assertEqual(n, len(self.msgs) - 1)
        got = b"".join(l + b"\r\n" for l in p.retr(n)[1])
        self.assertEqual(got, pop_form(new))

    def test_mailbox_rewritten_during_session(self):
        # Another program replacing the mbox: QUIT answers -ERR
        # [SYS/TEMP] and changes nothing.
        srv = self.server(self.msgs)
        p = self.poplib(srv)
        p.dele(1)
        other = build_mbox([message("rewritten", "by a mail reader\n")])
        srv.write_mbox(other)		# truncates and rewrites in place
        import poplib
        with self.assertRaises(poplib.error_proto) as cm:
            p.quit()
        self.assertIn(b"[SYS/TEMP]", cm.exception.args[0])
        self.assertMbox(srv, other)

    def test_uids_stable(self):
        srv = self.server(self.msgs)
        first = self.uidls(srv)
        self.assertEqual(len(first), len(self.msgs))
        self.assertEqual(len(set(first)), len(first))
        # Again, in a session that ends with QUIT and changes nothing.
        p = self.poplib(srv)
        self.assertEqual([l.split(b" ")[1] for l in p.uidl()[1]], first)
        self.assertOK(p.quit())
        # After a session dropped without QUIT (with a DELE pending).
        c = self.login_client(srv)
        self.assertOK(c.cmd("DELE 2"))
        c.close()
        self.assertEqual(self.uidls(srv), first)
        # After messages 2 and 4 were really deleted.  (Not one of the
        # identical twins 7 and 8: which twin survives can't be told, so
        # no server can promise the survivor keeps "its" UID.)
        p = self.poplib(srv)
        p.dele(2)
        p.dele(4)
        self.assertOK(p.quit())
        kept = [u for i, u in enumerate(first) if i + 1 not in {2, 4}]
        self.assertEqual(self.uidls(srv), kept)
        # After new mail arrived (appended).
        srv.append_mbox(message("late", "late mail\n") + b"\n")
        now = self.uidls(srv)
        self.assertEqual(now[:-1], kept)
        self.assertNotIn(now[-1], now[:-1])

    def test_uid_ignores_status_header(self):
        # A local reader adding Status:/X-Status: must not change UIDs.
        srv = self.server(self.msgs[:3])
        before = self.uidls(srv)
        changed = [self.msgs[0]]
        for m in self.msgs[1:3]:
            i = m.index(b"\n\n")
            changed.append(m[:i] + b"\nStatus: RO\nX-Status: A" + m[i:])
        srv.write_mbox(changed)
        self.assertEqual(self.uidls(srv), before)


class LockTest(Pop3dCase):
    """The delivery locks an MDA holds make pop3d wait, then [SYS/TEMP]."""

    def setUp(self):
        self.msgs = [message("a", "x\n"), message("b", "y\n")]
        self.srv = self.server(self.msgs, conf={"lock_timeout": 1})

    def test_held_dotlock(self):
        lock = self.srv.mbox_path() + ".lock"
        with open(lock, "w"):
            pass
        c = self.client(self.srv)
        t0 = time.monotonic()
        r = c.login("alice", "secret")
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
        self.assertLess(time.monotonic() - t0, 5)
        self.assertTrue(os.path.exists(lock), "someone else's lock removed")
        os.unlink(lock)
        c2 = self.login_client(self.srv)
        self.assertTrue(c2.cmd("STAT").startswith(b"+OK 2 "))

    def test_held_fcntl_lock(self):
        import fcntl
        with open(self.srv.mbox_path(), "r+b") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            c = self.client(self.srv)
            r = c.login("alice", "secret")
            self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
            fcntl.lockf(f, fcntl.LOCK_UN)
        self.assertFalse(self.srv.lock_file_exists())
        self.login_client(self.srv)

    def test_lock_released_between_scan_and_update(self):
        # Locks are held only while scanning and updating: an MDA can
        # deliver while a session is open.
        import fcntl
        c = self.login_client(self.srv)
        self.assertFalse(self.srv.lock_file_exists())
        with open(self.srv.mbox_path(), "r+b") as f:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            fcntl.lockf(f, fcntl.LOCK_UN)
        self.assertOK(c.cmd("QUIT"))


class SignalWhileLockedTest(Pop3dCase):

    def test_sigterm_while_holding_dotlock(self):
        # A session told to stop while it takes the locks must not leave
        # the dotlock behind: the signal waits until the locks are
        # released.  While we hold the fcntl lock the session takes the
        # dotlock, finds fcntl busy, drops the dotlock, and tries again
        # (lock.c: all or nothing, so no deadlock with procmail).
        import fcntl
        import signal
        msgs = [message("a", "x\n")]
        srv = self.server(msgs, conf={"mbox_locks": "dotlock fcntl",
                                      "lock_timeout": 3})
        lock = srv.mbox_path() + ".lock"
        with open(srv.mbox_path(), "r+b") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            c = self.client(srv)
            self.assertOK(c.line())
            self.assertOK(c.cmd("USER alice"))
            c.send(b"PASS secret\r\n")
            time.sleep(1.0)	# the session is in its retry loop now
            kids = harness.session_pids(srv.proc.pid)
            self.assertEqual(len(kids), 1, kids)
            os.kill(kids[0], signal.SIGTERM)
            time.sleep(0.3)
            fcntl.lockf(f, fcntl.LOCK_UN)
        c.read_until_eof(6)
        self.assertFalse(os.path.exists(lock), "dotlock left behind")
        self.assertEqual(srv.read_mbox(), build_mbox(msgs))


class BigMailboxTest(Pop3dCase):

    def test_5000_messages(self):
        msgs = [message("m%d" % i, "body %d\n" % i) for i in range(5000)]
        srv = self.server(msgs)
        p = self.poplib(srv)
        self.assertEqual(p.stat()[0], 5000)
        lines = p.list()[1]
        self.assertEqual(len(lines), 5000)
        self.assertEqual(lines[4999], b"5000 %d" % len(pop_form(msgs[4999])))
        uids = [l.split()[1] for l in p.uidl()[1]]
        self.assertEqual(len(set(uids)), 5000)
        for n in range(1, 5001, 2):
            p._shortcmd("DELE %d" % n)
        self.assertOK(p.quit())
        self.assertEqual(srv.read_mbox(), build_mbox(msgs[1::2]))


if __name__ == "__main__":
    unittest.main()
