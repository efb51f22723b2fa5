# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The daemon itself: -i transcripts, -t, -V, max_sessions, idle_timeout,
privileges."""

import os
import re
import socket
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Pop3dCase, Client, message, pop_form,  # noqa: E402
                     stuff, build_mbox, IS_ROOT, RUN_AS, wait_for)

OKLINE = rb"\+OK[^\r\n]*\r\n"


class InetdTest(Pop3dCase):

    def setUp(self):
        self.msgs = [message("one", "first\n.dot\n"),
                     message("two", "second\n")]
        self.srv = self.server(self.msgs, start=False)
        self.sizes = [len(pop_form(m)) for m in self.msgs]

    def test_transcript(self):
        r = self.srv.inetd(b"USER alice\r\nPASS secret\r\nSTAT\r\nLIST\r\n"
                           b"QUIT\r\n")
        want = (OKLINE * 3 +
                re.escape(b"+OK 2 %d\r\n" % sum(self.sizes)) + OKLINE +
                re.escape(b"1 %d\r\n2 %d\r\n.\r\n" % tuple(self.sizes)) +
                OKLINE)
        self.assertRegex(r.stdout, b"^" + want + b"$",
                         "stderr: %r" % r.stderr)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))

    def test_transcript_retr_dele_quit(self):
        r = self.srv.inetd(b"USER alice\r\nPASS secret\r\nRETR 1\r\n"
                           b"QUIT\r\n")
        want = (OKLINE * 4 + re.escape(stuff(pop_form(self.msgs[0])) +
                                       b".\r\n") + OKLINE)
        self.assertRegex(r.stdout, b"^" + want + b"$",
                         "stderr: %r" % r.stderr)
        # EXPIRE 0: the retrieved message is gone.
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs[1:]))

    def test_eof_without_quit_removes_nothing(self):
        r = self.srv.inetd(b"USER alice\r\nPASS secret\r\nDELE 1\r\n"
                           b"RETR 2\r\n")
        self.assertRegex(r.stdout, b"^" + OKLINE * 4)
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))
        self.assertFalse(self.srv.lock_file_exists())

    def test_bad_login_transcript(self):
        t0 = time.monotonic()
        r = self.srv.inetd(b"USER alice\r\nPASS wrong\r\nQUIT\r\n")
        lines = r.stdout.split(b"\r\n")
        self.assertTrue(lines[2].startswith(b"-ERR [AUTH]"), r.stdout)
        self.assertGreaterEqual(time.monotonic() - t0, 0.8)


class OptionsTest(Pop3dCase):

    def setUp(self):
        self.srv = self.server([], start=False)

    def test_check_good_config(self):
        self.srv.write_conf(port=harness.free_port())
        r = self.srv.run(["-t", "-f", self.srv.conf_path])
        self.assertEqual(r.returncode, 0, r.stderr)

    def check_bad(self, bad_line):
        path = self.srv.write_conf(port=harness.free_port())
        with open(path) as f:
            lines = f.read().splitlines()
        lines.insert(2, bad_line)
        with open(path, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = self.srv.run(["-t", "-f", path])
        self.assertNotEqual(r.returncode, 0, "accepted %r" % bad_line)
        self.assertIn(("%s:3:" % path).encode(), r.stderr)
        return r

    def test_check_unknown_key(self):
        self.check_bad("no_such_key 1")

    def test_check_bad_values(self):
        for bad in ("expire sometimes", "idle_timeout 10x",
                    "mbox_format maildir", "max_sessions -1",
                    "listen 127.0.0.1:99999", "listen"):
            self.check_bad(bad)

    @unittest.skipUnless(os.geteuid() == 0, "the jail is checked as root")
    def test_check_jail(self):
        # -t refuses what the start would: a jail others may write to, or
        # one that can't be made (as under systemd's ProtectSystem=strict);
        # a missing one that can be made passes and is not left behind.
        open_jail = os.path.join(self.srv.dir, "open-jail")
        os.mkdir(open_jail)
        os.chmod(open_jail, 0o777)
        missing = os.path.join(self.srv.dir, "new-jail")
        for jail, ok, said in ((open_jail, False, b"writable by root alone"),
                               ("/proc/pop3d-jail", False, b"mkdir"),
                               (missing, True, b"")):
            self.srv.extra["chroot"] = jail
            self.srv.write_conf(port=harness.free_port())
            r = self.srv.run(["-t", "-f", self.srv.conf_path])
            self.assertEqual(r.returncode == 0, ok, (jail, r.stderr))
            self.assertIn(said, r.stderr)
        self.assertFalse(os.path.exists(missing))

    def test_missing_config_file(self):
        r = self.srv.run(["-t", "-f", os.path.join(self.srv.dir, "nope")])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"nope", r.stderr)

    def test_version(self):
        r = self.srv.run(["-V"])
        self.assertEqual(r.returncode, 0)
        out = r.stdout + r.stderr
        v = harness.pop3d_version()
        self.assertIn((v or "").encode(), out)
        self.assertRegex(out, rb"\d+\.\d+")

    def test_bad_option(self):
        r = self.srv.run(["-Z"])
        self.assertNotEqual(r.returncode, 0)

    @unittest.skipUnless(IS_ROOT, "only meaningful as root")
    def test_root_without_user_refuses(self):
        port = harness.free_port()
        text = self.srv.conf_text(port=port)
        text = "\n".join(l for l in text.splitlines()
                         if not l.startswith("user ")) + "\n"
        with open(self.srv.conf_path, "w") as f:
            f.write(text)
        for mode in (["-d"], ["-i"]):
            try:
                r = self.srv.run(mode + ["-f", self.srv.conf_path],
                                 stdin=b"USER alice\r\n", timeout=5)
            except subprocess.TimeoutExpired:
                self.fail("pop3d %s ran as root without `user`" % mode)
            self.assertNotEqual(r.returncode, 0, mode)
            self.assertNotIn(b"+OK", r.stdout, mode)


class StandaloneTest(Pop3dCase):

    def test_max_sessions(self):
        srv = self.server([message("a", "x\n")], conf={"max_sessions": 1})
        first = self.client(srv)
        self.assertOK(first.line())
        second = self.client(srv)
        r = second.line()
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
        self.assertEqual(second.read_until_eof(5), b"")
        # The first session is unaffected.
        self.assertOK(first.cmd("USER alice"))
        self.assertOK(first.cmd("PASS secret"))
        self.assertOK(first.cmd("QUIT"))
        first.close()
        # Once it ended, a new connection is served again.
        deadline = time.monotonic() + 5
        while True:
            c = Client(srv.port)
            try:
                g = c.line()
            finally:
                c.close()
            if g.startswith(b"+OK") or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertOK(g, "still refused after the first session ended")

    def test_log_of_normal_sessions(self):
        # Normal sessions log a login and a logout line each and nothing
        # else: no warning may leak from the listener (a reaped child once
        # logged "poll: No child processes").
        srv = self.server([message("a", "x\n"), message("b", "y\n")],
                          conf={"expire": "never"})
        for _ in range(3):
            c = self.login_client(srv)
            self.assertOK(c.cmd("RETR 1"))
            c.multi()
            self.assertOK(c.cmd("QUIT"))
            c.read_until_eof(5)
            c.close()
            time.sleep(0.2)
        deadline = time.monotonic() + 5
        while srv.log().count("logout") < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        lines = [l for l in srv.log().splitlines() if l.strip()]
        # A session's lines carry its id, "[8 hex digits] ".
        expected = re.compile(r"pop3d\[\d+\]: (\[[0-9a-f]{8}\] )?"
                              r"(pop3d \S+ ready|"
                              r"login alice from 127\.0\.0\.1:\d+ \(USER\):"
                              r" ok, \d+ messages|logout alice from "
                              r"127\.0\.0\.1:\d+: retrieved \d+ messages)")
        for l in lines:
            self.assertRegex(l, expected)
        self.assertEqual(sum("logout" in l for l in lines), 3, lines)
        self.assertIn("retrieved 1 messages", lines[-1])

    def test_idle_timeout(self):
        msgs = [message("a", "x\n"), message("b", "y\n")]
        srv = self.server(msgs, conf={"idle_timeout": 2})
        c = self.login_client(srv)
        self.assertOK(c.cmd("DELE 1"))
        self.assertOK(c.cmd("RETR 2"))
        c.multi()
        t0 = time.monotonic()
        rest = c.read_until_eof(limit=10)
        elapsed = time.monotonic() - t0
        self.assertNotIn(b"+OK", rest)
        self.assertGreaterEqual(elapsed, 1.5)
        self.assertLess(elapsed, 6)
        self.login_client(srv)
        self.assertEqual(srv.read_mbox(), build_mbox(msgs))
        self.assertFalse(srv.lock_file_exists())

    def test_idle_timeout_in_authorization(self):
        srv = self.server([], conf={"idle_timeout": 2})
        c = self.client(srv)
        c.greeting = c.line()
        t0 = time.monotonic()
        c.read_until_eof(limit=10)
        self.assertLess(time.monotonic() - t0, 6)

    def test_many_sequential_and_parallel_sessions(self):
        users = {"u%d" % i: "pw%d" % i for i in range(5)}
        srv = self.server(users=users)
        for u in users:
            srv.write_mbox([message("m", "for %s\n" % u)], user=u)
        clients = [srv.login_client(u) for u in users]
        for c in clients:
            self.addCleanup(c.close)
            self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        for c in clients:
            self.assertOK(c.cmd("QUIT"))
        for u in users:
            self.assertEqual(srv.read_mbox(u), build_mbox(
                [message("m", "for %s\n" % u)]))

    def test_connect_and_close_does_not_kill_daemon(self):
        # Room for all 20 at once: each logs its end, so all were
        # accepted once 20 lines show; then none may hold a slot.
        srv = self.server([message("a", "x\n")],
                          conf={"max_sessions_per_ip": "20"})
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            s.close()
        self.assertTrue(wait_for(lambda: len(re.findall(
            r"127\.0\.0\.1:\d+: (?:client closed the connection|"
            r"connection lost)", srv.log())) == 20), srv.log()[-2000:])
        self.assertTrue(wait_for(
            lambda: harness.session_pids(srv.proc.pid) == []))
        p = self.poplib(srv)
        self.assertEqual(p.stat()[0], 1)
        self.assertIsNone(srv.proc.poll())

    @unittest.skipUnless(IS_ROOT, "only meaningful as root")
    def test_sessions_do_not_run_as_root(self):
        import pwd
        srv = self.server([message("a", "x\n")])
        c = self.login_client(srv)
        self.assertOK(c.cmd("NOOP"))
        nobody = pwd.getpwnam(RUN_AS).pw_uid
        children = [(pid, harness.proc_ids(pid))
                    for pid in harness.session_pids(srv.proc.pid)]
        self.assertTrue(children, "no session process found")
        for pid, uids in children:
            self.assertEqual(uids, [nobody] * 4,
                             "session process %d has uids %r" % (pid, uids))


if __name__ == "__main__":
    unittest.main()
