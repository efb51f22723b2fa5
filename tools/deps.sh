#!/bin/sh
# Make sure the Debian packages pop3d needs are installed.
#   sh tools/deps.sh build   what building and the demo need
#   sh tools/deps.sh test    that plus what the test suite needs
#   sh tools/deps.sh fuzz    that plus clang and its sanitizer and libFuzzer
#                            runtimes (make fuzz, check-fuzz, check-asan)
#   sh tools/deps.sh lint    build packages plus cppcheck and clang-tidy
#                            (make lint)
#   sh tools/deps.sh 32      build packages plus gcc-multilib (make check-32)
# As root it installs what is missing with apt-get; otherwise it prints the
# command to run and fails.
set -eu

build_pkgs="gcc make libc6-dev libcrypt-dev libmbedtls-dev openssl libpam0g-dev"
# libunwind8 and liblzma5: the libraries of Dovecot's pop3 and doveconf,
# which tests/integration/dovecot_ref.py unpacks from their packages (apt
# and dpkg fetch and unpack them) without installing Dovecot.
test_pkgs="libcmocka-dev python3 curl procps mpop fetchmail ca-certificates
    openbsd-inetd haproxy systemd procmail liblockfile-bin getmail6 mandoc
    valgrind apt dpkg libunwind8 liblzma5"
fuzz_pkgs="clang libclang-rt-dev"
lint_pkgs="cppcheck clang-tidy"
m32_pkgs="gcc-multilib"

case "${1:-test}" in
build) want=$build_pkgs ;;
test) want="$build_pkgs $test_pkgs" ;;
fuzz) want="$build_pkgs $test_pkgs $fuzz_pkgs" ;;
lint) want="$build_pkgs $lint_pkgs" ;;
32) want="$build_pkgs $m32_pkgs" ;;
*) echo "usage: sh tools/deps.sh build|test|fuzz|lint|32" >&2; exit 2 ;;
esac

missing=
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "pop3d needs these Debian packages:$missing" >&2
	echo "install them with:  sudo apt-get install -y$missing" >&2
	exit 1
fi
echo "installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
