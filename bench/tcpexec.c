/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * A minimal inetd for `make bench`: listen on addr:port, and for every
 * connection fork and exec a program with the socket as stdin and stdout.
 * popa3d is built for inetd; this runs it the way inetd would, without
 * installing or reconfiguring a system inetd.
 *
 *   tcpexec addr port program [arg ...]
 */

#include <sys/types.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(fd, 128) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* In the child: the connection becomes stdin and stdout, then exec. */
static void
serve(int lfd, int fd, char *argv[])
{
	close(lfd);
	if (dup2(fd, 0) == -1 || dup2(fd, 1) == -1)
		_exit(1);
	if (fd > 1)
		close(fd);
	signal(SIGCHLD, SIG_DFL);
	execv(argv[0], argv);
	_exit(127);
}

int
main(int argc, char *argv[])
{
	int	lfd, fd;

	if (argc < 4) {
		fprintf(stderr, "usage: tcpexec addr port program [arg ...]\n");
		return 2;
	}
	if ((lfd = listen_on(argv[1], argv[2])) == -1) {
		perror("tcpexec: listen");
		return 1;
	}
	/* Children are never waited for: let the kernel reap them. */
	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		if ((fd = accept(lfd, NULL, NULL)) == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("tcpexec: accept");
			return 1;
		}
		switch (fork()) {
		case -1:
			perror("tcpexec: fork");
			break;
		case 0:
			serve(lfd, fd, argv + 3);
			break;
		}
		close(fd);
	}
}
