# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The pre-login process's syscall filter (sandbox.c), seen from /proc and
from the log.

The pre-login process, and after a TLS login the relay it becomes, run
with a seccomp filter (`Seccomp: 2' in /proc/PID/status); the listener
and the monitor don't.  tests/pop3d-sandbox-hook (pop3d's objects linked
with tests/sandbox_hook.c; pop3d itself has no hook) makes the jailed
process attempt a forbidden call when a client sends "XSANDBOX call",
and can make the kernel look as if it lacked seccomp: the process must
die of the call, the monitor log it, the client's connection close and
the listener serve the next client; and pop3d must refuse to start on a
kernel that can't enforce the filter, unless `sandbox no'.

harness.py fails any test after which the log says the filter killed a
process the test did not expect to be killed, so every other test of the
suite also shows that its paths (PROXY headers, TLS, logins and their
delays, the relay, timeouts) stay within the filter.
"""

import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import time
import unittest

import harness
from harness import (IS_ROOT, REPO, PROC_TIMEOUT, SIGSYS_LINE, CertMixin,
                     Pop3dCase, make_jail, message, pop_form, stuff, tls_conf,
                     wait_for)

CALLS = ("open", "socket", "execve", "fork", "kill", "ptrace")


def hook_path():
    """The hooked daemon: $POP3D_SANDBOX_HOOK (make check-asan's), else
    the one make test builds."""
    return os.environ.get("POP3D_SANDBOX_HOOK") or \
        os.path.join(REPO, "tests", "pop3d-sandbox-hook")


def hook_built():
    return os.access(hook_path(), os.X_OK)


def status(pid, field):
    """A field of /proc/PID/status, e.g. "Seccomp"."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return line.split()[1]
    return None


def read_text(path):
    with open(path) as f:
        return f.read()


def children(pid):
    return harness.session_pids(pid)


@unittest.skipUnless(IS_ROOT, "the jail needs root: run the tests as root "
                     "(CI does)")
class SandboxCase(Pop3dCase):

    def setUp(self):
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)

    def srv_with(self, conf=None, hook=False, env=None, tls=False,
                 msgs=None):
        c = {"chroot": self.jail, "expire": "never"}
        c.update(conf or {})
        srv = self.server(msgs or [message("a", "x\n")], conf=c, tls=tls,
                          start=False)
        if hook:
            self.assertTrue(hook_built(), "%s not built (make test builds "
                            "it)" % hook_path())
            srv.binary = hook_path()
        if env is not None:
            srv.env = dict(os.environ, **env)
        srv.start()
        return srv

    def one_session(self, srv):
        """(monitor pid, pre-login pid) of the one open connection."""
        mon = wait_for(lambda: children(srv.proc.pid))
        self.assertEqual(len(mon), 1, mon)
        pre = wait_for(lambda: children(mon[0]))
        self.assertEqual(len(pre), 1, pre)
        return mon[0], pre[0]


class FilterInForceTest(CertMixin, SandboxCase):

    def test_prelogin_filtered_listener_and_monitor_not(self):
        srv = self.srv_with()
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.one_session(srv)
        self.assertEqual(status(pre, "Seccomp"), "2")
        self.assertEqual(status(pre, "NoNewPrivs"), "1")
        self.assertEqual(status(mon, "Seccomp"), "0")
        self.assertEqual(status(srv.proc.pid, "Seccomp"), "0")
        # Logins, a failed one with its delay, go on under it.
        self.assertOK(c.cmd("CAPA"))
        c.multi()
        self.assertOK(c.cmd("USER alice"))
        self.assertERR(c.cmd("PASS wrong"))
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        # The monitor became the session process: its own filter now.
        self.assertEqual(status(mon, "Seccomp"), "2")
        self.assertEqual(status(mon, "NoNewPrivs"), "1")
        self.assertOK(c.cmd("QUIT"))
        c.read_until_eof(5)

    def test_tls_relay_filtered(self):
        big = message("big", b"".join(b"line %07d " % i + b"z" * 70 +
                                      b"\n" for i in range(20000)))
        srv = self.srv_with(tls_conf(self.cert, self.key), tls=True,
                            msgs=[big])
        ctx = ssl.create_default_context(cafile=self.cert)
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        mon, pre = self.one_session(srv)
        self.assertEqual(status(pre, "Seccomp"), "2")
        s.sendall(b"USER alice\r\nPASS secret\r\nRETR 1\r\n")
        for _ in range(3):
            self.assertTrue(f.readline().startswith(b"+OK"))
        body = b""
        while True:
            l = f.readline()
            self.assertNotEqual(l, b"")
            if l == b".\r\n":
                break
            body += l
        self.assertEqual(body, stuff(pop_form(big)))
        # The relay is the pre-login process, still filtered.
        self.assertEqual(children(mon), [pre])
        self.assertEqual(status(pre, "Seccomp"), "2")
        s.sendall(b"QUIT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(wait_for(lambda: children(srv.proc.pid) == []))

    def test_idle_timeout_and_shutdown_under_the_filter(self):
        srv = self.srv_with({"idle_timeout": "1", "shutdown_timeout": "1"})
        idle = self.client(srv)
        self.assertOK(idle.line())
        self.assertEqual(idle.read_until_eof(5), b"")
        self.assertTrue(wait_for(lambda: "idle timeout" in srv.log()))
        # SIGTERM to the listener with a pre-login process open.
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.one_session(srv)
        os.kill(srv.proc.pid, signal.SIGTERM)
        self.assertEqual(srv.proc.wait(10), 0)
        c.read_until_eof(5)
        self.assertTrue(wait_for(lambda: not os.path.exists(
            "/proc/%d" % pre)))
        self.assertNotIn(SIGSYS_LINE, srv.log())

    def test_sandbox_no(self):
        srv = self.srv_with({"sandbox": "no"})
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.one_session(srv)
        self.assertEqual(status(pre, "Seccomp"), "0")
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assertEqual(status(mon, "Seccomp"), "0")
        self.assertOK(c.cmd("QUIT"))


class ForbiddenCallTest(SandboxCase):
    """A pre-login process taken over makes a call it has no business
    making: it dies of it, and nothing else does."""

    def test_each_forbidden_call_kills_only_its_process(self):
        srv = self.srv_with(hook=True)
        srv.sigsys_expected = True
        held = self.login_client(srv)		# a session that must go on
        for n, call in enumerate(CALLS, 1):
            c = self.client(srv)
            self.assertOK(c.line())
            self.assertOK(c.cmd("CAPA"))
            c.multi()
            c.send("XSANDBOX %s\r\n" % call)
            self.assertEqual(c.read_until_eof(5), b"", call)
            self.assertTrue(wait_for(lambda: srv.log().count(
                SIGSYS_LINE) == n), (call, srv.log()[-2000:]))
            # Its monitor ended too; the held session and the listener
            # are as they were.
            self.assertTrue(wait_for(lambda: len(children(
                srv.proc.pid)) == 1), call)
            self.assertIsNone(srv.proc.poll())
            self.assertOK(held.cmd("NOOP"), call)
        self.assertIn("pre-login process killed by the syscall filter "
                      "(SIGSYS): see the kernel's audit log for the call",
                      srv.log())
        self.assertOK(held.cmd("QUIT"))
        held.read_until_eof(5)
        # The next client is served as ever.
        c = self.login_client(srv)
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assertOK(c.cmd("QUIT"))

    def test_session_process_filtered_too(self):
        # After login the session may open its mailbox's files, but not
        # make a socket, another process or program, or signal another.
        srv = self.srv_with(hook=True)
        srv.sigsys_expected = True
        held = self.login_client(srv)
        self.assertEqual(held.cmd("XSANDBOX open"),
                         b"-ERR unknown command\r\n")
        self.assertOK(held.cmd("QUIT"))
        held.read_until_eof(5)
        for n, call in enumerate(("socket", "execve", "fork", "kill",
                                  "ptrace"), 1):
            # The killed session's lock went with it: the login works.
            c = self.login_client(srv)
            c.send("XSANDBOX %s\r\n" % call)
            self.assertEqual(c.read_until_eof(5), b"", call)
            self.assertTrue(wait_for(lambda: len(re.findall(
                r"session process \d+ killed by the syscall filter "
                r"\(SIGSYS\): see the kernel's audit log for the call",
                srv.log())) == n), (call, srv.log()[-2000:]))
        self.assertIsNone(srv.proc.poll())
        self.assertTrue(self.login_client(srv).cmd("STAT").startswith(
            b"+OK 1 "))

    def test_without_the_filter_the_call_is_made(self):
        # The same hook with sandbox no: the calls run (and fail in the
        # empty jail), the process lives and answers.
        srv = self.srv_with({"sandbox": "no"}, hook=True)
        c = self.client(srv)
        self.assertOK(c.line())
        for call in ("open", "socket"):
            self.assertEqual(c.cmd("XSANDBOX " + call),
                             b"-ERR unknown command\r\n")
        self.assertOK(c.cmd("QUIT"))
        self.assertNotIn(SIGSYS_LINE, srv.log())


class KernelWithoutSeccompTest(SandboxCase):
    """The hooked daemon's prctl plays a kernel that can't filter."""

    def run_hook(self, args, knob, conf=None):
        srv = self.server(None, conf=dict({"chroot": self.jail},
                                          **(conf or {})), start=False)
        srv.write_conf(harness.free_port())
        self.assertTrue(hook_built(), "%s not built (make test builds "
                        "it)" % hook_path())
        return subprocess.run([hook_path()] + args + ["-f", srv.conf_path],
                              env=dict(os.environ, POP3D_TEST_SANDBOX=knob),
                              capture_output=True, timeout=PROC_TIMEOUT)

    def test_refuses_to_start(self):
        for knob, why in (("nokernel", "this kernel has no seccomp"),
                          ("nofilter", "the kernel refused it (Invalid "
                           "argument)")):
            for args in (["-d"], ["-t"]):
                r = self.run_hook(args, knob)
                err = r.stderr.decode()
                self.assertEqual(r.returncode, 1, (knob, args, err))
                self.assertIn("syscall filter: " + why, err)
                self.assertIn("refusing to start; `sandbox no' runs "
                              "without it", err)
                # -t then counts the errors; nothing else is said.
                if args == ["-t"]:
                    self.assertTrue(err.endswith(": 1 error found\n"), err)
                self.assertEqual(err.count("\n"),
                                 2 if args == ["-t"] else 1, err)

    def test_sandbox_no_starts_anyway(self):
        r = self.run_hook(["-t"], "nokernel", {"sandbox": "no"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"configuration OK", r.stdout)

    def test_failing_in_a_child_closes_its_connection(self):
        # The start-up check passes (as root); the jailed process can't
        # install the filter and must not serve unfiltered.
        srv = self.srv_with(hook=True, env={"POP3D_TEST_SANDBOX":
                                            "childfail"})
        for _ in range(2):
            c = self.client(srv)
            self.assertEqual(c.read_until_eof(5), b"")
        self.assertIn("syscall filter not installed, closing the "
                      "connection (`sandbox no' runs without it): Invalid "
                      "argument", srv.log())
        self.assertIsNone(srv.proc.poll())


# Run by sh in a mount namespace of its own ($1 the test's directory, then
# the command): a /dev holding only null and a log socket of the test's,
# so a daemon that detaches logs to syslog there and nowhere else.
SYSLOG_NS = r"""
set -eu
t=$1
shift
mount --make-rprivate /
mkdir "$t/hostdev"
mount --bind /dev "$t/hostdev"
mount -t tmpfs -o mode=755 tmpfs /dev
touch /dev/null
mount --bind "$t/hostdev/null" /dev/null
ln -s "$t/log" /dev/log
exec "$@"
"""

# A line as syslog(3) would send it: "<PRI>Mmm dd hh:mm:ss pop3d[pid]: ".
SYSLOG_HEAD = r"^<2\d>[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d pop3d\[\d+\]: "


@unittest.skipUnless(IS_ROOT and shutil.which("unshare"),
                     "needs root and unshare(1) for a /dev of its own")
class SyslogTest(SandboxCase):
    """log.c speaks syslog itself (glibc's syslog(3) would make socket()
    and open() calls the filter kills): the detached daemon's processes,
    the jailed one included, log to /dev/log, and after the syslog daemon
    restarts (a new socket at /dev/log) the listener reconnects and each
    new connection starts with a connection of its own."""

    def setUp(self):
        super().setUp()
        self.socks = []

    def listen_log(self, path):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        s.bind(path)
        os.chmod(path, 0o666)
        s.settimeout(0.1)
        self.addCleanup(s.close)
        self.socks.append(s)
        return s

    def lines(self, s, pattern, limit=5.0):
        """Read datagrams from s until one matches; return the text."""
        got = []
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            try:
                got.append(s.recv(4096).decode("utf-8", "replace"))
            except socket.timeout:
                continue
            if re.search(SYSLOG_HEAD + pattern, got[-1]):
                return got
        self.fail("no %r in %r" % (pattern, got))

    def start_detached(self):
        srv = self.server([message("a", "x\n")], start=False, conf={
            "chroot": self.jail, "expire": "never"})
        srv.extra["pidfile"] = pidfile = os.path.join(srv.dir, "pop3d.pid")
        port = harness.free_port()
        srv.write_conf(port)
        log = self.listen_log(os.path.join(srv.dir, "log"))
        r = subprocess.run(["unshare", "--mount", "sh", "-c", SYSLOG_NS,
                            "sh", srv.dir, harness.pop3d_path(), "-f",
                            srv.conf_path], capture_output=True,
                           timeout=PROC_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        pid = int(wait_for(lambda: read_text(pidfile).strip()))
        self.addCleanup(self.stop_detached, pid)
        self.lines(log, r"pop3d \S+ ready")
        return srv, port, log, pid

    @staticmethod
    def stop_detached(pid):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                return
            wait_for(lambda: not os.path.exists("/proc/%d" % pid))

    def failed_login(self, port):
        c = harness.Client(port)
        self.addCleanup(c.close)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER alice"))
        self.assertERR(c.cmd("PASS wrong"))
        self.assertOK(c.cmd("QUIT"))

    def test_jail_logs_and_syslog_restart(self):
        srv, port, log, pid = self.start_detached()
        failed = r"\[[0-9a-f]{8}\] login alice from 127\.0\.0\.1:\d+ " \
            r"\(USER\): failed, wrong password$"
        self.failed_login(port)
        self.lines(log, failed)
        # The syslog daemon restarts: its old socket goes, a new one
        # takes the path.
        log.close()
        os.unlink(os.path.join(srv.dir, "log"))
        log = self.listen_log(os.path.join(srv.dir, "log"))
        self.failed_login(port)
        got = self.lines(log, failed)
        os.kill(pid, signal.SIGHUP)
        got += self.lines(log, r"SIGHUP: configuration reloaded")
        self.assertFalse([l for l in got if SIGSYS_LINE in l], got)


if __name__ == "__main__":
    unittest.main()
