/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The RETR ceiling for `make bench`: a POP3 responder that does nothing
 * but send.  Run inetd-style under tcpexec, it accepts any login and
 * answers RETR with a canned message of the bench's size from memory,
 * with TCP_NODELAY and 64 KB writes (the "trivial server"), the
 * first of them cut after the "+OK" line and 4 KB as pop3d cuts it (that
 * alone is worth about 10% here, to this server too).  What
 * the load generator measures against it is what any server could reach
 * on the machine in that run, so pop3d's RETR can be read as a share of
 * it.  Plain text only.
 *
 *   wire count lines      (count messages, each lines lines of 72 octets)
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_OCTETS	72
#define WRITE_MAX	(64 * 1024)
#define FIRST_WRITE	(4 * 1024)	/* pop3d's SESSION_FIRST_WRITE */

static void
put(const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		w = write(1, p, n < WRITE_MAX ? n : WRITE_MAX);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			exit(0);
		p += w;
		n -= (size_t)w;
	}
}

static void
say(const char *s)
{
	put(s, strlen(s));
}

/* "+OK", the message, "."; *first: the octets of the first write */
static char *
canned_reply(long lines, size_t *len, size_t *first)
{
	size_t	 octets = (size_t)lines * LINE_OCTETS, o;
	char	*r = malloc(octets + 64);
	long	 i;

	if (r == NULL)
		exit(1);
	o = (size_t)snprintf(r, 64, "+OK %zu octets\r\n", octets);
	*first = o + FIRST_WRITE;
	for (i = 0; i < lines; i++) {
		memset(r + o, 'a' + (char)(i % 26), LINE_OCTETS - 2);
		memcpy(r + o + LINE_OCTETS - 2, "\r\n", 2);
		o += LINE_OCTETS;
	}
	memcpy(r + o, ".\r\n", 3);
	*len = o + 3;
	return r;
}

static void
listing(long count, long lines)
{
	char	l[64];
	long	i;

	say("+OK\r\n");
	for (i = 1; i <= count; i++) {
		snprintf(l, sizeof(l), "%ld %ld\r\n", i, lines * LINE_OCTETS);
		say(l);
	}
	say(".\r\n");
}

int
main(int argc, char **argv)
{
	char	 line[512], l[64], *reply;
	size_t	 have = 0, n, len, first;
	ssize_t	 r;
	long	 count, lines;
	int	 one = 1;
	char	*nl;

	if (argc != 3 || (count = atol(argv[1])) <= 0 ||
	    (lines = atol(argv[2])) <= 0) {
		fprintf(stderr, "usage: wire count lines\n");
		return 2;
	}
	reply = canned_reply(lines, &len, &first);
	if (len <= WRITE_MAX)
		first = len;
	(void)setsockopt(1, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	say("+OK wire\r\n");
	for (;;) {
		while ((nl = memchr(line, '\n', have)) == NULL) {
			if (have == sizeof(line))
				return 1;
			r = read(0, line + have, sizeof(line) - have);
			if (r <= 0)
				return 0;
			have += (size_t)r;
		}
		n = (size_t)(nl - line) + 1;
		if (strncmp(line, "RETR ", 5) == 0) {
			put(reply, first);
			put(reply + first, len - first);
		} else if (strncmp(line, "STAT", 4) == 0) {
			snprintf(l, sizeof(l), "+OK %ld %ld\r\n", count,
			    count * lines * LINE_OCTETS);
			say(l);
		} else if (strncmp(line, "LIST", 4) == 0)
			listing(count, lines);
		else if (strncmp(line, "QUIT", 4) == 0) {
			say("+OK\r\n");
			return 0;
		} else
			say("+OK\r\n");
		memmove(line, line + n, have - n);
		have -= n;
	}
}
