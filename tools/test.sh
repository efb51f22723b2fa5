#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# The whole test suite from a fresh checkout: install what is missing, build,
# run every test.  Exits non-zero when anything fails.
set -eu
cd "$(dirname "$0")/.."
sh tools/deps.sh test
exec make test
