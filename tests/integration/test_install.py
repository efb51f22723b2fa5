"""What the docs say about the version: `pop3d -V` and NEWS agree."""

import os
import re
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, pop3d_path  # noqa: E402


class VersionTest(unittest.TestCase):

    def test_version_is_news_first_heading(self):
        with open(os.path.join(REPO, "NEWS")) as f:
            heads = re.findall(r"(?m)^(\d+\.\d+\.\d+) \(.*\)\n=+$", f.read())
        self.assertTrue(heads, "NEWS has version headings")
        r = subprocess.run([pop3d_path(), "-V"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.decode(), "pop3d %s\n" % heads[0])


if __name__ == "__main__":
    unittest.main()
