/*
 * pop3d start-up and process model: options, configuration, listeners,
 * the switch away from root, and one forked process per connection.
 *
 * Code that runs as root: main() up to drop_root(), i.e. option parsing,
 * conf_load(), open_listeners() and drop_root() itself.  No client byte is
 * read before drop_root() has run.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "conn.h"
#include "log.h"
#include "params.h"
#include "transport.h"

#define MAX_LISTENERS	(2 * CONF_LISTEN_MAX)

struct listeners {
	struct pollfd	pfd[MAX_LISTENERS];
	int		n;
};

static volatile sig_atomic_t	got_chld;
static volatile sig_atomic_t	got_term;

static void
usage(void)
{
	fprintf(stderr, "usage: pop3d [-ditV] [-f config]\n");
	exit(2);
}

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else
		got_term = 1;
}

/* Describe the peer of fd as "addr:port", or "stdin" for a non-socket. */
static void
peer_name(int fd, char *out, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			host[NI_MAXHOST], port[NI_MAXSERV];

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), port,
	    sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, len, "stdin");
		return;
	}
	snprintf(out, len, ss.ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    host, port);
}

/*
 * Leave root for c->user before any client byte is read.  An ordinary
 * user stays who they are.  Returns 0, or -1 (logged).
 */
static int
drop_root(const struct conf *c)
{
	struct passwd	*pw;

	if (geteuid() != 0)
		return 0;
	if (c->user[0] == '\0') {
		log_warnx("refusing to serve clients as root: set `user' in %s",
		    c->file);
		return -1;
	}
	if ((pw = getpwnam(c->user)) == NULL) {
		log_warnx("user %s: no such account", c->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("user %s has uid 0: refusing to run as root",
		    c->user);
		return -1;
	}
	/* initgroups keeps the "mail" group a dotlock in /var/mail needs. */
	if (initgroups(pw->pw_name, pw->pw_gid) == -1 ||
	    setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) == -1 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) == -1) {
		log_warn("switching to user %s", c->user);
		return -1;
	}
	if (setuid(0) == 0) {
		log_warnx("could regain root after switching to %s", c->user);
		return -1;
	}
	return 0;
}

static int
listen_one(struct listeners *l, struct addrinfo *ai, const char *what)
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
	    listen(fd, 128) == -1) {
		log_warn("listen %s", what);
		close(fd);
		return -1;
	}
	l->pfd[l->n].fd = fd;
	l->pfd[l->n].events = POLLIN;
	l->n++;
	return 0;
}

/* Open every configured listen address.  Returns 0, or -1 (logged). */
static int
open_listeners(const struct conf *c, struct listeners *l)
{
	struct addrinfo	 hints, *res, *ai;
	const char	*host;
	char		 what[96];
	int		 i, rc;

	l->n = 0;
	for (i = 0; i < c->nlisten; i++) {
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
		host = strcmp(c->listen[i].host, "*") == 0 ? NULL :
		    c->listen[i].host;
		snprintf(what, sizeof(what), "%s:%s", c->listen[i].host,
		    c->listen[i].port);
		if ((rc = getaddrinfo(host, c->listen[i].port, &hints,
		    &res)) != 0) {
			log_warnx("listen %s: %s", what, gai_strerror(rc));
			return -1;
		}
		for (ai = res; ai != NULL; ai = ai->ai_next)
			if (listen_one(l, ai, what) == -1) {
				freeaddrinfo(res);
				return -1;
			}
		freeaddrinfo(res);
	}
	return 0;
}

/* Turn one accepted connection away while at the session cap. */
static void
refuse(int fd)
{
	static const char	msg[] =
	    "-ERR [SYS/TEMP] too many sessions, try again later\r\n";
	ssize_t			n;

	n = write(fd, msg, sizeof(msg) - 1);
	(void)n;
	close(fd);
}

static void
child_session(const struct conf *c, struct listeners *l, int fd)
{
	struct transport	t;
	sigset_t		none;
	char			peer[NI_MAXHOST + 16];
	int			i, on = 1;

	for (i = 0; i < l->n; i++)
		close(l->pfd[i].fd);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Replies go out in large batches: don't let Nagle hold the tail back. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	peer_name(fd, peer, sizeof(peer));
	transport_plain(&t, fd, fd);
	_exit(conn_serve(c, &t, peer) == 0 ? 0 : 1);
}

static void
reap(unsigned *nchild)
{
	pid_t	pid;

	while ((pid = waitpid(-1, NULL, WNOHANG)) > 0)
		if (*nchild > 0)
			(*nchild)--;
}

static void
accept_one(const struct conf *c, struct listeners *l, int lfd,
    unsigned *nchild)
{
	pid_t	pid;
	int	fd;

	if ((fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (*nchild >= c->max_sessions) {
		log_warnx("max_sessions (%u) reached, refusing a connection",
		    c->max_sessions);
		refuse(fd);
		return;
	}
	if ((pid = fork()) == -1) {
		log_warn("fork");
		refuse(fd);
		return;
	}
	if (pid == 0)
		child_session(c, l, fd);
	(*nchild)++;
	close(fd);
}

/*
 * The standalone loop.  SIGCHLD stays blocked except inside ppoll, so a
 * child's exit can't slip in between the count check and the wait.
 */
static int
serve_forever(const struct conf *c, struct listeners *l)
{
	sigset_t	block, waitmask;
	unsigned	nchild = 0;
	int		i, r;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGCHLD);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	log_info("pop3d %s ready, %d listening sockets", POP3D_VERSION, l->n);
	while (!got_term) {
		r = ppoll(l->pfd, (nfds_t)l->n, NULL, &waitmask);
		if (r == -1 && errno != EINTR)
			log_warn("poll");
		if (got_chld) {
			got_chld = 0;
			reap(&nchild);
		}
		if (r == -1)
			continue;
		for (i = 0; i < l->n; i++)
			if (l->pfd[i].revents & POLLIN)
				accept_one(c, l, l->pfd[i].fd, &nchild);
	}
	log_info("terminating on signal; open sessions finish on their own");
	return 0;
}

static int
daemonize(void)
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
	if (setsid() == -1)
		return -1;
	if (chdir("/") == -1)
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

static int
serve_inetd(const struct conf *c)
{
	struct transport	t;
	char			peer[NI_MAXHOST + 16];
	int			on = 1;

	if (drop_root(c) == -1)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	setsockopt(STDOUT_FILENO, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	peer_name(STDIN_FILENO, peer, sizeof(peer));
	transport_plain(&t, STDIN_FILENO, STDOUT_FILENO);
	return conn_serve(c, &t, peer) == 0 ? 0 : 1;
}

static int
serve_standalone(const struct conf *c, int foreground)
{
	struct listeners	l;
	struct sigaction	sa;

	if (open_listeners(c, &l) == -1 || drop_root(c) == -1)
		return 1;
	if (!foreground && daemonize() == -1) {
		log_warn("daemonize");
		return 1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	return serve_forever(c, &l);
}

static int
check_config(const struct conf *c)
{
	if (c->idle_timeout < DEFAULT_IDLE_TIMEOUT)
		fprintf(stderr, "%s: warning: idle_timeout %u is below the "
		    "10 minutes RFC 1939 section 3 requires\n", c->file,
		    c->idle_timeout);
	printf("%s: configuration OK\n", c->file);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf	 c;
	const char	*path = CONF_DEFAULT_PATH;
	char		 err[PATH_MAX + 256];
	int		 ch, foreground = 0, inetd = 0, test = 0;

	while ((ch = getopt(argc, argv, "df:itV")) != -1) {
		switch (ch) {
		case 'd':
			foreground = 1;
			break;
		case 'f':
			path = optarg;
			break;
		case 'i':
			inetd = 1;
			break;
		case 't':
			test = 1;
			break;
		case 'V':
			printf("pop3d %s\n", POP3D_VERSION);
			return 0;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	conf_defaults(&c);
	if (conf_load(&c, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (test)
		return check_config(&c);
	log_init(foreground, "pop3d");
	if (c.idle_timeout < DEFAULT_IDLE_TIMEOUT)
		log_warnx("idle_timeout %u is below RFC 1939's 10 minutes",
		    c.idle_timeout);
	return inetd ? serve_inetd(&c) : serve_standalone(&c, foreground);
}
