# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""A full spool: a user over quota or a full disk still logs in and
deletes mail by POP.

The mail directory is a 4 MiB tmpfs, filled to the last page by a file
of root's.  With nothing free, the login works (the dotlock is made
without a data block), deleting the last messages works (a cut needs no
journal), and deleting one in the middle answers QUIT with -ERR and
changes nothing; with a few pages free it works (smaller checkpoint
windows).  Needs root (mount); skipped otherwise.
"""

import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import Pop3dCase, build_mbox, message  # noqa: E402


def fill_to(path, leave):
    """Fill path's file system with a file until about leave bytes are
    free; returns the file's name."""
    filler = os.path.join(path, "filler")
    sv = os.statvfs(path)
    n = max(sv.f_bavail * sv.f_frsize - leave, 0)
    with open(filler, "ab") as f:
        try:
            while n > 0:
                k = min(n, 65536)
                f.write(b"\0" * k)
                n -= k
            f.flush()
        except OSError:
            pass		# full before the count: what was wanted
    return filler


@unittest.skipUnless(harness.IS_ROOT, "mounts a tmpfs: needs root")
class FullDiskTest(Pop3dCase):

    def setUp(self):
        self.msgs = [message("m%d" % i, ("body %d\n" % i) * 4000)
                     for i in range(6)]
        self.srv = self.server(start=False)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m",
                            "pop3d-test", self.srv.maildir],
                           capture_output=True)
        if r.returncode != 0:
            self.skipTest("cannot mount a tmpfs: %r" % r.stderr)
        self.addCleanup(subprocess.run, ["umount", self.srv.maildir])
        self.srv.write_mbox(self.msgs)	# also gives the directory away
        self.srv.start()

    def session(self, *numbers):
        """Log in, DELE numbers, QUIT; the QUIT reply."""
        c = self.login_client(self.srv)
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 6 "))
        for n in numbers:
            self.assertOK(c.cmd("DELE %d" % n))
        return c.cmd("QUIT")

    def test_nothing_free(self):
        filler = fill_to(self.srv.maildir, 0)
        self.assertLess(os.statvfs(self.srv.maildir).f_bavail, 2)
        self.assertOK(self.session(6))
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs[:5]))
        self.srv.write_mbox(self.msgs)
        # Moving mail needs a journal: no room for one, nothing changes.
        r = self.session(2)
        self.assertTrue(r.startswith(b"-ERR [SYS/TEMP]"), r)
        self.assertEqual(self.srv.read_mbox(), build_mbox(self.msgs))
        os.unlink(filler)

    def test_a_few_pages_free(self):
        fill_to(self.srv.maildir, 5 * 4096)
        self.assertOK(self.session(2, 4))
        self.assertEqual(self.srv.read_mbox(), build_mbox(
            [m for i, m in enumerate(self.msgs) if i not in (1, 3)]))
        self.assertIn("little free space", self.srv.log())


if __name__ == "__main__":
    unittest.main()
