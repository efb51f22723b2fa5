/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * What both sides of privilege separation share, on either side of the
 * privilege line (the root monitor and the jailed pre-login process each
 * link it; nothing here knows which it runs in): the fixed-size message
 * between them, its encoder and its decoder (which trusts nothing), the
 * channel's reads and writes, and giving the heap's free pages back
 * after a login.  The names keep privsep_, the prefix of the messages.
 */
#include <sys/types.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "auth.h"
#include "params.h"
#include "privmsg.h"
#include "tlskeys.h"

/* Offsets of the string fields in an encoded message. */
#define OFF_USER	16
#define OFF_SECRET	(OFF_USER + AUTH_NAME_MAX + 1)
#define OFF_TEXT	(OFF_SECRET + AUTH_PASS_MAX + 1)
#define OFF_PEER	(OFF_TEXT + PRIVSEP_TEXT_MAX)
#define OFF_HOW		(OFF_PEER + PRIVSEP_PEER_MAX)

static void
put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* Copy s into a NUL-padded field of size len.  Returns 0, or -1. */
static int
put_str(unsigned char *p, size_t len, const char *s)
{
	size_t	n = strnlen(s, len);

	if (n == len)
		return -1;
	memset(p, 0, len);
	memcpy(p, s, n);
	return 0;
}

/* A field is a string, then only NULs.  Returns 0 with dst set, or -1. */
static int
get_str(char *dst, const unsigned char *p, size_t len)
{
	const unsigned char	*nul = memchr(p, '\0', len);
	size_t			 i;

	if (nul == NULL)
		return -1;
	for (i = (size_t)(nul - p); i < len; i++)
		if (p[i] != '\0')
			return -1;
	memcpy(dst, p, len);
	return 0;
}

int
privsep_encode(const struct privsep_msg *m, unsigned char *out)
{
	memset(out, 0, PRIVSEP_MSG_SIZE);
	put32(out, m->type);
	put32(out + 4, m->result);
	put32(out + 8, m->secure);
	put32(out + 12, m->unread);
	if (put_str(out + OFF_USER, sizeof(m->user), m->user) == -1 ||
	    put_str(out + OFF_SECRET, sizeof(m->secret), m->secret) == -1 ||
	    put_str(out + OFF_TEXT, sizeof(m->text), m->text) == -1 ||
	    put_str(out + OFF_PEER, sizeof(m->peer), m->peer) == -1 ||
	    put_str(out + OFF_HOW, sizeof(m->how), m->how) == -1) {
		explicit_bzero(out, PRIVSEP_MSG_SIZE);
		return -1;
	}
	return 0;
}

/*
 * A key operation: no strings; the bytes that follow, a digest of
 * exactly its size, session state, a ticket, a signature, bounded; an
 * answer that refuses carries none.  Returns 1 or 0.
 */
static int
keyop_valid(const struct privsep_msg *m)
{
	if (m->user[0] != '\0' || m->secret[0] != '\0' || m->text[0] != '\0' ||
	    m->peer[0] != '\0' || m->how[0] != '\0')
		return 0;
	switch (m->type) {
	case PS_SIGN:
		return m->secure <= CONF_SNI_MAX && m->unread != 0 &&
		    m->unread == tls_md_size(m->result);
	case PS_SEAL:
	case PS_OPEN:
		return m->result == 0 && m->secure == 0 && m->unread != 0 &&
		    m->unread <= (m->type == PS_SEAL ? TLS_SESSION_MAX :
		    TLS_TICKET_MAX);
	case PS_SIGNED:
	case PS_TICKET:
		return m->secure == 0 && m->result <= 1 &&
		    (m->result == 0) == (m->unread != 0) &&
		    m->unread <= (m->type == PS_SIGNED ? TLS_SIG_MAX :
		    TLS_TICKET_MAX);
	default:
		return 0;
	}
}

/* 32 lower-case hex digits: an APOP digest, or an address key. */
static int
digest_ok(const char *d)
{
	return strlen(d) == 32 && strspn(d, "0123456789abcdef") == 32;
}

/* Does m make sense for its type?  Returns 1 or 0. */
static int
msg_valid(const struct privsep_msg *m)
{
	switch (m->type) {
	case PS_PASSWORD:
	case PS_APOP:
		return m->result == 0 && m->secure == 0 && m->unread == 0 &&
		    auth_name_ok(m->user) && m->text[0] == '\0' &&
		    m->peer[0] == '\0' && m->how[0] == '\0' &&
		    (m->type == PS_PASSWORD || digest_ok(m->secret));
	case PS_VERDICT:
		return m->result <= AUTH_TEMPFAIL && m->secure == 0 &&
		    m->unread == 0 && m->user[0] == '\0' &&
		    m->secret[0] == '\0' && m->peer[0] == '\0' &&
		    m->how[0] == '\0';
	case PS_HANDOFF:
		return m->result == 0 && m->secure <= 1 &&
		    m->unread <= PRIVSEP_UNREAD_MAX && m->user[0] == '\0' &&
		    m->secret[0] == '\0';
	case PS_REKEY:
	case PS_ADMIT:
		return m->secure == 0 && m->unread == 0 &&
		    m->user[0] == '\0' && m->text[0] == '\0' &&
		    m->peer[0] == '\0' && m->how[0] == '\0' &&
		    (m->type == PS_REKEY ? m->result == 0 &&
		    digest_ok(m->secret) : m->result <= 1 &&
		    m->secret[0] == '\0');
	default:
		return keyop_valid(m);
	}
}

int
privsep_decode(const unsigned char *in, struct privsep_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = get32(in);
	m->result = get32(in + 4);
	m->secure = get32(in + 8);
	m->unread = get32(in + 12);
	if (get_str(m->user, in + OFF_USER, sizeof(m->user)) == -1 ||
	    get_str(m->secret, in + OFF_SECRET, sizeof(m->secret)) == -1 ||
	    get_str(m->text, in + OFF_TEXT, sizeof(m->text)) == -1 ||
	    get_str(m->peer, in + OFF_PEER, sizeof(m->peer)) == -1 ||
	    get_str(m->how, in + OFF_HOW, sizeof(m->how)) == -1 ||
	    !msg_valid(m)) {
		explicit_bzero(m, sizeof(*m));
		return -1;
	}
	return 0;
}

/* Write all of p.  Returns 0, or -1 with errno set. */
int
privsep_write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd	pfd = { fd, POLLOUT, 0 };

				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes.  Returns 0, or -1 (errno 0 at end of file). */
int
privsep_read_all(int fd, void *p, size_t n)
{
	char	*c = p;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

int
privsep_send_msg(int fd, const struct privsep_msg *m)
{
	unsigned char	buf[PRIVSEP_MSG_SIZE];
	int		rc;

	if (privsep_encode(m, buf) == -1) {
		errno = EINVAL;
		return -1;
	}
	rc = privsep_write_all(fd, buf, sizeof(buf));
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* Returns 0, -1 at end of file or error (errno 0 at EOF), -2 malformed. */
int
privsep_recv_msg(int fd, struct privsep_msg *m)
{
	unsigned char	buf[PRIVSEP_MSG_SIZE];
	int		rc;

	if (privsep_read_all(fd, buf, sizeof(buf)) == -1)
		return -1;
	rc = privsep_decode(buf, m) == 0 ? 0 : -2;
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/*
 * Give the heap's free pages back to the system.  Logging in leaves them
 * written and free (crypt(3)'s 32 kB of scratch, lines of the passwd and
 * group files; over TLS the handshake's state), and a session that then
 * idles for minutes would keep them for nothing: the biggest part of an
 * idle session's memory (`BENCH_ONLY=footprint`, the heap row).
 */
void
privsep_trim_heap(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}
