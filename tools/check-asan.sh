#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# The whole test suite against the AddressSanitizer + UBSan build:
#   sh tools/check-asan.sh DIR UNIT_TEST...     (make check-asan)
# DIR holds the sanitizer build (DIR/pop3d), which the integration tests
# run through $POP3D.  The daemon's processes can't report on a terminal,
# so every sanitizer report goes to a file in a scratch directory (under
# /tmp: sessions run as an unprivileged user); any file there fails the
# run, even when every test passed.  A process inside the pre-login chroot
# can't reach that directory, nor can one started by a launcher that drops
# the environment (systemd-socket-activate): its report goes to the
# daemon's stderr instead, and since ASan and UBSan (built non-recoverable)
# abort the process, the test that drove it fails.
#
# LeakSanitizer runs in the unit tests (its default); DIR/pop3d is built
# with it off (tools/asan_daemon.c says why), so nothing here may set
# detect_leaks.  Its leaks are the business of valgrind (make test) and
# of the fuzz targets, which run session.c and mbox.c in one process.
#
# The run is bounded: CHECK_ASAN_TIMEOUT seconds (default 3600) for the
# whole suite, then every process of DIR/pop3d still alive is listed,
# killed by its pid and fails the run.
set -u
cd "$(dirname "$0")/.." || exit 1
dir=$1
shift
limit=${CHECK_ASAN_TIMEOUT:-3600}
reports=$(mktemp -d /tmp/pop3d-asan.XXXXXX) || exit 1
trap 'rm -rf "$reports"' EXIT
chmod 1777 "$reports"

ASAN_OPTIONS="log_path=$reports/asan:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
# Absolute and with no symbolic link: leftovers() compares it with exe.
POP3D=$(readlink -f "$dir/pop3d")
# The syscall filter's hooked daemon (test_sandbox.py), sanitized too.
POP3D_SANDBOX_HOOK=$(readlink -f "$dir/pop3d-sandbox-hook")
export ASAN_OPTIONS UBSAN_OPTIONS POP3D POP3D_SANDBOX_HOOK

# The pids of the processes running DIR/pop3d or its hooked twin (this
# run's: the paths are this build's).
leftovers() {
	for p in /proc/[0-9]*; do
		case $(readlink "$p/exe" 2>/dev/null) in
		"$POP3D"|"$POP3D (deleted)"|"$POP3D_SANDBOX_HOOK"|\
		"$POP3D_SANDBOX_HOOK (deleted)")
			echo "${p#/proc/}" ;;
		esac
	done
}

# timeout(1) signals its whole process group: run.sh, the tests and the
# daemons they didn't put in a session of their own.
timeout -k 30 "$limit" sh tests/run.sh "$@"
status=$?
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
	echo "check-asan: the suite did not end within $limit s"
fi

# A session may still be writing its last reply: give it a moment.
i=0
while [ -n "$(leftovers)" ] && [ $i -lt 20 ]; do
	sleep 0.5
	i=$((i + 1))
done
left=$(leftovers)
if [ -n "$left" ]; then
	echo
	echo "== $dir/pop3d processes left running (killed; check-asan fails):"
	for p in $left; do
		ps -o pid=,ppid=,user=,etime=,args= -p "$p"
		kill -KILL "$p" 2>/dev/null
	done
	status=1
fi

found=$(find "$reports" -type f | head -n 20)
if [ -n "$found" ]; then
	echo
	echo "== sanitizer reports (check-asan fails):"
	for f in $found; do
		echo "--- $f"
		head -n 60 "$f"
	done
	status=1
fi
[ "$status" -eq 0 ] && echo "check-asan: no sanitizer report"
exit $status
