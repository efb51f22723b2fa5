# pop3d: a small POP3 server for mbox maildrops.
#   make            build ./pop3d
#   make test       build and run every test (unit, transcript, integration)
#   make demo       build and run a demo server in the foreground on loopback
#   make bench      benchmark against Dovecot and popa3d (bench/run; minutes)
#   make install    install under $(DESTDIR)$(PREFIX)
#   make lint       cppcheck and clang-tidy (tools/lint.sh)

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
ETCDIR	?= /etc
# systemd units: Debian's place for units a package ships.
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
UNITS	 = pop3d.socket pop3s.socket pop3d.service pop3d@.service

CC	?= cc
# No unwind tables: C without exceptions never unwinds, and debuggers
# read -g's .debug_frame instead; they were a tenth of the stripped
# binary, whose goal is under 150 kB (issue 5, bench/RESULTS.md run F).
CFLAGS	?= -O2 -g -fno-asynchronous-unwind-tables
WARN	 = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	   -Wpointer-arith -Wcast-qual -Wformat=2
# 64-bit file offsets on 32-bit systems too (i386, armhf): a mailbox of
# 2 GiB or more must open there; include/params.h asserts it.
CPPFLAGS += -Iinclude -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64
# -pthread: the scan of a big mailbox runs on two threads (mbox.c); with
# glibc 2.34 and later that adds no library.
LDLIBS	 = -lcrypt -lmbedtls -lmbedx509 -lmbedcrypto -pthread
# Bind every symbol at start-up (and full RELRO): with lazy binding each
# child resolved again, page by page, what the listener had never called
# (bench/RESULTS.md run L: 30 fewer page faults per session).
LDFLAGS	+= -Wl,-z,now

# PAM (auth pam) is built in where its header is installed (libpam0g-dev)
# and loaded with dlopen only when configured; PAM=0 leaves it out.
PAM	?= $(shell test -f /usr/include/security/pam_appl.h && echo 1 || echo 0)
ifeq ($(PAM),1)
CPPFLAGS += -DHAVE_PAM
endif
TESTLIBS = -lcmocka

# Every module but the one holding main(), shared by the daemon and the tests.
CORE	 = session.o mbox.o uids.o update.o journal.o lock.o xform.o conf.o \
	   auth.o log.o buf.o base64.o md5.o conn.o tls.o proxy.o iplimit.o listen.o \
	   logindelay.o mbcache.o fdio.o faildelay.o spool.o fromline.o \
	   privsep.o authbe.o sandbox.o recover.o tlskeys.o
OBJS	 = pop3d.o $(CORE)

# Defined before the rules that name them: make expands prerequisites as
# it reads a rule, so a later definition would leave them out.
CRASH_TESTS	 = tests/test_crash
HOOK_BIN	 = tests/pop3d-sandbox-hook
UNIT_TESTS = tests/test_session tests/test_mbox tests/test_conf \
	     tests/test_auth tests/test_base64 tests/test_mboxfeat tests/test_proxy \
	     tests/test_privsep tests/test_iplimit tests/test_scan \
	     tests/test_faildelay tests/test_tls tests/test_md5 tests/test_spool \
	     tests/test_fromline tests/test_sandbox

all: pop3d

# Built for size: code that runs once per process, per connection or per
# login, never per message or per byte of mail (the same goal).  tls.o
# too: per record it only hands buffers to mbedTLS, which does the work.
COLD	 = conf.o privsep.o pop3d.o authbe.o auth.o listen.o proxy.o \
	   lock.o log.o faildelay.o iplimit.o logindelay.o spool.o tls.o sandbox.o \
	   recover.o tlskeys.o
$(COLD): CFLAGS += -Os

pop3d: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

%.o: %.c include/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Werror -c -o $@ $<

tests/test_%: tests/test_%.c $(CORE) tests/*.h
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(WARN) -o $@ $< $(CORE) \
	    $(LDLIBS) $(TESTLIBS)

# test_tls moves the clock twelve hours on (ticket key rotation) through
# its own time(3); the daemon has no such knob.
tests/test_tls: TESTLIBS += -Wl,--wrap=time

# The daemon with the syscall filter's test hooks, for
# tests/integration/test_sandbox.py: pop3d's objects with read and prctl
# wrapped at link time by tests/sandbox_hook.c (which says what the hooks
# do).  pop3d itself is linked without them.
HOOK_LDFLAGS	 = -Wl,--wrap=read -Wl,--wrap=prctl

$(HOOK_BIN): tests/sandbox_hook.c $(OBJS)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Werror $(LDFLAGS) $(HOOK_LDFLAGS) \
	    -o $@ tests/sandbox_hook.c $(OBJS) $(LDLIBS)

# make checks that the Debian packages are there and says how to install
# them; it installs nothing (tools/test.sh and tools/deps.sh do).
check-deps:
	@sh tools/deps.sh --check test

test: check-deps pop3d $(HOOK_BIN) $(UNIT_TESTS) $(CRASH_TESTS)
	@sh tests/run.sh $(UNIT_TESTS) $(CRASH_TESTS)

demo: pop3d
	@sh tools/demo.sh --no-build

# Not part of `make test`: generates ~700 MB of mailboxes under bench/work/
# and takes minutes.  BENCH_QUICK=1 BENCH_REPEATS=N: see bench/run.
bench: pop3d
	@bench/run

install: pop3d
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5
	install -m 755 pop3d $(DESTDIR)$(SBINDIR)/pop3d
	install -m 644 pop3d.8 $(DESTDIR)$(MANDIR)/man8/pop3d.8
	install -m 644 pop3d.conf.5 $(DESTDIR)$(MANDIR)/man5/pop3d.conf.5
	install -d $(DESTDIR)$(PREFIX)/share/doc/pop3d
	install -m 644 pop3d.conf.example README DESIGN.md \
	    $(DESTDIR)$(PREFIX)/share/doc/pop3d/
	install -d $(DESTDIR)$(SYSTEMDDIR)
	for f in $(UNITS); do \
	    sed 's|@SBINDIR@|$(SBINDIR)|g' dist/$$f \
	        >$(DESTDIR)$(SYSTEMDDIR)/$$f && \
	    chmod 644 $(DESTDIR)$(SYSTEMDDIR)/$$f || exit 1; \
	done
	sed 's|@SBINDIR@|$(SBINDIR)|g' dist/inetd.conf \
	    >$(DESTDIR)$(PREFIX)/share/doc/pop3d/inetd.conf
	install -m 644 dist/pam.d/pop3 $(DESTDIR)$(PREFIX)/share/doc/pop3d/pam.pop3
	install -d -m 755 $(DESTDIR)/var/empty
	@echo "pop3d installed.  Before the first start: create its user"
	@echo "(adduser --system --group --no-create-home pop3d), then"
	@echo "$(ETCDIR)/pop3d.conf from $(PREFIX)/share/doc/pop3d/pop3d.conf.example"
	@echo "and either 'systemctl enable --now pop3d.socket' or an inetd line."
	@echo "For auth pam: copy $(PREFIX)/share/doc/pop3d/pam.pop3 to /etc/pam.d/pop3."

clean:
	rm -f pop3d *.o $(UNIT_TESTS) $(CRASH_TESTS) $(HOOK_BIN)
	rm -rf $(FAULT_DIR)
	rm -rf tests/__pycache__ tests/integration/__pycache__
	rm -rf tests/integration/.dovecot

.PHONY: all test demo bench install clean check-deps

# The crash tests link objects built with -DPOP3D_FAULTS (in build-faults/),
# whose write boundaries call the fault hooks of tests/faults.c
# (include/faults.h); the daemon's objects have no such hook.
# CRASH_LONG=1 runs the long variants (.ci/run sets it).
FAULT_DIR	 = build-faults
FAULT_CORE	 = $(CORE:%=$(FAULT_DIR)/%) $(FAULT_DIR)/faults.o

$(FAULT_DIR)/%.o: %.c include/*.h
	@mkdir -p $(FAULT_DIR)
	$(CC) $(CPPFLAGS) -DPOP3D_FAULTS $(CFLAGS) $(WARN) -Werror -c -o $@ $<

$(FAULT_DIR)/faults.o: tests/faults.c include/*.h
	@mkdir -p $(FAULT_DIR)
	$(CC) $(CPPFLAGS) -DPOP3D_FAULTS $(CFLAGS) $(WARN) -Werror -c -o $@ \
	    tests/faults.c

tests/test_crash: tests/test_crash.c $(FAULT_CORE) tests/*.h
	$(CC) $(CPPFLAGS) -DPOP3D_FAULTS -Itests $(CFLAGS) $(WARN) -o $@ $< \
	    $(FAULT_CORE) $(LDLIBS) $(TESTLIBS)

.SECONDARY: $(FAULT_CORE)

# Fuzzing (fuzz/README): libFuzzer targets, clang with ASan and UBSan.
#   make fuzz          each target FUZZ_SECONDS (default 60) seconds
#   make check-fuzz    replay fuzz/regressions, then each target 10 s (CI)
FUZZ_CC		?= clang
FUZZ_SECONDS	?= 60
FUZZ_SAN	 = -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS	 = -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
FUZZ_TARGETS	?= session mbox xform conf passwd base64 proxy privsep tls
FUZZ_BIN	 = $(FUZZ_TARGETS:%=fuzz/build/fuzz_%)
FUZZ_CORE	 = $(CORE:%=fuzz/build/%) fuzz/build/fuzz_util.o

fuzz/build/%.o: %.c include/*.h
	@mkdir -p fuzz/build
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link \
	    $(WARN) -c -o $@ $<

fuzz/build/fuzz_util.o: fuzz/fuzz_util.c fuzz/fuzz_util.h
	@mkdir -p fuzz/build
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) $(WARN) -c -o $@ fuzz/fuzz_util.c

fuzz/build/fuzz_%: fuzz/fuzz_%.c $(FUZZ_CORE) fuzz/*.h tests/*.h
	$(FUZZ_CC) $(CPPFLAGS) -Itests -Ifuzz $(FUZZ_CFLAGS) \
	    -fsanitize=fuzzer $(WARN) -o $@ $< $(FUZZ_CORE) $(LDLIBS)

check-fuzz-deps:
	@sh tools/deps.sh --check fuzz

fuzz-build: $(FUZZ_BIN)

fuzz: check-fuzz-deps $(FUZZ_BIN)
	@sh fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

check-fuzz: check-fuzz-deps $(FUZZ_BIN)
	@sh fuzz/run.sh 10 $(FUZZ_TARGETS)

# The whole test suite against a daemon and unit tests built with ASan and
# UBSan, in build-asan/ so the normal objects are untouched.  clang, because
# gcc's UBSan ignores log_path and the daemon's reports would be lost; no
# -Werror, because clang warns about other things than the gcc build does.
ASAN_CC		?= clang
ASAN_DIR	 = build-asan
ASAN_CFLAGS	 = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		   -fno-sanitize-recover=undefined
ASAN_CORE	 = $(CORE:%=$(ASAN_DIR)/%)
ASAN_TESTS	 = $(UNIT_TESTS:%=$(ASAN_DIR)/%)

$(ASAN_DIR)/tests/test_tls: TESTLIBS += -Wl,--wrap=time

$(ASAN_DIR)/%.o: %.c include/*.h
	@mkdir -p $(ASAN_DIR)/tests
	$(ASAN_CC) $(CPPFLAGS) $(ASAN_CFLAGS) $(WARN) -c -o $@ $<

# The daemon alone links tools/asan_daemon.c: LeakSanitizer off whatever
# environment reaches it (that file says why).
$(ASAN_DIR)/asan_daemon.o: tools/asan_daemon.c
	@mkdir -p $(ASAN_DIR)/tests
	$(ASAN_CC) $(ASAN_CFLAGS) $(WARN) -c -o $@ tools/asan_daemon.c

$(ASAN_DIR)/pop3d: $(ASAN_DIR)/pop3d.o $(ASAN_CORE) $(ASAN_DIR)/asan_daemon.o
	$(ASAN_CC) $(ASAN_CFLAGS) $(LDFLAGS) -o $@ $(ASAN_DIR)/pop3d.o \
	    $(ASAN_CORE) $(ASAN_DIR)/asan_daemon.o $(LDLIBS)

$(ASAN_DIR)/tests/test_%: tests/test_%.c $(ASAN_CORE) tests/*.h
	$(ASAN_CC) $(CPPFLAGS) -Itests $(ASAN_CFLAGS) $(WARN) -o $@ $< \
	    $(ASAN_CORE) $(LDLIBS) $(TESTLIBS)

$(ASAN_DIR)/pop3d-sandbox-hook: tests/sandbox_hook.c $(ASAN_DIR)/pop3d.o \
    $(ASAN_CORE) $(ASAN_DIR)/asan_daemon.o
	$(ASAN_CC) $(CPPFLAGS) $(ASAN_CFLAGS) $(WARN) $(LDFLAGS) \
	    $(HOOK_LDFLAGS) -o $@ tests/sandbox_hook.c $(ASAN_DIR)/pop3d.o \
	    $(ASAN_CORE) $(ASAN_DIR)/asan_daemon.o $(LDLIBS)

check-asan: check-fuzz-deps $(ASAN_DIR)/pop3d $(ASAN_DIR)/pop3d-sandbox-hook \
    $(ASAN_TESTS)
	@sh tools/check-asan.sh $(ASAN_DIR) $(ASAN_TESTS)

clean-fuzz:
	rm -rf fuzz/build $(ASAN_DIR)

# Keep the objects make would otherwise delete as intermediates.
.SECONDARY: $(FUZZ_CORE) $(ASAN_CORE) $(ASAN_DIR)/pop3d.o \
	     $(ASAN_DIR)/asan_daemon.o

.PHONY: fuzz fuzz-build check-fuzz check-asan check-fuzz-deps clean-fuzz

# Static analysis: cppcheck and clang-tidy (.clang-tidy, tools/lint.supp);
# minutes on a small machine.
lint:
	@sh tools/deps.sh --check lint
	@sh tools/lint.sh

.PHONY: lint

# Every module compiled for i386 (gcc -m32, Debian's gcc-multilib), with
# the warnings of the real build: 32-bit builds keep 64-bit offsets and
# stay free of warnings.  Compile only: linking would need i386 builds
# of the libraries.
check-32:
	@sh tools/deps.sh --check 32
	@for f in $(CORE:.o=.c) pop3d.c; do \
	    $(CC) -m32 $(CPPFLAGS) $(CFLAGS) $(WARN) -Werror -c -o /dev/null \
	        $$f || exit 1; \
	done; echo "check-32: every module builds for i386"

.PHONY: check-32

# The daemon and the TLS unit tests built against mbedTLS 3.6 (Debian 13's
# packages, downloaded and unpacked into build-mbedtls3/root, not
# installed; tools/mbedtls3.sh), run with the TLS integration tests.
# Needs deb.debian.org the first time.  The rpath makes the binaries load
# those libraries rather than the system's 2.28.
M3_DIR		 = build-mbedtls3
M3_ROOT		 = $(CURDIR)/$(M3_DIR)/root
M3_LIB		 = $(M3_ROOT)/usr/lib/$(shell $(CC) -print-multiarch)
M3_STAMP	 = $(M3_DIR)/root/usr/include/mbedtls/build_info.h
M3_LDLIBS	 = -L$(M3_LIB) -Wl,-rpath,$(M3_LIB) $(LDLIBS)
M3_CORE		 = $(CORE:%=$(M3_DIR)/%)
M3_TESTS	 = $(M3_DIR)/tests/test_tls $(M3_DIR)/tests/test_session \
		   $(M3_DIR)/tests/test_privsep

$(M3_STAMP):
	@sh tools/mbedtls3.sh fetch $(M3_DIR)

$(M3_DIR)/%.o: %.c include/*.h | $(M3_STAMP)
	@mkdir -p $(M3_DIR)/tests
	$(CC) $(CPPFLAGS) -I$(M3_ROOT)/usr/include $(CFLAGS) $(WARN) -Werror \
	    -c -o $@ $<

$(M3_DIR)/pop3d: $(M3_DIR)/pop3d.o $(M3_CORE)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(M3_DIR)/pop3d.o $(M3_CORE) \
	    $(M3_LDLIBS)

$(M3_DIR)/tests/test_tls: TESTLIBS += -Wl,--wrap=time

$(M3_DIR)/tests/test_%: tests/test_%.c $(M3_CORE) tests/*.h
	$(CC) $(CPPFLAGS) -I$(M3_ROOT)/usr/include -Itests $(CFLAGS) $(WARN) \
	    -Werror -o $@ $< $(M3_CORE) $(M3_LDLIBS) $(TESTLIBS)

check-mbedtls3: check-deps $(M3_DIR)/pop3d $(M3_TESTS)
	@sh tools/mbedtls3.sh test $(M3_DIR) $(M3_TESTS)

.SECONDARY: $(M3_CORE) $(M3_DIR)/pop3d.o

.PHONY: check-mbedtls3
