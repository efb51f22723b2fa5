/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The POP3 load generator of `make bench`: drives one POP3 server on a TCP
 * address in one of five modes and prints "METRIC name value" lines.
 *
 *   sessions  N threads loop connect/greeting/USER/PASS/STAT/QUIT/close
 *   retr      RETR 1..n one at a time, each checked against its LIST size
 *   open      time PASS, STAT, LIST, UIDL and QUIT on one (big) mailbox
 *   update    pipelined DELE of every second message, then QUIT
 *   idle      hold K logged-in sessions open while a command measures
 *
 * The transport (connect, read, write, close) sits behind struct transport:
 * plain TCP, or with -T implicit TLS (mbedTLS client, as on port 995), where
 * every connection makes a full handshake unless -r asks to resume the
 * previous session of the same thread (RFC 5077 ticket or session id).
 */

#include <sys/types.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/ssl.h>

/* Read buffer: large enough that a 64 KB server write lands in one read. */
#define RBUF_SIZE	(256 * 1024)
/* DELE commands in flight in update mode (the earlier measurement's). */
#define DELE_WINDOW	64
/* Reply lines are short; a longer one is a protocol error for us. */
#define LINE_MAX_LEN	1024
/* Latencies kept per sessions thread (8 s at 1,000/s fits easily). */
#define MAX_SAMPLES	(1 << 20)
#define MAX_THREADS	256

struct conn;

/* What a transport provides; plain TCP below, TLS may follow. */
struct transport {
	int	(*open)(struct conn *, const struct sockaddr_in *);
	ssize_t	(*read)(struct conn *, void *, size_t);
	ssize_t	(*write)(struct conn *, const void *, size_t);
	void	(*close)(struct conn *);
};

struct conn {
	const struct transport	*tp;
	int			 fd;
	void			*tls;		/* for a TLS transport */
	char			*rbuf;
	size_t			 roff, rlen;
};

struct opts {
	const char		*mode;
	struct sockaddr_in	 sin;
	const char		*user;
	const char		*userprefix;
	const char		*pass;
	const char		*hold_cmd;
	const char		*tag;
	int			 nusers;
	int			 conns;
	double			 seconds;
	double			 min_seconds;	/* retr: at least this long */
	long			 count;
	int			 tls;
	int			 resume;
	int			 suites[16];	/* -C: offered suites, 0-ended */
};

static struct opts	 opt;
static const struct transport *transport;

/* ------------------------------------------------------------ utilities */

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
metric(const char *name, double v)
{
	if (opt.tag != NULL)
		printf("METRIC %s_%s %.6g\n", opt.tag, name, v);
	else
		printf("METRIC %s %.6g\n", name, v);
}

static void
fatal(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	fprintf(stderr, "loadgen: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(1);
}

/* CPU seconds this process has used, all threads, user and system. */
static double
cpu_self(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/*
 * CPU seconds the whole machine has spent busy (every CPU, every process,
 * interrupts included: all of /proc/stat's first line but idle and
 * iowait), or -1 when it can't be read.  Over a sessions run this is the
 * server's cost plus ours plus whatever else runs, so it is only worth
 * reading on a quiet box.
 */
static double
cpu_machine(void)
{
	unsigned long long	v[8];
	FILE			*f;
	int			 n;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return -1;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) /
	    sysconf(_SC_CLK_TCK);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
percentile(double *v, size_t n, double p)
{
	size_t	i;

	if (n == 0)
		return 0;
	i = (size_t)(p * (double)(n - 1) + 0.5);
	return v[i];
}

/* ------------------------------------------------------- plain TCP */

static int
tcp_open(struct conn *c, const struct sockaddr_in *sin)
{
	int	one = 1;

	if ((c->fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	/* Our commands are small; never let Nagle hold one back. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(c->fd, (const struct sockaddr *)sin, sizeof(*sin)) == -1) {
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	return 0;
}

static ssize_t
tcp_read(struct conn *c, void *p, size_t n)
{
	ssize_t	r;

	do
		r = read(c->fd, p, n);
	while (r == -1 && errno == EINTR);
	return r;
}

static ssize_t
tcp_write(struct conn *c, const void *p, size_t n)
{
	ssize_t	r;

	do
		r = write(c->fd, p, n);
	while (r == -1 && errno == EINTR);
	return r;
}

static void
tcp_close(struct conn *c)
{
	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
}

static const struct transport tcp_transport = {
	tcp_open, tcp_read, tcp_write, tcp_close
};

/* ------------------------------------------------------- TLS */

/*
 * The mbedTLS state a thread's connections share.  One per thread, so the
 * DRBG and the saved session need no lock and threads never contend.
 */
struct tls_client {
	mbedtls_entropy_context	 entropy;
	mbedtls_ctr_drbg_context drbg;
	mbedtls_ssl_config	 conf;
	mbedtls_ssl_session	 saved;
	int			 have_saved;
};

/* What a TLS connection keeps beside its socket. */
struct tls_conn {
	mbedtls_ssl_context	 ssl;
	int			 eof;		/* close_notify or EOF seen */
};

static __thread struct tls_client *tls_client;
/* Handshakes made and how many of them resumed, over every thread. */
static long	tls_handshakes, tls_resumed;
static int	tls_described;
/* The suite the first handshake negotiated, for the table's cipher share. */
static char	tls_suite[64];

/*
 * The groups a current browser or mail client offers, in its order (an
 * mbedTLS client's default list starts with secp521r1, which no real client
 * leads with and which would make every server look slow).
 */
static const mbedtls_ecp_group_id tls_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
	MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE
};

static void
tls_fatal(const char *what, int r)
{
	char	msg[200];

	mbedtls_strerror(r, msg, sizeof(msg));
	fatal("%s: %s (-0x%04x)", what, msg, (unsigned)-r);
}

/* This thread's client state, made at its first connection. */
static struct tls_client *
tls_client_get(void)
{
	struct tls_client	*tc;
	int			 r;

	if (tls_client != NULL)
		return tls_client;
	if ((tc = calloc(1, sizeof(*tc))) == NULL)
		fatal("out of memory");
	mbedtls_entropy_init(&tc->entropy);
	mbedtls_ctr_drbg_init(&tc->drbg);
	mbedtls_ssl_config_init(&tc->conf);
	mbedtls_ssl_session_init(&tc->saved);
	if ((r = mbedtls_ctr_drbg_seed(&tc->drbg, mbedtls_entropy_func,
	    &tc->entropy, (const unsigned char *)"loadgen", 7)) != 0)
		tls_fatal("DRBG seed", r);
	if ((r = mbedtls_ssl_config_defaults(&tc->conf, MBEDTLS_SSL_IS_CLIENT,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0)
		tls_fatal("TLS config", r);
	/* A benchmark of the server: the self-signed certificate is fine. */
	mbedtls_ssl_conf_authmode(&tc->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&tc->conf, mbedtls_ctr_drbg_random, &tc->drbg);
	mbedtls_ssl_conf_curves(&tc->conf, tls_curves);
	if (opt.suites[0] != 0)
		mbedtls_ssl_conf_ciphersuites(&tc->conf, opt.suites);
	tls_client = tc;
	return tc;
}

static int
tls_bio_send(void *ctx, const unsigned char *p, size_t n)
{
	ssize_t	w;

	do
		w = write(*(int *)ctx, p, n);
	while (w == -1 && errno == EINTR);
	return w < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)w;
}

static int
tls_bio_recv(void *ctx, unsigned char *p, size_t n)
{
	ssize_t	r;

	do
		r = read(*(int *)ctx, p, n);
	while (r == -1 && errno == EINTR);
	return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

/* Was this handshake a resumption of the session we offered? */
static int
tls_was_resumed(struct tls_client *tc, struct tls_conn *t)
{
	mbedtls_ssl_session	s;
	int			same;

	if (!tc->have_saved)
		return 0;
	mbedtls_ssl_session_init(&s);
	/* A resumed session keeps the master secret; a full one makes one. */
	same = mbedtls_ssl_get_session(&t->ssl, &s) == 0 &&
	    memcmp(s.master, tc->saved.master, sizeof(s.master)) == 0;
	mbedtls_ssl_session_free(&s);
	return same;
}

/* After a handshake: count it, describe the first, keep it for -r. */
static void
tls_after_handshake(struct tls_client *tc, struct tls_conn *t)
{
	__atomic_add_fetch(&tls_handshakes, 1, __ATOMIC_RELAXED);
	if (tls_was_resumed(tc, t))
		__atomic_add_fetch(&tls_resumed, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&tls_described, 1, __ATOMIC_RELAXED)) {
		fprintf(stderr, "loadgen: %s %s\n",
		    mbedtls_ssl_get_version(&t->ssl),
		    mbedtls_ssl_get_ciphersuite(&t->ssl));
		snprintf(tls_suite, sizeof(tls_suite), "%s",
		    mbedtls_ssl_get_ciphersuite(&t->ssl));
	}
	if (!opt.resume)
		return;
	mbedtls_ssl_session_free(&tc->saved);
	mbedtls_ssl_session_init(&tc->saved);
	tc->have_saved = mbedtls_ssl_get_session(&t->ssl, &tc->saved) == 0;
}

static void tls_close(struct conn *);

static int
tls_open(struct conn *c, const struct sockaddr_in *sin)
{
	struct tls_client	*tc = tls_client_get();
	struct tls_conn		*t;
	int			 r;

	if (tcp_open(c, sin) == -1)
		return -1;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		fatal("out of memory");
	c->tls = t;
	mbedtls_ssl_init(&t->ssl);
	if ((r = mbedtls_ssl_setup(&t->ssl, &tc->conf)) != 0)
		tls_fatal("TLS setup", r);
	mbedtls_ssl_set_bio(&t->ssl, &c->fd, tls_bio_send, tls_bio_recv, NULL);
	if (opt.resume && tc->have_saved &&
	    (r = mbedtls_ssl_set_session(&t->ssl, &tc->saved)) != 0)
		tls_fatal("TLS set session", r);
	while ((r = mbedtls_ssl_handshake(&t->ssl)) != 0) {
		if (r == MBEDTLS_ERR_SSL_WANT_READ ||
		    r == MBEDTLS_ERR_SSL_WANT_WRITE)
			continue;
		t->eof = 1;
		tls_close(c);
		return -1;
	}
	tls_after_handshake(tc, t);
	return 0;
}

static ssize_t
tls_read(struct conn *c, void *p, size_t n)
{
	struct tls_conn	*t = c->tls;
	int		 r;

	if (t->eof)
		return 0;
	do
		r = mbedtls_ssl_read(&t->ssl, p, n);
	while (r == MBEDTLS_ERR_SSL_WANT_READ ||
	    r == MBEDTLS_ERR_SSL_WANT_WRITE);
	if (r == 0 || r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
		t->eof = 1;
		return 0;
	}
	return r < 0 ? -1 : r;
}

static ssize_t
tls_write(struct conn *c, const void *p, size_t n)
{
	struct tls_conn	*t = c->tls;
	int		 r;

	do
		r = mbedtls_ssl_write(&t->ssl, p, n);
	while (r == MBEDTLS_ERR_SSL_WANT_READ ||
	    r == MBEDTLS_ERR_SSL_WANT_WRITE);
	return r < 0 ? -1 : r;
}

/* Send close_notify, as a well-behaved client does, unless the server left. */
static void
tls_close(struct conn *c)
{
	struct tls_conn	*t = c->tls;

	if (t != NULL) {
		if (!t->eof)
			mbedtls_ssl_close_notify(&t->ssl);
		mbedtls_ssl_free(&t->ssl);
		free(t);
		c->tls = NULL;
	}
	tcp_close(c);
}

static const struct transport tls_transport = {
	tls_open, tls_read, tls_write, tls_close
};

/*
 * Handshake counts of a TLS run, after its mode's own metrics, and the
 * suite by name (a METRIC whose value is a word).
 */
static void
tls_metrics(void)
{
	if (!opt.tls)
		return;
	metric("tls_handshakes", (double)tls_handshakes);
	metric("tls_resumed", (double)tls_resumed);
	if (tls_suite[0] != '\0')
		printf("METRIC %s%stls_suite %s\n", opt.tag != NULL ? opt.tag :
		    "", opt.tag != NULL ? "_" : "", tls_suite);
}

/* ------------------------------------------------------- connections */

static int
conn_open(struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->tp = transport;
	c->fd = -1;
	if ((c->rbuf = malloc(RBUF_SIZE)) == NULL)
		return -1;
	if (c->tp->open(c, &opt.sin) == -1) {
		free(c->rbuf);
		c->rbuf = NULL;
		return -1;
	}
	return 0;
}

static void
conn_close(struct conn *c)
{
	c->tp->close(c);
	free(c->rbuf);
	c->rbuf = NULL;
}

static int
conn_send(struct conn *c, const char *p, size_t n)
{
	ssize_t	w;

	while (n > 0) {
		if ((w = c->tp->write(c, p, n)) <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int
conn_printf(struct conn *c, const char *fmt, ...)
{
	char	line[LINE_MAX_LEN];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line))
		return -1;
	return conn_send(c, line, (size_t)n);
}

/* Read more bytes into the buffer, moving what is left to the front. */
static int
conn_fill(struct conn *c)
{
	ssize_t	r;

	if (c->roff > 0) {
		memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
		c->rlen -= c->roff;
		c->roff = 0;
	}
	if (c->rlen == RBUF_SIZE)
		return -1;
	if ((r = c->tp->read(c, c->rbuf + c->rlen, RBUF_SIZE - c->rlen)) <= 0)
		return -1;
	c->rlen += (size_t)r;
	return 0;
}

/*
 * Next line (with its line end) in *line, length in *len; valid until the
 * next call.  Returns 0, or -1 on EOF or error.
 */
static int
conn_line(struct conn *c, const char **line, size_t *len)
{
	char	*nl;

	for (;;) {
		nl = memchr(c->rbuf + c->roff, '\n', c->rlen - c->roff);
		if (nl != NULL)
			break;
		if (conn_fill(c) == -1)
			return -1;
	}
	*line = c->rbuf + c->roff;
	*len = (size_t)(nl + 1 - *line);
	c->roff += *len;
	return 0;
}

/* A status line: 1 for +OK, 0 for -ERR, -1 on EOF or garbage. */
static int
conn_status(struct conn *c)
{
	const char	*l;
	size_t		 n;

	if (conn_line(c, &l, &n) == -1)
		return -1;
	if (n >= 3 && memcmp(l, "+OK", 3) == 0)
		return 1;
	if (n >= 4 && memcmp(l, "-ERR", 4) == 0)
		return 0;
	return -1;
}

static int
conn_cmd(struct conn *c, const char *cmd, const char *arg)
{
	if (conn_printf(c, arg ? "%s %s\r\n" : "%s\r\n", cmd, arg) == -1)
		return -1;
	return conn_status(c);
}

/*
 * The body of a multi-line reply up to ".\r\n".  *octets gets its size with
 * byte-stuffing undone, *lines its line count.  Returns 0, or -1.
 */
static int
conn_multi(struct conn *c, uint64_t *octets, uint64_t *lines)
{
	const char	*l;
	size_t		 n;

	*octets = *lines = 0;
	for (;;) {
		if (conn_line(c, &l, &n) == -1)
			return -1;
		if (l[0] == '.') {
			if (n == 3 && l[1] == '\r')
				return 0;
			n--;
		}
		*octets += n;
		(*lines)++;
	}
}

/* Wait for the server to close; 0 when it did. */
static int
conn_wait_close(struct conn *c)
{
	char	 tmp[512];

	c->roff = c->rlen = 0;
	while (c->tp->read(c, tmp, sizeof(tmp)) > 0)
		;
	return 0;
}

/* Connect, greeting, USER, PASS.  Returns 1 logged in, 0 refused, -1. */
static int
login(struct conn *c, const char *user, double *pass_s)
{
	double	t;
	int	r;

	if (conn_open(c) == -1)
		return -1;
	if (conn_status(c) != 1 || conn_cmd(c, "USER", user) != 1)
		return -1;
	t = now();
	r = conn_printf(c, "PASS %s\r\n", opt.pass) == -1 ? -1 :
	    conn_status(c);
	if (pass_s != NULL)
		*pass_s = now() - t;
	return r;
}

/* STAT: message count in *n, octets in *size.  Returns 1, 0 or -1. */
static int
stat_cmd(struct conn *c, long *n, uint64_t *size)
{
	const char		*l;
	size_t			 len;
	unsigned long long	 sz;

	if (conn_printf(c, "STAT\r\n") == -1 || conn_line(c, &l, &len) == -1)
		return -1;
	if (len < 3 || memcmp(l, "+OK", 3) != 0)
		return 0;
	if (sscanf(l, "+OK %ld %llu", n, &sz) != 2)
		return -1;
	*size = sz;
	return 1;
}

static void
hold(void)
{
	if (opt.hold_cmd == NULL)
		return;
	fflush(stdout);
	if (system(opt.hold_cmd) != 0)
		fprintf(stderr, "loadgen: hold command failed\n");
	fflush(stdout);
}

/* ------------------------------------------------------- sessions */

struct worker {
	pthread_t	 th;
	int		 id;
	double		 end;
	double		*lat;
	size_t		 nlat;
	long		 errors;
};

static const char *
user_name(char *buf, size_t sz, int i)
{
	snprintf(buf, sz, "%s%03d", opt.userprefix, i % opt.nusers + 1);
	return buf;
}

/* One full session; returns 0 when every step answered as expected. */
static int
one_session(const char *user)
{
	struct conn	c;
	long		n;
	uint64_t	sz;
	int		ok;

	ok = login(&c, user, NULL) == 1 && stat_cmd(&c, &n, &sz) == 1 &&
	    conn_cmd(&c, "QUIT", NULL) == 1;
	if (ok)
		conn_wait_close(&c);
	if (c.rbuf != NULL)
		conn_close(&c);
	return ok ? 0 : -1;
}

/*
 * Each thread cycles over its own users (id, id + conns, ... modulo nusers,
 * which the caller makes a multiple of conns) so that two concurrent
 * sessions never ask for the same mailbox.
 */
static void *
worker_run(void *arg)
{
	struct worker	*w = arg;
	char		 user[128];
	double		 t;
	int		 k = w->id;

	while ((t = now()) < w->end) {
		user_name(user, sizeof(user), k);
		k = (k + opt.conns) % opt.nusers;
		if (one_session(user) == -1) {
			w->errors++;
			continue;
		}
		if (w->nlat < MAX_SAMPLES)
			w->lat[w->nlat++] = now() - t;
	}
	return NULL;
}

static void
mode_sessions(void)
{
	struct worker	 w[MAX_THREADS];
	double		*all, t0, el, cpu0, mach0;
	size_t		 n = 0;
	long		 errors = 0;
	int		 i;

	if (opt.conns < 1 || opt.conns > MAX_THREADS)
		fatal("bad -c");
	cpu0 = cpu_self();
	mach0 = cpu_machine();
	t0 = now();
	for (i = 0; i < opt.conns; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].end = t0 + opt.seconds;
		if ((w[i].lat = malloc(MAX_SAMPLES * sizeof(double))) == NULL)
			fatal("out of memory");
		if (pthread_create(&w[i].th, NULL, worker_run, &w[i]) != 0)
			fatal("pthread_create");
	}
	for (i = 0; i < opt.conns; i++)
		pthread_join(w[i].th, NULL);
	el = now() - t0;
	cpu0 = cpu_self() - cpu0;
	mach0 = mach0 < 0 ? -1 : cpu_machine() - mach0;
	if ((all = malloc(opt.conns * MAX_SAMPLES * sizeof(double))) == NULL)
		fatal("out of memory");
	for (i = 0; i < opt.conns; i++) {
		memcpy(all + n, w[i].lat, w[i].nlat * sizeof(double));
		n += w[i].nlat;
		errors += w[i].errors;
		free(w[i].lat);
	}
	qsort(all, n, sizeof(double), cmp_double);
	metric("sessions_per_s", n / el);
	metric("session_p50_ms", percentile(all, n, 0.50) * 1e3);
	metric("session_p99_ms", percentile(all, n, 0.99) * 1e3);
	metric("session_errors", (double)errors);
	if (n > 0) {
		/* What a session costs: us alone, and the whole box. */
		metric("session_client_cpu_ms", cpu0 * 1e3 / n);
		if (mach0 >= 0)
			metric("session_machine_cpu_ms", mach0 * 1e3 / n);
	}
	free(all);
}

/* ------------------------------------------------------- retr */

/* LIST sizes of messages 1..n into sizes[]; returns 0 or -1. */
static int
list_sizes(struct conn *c, uint64_t *sizes, long n)
{
	const char		*l;
	size_t			 len;
	long			 msn;
	unsigned long long	 sz;

	if (conn_cmd(c, "LIST", NULL) != 1)
		return -1;
	for (;;) {
		if (conn_line(c, &l, &len) == -1)
			return -1;
		if (len == 3 && l[0] == '.')
			return 0;
		if (sscanf(l, "%ld %llu", &msn, &sz) != 2)
			return -1;
		if (msn >= 1 && msn <= n)
			sizes[msn - 1] = sz;
	}
}

static void
mode_retr(void)
{
	struct conn	 c;
	uint64_t	*sizes, total, bytes = 0, oct, lines;
	long		 n, i, done = 0, errors = 0;
	char		 arg[32];
	double		 t0, el, cpu0, mach0;

	if (login(&c, opt.user, NULL) != 1 || stat_cmd(&c, &n, &total) != 1)
		fatal("retr: login or STAT failed");
	if (opt.count > 0 && n > opt.count)
		n = opt.count;
	if (n < 1)
		fatal("retr: no message to retrieve");
	if ((sizes = calloc((size_t)n + 1, sizeof(*sizes))) == NULL)
		fatal("out of memory");
	if (list_sizes(&c, sizes, n) == -1)
		fatal("retr: LIST failed");
	cpu0 = cpu_self();
	mach0 = cpu_machine();
	t0 = now();
	/* Round the n messages again until -M seconds have passed (-t caps). */
	for (i = 1; now() - t0 < opt.seconds; i = i % n + 1) {
		if (done >= n && now() - t0 >= opt.min_seconds)
			break;
		snprintf(arg, sizeof(arg), "%ld", i);
		if (conn_cmd(&c, "RETR", arg) != 1 ||
		    conn_multi(&c, &oct, &lines) == -1)
			fatal("retr: RETR %ld failed", i);
		if (oct != sizes[i - 1])
			errors++;
		bytes += oct;
		done++;
	}
	el = now() - t0;
	cpu0 = cpu_self() - cpu0;
	mach0 = mach0 < 0 ? -1 : cpu_machine() - mach0;
	conn_cmd(&c, "QUIT", NULL);
	conn_wait_close(&c);
	conn_close(&c);
	metric("retr_mb_per_s", bytes / el / 1e6);
	metric("retr_msgs_per_s", done / el);
	metric("retr_messages", (double)done);
	metric("retr_size_mismatches", (double)errors);
	if (bytes > 0) {
		/* What a MB costs: us alone (reading, TLS), and the box. */
		metric("retr_client_cpu_ms_per_mb", cpu0 * 1e9 / bytes);
		if (mach0 >= 0)
			metric("retr_machine_cpu_ms_per_mb", mach0 * 1e9 / bytes);
	}
	free(sizes);
}

/* ------------------------------------------------------- open */

static void
mode_open(void)
{
	struct conn	c;
	uint64_t	size, oct, lines;
	long		n;
	double		pass_s, t, stat_s;

	if (login(&c, opt.user, &pass_s) != 1)
		fatal("open: login failed");
	t = now();
	if (stat_cmd(&c, &n, &size) != 1)
		fatal("open: STAT failed");
	stat_s = now() - t;
	metric("open_pass_ms", pass_s * 1e3);
	metric("open_stat_ms", stat_s * 1e3);
	metric("open_passstat_ms", (pass_s + stat_s) * 1e3);
	metric("open_messages", (double)n);
	metric("open_octets", (double)size);
	t = now();
	if (conn_cmd(&c, "LIST", NULL) != 1 ||
	    conn_multi(&c, &oct, &lines) == -1 || (long)lines != n)
		fatal("open: LIST failed");
	metric("open_list_ms", (now() - t) * 1e3);
	t = now();
	if (conn_cmd(&c, "UIDL", NULL) != 1 ||
	    conn_multi(&c, &oct, &lines) == -1 || (long)lines != n)
		fatal("open: UIDL failed");
	metric("open_uidl_ms", (now() - t) * 1e3);
	hold();
	t = now();
	if (conn_cmd(&c, "QUIT", NULL) != 1)
		fatal("open: QUIT failed");
	metric("open_quit_ms", (now() - t) * 1e3);
	conn_wait_close(&c);
	conn_close(&c);
}

/* ------------------------------------------------------- update */

/* Send DELE 2, 4, ... with at most DELE_WINDOW unanswered. */
static long
dele_even(struct conn *c, long n)
{
	long	next = 2, answered = 0, sent = 0, errors = 0;
	int	r;

	while (answered < n / 2) {
		while (next <= n && sent - answered < DELE_WINDOW) {
			if (conn_printf(c, "DELE %ld\r\n", next) == -1)
				fatal("update: write failed");
			next += 2;
			sent++;
		}
		if ((r = conn_status(c)) == -1)
			fatal("update: DELE reply missing");
		if (r == 0)
			errors++;
		answered++;
	}
	return errors;
}

/* Messages in the mailbox from a fresh session, retried while [IN-USE]. */
static long
count_after(void)
{
	struct conn	c;
	uint64_t	size;
	long		n = -1;
	int		try, r;

	for (try = 0; try < 50; try++) {
		r = login(&c, opt.user, NULL);
		if (r == 1 && stat_cmd(&c, &n, &size) == 1) {
			conn_cmd(&c, "QUIT", NULL);
			conn_wait_close(&c);
			conn_close(&c);
			return n;
		}
		if (c.rbuf != NULL)
			conn_close(&c);
		usleep(100 * 1000);
	}
	return -1;
}

static void
mode_update(void)
{
	struct conn	c;
	uint64_t	size;
	long		n, errors;
	double		t;

	if (login(&c, opt.user, NULL) != 1 || stat_cmd(&c, &n, &size) != 1)
		fatal("update: login or STAT failed");
	t = now();
	errors = dele_even(&c, n);
	metric("update_dele_ms", (now() - t) * 1e3);
	metric("update_dele_errors", (double)errors);
	t = now();
	if (conn_printf(&c, "QUIT\r\n") == -1 || conn_status(&c) != 1)
		metric("update_quit_errors", 1);
	else
		metric("update_quit_errors", 0);
	metric("update_quit_ok_ms", (now() - t) * 1e3);
	conn_wait_close(&c);
	metric("update_quit_close_ms", (now() - t) * 1e3);
	conn_close(&c);
	metric("update_expected_left", (double)(n - n / 2));
	metric("update_messages_left", (double)count_after());
}

/* ------------------------------------------------------- idle */

static void
mode_idle(void)
{
	struct conn	*c;
	char		 user[128];
	long		 i, n, ok = 0;
	uint64_t	 size;

	if ((c = calloc((size_t)opt.count, sizeof(*c))) == NULL)
		fatal("out of memory");
	for (i = 0; i < opt.count; i++) {
		if (login(&c[i], user_name(user, sizeof(user), (int)i),
		    NULL) == 1 && stat_cmd(&c[i], &n, &size) == 1)
			ok++;
	}
	metric("idle_sessions", (double)ok);
	/* Let forked processes settle (relocations, lazy page faults). */
	usleep(300 * 1000);
	hold();
	for (i = 0; i < opt.count; i++) {
		if (c[i].rbuf == NULL)
			continue;
		conn_cmd(&c[i], "QUIT", NULL);
		conn_wait_close(&c[i]);
		conn_close(&c[i]);
	}
	free(c);
}

/* ------------------------------------------------------- main */

/* -C: suite names separated by ',' or ':' into opt.suites. */
static void
parse_suites(char *list)
{
	char	*name;
	int	 n = 0, id;

	while ((name = strsep(&list, ",:")) != NULL) {
		if (*name == '\0')
			continue;
		if ((id = mbedtls_ssl_get_ciphersuite_id(name)) == 0)
			fatal("unknown cipher suite %s", name);
		if (n == (int)(sizeof(opt.suites) / sizeof(opt.suites[0])) - 1)
			fatal("too many cipher suites");
		opt.suites[n++] = id;
	}
	opt.suites[n] = 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: loadgen sessions|retr|open|update|idle -p port [-a addr]\n"
	    "    [-u user] [-U user-prefix -N nusers] [-w password] [-c conns]\n"
	    "    [-t seconds] [-n count] [-M min-seconds] [-H hold-command]\n"
	    "    [-m tag]\n"
	    "    [-T [-r] [-C suite,...]]\n"
	    "  -T  implicit TLS (full handshakes); -r  resume TLS sessions;\n"
	    "  -M  retr: go round the -n messages again until this long\n"
	    "  -C  offer only these suites (mbedTLS names; default: mbedTLS's)\n");
	exit(2);
}

static void
parse(int argc, char *argv[])
{
	int	ch;

	opt.sin.sin_family = AF_INET;
	opt.sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	opt.user = "alice";
	opt.userprefix = "s";
	opt.pass = "secret";
	opt.nusers = 100;
	opt.conns = 4;
	opt.seconds = 8;
	while ((ch = getopt(argc, argv, "a:C:c:H:M:m:n:N:p:rt:Tu:U:w:")) != -1) {
		switch (ch) {
		case 'a':
			if (inet_pton(AF_INET, optarg, &opt.sin.sin_addr) != 1)
				usage();
			break;
		case 'C': parse_suites(optarg); break;
		case 'c': opt.conns = atoi(optarg); break;
		case 'H': opt.hold_cmd = optarg; break;
		case 'm': opt.tag = optarg; break;
		case 'n': opt.count = atol(optarg); break;
		case 'N': opt.nusers = atoi(optarg); break;
		case 'p': opt.sin.sin_port = htons((uint16_t)atoi(optarg)); break;
		case 'r': opt.resume = 1; break;
		case 'T': opt.tls = 1; break;
		case 't': opt.seconds = atof(optarg); break;
		case 'M': opt.min_seconds = atof(optarg); break;
		case 'u': opt.user = optarg; break;
		case 'U': opt.userprefix = optarg; break;
		case 'w': opt.pass = optarg; break;
		default: usage();
		}
	}
	if (optind + 1 != argc || opt.sin.sin_port == 0 || opt.nusers < 1 ||
	    (opt.resume && !opt.tls))
		usage();
	opt.mode = argv[optind];
}

int
main(int argc, char *argv[])
{
	parse(argc, argv);
	/* A server that closes first must not kill us at close_notify. */
	signal(SIGPIPE, SIG_IGN);
	transport = opt.tls ? &tls_transport : &tcp_transport;
	if (strcmp(opt.mode, "sessions") == 0)
		mode_sessions();
	else if (strcmp(opt.mode, "retr") == 0)
		mode_retr();
	else if (strcmp(opt.mode, "open") == 0)
		mode_open();
	else if (strcmp(opt.mode, "update") == 0)
		mode_update();
	else if (strcmp(opt.mode, "idle") == 0)
		mode_idle();
	else
		usage();
	tls_metrics();
	return 0;
}
