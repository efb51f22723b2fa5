# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""dovecot_ref, Dovecot as a reference mbox reader: it works, and what
Dovecot serves for each of its EDGE_CASES.

SERVES records, for each case, the (LIST size, RETR data) of every
message Dovecot 2.3.19 (Debian 12) served, or the reply with which it
refused the mailbox.  A Dovecot that reads a case differently fails
test_edge_cases: the record is then to be looked at again, not pop3d.
Skipped when the Dovecot packages can't be downloaded.
"""

import os
import stat
import sys
import tempfile
import unittest
from unittest import mock

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import dovecot_ref  # noqa: E402

M1 = b"Subject: 1\r\n\r\none\r\n"
M2 = b"Subject: 2\r\n\r\ntwo\r\n"
INVALID = b"-ERR [SYS/PERM] Mailbox isn't a valid mbox file\r\n"

SERVES = {
    "plain": [(19, M1), (20, b"Subject: 2\r\n\r\n.two\r\n")],
    # The line end before the From_ line is not the message's; LIST
    # counts without it, RETR ends the line anyway.
    "no_blank_before_from": [(17, M1), (19, M2)],
    "from_in_body": [(51, b"Subject: 1\r\n\r\none\r\n\r\n"
                      b"From here on, we go\r\nfurther\r\n")],
    "from_tz_numeric": [(19, M1), (19, M2)],
    "from_tz_name": [(19, M1), (19, M2)],
    "from_remote": [(19, M1), (19, M2)],
    "from_year_2digit": [(73, b"Subject: 1\r\n\r\none\r\n\r\n"
                          b"From a@b Mon Jan  1 00:00:00 24\r\n" + M2)],
    "from_no_seconds": [(19, M1), (19, M2)],
    "from_not_a_date": [(61, b"Subject: 1\r\n\r\none\r\n\r\n"
                         b"From a@b not a date\r\n" + M2)],
    "from_addr_only": [(50, b"Subject: 1\r\n\r\none\r\n\r\nFrom a@b\r\n" +
                        M2)],
    "bare_cr": [(19, b"Subject: 1\r\n\r\na\rb\r\n")],
    "crlf": [(19, M1)],
    "cr_at_eof": [(18, b"Subject: 1\r\n\r\none\r\r\n")],
    "gt_from": [(50, b"Subject: 1\r\n\r\n>From one\r\n>>From two\r\n\r\n"
                 b">From three\r\n")],
    "two_blank_lines": [(21, b"Subject: 1\r\n\r\none\r\n\r\n"), (19, M2)],
    "empty": [],
    "no_from": INVALID,
    "text_before_from": INVALID,
    "blank_before_from": INVALID,
    "first_from_no_date": INVALID,
    "from_line_only": [(0, b"\r\n")],
    "dovecot_headers": [(19, M1)],
    "content_length": [(67, b"Subject: 1\r\n\r\none\r\n\r\n"
                        b"From x@y Mon Jan  1 00:00:02 2024\r\n"
                        b"still one\r\n"), (19, M2)],
    "content_length_wrong": [(19, M1), (19, M2)],
}


class DovecotReads(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        dovecot_ref.require()

    def test_plain(self):
        got = dovecot_ref.dovecot_read(dovecot_ref.EDGE_CASES["plain"])
        self.assertEqual(got, [(19, M1),
                               (20, b"Subject: 2\r\n\r\n.two\r\n")])

    def test_raw_wire(self):
        # The stuffed dot, and a bare CR going out as it is.
        plain = dovecot_ref.EDGE_CASES["plain"]
        self.assertEqual(dovecot_ref.dovecot_retr_raw(plain, 2),
                         b"+OK 20 octets\r\nSubject: 2\r\n\r\n..two\r\n"
                         b".\r\n")
        cr = dovecot_ref.EDGE_CASES["bare_cr"]
        self.assertEqual(dovecot_ref.dovecot_retr_raw(cr),
                         b"+OK 19 octets\r\nSubject: 1\r\n\r\na\rb\r\n.\r\n")

    def test_edge_cases(self):
        self.assertEqual(set(SERVES), set(dovecot_ref.EDGE_CASES))
        for name, want in SERVES.items():
            with self.subTest(case=name):
                mbox = dovecot_ref.EDGE_CASES[name]
                try:
                    got = dovecot_ref.dovecot_read(mbox)
                except dovecot_ref.DovecotError as e:
                    got = e.session.replies[0]
                self.assertEqual(got, want)


class Offline(unittest.TestCase):

    def test_skip_reason(self):
        # apt-get failing as it does offline: a reason, no exception.
        with tempfile.TemporaryDirectory() as tmp:
            fake = os.path.join(tmp, "apt-get")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho 'E: Failed to fetch: Temporary "
                        "failure resolving' >&2\nexit 100\n")
            os.chmod(fake, stat.S_IRWXU)
            path = tmp + ":" + os.environ.get("PATH", "/usr/bin:/bin")
            with mock.patch.dict(os.environ, {"PATH": path}), \
                    mock.patch.object(dovecot_ref, "CACHE",
                                      os.path.join(tmp, "cache")), \
                    mock.patch.object(dovecot_ref, "_state", {}):
                why = dovecot_ref.unavailable()
                self.assertIn("Temporary failure resolving", why)
                with self.assertRaises(unittest.SkipTest):
                    dovecot_ref.require()


if __name__ == "__main__":
    unittest.main()
