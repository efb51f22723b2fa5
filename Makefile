# pop3d: a small POP3 server for mbox maildrops.
#   make            build ./pop3d
#   make test       build and run every test (unit, transcript, integration)
#   make demo       build and run a demo server in the foreground on loopback
#   make install    install under $(DESTDIR)$(PREFIX)

PREFIX	?= /usr/local
SBINDIR	?= $(PREFIX)/sbin
MANDIR	?= $(PREFIX)/share/man
ETCDIR	?= /etc

CC	?= cc
CFLAGS	?= -O2 -g
WARN	 = -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
	   -Wpointer-arith -Wcast-qual -Wformat=2
CPPFLAGS += -Iinclude -D_GNU_SOURCE
LDLIBS	 = -lcrypt -lmbedcrypto
TESTLIBS = -lcmocka

# Every module but the one holding main(), shared by the daemon and the tests.
CORE	 = session.o mbox.o update.o lock.o xform.o conf.o auth.o log.o \
	   buf.o base64.o md5.o conn.o
OBJS	 = pop3d.o $(CORE)

UNIT_TESTS = tests/test_session tests/test_mbox tests/test_conf \
	     tests/test_auth tests/test_base64

all: pop3d

pop3d: $(OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $(OBJS) $(LDLIBS)

%.o: %.c include/*.h
	$(CC) $(CPPFLAGS) $(CFLAGS) $(WARN) -Werror -c -o $@ $<

tests/test_%: tests/test_%.c $(CORE) tests/*.h
	$(CC) $(CPPFLAGS) -Itests $(CFLAGS) $(WARN) -o $@ $< $(CORE) \
	    $(LDLIBS) $(TESTLIBS)

check-deps:
	@sh tools/deps.sh test

test: check-deps pop3d $(UNIT_TESTS)
	@sh tests/run.sh $(UNIT_TESTS)

demo: pop3d
	@sh tools/demo.sh --no-build

install: pop3d
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(MANDIR)/man5
	install -m 755 pop3d $(DESTDIR)$(SBINDIR)/pop3d
	install -m 644 pop3d.8 $(DESTDIR)$(MANDIR)/man8/pop3d.8
	install -m 644 pop3d.conf.5 $(DESTDIR)$(MANDIR)/man5/pop3d.conf.5
	install -d $(DESTDIR)$(PREFIX)/share/doc/pop3d
	install -m 644 pop3d.conf.example README DESIGN.md \
	    $(DESTDIR)$(PREFIX)/share/doc/pop3d/

clean:
	rm -f pop3d *.o $(UNIT_TESTS)
	rm -rf tests/__pycache__ tests/integration/__pycache__

.PHONY: all test demo install clean check-deps
