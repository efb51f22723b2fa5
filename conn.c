/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The connection pump: feeds client bytes from a transport to the
 * session, writes its replies in large batches, runs STLS, and enforces
 * the idle timeout and the login deadline.  The session never sees a
 * descriptor; the pump never sees who checks a password or where the
 * mailbox is: both come from its caller's backend.
 */
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "conn.h"
#include "log.h"
#include "params.h"
#include "session.h"
#include "tls.h"
#include "tlskeys.h"
#include "transport.h"

/* Why a connection stopped before the session ended it. */
enum conn_stop {
	STOP_NONE,
	STOP_TIMEOUT,
	STOP_LOGIN_TIMEOUT,	/* no login within login_timeout */
	STOP_EOF,
	STOP_ERROR,
	STOP_SIGNAL,		/* SIGTERM, after conn_catch_term */
	STOP_TLS,		/* handshake failed (tls.c logged why) */
	STOP_HANDOFF		/* the backend handed the login on */
};

/*
 * How long the connection may wait for the client: idle_timeout at a
 * time, and before a login no later than the login deadline.
 */
struct conn_clock {
	unsigned	idle_s;
	long long	deadline;	/* CLOCK_MONOTONIC ms; 0: none */
};

/*
 * SIGTERM, once conn_catch_term has set it up: blocked but for the waits
 * in ppoll, where the handler only notes it, so the loop ends the session
 * and says so where it can log (never in the handler), and a signal that
 * comes during UPDATE (lock.c blocks every signal there) waits for it.
 */
static volatile sig_atomic_t	got_term;
static int			catching_term;
static sigset_t			wait_mask;	/* the mask inside ppoll */

static void
on_term(int sig)
{
	(void)sig;
	got_term = 1;
}

int
conn_catch_term(void)
{
	struct sigaction	sa;
	sigset_t		term;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &term, &wait_mask) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1) {
		log_warn("SIGTERM handler");
		return -1;
	}
	sigdelset(&wait_mask, SIGTERM);
	catching_term = 1;
	return 0;
}

static ssize_t
plain_read(struct transport *t, void *p, size_t n)
{
	return read(t->fd_in, p, n);
}

/*
 * Never blocks on a socket: flush_out writes first and waits in poll
 * only when the socket is full, so a client that stops reading meets
 * the timeout there instead of holding a blocking write forever.
 * MSG_DONTWAIT makes this one call non-blocking without changing the
 * descriptor, which the pre-login process, the relay and the session
 * share.  Not a socket (a pipe from a test harness): written once poll
 * says there is room.
 */
static ssize_t
plain_write(struct transport *t, const void *p, size_t n)
{
	struct pollfd	pfd = { .fd = t->fd_out, .events = POLLOUT };
	ssize_t		r;

	r = send(t->fd_out, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (r != -1 || errno != ENOTSOCK)
		return r;
	if (poll(&pfd, 1, 0) == 0) {
		errno = EAGAIN;
		return -1;
	}
	return write(t->fd_out, p, n);
}

static size_t
plain_pending(struct transport *t)
{
	(void)t;
	return 0;
}

void
transport_plain(struct transport *t, int fd_in, int fd_out)
{
	memset(t, 0, sizeof(*t));
	t->fd_in = fd_in;
	t->fd_out = fd_out;
	t->read = plain_read;
	t->write = plain_write;
	t->pending = plain_pending;
}

long long
conn_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Milliseconds to wait at most now, or -1 when the deadline has passed. */
static int
wait_ms(const struct conn_clock *ck)
{
	long long	left;

	if (ck->deadline == 0)
		return (int)ck->idle_s * 1000;
	if ((left = ck->deadline - conn_now_ms()) <= 0)
		return -1;
	return left < (long long)ck->idle_s * 1000 ? (int)left :
	    (int)ck->idle_s * 1000;
}

/*
 * A wait timed out: the idle timeout, or the login deadline when that
 * is what ran out.
 */
static enum conn_stop
timed_out(const struct conn_clock *ck)
{
	return ck->deadline != 0 && conn_now_ms() >= ck->deadline ?
	    STOP_LOGIN_TIMEOUT : STOP_TIMEOUT;
}

/*
 * Wait until fd is ready for events.  Returns 1, 0 on timeout, -1 on error
 * or SIGTERM (got_term).
 */
static int
wait_fd(int fd, short events, const struct conn_clock *ck)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	struct timespec	ts;
	int		r, ms;

	do {
		if ((ms = wait_ms(ck)) == -1)
			return 0;
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000;
		r = ppoll(&pfd, 1, &ts, catching_term ? &wait_mask : NULL);
	} while (r == -1 && errno == EINTR && !got_term);
	return r;
}

/* Why a wait or a transfer failed: SIGTERM, or the connection. */
static enum conn_stop
broken(void)
{
	return got_term ? STOP_SIGNAL : STOP_ERROR;
}

int
conn_wait_until(int fd, int watch, long long until)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLRDHUP };
	long long	left;

	while ((left = until - conn_now_ms()) > 0) {
		if (poll(&pfd, watch ? 1 : 0, (int)left) > 0 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
			return -1;
	}
	return 0;
}

/* Write all of out.  Returns STOP_NONE or why the client can't be reached. */
static enum conn_stop
flush_out(struct transport *t, struct buf *out, const struct conn_clock *ck)
{
	ssize_t	n;
	size_t	off = 0;
	int	r;

	/* The write first: the poll is needed only when the socket is full. */
	while (off < out->len) {
		n = t->write(t, out->data + off, out->len - off);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			return STOP_ERROR;
		if (errno == EAGAIN &&
		    (r = wait_fd(t->fd_out, POLLOUT, ck)) <= 0)
			return r == 0 ? timed_out(ck) : broken();
	}
	out->len = 0;
	return STOP_NONE;
}

/* Read what the client sent into in.  Returns STOP_NONE or why not. */
static enum conn_stop
fill_in(struct transport *t, struct buf *in, const struct conn_clock *ck)
{
	ssize_t	n;
	int	r;

	for (;;) {
		if (t->pending(t) == 0 &&
		    (r = wait_fd(t->fd_in, POLLIN, ck)) <= 0)
			return r == 0 ? timed_out(ck) : broken();
		n = t->read(t, in->data, in->cap);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n == 0)
			return STOP_EOF;
		if (n < 0)
			return STOP_ERROR;
		in->len = (size_t)n;
		return STOP_NONE;
	}
}

void
conn_make_stamp(char *stamp, size_t len)
{
	unsigned char	rnd[8];
	char		host[64];
	size_t		got = 0;
	ssize_t		n;

	while (got < sizeof(rnd)) {
		n = getrandom(rnd + got, sizeof(rnd) - got, 0);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (gethostname(host, sizeof(host)) == -1 || host[0] == '\0')
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(stamp, len, "<%ld.%02x%02x%02x%02x%02x%02x%02x%02x@%s>",
	    (long)getpid(), rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5],
	    rnd[6], rnd[7], host);
}

static void
log_stop(enum conn_stop why, const char *peer)
{
	switch (why) {
	case STOP_TIMEOUT:
		log_info("%s: idle timeout, closing without update", peer);
		break;
	case STOP_LOGIN_TIMEOUT:
		log_info("%s: no login within login_timeout, closing", peer);
		break;
	case STOP_EOF:
		log_info("%s: client closed the connection", peer);
		break;
	case STOP_ERROR:
		log_warn("%s: connection lost", peer);
		break;
	case STOP_NONE:
	case STOP_SIGNAL:	/* the logout line says it */
	case STOP_TLS:
	case STOP_HANDOFF:
		break;
	}
}

/*
 * Seconds a TLS handshake may take: tls_handshake_timeout, and no more
 * than what is left before the login deadline (at least one).
 */
static unsigned
handshake_s(const struct conf *c, long long deadline)
{
	long long	left;

	if (deadline == 0)
		return c->tls_handshake_timeout;
	left = (deadline - conn_now_ms() + 999) / 1000;
	return left < 1 ? 1 : left < (long long)c->tls_handshake_timeout ?
	    (unsigned)left : c->tls_handshake_timeout;
}

/* Tell the session the TLS in use on t, for its login lines. */
static void
describe_tls(struct session *s, struct transport *t)
{
	char	desc[128];

	tls_describe(t, desc, sizeof(desc));
	session_set_tls(s, desc);
}

/*
 * STLS accepted and its "+OK" flushed: drop what the client sent after
 * it in plaintext (RFC 2595 section 4), then run the handshake.
 */
static enum conn_stop
start_tls(const struct conf *c, const struct conn_link *link,
    struct session *s, struct transport *t, struct buf *in,
    const struct conn_clock *ck)
{
	in->len = 0;
	if (tls_start(link->tls, t, handshake_s(c, ck->deadline),
	    link->peer) == -1)
		return STOP_TLS;
	tls_forget_secrets(link->tls);
	session_tls_started(s);
	describe_tls(s, t);
	return STOP_NONE;
}

/*
 * A login the backend handed on: pass what the client pipelined behind
 * it (the session's unread bytes, then ours from off) to where the
 * backend says, with the login command.
 */
static enum conn_stop
hand_on(const struct conn_backend *be, struct session *s,
    struct transport *t, struct buf *in, size_t off)
{
	const char	*how, *p;
	size_t		 n = session_handoff(s, &how, &p);

	if (be->hand_on == NULL || be->hand_on(be->session.ctx, t, how, p, n,
	    in->data + off, in->len - off) == -1)
		return STOP_ERROR;
	return STOP_HANDOFF;
}

/*
 * The loop: let the session work, flush what it produced, and read only
 * when it has nothing left to do.  Input bytes the session's buffer can't
 * take yet stay in `in' (which may start out holding some) until it has
 * worked through its lines.
 */
static enum conn_stop
run(const struct conf *c, const struct conn_link *link,
    const struct conn_backend *be, struct session *s, struct transport *t,
    struct buf *in, struct buf *out, const struct conn_clock *ck)
{
	enum conn_stop	stop;
	size_t		off = 0, n;
	unsigned	delay;
	long long	t0;
	int		want;

	for (;;) {
		/*
		 * A failed login is answered delay ms after its line was
		 * taken, however long its check took (the monitor's verdict
		 * may already have waited it all), unless the client leaves.
		 */
		t0 = conn_now_ms();
		want = session_work(s, out);
		if ((delay = session_delay(s)) > 0 &&
		    conn_wait_until(t->fd_in, link->sock, t0 + delay) == -1)
			return STOP_EOF;
		if ((stop = flush_out(t, out, ck)) != STOP_NONE)
			return want == SESSION_END ? STOP_NONE : stop;
		if (want == SESSION_END)
			return STOP_NONE;
		if (want == SESSION_WRITE)
			continue;
		if (want == SESSION_HANDOFF)
			return hand_on(be, s, t, in, off);
		if (want == SESSION_STARTTLS) {
			off = 0;
			if ((stop = start_tls(c, link, s, t, in, ck)) !=
			    STOP_NONE)
				return stop;
			continue;
		}
		if (off == in->len) {
			off = 0;
			in->len = 0;
			session_idle(s);
			if ((stop = fill_in(t, in, ck)) != STOP_NONE)
				return stop;
		}
		n = session_feed(s, in->data + off, in->len - off);
		if (n == 0) {
			log_warnx("session took no input while asking for it");
			return STOP_ERROR;
		}
		off += n;
	}
}

/*
 * The session proper, once any implicit TLS handshake is done: from the
 * greeting, or (resume set) from a login verified elsewhere.
 */
static enum conn_stop
serve(const struct conf *c, const struct conn_link *link,
    const struct conn_backend *be, struct transport *t, struct buf *in,
    struct buf *out, const struct conn_resume *resume,
    const struct conn_clock *ck)
{
	struct session	*s;
	char		 stamp[128];
	enum conn_stop	 stop;

	if (link->stamp != NULL)
		snprintf(stamp, sizeof(stamp), "%s", link->stamp);
	else
		conn_make_stamp(stamp, sizeof(stamp));
	if ((s = session_new(c, &be->session, link->peer, stamp)) == NULL) {
		log_warn("%s: session", link->peer);
		return STOP_ERROR;
	}
	session_set_link(s, t->secure, link->loopback, link->tls != NULL);
	if (t->secure)
		describe_tls(s, t);
	if (resume == NULL)
		session_greeting(s, out);
	else
		session_resume(s, resume->who, resume->how, out);
	stop = run(c, link, be, s, t, in, out, ck);
	log_stop(stop, link->peer);
	if (stop == STOP_SIGNAL)
		session_close(s, "terminated by signal");
	session_free(s);
	return stop;
}

int
conn_serve(const struct conf *c, struct transport *t,
    const struct conn_link *link, const struct conn_backend *be,
    const struct conn_resume *resume)
{
	struct conn_clock	 ck = { c->idle_timeout, 0 };
	struct buf		 own, out, *in = &own;
	enum conn_stop		 stop = STOP_TLS;

	/* Before a login (the greeting's side), within login_timeout. */
	if (resume == NULL)
		ck.deadline = conn_now_ms() + (long long)c->login_timeout * 1000;
	if ((resume == NULL && buf_init(&own, SESSION_INBUF_SIZE) == -1) ||
	    buf_init(&out, SESSION_OUTBUF_SIZE) == -1) {
		log_warn("%s: buffers", link->peer);
		return -1;
	}
	if (resume != NULL)
		in = resume->in;
	if (!link->implicit_tls || tls_start(link->tls, t,
	    handshake_s(c, ck.deadline), link->peer) == 0) {
		if (link->implicit_tls)
			tls_forget_secrets(link->tls);
		stop = serve(c, link, be, t, in, &out, resume, &ck);
	}
	if (resume == NULL)
		buf_free(&own);
	buf_free(&out);
	return stop == STOP_NONE ? 0 : stop == STOP_HANDOFF ? 1 : -1;
}
