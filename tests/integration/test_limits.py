# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Limits and abuse: max_sessions_per_ip, 500 connections at once, slow
and silent clients, clients vanishing mid-RETR, LOGIN-DELAY."""

import os
import resource
import socket
import struct
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (wait_for, Pop3dCase, Client, message,  # noqa: E402
                     session_pids)

SYSTEMP = b"-ERR [SYS/TEMP]"


def zombies(pid):
    """Children of pid that are zombies (exited, not reaped)."""
    out = []
    for c in session_pids(pid):
        try:
            with open("/proc/%d/stat" % c) as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    out.append(c)
        except OSError:
            pass
    return out


def greets(srv):
    """Whether a new connection to srv is greeted (not refused)."""
    c = srv.client()
    try:
        return c.line().startswith(b"+OK")
    except (EOFError, OSError):
        return False
    finally:
        c.close()


def first_line(sock):
    buf = b""
    while b"\r\n" not in buf:
        d = sock.recv(512)
        if not d:
            break
        buf += d
    return buf


class PerAddressTest(Pop3dCase):

    def test_max_sessions_per_ip(self):
        srv = self.server([message("a", "x\n")],
                          conf={"max_sessions_per_ip": 3})
        held = [self.client(srv) for _ in range(3)]
        for c in held:
            self.assertOK(c.line())
        extra = self.client(srv)
        r = extra.read_until_eof()
        self.assertTrue(r.startswith(SYSTEMP), r)
        self.assertEqual(r.count(b"\r\n"), 1, "one line, then closed")
        # Another loopback address is another client.
        other = Client(srv.port, source="127.0.0.2")
        self.addCleanup(other.close)
        self.assertOK(other.line())
        held[0].close()
        self.assertTrue(wait_for(lambda: greets(srv)))
        self.assertIn("max_sessions_per_ip reached", srv.log())

    def test_refusals_are_logged_rate_limited(self):
        srv = self.server([], conf={"max_sessions_per_ip": 1})
        held = self.client(srv)
        self.assertOK(held.line())
        for _ in range(30):
            c = srv.client()
            self.assertTrue(c.read_until_eof().startswith(SYSTEMP))
            c.close()
        n = srv.log().count("refused a connection")
        self.assertGreaterEqual(n, 1)
        self.assertLessEqual(n, 3, "30 refusals, at most a few lines")


class SlotHoldingTest(Pop3dCase):
    """Clients that never log in can't keep others out."""

    def test_default_per_address_limit_leaves_room(self):
        # Unset, max_sessions_per_ip is a quarter of max_sessions at most:
        # two addresses can't take all four sessions.
        srv = self.server([], conf={"max_sessions": 4})
        held = []
        for src in ("127.0.0.2", "127.0.0.3"):
            for _ in range(3):
                c = Client(srv.port, source=src)
                self.addCleanup(c.close)
                held.append(c.line())
        self.assertEqual([l.startswith(b"+OK") for l in held],
                         [True, False, False] * 2)
        third = Client(srv.port, source="127.0.0.4")
        self.addCleanup(third.close)
        self.assertOK(third.line())

    def test_talking_without_a_login_ends(self):
        # CAPA every half second, within every idle timeout: closed at
        # login_timeout all the same, and the slot is free again.
        srv = self.server([], conf={"login_timeout": 2,
                                    "max_sessions_per_ip": 1})
        c = self.client(srv)
        self.assertOK(c.line())
        t0 = time.monotonic()
        with self.assertRaises((EOFError, ConnectionResetError)):
            for _ in range(40):
                self.assertOK(c.cmd("CAPA"))
                c.multi()
                time.sleep(0.5)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertTrue(wait_for(lambda: "no login within login_timeout"
                                 in srv.log()))
        self.assertTrue(wait_for(lambda: greets(srv)))

    def test_talk_alone_is_limited(self):
        srv = self.server([])
        c = self.client(srv)
        self.assertOK(c.line())
        # USER and CAPA by turns: a USER right after a USER is refused
        for i in range(20):
            if i % 2 == 0:
                self.assertOK(c.cmd("USER alice"))
            else:
                self.assertOK(c.cmd("CAPA"))
                c.multi()
        self.assertEqual(c.cmd("USER alice"),
                         b"-ERR too many commands without a login\r\n")
        self.assertEqual(c.read_until_eof(), b"")

    def test_login_after_talk_has_the_idle_timeout(self):
        # The deadline is for logging in: a logged-in session outlives it.
        srv = self.server([message("a", "x\n")],
                          conf={"login_timeout": 1})
        c = self.client(srv)
        self.assertOK(c.login("alice", "secret"))
        time.sleep(1.5)
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assertOK(c.cmd("QUIT"))


class FailedLoginDelayTest(Pop3dCase):

    def test_client_gone_ends_the_wait(self):
        # Three failures in one connection make the address's next login
        # wait 4 s before it is checked; a client that leaves then does
        # not keep its processes (and its slot) for those 4 s.
        srv = self.server([], conf={"auth_fail_delay_max": 30})
        c = self.client(srv)
        self.assertOK(c.line())
        c.send(b"USER alice\r\nPASS a\r\nUSER alice\r\nPASS b\r\n"
               b"USER alice\r\nPASS c\r\n")
        c.read_until_eof(15)
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == []))
        c = self.client(srv)
        self.assertOK(c.line())
        c.send(b"USER alice\r\nPASS d\r\n")
        time.sleep(0.5)
        c.close()
        t0 = time.monotonic()
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == [],
                                 limit=12))
        self.assertLess(time.monotonic() - t0, 2.5)
        self.assertIn("client left while its login waited", srv.log())
        self.assertIn("3 remembered from the address", srv.log())

    def test_client_gone_after_a_failed_check(self):
        # Its failure counted, the connection ends at once, not after the
        # second its answer would have waited.
        srv = self.server([])
        c = self.client(srv)
        self.assertOK(c.line())
        c.send(b"USER alice\r\nPASS a\r\n")
        time.sleep(0.3)
        c.close()
        self.assertTrue(wait_for(lambda: "client left during the "
                                 "failed-login delay" in srv.log()))
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == []))


class FloodTest(Pop3dCase):

    N = 500

    def setUp(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 4096)
        if soft < want:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            self.addCleanup(resource.setrlimit, resource.RLIMIT_NOFILE,
                            (soft, hard))

    def test_500_connections_at_once(self):
        srv = self.server([message("a", "hello\n")],
                          conf={"max_sessions": 200,
                                "max_sessions_per_ip": 0})
        socks = []
        self.addCleanup(lambda: [s.close() for s in socks])
        for _ in range(self.N):
            s = socket.socket()
            s.settimeout(20)
            s.connect(("127.0.0.1", srv.port))
            socks.append(s)
        ok = refused = 0
        for s in socks:
            line = first_line(s)
            if line.startswith(b"+OK"):
                ok += 1
            elif line.startswith(SYSTEMP):
                refused += 1
            else:
                self.fail("neither greeting nor [SYS/TEMP]: %r" % line)
        self.assertEqual(ok + refused, self.N)
        self.assertLessEqual(ok, 200)
        self.assertGreaterEqual(refused, self.N - 200)
        self.assertIsNone(srv.proc.poll(), "the daemon is still up")
        # Sessions are all taken: close some, and a normal one gets through.
        for s in socks[:50]:
            s.close()
        self.assertTrue(wait_for(lambda: self._login_works(srv), 10))
        for s in socks:
            s.close()
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == [],
                                 20), "every session process gone")
        self.assertEqual(zombies(srv.proc.pid), [])
        p = self.poplib(srv)
        self.assertEqual(p.stat()[0], 1)

    def _login_works(self, srv):
        try:
            c = srv.login_client()
        except (AssertionError, EOFError, OSError):
            return False
        ok = c.cmd("STAT").startswith(b"+OK 1")
        c.cmd("QUIT")
        c.close()
        return ok


class SlowAndSilentTest(Pop3dCase):

    def test_slow_clients_do_not_block_others(self):
        srv = self.server([message("a", "x\n")])
        stop = threading.Event()

        def dribble():
            c = srv.client()
            try:
                c.line()
                for b in b"USER alice\r\nPASS secret\r\n":
                    if stop.wait(1.0):
                        break
                    c.send(bytes([b]))
            except OSError:
                pass
            finally:
                c.close()
        threads = [threading.Thread(target=dribble) for _ in range(5)]
        for t in threads:
            t.start()
        self.addCleanup(lambda: [t.join(15) for t in threads])
        self.addCleanup(stop.set)
        time.sleep(1.5)
        t0 = time.monotonic()
        for _ in range(3):
            c = srv.client()
            self.assertOK(c.line())
            self.assertOK(c.cmd("CAPA"))
            c.multi()
            self.assertOK(c.cmd("QUIT"))
            c.close()
        self.assertLess(time.monotonic() - t0, 1.0)

    def test_silent_client_dropped_at_timeout(self):
        srv = self.server([], conf={"idle_timeout": 2})
        c = self.client(srv)
        self.assertOK(c.line())
        t0 = time.monotonic()
        self.assertEqual(c.read_until_eof(8), b"")
        took = time.monotonic() - t0
        self.assertGreaterEqual(took, 1.8)
        self.assertLess(took, 6)
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == []))
        self.assertIn("idle timeout", srv.log())


class VanishTest(Pop3dCase):

    def test_vanish_mid_retr_leaves_nothing(self):
        big = b"".join(b"line %07d %s\n" % (i, b"y" * 100)
                       for i in range(60000))
        msgs = [message("big", big), message("small", "x\n")]
        srv = self.server(msgs)
        before = srv.read_mbox()
        for _ in range(5):
            c = srv.login_client()
            c.send(b"RETR 1\r\n")
            c.sock.recv(4096)
            # Reset, not FIN: the server's next write fails at once.
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                              struct.pack("ii", 1, 0))
            c.close()
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == [],
                                 10), "session processes gone")
        self.assertEqual(zombies(srv.proc.pid), [])
        self.assertFalse(srv.lock_file_exists(), "no stale dotlock")
        self.assertEqual(srv.read_mbox(), before)
        # No stale session lock either: the next login is not [IN-USE].
        c = srv.client()
        self.addCleanup(c.close)
        self.assertOK(c.login("alice", "secret"))


class LoginDelayTest(Pop3dCase):

    def test_login_delay(self):
        # A delay no loaded machine can outlast between two logins; the
        # stamp is then aged by hand, as time would age it, so nothing
        # here waits on the clock.
        srv = self.server([message("a", "x\n")], conf={"login_delay": 600})
        c = self.client(srv)
        c.line()
        self.assertOK(c.cmd("CAPA"))
        self.assertIn(b"LOGIN-DELAY 600\r\n", c.multi())
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertOK(c.cmd("QUIT"))
        stamp = os.path.join(srv.maildir, ".alice.pop3d-login")
        self.assertTrue(os.path.isfile(stamp), "no LOGIN-DELAY stamp")
        c2 = self.client(srv)
        c2.line()
        # Never at USER; a wrong password is still [AUTH] (no oracle).
        self.assertOK(c2.cmd("USER alice"))
        self.assertTrue(c2.cmd("PASS wrong").startswith(b"-ERR [AUTH]"))
        self.assertOK(c2.cmd("USER alice"))
        r = c2.cmd("PASS secret")
        self.assertTrue(r.startswith(b"-ERR [LOGIN-DELAY]"), r)
        self.assertIn("login_delay", srv.log())
        then = time.time() - 601
        os.utime(stamp, (then, then))
        c3 = self.client(srv)
        self.assertOK(c3.login("alice", "secret"))


class FailDelayTest(Pop3dCase):
    """Failed logins are remembered per address across connections by the
    standalone daemon: the next login from there waits before its check,
    and its failure is answered a second after the check began."""

    def wrong_pass(self, c):
        """Seconds from a wrong PASS to its -ERR [AUTH]."""
        self.assertOK(c.cmd("USER alice"))
        t0 = time.monotonic()
        r = c.cmd("PASS wrong")
        took = time.monotonic() - t0
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        return took

    def test_delay_grows_across_connections(self):
        srv = self.server([message("a", "x\n")],
                          conf={"auth_fail_delay_max": 8})
        c = self.client(srv)
        self.assertOK(c.line())
        first = self.wrong_pass(c)
        self.assertOK(c.cmd("QUIT"))
        c.close()
        # Its failure is learnt when the listener reaps the process.
        self.assertTrue(wait_for(lambda: session_pids(srv.proc.pid) == [],
                                 10), "session process reaped")
        c = self.client(srv)
        self.assertOK(c.line())
        second = self.wrong_pass(c)
        # A second's wait for the failure remembered, then the base 1 s.
        self.assertGreaterEqual(second, 2.0)
        self.assertGreater(second, first)
        self.assertIn("0 failed logins here, 1 remembered from the "
                      "address: this one checked after 1000 ms", srv.log())
        # The right password still works, in the same connection (after
        # a wait for the two failures before it).
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        # Another address starts clean: no wait is logged for it.
        other = Client(srv.port, source="127.0.0.2")
        self.addCleanup(other.close)
        self.assertOK(other.line())
        self.wrong_pass(other)
        held = [l for l in srv.log().splitlines() if "checked after" in l]
        self.assertEqual(len(held), 2, held)
        self.assertTrue(all("127.0.0.1:" in l for l in held), held)


if __name__ == "__main__":
    unittest.main()
