#!/usr/bin/env python3
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Golden transcripts: run `pop3d -i` on each tests/transcripts/NAME.in and
compare what it writes, byte for byte, with NAME.out.

    python3 tests/transcripts/run.py [NAME ...]     check (all by default)
    TRANSCRIPTS_UPDATE=1 python3 tests/transcripts/run.py [NAME ...]
                                                    write .out and .mbox-after
    python3 tests/transcripts/run.py --show NAME    the session as a dialogue
                                                    (C: and S: lines)

NAME.in holds the client's side of one session:

  - lines starting with '#' are comments, dropped;
  - lines starting with '#:' are directives to this runner (below);
  - blank lines are dropped;
  - every other line is sent with CRLF after it, once its escapes are
    replaced: \\r \\n \\t \\0 \\\\ \\xHH, \\{N*TEXT} (TEXT N times, for long
    lines), \\{apop:SECRET} (the APOP digest of the greeting's timestamp and
    SECRET) and \\c (only at the end of a line: send no CRLF, so "NOOP\\n\\c"
    ends with a bare LF and "\\r\\n\\c" is an empty command line).  A blank
    at the end of a line must be written \\x20 (editors drop them).

The whole input goes to pop3d at once, right after the greeting (POP3
allows pipelining, and pop3d answers every line in order), then stdin is
closed.  pop3d -i on a pipe counts as a loopback client (plaintext
logins allowed by default) and does not see a closed stdin as a hang-up
while it holds back a failed login's answer, so the replies can't depend
on timing.

Directives:

  #: mailbox USER FILE   FILE from mail/ is USER's mailbox (a copy)
  #: conf KEY VALUE      a line for the session's pop3d.conf
  #: tls                 a fresh self-signed certificate as tls_cert and
                         tls_key (STLS is offered)
  #: in-use USER         hold USER's session lock (.USER.pop3d-session) as
                         another session would, while this one runs
  #: touch NAME          make the empty file NAME in the spool (owned by
                         the user sessions run as), e.g. a login time

Each session gets a fresh temporary spool: passwd and apop from this
directory, the mailboxes named, and a pop3d.conf with `mailbox
SPOOL/%u`, `auth_fail_delay_max 1` (the shortest wait after a failed
login; it can't be turned off) and, when run as root, `user nobody`, the
account sessions run as (passwd has no uid:gid), which then owns the
spool.  Nothing in this directory is ever written to by a session.

What pop3d writes is compared with NAME.out after normalising the one
value that changes from run to run, the greeting's APOP timestamp, which
becomes <PID.RANDOM@HOST>, and the version after "IMPLEMENTATION pop3d-",
which becomes VERSION (so that a release needs no new .out files).  Every mailbox named is then compared with NAME.mbox-after, or,
when there is none, with its fixture: unchanged.  (NAME.USER.mbox-after
when a transcript names more than one mailbox.)

Independently of the golden files, each reply is checked against the
protocol's framing (every line ends in CRLF; a reply line is at most 512
octets; a reply starts "+OK", "-ERR" or "+ "; a RETR's "+OK N octets"
matches the message that follows), so a wrong reply can't be blessed by
regenerating the .out files; nor can a crash after the last reply: pop3d
must not end by a signal.
"""

import difflib
import fcntl
import grp
import hashlib
import os
import pwd
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
MAIL = os.path.join(HERE, "mail")

IS_ROOT = os.geteuid() == 0
RUN_AS = "nobody"		# the `user` of the config when run as root
TIMEOUT = 60.0			# seconds for one whole session
REPLY_MAX = 512			# RFC 2449 section 4, with the CRLF

STAMP_RE = re.compile(rb"<[0-9]+\.[0-9a-f]+@[^>\s]*>")
VERSION_RE = re.compile(rb"(IMPLEMENTATION pop3d-)[^\r\n]*")


class TranscriptError(Exception):
    """A transcript file this runner can't use (not a pop3d failure)."""


def pop3d_path():
    """The daemon under test: $POP3D, else ./pop3d at the repo root."""
    return os.environ.get("POP3D") or os.path.join(REPO, "pop3d")


def names():
    """Every transcript, in order: the NAME of each NAME.in."""
    return sorted(f[:-3] for f in os.listdir(HERE) if f.endswith(".in"))


# ---------------------------------------------------------------- .in files

ESCAPE_RE = re.compile(r"\\(x[0-9A-Fa-f]{2}|\{[^}]*\}|.)")
SIMPLE = {"r": b"\r", "n": b"\n", "t": b"\t", "0": b"\0", "\\": b"\\"}


class Line:
    """One input line: its parts are bytes or ("apop", secret)."""

    def __init__(self, parts, lineno):
        self.parts = parts
        self.lineno = lineno

    def render(self, stamp):
        out = b""
        for p in self.parts:
            if isinstance(p, bytes):
                out += p
            elif stamp is None:
                raise TranscriptError("line %d: \\{apop:...} but the "
                                      "greeting has no timestamp"
                                      % self.lineno)
            else:
                out += hashlib.md5(stamp + p[1]).hexdigest().encode()
        return out


def parse_line(text, lineno):
    parts = []
    pos = 0
    crlf = True
    for m in ESCAPE_RE.finditer(text):
        parts.append(text[pos:m.start()].encode("utf-8"))
        pos = m.end()
        e = m.group(1)
        if e in SIMPLE:
            parts.append(SIMPLE[e])
        elif e[0] == "x":
            parts.append(bytes([int(e[1:], 16)]))
        elif e == "c" and m.end() == len(text):
            crlf = False
        elif e.startswith("{apop:") and e.endswith("}"):
            parts.append(("apop", e[6:-1].encode("utf-8")))
        elif re.fullmatch(r"\{[0-9]+\*.+\}", e):
            n, rep = e[1:-1].split("*", 1)
            parts.append(rep.encode("utf-8") * int(n))
        else:
            raise TranscriptError("line %d: unknown escape \\%s"
                                  % (lineno, e))
    parts.append(text[pos:].encode("utf-8"))
    if crlf:
        parts.append(b"\r\n")
    return Line([p for p in parts if p != b""], lineno)


def parse_in(path):
    """(directives as lists of words, input Lines) of one .in file."""
    directives, lines = [], []
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for lineno, raw in enumerate(text.split("\n"), 1):
        if raw.startswith("#:"):
            words = raw[2:].split()
            if words:
                directives.append(words)
            continue
        if raw.startswith("#") or raw.strip() == "":
            continue
        if raw != raw.rstrip():
            raise TranscriptError("%s:%d: a blank at the end of a line: "
                                  "write it as \\x20" % (path, lineno))
        lines.append(parse_line(raw, lineno))
    return directives, lines


# ---------------------------------------------------------------- the spool

def session_ids():
    """(uid, gid) that owns the spool: what sessions run as."""
    if not IS_ROOT:
        return os.getuid(), os.getgid()
    pw = pwd.getpwnam(RUN_AS)
    try:
        gid = grp.getgrnam("nogroup").gr_gid
    except KeyError:
        gid = pw.pw_gid
    return pw.pw_uid, gid


def make_cert(tmp):
    """A self-signed P-256 certificate and key for localhost."""
    cert = os.path.join(tmp, "server.crt")
    key = os.path.join(tmp, "server.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key,
                    "-out", cert], capture_output=True, check=True,
                   timeout=TIMEOUT)
    return cert, key


class Setup:
    """A temporary spool and config for one transcript's directives."""

    def __init__(self, directives):
        self.tmp = tempfile.mkdtemp(prefix="pop3d-transcript-")
        self.mailboxes = []	# (user, fixture name)
        self.locks = []		# open files holding session locks
        try:
            self._make(directives)
        except BaseException:
            self.cleanup()
            raise

    def _make(self, directives):
        os.chmod(self.tmp, 0o755)
        self.spool = os.path.join(self.tmp, "spool")
        os.mkdir(self.spool)
        uid, gid = session_ids()
        for name in ("passwd", "apop"):
            shutil.copy(os.path.join(HERE, name), self.tmp)
            os.chmod(os.path.join(self.tmp, name), 0o600)
        conf = ["passwd_file " + os.path.join(self.tmp, "passwd"),
                "apop_file " + os.path.join(self.tmp, "apop"),
                "mailbox " + os.path.join(self.spool, "%u"),
                "auth_fail_delay_max 1"]
        if IS_ROOT:
            conf.append("user " + RUN_AS)
        owned = [self.spool]
        in_use = []
        for d in directives:
            kind, args = d[0], d[1:]
            if kind == "mailbox" and len(args) == 2:
                dst = os.path.join(self.spool, args[0])
                shutil.copy(os.path.join(MAIL, args[1]), dst)
                os.chmod(dst, 0o600)
                owned.append(dst)
                self.mailboxes.append((args[0], args[1]))
            elif kind == "conf" and len(args) >= 2:
                conf.append(" ".join(args))
            elif kind == "tls" and not args:
                cert, key = make_cert(self.tmp)
                conf += ["tls_cert " + cert, "tls_key " + key]
            elif kind == "touch" and len(args) == 1:
                path = os.path.join(self.spool, args[0])
                open(path, "wb").close()
                os.chmod(path, 0o600)
                owned.append(path)
            elif kind == "in-use" and len(args) == 1:
                path = os.path.join(self.spool, ".%s.pop3d-session" %
                                    args[0])
                open(path, "wb").close()
                os.chmod(path, 0o600)
                owned.append(path)
                in_use.append(path)
            else:
                raise TranscriptError("bad directive: #: " + " ".join(d))
        for path in owned:
            os.chown(path, uid, gid)
        for path in in_use:
            f = open(path, "r+b")
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            self.locks.append(f)
        self.conf = os.path.join(self.tmp, "pop3d.conf")
        with open(self.conf, "w") as f:
            f.write("# a transcript's config (tests/transcripts/run.py)\n" +
                    "\n".join(conf) + "\n")

    def mailbox_bytes(self, user):
        try:
            with open(os.path.join(self.spool, user), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def cleanup(self):
        for f in self.locks:
            f.close()
        shutil.rmtree(self.tmp, ignore_errors=True)


# ---------------------------------------------------------------- a session

def read_line(fd, buf, deadline):
    """Read from fd until buf holds a CRLF; returns (line, rest)."""
    while b"\r\n" not in buf:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            raise TimeoutError("no greeting within %.0f s" % TIMEOUT)
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        buf += chunk
    i = buf.find(b"\r\n")
    if i < 0:
        return buf, b""
    return buf[:i + 2], buf[i + 2:]


def run_session(setup, lines):
    """Run one pop3d -i session: (input sent, raw output, stderr, exit
    status)."""
    deadline = time.monotonic() + TIMEOUT
    proc = subprocess.Popen([pop3d_path(), "-i", "-f", setup.conf],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    try:
        greeting, rest = read_line(proc.stdout.fileno(), b"", deadline)
        m = STAMP_RE.search(greeting)
        data = b"".join(l.render(m.group(0) if m else None) for l in lines)
        out, err = proc.communicate(data, timeout=max(1.0, deadline -
                                                      time.monotonic()))
    except BaseException:
        proc.kill()
        proc.communicate()
        raise
    return data, greeting + rest + out, err, proc.returncode


def normalise(out):
    first, sep, rest = out.partition(b"\r\n")
    first = STAMP_RE.sub(b"<PID.RANDOM@HOST>", first)
    return first + sep + VERSION_RE.sub(rb"\1VERSION", rest)


# ---------------------------------------------------------------- checking

MULTI_ALWAYS = {b"CAPA", b"RETR", b"TOP"}
MULTI_NO_ARG = {b"LIST", b"UIDL", b"AUTH"}


def is_multi(cmd):
    """Whether a "+OK" to this command line starts a multi-line reply."""
    words = cmd.rstrip(b"\r\n").split(b" ")
    verb = words[0].upper()
    return verb in MULTI_ALWAYS or (verb in MULTI_NO_ARG and len(words) == 1)


def dialogue(data, out):
    """Pair the command lines of data with the replies in out, the way a
    client reads them.  Returns (steps, problems): steps is a list of
    (command or None for the greeting, [reply lines]); problems lists
    what breaks POP3's framing."""
    problems = []
    lines = out.split(b"\r\n")
    tail = lines.pop()		# after the last CRLF: must be empty
    if tail:
        problems.append("output ends without CRLF: %r" % tail[-80:])
    for l in lines:
        if b"\n" in l or b"\r" in l:
            problems.append("a bare LF or CR in a reply: %r" % l[:80])
    cmds = data.split(b"\n")
    if cmds and cmds[-1] == b"":
        cmds.pop()
    cmds = [c + b"\n" for c in cmds]
    steps = []
    i = 0

    def take_reply(cmd):
        nonlocal i
        first = lines[i]
        i += 1
        reply = [first]
        if len(first) + 2 > REPLY_MAX:
            problems.append("reply line over %d octets" % REPLY_MAX)
        if not (first.startswith(b"+OK") or first.startswith(b"-ERR") or
                first.startswith(b"+ ")):
            problems.append("not a reply line: %r" % first[:80])
        if first.startswith(b"+OK") and cmd is not None and is_multi(cmd):
            while i < len(lines) and lines[i] != b".":
                reply.append(lines[i])
                i += 1
            if i == len(lines):
                problems.append("multi-line reply without its end")
            else:
                reply.append(lines[i])
                i += 1
            m = re.match(rb"\+OK ([0-9]+) octets", first)
            if m and cmd.upper().startswith(b"RETR"):
                body = [l[1:] if l.startswith(b".") else l
                        for l in reply[1:-1]]
                size = sum(len(l) + 2 for l in body)
                if size != int(m.group(1)):
                    problems.append("RETR said %s octets and sent %d" %
                                    (m.group(1).decode(), size))
        return reply

    if lines:
        steps.append((None, take_reply(None)))
    sasl = False
    for cmd in cmds:
        if i >= len(lines):
            steps.append((cmd, []))	# no reply: the session had ended
            continue
        reply = take_reply(None if sasl else cmd)
        sasl = reply[0].startswith(b"+ ")
        steps.append((cmd, reply))
    if i < len(lines):
        problems.append("%d reply lines more than the commands asked for"
                        % (len(lines) - i))
    return steps, problems


def show(steps):
    """The dialogue as text, C: for the client and S: for pop3d."""
    def text(b):
        t = repr(b)[2:-1].replace("\\'", "'")
        # Long runs of one character as the .in files write them.
        return re.sub(r"(.)\1{15,}", lambda m: "\\{%d*%s}" % (
            len(m.group(0)), m.group(1)), t)
    out = []
    for cmd, reply in steps:
        if cmd is not None:
            end = cmd.endswith(b"\r\n")
            out.append("C: " + text(cmd[:-2] if end else cmd) +
                       ("" if end else "   (no CRLF)"))
            if not reply:
                out.append("   (no reply)")
        out += ["S: " + text(l) for l in reply]
    return "\n".join(out) + "\n"


def udiff(want, got, name):
    """A unified diff of two byte strings, line by line, CRs shown."""
    def lines(b):
        return [repr(l)[2:-1] + "\n" for l in b.splitlines(True)]
    return "".join(difflib.unified_diff(lines(want), lines(got),
                                        name + " (expected)",
                                        name + " (pop3d)"))


def read_or_none(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        return None


def after_path(name, user, several):
    base = os.path.join(HERE, name)
    return base + (".%s" % user if several else "") + ".mbox-after"


def check(name, update=False):
    """Run transcript NAME.  Returns a list of failure texts (empty: it
    passed); with update, writes NAME.out and the .mbox-after files
    instead of comparing with them (framing problems still fail)."""
    directives, lines = parse_in(os.path.join(HERE, name + ".in"))
    setup = Setup(directives)
    try:
        data, raw, err, status = run_session(setup, lines)
        after = {u: setup.mailbox_bytes(u) for u, _ in setup.mailboxes}
    finally:
        setup.cleanup()
    out = normalise(raw)
    _, problems = dialogue(data, out)
    fails = ["%s: %s" % (name, p) for p in problems]
    if status < 0:
        fails.append("%s: pop3d was killed by signal %d" % (name, -status))
    several = len(setup.mailboxes) > 1
    out_path = os.path.join(HERE, name + ".out")
    if update:
        with open(out_path, "wb") as f:
            f.write(out)
    else:
        want = read_or_none(out_path)
        if want is None:
            fails.append("%s: no %s.out (TRANSCRIPTS_UPDATE=1 makes it)"
                         % (name, name))
        elif want != out:
            fails.append("%s: the replies differ from %s.out:\n%s" %
                         (name, name, udiff(want, out, name + ".out")))
    for user, fixture in setup.mailboxes:
        path = after_path(name, user, several)
        orig = read_or_none(os.path.join(MAIL, fixture))
        got = after[user]
        if update:
            if got == orig and os.path.exists(path):
                os.unlink(path)
            elif got != orig:
                with open(path, "wb") as f:
                    f.write(got if got is not None else b"")
            continue
        want = read_or_none(path)
        if want is None:
            want, what = orig, "unchanged " + fixture
        else:
            what = os.path.basename(path)
        if got != want:
            fails.append("%s: %s's mailbox after the session is not %s:\n%s"
                         % (name, user, what,
                            udiff(want, got or b"", user + "'s mailbox")))
    if fails and err:
        fails.append("%s: pop3d's stderr (exit %s):\n%s" %
                     (name, status, err.decode("utf-8", "replace")))
    return fails


def main(argv):
    update = os.environ.get("TRANSCRIPTS_UPDATE") == "1"
    if argv[:1] == ["--show"]:
        for name in argv[1:]:
            directives, lines = parse_in(os.path.join(HERE, name + ".in"))
            setup = Setup(directives)
            try:
                data, raw, _, _ = run_session(setup, lines)
            finally:
                setup.cleanup()
            steps, problems = dialogue(data, normalise(raw))
            sys.stdout.write(show(steps))
            for p in problems:
                print("framing problem:", p)
        return 0
    todo = argv or names()
    failed = 0
    for name in todo:
        if name.endswith(".in"):
            name = os.path.basename(name)[:-3]
        fails = check(name, update)
        print("%-40s %s" % (name, "FAILED" if fails else
                            ("written" if update else "ok")))
        for f in fails:
            print(f)
        failed += bool(fails)
    print("%d transcripts, %d failed" % (len(todo), failed))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
