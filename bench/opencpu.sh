#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# CPU of a cold open (the full scan, no index cache) of the big bench
# mailbox, without the daemon: builds bench/opencpu.c with the daemon's
# modules (the Makefile's CORE) of each source tree named, default this
# one, then runs the builds in turn, ROUNDS times 3 opens each, on a copy
# of the mailbox, and prints per tree the median [min..max] of CPU
# (getrusage), user, system and wall ms, and the digest of every
# message's size and UID, which must be the same for every tree
# (DESIGN.md quotes it).  Not part of `make` or `make test`.
#
#   bench/opencpu.sh [-n ROUNDS] [TREE...]
#
# Before and after: `mkdir /tmp/old && git archive HEAD | tar -x -C
# /tmp/old`, then `bench/opencpu.sh /tmp/old .`.  OPENCPU_BIG: another mailbox
# (default bench/work/mbox/big-100000x5710.mbox, from bench/mkmbox.py or
# one `make bench`); the copy goes to bench/work/opencpu/ (570 MB).  Runs
# are serialised with other benchmarks through /tmp/pop3d-bench.lock.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(dirname "$HERE")
W=$HERE/work
BIG=${OPENCPU_BIG:-$W/mbox/big-100000x5710.mbox}
ROUNDS=5
if [ "${1:-}" = -n ]; then
	ROUNDS=$2
	shift 2
fi
[ $# -gt 0 ] || set -- "$REPO"
[ -f "$BIG" ] || { echo "opencpu: no $BIG (run bench/mkmbox.py or make bench)" >&2; exit 1; }
pam=
[ -f /usr/include/security/pam_appl.h ] && pam=-DHAVE_PAM

# Build opencpu for tree $1 into $W/opencpu/bin.N; prints the binary.
build() {	# tree n
	tree=$(cd "$1" && pwd)
	obj=$W/opencpu/obj.$2
	mkdir -p "$obj"
	core=$(awk '/^CORE[ \t]*=/ { on = 1; sub(/^CORE[ \t]*=/, "") }
	    on { c = sub(/\\$/, ""); print; if (!c) exit }' "$tree/Makefile")
	objs=
	for o in $core; do
		cc -O2 -g -D_GNU_SOURCE $pam -I"$tree/include" \
		    -c -o "$obj/$o" "$tree/${o%.o}.c"
		objs="$objs $obj/$o"
	done
	# shellcheck disable=SC2086 # paths without spaces
	cc -O2 -g -Wall -Wextra -D_GNU_SOURCE -I"$tree/include" \
	    -o "$W/opencpu/bin.$2" "$HERE/opencpu.c" $objs \
	    -lcrypt -lmbedtls -lmbedx509 -lmbedcrypto
	echo "$W/opencpu/bin.$2"
}

mkdir -p "$W/opencpu"
n=0
bins=
for t in "$@"; do
	n=$((n + 1))
	bins="$bins $(build "$t" $n)"
done
cp "$BIG" "$W/opencpu/big.mbox"
cat "$W/opencpu/big.mbox" > /dev/null
: > "$W/opencpu/runs"
r=0
while [ $r -lt "$ROUNDS" ]; do
	n=0
	for b in $bins; do
		n=$((n + 1))
		flock /tmp/pop3d-bench.lock "$b" "$W/opencpu/big.mbox" 3 |
		    sed "s|^|$n |" >> "$W/opencpu/runs"
	done
	r=$((r + 1))
done
rm -f "$W/opencpu/big.mbox"
n=0
for t in "$@"; do
	n=$((n + 1))
	echo "$t:"
	awk -v k=$n '$1 == k && $2 == "run" { print $5, $7, $9, $11 }' \
	    "$W/opencpu/runs" | sort -n | awk '
	    { c[NR] = $1; u[NR] = $2; s[NR] = $3; w[NR] = $4 }
	    END { m = int((NR + 1) / 2)
		printf "  cpu ms %.0f [%.0f..%.0f] (user %.0f, sys %.0f, wall %.0f; median run of %d)\n",
		c[m], c[1], c[NR], u[m], s[m], w[m], NR }'
	awk -v k=$n '$1 == k && $2 == "digest"' "$W/opencpu/runs" |
	    sort -u | sed 's/^[0-9]* /  /'
done
