#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# pop3d against mbedTLS 3.6 (make check-mbedtls3).  Debian 12 ships
# mbedTLS 2.28, which the normal build uses; tls.c also has 3.x
# branches, and this is what builds and runs them.
#   sh tools/mbedtls3.sh fetch DIR           mbedTLS 3.6 into DIR/root
#   sh tools/mbedtls3.sh test DIR UNIT_TEST...
#
# fetch: downloads Debian 13's (trixie) mbedTLS packages with apt-get,
# through a sources list and package lists of its own in DIR/pkgs, and
# unpacks them into DIR/root without installing anything.  Their libraries
# need only glibc 2.25, so they run on Debian 12.  Packages already in
# DIR/pkgs are reused (delete DIR/pkgs to fetch the current ones).
#
# test: checks that DIR/pop3d loads the 3.6 libraries (ldd), runs the
# unit tests named, then every integration test that drives TLS, with
# $POP3D pointing the harness at DIR/pop3d.  Bounded by
# CHECK_MBEDTLS3_TIMEOUT seconds (default 1800).
set -u
cd "$(dirname "$0")/.." || exit 1

# The library packages next to libmbedtls-dev: apt-get download takes no
# dependencies, and these names carry the sonames of 3.6.
PKGS="libmbedtls-dev libmbedcrypto16 libmbedtls21 libmbedx509-7"
SUITE="http://deb.debian.org/debian trixie main"

fetch() {
	dir=$1
	root=$dir/root
	mkdir -p "$dir/pkgs/lists/partial" "$dir/pkgs/cache/archives/partial" \
	    "$dir/pkgs/sources.list.d" || exit 1
	# apt takes relative paths from /etc/apt.
	pkgs=$(readlink -f "$dir/pkgs")
	if ! ls "$pkgs"/libmbedtls-dev_*.deb >/dev/null 2>&1; then
		echo "deb $SUITE" >"$pkgs/trixie.list"
		set -- -o "Dir::Etc::sourcelist=$pkgs/trixie.list" \
		    -o "Dir::Etc::sourceparts=$pkgs/sources.list.d" \
		    -o "Dir::State::Lists=$pkgs/lists" \
		    -o "Dir::Cache=$pkgs/cache" -o APT::Sandbox::User=root
		apt-get "$@" -qq update || exit 1
		# shellcheck disable=SC2086
		(cd "$pkgs" && apt-get "$@" -qq download $PKGS) || exit 1
	fi
	rm -rf "$root"
	for d in "$pkgs"/*.deb; do
		dpkg-deb -x "$d" "$root" || exit 1
	done
	if ! [ -f "$root/usr/include/mbedtls/build_info.h" ]; then
		echo "mbedtls3: $root holds no mbedTLS 3 headers" >&2
		exit 1
	fi
	echo "mbedtls3: using $(cd "$pkgs" && ls libmbedtls-dev_*.deb)"
}

# Program $2 must load every mbedTLS library from DIR/root ($1), none
# from the system: the rpath could be lost, or a 2.28 library picked up.
check_libs() {
	root=$(readlink -f "$1/root")
	out=$(ldd "$2") || exit 1
	for lib in libmbedtls.so.21 libmbedx509.so.7 libmbedcrypto.so.16; do
		if ! echo "$out" | grep -q "$lib => $root/"; then
			echo "mbedtls3: $2 does not load $lib from $root" >&2
			exit 1
		fi
	done
	if [ "$(echo "$out" | grep -c mbed)" -ne 3 ]; then
		echo "mbedtls3: $2 loads another mbedTLS too" >&2
		exit 1
	fi
}

run_tests() {
	dir=$1
	shift
	echo "== ldd $dir/pop3d"
	ldd "$dir/pop3d" | grep mbed
	for p in "$dir/pop3d" "$@"; do
		check_libs "$dir" "$p"
	done
	status=0
	for t in "$@"; do
		echo "== $t"
		"./$t" || status=1
	done
	POP3D=$(readlink -f "$dir/pop3d")
	export POP3D
	# Every test module, class or method whose name says TLS, and the
	# interoperability matrix (its clients use STLS and port 995).
	echo "== integration tests that use TLS, against $POP3D"
	timeout -k 30 "${CHECK_MBEDTLS3_TIMEOUT:-1800}" \
	    python3 -m unittest discover -s tests/integration \
	    -t tests/integration -k tls -k Tls -k TLS -k test_interop ||
	    status=1
	[ "$status" -eq 0 ] && echo "check-mbedtls3: passed"
	return "$status"
}

case "${1:-}" in
fetch)	[ $# -eq 2 ] || exit 2; fetch "$2" ;;
test)	[ $# -ge 2 ] || exit 2; shift; run_tests "$@" ;;
*)	echo "usage: sh tools/mbedtls3.sh fetch DIR | test DIR TEST..." >&2
	exit 2 ;;
esac
