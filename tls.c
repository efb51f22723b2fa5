/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The TLS transport, on the side that faces the client (the jailed
 * pre-login process, or a process without a monitor): one connection's
 * handshake on mbedTLS, its records through the struct transport hooks,
 * and, for the keys this process gave up, the requests to its monitor.
 * The certificates, keys and settings it uses are tlskeys.c's.
 *
 * Every process reseeds the DRBG it inherited by fork before its first
 * random byte, and parses the keys it still holds into its own memory
 * before its first handshake; a key the monitor kept is stood in for by
 * one that asks the monitor to sign.  No compression (refused at build
 * time below).
 */
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/ssl.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "log.h"
#include "params.h"
#include "tls.h"
#include "tls_int.h"
#include "tlskeys.h"
#include "transport.h"

#if defined(MBEDTLS_ZLIB_SUPPORT)
#error "TLS compression enables CRIME: build mbedTLS without MBEDTLS_ZLIB_SUPPORT"
#endif

/*
 * reseed() restarts PSA in every session process so that its generator
 * (TLS 1.3 key shares come from it) is not the listener's.
 * With MBEDTLS_USE_PSA_CRYPTO the private keys and ticket keys would live
 * in PSA too, and the restart would destroy them.
 */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_USE_PSA_CRYPTO)
#error "pop3d needs mbedTLS 3 built without MBEDTLS_USE_PSA_CRYPTO"
#endif

/* Room for a client's SNI name in the log (a DNS name is at most 253). */
#define SNI_LOG_MAX	256

struct tls_conn {
	mbedtls_ssl_context	ssl;
	int			fd_in, fd_out;
	char			peer[128];
	char			sni[SNI_LOG_MAX];	/* "" when none was sent */
	const char		*cert;	/* the tls_sni name SNI chose, or NULL */
};

/*
 * When a ticket opened by a process without a monitor had its full
 * handshake (tls_ticket_seal's born): one connection's, reset by
 * tls_start.
 */
static time_t	local_born;

/* RFC 6125 section 6.4.3, simplified: "*." matches exactly one label. */
static int
name_match(const char *pattern, const unsigned char *name, size_t len)
{
	const unsigned char	*dot;
	size_t			 plen = strlen(pattern);

	if (pattern[0] == '*') {
		if ((dot = memchr(name, '.', len)) == NULL || dot == name)
			return 0;
		len -= (size_t)(dot - name);
		name = dot;
		pattern++;
		plen--;
	}
	return plen == len && strncasecmp(pattern, (const char *)name,
	    len) == 0;
}

/*
 * The connection an mbedTLS context belongs to: every context pop3d sets
 * up lives inside a struct tls_conn, and mbedTLS 2.28 has no user-data
 * pointer in the context to find it by.
 */
static struct tls_conn *
conn_of(mbedtls_ssl_context *ssl)
{
	return (struct tls_conn *)(void *)((char *)ssl -
	    offsetof(struct tls_conn, ssl));
}

/*
 * Keep the name the client asked for, for the log: the bytes are the
 * client's, so anything but a host name's characters becomes '?'.
 */
static void
sni_remember(struct tls_conn *tc, const unsigned char *name, size_t len)
{
	static const char	ok[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_*";
	size_t			i;

	if (len >= sizeof(tc->sni))
		len = sizeof(tc->sni) - 1;
	for (i = 0; i < len; i++) {
		if (name[i] != '\0' && strchr(ok, name[i]) != NULL)
			tc->sni[i] = (char)name[i];
		else
			tc->sni[i] = '?';
	}
	tc->sni[len] = '\0';
}

/* SNI: the first tls_sni entry matching the name; else the default. */
int
tls_sni_select(void *p, mbedtls_ssl_context *ssl, const unsigned char *name,
    size_t len)
{
	struct tls_server	*s = p;
	struct tls_conn		*tc = conn_of(ssl);
	int			 i;

	sni_remember(tc, name, len);
	for (i = 1; i < s->ncerts; i++)
		if (name_match(s->certs[i].name, name, len)) {
			tc->cert = s->certs[i].name;
			return mbedtls_ssl_set_hs_own_cert(ssl,
			    &s->certs[i].crt, &s->certs[i].key);
		}
	return 0;
}

/*
 * Session tickets: the pre-login process holds no ticket key, so it
 * serializes the session and has the monitor seal or open the bytes
 * (tlskeys.c's format); a process without a monitor does it itself.
 */
int
tls_ticket_write(void *p, const mbedtls_ssl_session *session,
    unsigned char *start, const unsigned char *end, size_t *tlen,
    uint32_t *lifetime)
{
	struct tls_server	*s = p;
	const struct tls_keyops	*ops = tls_monitor_ops(s);
	unsigned char		 state[TLS_SESSION_MAX];
	size_t			 n, cap = (size_t)(end - start);
	int			 r;

	*tlen = 0;
	*lifetime = TLS_TICKET_LIFETIME;
	if ((r = mbedtls_ssl_session_save(session, state, sizeof(state),
	    &n)) != 0)
		return r;
	r = ops != NULL ? ops->seal(ops->ctx, state, n, start, cap, tlen) :
	    tls_ticket_seal(s, &local_born, state, n, start, cap, tlen);
	mbedtls_platform_zeroize(state, sizeof(state));
	return r == 0 ? 0 : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

int
tls_ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf,
    size_t len)
{
	struct tls_server	*s = p;
	const struct tls_keyops	*ops = tls_monitor_ops(s);
	unsigned char		 state[TLS_SESSION_MAX];
	size_t			 n;
	int			 r;

	r = ops != NULL ? ops->open(ops->ctx, buf, len, state, sizeof(state),
	    &n) : tls_ticket_open(s, &local_born, buf, len, state,
	    sizeof(state), &n);
	/* Unknown, forged, expired: all the same to the client, a full
	   handshake. */
	if (r == 0)
		r = mbedtls_ssl_session_load(session, state, n);
	else
		r = MBEDTLS_ERR_SSL_INVALID_MAC;
	mbedtls_platform_zeroize(state, sizeof(state));
	return r;
}

/*
 * The stand-in for a key the monitor kept: in a pre-login process, an
 * RSA key the monitor signs with is an RSA-alt key whose signing asks
 * the monitor (tls_keyops' sign): the digest and which digest it is go
 * there, a signature comes back.
 */

#if defined(MBEDTLS_PK_RSA_ALT_SUPPORT)
static size_t
alt_len(void *p)
{
	const struct tls_cert	*tc = p;

	return tc->sigbytes;
}

/* mbedTLS 2.28 passes the mode (always private) as well. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
static int
alt_decrypt(void *p, size_t *olen, const unsigned char *in,
    unsigned char *out, size_t max)
{
#else
static int
alt_decrypt(void *p, int mode, size_t *olen, const unsigned char *in,
    unsigned char *out, size_t max)
{
	(void)mode;
#endif
	(void)p;
	(void)olen;
	(void)in;
	(void)out;
	(void)max;
	return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
static int
alt_sign(void *p, int (*f_rng)(void *, unsigned char *, size_t),
    void *p_rng, mbedtls_md_type_t type, unsigned int hlen,
    const unsigned char *hash, unsigned char *sig)
{
#else
static int
alt_sign(void *p, int (*f_rng)(void *, unsigned char *, size_t),
    void *p_rng, int mode, mbedtls_md_type_t type, unsigned int hlen,
    const unsigned char *hash, unsigned char *sig)
{
	(void)mode;
#endif
	const struct tls_cert	*tc = p;
	const struct tls_keyops	*ops = tls_monitor_ops(NULL);
	unsigned		 md = tls_md_number(type);
	size_t			 n = 0;

	(void)f_rng;
	(void)p_rng;
	/* The caller's buffer holds the key's length (rsa_alt_sign_wrap). */
	if (ops == NULL || md == 0 || hlen != tls_md_size(md) ||
	    ops->sign(ops->ctx, tc->index, md, hash, hlen, sig, tc->sigbytes,
	    &n) == -1 || n != tc->sigbytes)
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	return 0;
}
#endif

/*
 * In a pre-login process, for a key it gave the monitor: an RSA-alt key
 * that asks the monitor to sign.  Returns 0 or an mbedTLS error.
 */
static int
stand_in(const struct tls_server *s, struct tls_cert *tc)
{
#if defined(MBEDTLS_PK_RSA_ALT_SUPPORT)
	if (tc->separate && tls_monitor_ops(s) != NULL)
		return mbedtls_pk_setup_rsa_alt(&tc->key, tc, alt_decrypt,
		    alt_sign, alt_len);
#else
	(void)s;
	(void)tc;
#endif
	return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
}

/*
 * Reseed the DRBG in a process forked since it was seeded: the pid and
 * fresh system bytes make this process's stream its own.  Returns 0, or
 * -1 (logged).
 */
static int
reseed(struct tls_server *s)
{
	unsigned char	add[48];
	pid_t		pid = getpid();
	char		w[200];
	int		r;

	if (s->seeded == pid)
		return 0;
	memset(add, 0, sizeof(add));
	memcpy(add, &pid, sizeof(pid));
	if (getrandom(add + 16, sizeof(add) - 16, 0) !=
	    (ssize_t)(sizeof(add) - 16))
		log_warn("getrandom");
	r = mbedtls_ctr_drbg_reseed(&s->drbg, add, sizeof(add));
	mbedtls_platform_zeroize(add, sizeof(add));
	if (r != 0) {
		log_warnx("TLS random reseed failed %s",
		    tls_why(r, w, sizeof(w)));
		return -1;
	}
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	/* PSA keeps a generator of its own: start it again from the system. */
	mbedtls_psa_crypto_free();
	if (psa_crypto_init() != PSA_SUCCESS) {
		log_warnx("TLS random reseed: psa_crypto_init failed");
		return -1;
	}
#endif
	s->seeded = pid;
	return 0;
}

/*
 * Before this process's handshake: reseed, parse the keys it holds from
 * their DER into its own memory (tls_forget_secrets wipes them), and put
 * a stand-in asking the monitor in the place of each other one.
 * Returns 0, or -1 (logged).
 */
static int
unseal(struct tls_server *s, const char *peer)
{
	char	w[200];
	int	i, r = 0;

	if (tls_secrets_gone(s)) {
		log_warnx("%s: TLS after the keys were given up", peer);
		return -1;
	}
	if (reseed(s) == -1)
		return -1;
	if (s->unsealed)
		return 0;
	s->unsealed = 1;
	for (i = 0; i < s->ncerts && r == 0; i++)
		r = tls_key_held(s, i) ? tls_parse_key(&s->certs[i].key,
		    s->certs[i].der, s->certs[i].derlen,
		    mbedtls_ctr_drbg_random, &s->drbg) :
		    stand_in(s, &s->certs[i]);
	if (r != 0) {
		log_warnx("%s: TLS keys failed %s", peer,
		    tls_why(r, w, sizeof(w)));
		return -1;
	}
	return 0;
}

/*
 * One connection.
 */

static int
bio_send(void *p, const unsigned char *buf, size_t len)
{
	struct tls_conn	*tc = p;
	ssize_t		 n;

	if ((n = write(tc->fd_out, buf, len)) >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
bio_recv(void *p, unsigned char *buf, size_t len)
{
	struct tls_conn	*tc = p;
	ssize_t		 n;

	if ((n = read(tc->fd_in, buf, len)) >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Drive op (a handshake or close_notify step) until it stops asking for
 * I/O or the deadline passes.  Returns op's result, or 1 on timeout.
 */
static int
drive(struct tls_conn *tc, int (*op)(mbedtls_ssl_context *),
    unsigned timeout_s)
{
	struct timespec	deadline;
	struct pollfd	pfd;
	long		left;
	int		r;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;
	while ((r = op(&tc->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
	    r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		pfd.fd = r == MBEDTLS_ERR_SSL_WANT_READ ? tc->fd_in :
		    tc->fd_out;
		pfd.events = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
		if ((left = ms_left(&deadline)) <= 0)
			return 1;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return MBEDTLS_ERR_NET_RECV_FAILED;
	}
	return r;
}

/*
 * Turn an mbedTLS read or write result r into read(2)/write(2) terms: a
 * byte count, 0 at a clean end of input, or -1 with errno set (EAGAIN to
 * retry, ECONNRESET or EPIPE for a reset connection, EPROTO for anything
 * else, which is logged once here).
 */
static ssize_t
tls_result(const struct tls_conn *tc, int r, int reading)
{
	char	w[200];

	if (r >= 0)
		return r;
	switch (r) {
	case MBEDTLS_ERR_SSL_WANT_READ:
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
	case MBEDTLS_ERR_SSL_CONN_EOF:
		if (reading)
			return 0;
		break;
	case MBEDTLS_ERR_NET_CONN_RESET:
		errno = reading ? ECONNRESET : EPIPE;
		return -1;
	}
	log_warnx("%s: TLS %s failed %s", tc->peer, reading ? "read" : "write",
	    tls_why(r, w, sizeof(w)));
	errno = EPROTO;
	return -1;
}

static ssize_t
tls_read(struct transport *t, void *p, size_t n)
{
	struct tls_conn	*tc = t->ctx;

	if (n > INT_MAX)
		n = INT_MAX;
	return tls_result(tc, mbedtls_ssl_read(&tc->ssl, p, n), 1);
}

static ssize_t
tls_write(struct transport *t, const void *p, size_t n)
{
	struct tls_conn	*tc = t->ctx;

	if (n > INT_MAX)
		n = INT_MAX;
	return tls_result(tc, mbedtls_ssl_write(&tc->ssl, p, n), 0);
}

/*
 * Only decrypted bytes count.  On a stream mbedTLS reads one record at a
 * time and never past it, so whatever else the client sent is still in
 * the kernel, where poll sees it.  (mbedtls_ssl_check_pending would also
 * count records mbedTLS may consume without producing data, and the
 * caller would spin on them.)
 */
static size_t
tls_pending(struct transport *t)
{
	struct tls_conn	*tc = t->ctx;

	return mbedtls_ssl_get_bytes_avail(&tc->ssl);
}

static void
tls_shutdown(struct transport *t)
{
	struct tls_conn	*tc = t->ctx;

	if (tc == NULL)
		return;
	(void)drive(tc, mbedtls_ssl_close_notify, TLS_CLOSE_TIMEOUT);
	mbedtls_ssl_free(&tc->ssl);
	free(tc);
	t->ctx = NULL;
}

static int
set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Log why a handshake ended without a session, naming the client. */
static void
log_failed(const struct tls_conn *tc, int r, unsigned timeout_s)
{
	char	w[200];

	if (r == 1)
		log_warnx("%s: TLS handshake timed out after %u s", tc->peer,
		    timeout_s);
	else if (r == MBEDTLS_ERR_SSL_CONN_EOF ||
	    r == MBEDTLS_ERR_NET_CONN_RESET)
		log_info("%s: client left during the TLS handshake",
		    tc->peer);
	else
		log_warnx("%s: TLS handshake failed %s", tc->peer,
		    tls_why(r, w, sizeof(w)));
}

/*
 * The session's TLS line: version, suite and, when the client sent SNI,
 * the name and the certificate it got ("tls_sni NAME", or the default).
 */
static void
log_established(const struct tls_conn *tc)
{
	char	sni[SNI_LOG_MAX + 320];	/* the name, a tls_sni name */

	sni[0] = '\0';
	if (tc->sni[0] != '\0')
		snprintf(sni, sizeof(sni), " (SNI %s: %s%s)", tc->sni,
		    tc->cert != NULL ? "certificate of tls_sni " :
		    "default certificate", tc->cert != NULL ? tc->cert : "");
	log_info("%s: TLS %s %s%s", tc->peer,
	    mbedtls_ssl_get_version(&tc->ssl),
	    mbedtls_ssl_get_ciphersuite(&tc->ssl), sni);
}

int
tls_start(struct tls_server *s, struct transport *t, unsigned timeout_s,
    const char *peer)
{
	struct tls_conn	*tc;
	char		 w[200];
	int		 r;

	if (unseal(s, peer) == -1)
		return -1;
	local_born = 0;
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		log_warn("%s: TLS", peer);
		return -1;
	}
	tc->fd_in = t->fd_in;
	tc->fd_out = t->fd_out;
	snprintf(tc->peer, sizeof(tc->peer), "%s", peer);
	mbedtls_ssl_init(&tc->ssl);
	if ((r = mbedtls_ssl_setup(&tc->ssl, &s->conf)) != 0) {
		log_warnx("%s: TLS setup failed %s", peer,
		    tls_why(r, w, sizeof(w)));
		goto fail;
	}
	mbedtls_ssl_set_bio(&tc->ssl, tc, bio_send, bio_recv, NULL);
	/* Non-blocking, so a client stalling mid-record meets the timeouts. */
	if (set_nonblock(tc->fd_in) == -1 || set_nonblock(tc->fd_out) == -1) {
		log_warn("%s: TLS: fcntl", peer);
		goto fail;
	}
	if ((r = drive(tc, mbedtls_ssl_handshake, timeout_s)) != 0) {
		log_failed(tc, r, timeout_s);
		goto fail;
	}
	log_established(tc);
	t->ctx = tc;
	t->read = tls_read;
	t->write = tls_write;
	t->pending = tls_pending;
	t->shutdown = tls_shutdown;
	t->secure = 1;
	return 0;
fail:
	mbedtls_ssl_free(&tc->ssl);
	free(tc);
	return -1;
}

void
tls_describe(struct transport *t, char *out, size_t len)
{
	struct tls_conn	*tc = t->ctx;

	if (len == 0)
		return;
	out[0] = '\0';
	if (t->read != tls_read || tc == NULL)
		return;
	snprintf(out, len, "%s %s", mbedtls_ssl_get_version(&tc->ssl),
	    mbedtls_ssl_get_ciphersuite(&tc->ssl));
}
