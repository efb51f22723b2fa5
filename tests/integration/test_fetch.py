# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Reading mail: poplib and raw sockets against a standalone pop3d."""

import os
import poplib
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (Pop3dCase, message, pop_form, pop_top,  # noqa: E402
                     stuff, unstuff, build_mbox, default_messages)


def joined(lines):
    """poplib's line list back into the CRLF text it came from."""
    return b"".join(l + b"\r\n" for l in lines)


class FetchTest(Pop3dCase):

    def setUp(self):
        self.msgs = default_messages()
        self.srv = self.server(self.msgs)

    def test_stat_list_sizes(self):
        p = self.poplib(self.srv)
        want = [len(pop_form(m)) for m in self.msgs]
        count, octets = p.stat()
        self.assertEqual(count, len(self.msgs))
        self.assertEqual(octets, sum(want))
        resp, lines, _ = p.list()
        self.assertOK(resp)
        self.assertEqual(lines, [b"%d %d" % (i + 1, n)
                                 for i, n in enumerate(want)])
        for i, n in enumerate(want):
            self.assertEqual(p.list(i + 1), b"+OK %d %d" % (i + 1, n))

    def test_retr_every_message_byte_identical(self):
        p = self.poplib(self.srv)
        for i, m in enumerate(self.msgs):
            resp, lines, octets = p.retr(i + 1)
            self.assertOK(resp)
            self.assertEqual(joined(lines), pop_form(m),
                             "message %d differs" % (i + 1))
            self.assertEqual(octets, len(pop_form(m)))

    def test_raw_retr_wire_bytes_and_list_size(self):
        # On the wire: stuffed lines, CRLF.CRLF end; LIST size equals
        # the octets sent minus the stuffing dots.
        c = self.client(self.srv)
        self.assertOK(c.login("alice", "secret"))
        for i, m in enumerate(self.msgs):
            r = c.cmd("LIST %d" % (i + 1))
            size = int(r.split()[2])
            self.assertOK(c.cmd("RETR %d" % (i + 1)))
            wire = c.multi()
            self.assertEqual(wire, stuff(pop_form(m)))
            data, dots = unstuff(wire)
            self.assertEqual(size, len(wire) - dots)
            self.assertEqual(data, pop_form(m))

    def test_uidl(self):
        p = self.poplib(self.srv)
        resp, lines, _ = p.uidl()
        self.assertOK(resp)
        self.assertEqual(len(lines), len(self.msgs))
        uids = []
        for i, l in enumerate(lines):
            n, uid = l.split(b" ")
            self.assertEqual(int(n), i + 1)
            self.assertRegex(uid, rb"^[\x21-\x7e]{1,70}$")
            self.assertEqual(p.uidl(i + 1), b"+OK %d %s" % (i + 1, uid))
            uids.append(uid)
        # Messages 7 and 8 are identical twins: still distinct UIDs.
        self.assertEqual(len(set(uids)), len(uids))

    def test_top(self):
        p = self.poplib(self.srv)
        for i, m in enumerate(self.msgs):
            for n in (0, 1, 3, 100000):
                resp, lines, _ = p.top(i + 1, n)
                self.assertOK(resp)
                self.assertEqual(joined(lines), pop_top(m, n),
                                 "TOP %d %d" % (i + 1, n))

    def test_top_does_not_expire(self):
        # TOP is not RETR: with EXPIRE 0 a message only TOP'd stays.
        p = self.poplib(self.srv)
        p.top(1, 0)
        self.assertOK(p.quit())
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))

    def capa(self, c):
        self.assertOK(c.cmd("CAPA"))
        lines = c.multi().split(b"\r\n")[:-1]
        return [l.upper() for l in lines]

    def test_capa_both_states(self):
        c = self.client(self.srv)
        c.greeting = c.line()
        common = [b"TOP", b"USER", b"UIDL", b"PIPELINING", b"RESP-CODES",
                  b"AUTH-RESP-CODE", b"EXPIRE 0", b"SASL PLAIN"]
        auth = self.capa(c)
        self.assertEqual(sorted(auth), sorted(common))
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        trans = self.capa(c)
        impl = [l for l in trans if l.startswith(b"IMPLEMENTATION ")]
        self.assertEqual(len(impl), 1, trans)
        self.assertEqual(sorted(l for l in trans if l not in impl),
                         sorted(common))

    def test_greeting_without_apop_stamp(self):
        c = self.client(self.srv)
        g = c.line()
        self.assertOK(g)
        self.assertNotIn(b"<", g, "APOP is off: no timestamp expected")

    def test_noop_rset_stat_after_dele(self):
        p = self.poplib(self.srv)
        sizes = [len(pop_form(m)) for m in self.msgs]
        self.assertOK(p.dele(2))
        self.assertEqual(p.stat(), (len(self.msgs) - 1,
                                    sum(sizes) - sizes[1]))
        resp, lines, _ = p.list()
        self.assertNotIn(b"2 %d" % sizes[1], lines)
        self.assertEqual(len(lines), len(self.msgs) - 1)
        for cmd in (lambda: p.retr(2), lambda: p.dele(2),
                    lambda: p.list(2), lambda: p.uidl(2),
                    lambda: p.top(2, 0)):
            with self.assertRaises(poplib.error_proto):
                cmd()
        self.assertOK(p.noop())
        self.assertOK(p.rset())
        self.assertEqual(p.stat(), (len(self.msgs), sum(sizes)))


class MailboxShapesTest(Pop3dCase):
    """Mailboxes that are not plain LF mbox with complete messages."""

    def fetch_all(self, srv):
        p = self.poplib(srv)
        count, octets = p.stat()
        out = []
        for i in range(count):
            size = int(p.list(i + 1).split()[2])
            resp, lines, _ = p.retr(i + 1)
            out.append(joined(lines))
            self.assertEqual(size, len(out[-1]), "message %d" % (i + 1))
        self.assertEqual(octets, sum(len(x) for x in out))
        return out

    def test_last_message_without_newline(self):
        msgs = [message("a", "first\n"),
                message("b", "second\n")[:-1]]		# no final newline
        srv = self.server(build_mbox(msgs[:1]) + msgs[1])
        got = self.fetch_all(srv)
        self.assertEqual(got, [pop_form(m) for m in msgs])
        self.assertTrue(got[1].endswith(b"second\r\n"))

    def test_file_without_final_separator(self):
        msgs = [message("a", "first\n"), message("b", "second\n")]
        srv = self.server(build_mbox(msgs[:1]) + msgs[1])
        self.assertEqual(self.fetch_all(srv), [pop_form(m) for m in msgs])

    def test_crlf_mailbox(self):
        msgs = [message("a", "one\n.dot\n"), message("b", "two\n")]
        crlf = [m.replace(b"\n", b"\r\n") for m in msgs]
        srv = self.server(build_mbox(crlf, sep=b"\r\n"))
        self.assertEqual(self.fetch_all(srv), [pop_form(m) for m in crlf])

    def test_from_after_blank_line_starts_message(self):
        # An unquoted From_ line after a blank line is a new message (as
        # MDAs write mbox); without the blank line it is body text.
        data = (b"From a@example.org Mon Jan  6 10:00:00 2025\n"
                b"Subject: one\n\nbody\nFrom here on, body\n\n"
                b"From b@example.org Mon Jan  6 10:00:01 2025\n"
                b"Subject: two\n\nbody two\n\n")
        srv = self.server(data)
        got = self.fetch_all(srv)
        self.assertEqual(got, [
            b"Subject: one\r\n\r\nbody\r\nFrom here on, body\r\n",
            b"Subject: two\r\n\r\nbody two\r\n"])

    def test_mboxo_keeps_quoted_from(self):
        msgs = [message("q", ">From x\n>>From y\nFrom z\n")]
        srv = self.server(msgs, conf={"mbox_format": "mboxo"})
        got = self.fetch_all(srv)
        self.assertIn(b"\r\n>From x\r\n>>From y\r\nFrom z\r\n", got[0])

    def test_mboxrd_unquotes_one_level(self):
        msgs = [message("q", ">From x\n>>From y\n> From not quoted\n")]
        srv = self.server(msgs, conf={"mbox_format": "mboxrd"})
        got = self.fetch_all(srv)
        self.assertIn(b"\r\nFrom x\r\n>From y\r\n> From not quoted\r\n",
                      got[0])

    def test_empty_and_missing_mailbox(self):
        srv = self.server(b"")
        p = self.poplib(srv)
        self.assertEqual(p.stat(), (0, 0))
        self.assertEqual(p.list()[1], [])
        self.assertOK(p.quit())
        os.unlink(srv.mbox_path())
        p = self.poplib(srv)
        self.assertEqual(p.stat(), (0, 0))
        self.assertEqual(p.uidl()[1], [])
        self.assertOK(p.quit())
        self.assertFalse(os.path.exists(srv.mbox_path()) and
                         srv.read_mbox() != b"")

    def test_corrupt_mailbox_sys_perm(self):
        srv = self.server(b"This is not an mbox\n\nat all\n")
        c = self.client(srv)
        r = c.login("alice", "secret")
        self.assertTrue(r.startswith(b"-ERR [SYS/PERM]"), r)
        self.assertEqual(srv.read_mbox(), b"This is not an mbox\n\nat all\n")

    def test_nul_bytes_in_message(self):
        msgs = [message("nul", b"a\x00b\nc\x00\n")]
        srv = self.server(msgs)
        self.assertEqual(self.fetch_all(srv), [pop_form(msgs[0])])

    def test_long_line_message(self):
        # A 10,000-octet line streams through unchanged (raw socket: poplib
        # refuses lines over 2048 octets).
        msgs = [message("long", b"y" * 10000 + b"\n.z\n")]
        srv = self.server(msgs)
        c = self.client(srv)
        self.assertOK(c.login("alice", "secret"))
        size = int(c.cmd("LIST 1").split()[2])
        self.assertOK(c.cmd("RETR 1"))
        wire = c.multi()
        self.assertEqual(wire, stuff(pop_form(msgs[0])))
        self.assertEqual(size, len(pop_form(msgs[0])))


class ListenTest(Pop3dCase):

    @unittest.skipUnless(harness.have_ipv6_loopback(), "no ::1")
    def test_ipv4_and_ipv6(self):
        msgs = [message("a", "hello\n")]
        srv = self.server(msgs, ipv6=True)
        for host in ("127.0.0.1", "::1"):
            p = self.poplib(srv, host=host)
            self.assertEqual(p.stat(), (1, len(pop_form(msgs[0]))))
            p.close()


if __name__ == "__main__":
    unittest.main()
