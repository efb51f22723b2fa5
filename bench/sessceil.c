/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The session-rate ceiling for `make bench`: the least a fork-per-connection
 * POP3 server does for the load generator's sessions, so that pop3d's rate
 * can be read as a share of what the machine allows in the same run.  It
 * listens, forks a child per connection (no exec, as pop3d), and the child
 * answers the greeting, USER, PASS (crypt(3) of the password against the
 * one hash given, as pop3d checks its passwd file), STAT (counting the
 * "From " lines of DIR/USER, read whole) and QUIT.  No privilege
 * separation, no chroot, no logging, no locks.
 *
 *   sessceil addr port hash dir
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LINE_MAX_LEN	512

static const char	*hash, *dir;

static int
listen_on(const char *addr, const char *port)
{
	struct sockaddr_in	sin;
	int			fd, one = 1;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons((unsigned short)atoi(port));
	if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1)
		return -1;
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 512) == -1)
		return -1;
	return fd;
}

static int
say(int fd, const char *s)
{
	size_t	n = strlen(s);

	return write(fd, s, n) == (ssize_t)n ? 0 : -1;
}

/* One line without its CRLF into line; 0, or -1 at the end or too long. */
static int
get_line(int fd, char *line, char *buf, size_t *len)
{
	char	*nl;
	ssize_t	 n;

	while ((nl = memchr(buf, '\n', *len)) == NULL) {
		if (*len == LINE_MAX_LEN)
			return -1;
		if ((n = read(fd, buf + *len, LINE_MAX_LEN - *len)) <= 0)
			return -1;
		*len += (size_t)n;
	}
	*nl = '\0';
	if (nl > buf && nl[-1] == '\r')
		nl[-1] = '\0';
	strcpy(line, buf);
	*len -= (size_t)(nl + 1 - buf);
	memmove(buf, nl + 1, *len);
	return 0;
}

/* STAT's reply for user's mailbox: its messages and octets. */
static void
stat_reply(const char *user, char *out, size_t outlen)
{
	static char	data[1 << 16];
	char		path[4096];
	long		msgs = 0, size = 0;
	int		fd, bol = 1;
	ssize_t		n, i;

	snprintf(path, sizeof(path), "%s/%s", dir, user);
	if ((fd = open(path, O_RDONLY)) == -1) {
		snprintf(out, outlen, "-ERR no maildrop\r\n");
		return;
	}
	while ((n = read(fd, data, sizeof(data))) > 0)
		for (i = 0; i < n; i++) {
			if (bol && data[i] == 'F' && i + 5 <= n &&
			    memcmp(data + i, "From ", 5) == 0)
				msgs++;
			bol = data[i] == '\n';
			size++;
		}
	close(fd);
	snprintf(out, outlen, "+OK %ld %ld\r\n", msgs, size);
}

static void
session(int fd)
{
	char	buf[LINE_MAX_LEN], line[LINE_MAX_LEN], user[LINE_MAX_LEN];
	char	reply[128];
	size_t	len = 0;
	int	in = 0;
	const char *h;

	user[0] = '\0';
	if (say(fd, "+OK ready\r\n") == -1)
		return;
	while (get_line(fd, line, buf, &len) == 0) {
		if (strncmp(line, "USER ", 5) == 0 && !in) {
			snprintf(user, sizeof(user), "%s", line + 5);
			say(fd, "+OK\r\n");
		} else if (strncmp(line, "PASS ", 5) == 0 && !in && user[0]) {
			h = crypt(line + 5, hash);
			in = h != NULL && strcmp(h, hash) == 0 &&
			    strchr(user, '/') == NULL;
			say(fd, in ? "+OK\r\n" : "-ERR [AUTH] no\r\n");
		} else if (strcmp(line, "STAT") == 0 && in) {
			stat_reply(user, reply, sizeof(reply));
			say(fd, reply);
		} else if (strcmp(line, "QUIT") == 0) {
			say(fd, "+OK\r\n");
			return;
		} else
			say(fd, "-ERR\r\n");
	}
}

int
main(int argc, char **argv)
{
	int	lfd, fd;

	if (argc != 5) {
		fprintf(stderr, "usage: sessceil addr port hash dir\n");
		return 2;
	}
	hash = argv[3];
	dir = argv[4];
	if ((lfd = listen_on(argv[1], argv[2])) == -1) {
		perror("sessceil: listen");
		return 1;
	}
	signal(SIGCHLD, SIG_IGN);	/* children reaped by the kernel */
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("sessceil: accept");
			return 1;
		}
		switch (fork()) {
		case -1:
			close(fd);
			break;
		case 0:
			close(lfd);
			session(fd);
			_exit(0);
		default:
			close(fd);
		}
	}
}
