# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Moving from Dovecot or popa3d without a re-download (uidl_compat).

The real servers (Debian 12's Dovecot 2.3.19 and popa3d 1.0.3, unpacked
from their packages by dovecot_ref and popa3d_ref) serve a mailbox of
awkward messages: lines starting with dots, ">From " lines, an empty
message, a big one, Dovecot's and mail readers' own headers, and a last
line without its newline.  What they answer to UIDL (and for Dovecot,
LIST and TOP n 0) is recorded; then pop3d serves the same file with
`uidl_compat` set to that server, and must answer the same: every UIDL,
and for Dovecot the sizes and the visible header lines.  Then mail is
delivered (appended) and some deleted through pop3d (DELE, QUIT): the
messages left keep their UIDLs, and new mail gets one that is never an
old one's.  Skipped, saying why, when a server can't be had.
"""

import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot_ref  # noqa: E402
import popa3d_ref  # noqa: E402
from harness import Pop3dCase  # noqa: E402

OWN_UID = re.compile(r"^[0-9a-f]{24}$")


def msg(n, headers, body):
    """Stored message n: a From_ line, its header lines and body, each
    the fields a delivery writes that popa3d hashes, unique to n."""
    head = [b"Return-Path: <sender%d@example.org>" % n,
            b"Received: from mx%d.example.org by mail.example.org" % n,
            b"\tid %d; Mon, 1 Jan 2024 00:00:%02d +0000" % (n, n),
            b"Date: Mon, 1 Jan 2024 00:00:%02d +0000" % n,
            b"Message-ID: <%d@example.org>" % n,
            b"From: sender%d@example.org" % n,
            b"Subject: message %d" % n] + headers
    return (b"From sender%d@example.org Mon Jan  1 00:00:%02d 2024\n" %
            (n, n) + b"\n".join(head) + b"\n\n" + body)


BIG = b"".join(b"line %06d of a big message, long enough to be big\n" % i
               for i in range(6000))

MAILBOX = b"\n".join([
    msg(1, [], b"Hello.\n"),
    msg(2, [], b".a dot\n..two dots\n.\nend\n"),
    msg(3, [], b"text\n>From the start of a line\n>>From again\n"),
    b"From empty@example.org Mon Jan  1 00:00:04 2024\n",
    msg(5, [], BIG),
    # a mail reader's state, and a right Content-Length
    msg(6, [b"Status: RO", b"X-Status: A", b"X-Keywords: $Label1",
            b"Content-Length: 5"], b"body\n"),
    msg(7, [b"X-Mailer: test"], b"no newline at the end"),
])

NEW = msg(8, [], b"delivered after the move\n") + b"\n"


def delivery(box):
    """The bytes an MDA appends to box to deliver NEW: a blank line
    first when the last message lacks it (or its last newline)."""
    if box.endswith(b"\n\n"):
        return NEW
    return (b"\n" if box.endswith(b"\n") else b"\n\n") + NEW


def listing(body):
    """A LIST or UIDL body (bytes, CRLF lines): its second words."""
    return [l.split()[1].decode() for l in body.splitlines()]


class Migration(Pop3dCase):

    def pop3d(self, compat, box):
        srv = self.server(box, conf={"uidl_compat": compat,
                                     "expire": "never"})
        return srv

    def pop3d_answers(self, srv, ntop=0):
        """pop3d's UIDL and LIST listings, and TOP i 0 of the first
        ntop messages, as on the wire."""
        c = srv.login_client()
        self.addCleanup(c.close)
        self.assertTrue(c.cmd("UIDL").startswith(b"+OK"))
        uidl = listing(c.multi())
        self.assertTrue(c.cmd("LIST").startswith(b"+OK"))
        sizes = [int(s) for s in listing(c.multi())]
        tops = []
        for i in range(1, ntop + 1):
            self.assertTrue(c.cmd("TOP %d 0" % i).startswith(b"+OK"))
            tops.append(c.multi())
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        c.close()
        return uidl, sizes, tops

    def pop3d_delete(self, srv, msns):
        c = srv.login_client()
        self.addCleanup(c.close)
        for n in msns:
            self.assertTrue(c.cmd("DELE %d" % n).startswith(b"+OK"))
        self.assertTrue(c.cmd("QUIT").startswith(b"+OK"))
        c.close()


class FromDovecot(Migration):

    @classmethod
    def setUpClass(cls):
        dovecot_ref.require()

    def dovecot(self, box, n):
        """Dovecot's UIDL, LIST, TOP i 0 for i in 1..n; and the mailbox
        as it left it (its X-IMAPbase, X-UID and Status headers)."""
        cmds = ["UIDL", "LIST"] + ["TOP %d 0" % i for i in
                                   range(1, n + 1)] + ["QUIT"]
        s = dovecot_ref.dovecot_session(box, cmds)
        for r in s.replies:
            self.assertTrue(r.startswith(b"+OK"), (r, s.log))
        uidl = listing(dovecot_ref.body(s.replies[0]))
        sizes = [int(x) for x in listing(dovecot_ref.body(s.replies[1]))]
        # the header lines as on the wire, without status and terminator
        tops = [r[r.index(b"\r\n") + 2:-3] for r in s.replies[2:2 + n]]
        return uidl, sizes, tops, s.mbox_after

    def test_dovecot_mailbox(self):
        n = 7
        # Dovecot serves the mailbox as delivered, and writes its headers
        uidl0, _, _, box = self.dovecot(MAILBOX, n)
        self.assertIn(b"\nX-IMAPbase: ", box)
        # what it serves from then on: the same UIDLs
        uidl, sizes, tops, box2 = self.dovecot(box, n)
        self.assertEqual(uidl, uidl0)
        self.assertEqual(box2, box)
        # lower case: Dovecot's %X is "%llx"
        self.assertTrue(all(re.match(r"^[0-9a-f]{16}$", u) for u in uidl),
                        uidl)

        srv = self.pop3d("dovecot", box)
        got_uidl, got_sizes, got_tops = self.pop3d_answers(srv, n)
        self.assertEqual(got_uidl, uidl)
        # Dovecot's size leaves out the line end it sends after a last
        # line without one; pop3d's is what RETR sends (README)
        self.assertEqual(got_sizes[-1], sizes[-1] + 2)
        self.assertEqual(got_sizes[:-1], sizes[:-1])
        # Dovecot sends the empty message (LIST size 0) as one line end;
        # pop3d sends what its size says (test_boundaries.py)
        self.assertEqual(tops[3], b"\r\n")
        tops[3] = b""
        self.assertEqual(got_tops, tops)

        # new mail: the old UIDLs stay, the new message gets pop3d's own
        srv.append_mbox(delivery(box))
        after_uidl, after_sizes, _ = self.pop3d_answers(srv)
        self.assertEqual(after_uidl[:n], uidl)
        self.assertEqual(after_sizes[:n - 1], sizes[:n - 1])
        self.assertRegex(after_uidl[n], OWN_UID)

        # deletions, the first message (which holds X-IMAPbase) among them
        self.pop3d_delete(srv, [1, 4])
        left_uidl, _, _ = self.pop3d_answers(srv)
        want = [after_uidl[i] for i in (1, 2, 4, 5, 6, 7)]
        self.assertEqual(left_uidl, want)

    def test_folder_data(self):
        # Dovecot emptied the mailbox: its UIDVALIDITY and last UID are
        # kept in the folder-data message, which neither server shows
        dele = ["DELE %d" % i for i in range(1, 8)]
        _, _, _, box = self.dovecot(MAILBOX, 0)
        box = dovecot_ref.dovecot_session(box, dele + ["QUIT"]).mbox_after
        self.assertIn(b"\nX-IMAP: ", box)
        uidl, sizes, tops, box = self.dovecot(box + NEW, 1)
        self.assertEqual(len(uidl), 1)
        srv = self.pop3d("dovecot", box)
        self.assertEqual(self.pop3d_answers(srv, 1), (uidl, sizes, tops))

    def test_index_cache(self):
        # A mailbox big enough for the index cache, cached without
        # uidl_compat: with it, the cache must not stand for the scan
        big = MAILBOX.replace(BIG, BIG * 30)
        uidl, sizes, _, box = self.dovecot(big, 0)
        srv = self.pop3d("none", box)
        own = self.pop3d_answers(srv)[0]
        cache = os.path.join(srv.maildir, ".alice.pop3d-index")
        self.assertTrue(os.path.exists(cache))
        srv.stop()
        srv.extra["uidl_compat"] = "dovecot"
        srv.start()
        got_uidl, got_sizes, _ = self.pop3d_answers(srv)
        self.assertEqual(got_uidl, uidl)
        self.assertEqual(got_sizes[:-1], sizes[:-1])
        # and back: pop3d's own UIDs, from the cache again
        srv.stop()
        srv.extra["uidl_compat"] = "none"
        srv.start()
        self.assertEqual(self.pop3d_answers(srv)[0], own)

    def test_no_x_uid_yet(self):
        # Dovecot never opened it: no UIDVALIDITY, so no inherited UIDL
        srv = self.pop3d("dovecot", MAILBOX)
        uidl, _, _ = self.pop3d_answers(srv)
        self.assertEqual(len(uidl), 7)
        for u in uidl:
            self.assertRegex(u, OWN_UID)


class FromPopa3d(Migration):

    @classmethod
    def setUpClass(cls):
        popa3d_ref.require()

    def test_popa3d_mailbox(self):
        uidl = popa3d_ref.popa3d_uidls(MAILBOX)
        self.assertEqual(len(uidl), 7)
        srv = self.pop3d("popa3d", MAILBOX)
        self.assertEqual(self.pop3d_answers(srv)[0], uidl)

        # new mail: old UIDLs stay; the new one's is popa3d's too, which
        # no other message of the mailbox has
        box = MAILBOX + delivery(MAILBOX)
        srv.append_mbox(delivery(MAILBOX))
        after = self.pop3d_answers(srv)[0]
        self.assertEqual(after[:7], uidl)
        self.assertEqual(after, popa3d_ref.popa3d_uidls(box))
        self.assertNotIn(after[7], uidl)

        self.pop3d_delete(srv, [1, 4])
        left = self.pop3d_answers(srv)[0]
        self.assertEqual(left, [after[i] for i in (1, 2, 4, 5, 6, 7)])
        self.assertEqual(left, popa3d_ref.popa3d_uidls(srv.read_mbox()))

    def test_shared_fingerprint(self):
        # popa3d gives the messages without any field it hashes (the
        # empty one, and these two) one UIDL; pop3d serves none of them
        # that value, but its own UIDs
        twins = (b"From a@b Mon Jan  1 00:00:01 2024\nSubject: 1\n\none\n\n"
                 b"From a@b Mon Jan  1 00:00:02 2024\nSubject: 2\n\ntwo\n")
        box = MAILBOX + b"\n\n" + twins
        theirs = popa3d_ref.popa3d_uidls(box)
        shared = (3, 7, 8)
        self.assertEqual(len({theirs[i] for i in shared}), 1)
        srv = self.pop3d("popa3d", box)
        ours = self.pop3d_answers(srv)[0]
        for i, u in enumerate(ours):
            if i in shared:
                self.assertRegex(u, OWN_UID)
            else:
                self.assertEqual(u, theirs[i])
        self.assertEqual(len(set(ours)), len(ours))


if __name__ == "__main__":
    unittest.main()
