#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# UPDATE of the big bench mailbox (delete every second message) against
# the machine's floor, without the daemon: builds bench/updbench.c with
# the daemon's modules and runs it (bench/RESULTS.md quotes it).  Not part
# of `make` or `make test`.
#
#   bench/updbench.sh [-n rounds] [-v]
#
# Needs bench/work/mbox/big-100000x5710.mbox (bench/mkmbox.py, or one
# `make bench`) and about 1.2 GB free on its filesystem.  UPDBENCH_BIG and
# UPDBENCH_DIR choose another mailbox or scratch directory.  For an A/B
# comparison, UPDBENCH_TREE=DIR builds from another checkout's sources
# and UPDBENCH_BIN=PATH names the binary (UPDBENCH_BUILD_ONLY=1: just
# build it).  Timing runs are serialised with other benchmarks through
# /tmp/pop3d-bench.lock.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
W=$HERE/work
BIG=${UPDBENCH_BIG:-$W/mbox/big-100000x5710.mbox}
DIR=${UPDBENCH_DIR:-$W/upd}
TREE=${UPDBENCH_TREE:-$REPO}
BIN=${UPDBENCH_BIN:-$W/bin/updbench}
OBJ=$W/updobj/$(printf '%s' "$TREE" | cksum | cut -d' ' -f1)

[ -f "$BIG" ] || { echo "updbench: no $BIG (run bench/mkmbox.py or make bench)" >&2; exit 1; }
# Every module but pop3d.c (the Makefile's CORE), compiled here into
# $W/updobj/ so that a make running in the tree at the same time is not
# disturbed; PAM as the Makefile decides it.
core=$(awk '/^CORE[ \t]*=/ { on = 1; sub(/^CORE[ \t]*=/, "") }
    on { c = sub(/\\$/, ""); print; if (!c) exit }' "$TREE/Makefile")
pam=
[ -f /usr/include/security/pam_appl.h ] && pam=-DHAVE_PAM
mkdir -p "$(dirname "$BIN")" "$OBJ" "$DIR"
objs=
for o in $core; do
	src=$TREE/${o%.o}.c
	obj=$OBJ/$o
	if [ ! -f "$obj" ] || [ -n "$(find "$src" "$TREE/include" -newer "$obj" \
	    -name '*.[ch]' | head -1)" ]; then
		cc -O2 -g -fno-omit-frame-pointer -D_GNU_SOURCE $pam \
		    -I"$TREE/include" -c -o "$obj" "$src"
	fi
	objs="$objs $obj"
done
# shellcheck disable=SC2086 # $objs is a list of paths without spaces
cc -O2 -g -fno-omit-frame-pointer -Wall -Wextra -Werror -D_GNU_SOURCE -I"$TREE/include" \
    -o "$BIN" "$HERE/updbench.c" $objs \
    -Wl,--wrap=fdatasync,--wrap=fsync,--wrap=pwrite,--wrap=pwritev,--wrap=sync_file_range \
    -Wl,--wrap=mmap,--wrap=munmap,--wrap=ftruncate,--wrap=unlink \
    -Wl,--wrap=posix_fallocate \
    -lcrypt -lmbedtls -lmbedx509 -lmbedcrypto
[ "${UPDBENCH_BUILD_ONLY:-0}" = 1 ] && exit 0
exec flock /tmp/pop3d-bench.lock "$BIN" "$@" "$BIG" "$DIR"
