#!/bin/sh
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
# Make sure the Debian packages pop3d needs are installed.
#   sh tools/deps.sh build   what building and the demo need
#   sh tools/deps.sh test    that plus what the test suite needs
#   sh tools/deps.sh fuzz    that plus clang and its sanitizer and libFuzzer
#                            runtimes (make fuzz, check-fuzz, check-asan)
#   sh tools/deps.sh lint    build packages plus cppcheck and clang-tidy
#                            (make lint)
#   sh tools/deps.sh 32      build packages plus gcc-multilib (make check-32)
#   sh tools/deps.sh deb     build packages plus dpkg-buildpackage, debhelper
#                            and lintian (make deb; the test set has them too)
# Several sets may be named at once (.ci/run: fuzz lint 32).  As root it
# installs what is missing with apt-get; otherwise it prints the command
# to run and fails.  With --check first (what make runs) it never
# installs: it prints what is missing and how to install it, and fails.
set -eu

check=0
if [ "${1:-}" = --check ]; then
	check=1
	shift
fi

build_pkgs="gcc make libc6-dev libcrypt-dev libmbedtls-dev openssl libpam0g-dev"
# libunwind8 and liblzma5: the libraries of Dovecot's pop3 and doveconf,
# which tests/integration/dovecot_ref.py unpacks from their packages (apt
# and dpkg fetch and unpack them) without installing Dovecot; popa3d,
# which popa3d_ref.py unpacks the same way, needs only libpam0g (a
# build dependency) and unshare (util-linux, essential).  fail2ban:
# its fail2ban-regex checks dist/fail2ban (tests/integration/test_fail2ban.py).
# libnss-systemd: Debian's `passwd: files systemd', whose module no session
# may map (tests/integration/test_nss.py).  libpam-modules: pam_access,
# which tests/integration/test_logging.py uses to show that PAM gets the
# client's address.
test_pkgs="libcmocka-dev python3 curl procps mpop fetchmail ca-certificates
    openbsd-inetd haproxy systemd procmail liblockfile-bin getmail6 mandoc
    valgrind apt dpkg libunwind8 liblzma5 fail2ban libnss-systemd
    libpam-modules"
# make deb and tests/integration/test_deb.py: building the package
# (dpkg-buildpackage, which also wants build-essential itself; dh) and
# checking it (lintian).  debian/control says Rules-Requires-Root: no, so
# no fakeroot.
deb_pkgs="dpkg-dev build-essential debhelper lintian"
fuzz_pkgs="clang libclang-rt-dev"
lint_pkgs="cppcheck clang-tidy"
m32_pkgs="gcc-multilib"

[ $# -gt 0 ] || set -- test
want=
for set in "$@"; do
	case $set in
	build) want="$want $build_pkgs" ;;
	test) want="$want $build_pkgs $test_pkgs $deb_pkgs" ;;
	fuzz) want="$want $build_pkgs $test_pkgs $deb_pkgs $fuzz_pkgs" ;;
	lint) want="$want $build_pkgs $lint_pkgs" ;;
	32) want="$want $build_pkgs $m32_pkgs" ;;
	deb) want="$want $build_pkgs $deb_pkgs" ;;
	*) echo "usage: sh tools/deps.sh [--check] build|test|fuzz|lint|32|deb..." >&2
	   exit 2 ;;
	esac
done

missing=
for p in $want; do
	case " $missing " in *" $p "*) continue ;; esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$check" -eq 1 ] || [ "$(id -u)" -ne 0 ]; then
	sudo=
	[ "$(id -u)" -ne 0 ] && sudo="sudo "
	echo "pop3d needs these Debian packages:$missing" >&2
	echo "install them with:  ${sudo}apt-get install -y$missing" >&2
	echo "(or: ${sudo}sh tools/deps.sh $*)" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
