# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Test harness for pop3d integration tests: temp maildrops, a real daemon.

Every wait is bounded and every process the harness starts is stopped by
its process id (and the process group it leads, which holds the per-connection
children pop3d forks), so a broken daemon fails tests instead of hanging them.
"""

import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

# Bounded waits, in seconds.
START_TIMEOUT = 5.0		# daemon listening after exec
STOP_TIMEOUT = 5.0		# daemon gone after SIGTERM
IO_TIMEOUT = 10.0		# any single socket read
PROC_TIMEOUT = 20.0		# -i, -t, -V, curl runs
IN_USE_WAIT = 3.0		# a just-ended session releasing its lock

IS_ROOT = os.geteuid() == 0
RUN_AS = "nobody"		# the `user` pop3d switches to when we are root

# What the monitor logs when the syscall filter killed a pre-login
# process: no test may cause it unless it sets Pop3d.sigsys_expected.
SIGSYS_LINE = "killed by the syscall filter"


def pop3d_path():
    """The daemon under test: $POP3D, else ./pop3d at the repo root."""
    return os.environ.get("POP3D") or os.path.join(REPO, "pop3d")


def pop3d_version():
    """POP3D_VERSION from include/params.h, or None."""
    try:
        with open(os.path.join(REPO, "include", "params.h")) as f:
            m = re.search(r'#define\s+POP3D_VERSION\s+"([^"]+)"', f.read())
            return m.group(1) if m else None
    except OSError:
        return None


_hash_cache = {}


def make_hash(password):
    """A SHA-512 crypt(3) hash of password, made by `openssl passwd -6`."""
    if password not in _hash_cache:
        out = subprocess.run(["openssl", "passwd", "-6", "-stdin"],
                             input=password.encode() + b"\n",
                             capture_output=True, timeout=PROC_TIMEOUT,
                             check=True)
        _hash_cache[password] = out.stdout.decode().strip()
    return _hash_cache[password]


# ---------------------------------------------------------------- messages

def message(subject, body, sender="sender@example.org",
            date="Mon Jan  6 10:00:00 2025", headers=None, from_line=None):
    """One stored mbox message: From_ line, headers, blank line, body.

    body is bytes or str; a trailing newline is added when missing so the
    message is complete as an MDA writes it.  Returns bytes.
    """
    if isinstance(body, str):
        body = body.encode()
    if body and not body.endswith(b"\n"):
        body += b"\n"
    fl = from_line if from_line is not None else \
        ("From %s %s" % (sender, date)).encode()
    hdr = [b"From: " + sender.encode(),
           b"To: alice@example.org",
           b"Subject: " + subject.encode(),
           b"Date: Mon, 6 Jan 2025 10:00:00 +0000"]
    for h in headers or []:
        hdr.append(h.encode() if isinstance(h, str) else h)
    return fl + b"\n" + b"\n".join(hdr) + b"\n\n" + body


def build_mbox(msgs, sep=b"\n"):
    """Join stored messages as an MDA appends them: each followed by sep."""
    return b"".join(m + sep for m in msgs)


def pop_form(stored):
    """What RETR must deliver for a stored message (From_ line included).

    Drop the From_ line, turn every bare LF into CRLF (CRLF and lone CR stay
    as they are), and end an unterminated last line with CRLF.  This is the
    un-stuffed form; its length is the size LIST must report.
    """
    nl = stored.index(b"\n")
    content = stored[nl + 1:]
    content = re.sub(rb"(?<!\r)\n", b"\r\n", content)
    if content and not content.endswith(b"\r\n"):
        content += b"\r\n"
    return content


def pop_top(stored, n):
    """What TOP msg n must deliver: headers, blank line, n body lines."""
    pop = pop_form(stored)
    end = pop.find(b"\r\n\r\n")
    if end < 0:
        return pop
    head, body = pop[:end + 4], pop[end + 4:]
    lines = body.split(b"\r\n")[:-1]
    return head + b"".join(l + b"\r\n" for l in lines[:n])


def stuff(data):
    """Byte-stuff a CRLF text as it goes on the wire (RFC 1939 section 3)."""
    lines = data.split(b"\r\n")
    out = [b"." + l if l.startswith(b".") else l for l in lines]
    return b"\r\n".join(out)


def unstuff(wire):
    """Undo byte-stuffing of a multi-line body (terminator removed).

    Returns (data, stuffed_count)."""
    lines = wire.split(b"\r\n")
    n = 0
    out = []
    for l in lines:
        if l.startswith(b"."):
            l = l[1:]
            n += 1
        out.append(l)
    return b"\r\n".join(out), n


def default_messages():
    """A varied mailbox exercising the transformation rules."""
    big = b"".join(
        (b"." if i % 7 == 0 else b"") +
        (b"line %06d " % i) + b"x" * 60 + b"\n" for i in range(4000))
    return [
        message("plain", "Hello Alice,\n\nthis is a plain message.\n"),
        message("dots", ".leading dot\n.\n..\n...three\nend\n.\n"),
        message("from in body",
                "an mboxo quoted line follows\n>From the quoted line\n"
                "From a line with no blank before it is body text\n"
                ">>From double quoted\nbye\n"),
        message("eight bit", "caf\xc3\xa9 \xe2\x82\xac na\xefve\n"
                .encode("latin-1")),
        message("headers only", b""),
        message("big", big),
        message("twin", "identical\n"),
        message("twin", "identical\n"),
        message("last", "trailing blank lines follow\n\n\n"),
    ]


# ---------------------------------------------------------------- helpers

def free_port(family=socket.AF_INET, host="127.0.0.1"):
    """A port the kernel considered free a moment ago."""
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.bind((host, 0))
        return s.getsockname()[1]
    finally:
        s.close()


def _listening_ports():
    """Ports in LISTEN state according to /proc/net/tcp{,6}."""
    ports = set()
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(name) as f:
                next(f)
                for line in f:
                    fields = line.split()
                    if fields[3] == "0A":
                        ports.add(int(fields[1].rsplit(":", 1)[1], 16))
        except (OSError, StopIteration):
            pass
    return ports


def make_cert(dirpath, name="server", cn="localhost",
               sans=("DNS:localhost", "IP:127.0.0.1"), rsa=False):
    """A self-signed P-256 (rsa: RSA-2048) certificate and its key, made
    by openssl in dirpath as NAME.crt and NAME.key.  Returns (cert_path,
    key_path)."""
    cert = os.path.join(dirpath, name + ".crt")
    key = os.path.join(dirpath, name + ".key")
    kind = ["rsa:2048"] if rsa else ["ec", "-pkeyopt",
                                     "ec_paramgen_curve:P-256"]
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey"] + kind +
        ["-nodes", "-days", "2", "-subj", "/CN=" + cn, "-addext",
         "subjectAltName=" + ",".join(sans),
         "-keyout", key, "-out", cert],
        capture_output=True, timeout=PROC_TIMEOUT, check=True)
    return cert, key


def tls_conf(cert, key, **more):
    """Config keys for a TLS server with cert/key; more adds keys."""
    conf = {"tls_cert": cert, "tls_key": key}
    conf.update(more)
    return conf


def have_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


def chown_tree(path):
    """Give path (and everything below) to the account pop3d runs as."""
    if not IS_ROOT:
        return
    import pwd
    import grp
    uid = pwd.getpwnam(RUN_AS).pw_uid
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = pwd.getpwnam(RUN_AS).pw_gid
    os.chown(path, uid, gid)
    for root, dirs, files in os.walk(path):
        for n in dirs + files:
            os.lchown(os.path.join(root, n), uid, gid)


class Client:
    """A raw POP3 client over a socket, every read bounded by a timeout."""

    def __init__(self, port, host="127.0.0.1", timeout=IO_TIMEOUT,
                 source=None):
        """source: the local address to connect from (another loopback
        address is another client to the server)."""
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source is not None:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.rbuf = b""

    def close(self):
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def cmd(self, line):
        """Send one command line, return its first reply line."""
        self.send(line.encode() + b"\r\n" if isinstance(line, str)
                  else line + b"\r\n")
        return self.line()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise EOFError("server closed the connection")
        self.rbuf += data

    def line(self):
        """One reply line including its CRLF."""
        while b"\r\n" not in self.rbuf:
            self._fill()
        i = self.rbuf.index(b"\r\n") + 2
        l, self.rbuf = self.rbuf[:i], self.rbuf[i:]
        return l

    def multi(self):
        """The body of a multi-line reply as on the wire, up to but not
        including the terminating ".CRLF" line (ends in CRLF if not empty)."""
        body = b""
        while True:
            l = self.line()
            if l == b".\r\n":
                return body
            body += l

    def read_until_eof(self, limit=IO_TIMEOUT):
        """Everything the server sends until it closes, within limit s."""
        deadline = time.monotonic() + limit
        data, self.rbuf = self.rbuf, b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("server did not close within %.1fs" % limit)
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def login(self, user, password):
        """Greeting, USER, PASS; returns the PASS reply line."""
        self.greeting = self.line()
        r = self.cmd("USER " + user)
        if not r.startswith(b"+OK"):
            return r
        return self.cmd("PASS " + password)


# ---------------------------------------------------------------- the daemon

class Pop3d:
    """A temp directory with config, passwd file and mail dir, and (after
    start()) a running `pop3d -d -f conf`.

    users maps user name to password.  conf is a dict of extra config keys
    (a list value gives the key several times).  Use as a context manager
    or call cleanup().
    """

    def __init__(self, users=None, conf=None, ipv6=False, tls=False):
        self.users = users if users is not None else {"alice": "secret"}
        self.extra = dict(conf or {})
        self.ipv6 = ipv6
        self.tls = tls		# also listen_tls on a loopback port
        self.tls_port = None
        self.dir = tempfile.mkdtemp(prefix="pop3d-it-")
        os.chmod(self.dir, 0o755)
        self.maildir = os.path.join(self.dir, "mail")
        os.mkdir(self.maildir)
        self.passwd = os.path.join(self.dir, "passwd")
        self.conf_path = os.path.join(self.dir, "pop3d.conf")
        self.log_path = os.path.join(self.dir, "pop3d.log")
        self.proc = None
        self.port = None
        self.port6 = None
        self.binary = None	# another daemon than pop3d_path()
        self.env = None		# the daemon's environment, if not ours
        self.sigsys_expected = False
        self.write_passwd()

    # -- files

    def write_passwd(self, extra_lines=()):
        with open(self.passwd, "w") as f:
            for u, p in self.users.items():
                f.write("%s:%s\n" % (u, make_hash(p)))
            for l in extra_lines:
                f.write(l + "\n")
        os.chmod(self.passwd, 0o600)
        chown_tree(self.dir)

    def mbox_path(self, user="alice"):
        return os.path.join(self.maildir, user)

    def write_mbox(self, data, user="alice"):
        """Replace user's mbox with data (bytes, or a list of messages)."""
        if isinstance(data, list):
            data = build_mbox(data)
        with open(self.mbox_path(user), "wb") as f:
            f.write(data)
        os.chmod(self.mbox_path(user), 0o600)
        chown_tree(self.dir)
        return data

    def read_mbox(self, user="alice"):
        with open(self.mbox_path(user), "rb") as f:
            return f.read()

    def append_mbox(self, data, user="alice"):
        """Append as an MDA does: under an fcntl write lock on the file."""
        with open(self.mbox_path(user), "ab") as f:
            fcntl.lockf(f, fcntl.LOCK_EX)
            try:
                f.write(data)
                f.flush()
            finally:
                fcntl.lockf(f, fcntl.LOCK_UN)

    def lock_file_exists(self, user="alice"):
        return os.path.exists(self.mbox_path(user) + ".lock")

    def conf_text(self, port=None, port6=None):
        lines = []
        if port is not None:
            lines.append("listen 127.0.0.1:%d" % port)
        if port6 is not None:
            lines.append("listen [::1]:%d" % port6)
        if self.tls_port is not None:
            lines.append("listen_tls 127.0.0.1:%d" % self.tls_port)
        elif "tls_cert" in self.extra and "listen_tls" not in self.extra:
            # Not the default *:995 a test can't own.
            lines.append("listen_tls none")
        lines.append("passwd_file " + self.passwd)
        lines.append("mailbox " + os.path.join(self.maildir, "%u"))
        if IS_ROOT:
            lines.append("user " + RUN_AS)
        for k, v in self.extra.items():
            for one in (v if isinstance(v, list) else [v]):
                lines.append("%s %s" % (k, one))
        return "# written by tests/integration/harness.py\n" + \
            "\n".join(lines) + "\n"

    def write_conf(self, port=None, port6=None):
        with open(self.conf_path, "w") as f:
            f.write(self.conf_text(port, port6))
        chown_tree(self.dir)
        return self.conf_path

    # -- processes

    def start(self, attempts=3, pass_fds=()):
        """Start the daemon on fresh loopback ports; retry if a port was
        taken meanwhile.  pass_fds: descriptors it inherits, as from a
        careless parent.  Returns self."""
        last = ""
        for _ in range(attempts):
            self.port = free_port()
            self.port6 = free_port(socket.AF_INET6, "::1") \
                if self.ipv6 else None
            self.tls_port = free_port() if self.tls else None
            self.write_conf(self.port, self.port6)
            self._log = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                [self.binary or pop3d_path(), "-d", "-f", self.conf_path],
                stdin=subprocess.DEVNULL, stdout=self._log,
                stderr=self._log, start_new_session=True, env=self.env,
                pass_fds=pass_fds)
            want = {self.port} | ({self.port6} if self.ipv6 else set()) | \
                ({self.tls_port} if self.tls else set())
            if self._wait_listening(want):
                return self
            last = self.log()
            self.stop()
        raise RuntimeError("pop3d did not start listening; log:\n" + last)

    def _wait_listening(self, ports):
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            if ports <= _listening_ports():
                return True
            time.sleep(0.02)
        return False

    def stop(self):
        """SIGTERM the daemon and its process group, wait, then SIGKILL."""
        p, self.proc = self.proc, None
        if p is not None:
            if p.poll() is None:
                self._signal_group(p.pid, signal.SIGTERM)
                try:
                    p.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    pass
            # Children (sessions) may outlive the listener: end them too.
            self._signal_group(p.pid, signal.SIGKILL)
            try:
                p.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                pass
        if getattr(self, "_log", None) is not None:
            self._log.close()
            self._log = None

    @staticmethod
    def _signal_group(pgid, sig):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            pass
        except PermissionError:
            pass

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()

    # -- clients

    def client(self, host="127.0.0.1"):
        return Client(self.port6 if ":" in host else self.port, host)

    def poplib(self, user="alice", password=None, host="127.0.0.1",
               inuse_wait=IN_USE_WAIT):
        """A logged-in poplib.POP3.  A login refused with [IN-USE] is
        retried for inuse_wait seconds: the process of a session that just
        ended may not have released its session lock yet."""
        import poplib
        deadline = time.monotonic() + inuse_wait
        while True:
            p = poplib.POP3(host, self.port6 if ":" in host else self.port,
                            timeout=IO_TIMEOUT)
            try:
                p.user(user)
                p.pass_(password if password is not None
                        else self.users[user])
                return p
            except poplib.error_proto as e:
                p.close()
                if b"[IN-USE]" not in e.args[0] or \
                        time.monotonic() >= deadline:
                    raise
            time.sleep(0.05)

    def login_client(self, user="alice", host="127.0.0.1",
                     inuse_wait=IN_USE_WAIT):
        """A raw Client logged in as user, retrying [IN-USE] like poplib().
        Raises AssertionError when the login fails otherwise."""
        deadline = time.monotonic() + inuse_wait
        while True:
            c = self.client(host)
            r = c.login(user, self.users[user])
            if r.startswith(b"+OK"):
                c.pass_reply = r
                return c
            c.close()
            if b"[IN-USE]" not in r or time.monotonic() >= deadline:
                raise AssertionError("login as %s failed: %r" % (user, r))
            time.sleep(0.05)

    def run(self, args, stdin=b"", timeout=PROC_TIMEOUT):
        """Run pop3d with args (config path not implied); return
        CompletedProcess with bytes stdout/stderr."""
        return subprocess.run([pop3d_path()] + args, input=stdin,
                              capture_output=True, timeout=timeout)

    def inetd(self, stdin, timeout=PROC_TIMEOUT):
        """One `pop3d -i` session fed stdin; returns CompletedProcess."""
        self.write_conf()
        return self.run(["-i", "-f", self.conf_path], stdin, timeout)


def curl(args, timeout=PROC_TIMEOUT):
    """Run curl with a bounded time; returns CompletedProcess (bytes)."""
    return subprocess.run(["curl", "-s", "-S", "--max-time", "10"] + args,
                          capture_output=True, timeout=timeout)


def wait_for(pred, limit=5.0, step=0.05):
    """Poll pred() until it is true or limit seconds have passed (pred is
    called at least once, and once more at the deadline); return its last
    value."""
    deadline = time.monotonic() + limit
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(step)


def system_account(case, prefix, password):
    """A system account (useradd, no home, nologin) with password, for
    the tests of `auth pam'; removed when case's test ends.  Returns its
    name, prefix and this process's id."""
    user = "%s%d" % (prefix, os.getpid() % 100000)
    subprocess.run(["userdel", user], capture_output=True)
    subprocess.run(["useradd", "--no-create-home", "--shell",
                    "/usr/sbin/nologin", user], check=True,
                   capture_output=True)
    case.addCleanup(subprocess.run, ["userdel", user], capture_output=True)
    subprocess.run(["chpasswd"], input=("%s:%s\n" % (user, password)).encode(),
                   check=True, capture_output=True)
    return user


def make_jail():
    """A root-owned 0755 empty directory for `chroot'."""
    d = tempfile.mkdtemp(prefix="pop3d-jail-")
    os.chmod(d, 0o755)
    return d


def session_pids(daemon_pid):
    """The pids of the processes the daemon forked."""
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                stat = f.read()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == daemon_pid:
            pids.append(int(d))
    return pids


def proc_ids(pid):
    """The real, effective, saved and filesystem uids of pid."""
    with open("/proc/%d/status" % pid) as f:
        st = f.read()
    return [int(x) for x in
            re.search(r"^Uid:\s+(.*)$", st, re.M).group(1).split()]


def pop3d_built():
    p = pop3d_path()
    return os.path.isfile(p) and os.access(p, os.X_OK)


def pop3d_tls13():
    """True when the daemon under test allows TLS 1.3: built on mbedTLS 3
    (make check-mbedtls3), where tlskeys.c's default suites name TLS 1.3 ones;
    the 2.28 build speaks TLS 1.2 only."""
    try:
        with open(pop3d_path(), "rb") as f:
            return b"TLS1-3-AES-256-GCM-SHA384" in f.read()
    except OSError:
        return False


# The protocol, as pop3d logs it, that a client allowing any gets.
TLS_NEWEST = "TLSv1.3" if pop3d_tls13() else "TLSv1.2"


def pop3d_sanitized():
    """True when the daemon under test is the AddressSanitizer build of
    make check-asan (which valgrind can't run)."""
    try:
        with open(pop3d_path(), "rb") as f:
            return b"__asan_init" in f.read()
    except OSError:
        return False


# ---------------------------------------------------------------- test base

@unittest.skipUnless(pop3d_built(), "pop3d not built (run make)")
class Pop3dCase(unittest.TestCase):
    """A TestCase with a helper that starts a daemon cleaned up afterwards.

    Set POP3D_IT_LOG=1 to print each daemon's log after its test."""

    def server(self, msgs=None, conf=None, users=None, start=True,
               ipv6=False, tls=False):
        srv = Pop3d(users=users, conf=conf, ipv6=ipv6, tls=tls)
        self.addCleanup(self._cleanup, srv)
        if msgs is not None:
            srv.write_mbox(msgs)
        if start:
            srv.start()
        return srv

    def _cleanup(self, srv):
        srv.stop()
        log = srv.log()
        if os.environ.get("POP3D_IT_LOG"):
            import sys
            sys.stderr.write("\n--- pop3d log (%s) ---\n%s" %
                             (self.id(), log))
        srv.cleanup()
        # Whatever the test checked, a pre-login process must not have
        # made a call the filter forbids on its way.
        if SIGSYS_LINE in log and not srv.sigsys_expected:
            raise AssertionError("the syscall filter killed a pre-login "
                                 "process:\n" + log[-3000:])

    def client(self, srv, host="127.0.0.1"):
        c = srv.client(host)
        self.addCleanup(c.close)
        return c

    def poplib(self, srv, user="alice", password=None, host="127.0.0.1"):
        p = srv.poplib(user, password, host)
        self.addCleanup(p.close)
        return p

    def login_client(self, srv, user="alice", host="127.0.0.1"):
        c = srv.login_client(user, host)
        self.addCleanup(c.close)
        return c

    def assertOK(self, reply, msg=None):
        self.assertTrue(reply.startswith(b"+OK"),
                        msg or "expected +OK, got %r" % reply)

    def assertERR(self, reply, msg=None):
        self.assertTrue(reply.startswith(b"-ERR"),
                        msg or "expected -ERR, got %r" % reply)


# ---------------------------------------------------------------- mail clients
# Shared by the tests that drive real POP3 clients (test_tls_clients.py,
# test_interop.py): what the clients write, and a case with a TLS server.

def lf(data):
    """The CRLF text of a message as a local MDA stores it (LF ends)."""
    return data.replace(b"\r\n", b"\n")


def strip_fields(data, names):
    """data without the header fields named in names (lower case) that
    clients put in front of a message (Received:, Return-Path: ...),
    folded continuation lines included."""
    while True:
        colon = data.find(b":")
        nl = data.find(b"\n")
        if colon < 0 or nl < colon or \
                data[:colon].lower().decode("latin-1") not in names:
            return data
        data = data[nl + 1:]
        while data[:1] in (b" ", b"\t"):
            data = data[data.index(b"\n") + 1:]


def split_mboxrd(data):
    """The messages of an mboxrd file as a client's mbox delivery writes
    them: From_ line dropped, one '>' taken off ">+From " lines, and the
    blank line that separates messages removed."""
    msgs = []
    cur = None
    for line in data.split(b"\n")[:-1] if data.endswith(b"\n") else \
            data.split(b"\n"):
        if line.startswith(b"From "):
            if cur is not None:
                msgs.append(cur)
            cur = []
            continue
        if re.match(rb">+From ", line):
            line = line[1:]
        cur.append(line)
    if cur is not None:
        msgs.append(cur)
    out = []
    for m in msgs:
        if m and m[-1] == b"":
            m = m[:-1]
        out.append(b"".join(l + b"\n" for l in m))
    return out


def maildir_messages(path):
    """The contents of every message file in a Maildir's new/ and cur/."""
    got = []
    for sub in ("new", "cur"):
        d = os.path.join(path, sub)
        if os.path.isdir(d):
            for n in sorted(os.listdir(d)):
                with open(os.path.join(d, n), "rb") as f:
                    got.append(f.read())
    return got


class CertMixin:
    """A self-signed certificate for "localhost", made once per class:
    cls.cert, cls.key; P-256, or RSA-2048 in a class that sets RSA."""

    RSA = False

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="pop3d-certs-")
        cls.cert, cls.key = make_cert(cls.certdir, rsa=cls.RSA)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)


class ClientTlsCase(CertMixin, Pop3dCase):
    """A case whose tests run real clients against a server with TLS on
    (STLS on the plain port, implicit TLS on srv.tls_port) using a
    self-signed certificate for "localhost" made once per class.  work
    is a fresh directory for the client's files (its HOME)."""

    def tls_server(self, msgs, **conf):
        """Start a server holding msgs with TLS and the extra conf keys."""
        srv = self.server(msgs, start=False, tls=True)
        crt, key = (os.path.join(srv.dir, n) for n in ("s.crt", "s.key"))
        shutil.copy(self.cert, crt)
        shutil.copy(self.key, key)
        srv.extra.update(tls_conf(crt, key, **conf))
        chown_tree(srv.dir)
        return srv.start()

    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="pop3d-client-")
        self.addCleanup(shutil.rmtree, self.work, True)

    def run_client(self, args, env=None, stdin=b"", ok=(0,)):
        """Run a client in work with HOME=work; fail the test (with its
        output and the daemon's log) unless it exits with a code in ok."""
        e = dict(os.environ, HOME=self.work)
        e.update(env or {})
        r = subprocess.run(args, input=stdin, capture_output=True, env=e,
                           timeout=PROC_TIMEOUT, cwd=self.work)
        if r.returncode not in ok:
            srv = getattr(self, "srv", None)
            self.fail("%s: exit %d\n%s\n%s\nlog:\n%s" % (
                args[0], r.returncode, r.stdout.decode("latin-1")[-2000:],
                r.stderr.decode("latin-1")[-2000:],
                srv.log()[-2000:] if srv else ""))
        return r

    def assertTlsLogged(self, n=1):
        self.assertGreaterEqual(self.srv.log().count(": TLS %s " %
                                                     TLS_NEWEST), n,
                                self.srv.log())
