#!/bin/sh
# The whole test suite against the AddressSanitizer + UBSan build:
#   sh tools/check-asan.sh DIR UNIT_TEST...     (make check-asan)
# DIR holds the sanitizer build (DIR/pop3d).  The integration tests run
# DIR/pop3d through $POP3D.  The daemon's processes can't report on a
# terminal, so every sanitizer report goes to a file in a scratch directory
# (under /tmp: sessions run as an unprivileged user); any file there fails
# the run, even when every test passed.  A process inside the pre-login
# chroot can't reach that directory: its report goes to the daemon's
# stderr instead, and since ASan and UBSan (built non-recoverable) abort
# the process, the test that drove it fails.
#
# LeakSanitizer runs in the unit tests only: in the daemon it needs
# /proc/PID/task, which the chrooted, unprivileged session process can't
# read, and it then fails every session.  The daemon gets detect_leaks=0
# through a wrapper; its leaks are the business of valgrind and of the
# fuzz targets (libFuzzer checks for leaks), which run session.c and
# mbox.c in one process.
set -u
cd "$(dirname "$0")/.."
dir=$1
shift
reports=$(mktemp -d /tmp/pop3d-asan.XXXXXX) || exit 1
trap 'rm -rf "$reports"' EXIT
chmod 1777 "$reports"

ASAN_OPTIONS="log_path=$reports/asan:detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1"
POP3D=$reports/pop3d
printf '#!/bin/sh\nASAN_OPTIONS="$ASAN_OPTIONS:detect_leaks=0" exec "%s" "$@"\n' \
    "$PWD/$dir/pop3d" >"$POP3D"
chmod 755 "$POP3D"
export ASAN_OPTIONS UBSAN_OPTIONS POP3D

sh tests/run.sh "$@"
status=$?

found=$(find "$reports" -type f ! -name pop3d | head -n 20)
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
