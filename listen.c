/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The listening side of a standalone daemon: sockets opened from the
 * configuration or received from systemd, detaching, and the pidfile.
 *
 * systemd's socket hand-over is a few environment variables, so it is
 * done here directly rather than by linking libsystemd: LISTEN_PID names
 * the process meant (a child that inherited the environment must not
 * take the sockets), LISTEN_FDS counts descriptors from 3 on, and
 * LISTEN_FDNAMES (FileDescriptorName= in the .socket unit) names them,
 * colon-separated.
 */
#include <sys/types.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "listen.h"
#include "log.h"

#define SD_LISTEN_FDS_START	3

static int
listen_one(struct listeners *l, struct addrinfo *ai, const char *what,
    int tls)
{
	int	fd, on = 1;

	if (l->n == MAX_LISTENERS) {
		log_warnx("listen %s: too many addresses", what);
		return -1;
	}
	fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
	    ai->ai_protocol);
	if (fd == -1) {
		log_warn("listen %s: socket", what);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	/* "*" opens IPv4 and IPv6 sockets separately: keep them apart. */
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		if (errno == EADDRINUSE)
			log_warnx("listen %s: address already in use (by "
			    "another POP3 server, or a pop3d without a "
			    "pidfile?)", what);
		else
			log_warn("listen %s", what);
		close(fd);
		return -1;
	}
	l->pfd[l->n].fd = fd;
	l->pfd[l->n].events = POLLIN;
	l->tls[l->n] = tls;
	l->n++;
	return 0;
}

/* Open the sockets of one listen or listen_tls address. */
static int
open_address(struct listeners *l, const struct conf_listen *cl, int tls)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*host;
	char		 what[96];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	host = strcmp(cl->host, "*") == 0 ? NULL : cl->host;
	snprintf(what, sizeof(what), "%s%s:%s", tls ? "tls " : "", cl->host,
	    cl->port);
	if ((rc = getaddrinfo(host, cl->port, &hints, &res)) != 0) {
		log_warnx("listen %s: %s", what, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if (listen_one(l, ai, what, tls) == -1) {
			freeaddrinfo(res);
			return -1;
		}
	freeaddrinfo(res);
	return 0;
}

int
listen_open(const struct conf *c, struct listeners *l)
{
	int	i, rc = 0;

	memset(l, 0, sizeof(*l));
	for (i = 0; rc == 0 && i < c->nlisten; i++)
		rc = open_address(l, &c->listen[i], 0);
	for (i = 0; rc == 0 && i < c->nlisten_tls; i++)
		rc = open_address(l, &c->listen_tls[i], 1);
	if (rc == 0 && l->n == 0) {
		log_warnx("no listen or listen_tls address");
		rc = -1;
	}
	if (rc == -1)
		listen_close(l);
	return rc;
}

void
listen_close(struct listeners *l)
{
	int	i;

	for (i = 0; i < l->n; i++)
		close(l->pfd[i].fd);
	l->n = 0;
}

/* A strict decimal from the environment, or -1. */
static long
env_number(const char *name)
{
	const char	*s = getenv(name);
	char		*end;
	long		 v;

	if (s == NULL || *s < '0' || *s > '9')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	return *end != '\0' || errno != 0 ? -1 : v;
}

/* The i-th colon-separated name in names (NULL: none) is "pop3s". */
static int
fd_is_tls(const char *names, int i)
{
	const char	*p = names;
	size_t		 len;

	for (; p != NULL && i > 0; i--)
		if ((p = strchr(p, ':')) != NULL)
			p++;
	if (p == NULL)
		return 0;
	len = strcspn(p, ":");
	return len == 5 && strncmp(p, "pop3s", 5) == 0;
}

/* One descriptor systemd passed: a listening stream socket, made ours. */
static int
take_fd(struct listeners *l, int fd, int tls)
{
	int		type = 0, acc = 0;
	socklen_t	len = sizeof(type), alen = sizeof(acc);

	if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &acc, &alen) == -1 ||
	    type != SOCK_STREAM || !acc) {
		log_warnx("systemd: descriptor %d is not a listening stream "
		    "socket (Accept=yes wants pop3d -i)", fd);
		return -1;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1) {
		log_warn("systemd: descriptor %d", fd);
		return -1;
	}
	l->pfd[l->n].fd = fd;
	l->pfd[l->n].events = POLLIN;
	l->tls[l->n] = tls;
	l->n++;
	return 0;
}

/*
 * Close from fd on: close_range where the kernel has it (5.9), else one
 * by one up to the descriptor limit.
 */
static void
close_from(int fd)
{
	long	max, i;

	if (close_range((unsigned)fd, ~0U, 0) == 0)
		return;
	if ((max = sysconf(_SC_OPEN_MAX)) <= 0 || max > 65536)
		max = 65536;
	for (i = fd; i < max; i++)
		(void)close((int)i);
}

void
listen_close_inherited(void)
{
	long	n = env_number("LISTEN_FDS");

	if (env_number("LISTEN_PID") != (long)getpid() || n <= 0 ||
	    n > MAX_LISTENERS)
		n = 0;
	close_from(SD_LISTEN_FDS_START + (int)n);
}

int
listen_systemd(struct listeners *l)
{
	const char	*names = getenv("LISTEN_FDNAMES");
	long		 pid = env_number("LISTEN_PID");
	long		 n = env_number("LISTEN_FDS");
	int		 i, rc = 1;

	memset(l, 0, sizeof(*l));
	if (pid != (long)getpid() || n <= 0)
		return 0;
	if (n > MAX_LISTENERS) {
		log_warnx("systemd passed %ld sockets, at most %d are "
		    "supported", n, MAX_LISTENERS);
		return -1;
	}
	for (i = 0; rc == 1 && i < n; i++)
		if (take_fd(l, SD_LISTEN_FDS_START + i, fd_is_tls(names, i)) ==
		    -1)
			rc = -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	l->systemd = 1;
	return rc;
}

/* "addr:port" of the listening socket fd, or "descriptor N". */
static void
socket_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			host[NI_MAXHOST], port[NI_MAXSERV];

	memset(&ss, 0, sizeof(ss));
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, len, "descriptor %d", fd);
		return;
	}
	snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    host, port);
}

int
listen_drop_tls(struct listeners *l, const char *file)
{
	char	name[NI_MAXHOST + NI_MAXSERV + 4];
	int	i, kept = 0;

	for (i = 0; i < l->n; i++) {
		if (!l->tls[i]) {
			l->pfd[kept] = l->pfd[i];
			l->tls[kept++] = 0;
			continue;
		}
		socket_name(l->pfd[i].fd, name, sizeof(name));
		log_warnx("TLS socket %s (systemd's \"pop3s\") not served: %s "
		    "has no tls_cert", name, file);
		close(l->pfd[i].fd);
	}
	l->n = kept;
	return kept;
}

static int
listen_eq(const struct conf_listen *a, int na, const struct conf_listen *b,
    int nb)
{
	int	i;

	if (na != nb)
		return 0;
	for (i = 0; i < na; i++)
		if (strcmp(a[i].host, b[i].host) != 0 ||
		    strcmp(a[i].port, b[i].port) != 0)
			return 0;
	return 1;
}

int
listen_same(const struct conf *a, const struct conf *b)
{
	return listen_eq(a->listen, a->nlisten, b->listen, b->nlisten) &&
	    listen_eq(a->listen_tls, a->nlisten_tls, b->listen_tls,
	    b->nlisten_tls);
}

int
listen_daemonize(void)
{
	int	fd;

	switch (fork()) {
	case -1:
		return -1;
	case 0:
		break;
	default:
		_exit(0);
	}
	if (setsid() == -1 || chdir("/") == -1)
		return -1;
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		return -1;
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	return 0;
}

/*
 * The pid a running daemon wrote into the pidfile fd, or 0 when there is
 * none yet (it has the lock but has not written: it is still starting).
 */
static long
pidfile_holder(int fd)
{
	char	buf[32];
	char	*end;
	ssize_t	n;
	long	pid;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	errno = 0;
	pid = strtol(buf, &end, 10);
	if (errno != 0 || end == buf || (*end != '\n' && *end != '\0') ||
	    pid <= 0)
		return 0;
	return pid;
}

int
pidfile_open(const char *path)
{
	long	pid;
	int	fd;

	/* Read too: a second daemon names the first's pid. */
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd == -1) {
		log_warn("pidfile %s", path);
		return -1;
	}
	/* The lock travels with the descriptor through the daemonizing fork. */
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		if (errno != EWOULDBLOCK)
			log_warn("pidfile %s: lock", path);
		else if ((pid = pidfile_holder(fd)) > 0)
			log_warnx("pop3d is already running (pid %ld): "
			    "pidfile %s is locked", pid, path);
		else
			log_warnx("pop3d is already running: pidfile %s is "
			    "locked", path);
		close(fd);
		return -1;
	}
	return fd;
}

int
pidfile_write(int fd)
{
	char	buf[32];
	int	len;

	len = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, buf, (size_t)len, 0) != len)
		return -1;
	return 0;
}

void
pidfile_remove(const char *path, int fd)
{
	if (fd == -1)
		return;
	if (unlink(path) == -1 && ftruncate(fd, 0) == -1)
		log_warn("pidfile %s: can't remove or empty it", path);
	close(fd);
}
