/*
 * The connection loop: feeds client bytes to the session, writes its
 * replies in large batches, and enforces the idle timeout.  The session
 * itself never sees a descriptor.
 */
#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "conn.h"
#include "log.h"
#include "mbox.h"
#include "params.h"
#include "session.h"
#include "transport.h"

/* Why a connection stopped before the session ended it. */
enum conn_stop {
	STOP_NONE,
	STOP_TIMEOUT,
	STOP_EOF,
	STOP_ERROR
};

static int
be_password(void *ctx, const char *user, const char *pass,
    struct auth_user *who)
{
	return auth_passwd(ctx, user, pass, who);
}

static int
be_apop(void *ctx, const char *user, const char *stamp, const char *digest,
    struct auth_user *who)
{
	return auth_apop(ctx, user, stamp, digest, who);
}

static const char *
be_why(void *ctx)
{
	(void)ctx;
	return auth_last_reason();
}

/*
 * The seam for privilege separation: a daemon started as root already
 * runs as the configured user here; the switch to the mailbox owner will
 * happen at this point once the root side can vouch for the login.
 */
static int
be_open_maildrop(void *ctx, const struct auth_user *who,
    const struct maildrop_ops **ops, void **md)
{
	struct mbox	*mb;
	int		 rc;

	if ((rc = mbox_open(who->mailbox, ctx, &mb)) != MD_OK)
		return rc;
	*ops = &mbox_ops;
	*md = mb;
	return MD_OK;
}

static ssize_t
plain_read(struct transport *t, void *p, size_t n)
{
	return read(t->fd_in, p, n);
}

static ssize_t
plain_write(struct transport *t, const void *p, size_t n)
{
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

/* Wait until fd is ready for events.  Returns 1, 0 on timeout, -1 on error. */
static int
wait_fd(int fd, short events, unsigned timeout_s)
{
	struct pollfd	pfd = { .fd = fd, .events = events };
	int		r;

	do
		r = poll(&pfd, 1, (int)timeout_s * 1000);
	while (r == -1 && errno == EINTR);
	return r;
}

static void
sleep_ms(unsigned ms)
{
	struct timespec	ts = { ms / 1000, (long)(ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Write all of out.  Returns STOP_NONE or why the client can't be reached. */
static enum conn_stop
flush_out(struct transport *t, struct buf *out, unsigned timeout_s)
{
	ssize_t	n;
	size_t	off = 0;
	int	r;

	while (off < out->len) {
		if ((r = wait_fd(t->fd_out, POLLOUT, timeout_s)) <= 0)
			return r == 0 ? STOP_TIMEOUT : STOP_ERROR;
		n = t->write(t, out->data + off, out->len - off);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return STOP_ERROR;
		off += (size_t)n;
	}
	out->len = 0;
	return STOP_NONE;
}

/* Read what the client sent into in.  Returns STOP_NONE or why not. */
static enum conn_stop
fill_in(struct transport *t, struct buf *in, unsigned timeout_s)
{
	ssize_t	n;
	int	r;

	for (;;) {
		if (t->pending(t) == 0 &&
		    (r = wait_fd(t->fd_in, POLLIN, timeout_s)) <= 0)
			return r == 0 ? STOP_TIMEOUT : STOP_ERROR;
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

/* A fresh APOP timestamp: unique per greeting (RFC 1939 section 7). */
static void
make_stamp(char *stamp, size_t len)
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
	case STOP_EOF:
		log_info("%s: client closed the connection", peer);
		break;
	case STOP_ERROR:
		log_warn("%s: connection lost", peer);
		break;
	case STOP_NONE:
		break;
	}
}

/*
 * The loop: let the session work, flush what it produced, and read only
 * when it has nothing left to do.  Input bytes the session's buffer can't
 * take yet stay in `in' until it has worked through its lines.
 */
static enum conn_stop
run(const struct conf *c, struct session *s, struct transport *t,
    struct buf *in, struct buf *out)
{
	enum conn_stop	stop;
	size_t		off = 0, n;
	unsigned	delay;
	int		want;

	session_greeting(s, out);
	for (;;) {
		want = session_work(s, out);
		if ((delay = session_delay(s)) > 0)
			sleep_ms(delay);
		if ((stop = flush_out(t, out, c->idle_timeout)) != STOP_NONE)
			return want == SESSION_END ? STOP_NONE : stop;
		if (want == SESSION_END)
			return STOP_NONE;
		if (want == SESSION_WRITE)
			continue;
		if (off == in->len) {
			off = 0;
			in->len = 0;
			if ((stop = fill_in(t, in, c->idle_timeout)) != STOP_NONE)
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

int
conn_serve(const struct conf *c, struct transport *t, const char *peer)
{
	struct session_backend	 be = {
		.ctx = (void *)(uintptr_t)c,
		.check_password = be_password,
		.check_apop = be_apop,
		.open_maildrop = be_open_maildrop,
		.why = be_why,
	};
	struct session		*s;
	struct buf		 in, out;
	char			 stamp[128];
	enum conn_stop		 stop;

	if (buf_init(&in, SESSION_INBUF_SIZE) == -1 ||
	    buf_init(&out, SESSION_OUTBUF_SIZE) == -1) {
		log_warn("%s: buffers", peer);
		return -1;
	}
	make_stamp(stamp, sizeof(stamp));
	if ((s = session_new(c, &be, peer, stamp)) == NULL) {
		log_warn("%s: session", peer);
		buf_free(&in);
		buf_free(&out);
		return -1;
	}
	stop = run(c, s, t, &in, &out);
	log_stop(stop, peer);
	session_free(s);
	buf_free(&in);
	buf_free(&out);
	return stop == STOP_NONE ? 0 : -1;
}
