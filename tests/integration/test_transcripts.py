# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The golden transcripts (tests/transcripts/): each NAME.in run through
`pop3d -i` and compared byte for byte with NAME.out (and the mailbox
after it with NAME.mbox-after), one test per transcript.

tests/transcripts/run.py does the work and says how to regenerate the
golden files; this module only makes each transcript a test of its own.
"""

import importlib.util
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, pop3d_built  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "transcripts_run", os.path.join(REPO, "tests", "transcripts", "run.py"))
runner = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(runner)


@unittest.skipUnless(pop3d_built(), "pop3d not built (run make)")
class TranscriptTest(unittest.TestCase):
    """One test_NN_name per tests/transcripts/NN-name.in, added below."""


def _test(name):
    def test(self):
        fails = runner.check(name)
        if fails:
            self.fail("\n".join(fails))
    test.__doc__ = "tests/transcripts/%s.in" % name
    return test


for _name in runner.names():
    setattr(TranscriptTest, "test_" + _name.replace("-", "_"), _test(_name))
