/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The pre-login process's side of privilege separation: the backend that
 * asks the monitor, the key stand-in, the TLS relay.  None of it runs as
 * root: privsep.c forks this process and jails it (`user', the empty
 * chroot) before prelogin_serve runs, and the syscall filter goes on
 * before the first client byte is read.  Only prelogin_keyops runs
 * before the jail, and it only notes the monitor's descriptor.
 */
#include <sys/types.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "conn.h"
#include "log.h"
#include "params.h"
#include "peerlimit.h"
#include "prelogin.h"
#include "proctitle.h"
#include "privmsg.h"
#include "sandbox.h"
#include "tls.h"
#include "tlskeys.h"
#include "transport.h"

/*
 * The pre-login process's backend: every login goes to the monitor,
 * which verifies it and, once it is verified, serves the user itself.
 */
struct via_monitor {
	int		 ch;
	const char	*peer;
	char		 why[PRIVSEP_TEXT_MAX];	/* the monitor's */
};

static int	vm_password(void *ctx, const char *user, const char *pass,
	    struct auth_user *who);
static int	vm_apop(void *ctx, const char *user, const char *stamp,
	    const char *digest, struct auth_user *who);
static const char	*vm_why(void *ctx);
static int	vm_open_maildrop(void *ctx, const struct auth_user *who,
	    const struct maildrop_ops **ops, void **md);
static int	vm_hand_on(void *ctx, struct transport *t, const char *how,
	    const char *a, size_t alen, const char *b, size_t blen);
static int	relay(struct transport *t, int fd, unsigned idle_s);

int
prelogin_serve(const struct conf *c, int fd_in, int fd_out,
    struct conn_link *link, int ch,
    int (*prepare)(struct conn_link *, int, void *), void *arg)
{
	struct via_monitor	vm = { .ch = ch };
	struct conn_backend	be = {
		.session = {
			.ctx = &vm,
			.check_password = vm_password,
			.check_apop = vm_apop,
			.open_maildrop = vm_open_maildrop,
			.why = vm_why,
		},
		.hand_on = vm_hand_on,
	};
	struct transport	t;
	int			rc;

	if (c->sandbox && sandbox_enter(SANDBOX_PRELOGIN) == -1)
		return -1;
	if (prepare != NULL && prepare(link, ch, arg) == -1)
		return -1;
	/* A PROXY header may have named the real client. */
	proctitle_set("pre-login %s", link->peer);
	vm.peer = link->peer;
	transport_plain(&t, fd_in, fd_out);
	rc = conn_serve(c, &t, link, &be, NULL);
	/* TLS after a handoff: this process relays for the user process. */
	if (rc == 1 && t.secure)
		proctitle_set("TLS relay %s", link->peer);
	if (rc == 1)
		rc = t.secure ? relay(&t, ch, c->idle_timeout) : 0;
	if (t.shutdown != NULL)
		t.shutdown(&t);
	return rc;
}

/*
 * In the pre-login process: ask the monitor on fd to verify a password
 * (PS_PASSWORD) or an APOP digest (PS_APOP).  why (PRIVSEP_TEXT_MAX
 * bytes) gets the monitor's reason.  Returns an enum auth_result;
 * AUTH_TEMPFAIL when the monitor can't be reached.
 */
static int
ask_verdict(int fd, int type, const char *user, const char *secret,
    char *why)
{
	struct privsep_msg	m;
	int			rc;

	memset(&m, 0, sizeof(m));
	m.type = (uint32_t)type;
	snprintf(m.user, sizeof(m.user), "%s", user);
	snprintf(m.secret, sizeof(m.secret), "%s", secret);
	snprintf(why, PRIVSEP_TEXT_MAX, "privileged side unreachable");
	rc = privsep_send_msg(fd, &m);
	explicit_bzero(&m, sizeof(m));
	if (rc == -1 || privsep_recv_msg(fd, &m) != 0 || m.type != PS_VERDICT)
		return AUTH_TEMPFAIL;
	snprintf(why, PRIVSEP_TEXT_MAX, "%s", m.text);
	return (int)m.result;
}

static int
vm_password(void *ctx, const char *user, const char *pass,
    struct auth_user *who)
{
	struct via_monitor	*vm = ctx;

	memset(who, 0, sizeof(*who));
	snprintf(who->name, sizeof(who->name), "%s", user);
	return ask_verdict(vm->ch, PS_PASSWORD, user, pass, vm->why);
}

/* The monitor checks against its own copy of the stamp. */
static int
vm_apop(void *ctx, const char *user, const char *stamp, const char *digest,
    struct auth_user *who)
{
	struct via_monitor	*vm = ctx;

	(void)stamp;
	memset(who, 0, sizeof(*who));
	snprintf(who->name, sizeof(who->name), "%s", user);
	return ask_verdict(vm->ch, PS_APOP, user, digest, vm->why);
}

static const char *
vm_why(void *ctx)
{
	struct via_monitor	*vm = ctx;

	return vm->why;
}

/* A verified login: the monitor opens the maildrop as its owner. */
static int
vm_open_maildrop(void *ctx, const struct auth_user *who,
    const struct maildrop_ops **ops, void **md)
{
	(void)ctx;
	(void)who;
	(void)ops;
	(void)md;
	return MD_HANDOFF;
}

/*
 * In the pre-login process, after a verified login: send the handoff
 * message and the unread input (two pieces) to the monitor on fd.
 * tlsinfo is "" without TLS; peer names the client; how is the login
 * command.  Returns 0, or -1 (logged).
 */
static int
send_handoff(int fd, int secure, const char *tlsinfo, const char *peer,
    const char *how, const char *a, size_t alen, const char *b, size_t blen)
{
	struct privsep_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = PS_HANDOFF;
	m.secure = secure != 0;
	m.unread = (uint32_t)(alen + blen);
	snprintf(m.text, sizeof(m.text), "%s", tlsinfo);
	snprintf(m.peer, sizeof(m.peer), "%s", peer);
	snprintf(m.how, sizeof(m.how), "%s", how);
	if (alen + blen > PRIVSEP_UNREAD_MAX || privsep_send_msg(fd, &m) == -1 ||
	    privsep_write_all(fd, a, alen) == -1 || privsep_write_all(fd, b, blen) == -1) {
		log_warn("handing the session over");
		return -1;
	}
	return 0;
}

/* The handoff: the login command, the TLS in use, what was pipelined. */
static int
vm_hand_on(void *ctx, struct transport *t, const char *how, const char *a,
    size_t alen, const char *b, size_t blen)
{
	struct via_monitor	*vm = ctx;
	char			 tlsinfo[PRIVSEP_TEXT_MAX];

	tls_describe(t, tlsinfo, sizeof(tlsinfo));
	return send_handoff(vm->ch, t->secure, tlsinfo, vm->peer, how, a,
	    alen, b, blen);
}

int
prelogin_rekey(int fd, const struct sockaddr *sa)
{
	static const char	hex[] = "0123456789abcdef";
	struct privsep_msg	m;
	unsigned char		key[PEERLIMIT_KEY_LEN];
	size_t			i;

	if (peerlimit_key(sa, key) == -1)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = PS_REKEY;
	for (i = 0; i < sizeof(key); i++) {
		m.secret[2 * i] = hex[key[i] >> 4];
		m.secret[2 * i + 1] = hex[key[i] & 15];
	}
	if (privsep_send_msg(fd, &m) == -1 || privsep_recv_msg(fd, &m) != 0 ||
	    m.type != PS_ADMIT)
		return -1;
	return (int)m.result;
}

/*
 * The pre-login side: ask on fd and wait for the answer.  The monitor's
 * bounds are kept here too, so that an honest process never meets them
 * (a third ticket in a TLS 1.3 ClientHello is refused here, and the
 * handshake goes on without it).
 */
static struct keyclient {
	int		fd;
	unsigned	signs, seals, opens;
} keyclient = { -1, 0, 0, 0 };

static int
keyop_ask(const struct keyclient *kc, const struct privsep_msg *req,
    const unsigned char *in, uint32_t answer, unsigned char *out,
    size_t cap, size_t *olen)
{
	struct privsep_msg	m;
	int			fd = kc->fd;

	*olen = 0;
	if (privsep_send_msg(fd, req) == -1 || privsep_write_all(fd, in, req->unread) == -1 ||
	    privsep_recv_msg(fd, &m) != 0 || m.type != answer || m.unread > cap ||
	    privsep_read_all(fd, out, m.unread) == -1) {
		log_warnx("the monitor did not answer a key operation");
		return -1;
	}
	*olen = m.unread;
	return m.result == 0 ? 0 : -1;
}

static int
ask_sign(void *ctx, unsigned cert, unsigned md, const unsigned char *hash,
    size_t hlen, unsigned char *sig, size_t cap, size_t *siglen)
{
	struct keyclient	*kc = ctx;
	struct privsep_msg	 m;

	if (kc->signs++ >= PRIVSEP_SIGNS_MAX)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PS_SIGN;
	m.result = md;
	m.secure = cert;
	m.unread = (uint32_t)hlen;
	return keyop_ask(kc, &m, hash, PS_SIGNED, sig, cap, siglen);
}

static int
ask_seal(void *ctx, const unsigned char *state, size_t len,
    unsigned char *ticket, size_t cap, size_t *tlen)
{
	struct keyclient	*kc = ctx;
	struct privsep_msg	 m;

	if (kc->seals++ >= PRIVSEP_SEALS_MAX)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PS_SEAL;
	m.unread = (uint32_t)len;
	return keyop_ask(kc, &m, state, PS_TICKET, ticket, cap, tlen);
}

static int
ask_open(void *ctx, const unsigned char *ticket, size_t len,
    unsigned char *state, size_t cap, size_t *slen)
{
	struct keyclient	*kc = ctx;
	struct privsep_msg	 m;

	/* What the decoder would refuse is no ticket of ours anyway. */
	if (len == 0 || len > TLS_TICKET_MAX ||
	    kc->opens++ >= PRIVSEP_OPENS_MAX)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PS_OPEN;
	m.unread = (uint32_t)len;
	return keyop_ask(kc, &m, ticket, PS_TICKET, state, cap, slen);
}

static const struct tls_keyops	ask_monitor = {
	&keyclient, ask_sign, ask_seal, ask_open
};

/*
 * In the new pre-login process, before it is jailed (privsep.c's
 * keys_to_monitor): the key operations go to the monitor on fd.
 */
const struct tls_keyops *
prelogin_keyops(int fd)
{
	keyclient.fd = fd;
	return &ask_monitor;
}

/* Move what is readable from the client to fd.  Returns 1, 0 at EOF, -1. */
static int
proxy_up(struct transport *t, int fd, char *buf, size_t len)
{
	ssize_t	n;

	n = t->read(t, buf, len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	return privsep_write_all(fd, buf, (size_t)n) == 0 ? 1 : -1;
}

/*
 * Move what the user process wrote to the client, which must take some
 * of it every wait_ms: one that stops reading is dropped, as the user
 * process drops it on its side.  Same returns.
 */
static int
proxy_down(struct transport *t, int fd, char *buf, size_t len, int wait_ms)
{
	struct pollfd	pfd = { t->fd_out, POLLOUT, 0 };
	ssize_t		n, w;
	size_t		off = 0;

	n = read(fd, buf, len);
	if (n == -1 && errno == EINTR)
		return 1;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	while (off < (size_t)n) {
		w = t->write(t, buf + off, (size_t)n - off);
		if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (poll(&pfd, 1, wait_ms) == 0) {
				log_info("TLS relay: the client took nothing "
				    "for %d s, closing", wait_ms / 1000);
				return -1;
			}
			continue;
		}
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 1;
}

/*
 * In the pre-login process of a TLS session after the handoff: relay
 * bytes between the client (through t) and the user process on fd until
 * either side closes, or nothing moves for idle_s seconds and a grace.
 * Returns 0, or -1 on an error or that timeout.
 *
 * Every wait is bounded by the idle timeout and a grace: the user
 * process enforces idle_timeout itself and closes fd, which ends this
 * loop; the bound only makes sure that a client which stops reading, or
 * a user process that is gone, never keeps this process for good.
 */
static int
relay(struct transport *t, int fd, unsigned idle_s)
{
	struct pollfd	pfd[2];
	char		buf[SESSION_OUTBUF_SIZE];
	int		r = 1, n, wait_ms = (int)(idle_s + RELAY_GRACE) * 1000;

	privsep_trim_heap();
	while (r == 1) {
		pfd[0].fd = t->fd_in;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (t->pending(t) == 0 &&
		    (n = poll(pfd, 2, wait_ms)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0)
				log_info("TLS relay: nothing moved for %d s, "
				    "closing", wait_ms / 1000);
			r = -1;
			break;
		}
		if (t->pending(t) > 0 || pfd[0].revents != 0)
			r = proxy_up(t, fd, buf, sizeof(buf));
		if (r == 1 && pfd[1].revents != 0)
			r = proxy_down(t, fd, buf, sizeof(buf), wait_ms);
	}
	explicit_bzero(buf, sizeof(buf));
	return r == 0 ? 0 : -1;
}
