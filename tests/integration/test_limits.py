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
        self.assertTrue(wait_for(lambda: self._greets(srv)))
        self.assertIn("max_sessions_per_ip reached", srv.log())

    def _greets(self, srv):
        c = srv.client()
        try:
            return c.line().startswith(b"+OK")
        except (EOFError, OSError):
            return False
        finally:
            c.close()

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
        srv = self.server([message("a", "x\n")], conf={"login_delay": 3})
        c = self.client(srv)
        c.line()
        self.assertOK(c.cmd("CAPA"))
        self.assertIn(b"LOGIN-DELAY 3\r\n", c.multi())
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertOK(c.cmd("QUIT"))
        t_login = time.monotonic()
        c2 = self.client(srv)
        c2.line()
        # Never at USER; a wrong password is still [AUTH] (no oracle).
        self.assertOK(c2.cmd("USER alice"))
        self.assertTrue(c2.cmd("PASS wrong").startswith(b"-ERR [AUTH]"))
        self.assertOK(c2.cmd("USER alice"))
        r = c2.cmd("PASS secret")
        self.assertTrue(r.startswith(b"-ERR [LOGIN-DELAY]"), r)
        time.sleep(max(0, 3.2 - (time.monotonic() - t_login)))
        c3 = self.client(srv)
        self.assertOK(c3.login("alice", "secret"))
        self.assertIn("login_delay", srv.log())


class FailDelayTest(Pop3dCase):
    """Failed logins are remembered per address across connections by the
    standalone daemon: the next failure from there is answered later."""

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
        # Base 1 s, doubled once for the failure remembered.
        self.assertGreaterEqual(second, 2.0)
        self.assertGreater(second, first)
        self.assertIn("failed login 1 here, 1 remembered from the address",
                      srv.log())
        # The right password still works, in the same connection.
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        # Another address starts clean: no extra delay is logged for it.
        other = Client(srv.port, source="127.0.0.2")
        self.addCleanup(other.close)
        self.assertOK(other.line())
        self.wrong_pass(other)
        held = [l for l in srv.log().splitlines() if "held back" in l]
        self.assertEqual(len(held), 1, held)
        self.assertIn("127.0.0.1:", held[0])


if __name__ == "__main__":
    unittest.main()
