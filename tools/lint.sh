#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# Static analysis (make lint): cppcheck and clang-tidy over the daemon's
# sources.  cppcheck's suppressions are inline (cppcheck-suppress, with a
# reason beside them); clang-tidy's checks are in .clang-tidy, and
# findings in files that could not be edited are in tools/lint.supp.
# Exit 0 when both are clean.  JOBS=N runs N clang-tidy processes.
set -u
cd "$(dirname "$0")/.."
srcs=$(ls ./*.c | sed 's|^\./||')
cflags="-Iinclude -D_GNU_SOURCE -DHAVE_PAM -std=gnu11"
status=0

echo "== cppcheck"
cppcheck --quiet --enable=warning,portability,performance --std=c11 \
    -D_GNU_SOURCE -Iinclude --inline-suppr --error-exitcode=1 \
    --template='{file}:{line}: {severity} ({id}): {message}' $srcs ||
    status=1

echo "== clang-tidy"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
# shellcheck disable=SC2086
printf '%s\n' $srcs | xargs -P "${JOBS:-$(nproc)}" -I{} \
    sh -c 'clang-tidy --quiet "$1" -- '"$cflags"' 2>/dev/null' sh {} \
    >"$out"
# Each finding: "path:line:col: warning: text [check]"; keep those that
# tools/lint.supp doesn't list, judged by the flagged line's text.
grep -E '^[^ ]+:[0-9]+:[0-9]+: (warning|error):' "$out" |
while IFS= read -r f; do
	file=$(echo "$f" | cut -d: -f1)
	line=$(echo "$f" | cut -d: -f2)
	check=$(echo "$f" | sed -n 's/.*\[\([^]]*\)\]$/\1/p')
	text=$(sed -n "${line}p" "$file" | sed 's/^[[:space:]]*//;s/[[:space:]]*$//')
	key="${file#"$PWD"/}|$check|$text"
	grep -vE '^(#|$)' tools/lint.supp | grep -qxF "$key" && continue
	echo "$f"
done >"$out.new"
if [ -s "$out.new" ]; then
	cat "$out.new"
	echo "clang-tidy: $(wc -l <"$out.new") findings"
	status=1
fi
rm -f "$out.new"
[ "$status" -eq 0 ] && echo "lint: clean"
exit "$status"
