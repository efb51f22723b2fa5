# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""What a person starting pop3d sees: start-up errors on stderr before the
daemon detaches, a second instance named by its pid, configuration errors
under inetd kept from the client, sd-daemon priority prefixes on the
journal's stream, a systemd TLS socket without a certificate skipped, and
process titles."""

import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (wait_for, Pop3dCase, Client, message, IS_ROOT,  # noqa: E402
                     PROC_TIMEOUT, free_port, pop3d_path, session_pids)
from test_sandbox import SYSLOG_NS  # noqa: E402

SSA = shutil.which("systemd-socket-activate") or \
    "/usr/bin/systemd-socket-activate"
UNSHARE = shutil.which("unshare")
# LOG_MAIL (2 << 3) with LOG_WARNING (4): "<20>", as syslog(3) sends it.
SYSLOG_WARNING = "<20>"
# What no configuration error may show the client.
SECRET = "not-for-clients-7f3a"


def read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return ""


def title(pid):
    """What ps shows as pid's command line."""
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        return f.read().split(b"\0")[0].decode("utf-8", "replace")


def alive(pid):
    return os.path.exists("/proc/%d" % pid)


def kill_detached(pid):
    for sig in (15, 9):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        wait_for(lambda: not alive(pid))


class SyslogSink:
    """A datagram socket standing for /dev/log (see SYSLOG_NS)."""

    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.s.bind(path)
        os.chmod(path, 0o666)
        self.s.settimeout(0.1)

    def lines(self, limit=2.0):
        """Every datagram that comes within limit seconds of the last."""
        got = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                got.append(self.s.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                continue
        return got

    def close(self):
        self.s.close()


class StartupCase(Pop3dCase):

    def setUp(self):
        self.srv = self.server([message("one", "first\n")], start=False)

    def start_detached(self):
        """pop3d without -d; returns its CompletedProcess."""
        return subprocess.run([pop3d_path(), "-f", self.srv.conf_path],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=PROC_TIMEOUT)

    def in_syslog_ns(self, args, stdin=b""):
        """pop3d args in a mount namespace whose /dev/log is a socket of
        the test's; returns (CompletedProcess, sink)."""
        sink = SyslogSink(os.path.join(self.srv.dir, "log"))
        self.addCleanup(sink.close)
        r = subprocess.run([UNSHARE, "--mount", "sh", "-c", SYSLOG_NS, "sh",
                            self.srv.dir, pop3d_path()] + args, input=stdin,
                           capture_output=True, timeout=PROC_TIMEOUT)
        return r, sink


class StartupErrorTest(StartupCase):

    def test_port_in_use_on_stderr(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        self.srv.write_conf(port=port)
        r = self.start_detached()
        self.assertNotEqual(r.returncode, 0)
        err = r.stderr.decode()
        self.assertIn("127.0.0.1:%d" % port, err)
        self.assertIn("in use", err)

    @unittest.skipUnless(IS_ROOT and UNSHARE, "needs root and unshare(1)")
    def test_port_in_use_also_in_syslog(self):
        busy = socket.socket()
        self.addCleanup(busy.close)
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        self.srv.write_conf(port=port)
        r, sink = self.in_syslog_ns(["-f", self.srv.conf_path])
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(b"in use", r.stderr)
        logged = [l for l in sink.lines() if "127.0.0.1:%d" % port in l]
        self.assertTrue(logged and logged[0].startswith(SYSLOG_WARNING),
                        logged)

    @unittest.skipUnless(IS_ROOT and UNSHARE, "needs root and unshare(1)")
    def test_unparsable_config_also_in_syslog(self):
        """An administrator who started pop3d from an init script, whose
        stderr went nowhere, finds why it is not running in the mail
        log."""
        self.srv.write_conf()
        with open(self.srv.conf_path, "a") as f:
            f.write("no_such_setting yes\n")
        r, sink = self.in_syslog_ns(["-f", self.srv.conf_path])
        self.assertEqual(r.returncode, 1)
        self.assertIn(b"no_such_setting", r.stderr)
        self.assertIn(b"not starting", r.stderr)
        logged = [l for l in sink.lines() if "no_such_setting" in l]
        self.assertTrue(logged and logged[0].startswith(SYSLOG_WARNING),
                        logged)
        self.assertIn(self.srv.conf_path, logged[0])

    def test_bad_certificate_on_stderr(self):
        cert = os.path.join(self.srv.dir, "broken.crt")
        with open(cert, "w") as f:
            f.write("not a certificate\n")
        self.srv.extra.update(tls_cert=cert, tls_key=cert)
        self.srv.write_conf(port=free_port())
        r = self.start_detached()
        self.assertNotEqual(r.returncode, 0)
        self.assertIn(cert, r.stderr.decode())

    def test_detached_daemon_leaves_stderr_alone(self):
        pidfile = os.path.join(self.srv.dir, "pop3d.pid")
        self.srv.extra["pidfile"] = pidfile
        port = free_port()
        self.srv.write_conf(port=port)
        r = self.start_detached()
        self.assertEqual(r.returncode, 0, r.stderr)
        pid = int(wait_for(lambda: read(pidfile).strip()))
        self.addCleanup(kill_detached, pid)
        # The "ready" line and later ones go to syslog alone.
        self.assertEqual(r.stderr, b"")
        self.assertEqual(title(pid), "pop3d: listener")


class SecondInstanceTest(StartupCase):

    def second(self):
        r = self.start_detached()
        self.assertNotEqual(r.returncode, 0)
        return r.stderr.decode()

    def test_already_running_with_pid(self):
        pidfile = os.path.join(self.srv.dir, "pop3d.pid")
        self.srv.extra["pidfile"] = pidfile
        self.srv.start()
        self.assertTrue(wait_for(lambda: read(pidfile).strip()))
        err = self.second()
        self.assertIn("already running (pid %d)" % self.srv.proc.pid, err)
        self.assertNotIn("in use", err)
        # The first one still serves, and its pidfile is untouched.
        self.assertEqual(int(read(pidfile)), self.srv.proc.pid)
        c = self.login_client(self.srv)
        self.assertOK(c.cmd("QUIT"))

    def test_without_pidfile_address_in_use(self):
        self.srv.start()
        err = self.second()
        self.assertIn("127.0.0.1:%d" % self.srv.port, err)
        self.assertIn("in use", err)


class InetdConfigErrorTest(StartupCase):
    """pop3d -i: stdin and stdout are the client (a pipe here, as for
    openbsd-inetd a socket that is stderr too)."""

    def bad_conf(self):
        with open(self.srv.conf_path, "w") as f:
            f.write("passwd_file %s\nno_such_key %s\n" % (self.srv.passwd,
                                                         SECRET))
        return self.srv.conf_path

    def assertSaysNothingOfConf(self, r):
        for stream in (r.stdout, r.stderr):
            self.assertNotIn(self.srv.conf_path.encode(), stream)
            self.assertNotIn(SECRET.encode(), stream)
            self.assertNotIn(b"no_such_key", stream)

    def test_unparsable_config(self):
        r = self.srv.run(["-i", "-f", self.bad_conf()], b"CAPA\r\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"-ERR [SYS/TEMP] service unavailable, "
                         b"try again later\r\n")
        self.assertSaysNothingOfConf(r)

    def test_bad_tls_key(self):
        cert, _ = harness.make_cert(self.srv.dir)
        key = os.path.join(self.srv.dir, "bad.key")
        with open(key, "w") as f:
            f.write(SECRET + "\n")
        os.chmod(key, 0o600)
        self.srv.extra.update(tls_cert=cert, tls_key=key)
        self.srv.write_conf()
        harness.chown_tree(self.srv.dir)
        r = self.srv.run(["-i", "-f", self.srv.conf_path], b"CAPA\r\n")
        self.assertNotEqual(r.returncode, 0)
        self.assertTrue(r.stdout.startswith(b"-ERR [SYS/TEMP] "), r.stdout)
        self.assertNotIn(key.encode(), r.stdout + r.stderr)
        self.assertSaysNothingOfConf(r)

    def test_implicit_tls_just_closes(self):
        r = self.srv.run(["-i", "-s", "-f", self.bad_conf()], b"")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout, b"")
        self.assertSaysNothingOfConf(r)
        # No certificate at all: the same.
        self.srv.write_conf()
        r = self.srv.run(["-i", "-s", "-f", self.srv.conf_path], b"")
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(r.stdout + r.stderr, b"")

    @unittest.skipUnless(IS_ROOT and UNSHARE, "needs root and unshare(1)")
    def test_error_goes_to_syslog(self):
        r, sink = self.in_syslog_ns(["-i", "-f", self.bad_conf()],
                                    b"CAPA\r\n")
        self.assertTrue(r.stdout.startswith(b"-ERR [SYS/TEMP] "), r)
        logged = [l for l in sink.lines() if "no_such_key" in l]
        self.assertTrue(logged and logged[0].startswith(SYSLOG_WARNING),
                        logged)


class JournalTest(StartupCase):
    """pop3d -d under systemd: stderr is journald's stream, and
    JOURNAL_STREAM names it."""

    def run_d(self, journal):
        """The daemon's stderr lines, from the ready line to a failed
        login's and the stop; journal: JOURNAL_STREAM names that stderr
        (the harness's log file, appended to)."""
        log = self.srv.log_path
        open(log, "ab").close()
        env = dict(os.environ)
        env.pop("JOURNAL_STREAM", None)
        if journal:
            st = os.stat(log)
            env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
        self.srv.extra["idle_timeout"] = "60"	# for a warning
        self.srv.env = env
        self.srv.start()
        c = self.client(self.srv)
        self.assertERR(c.login("alice", "wrong"))
        c.cmd("QUIT")
        self.assertTrue(wait_for(lambda: "failed" in read(log)))
        self.srv.stop()
        return read(log).splitlines()

    def test_priority_prefixes_on_the_journal(self):
        lines = self.run_d(journal=True)
        self.assertTrue(lines)
        for l in lines:
            self.assertRegex(l, r"^<[4-7]>")
            self.assertNotIn("pop3d[", l)
        self.assertTrue([l for l in lines if l.startswith("<4>idle_timeout")],
                        lines)
        self.assertTrue([l for l in lines if re.match(r"<6>pop3d \S+ ready",
                                                      l)], lines)
        self.assertTrue([l for l in lines if re.match(
            r"<\d>\[[0-9a-f]{8}\] login alice from .*: failed", l)], lines)

    def test_plain_lines_elsewhere(self):
        lines = self.run_d(journal=False)
        self.assertTrue(lines)
        for l in lines:
            self.assertRegex(l, r"^pop3d\[\d+\]: ")

    def test_variable_for_another_stream_ignored(self):
        env = dict(os.environ)
        env["JOURNAL_STREAM"] = "1:1"
        self.srv.env = env
        self.srv.start()
        self.srv.stop()
        self.assertRegex(self.srv.log(), r"^pop3d\[\d+\]: ")


@unittest.skipUnless(os.path.exists(SSA), "systemd-socket-activate missing")
class SystemdTlsSocketTest(StartupCase):

    def test_tls_socket_without_certificate_skipped(self):
        self.srv.write_conf()
        p1, p2 = free_port(), free_port()
        log = open(self.srv.log_path, "ab")
        self.addCleanup(log.close)
        p = subprocess.Popen([SSA, "-l", "127.0.0.1:%d" % p1,
                              "-l", "127.0.0.1:%d" % p2,
                              "--fdname=pop3:pop3s", pop3d_path(), "-d",
                              "-f", self.srv.conf_path],
                             stdin=subprocess.DEVNULL, stdout=log,
                             stderr=log, start_new_session=True)
        self.srv.proc = p	# stopped with the server
        listening = lambda: {p1, p2} <= harness._listening_ports()
        self.assertTrue(wait_for(listening))
        # systemd-socket-activate starts pop3d at the first connection.
        c = Client(p1)
        self.addCleanup(c.close)
        self.assertOK(c.login("alice", "secret"))
        self.assertOK(c.cmd("QUIT"))
        log_text = self.srv.log()
        self.assertIn("TLS socket 127.0.0.1:%d" % p2, log_text)
        self.assertIn("no tls_cert", log_text)
        self.assertIsNone(p.poll())


class ProcTitleTest(StartupCase):

    def family(self, pid):
        """{title: pid} of pid's children and their children."""
        out = {}
        for child in session_pids(pid):
            out[title(child)] = child
            for grandchild in session_pids(child):
                out[title(grandchild)] = grandchild
        return out

    def test_titles_before_and_after_login(self):
        self.srv.start()
        daemon = self.srv.proc.pid
        self.assertEqual(title(daemon), "pop3d: listener")
        c = self.client(self.srv)
        self.assertOK(c.line())
        peer = "127.0.0.1:%d" % c.sock.getsockname()[1]
        want = {"pop3d: [priv] " + peer, "pop3d: pre-login " + peer}
        got = wait_for(lambda: want <= set(self.family(daemon)) and
                       self.family(daemon))
        self.assertTrue(got, self.family(daemon))
        # The monitor is the daemon's child, the jailed one its child.
        self.assertIn(got["pop3d: [priv] " + peer], session_pids(daemon))
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        user = "pop3d: alice " + peer
        self.assertTrue(wait_for(lambda: user in self.family(daemon)),
                        self.family(daemon))
        self.assertOK(c.cmd("QUIT"))

    def test_titles_over_tls(self):
        cert, key = harness.make_cert(self.srv.dir)
        self.srv.tls = True
        self.srv.extra.update(harness.tls_conf(cert, key))
        harness.chown_tree(self.srv.dir)
        self.srv.start()
        daemon = self.srv.proc.pid
        raw = socket.create_connection(("127.0.0.1", self.srv.tls_port),
                                       timeout=harness.IO_TIMEOUT)
        s = ssl.create_default_context(cafile=cert).wrap_socket(
            raw, server_hostname="localhost")
        self.addCleanup(s.close)
        c = Client.__new__(Client)
        c.sock, c.rbuf = s, b""
        self.assertOK(c.login("alice", "secret"))
        peer = "127.0.0.1:%d" % s.getsockname()[1]
        # The user's process, and the jailed one keeping the TLS session.
        want = {"pop3d: alice " + peer, "pop3d: TLS relay " + peer}
        self.assertTrue(wait_for(lambda: want <= set(self.family(daemon))),
                        self.family(daemon))
        self.assertOK(c.cmd("QUIT"))


if __name__ == "__main__":
    unittest.main()
