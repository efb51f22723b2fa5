# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The client interoperability matrix (tests/README has the table).

Real POP3 clients fetch from pop3d on loopback, over plain POP3, STLS and
implicit TLS wherever the client can: fetchmail and mpop in delete mode
and in keep mode with their UIDL tracking (run twice, one new message
delivered in between, so the second run must fetch only that one),
getmail6, curl with -X, Python's poplib, a scripted `openssl s_client
-starttls pop3` and a person at a terminal typing bare-LF lines slowly.
Each test checks the bytes the client delivered against the stored
messages and what is left in the mailbox afterwards.

The server is the default configuration plus TLS; keep-mode tests add
`expire never`, the documented setting for leave-mail-on-server clients
(with the default `expire 0` a RETR'd message is removed at QUIT).
"""

import os
import shutil
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ClientTlsCase, pop_form, default_messages,  # noqa: E402
                     build_mbox, message, curl, stuff, lf, strip_fields,
                     split_mboxrd, maildir_messages, chown_tree,
                     PROC_TIMEOUT, TLS_NEWEST)

# The ways a client reaches the server: plain POP3 (logins without TLS
# are allowed from loopback by the default plaintext_auth local), STLS on
# the plain port, implicit TLS on the TLS port.
PLAIN, STLS, TLS = "plain", "stls", "tls"

NEW = message("arrived between runs", "fetched by the second run only\n")


class InteropCase(ClientTlsCase):

    keep = False		# start the server with expire never

    def setUp(self):
        super().setUp()
        self.msgs = default_messages()
        conf = {"expire": "never"} if self.keep else {}
        self.srv = self.tls_server(self.msgs, **conf)

    def port(self, mode):
        return self.srv.tls_port if mode == TLS else self.srv.port

    def want(self, msgs=None):
        """What a client that stores LF text must have written."""
        return sorted(lf(pop_form(m)) for m in
                      (self.msgs if msgs is None else msgs))

    def assertMbox(self, msgs):
        self.assertEqual(self.srv.read_mbox(), build_mbox(msgs))

    def assertTransport(self, mode, logins):
        """The server saw that many TLS sessions (none for plain)."""
        n = self.srv.log().count(": TLS %s " % TLS_NEWEST)
        if mode == PLAIN:
            self.assertEqual(n, 0, self.srv.log())
        else:
            self.assertGreaterEqual(n, logins, self.srv.log())

    def deliver_new(self):
        self.srv.append_mbox(NEW + b"\n")


# ---------------------------------------------------------------- fetchmail

@unittest.skipUnless(shutil.which("fetchmail"), "fetchmail not installed")
class FetchmailCase(InteropCase):
    """fetchmail (OpenSSL), each message to its own file through --mda."""

    def fetchmail(self, mode, keep, run=1):
        out = os.path.join(self.work, "out%d" % run)
        os.mkdir(out)
        rc = os.path.join(self.work, "fetchmailrc")
        tls = {PLAIN: "sslproto ''",
               STLS: "sslproto tls1.2+ sslcertck sslcertfile %s "
                     "sslcommonname localhost" % self.cert,
               TLS: "ssl sslcertck sslcertfile %s "
                    "sslcommonname localhost" % self.cert}[mode]
        with open(rc, "w") as f:
            f.write("set no bouncemail\n"
                    "poll 127.0.0.1 proto POP3 port %d auth password "
                    "uidl\n"
                    "  user alice there with password secret is root here\n"
                    "  options %s %s\n"
                    "  mda \"/bin/sh -c 'cat > $(mktemp %s/m.XXXXXX)'\"\n" % (
                        self.port(mode), "keep" if keep else "nokeep",
                        tls, out))
        os.chmod(rc, 0o600)
        # Exit 1: "no mail", which the second keep run must not see.
        self.run_client(["fetchmail", "-f", rc, "-N", "--nosyslog",
                         "-i", os.path.join(self.work, "ids")])
        got = []
        for n in sorted(os.listdir(out)):
            with open(os.path.join(out, n), "rb") as f:
                # fetchmail puts its own Received: header first.
                got.append(strip_fields(f.read(), ("received",)))
        return sorted(got)


class FetchmailDeleteTest(FetchmailCase):

    def check(self, mode):
        self.assertEqual(self.fetchmail(mode, keep=False), self.want())
        self.assertMbox([])
        self.assertTransport(mode, 1)

    def test_plain(self):
        self.check(PLAIN)

    def test_stls(self):
        self.check(STLS)

    def test_tls(self):
        self.check(TLS)


class FetchmailKeepTest(FetchmailCase):
    keep = True

    def check(self, mode):
        self.assertEqual(self.fetchmail(mode, keep=True), self.want())
        self.assertMbox(self.msgs)
        self.deliver_new()
        self.assertEqual(self.fetchmail(mode, keep=True, run=2),
                         self.want([NEW]))
        self.assertMbox(self.msgs + [NEW])
        self.assertTransport(mode, 2)

    def test_plain(self):
        self.check(PLAIN)

    def test_stls(self):
        self.check(STLS)

    def test_tls(self):
        self.check(TLS)


# ---------------------------------------------------------------- mpop

@unittest.skipUnless(shutil.which("mpop"), "mpop not installed")
class MpopCase(InteropCase):
    """mpop (GnuTLS): keep mode into an mbox file, delete mode into a
    Maildir, both with its own delivery code."""

    def mpop(self, mode, keep, delivery):
        rc = os.path.join(self.work, "mpoprc")
        with open(rc, "w") as f:
            f.write("account test\n"
                    "host 127.0.0.1\n"
                    "port %d\n"
                    "user alice\n"
                    "password secret\n"
                    "auth user\n"
                    "tls %s\n"
                    "tls_starttls %s\n"
                    "tls_trust_file %s\n"
                    "tls_host_override localhost\n"
                    "keep %s\n"
                    "only_new on\n"
                    "received_header off\n"
                    "uidls_file %s/uidls\n"
                    "delivery %s\n" % (
                        self.port(mode), "off" if mode == PLAIN else "on",
                        "on" if mode == STLS else "off", self.cert,
                        "on" if keep else "off", self.work, delivery))
        os.chmod(rc, 0o600)
        self.run_client(["mpop", "-C", rc, "-q", "test"])


class MpopKeepTest(MpopCase):
    keep = True

    def fetch(self, mode, run):
        box = os.path.join(self.work, "box%d" % run)
        self.mpop(mode, True, "mbox " + box)
        with open(box, "rb") as f:
            return sorted(split_mboxrd(f.read()))

    def check(self, mode):
        self.assertEqual(self.fetch(mode, 1), self.want())
        self.assertMbox(self.msgs)
        self.deliver_new()
        self.assertEqual(self.fetch(mode, 2), self.want([NEW]))
        self.assertMbox(self.msgs + [NEW])
        self.assertTransport(mode, 2)

    def test_plain(self):
        self.check(PLAIN)

    def test_stls(self):
        self.check(STLS)

    def test_tls(self):
        self.check(TLS)


class MpopDeleteTest(MpopCase):

    def check(self, mode):
        md = os.path.join(self.work, "Maildir")
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        self.mpop(mode, False, "maildir " + md)
        self.assertEqual(sorted(maildir_messages(md)), self.want())
        self.assertMbox([])
        self.assertTransport(mode, 1)

    def test_plain(self):
        self.check(PLAIN)

    def test_stls(self):
        self.check(STLS)

    def test_tls(self):
        self.check(TLS)


# ---------------------------------------------------------------- getmail6

@unittest.skipUnless(shutil.which("getmail"), "getmail6 not installed")
class GetmailTest(InteropCase):
    """getmail6: SimplePOP3Retriever (it has no STLS) and
    SimplePOP3SSLRetriever, keep mode (its oldmail file tracks UIDLs)
    into an mboxrd file, delete mode into a Maildir."""
    keep = True

    def setUp(self):
        super().setUp()
        os.chmod(self.work, 0o755)	# for the delivery as nobody

    def getmail(self, mode, delete, dest):
        rc = os.path.join(self.work, "getmailrc")
        with open(rc, "w") as f:
            f.write("[retriever]\n"
                    "type = %s\n"
                    "server = 127.0.0.1\n"
                    "port = %d\n"
                    "username = alice\n"
                    "password = secret\n" % (
                        "SimplePOP3SSLRetriever" if mode == TLS
                        else "SimplePOP3Retriever", self.port(mode)))
            if mode == TLS:
                f.write("ca_certs = %s\nssl_cert_hostname = localhost\n"
                        % self.cert)
            # getmail won't deliver as root: it switches to `user`.
            if os.geteuid() == 0:
                dest += "\nuser = nobody"
            f.write("[destination]\n%s\n"
                    "[options]\n"
                    "delete = %s\n"
                    "read_all = false\n"
                    "delivered_to = false\n"
                    "received = false\n"
                    "message_log_syslog = false\n" % (
                        dest, "true" if delete else "false"))
        self.run_client(["getmail", "--getmaildir", self.work, "-r", rc,
                         "-q"])

    def strip(self, data):
        # getmail puts a Return-Path: header first.
        return strip_fields(data, ("return-path",))

    def fetch_mboxrd(self, mode, run):
        box = os.path.join(self.work, "box%d" % run)
        open(box, "wb").close()
        chown_tree(box)
        self.getmail(mode, False, "type = Mboxrd\npath = " + box)
        with open(box, "rb") as f:
            return sorted(self.strip(m) for m in split_mboxrd(f.read()))

    def check_keep(self, mode):
        self.assertEqual(self.fetch_mboxrd(mode, 1), self.want())
        self.assertMbox(self.msgs)
        self.deliver_new()
        self.assertEqual(self.fetch_mboxrd(mode, 2), self.want([NEW]))
        self.assertMbox(self.msgs + [NEW])
        self.assertTransport(mode, 2)

    def check_delete(self, mode):
        md = os.path.join(self.work, "Maildir") + "/"
        for sub in ("new", "cur", "tmp"):
            os.makedirs(os.path.join(md, sub))
        chown_tree(md)
        self.getmail(mode, True, "type = Maildir\npath = " + md)
        self.assertEqual(sorted(self.strip(m) for m in
                                maildir_messages(md)), self.want())
        self.assertMbox([])
        self.assertTransport(mode, 1)

    def test_simple_pop3_keep(self):
        self.check_keep(PLAIN)

    def test_simple_pop3_delete(self):
        self.check_delete(PLAIN)

    def test_simple_pop3_ssl_keep(self):
        self.check_keep(TLS)

    def test_simple_pop3_ssl_delete(self):
        self.check_delete(TLS)


# ---------------------------------------------------------------- curl

@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class CurlInteropTest(InteropCase):
    """curl with -X LIST, RETR n and DELE n, one connection each."""

    def url(self, mode):
        return "%s://localhost:%d/" % (
            "pop3s" if mode == TLS else "pop3", self.port(mode))

    def curl(self, mode, *args):
        extra = ["--cacert", self.cert]
        if mode == STLS:
            extra.append("--ssl-reqd")
        deadline = time.monotonic() + 3
        while True:
            r = curl(extra + ["-u", "alice:secret"] + list(args) +
                     [self.url(mode)])
            # 67, login refused: the previous session may still hold the
            # mailbox ([IN-USE]) for a moment after curl's QUIT.
            if r.returncode != 67 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        self.assertEqual(r.returncode, 0, "%s\n%s" % (
            r.stderr.decode(), self.srv.log()[-2000:]))
        return r.stdout

    def check(self, mode):
        self.assertEqual(self.curl(mode, "-X", "LIST"), b"".join(
            b"%d %d\r\n" % (i + 1, len(pop_form(m)))
            for i, m in enumerate(self.msgs)))
        # One-line replies need -I (no body), and print nothing.
        self.assertEqual(self.curl(mode, "-X", "LIST 6", "-I"), b"")
        self.assertMbox(self.msgs)
        # RETR of the last message; EXPIRE 0 removes it at QUIT.
        self.assertEqual(self.curl(mode, "-X", "RETR %d" % len(self.msgs)),
                         pop_form(self.msgs[-1]))
        self.assertMbox(self.msgs[:-1])
        self.curl(mode, "-X", "DELE 2", "-I")
        self.assertMbox(self.msgs[:1] + self.msgs[2:-1])
        # Message 6 (the big one with dot lines) is now message 5.
        self.assertEqual(self.curl(mode, "-X", "RETR 5"),
                         pop_form(self.msgs[5]))
        self.assertMbox(self.msgs[:1] + self.msgs[2:5] + self.msgs[6:-1])
        self.assertTransport(mode, 5)

    def test_plain(self):
        self.check(PLAIN)

    def test_stls(self):
        self.check(STLS)

    def test_tls(self):
        self.check(TLS)


# ---------------------------------------------------------------- poplib

class PoplibInteropTest(InteropCase):
    """Python's poplib: RETR, TOP, UIDL, DELE, RSET, QUIT."""

    def connect(self, mode):
        import poplib
        import ssl
        ctx = ssl.create_default_context(cafile=self.cert)
        if mode == TLS:
            p = poplib.POP3_SSL("localhost", self.port(mode), context=ctx,
                                timeout=10)
        else:
            p = poplib.POP3("localhost", self.port(mode), timeout=10)
            if mode == STLS:
                self.assertIn("STLS", p.capa())
                p.stls(context=ctx)
        self.addCleanup(p.close)
        p.user("alice")
        p.pass_("secret")
        return p

    def check(self, mode):
        p = self.connect(mode)
        n = len(self.msgs)
        self.assertEqual(p.stat(), (n, sum(len(pop_form(m))
                                           for m in self.msgs)))
        uids = [l.split()[1] for l in p.uidl()[1]]
        self.assertEqual(len(set(uids)), n)
        # RSET forgets deletions (and, under EXPIRE 0, retrievals).
        p.retr(9)
        p.dele(5)
        p.dele(7)
        p.rset()
        for i in (1, 2, 3):
            resp, lines, octets = p.retr(i)
            self.assertEqual(b"".join(l + b"\r\n" for l in lines),
                             pop_form(self.msgs[i - 1]))
        resp, lines, _ = p.top(6, 3)
        self.assertEqual(len(lines), len(pop_form(self.msgs[5])
                                         .split(b"\r\n\r\n")[0]
                                         .split(b"\r\n")) + 1 + 3)
        p.dele(5)
        self.assertTrue(p.quit().startswith(b"+OK"))
        # EXPIRE 0: retrieved 1-3 and deleted 5 are gone.
        self.assertMbox([self.msgs[3]] + self.msgs[5:])
        # UIDs of the rest did not change.
        p = self.connect(mode)
        self.assertEqual([l.split()[1] for l in p.uidl()[1]],
                         [uids[3]] + uids[5:])
        p.quit()
        self.assertTransport(mode, 2)

    def test_plain(self):
        self.check(PLAIN)

    def test_stls(self):
        self.check(STLS)

    def test_tls(self):
        self.check(TLS)


# ---------------------------------------------------------------- s_client

class SClientInteropTest(InteropCase):
    """`openssl s_client -starttls pop3` and on the TLS port, a script
    on its stdin as a person would type it (LF line ends, no -crlf)."""

    SCRIPT = (b"CAPA\nUSER alice\nPASS secret\nSTAT\nUIDL 1\nRETR 2\n"
              b"DELE 1\nLIST 1\nNOOP\nQUIT\n")

    def s_client(self, extra):
        r = subprocess.run(
            ["openssl", "s_client", "-quiet", "-ign_eof",
             "-verify_return_error", "-CAfile", self.cert,
             "-verify_hostname", "localhost"] + extra,
            input=self.SCRIPT, capture_output=True, timeout=PROC_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def check(self, out):
        # s_client consumes the greeting and STLS reply itself (with
        # -starttls); what it prints starts at the CAPA reply.
        self.assertIn(b"\r\nUSER\r\n", out)
        self.assertNotIn(b"\r\nSTLS\r\n", out)	# not inside TLS
        want2 = b"+OK %d octets\r\n" % len(pop_form(self.msgs[1])) + \
            stuff(pop_form(self.msgs[1])) + b".\r\n"
        self.assertIn(want2, out)
        self.assertIn(b"+OK %d %d\r\n" % (
            len(self.msgs), sum(len(pop_form(m)) for m in self.msgs)), out)
        after = out.split(want2)[1].split(b"\r\n")
        self.assertTrue(after[0].startswith(b"+OK"), after)	# DELE 1
        self.assertTrue(after[1].startswith(b"-ERR"), after)	# LIST 1
        self.assertTrue(after[2].startswith(b"+OK"), after)	# NOOP
        # QUIT answers after UPDATE: RETR 2 (EXPIRE 0) and DELE 1 done.
        self.assertTrue(out.endswith(b"(2 messages deleted)\r\n"),
                        out[-200:])
        self.assertMbox(self.msgs[2:])

    def test_starttls_pop3(self):
        self.check(self.s_client(["-starttls", "pop3", "-connect",
                                  "127.0.0.1:%d" % self.srv.port]))
        self.assertTransport(STLS, 1)

    def test_tls_port(self):
        self.check(self.s_client(["-connect",
                                  "127.0.0.1:%d" % self.srv.tls_port]))
        self.assertTransport(TLS, 1)


# ---------------------------------------------------------------- telnet

class TelnetTest(InteropCase):
    """A person at telnet or nc: bare LF line ends, typed a key at a time,
    a backspace-free typo, and replies read as they come."""

    def typed(self, c, text, delay=0.002):
        for ch in text:
            c.send(ch.encode())
            time.sleep(delay)

    def test_bare_lf_slowly(self):
        c = self.client(self.srv)
        self.assertTrue(c.line().startswith(b"+OK"))
        self.typed(c, "user alice\n")
        self.assertOK(c.line())
        self.typed(c, "pass secret\n")
        self.assertOK(c.line())
        self.typed(c, "stat\n")
        self.assertEqual(c.line(), b"+OK %d %d\r\n" % (
            len(self.msgs), sum(len(pop_form(m)) for m in self.msgs)))
        self.typed(c, "retr 2\n")
        self.assertOK(c.line())
        self.assertEqual(c.multi(), stuff(pop_form(self.msgs[1])))
        self.typed(c, "frob\n")
        self.assertERR(c.line())
        # A line split across many segments, and one sent in two halves
        # with a pause a person might make.
        self.typed(c, "dele 3")
        time.sleep(0.3)
        self.typed(c, "\n")
        self.assertOK(c.line())
        self.typed(c, "list\n")
        self.assertOK(c.line())
        listing = c.multi()
        self.assertNotIn(b"\r\n3 ", b"\r\n" + listing)
        self.typed(c, "quit\n")
        self.assertOK(c.line())
        self.assertEqual(c.read_until_eof(), b"")
        # RETR 2 (EXPIRE 0) and DELE 3 removed, the rest untouched.
        self.assertMbox(self.msgs[:1] + self.msgs[3:])

    def test_bare_lf_inetd(self):
        """The same typing on pop3d -i (stdin is a pipe)."""
        r = self.srv.inetd(b"user alice\npass secret\nlist 1\nretr 1\n"
                           b"dele 1\nquit\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b"+OK 1 %d\r\n" % len(pop_form(self.msgs[0])),
                      r.stdout)
        self.assertIn(stuff(pop_form(self.msgs[0])) + b".\r\n", r.stdout)
        self.assertMbox(self.msgs[1:])


if __name__ == "__main__":
    unittest.main()
