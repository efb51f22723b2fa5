# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""tools/demo.sh, the README's first command: it serves on pop3d's
defaults (expire 0), says in its banner what QUIT deletes, and does it."""

import os
import poplib
import re
import select
import shutil
import signal
import subprocess
import time
import unittest

from harness import REPO, IO_TIMEOUT, free_port, wait_for

BANNER_END = b"Ctrl-C stops the server."
DEMO_POP3D = os.path.join(REPO, "pop3d")


def read_banner(proc, limit=IO_TIMEOUT):
    """The demo's output up to the end of its banner, read for at most
    limit seconds."""
    out = b""
    deadline = time.monotonic() + limit
    while BANNER_END not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        ready, _, _ = select.select([proc.stdout], [], [], left)
        if not ready:
            break
        chunk = os.read(proc.stdout.fileno(), 4096)
        if not chunk:
            break
        out += chunk
    return out


@unittest.skipUnless(os.access(DEMO_POP3D, os.X_OK),
                     "the demo runs ./pop3d, which is not built")
class DemoTest(unittest.TestCase):

    def setUp(self):
        self.port = free_port()
        self.tls_port = free_port()
        env = dict(os.environ, POP3D_DEMO_PORT=str(self.port),
                   POP3D_DEMO_TLS_PORT=str(self.tls_port))
        # demo.sh execs pop3d: the shell's pid becomes the daemon's.
        self.proc = subprocess.Popen(
            ["sh", os.path.join(REPO, "tools", "demo.sh"), "--no-build"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, env=env)
        self.banner = read_banner(self.proc).decode(errors="replace")
        m = re.search(r"messages in (\S+)/mail/demo", self.banner)
        self.dir = m.group(1) if m else None

    def tearDown(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=IO_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=IO_TIMEOUT)
        self.proc.stdout.close()
        if self.dir and self.dir.startswith("/tmp/pop3d-demo."):
            shutil.rmtree(self.dir, ignore_errors=True)

    def login(self):
        def connect():
            try:
                return poplib.POP3("127.0.0.1", self.port,
                                   timeout=IO_TIMEOUT)
            except OSError:
                return None
        p = wait_for(connect, limit=IO_TIMEOUT)
        self.assertIsNotNone(p, "demo not listening:\n" + self.banner)
        p.user("demo")
        p.pass_("demo")
        return p

    def test_banner_says_what_quit_deletes(self):
        self.assertIn("Ctrl-C stops the server.", self.banner)
        self.assertIn("expire 0", self.banner)
        self.assertIn("at QUIT, every message the session retrieved with "
                      "RETR", self.banner.replace("\n", " "))
        with open(os.path.join(self.dir, "pop3d.conf")) as f:
            self.assertNotIn("expire", f.read(),
                             "the demo must run on the default expire")

    def test_retrieved_message_is_gone_after_quit(self):
        p = self.login()
        self.assertEqual(p.capa().get("EXPIRE"), ["0"])
        self.assertEqual(p.stat()[0], 3)
        self.assertIn(b"Subject: Welcome to pop3d", b"\n".join(p.retr(1)[1]))
        p.quit()
        # The session's process may hold its lock a moment after QUIT.
        for _ in range(50):
            try:
                p = self.login()
                break
            except poplib.error_proto as e:
                if b"[IN-USE]" not in e.args[0]:
                    raise
                time.sleep(0.1)
        self.assertEqual(p.stat()[0], 2)
        self.assertIn(b"Subject: A second message",
                      b"\n".join(p.top(1, 0)[1]))
        p.quit()
        with open(os.path.join(self.dir, "mail", "demo"), "rb") as f:
            self.assertNotIn(b"Welcome to pop3d", f.read())


if __name__ == "__main__":
    unittest.main()
