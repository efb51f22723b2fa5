# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The shipped systemd units (dist/) under a real systemd.

systemd runs as PID 1 of PID, mount, UTS and cgroup namespaces of its own
(unshare), booted into a target of this file's, with only the test's unit
directory on its unit path (SYSTEMD_UNIT_PATH), so none of the host's
units start.  Inside, the machine looks as `make install PREFIX=/usr`
leaves it: /usr/sbin/pop3d and /etc/pop3d.conf, /etc/pop3d/ (read-only
overlays adding the test's files), the units with @SBINDIR@ replaced as
the Makefile does, and a /var/mail of the test's (root:mail, mode 2775,
as on Debian).  The namespace's root is remounted read-only and /run,
/tmp and /var/tmp are tmpfs of its own, so nothing inside writes to the
host's files.  The units run as shipped but for ListenStream= drop-ins
(loopback test ports) and, in AcceptYesTest, the Accept=yes drop-in the
README tells administrators to write.

No journald runs inside: the test listens on journald's two sockets (the
stream that services' stdout and stderr go to, and /dev/log) and reads a
pseudo-terminal mounted over /dev/console (systemd's own messages; it
writes to nothing but a terminal there), and keeps the text.

Every test boots its own systemd and ends it by SIGKILL to the namespace's
PID 1, by its pid: the kernel then ends every process inside.  Skipped,
with the reason, where that systemd can't be started.
"""

import grp
import os
import poplib
import re
import select
import shutil
import signal
import socket
import ssl
import stat
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Pop3dCase, IS_ROOT, REPO, IO_TIMEOUT,  # noqa: E402
                     PROC_TIMEOUT, free_port, make_cert, make_hash,
                     message, build_mbox, pop_form, pop3d_path,
                     _listening_ports)

SYSTEMD = "/lib/systemd/systemd"
UNSHARE = shutil.which("unshare") or "/usr/bin/unshare"
NSENTER = shutil.which("nsenter") or "/usr/bin/nsenter"
BOOT_WAIT = 30.0	# systemd running after unshare (a loaded machine)
WAIT = 10.0		# a unit changing state, a log line arriving
# The virtual user's ids in the passwd file (no account needed).
UID, GID = 4242, 4243
UNITS = ("pop3d.socket", "pop3s.socket", "pop3d.service", "pop3d@.service")
# The test's unit directory, as the namespace sees it.
INSIDE = "/run/pop3d-test"

# Run by sh as the namespace's PID 1 before it becomes systemd; $1 is
# the test's directory on the host, $2 the terminal to be its console.
# Mounts made here are the namespace's alone (unshare makes the mount
# tree private); the root goes read-only once the binds are made.
SETUP = r"""
set -eu
t=$1
mount -t tmpfs -o mode=755 tmpfs /run
mkdir $INSIDE
mount --bind "$t" $INSIDE
mount --bind "$t/mail" /var/mail
mount -t overlay overlay -o "lowerdir=$t/etc:/etc" /etc
mount -t overlay overlay -o "lowerdir=$t/sbin:/usr/sbin" /usr/sbin
mount --bind "$2" /dev/console
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -o remount,bind,ro /
mount -t tmpfs -o mode=1777 tmpfs /tmp
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
exec env -i container=pop3d-test SYSTEMD_UNIT_PATH=$INSIDE/units \
    SYSTEMD_LOG_TARGET=console SYSTEMD_LOG_LEVEL=info \
    SYSTEMD_LOG_COLOR=0 $SYSTEMD --unit=pop3d-test.target
""".replace("$INSIDE", INSIDE).replace("$SYSTEMD", SYSTEMD)

# The targets the units' default dependencies name; empty, so booting
# starts nothing but what a test asks for.
TARGETS = ("pop3d-test", "sysinit", "basic", "sockets", "shutdown",
           "multi-user", "network")

# What systemd logs about a pop3d unit, or a line of one ("FILE:LINE: ").
UNIT_LINE = re.compile(r"(%s/units/)?pop3[ds]?(@\S*)?\.(service|socket)"
                       r"(\.d/\S+)?:" % re.escape(INSIDE))


def wait_for(pred, limit=WAIT):
    """harness.wait_for with this file's longer default."""
    return harness.wait_for(pred, limit)


CAPS = {"CAP_DAC_READ_SEARCH": 2, "CAP_KILL": 5, "CAP_SETGID": 6,
        "CAP_SETUID": 7, "CAP_NET_BIND_SERVICE": 10, "CAP_SYS_CHROOT": 18}


def cgroup2_dir():
    """This process's directory in the cgroup2 hierarchy, or None."""
    mnt = None
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, right = line.split(" - ", 1)
            if right.split()[0] == "cgroup2":
                mnt = left.split()[4]
                break
    if mnt is None:
        return None
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return mnt + line[3:].strip().rstrip("/")
    return None


def why_not():
    """Why systemd can't be booted here as this file does it, or None."""
    if not IS_ROOT:
        return "needs root (namespaces, mounts)"
    for p in (SYSTEMD, UNSHARE, NSENTER):
        if not os.access(p, os.X_OK):
            return "%s missing" % p
    with open("/proc/filesystems") as f:
        if "overlay" not in f.read():
            return "no overlayfs"
    if cgroup2_dir() is None:
        return "no cgroup2 hierarchy to give systemd"
    if not os.path.isdir("/var/empty"):
        return "no /var/empty (pop3d's default chroot)"
    for p in ("/var/mail", "/dev/console"):
        if not os.path.exists(p):
            return "no %s to mount over" % p
    try:
        grp.getgrnam("mail")
    except KeyError:
        return "no group mail"
    return None


def mount_table(pid):
    """pid's mounts: mount point -> (fs type, root, mount options)."""
    mounts = {}
    with open("/proc/%d/mountinfo" % pid) as f:
        for line in f:
            left, right = line.split(" - ", 1)
            fields = left.split()
            mounts[fields[4]] = (right.split()[0], fields[3],
                                 fields[5].split(","))
    return mounts


def status_field(pid, name):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split()[1:]
    return None


class LogSink:
    """Keeps what arrives on a pseudo-terminal (self.tty, the console)
    and (after listen()) on journald's sockets in the namespace's /run,
    read by one thread until stop()."""

    def __init__(self):
        self.pty, self.pts = os.openpty()
        self.tty = os.ttyname(self.pts)
        self.socks = []
        self.conns = {}		# stream connection: header bytes left
        self.chunks = []
        self.heads = []		# each stream's seven header lines
        self.lock = threading.Lock()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def listen(self, root):
        """Listen where journald would in the tree under root."""
        jdir = os.path.join(root, "run/systemd/journal")
        os.makedirs(jdir, exist_ok=True)
        dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        dgram.bind(os.path.join(jdir, "dev-log"))
        stream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        stream.bind(os.path.join(jdir, "stdout"))
        stream.listen(16)
        # pop3d logs as nobody too: anyone may connect, as to journald's.
        for n in ("dev-log", "stdout"):
            os.chmod(os.path.join(jdir, n), 0o666)
        with self.lock:
            self.socks = [dgram, stream]
            self.stream = stream

    def _keep(self, data):
        with self.lock:
            self.chunks.append(data.decode("utf-8", "replace"))

    def _run(self):
        while not self.done.is_set():
            with self.lock:
                fds = [self.pty] + self.socks + list(self.conns)
            for r in select.select(fds, [], [], 0.2)[0]:
                if r == self.pty:
                    self._keep(os.read(self.pty, 65536).replace(b"\r",
                                                                b""))
                elif r is self.stream:
                    with self.lock:
                        self.conns[self.stream.accept()[0]] = b""
                else:
                    self._read(r)

    def _read(self, s):
        data = s.recv(65536)
        if s not in self.conns:
            self._keep(data + b"\n")
        elif not data:
            with self.lock:
                del self.conns[s]
            s.close()
        elif self.conns[s] is None:
            self._keep(data)
        else:
            # systemd opens a stream with seven lines of its own
            # (identifier, unit, priority, ...): keep what follows.
            head = self.conns[s] + data
            if head.count(b"\n") < 7:
                self.conns[s] = head
            else:
                self.conns[s] = None
                parts = head.split(b"\n", 7)
                with self.lock:
                    self.heads.append([p.decode() for p in parts[:7]])
                self._keep(parts[7])

    def text(self):
        with self.lock:
            return "".join(self.chunks)

    def stream_heads(self):
        with self.lock:
            return list(self.heads)

    def stop(self):
        self.done.set()
        self.thread.join(WAIT)
        for s in self.socks + list(self.conns):
            s.close()
        os.close(self.pty)
        os.close(self.pts)


class Machine:
    """A systemd booted in namespaces of its own over the tree in dir."""

    def __init__(self, tdir, case):
        self.dir = tdir
        self.case = case
        self.proc = None
        self.pid = None		# the namespace's PID 1, as the host sees it
        self.sink = None
        base = cgroup2_dir()
        self.cgroup = os.path.join(base, "pop3d-systemd-%d-%s" % (
            os.getpid(), os.path.basename(tdir)))

    def boot(self):
        """Start systemd; return None, or why it could not be started."""
        try:
            os.mkdir(self.cgroup)
        except OSError as e:
            return "can't make a cgroup for systemd: %s" % e
        self.sink = LogSink()
        log = open(os.path.join(self.dir, "unshare.log"), "wb")
        # Into the cgroup first: the new cgroup namespace is rooted there.
        self.proc = subprocess.Popen(
            ["sh", "-c", 'echo $$ >"$0" && exec "$@"',
             os.path.join(self.cgroup, "cgroup.procs"),
             UNSHARE, "--pid", "--fork", "--mount", "--uts", "--cgroup",
             "--mount-proc", "--kill-child",
             "sh", "-c", SETUP, "setup", self.dir, self.sink.tty],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        log.close()
        wait_for(lambda: self._find_init() or self.proc.poll() is not None,
                 BOOT_WAIT)
        self.pid = self._find_init()
        if not self.pid:
            return "systemd did not start: " + self._tail("unshare.log")
        root = "/proc/%d/root" % self.pid
        if not wait_for(lambda: os.path.exists(
                root + "/run/systemd/private"), BOOT_WAIT):
            return "systemd did not open its control socket: " + \
                self._tail("unshare.log") + self.log()[-2000:]
        self.sink.listen(root)
        state = wait_for(lambda: self.systemctl(
            "is-system-running", check=False).stdout.strip()
            in (b"running", b"degraded"), BOOT_WAIT)
        if not state:
            return "systemd did not finish booting: " + self.log()[-2000:]
        return None

    def _find_init(self):
        """The pid of unshare's child once it is systemd, else None."""
        if self.proc.poll() is not None:
            return None
        for pid in harness.session_pids(self.proc.pid):
            try:
                if os.readlink("/proc/%d/exe" % pid) == \
                        os.path.realpath(SYSTEMD):
                    return pid
            except OSError:
                continue
        return None

    def _tail(self, name):
        try:
            with open(os.path.join(self.dir, name), "rb") as f:
                return f.read()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def log(self):
        """Everything logged inside: systemd's console and the units'."""
        return self.sink.text() if self.sink else ""

    def systemctl(self, *args, check=True):
        r = subprocess.run([NSENTER, "-t", str(self.pid), "-m", "-p",
                            "systemctl", "--no-pager", "--no-ask-password"]
                           + list(args), capture_output=True,
                           timeout=PROC_TIMEOUT)
        if check and r.returncode != 0:
            self.case.fail("systemctl %s: %s%s\n--- log:\n%s" % (
                " ".join(args), r.stdout.decode(), r.stderr.decode(),
                self.log()[-3000:]))
        return r

    def show(self, unit, prop):
        return self.systemctl("show", "-p", prop, "--value",
                              unit).stdout.decode().strip()

    def main_pid(self, unit):
        """The unit's main process as the host numbers it, or 0."""
        inside = int(self.show(unit, "MainPID") or 0)
        for pid in self.unit_pids(unit):
            if self.ns_pid(pid) == inside:
                return pid
        return 0

    def unit_pids(self, unit):
        """Host pids of the processes in the unit's cgroup (under
        system.slice, or the slice of its template's instances)."""
        for root, dirs, _ in os.walk(os.path.join(self.cgroup,
                                                  "system.slice")):
            if unit in dirs:
                try:
                    with open(os.path.join(root, unit,
                                           "cgroup.procs")) as f:
                        return [int(x) for x in f.read().split()]
                except OSError:
                    return []
        return []

    @staticmethod
    def ns_pid(pid):
        """pid's number in the innermost PID namespace it is in."""
        nspid = status_field(pid, "NSpid")
        return int(nspid[-1]) if nspid else 0

    def shutdown(self):
        if self.pid and self.proc.poll() is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.proc is not None:
            try:
                self.proc.wait(BOOT_WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(BOOT_WAIT)
        if self.sink is not None:
            self.sink.stop()
        # The processes are gone once their cgroups empty: deepest first.
        wait_for(self._rm_cgroups, WAIT)

    def _rm_cgroups(self):
        if not os.path.isdir(self.cgroup):
            return True
        for root, dirs, _ in os.walk(self.cgroup, topdown=False):
            for d in dirs:
                try:
                    os.rmdir(os.path.join(root, d))
                except OSError:
                    pass
        try:
            os.rmdir(self.cgroup)
            return True
        except OSError:
            return False


def unit_text(name):
    """A unit from dist/ as `make install PREFIX=/usr` installs it."""
    with open(os.path.join(REPO, "dist", name)) as f:
        return f.read().replace("@SBINDIR@", "/usr/sbin")


def unit_value(text, key):
    for line in text.splitlines():
        if line.startswith(key + "="):
            return line.split("=", 1)[1]
    return None


def unit_values(text, key):
    """Every value of key in a unit's text, lines split into words."""
    return [w for line in text.splitlines() if line.startswith(key + "=")
            for w in line.split("=", 1)[1].split()]


def example_pidfile():
    """The pidfile pop3d.conf.example suggests (`#   pidfile PATH`)."""
    with open(os.path.join(REPO, "pop3d.conf.example")) as f:
        paths = re.findall(r"(?m)^#\s+pidfile (/\S+)$", f.read())
    return paths[0] if len(paths) == 1 else None


class UnitFilesTest(unittest.TestCase):
    """The units as files, without booting: what systemd-analyze verify
    says of them, what `systemctl enable` turns on, their sandbox."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pop3d-units-")
        self.addCleanup(shutil.rmtree, self.dir, True)

    def install(self, unitdir, sbindir):
        os.makedirs(unitdir, exist_ok=True)
        for n in UNITS:
            with open(os.path.join(REPO, "dist", n)) as f:
                text = f.read().replace("@SBINDIR@", sbindir)
            with open(os.path.join(unitdir, n), "w") as f:
                f.write(text)

    @unittest.skipUnless(shutil.which("systemd-analyze"),
                         "no systemd-analyze (package systemd)")
    def test_systemd_analyze_verify(self):
        # The binary the units name must exist for verify: the one built.
        self.install(self.dir, os.path.dirname(os.path.abspath(
            pop3d_path())))
        r = subprocess.run(["systemd-analyze", "verify", "--man=no"] +
                           [os.path.join(self.dir, n) for n in UNITS],
                           capture_output=True, timeout=PROC_TIMEOUT,
                           cwd=self.dir)
        # verify exits 0 on an unknown key, but says so.
        self.assertEqual((r.returncode, r.stdout + r.stderr), (0, b""))

    @unittest.skipUnless(shutil.which("systemctl"),
                         "no systemctl (package systemd)")
    def test_enabling_opens_no_tls_port(self):
        # What `systemctl enable` links, in a root of the test's
        # (--root: no systemd running, nothing of the host's touched).
        def enable(unit):
            root = tempfile.mkdtemp(dir=self.dir)
            self.install(os.path.join(root, "usr/lib/systemd/system"),
                         "/usr/sbin")
            r = subprocess.run(["systemctl", "--root=" + root, "enable",
                                unit], capture_output=True,
                               timeout=PROC_TIMEOUT)
            self.assertEqual(r.returncode, 0, r.stderr)
            wants = os.path.join(root, "etc/systemd/system")
            return {os.path.relpath(os.path.join(d, n), wants)
                    for d, _, files in os.walk(wants) for n in files}

        self.assertEqual(enable("pop3d.service"), {
            "multi-user.target.wants/pop3d.service",
            "sockets.target.wants/pop3d.socket"})
        self.assertEqual(enable("pop3d.socket"),
                         {"sockets.target.wants/pop3d.socket"})
        # The administrator's step, once TLS is configured.
        self.assertEqual(enable("pop3s.socket"),
                         {"sockets.target.wants/pop3s.socket"})

    def test_sandbox_and_runtime_directory(self):
        units = {n: unit_text(n) for n in UNITS}
        for n in ("pop3d.service", "pop3d@.service"):
            self.assertEqual(unit_values(units[n], "ProtectSystem"),
                             ["strict"], n)
            self.assertEqual(unit_values(units[n], "ReadWritePaths"),
                             ["/var/mail"], n)
        service = units["pop3d.service"]
        rundir = unit_values(service, "RuntimeDirectory")
        self.assertEqual(rundir, ["pop3d"])
        # The pidfile the example suggests is in that directory.
        self.assertEqual(example_pidfile(), "/run/pop3d/pop3d.pid")
        self.assertEqual(os.path.dirname(example_pidfile()),
                         "/run/" + rundir[0])
        # Nothing in the service pulls port 995 in.
        for key in ("Also", "Wants", "Requires", "BindsTo", "Upholds",
                    "Sockets"):
            self.assertNotIn("pop3s.socket", unit_values(service, key), key)
        self.assertEqual(unit_values(units["pop3s.socket"], "WantedBy"),
                         ["sockets.target"])


@unittest.skipIf(why_not(), why_not())
class SystemdCase(Pop3dCase):
    """A booted systemd with pop3d installed and alice's mailbox of two
    messages; self.m is the machine, self.port and self.tls_port the
    ports pop3d.socket and pop3s.socket listen on, self.conf_port the
    one /etc/pop3d.conf names."""

    accept = False

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="pop3d-sd-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.msgs = [message("one", "first\n"), message("two", "second\n")]
        self.port, self.tls_port, self.conf_port = \
            free_port(), free_port(), free_port()
        self.install()
        self.m = Machine(self.dir, self)
        self.addCleanup(self.m.shutdown)
        why = self.m.boot()
        if why:
            self.skipTest(why)
        self.addCleanup(self.dump_log)

    def dump_log(self):
        if os.environ.get("POP3D_IT_LOG"):
            sys.stderr.write("\n--- systemd log (%s) ---\n%s" %
                             (self.id(), self.m.log()))

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def write(self, rel, text, mode=0o644):
        p = self.path(rel)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
        os.chmod(p, mode)

    def install(self):
        units = {n: unit_text(n) for n in
                 ("pop3d.socket", "pop3s.socket", "pop3d.service",
                  "pop3d@.service")}
        for n, text in units.items():
            self.write("units/" + n, text)
        for t in TARGETS:
            self.write("units/%s.target" % t,
                       "[Unit]\nDescription=%s (pop3d test)\n" % t)
        for unit, port in (("pop3d.socket", self.port),
                           ("pop3s.socket", self.tls_port)):
            self.write("units/%s.d/test.conf" % unit,
                       "[Socket]\nListenStream=\n"
                       "ListenStream=127.0.0.1:%d\n" % port)
        if self.accept:
            self.write("units/pop3d.socket.d/accept.conf",
                       "[Socket]\nAccept=yes\n")
        os.makedirs(self.path("sbin"))
        shutil.copy(pop3d_path(), self.path("sbin", "pop3d"))
        os.makedirs(self.path("etc", "pop3d"))
        self.cert, _ = make_cert(self.path("etc", "pop3d"))
        self.write("etc/pop3d/passwd", "alice:%s:%d:%d\n" % (
            make_hash("secret"), UID, GID), 0o600)
        self.write("etc/pop3d.conf", "".join(l + "\n" for l in (
            "# written by tests/integration/test_systemd.py",
            "listen 127.0.0.1:%d" % self.conf_port,
            "listen_tls none",
            "passwd_file /etc/pop3d/passwd",
            "mailbox /var/mail/%u",
            "user nobody",
            "expire never",		# RETR alone deletes nothing
            "tls_cert /etc/pop3d/server.crt",
            "tls_key /etc/pop3d/server.key")))
        # Debian's spool: root:mail 2775, the mailbox its owner's alone.
        mail = self.path("mail")
        os.mkdir(mail)
        os.chown(mail, 0, grp.getgrnam("mail").gr_gid)
        os.chmod(mail, 0o2775)
        with open(self.path("mail", "alice"), "wb") as f:
            f.write(build_mbox(self.msgs))
        os.chown(self.path("mail", "alice"), UID, GID)
        os.chmod(self.path("mail", "alice"), 0o600)

    def mbox(self):
        with open(self.path("mail", "alice"), "rb") as f:
            return f.read()

    def pop(self, port=None, tls=False):
        """A poplib client logged in as alice."""
        port = port or self.port
        if tls:
            ctx = ssl.create_default_context(cafile=self.cert)
            p = poplib.POP3_SSL("127.0.0.1", port, context=ctx,
                                timeout=IO_TIMEOUT)
        else:
            p = poplib.POP3("127.0.0.1", port, timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        p.user("alice")
        p.pass_("secret")
        return p

    def check_session(self, port=None, tls=False):
        """Log in, check the mailbox's contents, QUIT without changes."""
        p = self.pop(port, tls)
        self.assertEqual(p.stat(), (2, sum(len(pop_form(m))
                                           for m in self.msgs)))
        lines = p.retr(2)[1]
        self.assertEqual(b"\r\n".join(lines) + b"\r\n",
                         pop_form(self.msgs[1]))
        self.assertTrue(p.quit().startswith(b"+OK"))

    def check_stls(self):
        """On the plain port: STLS offered, then a login over it."""
        p = poplib.POP3("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        self.assertIn("STLS", p.capa())
        p.stls(ssl.create_default_context(cafile=self.cert))
        p.user("alice")
        p.pass_("secret")
        self.assertEqual(p.stat()[0], 2)
        p.quit()

    def active(self, unit):
        return self.m.show(unit, "ActiveState")

    def assertHealthy(self):
        """No unit failed, and systemd said nothing about the pop3d units
        but that they ended well: no line of theirs it did not understand
        or could not apply (it logs those and goes on)."""
        r = self.m.systemctl("list-units", "--failed", "--plain",
                             "--no-legend")
        self.assertEqual(r.stdout.strip(), b"", self.m.log()[-3000:])
        bad = [l for l in self.m.log().splitlines()
               if UNIT_LINE.match(l) and
               not l.endswith("Deactivated successfully.") and
               "Consumed" not in l]
        self.assertEqual(bad, [], self.m.log()[-3000:])
        self.assertNotIn(harness.SIGSYS_LINE, self.m.log())


class AcceptNoTest(SystemdCase):
    """pop3d.socket + pop3s.socket hand their listening sockets to one
    pop3d.service (Accept=no), as shipped."""

    def start_sockets(self):
        self.m.systemctl("start", "pop3d.socket", "pop3s.socket")
        self.assertEqual(self.active("pop3d.socket"), "active")
        self.assertEqual(self.active("pop3s.socket"), "active")

    def test_plain_and_tls_through_named_sockets(self):
        self.start_sockets()
        self.assertEqual(self.active("pop3d.service"), "inactive",
                         "started by the first connection")
        self.check_session()
        self.assertEqual(self.active("pop3d.service"), "active")
        self.check_session(self.tls_port, tls=True)
        # The plain socket is the plain one: STLS offered, and it works.
        self.check_stls()
        self.assertTrue(wait_for(lambda: "from systemd" in self.m.log()),
                        self.m.log()[-3000:])
        self.assertNotIn(self.conf_port, _listening_ports(),
                         "the config's listen line is ignored")
        self.assertHealthy()

    def test_journal_stream_mail_facility_and_prefixes(self):
        self.start_sockets()
        self.check_session()
        ready = re.compile(r"^<6>pop3d \S+ ready", re.M)
        self.assertTrue(wait_for(lambda: ready.search(self.m.log())),
                        self.m.log()[-3000:])
        self.assertNotRegex(self.m.log(), r"pop3d\[\d+\]: pop3d \S+ ready")
        # The stream's header: identifier, unit, default priority (with
        # the facility), whether to parse "<N>" prefixes.
        head = [h for h in self.m.sink.stream_heads()
                if h[1] == "pop3d.service"]
        self.assertTrue(head, self.m.sink.stream_heads())
        self.assertEqual(head[0][0], "pop3d")
        self.assertEqual(int(head[0][2]), (2 << 3) | 6, "LOG_MAIL|LOG_INFO")
        self.assertEqual(head[0][3], "1")

    def test_sandbox_in_force_and_mail_updated(self):
        self.start_sockets()
        p = self.pop()
        main = self.m.main_pid("pop3d.service")
        self.assertTrue(main, self.m.log()[-3000:])
        # The listener has the unit's capability bounding set, no more.
        text = unit_text("pop3d.service")
        want = 0
        for name in unit_value(text, "CapabilityBoundingSet").split():
            want |= 1 << CAPS[name]
        self.assertEqual(int(status_field(main, "CapBnd")[0], 16), want)
        self.assertEqual(status_field(main, "NoNewPrivs"), ["1"])
        self.assertEqual(status_field(main, "Seccomp"), ["2"],
                         "seccomp filters (SystemCallArchitectures...)")
        mounts = mount_table(main)
        self.assertIn("ro", mounts["/"][2], "ProtectSystem=strict")
        self.assertIn("ro", mounts["/etc"][2])
        self.assertIn("rw", mounts["/var/mail"][2], "ReadWritePaths")
        self.assertIn("systemd-private-", mounts["/tmp"][1], "PrivateTmp")
        self.assertIn("inaccessible", mounts["/home"][1], "ProtectHome")
        self.assertEqual(mounts["/dev"][0], "tmpfs", "PrivateDevices")
        # The logged-in session runs as alice's ids, in the unit's cgroup.
        uids = {pid: status_field(pid, "Uid")
                for pid in self.m.unit_pids("pop3d.service")}
        self.assertIn([str(UID)] * 4, uids.values(), uids)
        # UPDATE under the sandbox: the spool is writable, dotlocks too.
        p.dele(1)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertEqual(self.mbox(), build_mbox(self.msgs[1:]))
        self.assertEqual([n for n in os.listdir(self.path("mail"))
                          if n.endswith(".lock")], [], "no stale dotlock")
        self.assertHealthy()

    def test_reload_sends_sighup(self):
        self.start_sockets()
        p = self.pop()
        self.assertNotIn("LOGIN-DELAY", p.capa())
        p.quit()
        main = self.m.main_pid("pop3d.service")
        with open(self.path("etc", "pop3d.conf"), "a") as f:
            f.write("login_delay 60\n")
        self.m.systemctl("reload", "pop3d.service")
        self.assertTrue(wait_for(lambda: "configuration reloaded" in
                                 self.m.log()), self.m.log()[-3000:])
        p = poplib.POP3("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        self.assertEqual(p.capa().get("LOGIN-DELAY"), ["60"])
        p.quit()
        self.assertEqual(self.m.main_pid("pop3d.service"), main,
                         "reloaded, not restarted")
        self.assertHealthy()

    def test_stop_lets_open_session_finish(self):
        self.start_sockets()
        p = self.pop()
        p.dele(1)
        first = self.m.main_pid("pop3d.service")
        self.m.systemctl("--no-block", "stop", "pop3d.service")
        self.assertTrue(wait_for(lambda: self.active("pop3d.service") ==
                                 "deactivating"),
                        "pop3d waits for its session: " +
                        self.active("pop3d.service"))
        # KillMode=mixed: SIGTERM went to the listener alone; the session
        # goes on and its QUIT still updates the mailbox.
        self.assertEqual(p.stat()[0], 1)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertTrue(wait_for(lambda: self.active("pop3d.service") ==
                                 "inactive"), self.m.log()[-3000:])
        self.assertEqual(self.mbox(), build_mbox(self.msgs[1:]))
        # pop3d ended itself on SIGTERM (exit 0), systemd killed nothing.
        self.assertEqual(self.m.show("pop3d.service", "Result"), "success")
        self.assertEqual(self.m.show("pop3d.service", "ExecMainCode"), "1",
                         "CLD_EXITED")
        self.assertEqual(self.m.show("pop3d.service", "ExecMainStatus"),
                         "0")
        # The sockets stay; the next connection starts pop3d again.
        self.assertEqual(self.active("pop3d.socket"), "active")
        self.msgs = self.msgs[1:]
        p = self.pop()
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        self.assertNotIn(self.m.main_pid("pop3d.service"), (0, first))
        self.assertHealthy()

    def test_service_alone_opens_configured_address(self):
        self.m.systemctl("start", "pop3d.service")
        self.assertTrue(wait_for(lambda: self.conf_port in
                                 _listening_ports()), self.m.log()[-3000:])
        self.check_session(self.conf_port)
        self.assertNotIn(self.port, _listening_ports())
        self.m.systemctl("stop", "pop3d.service")
        self.assertEqual(self.m.show("pop3d.service", "ExecMainStatus"),
                         "0")
        self.assertNotIn(self.conf_port, _listening_ports())
        self.assertHealthy()


    def test_pidfile_in_runtime_directory(self):
        # ProtectSystem=strict leaves /run read-only: the pidfile the
        # example configures goes in the unit's RuntimeDirectory.
        with open(self.path("etc", "pop3d.conf"), "a") as f:
            f.write("pidfile %s\n" % example_pidfile())
        self.start_sockets()
        self.check_session()
        main = self.m.main_pid("pop3d.service")
        self.assertTrue(main, self.m.log()[-3000:])
        pidfile = "/proc/%d/root%s" % (self.m.pid, example_pidfile())
        self.assertTrue(wait_for(lambda: os.path.exists(pidfile)),
                        self.m.log()[-3000:])
        with open(pidfile) as f:
            self.assertEqual(f.read().strip(), str(self.m.ns_pid(main)))
        st = os.stat(os.path.dirname(pidfile))
        self.assertEqual((st.st_uid, stat.S_IMODE(st.st_mode)), (0, 0o755))
        self.m.systemctl("stop", "pop3d.service")
        self.assertEqual(self.m.show("pop3d.service", "Result"), "success")
        self.assertFalse(os.path.exists(os.path.dirname(pidfile)),
                         "the RuntimeDirectory goes with the service")
        self.assertHealthy()

class AcceptYesTest(SystemdCase):
    """pop3d.socket with the README's Accept=yes drop-in: one
    pop3d@.service (`pop3d -i`) per connection."""

    accept = True

    def instances(self):
        r = self.m.systemctl("list-units", "--plain", "--no-legend",
                             "--state=active", "pop3d@*.service")
        return [l.split()[0] for l in r.stdout.decode().splitlines()]

    def test_one_instance_per_connection(self):
        self.m.systemctl("start", "pop3d.socket")
        self.assertEqual(self.m.show("pop3d.socket", "Accept"), "yes")
        p = self.pop()
        self.assertTrue(wait_for(lambda: len(self.instances()) == 1))
        inst = self.instances()[0]
        main = self.m.main_pid(inst)
        self.assertTrue(main, self.m.log()[-3000:])
        # pop3d -i serving alice (self.pop logged in), as its title says.
        with open("/proc/%d/cmdline" % main, "rb") as f:
            self.assertRegex(f.read().split(b"\0")[0],
                             rb"^pop3d: alice 127\.0\.0\.1:\d+$")
        self.assertEqual(status_field(main, "NoNewPrivs"), ["1"])
        # A second connection is a second instance, and the session lock
        # holds across instances.
        q = poplib.POP3("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        self.addCleanup(q.close)
        self.assertTrue(wait_for(lambda: len(self.instances()) == 2))
        q.user("alice")
        with self.assertRaisesRegex(poplib.error_proto, r"\[IN-USE\]"):
            q.pass_("secret")
        p.dele(1)
        self.assertTrue(p.quit().startswith(b"+OK"))
        self.assertTrue(wait_for(lambda: self.instances() == []),
                        self.instances())
        self.assertEqual(self.mbox(), build_mbox(self.msgs[1:]))
        self.msgs = self.msgs[1:]
        p = self.pop()
        self.assertEqual(p.stat()[0], 1)
        p.quit()
        self.assertHealthy()

    def test_syslog_from_the_jail(self):
        # pop3d -i logs to /dev/log.  A failed login is logged by the
        # pre-login process, jailed and under the syscall filter, in the
        # form syslog(3) sends.
        self.m.systemctl("start", "pop3d.socket")
        p = poplib.POP3("127.0.0.1", self.port, timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        p.user("alice")
        with self.assertRaises(poplib.error_proto):
            p.pass_("wrong")
        p.quit()
        failed = re.compile(
            r"^<22>[A-Z][a-z]{2} [ 123]\d \d\d:\d\d:\d\d pop3d\[\d+\]: "
            r"\[[0-9a-f]{8}\] login alice from 127\.0\.0\.1:\d+ \(USER\): "
            r"failed, wrong password$", re.M)
        self.assertTrue(wait_for(lambda: failed.search(self.m.log())),
                        self.m.log()[-3000:])
        self.assertHealthy()

    def test_stls_per_connection(self):
        self.m.systemctl("start", "pop3d.socket")
        self.check_stls()
        self.assertTrue(wait_for(lambda: "TLSv1." in self.m.log()),
                        self.m.log()[-3000:])
        self.assertHealthy()

    def test_pop3s_stays_with_the_daemon(self):
        # Accept=yes can't go with pop3s.socket's Service=: implicit TLS
        # keeps going to pop3d.service, which gets that one socket.
        self.m.systemctl("start", "pop3d.socket", "pop3s.socket")
        self.check_session(self.tls_port, tls=True)
        self.assertEqual(self.active("pop3d.service"), "active")
        self.assertTrue(wait_for(lambda: "1 listening sockets from systemd"
                                 in self.m.log()), self.m.log()[-3000:])
        self.check_session()
        self.assertTrue(wait_for(lambda: self.instances() == []))
        self.assertHealthy()


if __name__ == "__main__":
    unittest.main()
