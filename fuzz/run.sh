#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# Replay each target's regression inputs, then fuzz it for SECONDS.
#   sh fuzz/run.sh SECONDS TARGET...     (make fuzz / make check-fuzz)
# New corpus entries go to build/fuzz/corpus/TARGET (kept between runs, not
# in git), crashes to build/fuzz/artifacts/, logs to build/fuzz/logs/.
# Exits non-zero when a regression input or the fuzzer fails.
set -u
cd "$(dirname "$0")/.."
secs=$1
shift
status=0
mkdir -p build/fuzz/artifacts build/fuzz/logs

for t in "$@"; do
	bin=build/fuzz/fuzz_$t
	log=build/fuzz/logs/$t.log
	# Inputs a little above the longest seed: an mbox needs room to
	# hold several messages, the rest are lines.
	case $t in
	mbox|transform) maxlen=16384 ;;
	*) maxlen=4096 ;;
	esac
	mkdir -p "build/fuzz/corpus/$t"
	reg=fuzz/regressions/$t
	if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
		if ! "$bin" "$reg"/* >"$log" 2>&1; then
			echo "== $t: a regression input fails"
			tail -n 40 "$log"
			status=1
			continue
		fi
		echo "== $t: $(ls "$reg" | wc -l) regression inputs pass"
	fi
	echo "== $t: fuzzing for $secs s"
	if ! "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
	    -max_len="$maxlen" -print_final_stats=1 \
	    -artifact_prefix="build/fuzz/artifacts/$t-" \
	    "build/fuzz/corpus/$t" "fuzz/corpus/$t" >"$log" 2>&1; then
		echo "== $t: FAILED (crash input in build/fuzz/artifacts/)"
		grep -A 30 -m 1 -E 'ERROR|invariant|runtime error' "$log"
		status=1
		continue
	fi
	# The last status line: "#N DONE cov: C ft: F corp: ... exec/s: E".
	grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1
done
exit $status
