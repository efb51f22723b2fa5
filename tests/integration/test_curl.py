# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""curl's pop3:// client against a standalone pop3d."""

import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Pop3dCase, pop_form, build_mbox,  # noqa: E402
                     default_messages, curl)


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class CurlTest(Pop3dCase):

    def setUp(self):
        self.msgs = default_messages()
        self.srv = self.server(self.msgs)
        self.url = "pop3://127.0.0.1:%d/" % self.srv.port

    def curl(self, *args):
        # Exit 67 (login denied) is retried briefly: the session of the
        # previous curl run may not have released its [IN-USE] lock yet.
        deadline = time.monotonic() + 3
        while True:
            r = curl(["-u", "alice:secret"] + list(args))
            if r.returncode != 67 or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if r.returncode != 0:
            self.fail("curl %s: exit %d: %s\nlog:\n%s" % (
                " ".join(args), r.returncode, r.stderr.decode(),
                self.srv.log()[-2000:]))
        return r.stdout

    def test_list(self):
        out = self.curl(self.url)
        self.assertEqual(out, b"".join(
            b"%d %d\r\n" % (i + 1, len(pop_form(m)))
            for i, m in enumerate(self.msgs)))
        # LIST retrieves nothing: the mbox is untouched.
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))

    def test_retrieve_each_message(self):
        # Retrieve from the last to the first: with EXPIRE 0 each RETR'd
        # message is removed at curl's QUIT, which renumbers those after it.
        for n in range(len(self.msgs), 0, -1):
            out = self.curl(self.url + str(n))
            self.assertEqual(out, pop_form(self.msgs[n - 1]),
                             "message %d differs" % n)
            self.assertEqual(self.srv.read_mbox(),
                             build_mbox(self.msgs[:n - 1]))

    def test_dele(self):
        self.curl("-X", "DELE 2", "-I", self.url)
        self.assertEqual(self.srv.read_mbox(),
                         build_mbox(self.msgs[:1] + self.msgs[2:]))

    def test_wrong_password(self):
        r = curl(["-u", "alice:wrong", self.url])
        self.assertNotEqual(r.returncode, 0)
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))


if __name__ == "__main__":
    unittest.main()
