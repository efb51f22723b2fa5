# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Logging in: USER/PASS, AUTH PLAIN, failures, [IN-USE], the log."""

import base64
import hashlib
import os
import re
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Pop3dCase, message, make_hash, pop_form  # noqa: E402

PASSWORD = "s3cret pass phrase"		# spaces: PASS takes the whole rest


def plain(authcid, password, authzid=""):
    raw = ("%s\0%s\0%s" % (authzid, authcid, password)).encode()
    return base64.b64encode(raw).decode()


def peer(c):
    """The client's address as pop3d logs it: "a.b.c.d:port", "[::1]:port"."""
    host, port = c.sock.getsockname()[:2]
    return ("[%s]:%d" if ":" in host else "%s:%d") % (host, port)


def wait_log(srv, pattern, limit=5.0):
    """srv's log once a line matches pattern (a regex); fails after limit s."""
    deadline = time.monotonic() + limit
    while True:
        log = srv.log()
        if re.search(pattern, log, re.M) or time.monotonic() >= deadline:
            return log


class AuthTest(Pop3dCase):

    def setUp(self):
        self.msgs = [message("a", "hello\n"), message("b", "world\n")]
        self.srv = self.server(self.msgs, users={"alice": PASSWORD,
                                                 "bob": "bobpw"})

    def fail_login(self, c, user, password):
        t0 = time.monotonic()
        self.assertOK(c.cmd("USER " + user))
        r = c.cmd("PASS " + password)
        return r, time.monotonic() - t0

    def test_good_login_with_spaces_in_password(self):
        c = self.client(self.srv)
        r = c.login("alice", PASSWORD)
        self.assertOK(r)
        self.assertEqual(c.cmd("STAT"), b"+OK 2 %d\r\n" %
                         sum(len(pop_form(m)) for m in self.msgs))

    def test_wrong_password_and_unknown_user_same_reply(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        wrong, t1 = self.fail_login(c, "alice", "not the password")
        unknown, t2 = self.fail_login(c, "nosuchuser", "whatever")
        self.assertTrue(wrong.startswith(b"-ERR [AUTH]"), wrong)
        self.assertEqual(wrong, unknown)
        for t in (t1, t2):
            self.assertGreaterEqual(t, 0.8, "no failed-login delay")
        # The connection is still usable after two failures.
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS " + PASSWORD))

    def test_hostile_user_names_fail_the_same_way(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        ref, _ = self.fail_login(c, "alice", "nope")
        # Fresh connections: three failures would close one.
        for name in ("../alice", "%u"):
            c2 = self.client(self.srv)
            c2.greeting = c2.line()
            r, _ = self.fail_login(c2, name, PASSWORD)
            self.assertEqual(r, ref, "user %r" % name)

    def test_three_failures_close_the_connection(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        for _ in range(3):
            r, _ = self.fail_login(c, "alice", "bad")
            self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        c.send(b"NOOP\r\n")
        rest = c.read_until_eof(limit=5)
        self.assertNotIn(b"+OK", rest)

    def test_pass_without_user_and_commands_before_login(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertERR(c.cmd("PASS " + PASSWORD))
        for cmd in ("STAT", "LIST", "RETR 1", "DELE 1", "UIDL", "TOP 1 0",
                    "NOOP", "RSET"):
            self.assertERR(c.cmd(cmd), cmd)

    def test_in_use_only_after_good_credentials(self):
        a = self.login_client(self.srv)
        self.assertOK(a.cmd("STAT"))
        b = self.client(self.srv)
        b.greeting = b.line()
        wrong, _ = self.fail_login(b, "alice", "wrong")
        self.assertTrue(wrong.startswith(b"-ERR [AUTH]"), wrong)
        self.assertOK(b.cmd("USER alice"))
        r = b.cmd("PASS " + PASSWORD)
        self.assertTrue(r.startswith(b"-ERR [IN-USE]"), r)
        # The process that tried to open the maildrop already runs as
        # alice and can't check another login: it closes the connection,
        # as RFC 1939 section 4 allows (DESIGN.md, privilege separation).
        b.read_until_eof()
        # Another user is not affected.
        b = self.client(self.srv)
        b.greeting = b.line()
        self.assertOK(b.cmd("USER bob"))
        self.assertOK(b.cmd("PASS bobpw"))
        # The first session carries on undisturbed.
        self.assertOK(a.cmd("NOOP"))
        self.assertOK(a.cmd("QUIT"))

    def test_auth_plain_initial_response(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertOK(c.cmd("AUTH PLAIN " + plain("alice", PASSWORD)))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 2 "))

    def test_auth_plain_continuation_and_cancel(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertTrue(c.cmd("AUTH PLAIN").startswith(b"+"))
        self.assertERR(c.cmd("*"))
        self.assertTrue(c.cmd("AUTH PLAIN").startswith(b"+"))
        self.assertOK(c.cmd(plain("alice", PASSWORD)))
        self.assertOK(c.cmd("NOOP"))

    def test_auth_plain_failures(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        r = c.cmd("AUTH PLAIN " + plain("alice", "wrong"))
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORD, authzid="bob"))
        self.assertTrue(r.startswith(b"-ERR"), r)
        c2 = self.client(self.srv)
        c2.greeting = c2.line()
        self.assertERR(c2.cmd("AUTH PLAIN not*base64!"))
        self.assertERR(c2.cmd("AUTH NOSUCHMECH"))
        self.assertOK(c2.cmd("AUTH PLAIN " + plain("alice", PASSWORD)))

    def assertLogged(self, line):
        """One log line ends in exactly line (after ident and session id)."""
        pat = r"\] " + re.escape(line) + "$"
        log = wait_log(self.srv, pat)
        self.assertEqual(len(re.findall(pat, log, re.M)), 1,
                         "%r not logged once in:\n%s" % (line, log))

    def test_failed_logins_say_why(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.fail_login(c, "alice", "not the password")
        self.assertLogged("login alice from %s (USER): failed, wrong "
                          "password" % peer(c))
        self.fail_login(c, "nosuchuser", "whatever")
        self.assertLogged("login nosuchuser from %s (USER): failed, "
                          "unknown user" % peer(c))
        # Names and passwords refused before any check had no reason.
        self.fail_login(c, "bad/name", "whatever")
        self.assertLogged("login (invalid name) from %s (USER): failed, "
                          "invalid user name" % peer(c))
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertTrue(c.cmd("AUTH PLAIN").startswith(b"+"))
        r = c.cmd(plain("bob", "x" * 256))
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertLogged("login bob from %s (AUTH PLAIN): failed, password "
                          "too long" % peer(c))
        r = c.cmd("AUTH PLAIN " + base64.b64encode(b"no nul").decode())
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertLogged("login bob from %s (AUTH PLAIN): failed, "
                          "malformed PLAIN message" % peer(c))
        c = self.client(self.srv)
        c.greeting = c.line()
        r = c.cmd("AUTH PLAIN " + plain("x" * 65, "pw"))
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertLogged("login (invalid name) from %s (AUTH PLAIN): "
                          "failed, invalid user name" % peer(c))
        self.assertNotRegex(self.srv.log(), r"failed, *$")

    def test_plaintext_refusal_logged_once(self):
        srv = self.server([], conf={"plaintext_auth": "no"})
        self.srv = srv
        c = self.client(srv)
        c.greeting = c.line()
        self.assertTrue(c.cmd("USER alice").startswith(b"-ERR [AUTH]"))
        self.assertTrue(c.cmd("USER alice").startswith(b"-ERR [AUTH]"))
        self.assertTrue(c.cmd("PASS x").startswith(b"-ERR [AUTH]"))
        self.assertLogged("login alice from %s (USER): refused, "
                          "plaintext_auth forbids passwords without TLS"
                          % peer(c))
        c = self.client(srv)
        c.greeting = c.line()
        r = c.cmd("AUTH PLAIN " + plain("alice", PASSWORD))
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertLogged("login (no name) from %s (AUTH PLAIN): refused, "
                          "plaintext_auth forbids passwords without TLS"
                          % peer(c))
        self.assertNotIn(PASSWORD, srv.log())
        self.assertNotIn("failed", srv.log())

    def test_log_names_user_never_password(self):
        p = self.poplib(self.srv, password=PASSWORD)
        p.stat()
        p.quit()
        c = self.client(self.srv)
        c.greeting = c.line()
        self.fail_login(c, "bob", "a-wrong-secret")
        c.cmd("QUIT")
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline and "bob" not in self.srv.log():
            time.sleep(0.05)
        log = self.srv.log()
        self.assertIn("alice", log)
        self.assertIn("bob", log)
        self.assertNotIn(PASSWORD, log)
        self.assertNotIn("a-wrong-secret", log)
        self.assertNotIn("bobpw", log)

    def test_per_user_mailbox_field(self):
        path = os.path.join(self.srv.maildir, "carol-box")
        self.srv.write_passwd(["carol:%s:::%s" % (make_hash("carolpw"),
                                                  path)])
        self.srv.write_mbox([message("c", "for carol\n")], user="carol-box")
        p = self.poplib(self.srv, user="carol", password="carolpw")
        self.assertEqual(p.stat(), (1, len(pop_form(
            message("c", "for carol\n")))))


def crypt_hash(password, salt):
    """password hashed by libcrypt with salt (its scheme and cost), or
    None where Python has no crypt module."""
    try:
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            import crypt
    except ImportError:
        return None
    return crypt.crypt(password, salt)


class TimingTest(Pop3dCase):
    """A failed login takes as long whatever the user: unknown, or known
    with a cheap hash or a slow one (a SHA-512 of 400,000 rounds, about
    a fifth of a second here), since every failure is answered a fixed
    delay after its check began, not after the check.  Each user's
    second try is timed: all of them wait the same one second (the
    auth_fail_delay_max) for the failure before."""

    def test_user_names_can_not_be_told_apart_by_time(self):
        users = {
            "sha512": make_hash("pw"),
            "slow": crypt_hash("pw", "$6$rounds=400000$pop3dtst$"),
            "yescrypt": crypt_hash("pw", "$y$j9T$pop3dtestsaltsalt$"),
        }
        if None in users.values():
            self.skipTest("no crypt module in this Python")
        srv = self.server([], conf={"auth_fail_delay_max": 1})
        srv.write_passwd(["%s:%s" % u for u in users.items()])
        times = {}
        for user in ("nosuchuser",) + tuple(users):
            c = self.client(srv)
            c.greeting = c.line()
            for _ in range(2):
                t0 = time.monotonic()
                self.assertOK(c.cmd("USER " + user))
                self.assertTrue(c.cmd("PASS wrong").startswith(b"-ERR"))
                times[user] = time.monotonic() - t0
        ratio = max(times.values()) / min(times.values())
        self.assertLess(ratio, 1.1, times)


class ApopTest(Pop3dCase):
    """apop yes: the greeting carries a stamp; APOP users use only APOP."""

    def setUp(self):
        self.srv = self.server([message("a", "hello\n")], start=False,
                               users={"alice": PASSWORD, "dave": "unused"})
        apop = os.path.join(self.srv.dir, "apop")
        with open(apop, "w") as f:
            f.write("dave:apop secret\n")
        os.chmod(apop, 0o600)
        self.srv.extra.update({"apop": "yes", "apop_file": apop})
        self.srv.write_mbox([message("d", "for dave\n")], user="dave")
        self.srv.start()

    def greet(self):
        c = self.client(self.srv)
        g = c.line()
        m = re.search(rb"<[\x21-\x7e]+>", g)
        self.assertIsNotNone(m, g)
        return c, m.group(0)

    def test_apop_login(self):
        c, stamp = self.greet()
        digest = hashlib.md5(stamp + b"apop secret").hexdigest()
        self.assertOK(c.cmd("APOP dave " + digest))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))

    def test_apop_wrong_digest_and_stamps_differ(self):
        c, stamp = self.greet()
        c2, stamp2 = self.greet()
        self.assertNotEqual(stamp, stamp2)
        # A digest for another greeting's stamp is a replay: refused.
        digest = hashlib.md5(stamp2 + b"apop secret").hexdigest()
        r = c.cmd("APOP dave " + digest)
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)

    def test_apop_failures_say_why(self):
        c, stamp = self.greet()
        for cmd, line in (
                ("APOP dave 1234", "login dave from %s (APOP): failed, "
                 "malformed APOP digest"),
                ("APOP bad/name " + "0" * 32, "login (invalid name) from %s "
                 "(APOP): failed, invalid user name"),
                ("APOP dave " + "0" * 32, "login dave from %s (APOP): "
                 "failed, wrong APOP digest")):
            r = c.cmd(cmd)
            self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
            pat = r"\] " + re.escape(line % peer(c)) + "$"
            self.assertRegex(wait_log(self.srv, pat), re.compile(pat, re.M))

    def test_apop_user_cannot_use_pass(self):
        c, _ = self.greet()
        self.assertOK(c.cmd("USER dave"))
        r = c.cmd("PASS apop secret")
        self.assertTrue(r.startswith(b"-ERR [AUTH]"), r)
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS " + PASSWORD))


if __name__ == "__main__":
    unittest.main()
