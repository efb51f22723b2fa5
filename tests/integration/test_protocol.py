# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Raw-socket protocol checks: pipelining, hostile lines, strict numbers."""

import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Pop3dCase, pop_form, stuff,  # noqa: E402
                     build_mbox, default_messages)


class ProtocolTest(Pop3dCase):

    def setUp(self):
        self.msgs = default_messages()
        self.srv = self.server(self.msgs)

    def logged_in(self):
        return self.login_client(self.srv)

    def test_pipelining_everything_in_one_send(self):
        c = self.client(self.srv)
        sizes = [len(pop_form(m)) for m in self.msgs]
        script = [("CAPA", True), ("USER alice", False),
                  ("PASS secret", False), ("STAT", False),
                  ("LIST", True), ("UIDL", True), ("LIST 2", False),
                  ("DELE 3", False), ("RSET", False),
                  ("RETR 1", True), ("TOP 2 1", True), ("RETR 2", True),
                  ("NOOP", False), ("UIDL 1", False), ("RETR 6", True),
                  ("NOOP", False)]
        script += [("NOOP", False)] * 40
        script.append(("QUIT", False))
        c.send("".join(cmd + "\r\n" for cmd, _ in script))
        c.greeting = c.line()
        self.assertOK(c.greeting)
        replies = []
        for cmd, multi in script:
            r = c.line()
            self.assertOK(r, "%s -> %r" % (cmd, r))
            replies.append((r, c.multi() if multi else None))
        self.assertEqual(replies[3][0], b"+OK %d %d\r\n" %
                         (len(sizes), sum(sizes)))
        self.assertEqual(replies[4][1], b"".join(
            b"%d %d\r\n" % (i + 1, n) for i, n in enumerate(sizes)))
        self.assertEqual(replies[6][0], b"+OK 2 %d\r\n" % sizes[1])
        self.assertEqual(replies[9][1], stuff(pop_form(self.msgs[0])))
        self.assertEqual(replies[11][1], stuff(pop_form(self.msgs[1])))
        self.assertEqual(replies[14][1], stuff(pop_form(self.msgs[5])))
        self.assertEqual(c.read_until_eof(5), b"")
        # EXPIRE 0: the RETR'd messages 1, 2, 6 are gone (3 was RSET).
        want = build_mbox([m for i, m in enumerate(self.msgs)
                           if i + 1 not in (1, 2, 6)])
        self.assertEqual(self.srv.read_mbox(), want)

    def test_pipelined_commands_byte_by_byte(self):
        c = self.logged_in()
        for b in b"STAT\r\nNOOP\r\n":
            c.send(bytes([b]))
        self.assertTrue(c.line().startswith(b"+OK %d " % len(self.msgs)))
        self.assertOK(c.line())

    def test_overlong_line_gets_exactly_one_err(self):
        c = self.logged_in()
        c.send(b"NOOP " + b"x" * 995 + b"\r\nNOOP\r\n")
        self.assertERR(c.line())
        self.assertOK(c.line(), "the session continues after the long line")
        # In pieces, across several sends.
        c.send(b"LIST " + b"1" * 600)
        time.sleep(0.1)
        c.send(b"2" * 600)
        time.sleep(0.1)
        c.send(b"3" * 600 + b"\r\nSTAT\r\n")
        self.assertERR(c.line())
        self.assertTrue(c.line().startswith(b"+OK %d " % len(self.msgs)))

    def test_line_limit_is_255(self):
        # 255 octets including CRLF is a command; 256 is too long.  USER
        # answers +OK for any name, so it shows the line was accepted.
        c = self.client(self.srv)
        c.greeting = c.line()
        at_limit = b"USER " + b"a" * (255 - 2 - 5)
        self.assertEqual(len(at_limit) + 2, 255)
        self.assertOK(c.cmd(at_limit))
        self.assertERR(c.cmd(b"USER " + b"a" * (256 - 2 - 5)))
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))

    def test_long_line_in_authorization(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        c.send(b"USER " + b"a" * 1000 + b"\r\nUSER alice\r\nPASS secret\r\n")
        self.assertERR(c.line())
        self.assertOK(c.line())
        self.assertOK(c.line())

    def test_nul_byte_rejected(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertERR(c.cmd(b"US\x00ER alice"))
        self.assertOK(c.cmd(b"USER alice"))
        r = c.cmd(b"PASS secret\x00junk")
        self.assertERR(r)
        self.assertNotIn(b"[IN-USE]", r)
        c2 = self.logged_in()
        self.assertERR(c2.cmd(b"DELE 1\x00"))
        self.assertERR(c2.cmd(b"NO\x00OP"))
        self.assertOK(c2.cmd(b"QUIT"))
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))

    def test_bare_lf_line_ends(self):
        c = self.client(self.srv)
        c.send(b"USER alice\nPASS secret\nSTAT\nLIST 1\nQUIT\n")
        self.assertOK(c.line())
        self.assertOK(c.line())
        self.assertOK(c.line())
        self.assertTrue(c.line().startswith(b"+OK %d " % len(self.msgs)))
        self.assertEqual(c.line(), b"+OK 1 %d\r\n" %
                         len(pop_form(self.msgs[0])))
        self.assertOK(c.line())

    def test_lower_case_verbs(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertOK(c.cmd("user alice"))
        self.assertOK(c.cmd("pass secret"))
        self.assertTrue(c.cmd("stat").startswith(b"+OK"))
        self.assertOK(c.cmd("list 1"))

    def test_strict_numbers(self):
        # Two sessions: a session is closed after 10 bad commands.
        groups = [["RETR 0", "DELE 1abc", "LIST 4294967297",
                   "LIST 18446744073709551617", "RETR -1"],
                  ["RETR +1", "TOP 1 -1", "TOP 1 x", "RETR 1 2", "DELE",
                   "LIST 99"]]
        for bad in groups:
            c = self.logged_in()
            for cmd in bad:
                self.assertERR(c.cmd(cmd), cmd)
            # Nothing was marked: message 1 is listed, and QUIT removes
            # nothing (no RETR or DELE took effect).
            self.assertOK(c.cmd("LIST 1"))
            self.assertOK(c.cmd("QUIT"))
            self.assertEqual(c.read_until_eof(5), b"")
            self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))

    def test_unknown_command_and_bad_command_limit(self):
        c = self.logged_in()
        self.assertERR(c.cmd("XYZZY"))
        self.assertOK(c.cmd("NOOP"))
        c.send(b"BOGUS\r\n" * 30)
        data = c.read_until_eof(limit=5)
        errs = data.count(b"-ERR")
        self.assertGreater(errs, 0)
        self.assertLessEqual(errs, 30)
        self.assertNotIn(b"+OK", data)

    def test_empty_line(self):
        c = self.logged_in()
        self.assertERR(c.cmd(b""))
        self.assertOK(c.cmd("NOOP"))

    def test_quit_in_authorization_changes_nothing(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        self.assertOK(c.cmd("QUIT"))
        self.assertEqual(c.read_until_eof(5), b"")


if __name__ == "__main__":
    unittest.main()
