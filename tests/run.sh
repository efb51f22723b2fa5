#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# Run every test: the cmocka unit tests named as arguments, then the
# integration tests against the real daemon.  Ends with one summary line,
# "N passed, N failed, N skipped", and a non-zero exit when anything failed.
cd "$(dirname "$0")/.."
passed=0
failed=0
skipped=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# A signal (check-asan's time limit) ends through exit, so the EXIT trap runs.
trap 'exit 1' HUP INT TERM

count() {	# add the counts cmocka printed
	p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -1)
	passed=$((passed + ${p:-0}))
	failed=$((failed + ${f:-0}))
}

for t in "$@"; do
	echo "== $t"
	if ! "./$t" >"$log" 2>&1; then
		cat "$log"
		grep -q '^\[  FAILED  \]' "$log" || failed=$((failed + 1))
	else
		grep -E '^\[ *(PASSED|FAILED) *\]|^crash points tried:' "$log"
	fi
	count
done

echo "== integration tests (tests/integration)"
python3 -m unittest discover -s tests/integration -t tests/integration -v \
    >"$log" 2>&1
status=$?
grep -qE '^(FAIL|ERROR):' "$log" && cat "$log"
tail -n 3 "$log"
# unittest ends with "Ran N tests" and "OK (skipped=S)" or
# "FAILED (failures=F, errors=E, skipped=S)".
ran=$(sed -n 's/^Ran \([0-9]*\) test.*/\1/p' "$log")
last=$(tail -n 1 "$log")
field() { echo "$last" | sed -n "s/.*$1=\([0-9]*\).*/\1/p"; }
f=$(field failures); e=$(field errors); sk=$(field skipped)
if [ -z "$ran" ] || { [ "$status" -ne 0 ] && [ -z "$f$e" ]; }; then
	echo "the integration tests did not run to the end"
	failed=$((failed + 1))
else
	bad=$((${f:-0} + ${e:-0}))
	passed=$((passed + ran - bad - ${sk:-0}))
	failed=$((failed + bad))
	skipped=$((skipped + ${sk:-0}))
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
