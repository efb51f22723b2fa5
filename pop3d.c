/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * pop3d start-up and process model: options, configuration, listeners,
 * the switch away from root, and one forked process per connection.
 *
 * Code that runs as root: the listener, which reads the configuration
 * and TLS keys, opens the sockets and the pidfile, then only accepts and
 * forks; and privsep.c's monitor in each connection's process.  Every
 * client byte, a PROXY header included, is read by the jailed pre-login
 * process privsep.c forks (prelogin.c; prepare() below runs there) or,
 * after a login, by the process serving the mailbox owner.
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "conf.h"
#include "conn.h"
#include "listen.h"
#include "log.h"
#include "params.h"
#include "peerlimit.h"
#include "prelogin.h"
#include "privsep.h"
#include "proctitle.h"
#include "proxy.h"
#include "recover.h"
#include "sandbox.h"
#include "tlskeys.h"
#include "transport.h"

/*
 * The listener's state; a session process keeps a copy it only reads.
 * The configuration is conf_new's mapping, not a copy: a struct conf is
 * over 100 kB (PATH_MAX paths), of which the mapping has only the pages
 * of the fields set written.
 */
struct daemon {
	struct conf		*c;
	const char		*path;		/* the config file, for SIGHUP */
	struct listeners	 l;
	struct tls_server	*ts;
	struct peerlimit_sess	*lim;		/* sessions per client address */
	struct peerlimit_fail	*fails;		/* failed logins per address */
	unsigned		 nchild;
	int			 pidfd;		/* -1: no pidfile */
	pid_t			 recovering;	/* recover_spool's process */
	int			 recover_due;	/* another pass wanted */
};

static volatile sig_atomic_t	got_chld;
static volatile sig_atomic_t	got_term;
static volatile sig_atomic_t	got_hup;

static void
usage(void)
{
	fprintf(stderr, "usage: pop3d [-dinstV] [-f config]\n");
	exit(2);
}

static void
on_signal(int sig)
{
	if (sig == SIGCHLD)
		got_chld = 1;
	else if (sig == SIGHUP)
		got_hup = 1;
	else
		got_term = 1;
}

/* 127.0.0.0/8, ::1, or 127.0.0.0/8 mapped into IPv6. */
static int
is_loopback(const struct sockaddr_storage *ss)
{
	const struct sockaddr_in	*sin = (const void *)ss;
	const struct sockaddr_in6	*sin6 = (const void *)ss;
	const uint8_t			*a;

	if (ss->ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	if (ss->ss_family != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
		return 1;
	a = sin6->sin6_addr.s6_addr;
	return IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr) && a[12] == 127;
}

/*
 * Describe the client ss as "addr:port", or "stdin" when there is none
 * (sl 0: a pipe, pop3d -i run by hand or by a test), and tell whether it
 * is on this machine.  A pipe crosses no network, so it counts as
 * loopback.
 */
static void
peer_name(const struct sockaddr_storage *ss, socklen_t sl, char *out,
    size_t len, int *loopback)
{
	char	host[NI_MAXHOST], port[NI_MAXSERV];

	*loopback = 1;
	if (sl == 0 || getnameinfo((const struct sockaddr *)ss, sl, host,
	    sizeof(host), port, sizeof(port),
	    NI_NUMERICHOST | NI_NUMERICSERV) != 0) {
		snprintf(out, len, "stdin");
		return;
	}
	*loopback = is_loopback(ss);
	snprintf(out, len, ss->ss_family == AF_INET6 ? "[%s]:%s" : "%s:%s",
	    host, port);
}

/*
 * Turn one connection away with a single [SYS/TEMP] line (RFC 3206): over
 * max_sessions, over max_sessions_per_ip, or out of processes.  The log
 * line (none when why is NULL: the monitor logged it) is rate-limited so
 * a flood can't fill the disk.
 */
static void
refuse(struct peerlimit_sess *lim, int fd, const char *why)
{
	static const char	msg[] =
	    "-ERR [SYS/TEMP] too many sessions, try again later\r\n";
	ssize_t			n;

	n = write(fd, msg, sizeof(msg) - 1);
	(void)n;
	close(fd);
	if (why != NULL)
		peerlimit_sess_log_refusal(lim, why);
}

/*
 * Behind a balancer: a connection from a proxy_trusted address must start
 * with a PROXY header naming the real client, which then replaces *ss for
 * logs and limits (the monitor re-counts the session under its address:
 * it was counted under the balancer's).  Anyone else sending one is
 * refused.  Returns 0, or -1 when the connection must be closed (logged).
 */
static int
real_client(const struct conf *c, int monitor, int fd,
    struct sockaddr_storage *ss, socklen_t *sl)
{
	struct proxy_hdr	 h;
	unsigned char		 first[16];
	char			 peer[NI_MAXHOST + 16];
	ssize_t			 n;
	int			 lo;

	if (c->nproxy_trusted == 0 || *sl == 0)
		return 0;
	peer_name(ss, *sl, peer, sizeof(peer), &lo);
	if (!proxy_trusted(c->proxy_trusted, c->nproxy_trusted,
	    (struct sockaddr *)ss)) {
		/* Best effort: a header sent with the connect is here already. */
		n = recv(fd, first, sizeof(first), MSG_PEEK | MSG_DONTWAIT);
		if (n > 0 && proxy_looks_like(first, (size_t)n)) {
			log_warnx("%s: PROXY header from an untrusted address, "
			    "closing", peer);
			return -1;
		}
		return 0;
	}
	if (proxy_read(fd, PROXY_HEADER_TIMEOUT, peer, &h) == -1)
		return -1;
	if (h.local)
		return 0;
	*ss = h.src;
	*sl = h.srclen;
	if (c->max_sessions_per_ip > 0 &&
	    prelogin_rekey(monitor, (struct sockaddr *)ss) != 0) {
		refuse(NULL, fd, NULL);
		return -1;
	}
	return 0;
}

/* What the jailed pre-login process needs to find the real client. */
struct prep {
	const struct conf	*c;
	int			 fd;
	struct sockaddr_storage	*ss;
	socklen_t		 sl;
	char			*peer;		/* NI_MAXHOST + 16 bytes */
};

/*
 * In the jailed pre-login process (prelogin.c), before the greeting: a
 * PROXY header is client bytes, so it is read here and not as root.
 */
static int
prepare(struct conn_link *link, int monitor, void *arg)
{
	struct prep	*p = arg;

	if (real_client(p->c, monitor, p->fd, p->ss, &p->sl) == -1)
		return -1;
	peer_name(p->ss, p->sl, p->peer, NI_MAXHOST + 16, &link->loopback);
	return 0;
}

/*
 * Replies go out in large batches: don't let Nagle hold the tail back.
 * Set before the pre-login process starts, whose syscall filter has no
 * setsockopt.  Not a TCP socket (a pipe, by hand or in a test): no harm.
 */
static void
no_delay(int fd)
{
	int	on = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
}

/* A forked child takes the default signals back, SIGHUP ignored. */
static void
child_signals(void)
{
	sigset_t	none;

	signal(SIGCHLD, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

/*
 * A session process.  SIGHUP is the listener's (reload): a session
 * ignores it, so `pkill -HUP pop3d' does not cut open sessions.
 */
static void
child_session(const struct daemon *d, int fd, int tls, int slot,
    struct sockaddr_storage *ss, socklen_t sl, unsigned penalty)
{
	const struct conf	*c = d->c;
	const struct listeners	*l = &d->l;
	struct tls_server	*ts = d->ts;
	struct conn_link	link;
	struct prep		p;
	char			peer[NI_MAXHOST + 16];
	int			i, rc;

	/* Nothing of the listener's but the syslog socket goes on. */
	for (i = 0; i < l->n; i++)
		close(l->pfd[i].fd);
	if (d->pidfd != -1)
		close(d->pidfd);
	child_signals();
	/* tls_start reseeds the DRBG in this process before its first use */
	memset(&link, 0, sizeof(link));
	peer_name(ss, sl, peer, sizeof(peer), &link.loopback);
	link.peer = peer;
	link.sock = 1;
	link.implicit_tls = tls;
	link.tls = ts;
	link.fail_penalty = penalty;
	link.lim = d->lim;
	link.lim_slot = slot;
	p = (struct prep){ c, fd, ss, sl, peer };
	no_delay(fd);
	rc = privsep_serve(c, fd, fd, &link, prepare, &p);
	/* The listener learns this connection's failed logins from it. */
	_exit(peerlimit_fail_exit_code(rc == 0, link.failures));
}

/*
 * A pass over the spool for interrupted UPDATEs (recover.c), in a
 * process of its own that keeps nothing of the listener's but the
 * configuration and the log: not the sockets, keys or session table.
 */
static void
start_recovery(struct daemon *d)
{
	pid_t		pid;
	int		i;

	d->recover_due = 0;
	if ((pid = fork()) == -1) {
		log_warn("fork");
		return;
	}
	if (pid > 0) {
		d->recovering = pid;
		return;
	}
	for (i = 0; i < d->l.n; i++)
		close(d->l.pfd[i].fd);
	if (d->pidfd != -1)
		close(d->pidfd);
	tls_forget_secrets(d->ts);
	peerlimit_sess_detach(d->lim);
	child_signals();
	proctitle_set("spool recovery");
	recover_spool(d->c);
	_exit(0);
}

/* Seconds on CLOCK_MONOTONIC: failed logins age on it. */
static time_t
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
reap(struct daemon *d)
{
	pid_t	pid;
	int	st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		if (pid == d->recovering) {
			d->recovering = 0;
			continue;
		}
		/* It may have died in UPDATE: finish that now, not at login. */
		if (WIFSIGNALED(st))
			d->recover_due = 1;
		if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
			log_warnx("session process %ld killed by the syscall "
			    "filter (SIGSYS): see the kernel's audit log for "
			    "the call", (long)pid);
		peerlimit_fail_reaped(d->fails, pid, st, now_s());
		peerlimit_sess_release(d->lim, pid);
		if (d->nchild > 0)
			d->nchild--;
	}
}

/*
 * Accept one connection and fork its session, or refuse it over a limit.
 * A balancer's connections are counted per client address by the session
 * once it has read the PROXY header, not here under the balancer's; their
 * failed logins are not remembered (they would slow every client behind
 * it).
 */
static void
accept_one(struct daemon *d, int i)
{
	const struct conf	*c = d->c;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	pid_t			 pid;
	unsigned		 penalty = 0;
	int			 fd, slot, behind;

	fd = accept4(d->l.pfd[i].fd, (struct sockaddr *)&ss, &sl,
	    SOCK_CLOEXEC);
	if (fd == -1) {
		if (errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
			log_warn("accept");
		return;
	}
	if (d->nchild >= c->max_sessions) {
		refuse(d->lim, fd, "max_sessions reached");
		return;
	}
	behind = c->nproxy_trusted > 0 && proxy_trusted(c->proxy_trusted,
	    c->nproxy_trusted, (struct sockaddr *)&ss);
	if (c->max_sessions_per_ip > 0 && !behind &&
	    peerlimit_sess_count(d->lim, (struct sockaddr *)&ss) >=
	    c->max_sessions_per_ip) {
		refuse(d->lim, fd, "max_sessions_per_ip reached");
		return;
	}
	/* Never full while nchild < max_sessions (a reload only lowers it). */
	slot = peerlimit_sess_claim(d->lim, (struct sockaddr *)&ss);
	if (slot == -1) {
		refuse(d->lim, fd, "session table full");
		return;
	}
	if (!behind)
		penalty = peerlimit_fail_penalty(d->fails,
		    (struct sockaddr *)&ss, now_s());
	if ((pid = fork()) == -1) {
		log_warn("fork");
		peerlimit_sess_set_pid(d->lim, slot, 0);
		refuse(NULL, fd, "no process for it");
		return;
	}
	if (pid == 0)
		child_session(d, fd, d->l.tls[i], slot, &ss, sl, penalty);
	peerlimit_sess_set_pid(d->lim, slot, pid);
	if (!behind)
		(void)peerlimit_fail_track(d->fails, pid,
		    (struct sockaddr *)&ss);
	d->nchild++;
	close(fd);
}

/* A SIGHUP's log lines for what a new configuration n can't change. */
static void
reload_warn(const struct conf *old, const struct conf *n, int systemd)
{
	if (!systemd && !listen_same(old, n))
		log_warnx("SIGHUP: listen addresses can't change without a "
		    "restart; keeping the open ones");
	if (strcmp(n->user, old->user) != 0 ||
	    strcmp(n->chroot, old->chroot) != 0 ||
	    strcmp(n->pidfile, old->pidfile) != 0 ||
	    n->sandbox != old->sandbox)
		log_warnx("SIGHUP: user, chroot, pidfile and sandbox change "
		    "only at a restart");
	if (n->max_sessions > old->max_sessions)
		log_warnx("SIGHUP: max_sessions can't grow past %u without "
		    "a restart", old->max_sessions);
}

/*
 * Put what only start-up can do back into n from old.  Strings are
 * copied by their length, not their buffer's: n is conf_new's mapping,
 * where a whole PATH_MAX copy would write a page for an empty pidfile.
 */
static void
keep_startup(const struct conf *old, struct conf *n)
{
	memcpy(n->listen, old->listen, sizeof(n->listen));
	n->nlisten = old->nlisten;
	memcpy(n->listen_tls, old->listen_tls, sizeof(n->listen_tls));
	n->nlisten_tls = old->nlisten_tls;
	memcpy(n->user, old->user, strlen(old->user) + 1);
	/* privsep_init checked this jail at start; a new one isn't checked. */
	memcpy(n->chroot, old->chroot, strlen(old->chroot) + 1);
	memcpy(n->pidfile, old->pidfile, strlen(old->pidfile) + 1);
	/* sandbox_check ran for the start's value only. */
	n->sandbox = old->sandbox;
	if (n->max_sessions > old->max_sessions)
		n->max_sessions = old->max_sessions;
}

/*
 * Which private keys the jailed pre-login process, which parses every
 * client byte, never holds (the monitor signs with them), and which it
 * must hold for its handshakes: one line a key, logged when the keys are
 * loaded, printed by pop3d -t (out).  Key i is tls_key, then each
 * tls_sni line's.  The ticket keys are always the monitor's.  Then the
 * order of the suites, and why (tls_server_rank_suites).
 */
static void
report_keys(const struct conf *c, const struct tls_server *ts, FILE *out)
{
	const char	*why, *path;
	char		 kind[64], line[300];
	int		 i, sep;

	for (i = 0; (sep = tls_key_separated(ts, i, kind, sizeof(kind),
	    &why)) != -1; i++) {
		path = i == 0 ? c->tls_key : c->sni[i - 1].key;
		if (sep && out != NULL)
			fprintf(out, "TLS key %s (%s): separated: the "
			    "monitor signs for the pre-login process\n", path,
			    kind);
		else if (out != NULL)
			fprintf(out, "TLS key %s (%s): not separated: the "
			    "pre-login process holds it for its handshake "
			    "(%s)\n", path, kind, why);
		else if (sep)
			log_info("TLS key %s (%s): separated: the monitor "
			    "signs for the pre-login process", path, kind);
		else
			log_info("TLS key %s (%s): not separated: the "
			    "pre-login process holds it for its handshake "
			    "(%s)", path, kind, why);
	}
	if (tls_suite_line(ts, line, sizeof(line)) == NULL)
		return;
	if (out != NULL)
		fprintf(out, "%s\n", line);
	else
		log_info("%s", line);
}

/*
 * SIGHUP: read the configuration, certificates and keys again for new
 * connections; open sessions keep what they started with.  Anything
 * wrong in the new set (syntax, a key that won't load) keeps the old one
 * whole.  What only start-up can do stays as it was, with a log line:
 * the listening sockets, `user', the pidfile, the session table's size.
 * The listener stays root, so root-only key files are read again.
 */
static void
reload_config(struct daemon *d)
{
	struct conf		*n;
	struct tls_server	*ts = d->ts;
	char			 err[PATH_MAX + 256];

	if ((n = conf_new(d->path, err, sizeof(err))) == NULL) {
		log_warnx("SIGHUP: %s; keeping the old configuration", err);
		return;
	}
	reload_warn(d->c, n, d->l.systemd);
	if (n->tls_cert[0] == '\0' && ts != NULL) {
		log_warnx("SIGHUP: tls_cert removed while TLS sockets are "
		    "open; keeping the old configuration");
		conf_free(n);
		return;
	}
	if (n->tls_cert[0] != '\0' && (ts == NULL ?
	    (ts = tls_server_new(n, err, sizeof(err))) == NULL :
	    tls_server_reload(&ts, n, err, sizeof(err)) == -1)) {
		log_warnx("SIGHUP: TLS reload failed, keeping the old "
		    "certificates and configuration: %s", err);
		conf_free(n);
		return;
	}
	tls_server_rank_suites(ts);
	keep_startup(d->c, n);
	privsep_reload(n);
	/* Sessions have their own copy of the old one, made by fork. */
	conf_free(d->c);
	d->c = n;
	d->ts = ts;
	log_info("SIGHUP: configuration reloaded from %s%s", d->path,
	    ts != NULL ? ", TLS certificates reloaded" : "");
	report_keys(n, ts, NULL);
}


/* The TLS part of the "ready" line: what a client can expect. */
static const char *
tls_status(const struct conf *c, const struct tls_server *ts)
{
	if (ts != NULL)
		return "TLS ready";
	if (c->plaintext_auth == PLAINTEXT_YES)
		return "no TLS: passwords cross the network in clear text";
	if (c->plaintext_auth == PLAINTEXT_LOCAL)
		return "no TLS: only clients on loopback can log in";
	return "no TLS and plaintext_auth no: nobody can log in";
}

/* Milliseconds on CLOCK_MONOTONIC. */
static long long
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Reap until no session is left or secs have passed (or a new SIGTERM). */
static void
wait_sessions(struct daemon *d, unsigned secs, const sigset_t *waitmask)
{
	struct timespec	tick = { 0, 100 * 1000000 };
	long long	end = now_ms() + (long long)secs * 1000;

	got_term = 0;
	while (d->nchild > 0 && now_ms() < end && !got_term) {
		ppoll(NULL, 0, &tick, waitmask);
		got_chld = 0;
		reap(d);
	}
}

/*
 * SIGTERM: stop accepting (the sockets close, so new clients are refused
 * by the kernel), give open sessions shutdown_timeout seconds to QUIT,
 * then end them with SIGTERM: no UPDATE, except that one already in
 * UPDATE holds its signals until the mailbox is consistent.  A second
 * SIGTERM skips the wait.
 */
static void
shut_down(struct daemon *d, const sigset_t *waitmask)
{
	listen_close(&d->l);
	reap(d);
	if (d->nchild > 0) {
		log_info("SIGTERM: no new sessions; %u open ones get %u s to "
		    "finish", d->nchild, d->c->shutdown_timeout);
		wait_sessions(d, d->c->shutdown_timeout, waitmask);
	}
	if (d->nchild > 0) {
		log_info("SIGTERM: ending %u sessions without update",
		    d->nchild);
		peerlimit_sess_signal_all(d->lim, SIGTERM);
		wait_sessions(d, SHUTDOWN_KILL_WAIT, waitmask);
	}
	if (d->nchild > 0)
		log_warnx("SIGTERM: %u sessions still running, leaving them",
		    d->nchild);
	log_info("pop3d stopped");
}

/*
 * The standalone loop.  SIGCHLD stays blocked except inside ppoll, so a
 * child's exit can't slip in between the count check and the wait.
 */
static int
serve_forever(struct daemon *d)
{
	sigset_t	block, waitmask;
	int		i, r;

	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &waitmask);
	sigdelset(&waitmask, SIGCHLD);
	sigdelset(&waitmask, SIGTERM);
	sigdelset(&waitmask, SIGINT);
	sigdelset(&waitmask, SIGHUP);
	proctitle_set("listener");
	log_info("pop3d %s ready, %d listening sockets%s, %s", POP3D_VERSION,
	    d->l.n, d->l.systemd ? " from systemd" : "",
	    tls_status(d->c, d->ts));
	report_keys(d->c, d->ts, NULL);
	while (!got_term) {
		if (d->recover_due && d->recovering == 0)
			start_recovery(d);
		r = ppoll(d->l.pfd, (nfds_t)d->l.n, NULL, &waitmask);
		if (r == -1 && errno != EINTR)
			log_warn("poll");
		if (got_chld) {
			got_chld = 0;
			reap(d);
		}
		if (got_hup) {
			got_hup = 0;
			reload_config(d);
		}
		if (r == -1 || got_term)
			continue;
		tls_server_tick(d->ts);
		for (i = 0; i < d->l.n; i++)
			if (d->l.pfd[i].revents & POLLIN)
				accept_one(d, i);
	}
	shut_down(d, &waitmask);
	tls_server_free(d->ts);
	return 0;
}

/* The listener's signals: each sets a flag serve_forever acts on. */
static void
catch_signals(void)
{
	struct sigaction	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGCHLD, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/*
 * systemd's sockets, else the configured ones.  A TLS socket without a
 * certificate (systemd's pop3s.socket enabled before TLS was set up) is
 * closed with a warning: the plain ones still serve.  Returns 0, or -1
 * when nothing is left to serve (logged).
 */
static int
open_listeners(struct daemon *d)
{
	int	rc;

	if ((rc = listen_systemd(&d->l)) == -1 ||
	    (rc == 0 && listen_open(d->c, &d->l) == -1))
		return -1;
	if (d->ts == NULL && listen_drop_tls(&d->l, d->c->file) == 0) {
		log_warnx("no listening socket left to serve");
		return -1;
	}
	return 0;
}

/*
 * Load the TLS certificates and keys for serving, as load_tls does but
 * with the reason logged (under inetd, stderr may be the client).
 */
static int
start_tls(const struct conf *c, struct tls_server **ts)
{
	char	err[PATH_MAX + 256];

	*ts = NULL;
	if (c->tls_cert[0] == '\0')
		return 0;
	if ((*ts = tls_server_new(c, err, sizeof(err))) == NULL) {
		log_warnx("%s: %s", c->file, err);
		return -1;
	}
	return 0;
}

/* -s without a certificate: logged, returns 1; else 0. */
static int
no_tls(const struct conf *c, const struct tls_server *ts)
{
	if (ts != NULL)
		return 0;
	log_warnx("-s needs tls_cert and tls_key in %s", c->file);
	return 1;
}

/* What a working configuration may still get wrong, logged at start. */
static void
warn_config(const struct conf *c)
{
	if (c->idle_timeout < DEFAULT_IDLE_TIMEOUT)
		log_warnx("idle_timeout %u is below RFC 1939's 10 minutes",
		    c->idle_timeout);
}

/*
 * Under inetd, a configuration or certificate that can't be used ends
 * the connection (logged already).  Over implicit TLS the client waits
 * for a handshake, to which any line would be noise: just close.  Else
 * one line that names nothing of the configuration.  It carries an RFC
 * 3206 code though the client can't yet have seen RESP-CODES in a CAPA
 * (RFC 2449 makes "[" start a code only then): to a client that doesn't
 * know codes it is the text of an -ERR greeting, which RFC 1939 leaves
 * free, as for refuse()'s; one that does learns not to blame the
 * password.  SYS/TEMP rather than SYS/PERM, which RFC 3206 section 4
 * suggests for configuration errors: the client can only come back
 * later, and the administrator's fix needs nothing from its user.
 */
static int
inetd_unavailable(int implicit_tls)
{
	static const char	msg[] = "-ERR [SYS/TEMP] service unavailable, "
				    "try again later\r\n";
	ssize_t			n;

	if (!implicit_tls) {
		n = write(STDOUT_FILENO, msg, sizeof(msg) - 1);
		(void)n;
	}
	return 1;
}

/*
 * One session on stdin/stdout; implicit_tls for an inetd line on 995.
 * The client is stdin and stdout, and often stderr too (openbsd-inetd
 * passes the socket as all three): so everything is logged to syslog,
 * configuration errors included, and nothing goes to stderr unless -d
 * (foreground) asks for it.
 */
static int
serve_inetd(const char *path, int implicit_tls, int foreground)
{
	struct conf		*c;
	struct tls_server	*ts;
	struct conn_link	 link;
	struct prep		 p;
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 peer[NI_MAXHOST + 16];
	char			 err[PATH_MAX + 256];
	int			 rc;

	log_init(foreground, "pop3d");
	if ((c = conf_new(path, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return inetd_unavailable(implicit_tls);
	}
	warn_config(c);
	if (start_tls(c, &ts) == -1 || (implicit_tls && no_tls(c, ts)) ||
	    privsep_init(c) == -1) {
		tls_server_free(ts);
		conf_free(c);
		return inetd_unavailable(implicit_tls);
	}
	signal(SIGPIPE, SIG_IGN);
	memset(&ss, 0, sizeof(ss));	/* a pipe leaves it unset */
	if (getpeername(STDIN_FILENO, (struct sockaddr *)&ss, &sl) == -1)
		sl = 0;
	memset(&link, 0, sizeof(link));
	peer_name(&ss, sl, peer, sizeof(peer), &link.loopback);
	link.peer = peer;
	link.sock = sl != 0;	/* a pipe (by hand, a test) shows no hang-up */
	link.implicit_tls = implicit_tls;
	link.tls = ts;
	p = (struct prep){ c, STDIN_FILENO, &ss, sl, peer };
	no_delay(STDIN_FILENO);
	rc = privsep_serve(c, STDIN_FILENO, STDOUT_FILENO, &link, prepare,
	    &p) == 0 ? 0 : 1;
	/* Freed here, not left to exit: no session ends with a leak. */
	tls_server_free(ts);
	conf_free(c);
	return rc;
}

/*
 * The pidfile first, so that a second daemon says it is one instead of
 * failing to bind; then the sockets from systemd, else the configured
 * ones; then leave root, detach (unless -d) and serve.  Until the detach
 * errors reach stderr as well as syslog.  c (from conf_new) becomes the
 * daemon's: a SIGHUP reload replaces it, and it is freed here.
 */
static int
serve_standalone(struct conf *c, const char *path,
    struct tls_server *ts, int foreground)
{
	static struct daemon	d;
	int			rc;

	d.c = c;
	d.path = path;
	d.ts = ts;
	d.pidfd = -1;
	d.recover_due = 1;	/* journals a crash or a power cut left */
	if (c->pidfile[0] != '\0' && (d.pidfd = pidfile_open(c->pidfile)) == -1)
		return 1;
	if (open_listeners(&d) == -1 || privsep_init(c) == -1)
		goto fail;
	if ((d.lim = peerlimit_sess_new(c->max_sessions)) == NULL ||
	    (d.fails = peerlimit_fail_new(PEERLIMIT_FAIL_ADDRS,
	    c->max_sessions)) == NULL) {
		log_warn("session table");
		goto fail;
	}
	if (!foreground && listen_daemonize() == -1) {
		log_warn("daemonize");
		goto fail;
	}
	log_tee_stderr(0);
	if (d.pidfd != -1 && pidfile_write(d.pidfd) == -1) {
		log_warn("pidfile %s", c->pidfile);
		goto fail;
	}
	catch_signals();
	rc = serve_forever(&d);
	pidfile_remove(d.c->pidfile, d.pidfd);
	peerlimit_sess_free(d.lim);
	peerlimit_fail_free(d.fails);
	conf_free(d.c);		/* c, or the one a reload put in its place */
	return rc;
fail:
	listen_close(&d.l);
	pidfile_remove(c->pidfile, d.pidfd);
	return 1;
}

/*
 * Load the TLS certificates and keys when c names any.  Returns 0 with
 * *ts set (NULL without TLS), or -1 with the reason printed.
 */
static int
load_tls(const struct conf *c, struct tls_server **ts)
{
	char	err[PATH_MAX + 256];

	*ts = NULL;
	if (c->tls_cert[0] == '\0')
		return 0;
	if ((*ts = tls_server_new(c, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s: %s\n", c->file, err);
		return -1;
	}
	return 0;
}

/*
 * pop3d -t: what start-up checks, then what logins will need
 * (check.c), every problem printed.  Returns the exit status.
 */
static int
check_config(const struct conf *c)
{
	struct tls_server	*ts;
	int			 errors = check_files(c, stderr);

	/* Every problem is told, and then how many there were. */
	if (load_tls(c, &ts) == -1)
		errors++;
	else {
		tls_server_rank_suites(ts);
		report_keys(c, ts, stdout);
		tls_server_free(ts);
	}
	if (privsep_check_setup(c) == -1)
		errors++;
	if (c->sandbox && sandbox_check() == -1)
		errors++;
	if (c->idle_timeout < DEFAULT_IDLE_TIMEOUT)
		fprintf(stderr, "%s: warning: idle_timeout %u is below the "
		    "10 minutes RFC 1939 section 3 requires\n", c->file,
		    c->idle_timeout);
	if (errors > 0) {
		fprintf(stderr, "%s: %d error%s found\n", c->file,
		    errors, errors == 1 ? "" : "s");
		return 1;
	}
	printf("%s: configuration OK\n", c->file);
	return 0;
}

int
main(int argc, char *argv[])
{
	struct conf		*c;
	struct tls_server	*ts;
	const char		*path = CONF_DEFAULT_PATH;
	char			 err[PATH_MAX + 256];
	int			 ch, foreground = 0, inetd = 0, test = 0;
	int			 implicit_tls = 0, print = 0;

	/* Before getopt: optarg must point at the copy, not the title. */
	proctitle_init(argc, argv);
	while ((ch = getopt(argc, argv, "df:instV")) != -1) {
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
		case 'n':
			print = 1;
			break;
		case 's':
			implicit_tls = 1;
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
	if (optind != argc || (implicit_tls && !inetd))
		usage();
	listen_close_inherited();
	if (inetd && !test && !print)
		return serve_inetd(path, implicit_tls, foreground);
	if (!test && !print) {
		log_init(foreground, "pop3d");
		/*
		 * Start-up errors, the configuration's among them, are
		 * logged, and shown on the terminal too until the detach.
		 */
		log_tee_stderr(1);
	}
	if ((c = conf_new(path, err, sizeof(err))) == NULL) {
		if (test || print)
			fprintf(stderr, "%s\n", err);
		else
			log_warnx("%s: not starting", err);
		return 1;
	}
	if (print) {
		conf_print(c, stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	if (test)
		return check_config(c);
	warn_config(c);
	if (start_tls(c, &ts) == -1 ||
	    (c->sandbox && sandbox_check() == -1))
		return 1;
	/* Here, not per inetd connection: each would pay the milliseconds. */
	tls_server_rank_suites(ts);
	return serve_standalone(c, path, ts, foreground);
}
