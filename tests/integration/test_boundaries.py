# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Where messages begin and end: pop3d against Dovecot, on the same bytes.

A mailbox in /var/mail is read by other programs too; a message that one
reader sees as two, or two that another sees as one, is how a DELE
removes what the client never saw.  For every edge case of dovecot_ref
(a From_ line without the blank line before it, text that starts with
"From ", From_ lines with other date forms, carriage returns, blank lines
before the next message, mailboxes that are not mbox at all), pop3d must
serve the messages Dovecot serves: as many, with the same bytes.

Two differences are Dovecot's own and are left out of the comparison:
Dovecot hides the headers it keeps its state in (Status, X-Status, X-UID,
X-Keywords, X-IMAPbase, Content-Length) where pop3d serves the message as
stored, and Dovecot's LIST size leaves out a line end it adds in RETR
(pop3d's LIST is what RETR sends).  A right Content-Length, which Dovecot
takes over a From_ line inside a body, pop3d takes with
`mbox_format mboxcl2`: that case is compared in that format.
"""

import os
import poplib
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot_ref  # noqa: E402
from harness import Pop3dCase  # noqa: E402

HIDDEN = (b"status:", b"x-status:", b"x-uid:", b"x-keywords:",
          b"x-imapbase:", b"content-length:")


def without_hidden(msg):
    """msg (RETR bytes, CRLF) without the header lines Dovecot hides."""
    head, sep, body = msg.partition(b"\r\n\r\n")
    if not sep:
        head, body = msg, b""
    keep = [l for l in head.split(b"\r\n")
            if not l.lower().startswith(HIDDEN)]
    return b"\r\n".join(keep) + sep + body


class BoundariesTest(Pop3dCase):

    @classmethod
    def setUpClass(cls):
        dovecot_ref.require()

    def pop3d_read(self, srv, data):
        """What pop3d serves for data: a list of RETR bytes, or None
        when it refuses the mailbox."""
        srv.write_mbox(data)
        p = poplib.POP3("127.0.0.1", srv.port, timeout=10)
        self.addCleanup(p.close)
        p.user("alice")
        try:
            p.pass_("secret")
        except poplib.error_proto as e:
            # the maildrop can't be read: -ERR, then the connection ends
            self.assertIsInstance(e.args[0], bytes,
                                  "the session ended: %r" % (e.args,))
            self.assertIn(b"[SYS/PERM]", e.args[0])
            return None
        msgs = []
        for i in range(1, p.stat()[0] + 1):
            lines = p.retr(i)[1]
            msgs.append(b"".join(l + b"\r\n" for l in lines))
        p.quit()
        return msgs

    def compare(self, srv, name, data):
        try:
            want = dovecot_ref.dovecot_read(data)
        except dovecot_ref.DovecotError:
            want = None
        got = self.pop3d_read(srv, data)
        if want is None:
            self.assertIsNone(got, "%s: Dovecot refuses it" % name)
            return
        self.assertIsNotNone(got, "%s: pop3d refuses it" % name)
        self.assertEqual(len(got), len(want), name)
        for i, (g, (size, w)) in enumerate(zip(got, want)):
            # Dovecot sends a line end its LIST size leaves out, even for
            # an empty message: pop3d sends what the size says
            if size == len(w) - 2 and w.endswith(b"\r\n") and g == w[:-2]:
                continue
            self.assertEqual(without_hidden(g), without_hidden(w),
                             "%s: message %d" % (name, i + 1))

    def test_edge_cases_mboxo(self):
        srv = self.server([], conf={"expire": "never"})
        for name, data in sorted(dovecot_ref.EDGE_CASES.items()):
            if name == "content_length":
                continue
            with self.subTest(case=name):
                self.compare(srv, name, data)

    def test_right_content_length_mboxcl2(self):
        srv = self.server([], conf={"expire": "never",
                                    "mbox_format": "mboxcl2"})
        for name in ("content_length", "content_length_wrong"):
            with self.subTest(case=name):
                self.compare(srv, name, dovecot_ref.EDGE_CASES[name])


if __name__ == "__main__":
    unittest.main()
