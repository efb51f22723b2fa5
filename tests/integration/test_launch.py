# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Launch modes and signals: daemonizing with a pidfile, a real inetd
(openbsd-inetd), systemd socket activation both ways (systemd-socket-activate),
SIGHUP reload, SIGTERM with a bounded drain (`make install`: test_install)."""

import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (wait_for, Pop3dCase, Client, message, IS_ROOT,  # noqa: E402
                     free_port, make_cert, pop3d_path, REPO)

INETD = shutil.which("inetd") or "/usr/sbin/inetd"
SSA = shutil.which("systemd-socket-activate") or \
    "/usr/bin/systemd-socket-activate"
WAIT = 5.0


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def listening(port):
    return port in harness._listening_ports()


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Proc:
    """A process in its own group, ended (group and all) at cleanup."""

    def __init__(self, argv, log_path, env=None):
        self.log = open(log_path, "ab")
        self.p = subprocess.Popen(argv, stdin=subprocess.DEVNULL,
                                  stdout=self.log, stderr=self.log,
                                  start_new_session=True, env=env)

    def stop(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.p.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                self.p.wait(WAIT)
                break
            except subprocess.TimeoutExpired:
                pass
        self.log.close()


class LaunchCase(Pop3dCase):

    def setUp(self):
        self.srv = self.server([message("one", "first\n"),
                                message("two", "second\n")], start=False)

    def spawn(self, argv, env=None):
        p = Proc(argv, self.srv.log_path, env)
        self.addCleanup(p.stop)
        return p

    def session_ok(self, port, host="127.0.0.1", wrap=None):
        """Log in, STAT, QUIT through port; return the greeting."""
        s = socket.create_connection((host, port), timeout=10)
        if wrap is not None:
            s = wrap.wrap_socket(s, server_hostname="localhost")
        self.addCleanup(s.close)
        c = Client.__new__(Client)
        c.sock, c.rbuf = s, b""
        g = c.line()
        self.assertOK(g)
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertEqual(c.cmd("STAT")[:5], b"+OK 2")
        self.assertOK(c.cmd("QUIT"))
        return g


class DaemonizeTest(LaunchCase):

    def test_detach_pidfile_and_term(self):
        port = free_port()
        pidfile = os.path.join(self.srv.dir, "pop3d.pid")
        self.srv.extra["pidfile"] = pidfile
        self.srv.write_conf(port=port)
        r = subprocess.run([pop3d_path(), "-f", self.srv.conf_path],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           timeout=10)
        # The foreground process returns at once; the daemon stays.
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertTrue(wait_for(lambda: read(pidfile).strip()))
        pid = int(read(pidfile))
        self.addCleanup(lambda: alive(pid) and os.kill(pid, signal.SIGKILL))
        self.assertTrue(wait_for(lambda: listening(port)))
        with open("/proc/%d/stat" % pid) as f:
            st = f.read().rsplit(")", 1)[1].split()
        self.assertEqual(int(st[3]), pid, "setsid: leads its session")
        self.assertEqual(int(st[2]), pid, "leads its process group")
        self.assertNotEqual(int(st[1]), os.getpid(), "detached")
        self.session_ok(port)
        # A second daemon with the same pidfile refuses to start.
        r2 = subprocess.run([pop3d_path(), "-d", "-f", self.srv.conf_path],
                            stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=10)
        self.assertNotEqual(r2.returncode, 0)
        self.assertEqual(int(read(pidfile)), pid)
        os.kill(pid, signal.SIGTERM)
        self.assertTrue(wait_for(lambda: not alive(pid)))
        self.assertFalse(os.path.exists(pidfile), "pidfile removed")


class SignalTest(LaunchCase):

    def start(self, **conf):
        self.srv.extra.update(conf)
        return self.srv.start()

    def capa(self):
        c = self.client(self.srv)
        c.line()
        self.assertOK(c.cmd("CAPA"))
        return c.multi()

    def test_hup_reloads_and_keeps_old_on_error(self):
        self.start()
        self.assertNotIn(b"LOGIN-DELAY", self.capa())
        with open(self.srv.conf_path, "a") as f:
            f.write("login_delay 60\n")
        self.srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "configuration reloaded" in
                                 self.srv.log()))
        self.assertIn(b"LOGIN-DELAY 60\r\n", self.capa())
        # A broken file: logged, the running configuration stays.
        with open(self.srv.conf_path, "a") as f:
            f.write("no_such_key 1\n")
        self.srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "keeping the old configuration"
                                 in self.srv.log()))
        self.assertIn(b"LOGIN-DELAY 60\r\n", self.capa())
        self.assertIsNone(self.srv.proc.poll())
        self.session_ok(self.srv.port)

    def test_hup_refuses_new_listen_address(self):
        self.start()
        text = read(self.srv.conf_path).replace(
            "listen 127.0.0.1:%d" % self.srv.port,
            "listen 127.0.0.1:%d" % free_port())
        with open(self.srv.conf_path, "w") as f:
            f.write(text)
        self.srv.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "listen addresses can't change"
                                 in self.srv.log()))
        self.session_ok(self.srv.port)

    def test_term_lets_open_sessions_finish(self):
        self.start(shutdown_timeout=20)
        c = self.login_client(self.srv)
        self.assertOK(c.cmd("DELE 1"))
        self.srv.proc.send_signal(signal.SIGTERM)
        self.assertTrue(wait_for(lambda: not listening(self.srv.port)),
                        "stops accepting")
        self.assertIsNone(self.srv.proc.poll(), "waits for the session")
        self.assertEqual(c.cmd("STAT")[:5], b"+OK 1")
        self.assertOK(c.cmd("QUIT"))
        self.srv.proc.wait(WAIT)
        self.assertNotIn(b"Subject: one", self.srv.read_mbox())

    def test_term_ends_sessions_after_timeout_without_update(self):
        self.start(shutdown_timeout=1)
        before = self.srv.read_mbox()
        c = self.login_client(self.srv)
        self.assertOK(c.cmd("DELE 1"))
        t0 = time.monotonic()
        self.srv.proc.send_signal(signal.SIGTERM)
        self.assertEqual(c.read_until_eof(WAIT), b"")
        self.srv.proc.wait(WAIT)
        self.assertGreaterEqual(time.monotonic() - t0, 0.9)
        self.assertEqual(self.srv.read_mbox(), before, "no UPDATE")
        self.assertFalse(self.srv.lock_file_exists())
        self.assertIn("ending 1 sessions without update", self.srv.log())


@unittest.skipUnless(os.path.exists(INETD), "openbsd-inetd not installed")
@unittest.skipUnless(IS_ROOT, "inetd runs services as a named user: root")
class InetdTest(LaunchCase):
    """pop3d -i under openbsd-inetd, started on its own config file."""

    def run_inetd(self, lines):
        cf = os.path.join(self.srv.dir, "inetd.conf")
        with open(cf, "w") as f:
            f.write("".join(l + "\n" for l in lines))
        self.spawn([INETD, "-i", cf])

    def test_plain_and_tls(self):
        cert, key = make_cert(self.srv.dir)
        harness.chown_tree(self.srv.dir)
        self.srv.extra.update(tls_cert=cert, tls_key=key,
                              plaintext_auth="yes")
        self.srv.write_conf()
        p1, p2 = free_port(), free_port()
        cmd = "%s pop3d -i -f %s" % (pop3d_path(), self.srv.conf_path)
        self.run_inetd([
            "127.0.0.1:%d stream tcp nowait root %s" % (p1, cmd),
            "127.0.0.1:%d stream tcp nowait root %s -s" % (p2, cmd)])
        self.assertTrue(wait_for(lambda: listening(p1) and listening(p2)),
                        self.srv.log())
        self.session_ok(p1)
        ctx = ssl.create_default_context(cafile=cert)
        self.session_ok(p2, wrap=ctx)
        self.session_ok(p1)


@unittest.skipUnless(os.path.exists(SSA), "systemd-socket-activate missing")
class SystemdTest(LaunchCase):

    def test_accept_yes_inetd_style(self):
        port = free_port()
        self.srv.write_conf()
        self.spawn([SSA, "-l", "127.0.0.1:%d" % port, "--inetd", "-a",
                    pop3d_path(), "-i", "-f", self.srv.conf_path])
        self.assertTrue(wait_for(lambda: listening(port)))
        self.session_ok(port)
        self.session_ok(port)

    def test_accept_no_named_sockets(self):
        cert, key = make_cert(self.srv.dir)
        self.srv.extra.update(tls_cert=cert, tls_key=key,
                              plaintext_auth="yes")
        # The configured address must be ignored: systemd's sockets win.
        unused = free_port()
        self.srv.write_conf(port=unused)
        harness.chown_tree(self.srv.dir)
        p1, p2 = free_port(), free_port()
        self.spawn([SSA, "-l", "127.0.0.1:%d" % p1,
                    "-l", "127.0.0.1:%d" % p2, "--fdname=pop3:pop3s",
                    pop3d_path(), "-d", "-f", self.srv.conf_path])
        self.assertTrue(wait_for(lambda: listening(p1) and listening(p2)))
        # systemd-socket-activate starts pop3d at the first connection.
        self.session_ok(p1)
        self.assertIn("from systemd", self.srv.log())
        self.assertFalse(listening(unused))
        ctx = ssl.create_default_context(cafile=cert)
        self.session_ok(p2, wrap=ctx)
        # The plain socket really is plain: STLS is offered there.
        c = Client(p1)
        self.addCleanup(c.close)
        c.line()
        self.assertOK(c.cmd("CAPA"))
        self.assertIn(b"STLS\r\n", c.multi())


if __name__ == "__main__":
    unittest.main()
