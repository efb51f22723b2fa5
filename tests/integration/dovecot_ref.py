# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Dovecot as a reference reader of mbox files, for the integration tests.

dovecot_read(mbox) answers: which messages would Dovecot serve over POP3
for this mailbox content, with what LIST sizes and what RETR bytes?  Tests
compare pop3d's reading with it.  dovecot_session() shows the raw replies
of any commands, so a test can see exactly what went on the wire.

Dovecot is never installed: its Debian packages (dovecot-core,
dovecot-pop3d) are fetched with `apt-get download` into CACHE/debs and
unpacked with `dpkg-deb -x` into CACHE/root, once (`make clean` removes
CACHE).  Each session runs Dovecot's pop3 process pre-authenticated on
its stdin and stdout, on a copy of the mailbox in a fresh temporary
directory, with a config written for it (write_config): mbox with its
indexes in memory, fcntl locks only, everything under the temporary
directory.  Dovecot reads its config through doveconf, and pop3 would run
the system's /usr/bin/doveconf, so the unpacked doveconf starts pop3
itself: `doveconf -c CONF -f service=pop3 -m pop3 -e .../pop3` passes
the settings in the environment.  The unpacked programs find their
libraries through LD_LIBRARY_PATH (their RUNPATH is /usr/lib/dovecot).

Dovecot refuses mail access as root, so as root the session runs as
`nobody` (mail_uid), which then owns the temporary directory; otherwise
as the current user.  Nothing is written outside the temporary directory
and CACHE.  When the packages can't be had, unavailable() says why, and
tests raise unittest.SkipTest with that.
"""

import os
import pwd
import select
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import debfetch  # noqa: E402
from harness import unstuff  # noqa: E402

CACHE = os.path.join(HERE, ".dovecot")
PACKAGES = ("dovecot-core", "dovecot-pop3d")

# Bounded waits, in seconds.
FETCH_TIMEOUT = 180.0		# apt-get download of both packages (6 MB)
SESSION_TIMEOUT = 20.0		# one whole pop3 session, start to exit

# pop3d's mbox formats this reference stands for.  Dovecot has one mbox
# reader: From_ lines split messages (a right Content-Length takes
# precedence) and ">From " lines are served as stored, so only pop3d's
# mboxo reading is comparable.
FORMATS = ("mboxo",)

# Commands whose +OK reply is multi-line (RFC 1939, RFC 2449 for CAPA).
MULTILINE = ("CAPA", "RETR", "TOP")
MULTILINE_NOARG = ("LIST", "UIDL")

_state = {}


class DovecotError(Exception):
    """Dovecot did not serve the mailbox; .session holds what it did."""

    def __init__(self, what, session):
        super().__init__("%s: %r\nlog:\n%s" % (what, session.replies,
                                               session.log))
        self.session = session


class Session:
    """The outcome of one pop3 run: the raw reply of each command sent
    (b"" for commands after Dovecot hung up), its log (stderr), and the
    mailbox file as Dovecot left it (at QUIT it writes its X-IMAPbase,
    X-UID and Status headers into the copy)."""

    def __init__(self, replies, log, mbox_after):
        self.replies = replies
        self.log = log
        self.mbox_after = mbox_after


# ------------------------------------------------------------ the packages

def unavailable():
    """None when Dovecot can be run, else the reason it can't (for
    unittest.SkipTest).  Fetches and unpacks the packages on first use;
    the answer is kept for the rest of the process."""
    if "why" not in _state:
        why = debfetch.fetch(CACHE, PACKAGES, FETCH_TIMEOUT)
        if why is None:
            for p in (_pop3(), _doveconf()):
                if not os.access(p, os.X_OK):
                    why = "not in the packages: " + p
        _state["why"] = why and "Dovecot can't be had (%s)" % why
    return _state["why"]


def require():
    """Raise unittest.SkipTest unless Dovecot can be run."""
    why = unavailable()
    if why:
        raise unittest.SkipTest(why)


def version():
    """The Debian version of the dovecot-core package in use, or None."""
    deb = debfetch.cached_debs(CACHE, PACKAGES)[0]
    return deb and os.path.basename(deb).split("_")[1].replace("%3a", ":")


def _root():
    return os.path.join(CACHE, "root")


def _pop3():
    return os.path.join(_root(), "usr/lib/dovecot/pop3")


def _doveconf():
    return os.path.join(_root(), "usr/bin/doveconf")


# ------------------------------------------------------------ one session

def _mail_user():
    """(name, uid, gid) the session reads mail as: Dovecot refuses root."""
    if os.geteuid() == 0:
        pw = pwd.getpwnam("nobody")
    else:
        pw = pwd.getpwuid(os.geteuid())
    return pw.pw_name, pw.pw_uid, pw.pw_gid


def write_config(path, tmp, name, uid, gid):
    """The whole Dovecot config of a session in tmp, reading mail as
    user name, uid and gid.  Settings left out keep Dovecot's defaults (lazy mbox
    writes, mbox_dirty_syncs among them)."""
    with open(path, "w") as f:
        f.write("""\
# dovecot_ref: one pre-authenticated pop3 session on the inbox here.
# Indexes in memory only: nothing is kept between sessions.
mail_location = mbox:{t}/mail:INBOX={t}/inbox:INDEX=MEMORY
# No userdb: the user is given here.  1, not the default 500, lets a
# system account run the tests; Dovecot refuses 0 whatever this says.
mail_uid = {uid}
mail_gid = {gid}
first_valid_uid = 1
# Sockets and state here, not in /run/dovecot or /var/lib/dovecot;
# users that exist, so that `doveconf -n -c` on this file passes.
base_dir = {t}/run
state_dir = {t}/state
default_login_user = {name}
default_internal_user = {name}
ssl = no
# No dotlock: nothing to create beside the mailbox.
mbox_read_locks = fcntl
mbox_write_locks = fcntl
""".format(t=tmp, name=name, uid=uid, gid=gid))


def _expects_list(cmd, status):
    """Whether the reply to cmd, whose first line is status, goes on to a
    multi-line body."""
    if not status.startswith(b"+OK"):
        return False
    words = cmd.split()
    verb = words[0].upper() if words else ""
    return verb in MULTILINE or (verb in MULTILINE_NOARG and len(words) == 1)


class _Reader:
    """Replies from Dovecot's stdout, read against one deadline."""

    def __init__(self, fd, deadline):
        self.fd = fd
        self.deadline = deadline
        self.buf = b""
        self.eof = False

    def _more(self):
        left = self.deadline - time.monotonic()
        if left <= 0 or not select.select([self.fd], [], [], left)[0]:
            raise TimeoutError("Dovecot did not answer in time")
        chunk = os.read(self.fd, 65536)
        self.buf += chunk
        self.eof = not chunk

    def until(self, marker, start):
        """Read until marker occurs at or after start; the end of it, or
        None when Dovecot hung up first."""
        while True:
            i = self.buf.find(marker, start)
            if i >= 0:
                return i + len(marker)
            if self.eof:
                return None
            self._more()

    def reply(self, cmd):
        """The raw bytes of the reply to cmd, terminator included; a
        partial reply (or b"") when Dovecot hung up."""
        end = self.until(b"\r\n", 0)
        if end is not None and _expects_list(cmd, self.buf[:end]):
            end = self.until(b"\r\n.\r\n", end - 2)
        if end is None:
            end = len(self.buf)
        out, self.buf = self.buf[:end], self.buf[end:]
        return out


def _talk(argv, env, next_cmd):
    """Start argv and send commands one at a time, each after the reply
    to the previous one: next_cmd(replies so far) gives the next, None to
    stop.  Returns (replies, stderr text)."""
    deadline = time.monotonic() + SESSION_TIMEOUT
    with tempfile.TemporaryFile() as err:
        p = subprocess.Popen(argv, env=env, stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=err)
        replies = []
        try:
            rd = _Reader(p.stdout.fileno(), deadline)
            for cmd in iter(lambda: next_cmd(replies), None):
                if rd.eof and not rd.buf:
                    replies.append(b"")
                    continue
                try:
                    p.stdin.write(cmd.encode() + b"\r\n")
                    p.stdin.flush()
                except BrokenPipeError:
                    pass	# what it said before going is still read
                replies.append(rd.reply(cmd))
            try:
                p.stdin.close()
            except BrokenPipeError:
                pass
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        err.seek(0)
        return replies, err.read().decode(errors="replace")


def dovecot_session(mbox_bytes, commands):
    """Run Dovecot's pop3 on a mailbox holding mbox_bytes, send commands
    (strings without line ends) one by one, and return a Session.
    commands is a list, or a function given the replies so far that
    returns the next command or None.  There is no greeting: a
    pre-authenticated pop3 starts in TRANSACTION state.  Raises
    TimeoutError past SESSION_TIMEOUT; call require() first."""
    why = unavailable()
    if why:
        raise RuntimeError(why)
    name, uid, gid = _mail_user()
    tmp = tempfile.mkdtemp(prefix="dovecot-ref-")
    try:
        conf = os.path.join(tmp, "dovecot.conf")
        write_config(conf, tmp, name, uid, gid)
        inbox = os.path.join(tmp, "inbox")
        with open(inbox, "wb") as f:
            f.write(mbox_bytes)
        if os.geteuid() == 0:
            os.chown(tmp, uid, gid)
            os.chown(inbox, uid, gid)
        env = {"USER": name, "HOME": tmp, "PATH": "/usr/bin:/bin",
               "LD_LIBRARY_PATH": os.path.join(_root(), "usr/lib/dovecot")}
        argv = [_doveconf(), "-c", conf, "-f", "service=pop3", "-m", "pop3",
                "-e", _pop3()]
        if callable(commands):
            next_cmd = commands
        else:
            def next_cmd(replies):
                n = len(replies)
                return commands[n] if n < len(commands) else None
        replies, log = _talk(argv, env, next_cmd)
        with open(inbox, "rb") as f:
            after = f.read()
        return Session(replies, log, after)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def body(reply):
    """The data of a multi-line reply: status line and terminator cut,
    dot-stuffing undone."""
    start = reply.index(b"\r\n") + 2
    if not reply.endswith(b".\r\n"):
        raise ValueError("not a complete multi-line reply: %r" % reply)
    return unstuff(reply[start:-3])[0]


def dovecot_read(mbox_bytes, fmt="mboxo"):
    """The messages Dovecot serves for mbox_bytes, in order: a list of
    (LIST size, RETR data) with the dot-stuffing undone.  fmt is the
    pop3d mbox_format the result stands for (see FORMATS).  Raises
    DovecotError when Dovecot refuses the mailbox or a command."""
    if fmt not in FORMATS:
        raise ValueError("Dovecot has no %s reader" % fmt)
    sizes = []

    def next_cmd(replies):
        n = len(replies)
        if n == 0:
            return "LIST"
        if not replies[-1].startswith(b"+OK"):
            return None		# refused: reported below
        if n == 1:
            sizes.extend(int(l.split()[1])
                         for l in body(replies[0]).splitlines())
        if n <= len(sizes):
            return "RETR %d" % n
        return "QUIT" if n == len(sizes) + 1 else None

    s = dovecot_session(mbox_bytes, next_cmd)
    if len(s.replies) != len(sizes) + 2 or \
            not s.replies[-1].startswith(b"+OK"):
        raise DovecotError("LIST, RETR or QUIT", s)
    return [(size, body(r)) for size, r in zip(sizes, s.replies[1:-1])]


def dovecot_retr_raw(mbox_bytes, msn=1):
    """The bytes Dovecot puts on the wire for RETR msn, status line and
    terminator included."""
    return dovecot_session(mbox_bytes, ["RETR %d" % msn, "QUIT"]).replies[0]


# ------------------------------------------------------------ the cases

# Mailbox contents that mbox readers may read differently, by short name,
# for tests that compare pop3d with Dovecot.  test_dovecot_ref.py records
# what Dovecot serves for each.
_F1 = b"From a@b Mon Jan  1 00:00:00 2024\n"
_F2 = b"From c@d Mon Jan  1 00:00:01 2024\n"
_CL_BODY = b"one\n\nFrom x@y Mon Jan  1 00:00:02 2024\nstill one\n"


def _second_from(from_line):
    """A message whose body has from_line after a blank line, followed by
    what would be a second message's header and body."""
    return (_F1 + b"Subject: 1\n\none\n\n" + from_line +
            b"\nSubject: 2\n\ntwo\n\n")


EDGE_CASES = {
    # Two ordinary messages, a line to stuff in the second.
    "plain": _F1 + b"Subject: 1\n\none\n\n" + _F2 +
    b"Subject: 2\n\n.two\n\n",
    # No blank line between a message and the next From_ line (procmail).
    "no_blank_before_from": _F1 + b"Subject: 1\n\none\n" + _F2 +
    b"Subject: 2\n\ntwo\n\n",
    # "From " starting a body line after a blank line, with no date.
    "from_in_body": _F1 + b"Subject: 1\n\none\n\n"
    b"From here on, we go\nfurther\n\n",
    # From_ lines after a blank line, dates in other forms or none.
    "from_tz_numeric": _second_from(
        b"From a@b Mon Jan  1 00:00:00 2024 +0100"),
    "from_tz_name": _second_from(b"From a@b Mon Jan  1 00:00:00 CET 2024"),
    "from_remote": _second_from(
        b"From a@b Mon Jan  1 00:00:00 2024 remote from host"),
    "from_year_2digit": _second_from(b"From a@b Mon Jan  1 00:00:00 24"),
    "from_no_seconds": _second_from(b"From a@b Mon Jan  1 00:00 2024"),
    "from_not_a_date": _second_from(b"From a@b not a date"),
    "from_addr_only": _second_from(b"From a@b"),
    # Carriage returns: inside a line, CRLF throughout, last byte.
    "bare_cr": _F1 + b"Subject: 1\n\na\rb\n\n",
    "crlf": _F1.replace(b"\n", b"\r\n") + b"Subject: 1\r\n\r\none\r\n\r\n",
    "cr_at_eof": _F1 + b"Subject: 1\n\none\r",
    # mboxo/mboxrd quoting.
    "gt_from": _F1 + b"Subject: 1\n\n>From one\n>>From two\n\n>From three"
    b"\n",
    # Two blank lines before the next From_ line.
    "two_blank_lines": _F1 + b"Subject: 1\n\none\n\n\n" + _F2 +
    b"Subject: 2\n\ntwo\n\n",
    # No messages; no From_ line first.
    "empty": b"",
    "no_from": b"Subject: 1\n\none\n\n",
    "text_before_from": b"junk\n\n" + _F1 + b"Subject: 1\n\none\n\n",
    "blank_before_from": b"\n" + _F1 + b"Subject: 1\n\none\n\n",
    "first_from_no_date": b"From a@b\nSubject: 1\n\none\n\n",
    "from_line_only": _F1,
    # Headers Dovecot keeps its own state in.
    "dovecot_headers": _F1 + b"Subject: 1\nStatus: RO\nX-Status: A\n"
    b"X-UID: 7\nX-Keywords: k\nX-IMAPbase: 1 2\n\none\n\n",
    # Content-Length right over a From_ line after a blank line; wrong.
    "content_length": _F1 + b"Subject: 1\nContent-Length: %d\n\n%s\n"
    % (len(_CL_BODY), _CL_BODY) + _F2 + b"Subject: 2\n\ntwo\n\n",
    "content_length_wrong": _F1 + b"Subject: 1\nContent-Length: 3\n\n"
    b"one\n\n" + _F2 + b"Subject: 2\n\ntwo\n\n",
}
