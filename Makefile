# pop3d: a small POP3 server for mbox maildrops.
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
#   make            build ./pop3d
#   make test       build and run every test (unit, transcript, integration)
#   make check      the same with warnings as errors (WERROR=1), as CI does
#   make demo       build and run a demo server in the foreground on loopback
#   make bench      benchmark against Dovecot and popa3d (bench/run; minutes)
#   make install    install under $(DESTDIR)$(PREFIX) (INSTALL_STRIP= keeps symbols)
#   make uninstall  remove what make install put there
#   make deb        the Debian package (debian/), into build/deb/
#   make lint       cppcheck and clang-tidy (tools/lint.sh)
# Objects go under build/, a directory per variant ("Variants" below);
# ./pop3d and the test programs in tests/ are the normal build's.

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
DOCDIR	?= $(PREFIX)/share/doc/pop3d
ETCDIR	?= /etc
# systemd units: Debian's place for units a package ships.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
UNITS	 = pop3d.socket pop3s.socket pop3d.service pop3d@.service
# The installed binary is stripped (-g's debug information and the
# symbol table are four fifths of ./pop3d); INSTALL_STRIP= keeps them, for a debug build or a packager
# whose tools strip and keep the symbols apart (dh_strip).
INSTALL_STRIP ?= -s

CC	?= cc
# No unwind tables: C without exceptions never unwinds, and debuggers
# read -g's .debug_frame instead; they were a tenth of the stripped
# binary (make bench reports its size: "binary size, stripped").
CFLAGS	?= -O2 -g -fno-asynchronous-unwind-tables
WARN	 = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	   -Wpointer-arith -Wcast-qual -Wformat=2
# Warnings stop the build only with WERROR=1 (make check, .ci/run), so
# that a newer compiler's new warnings don't stop a packager's build.
WERROR	?=
WERROR_FLAG = $(if $(filter 1,$(WERROR)),-Werror)
# 64-bit file offsets on 32-bit systems too (i386, armhf): a mailbox of
# 2 GiB or more must open there; include/params.h asserts it.
CPPFLAGS += -Iinclude -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
LDLIBS	 = -lcrypt -lmbedtls -lmbedx509 -lmbedcrypto
# Bind every symbol at start-up (and full RELRO): with lazy binding each
# child resolved again, page by page, what the listener had never called,
# about 30 page faults per plain session (counted with perf stat; make
# bench shows only the CPU and sessions/s they cost).
LDFLAGS	+= -Wl,-z,now

# PAM (auth pam) is built in where its header is installed (libpam0g-dev)
# and loaded with dlopen only when configured; PAM=0 leaves it out.
PAM	?= $(shell test -f /usr/include/security/pam_appl.h && echo 1 || echo 0)
ifeq ($(PAM),1)
CPPFLAGS += -DHAVE_PAM
endif
# -pthread: test_sandbox starts a thread to see the session's filter kill it.
TESTLIBS = -lcmocka -pthread

# Every module but the one holding main(), shared by the daemon and the
# tests (bench/updbench.sh and bench/opencpu.sh read this list too).
CORE	 = session.o mbox.o uids.o update.o journal.o lock.o transform.o \
	   conf.o auth.o log.o buf.o base64.o md5.o conn.o tls.o proxy.o \
	   peerlimit.o listen.o logindelay.o indexcache.o fileio.o spool.o \
	   fromline.o privsep.o privmsg.o prelogin.o direct.o pwcheck.o \
	   account.o sandbox.o recover.o tlskeys.o proctitle.o check.o

UNIT_TESTS = tests/test_session tests/test_mbox tests/test_transform \
	     tests/test_lock tests/test_uids tests/test_update tests/test_conf \
	     tests/test_auth tests/test_base64 tests/test_proxy \
	     tests/test_privsep tests/test_peerlimit tests/test_scan \
	     tests/test_tls tests/test_md5 tests/test_spool \
	     tests/test_fromline tests/test_sandbox
CRASH_TESTS	 = tests/test_crash
HOOK_BIN	 = tests/pop3d-sandbox-hook

all: pop3d

# ----------------------------------------------------------------------
# Variants.  Each is a directory under build/ and how its objects are
# compiled: V_DIR, V_CC and V_CFLAGS (every flag but -c and -o).  The
# one compile rule (define variant) makes V_DIR/PATH.o of PATH.c, so
# tests/test_mbox.c gives build/obj/tests/test_mbox.o.

# The daemon and the unit tests.
OBJ_DIR	 = build/obj
OBJ_CC	 = $(CC)
OBJ_CFLAGS = $(CPPFLAGS) $(CFLAGS) $(WARN) $(WERROR_FLAG)

# The crash tests: journal.c's write boundaries call the fault hooks of
# tests/faults.c (include/faults.h); the daemon's objects have none.
FAULT_DIR	 = build/faults
FAULT_CC	 = $(CC)
FAULT_CFLAGS	 = $(CPPFLAGS) -DPOP3D_FAULTS $(CFLAGS) $(WARN) $(WERROR_FLAG)

# clang with AddressSanitizer and UBSan (non-recoverable: any undefined
# behaviour is a crash), for the fuzz targets and make check-asan.  clang,
# because gcc's UBSan ignores log_path and the daemon's reports would be
# lost; no -Werror, because clang warns about other things than gcc does.
SAN_CFLAGS	 = -O1 -g -fno-omit-frame-pointer \
		   -fsanitize=address,undefined -fno-sanitize-recover=undefined

# The libFuzzer targets (fuzz/README).
FUZZ_CC		?= clang
FUZZ_DIR	 = build/fuzz
FUZZ_CFLAGS	 = $(CPPFLAGS) -Itests $(SAN_CFLAGS) \
		   -fsanitize=fuzzer-no-link $(WARN)

# The whole test suite against a sanitized daemon (make check-asan).
ASAN_CC		?= clang
ASAN_DIR	 = build/asan
ASAN_CFLAGS	 = $(CPPFLAGS) $(SAN_CFLAGS) $(WARN)

# mbedTLS 3.6 (Debian 13's packages, downloaded and unpacked into
# build/mbedtls3/root, not installed; tools/mbedtls3.sh).  Needs
# deb.debian.org the first time; M3_NEEDS fetches them before compiling.
M3_DIR		 = build/mbedtls3
M3_ROOT		 = $(CURDIR)/$(M3_DIR)/root
M3_STAMP	 = $(M3_DIR)/root/usr/include/mbedtls/build_info.h
M3_NEEDS	 = $(M3_STAMP)
M3_CC		 = $(CC)
M3_CFLAGS	 = $(CPPFLAGS) -I$(M3_ROOT)/usr/include $(CFLAGS) $(WARN) \
		   $(WERROR_FLAG)

# i386 (gcc -m32, Debian's gcc-multilib), compiled only: linking would
# need i386 builds of the libraries (make check-32).
M32_DIR		 = build/m32
M32_CC		 = $(CC)
M32_CFLAGS	 = -m32 $(OBJ_CFLAGS)

# V_CORE: CORE's objects in V_DIR.  -MMD records the headers each object
# includes (V_DIR/*.d, read back here); V_DIR/flags holds the compiler
# and flags of the last build and is rewritten when they change, so that
# another CFLAGS, PAM or WERROR rebuilds the variant's objects.
define variant
$(1)_CORE = $$(CORE:%=$$($(1)_DIR)/%)

$$($(1)_DIR)/%.o: %.c $$($(1)_DIR)/flags | $$($(1)_NEEDS)
	@mkdir -p $$(@D)
	$$($(1)_CC) $$($(1)_CFLAGS) -MMD -MP -c -o $$@ $$<

$$($(1)_DIR)/flags: FORCE
	@mkdir -p $$(@D)
	@echo '$$($(1)_CC) $$($(1)_CFLAGS)' | cmp -s - $$@ || \
	    echo '$$($(1)_CC) $$($(1)_CFLAGS)' >$$@

-include $$(wildcard $$($(1)_DIR)/*.d $$($(1)_DIR)/tests/*.d \
    $$($(1)_DIR)/fuzz/*.d $$($(1)_DIR)/tools/*.d)
endef

$(foreach v,OBJ FAULT FUZZ ASAN M3 M32,$(eval $(call variant,$(v))))

FORCE:

# -Os for code that runs once per process, connection or login, never per
# message or byte of mail (tls.o too: per record it only hands buffers to
# mbedTLS): 16 kB off the stripped binary, 174,360 bytes against 190,744
# all -O2 (make bench: "binary size, stripped").
COLD	 = conf.o privsep.o privmsg.o prelogin.o direct.o pop3d.o pwcheck.o \
	   account.o auth.o listen.o proxy.o lock.o log.o peerlimit.o \
	   logindelay.o spool.o tls.o sandbox.o recover.o tlskeys.o \
	   proctitle.o check.o
# private: the variant's flags file must not see it.
$(COLD:%=$(OBJ_DIR)/%): private CFLAGS += -Os

# ----------------------------------------------------------------------
# Programs.  Each links its variant's objects; $^ is the list.
OBJ_LD	 = $(CC) $(CFLAGS) $(LDFLAGS)
SAN_LD	 = $(ASAN_CC) $(SAN_CFLAGS) $(LDFLAGS)

pop3d: $(OBJ_DIR)/pop3d.o $(OBJ_CORE)
	$(OBJ_LD) -o $@ $^ $(LDLIBS)

$(UNIT_TESTS): tests/%: $(OBJ_DIR)/tests/%.o $(OBJ_CORE)
	$(OBJ_LD) -o $@ $^ $(LDLIBS) $(TESTLIBS)

# test_tls moves the clock twelve hours on (ticket key rotation) through
# its own time(3); the daemon has no such knob.
%/test_tls: TESTLIBS += -Wl,--wrap=time

# The crash tests (CRASH_LONG=1 runs the long variants; .ci/run sets it).
$(CRASH_TESTS): tests/%: $(FAULT_DIR)/tests/%.o $(FAULT_DIR)/tests/faults.o \
    $(FAULT_CORE)
	$(OBJ_LD) -o $@ $^ $(LDLIBS) $(TESTLIBS)

# The daemon with the syscall filter's test hooks, for
# tests/integration/test_sandbox.py: pop3d's objects with read and prctl
# wrapped at link time by tests/sandbox_hook.c (which says what the hooks
# do).  pop3d itself is linked without them.
HOOK_LDFLAGS	 = -Wl,--wrap=read -Wl,--wrap=prctl

$(HOOK_BIN): $(OBJ_DIR)/tests/sandbox_hook.o $(OBJ_DIR)/pop3d.o $(OBJ_CORE)
	$(OBJ_LD) $(HOOK_LDFLAGS) -o $@ $^ $(LDLIBS)

# make checks that the Debian packages are there and says how to install
# them; it installs nothing (tools/test.sh and tools/deps.sh do).
check-deps:
	@sh tools/deps.sh --check test

test: check-deps pop3d $(HOOK_BIN) $(UNIT_TESTS) $(CRASH_TESTS)
	@sh tests/run.sh $(UNIT_TESTS) $(CRASH_TESTS)

# export: the make that test_launch.py runs must see the same flags.
check: export WERROR = 1
check: test

demo: pop3d
	@sh tools/demo.sh --no-build

# Not part of `make test`: generates ~700 MB of mailboxes under bench/work/
# and takes minutes.  BENCH_QUICK=1 BENCH_REPEATS=N: see bench/run.
bench: pop3d
	@bench/run

# What make install puts under $(DESTDIR) besides the directories of
# the hierarchy (sbin, share/man/man8, ...), which make uninstall leaves.
DOCS	 = README NEWS LICENSE DESIGN.md pop3d.conf.example
F2B	 = filter.d/pop3d.conf jail.d/pop3d.conf
# /etc/pop3d holds the passwd file and TLS keys, read only by root (the
# daemon reads them before it leaves root): 0750, root's group; made
# only where missing, so an existing one keeps its administrator's mode.
# /var/empty is the default chroot, which pop3d can't make itself under
# the units' ProtectSystem=strict.  Children before parents.
OWN_DIRS = $(DOCDIR)/fail2ban/filter.d $(DOCDIR)/fail2ban/jail.d \
	   $(DOCDIR)/fail2ban $(DOCDIR) $(ETCDIR)/pop3d /var/empty

install: pop3d
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSTEMDDIR) \
	    $(DESTDIR)$(DOCDIR)/fail2ban/filter.d \
	    $(DESTDIR)$(DOCDIR)/fail2ban/jail.d
	install $(INSTALL_STRIP) -m 755 pop3d $(DESTDIR)$(SBINDIR)/pop3d
	install -m 644 pop3d.8 $(DESTDIR)$(MANDIR)/man8/pop3d.8
	install -m 644 pop3d.conf.5 $(DESTDIR)$(MANDIR)/man5/pop3d.conf.5
	install -m 644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	for f in $(UNITS); do \
	    sed 's|@SBINDIR@|$(SBINDIR)|g' dist/$$f \
	        >$(DESTDIR)$(SYSTEMDDIR)/$$f && \
	    chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$$f || exit 1; \
	done
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/inetd.conf \
	    >$(DESTDIR)$(DOCDIR)/inetd.conf
	chmod 644 $(DESTDIR)$(DOCDIR)/inetd.conf
	install -m 644 dist/pam.d/pop3 $(DESTDIR)$(DOCDIR)/pam.pop3
	for f in $(F2B); do \
	    install -m 644 dist/fail2ban/$$f $(DESTDIR)$(DOCDIR)/fail2ban/$$f \
	    || exit 1; \
	done
	test -d $(DESTDIR)$(ETCDIR)/pop3d || \
	    install -d -m 750 $(DESTDIR)$(ETCDIR)/pop3d
	install -d -m 755 $(DESTDIR)/var/empty
	@echo "pop3d installed.  Before the first start: create its user"
	@echo "(adduser --system --group --no-create-home pop3d), then"
	@echo "$(ETCDIR)/pop3d.conf from $(DOCDIR)/pop3d.conf.example"
	@echo "and either 'systemctl enable --now pop3d.socket' or an inetd line;"
	@echo "port 995 once tls_cert is set: 'systemctl enable --now pop3s.socket'."
	@echo "For auth pam: copy $(DOCDIR)/pam.pop3 to /etc/pam.d/pop3."

# Removes what install put there and nothing else: not /etc/pop3d.conf
# nor what the administrator put in /etc/pop3d (a directory that is not
# empty stays, and is named).  An empty /var/empty goes too, though make
# can't tell whether install made it: pop3d makes it again at start
# where it can (not under ProtectSystem=strict).
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/pop3d $(DESTDIR)$(MANDIR)/man8/pop3d.8 \
	    $(DESTDIR)$(MANDIR)/man5/pop3d.conf.5 \
	    $(UNITS:%=$(DESTDIR)$(SYSTEMDDIR)/%) \
	    $(DOCS:%=$(DESTDIR)$(DOCDIR)/%) $(DESTDIR)$(DOCDIR)/inetd.conf \
	    $(DESTDIR)$(DOCDIR)/pam.pop3 $(F2B:%=$(DESTDIR)$(DOCDIR)/fail2ban/%)
	@for d in $(OWN_DIRS:%=$(DESTDIR)%); do \
	    test ! -d $$d || rmdir $$d 2>/dev/null || \
	        echo "$$d is not empty: kept"; \
	done

# The Debian package, built by dpkg-buildpackage in a copy of the tree
# (DEB_DIR/src): its clean step runs make clean, which must not take this
# tree's build, and it writes the .deb into the parent directory, here
# DEB_DIR.  The copy leaves out what make and make bench put in the tree.
DEB_DIR	?= build/deb

deb:
	@sh tools/deps.sh --check deb
	rm -rf $(DEB_DIR)/src $(DEB_DIR)/pop3d*_* && mkdir -p $(DEB_DIR)/src
	tar -cf - --exclude=./.git --exclude=./build --exclude=./bench/work \
	    --exclude=./tests/integration/.dovecot . | tar -xf - -C $(DEB_DIR)/src
	cd $(DEB_DIR)/src && dpkg-buildpackage -us -uc -b
	rm -rf $(DEB_DIR)/src
	@ls $(DEB_DIR)/*.deb

# build/fuzz and build/asan stay (make clean-fuzz), and so does
# build/mbedtls3, whose packages came over the network (rm -rf it).
clean:
	rm -f pop3d $(UNIT_TESTS) $(CRASH_TESTS) $(HOOK_BIN)
	rm -rf $(OBJ_DIR) $(FAULT_DIR) $(M32_DIR)
	rm -rf tests/__pycache__ tests/integration/__pycache__
	rm -rf tests/integration/.dovecot tests/integration/.popa3d

.PHONY: all test check demo bench install uninstall deb clean check-deps FORCE

# ----------------------------------------------------------------------
# Fuzzing (fuzz/README): libFuzzer targets, clang with ASan and UBSan.
#   make fuzz          each target FUZZ_SECONDS (default 60) seconds
#   make check-fuzz    replay fuzz/regressions, then each target 10 s (CI)
FUZZ_SECONDS	?= 60
FUZZ_TARGETS	?= session mbox transform conf passwd base64 proxy privsep tls
FUZZ_BIN	 = $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

$(FUZZ_BIN): $(FUZZ_DIR)/%: $(FUZZ_DIR)/fuzz/%.o $(FUZZ_DIR)/fuzz/fuzz_util.o \
    $(FUZZ_CORE)
	$(FUZZ_CC) $(SAN_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

check-fuzz-deps:
	@sh tools/deps.sh --check fuzz

fuzz-build: $(FUZZ_BIN)

fuzz: check-fuzz-deps $(FUZZ_BIN)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

check-fuzz: check-fuzz-deps $(FUZZ_BIN)
	@sh fuzz/run.sh 10 $(FUZZ_TARGETS)

# The whole test suite against a daemon and unit tests built with ASan
# and UBSan (tools/check-asan.sh).  The daemon alone links
# tools/asan_daemon.c: LeakSanitizer off whatever environment reaches it
# (that file says why).
ASAN_TESTS	 = $(UNIT_TESTS:tests/%=$(ASAN_DIR)/tests/%)
ASAN_DAEMON	 = $(ASAN_DIR)/pop3d.o $(ASAN_CORE) $(ASAN_DIR)/tools/asan_daemon.o

$(ASAN_DIR)/pop3d: $(ASAN_DAEMON)
	$(SAN_LD) -o $@ $^ $(LDLIBS)

$(ASAN_DIR)/pop3d-sandbox-hook: $(ASAN_DIR)/tests/sandbox_hook.o $(ASAN_DAEMON)
	$(SAN_LD) $(HOOK_LDFLAGS) -o $@ $^ $(LDLIBS)

$(ASAN_TESTS): $(ASAN_DIR)/tests/%: $(ASAN_DIR)/tests/%.o $(ASAN_CORE)
	$(SAN_LD) -o $@ $^ $(LDLIBS) $(TESTLIBS)

check-asan: check-fuzz-deps $(ASAN_DIR)/pop3d $(ASAN_DIR)/pop3d-sandbox-hook \
    $(ASAN_TESTS)
	@sh tools/check-asan.sh $(ASAN_DIR) $(ASAN_TESTS)

clean-fuzz:
	rm -rf $(FUZZ_DIR) $(ASAN_DIR)

.PHONY: fuzz fuzz-build check-fuzz check-asan check-fuzz-deps clean-fuzz

# Static analysis: cppcheck and clang-tidy (.clang-tidy, tools/lint.supp);
# minutes on a small machine.
lint:
	@sh tools/deps.sh --check lint
	@sh tools/lint.sh

.PHONY: lint

# Every module compiled for i386 with the warnings of the real build, as
# errors: 32-bit builds keep 64-bit offsets and stay free of warnings.
check-32: WERROR = 1
check-32: $(M32_DIR)/pop3d.o $(M32_CORE)
	@echo "check-32: every module builds for i386"

$(M32_DIR)/pop3d.o $(M32_CORE): | check-32-deps

check-32-deps:
	@sh tools/deps.sh --check 32

.PHONY: check-32 check-32-deps

# The daemon and the TLS unit tests built against mbedTLS 3.6, run with
# the TLS integration tests (tools/mbedtls3.sh).  The rpath makes the
# binaries load those libraries rather than the system's 2.28.
M3_LIB		 = $(M3_ROOT)/usr/lib/$(shell $(CC) -print-multiarch)
M3_LDLIBS	 = -L$(M3_LIB) -Wl,-rpath,$(M3_LIB) $(LDLIBS)
M3_TESTS	 = $(M3_DIR)/tests/test_tls $(M3_DIR)/tests/test_session \
		   $(M3_DIR)/tests/test_privsep

$(M3_STAMP):
	@sh tools/mbedtls3.sh fetch $(M3_DIR)

$(M3_DIR)/pop3d: $(M3_DIR)/pop3d.o $(M3_CORE)
	$(OBJ_LD) -o $@ $^ $(M3_LDLIBS)

$(M3_TESTS): $(M3_DIR)/tests/%: $(M3_DIR)/tests/%.o $(M3_CORE)
	$(OBJ_LD) -o $@ $^ $(M3_LDLIBS) $(TESTLIBS)

check-mbedtls3: check-deps $(M3_DIR)/pop3d $(M3_TESTS)
	@sh tools/mbedtls3.sh test $(M3_DIR) $(M3_TESTS)

.PHONY: check-mbedtls3
