/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the protocol engine: an arbitrary client byte stream,
 * fed in pieces of random size, with the output drained in random amounts,
 * checked against the protocol's shape.  See fuzz/README.
 *
 * Input: byte 0 chooses the set-up (log in first, APOP, EXPIRE, a small
 * output buffer, the link's security), bytes 1..4 seed the piece sizes,
 * the rest is the client.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "conf.h"
#include "fake_maildrop.h"
#include "fuzz_util.h"
#include "params.h"
#include "session.h"

#define F_LOGIN		0x01	/* start in TRANSACTION */
#define F_APOP		0x02
#define F_EXPIRE_NEVER	0x04
#define F_SMALL_OUT	0x08	/* an output buffer just above the minimum */
#define F_SECURE	0x10	/* implicit TLS */
#define F_LOOPBACK	0x20	/* a client on this machine */
#define F_CAN_STLS	0x40	/* TLS configured: STLS offered */
#define F_PLAIN_NO	0x80	/* plaintext_auth no */

#define STAMP		"<1.2@fuzz.test>"
#define LOGIN		"USER alice\r\nPASS secret\r\n"

/* A bound on session_work calls per input: a loop that spins is a bug. */
#define MAX_ROUNDS	1000000

/*
 * The output checker.  Every reply is matched, in order, to the client
 * line it answers (the greeting first), so whether a "+OK" opens a
 * multi-line block follows from the verb alone, independently of how
 * session.c decides it.
 */
struct chk {
	const uint8_t	*in;		/* the whole client stream */
	size_t		 inlen;
	size_t		 next;		/* start of the first unanswered line */
	size_t		 replies;
	int		 in_block;	/* inside a multi-line reply */
	int		 challenged;	/* the last reply was "+ " */
	char		 line[POP3_REPLY_MAX + 1];
	size_t		 linelen;	/* bytes seen of the current line */
	int		 lastcr;	/* the last byte seen is CR */
};

/* Take the next client line; returns its length without CRLF, or -1. */
static long
chk_take_line(struct chk *c, const char **start)
{
	const uint8_t	*p = c->in + c->next, *lf;
	size_t		 avail = c->inlen - c->next, len;

	if (avail == 0)
		return -1;
	lf = memchr(p, '\n', avail);
	len = lf ? (size_t)(lf - p) : avail;
	c->next += lf ? len + 1 : len;
	if (len > 0 && p[len - 1] == '\r')
		len--;
	*start = (const char *)p;
	return (long)len;
}

/* Whether a "+OK" to this client line must be followed by a block. */
static int
chk_multiline(const char *l, size_t len)
{
	const char	*sp = memchr(l, ' ', len);
	size_t		 vlen = sp ? (size_t)(sp - l) : len;

	if (vlen == 4 && (strncasecmp(l, "CAPA", 4) == 0 ||
	    strncasecmp(l, "RETR", 4) == 0))
		return 1;
	if (vlen == 3 && strncasecmp(l, "TOP", 3) == 0)
		return 1;
	/* LIST, UIDL and AUTH list everything when given no argument. */
	if (sp == NULL && vlen == 4 && (strncasecmp(l, "LIST", 4) == 0 ||
	    strncasecmp(l, "UIDL", 4) == 0 || strncasecmp(l, "AUTH", 4) == 0))
		return 1;
	return 0;
}

static int
has_prefix(const char *l, size_t len, const char *p)
{
	size_t	n = strlen(p);

	return len >= n && memcmp(l, p, n) == 0 &&
	    (len == n || l[n] == ' ');
}

/* A status line: the start of one reply. */
static void
chk_status(struct chk *c, const char *l, size_t len)
{
	const char	*cmd;
	long		 clen;
	int		 ok = has_prefix(l, len, "+OK");

	FUZZ_ASSERT(ok || has_prefix(l, len, "-ERR") ||
	    (len >= 2 && l[0] == '+' && l[1] == ' '), "bad status line");
	if (c->replies++ == 0) {
		FUZZ_ASSERT(ok, "greeting is not +OK");
		return;
	}
	clen = chk_take_line(c, &cmd);
	FUZZ_ASSERT(clen >= 0, "more replies than client lines");
	if (ok && !c->challenged && chk_multiline(cmd, (size_t)clen))
		c->in_block = 1;
	c->challenged = len >= 2 && l[0] == '+' && l[1] == ' ';
}

/* One output line, CRLF removed (only its first bytes are kept in l). */
static void
chk_line(struct chk *c, const char *l, size_t len)
{
	if (c->in_block) {
		if (len == 1 && l[0] == '.')
			c->in_block = 0;
		else
			FUZZ_ASSERT(len == 0 || l[0] != '.' ||
			    (len >= 2 && l[1] == '.'), "unstuffed dot line");
		return;
	}
	FUZZ_ASSERT(len + 2 <= POP3_REPLY_MAX, "status line too long");
	chk_status(c, l, len);
}

static void
chk_bytes(struct chk *c, const char *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		if (p[i] != '\n') {
			if (c->linelen < sizeof(c->line))
				c->line[c->linelen] = p[i];
			c->linelen++;
			c->lastcr = p[i] == '\r';
			continue;
		}
		FUZZ_ASSERT(c->lastcr, "bare LF in output");
		chk_line(c, c->line, c->linelen - 1);
		c->linelen = 0;
		c->lastcr = 0;
	}
}

/* The fixture: the messages of test_session.c plus a long generated one. */
struct fix {
	struct conf		 conf;
	struct fake_msg		 msgs[4];
	struct fake_md		 md;
	struct fake_be		 fb;
	struct session_backend	 be;
};

static void
fix_init(struct fix *f, unsigned flags)
{
	memset(f, 0, sizeof(*f));
	conf_defaults(&f->conf);
	f->conf.apop = (flags & F_APOP) != 0;
	f->conf.expire_never = (flags & F_EXPIRE_NEVER) != 0;
	/* A login that must succeed needs plaintext passwords allowed. */
	if ((flags & F_PLAIN_NO) && !(flags & F_LOGIN))
		f->conf.plaintext_auth = PLAINTEXT_NO;
	f->msgs[0].text = "Subject: one\r\n\r\nbody one\r\n";
	f->msgs[1].text = "Subject: two\r\n\r\n.dot\r\n..two\r\n.\r\nend\r\n";
	f->msgs[2].text = "S: 3\r\nX: y\r\n\r\nl1\r\nl2\r\nl3\r\n";
	f->msgs[3].text = NULL;
	f->msgs[3].gen_lines = 300;
	strcpy(f->msgs[0].uid, "uid-1");
	strcpy(f->msgs[1].uid, "uid-2");
	strcpy(f->msgs[2].uid, "uid-3");
	strcpy(f->msgs[3].uid, "uid-4");
	f->md.msgs = f->msgs;
	f->md.n = 4;
	f->md.fail_after = -1;
	f->fb.user = "alice";
	f->fb.pass = "secret";
	f->fb.apop_user = "bob";
	f->fb.apop_digest = "0123456789abcdef0123456789abcdef";
	f->fb.md = &f->md;
	f->be.ctx = &f->fb;
	f->be.check_password = fake_check_password;
	f->be.check_apop = fake_check_apop;
	f->be.open_maildrop = fake_open_maildrop;
}

/* Hand some of out to the checker, as a short write would. */
static void
drain(struct chk *c, struct buf *out, uint32_t *rng)
{
	size_t	n;

	FUZZ_ASSERT(out->len <= out->cap, "output buffer overflow");
	if (out->len == 0)
		return;
	n = fuzz_rand(rng) % 4 == 0 ? 1 + fuzz_rand(rng) % out->len :
	    out->len;
	chk_bytes(c, out->data, n);
	buf_drop(out, n);
}

/*
 * Run the session over the stream; returns whether it ended itself.
 * Longer than most functions here: it is the one loop a connection runs,
 * and split up it would hide what state crosses between the steps.
 */
static int
run(struct session *s, struct chk *c, struct buf *out, uint32_t *rng)
{
	size_t	pos = 0, piece, took;
	long	rounds = 0;
	int	want;

	for (;;) {
		piece = fuzz_rand(rng) % 8 == 0 ? 4096 :
		    1 + fuzz_rand(rng) % 64;
		if (piece > c->inlen - pos)
			piece = c->inlen - pos;
		took = session_feed(s, c->in + pos, piece);
		FUZZ_ASSERT(took <= piece, "session took more than offered");
		pos += took;
		while ((want = session_work(s, out)) == SESSION_WRITE ||
		    want == SESSION_STARTTLS) {
			FUZZ_ASSERT(++rounds < MAX_ROUNDS, "session spins");
			(void)session_delay(s);
			if (want == SESSION_WRITE) {
				drain(c, out, rng);
				continue;
			}
			/*
			 * RFC 2595 section 4: what was sent with STLS is
			 * dropped unanswered; TLS "starts" at once.
			 */
			while (out->len > 0)
				drain(c, out, rng);
			FUZZ_ASSERT(c->next <= pos, "reply to unsent line");
			c->next = pos;
			session_tls_started(s);
		}
		while (out->len > 0)
			drain(c, out, rng);
		if (want == SESSION_END)
			return 1;
		FUZZ_ASSERT(want == SESSION_READ, "bad session_work answer");
		session_idle(s);	/* as conn.c before it waits */
		if (pos == c->inlen)
			return 0;
		FUZZ_ASSERT(took > 0 || piece == 0, "session stalls on input");
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fix	 f;
	struct chk	 c;
	struct buf	 out;
	struct session	*s;
	uint8_t		*stream;
	size_t		 pre = 0, last_lf;
	uint32_t	 rng;
	unsigned	 flags;
	int		 ended;

	if (size < 5)
		return 0;
	flags = data[0];
	rng = (uint32_t)data[1] | (uint32_t)data[2] << 8 |
	    (uint32_t)data[3] << 16 | (uint32_t)data[4] << 24;
	data += 5;
	size -= 5;
	fuzz_quiet();
	fix_init(&f, flags);

	/* The login is part of the stream, so the checker sees its replies. */
	if (flags & F_LOGIN)
		pre = strlen(LOGIN);
	FUZZ_ASSERT((stream = malloc(pre + size + 1)) != NULL, "malloc");
	memcpy(stream, LOGIN, pre);
	memcpy(stream + pre, data, size);
	memset(&c, 0, sizeof(c));
	c.in = stream;
	c.inlen = pre + size;

	FUZZ_ASSERT(buf_init(&out, flags & F_SMALL_OUT ?
	    POP3_REPLY_MAX + rng % 1024 : SESSION_OUTBUF_SIZE) == 0, "buf");
	s = session_new(&f.conf, &f.be, "192.0.2.1", STAMP);
	FUZZ_ASSERT(s != NULL, "session_new");
	session_set_link(s, (flags & F_SECURE) != 0,
	    (flags & (F_LOOPBACK | F_LOGIN)) != 0, (flags & F_CAN_STLS) != 0);
	session_greeting(s, &out);
	ended = run(s, &c, &out, &rng);
	session_free(s);

	/* Every reply is whole, and no line went unanswered. */
	FUZZ_ASSERT(c.linelen == 0, "output ends inside a line");
	FUZZ_ASSERT(!c.in_block, "output ends inside a multi-line reply");
	if (!ended) {
		for (last_lf = c.inlen; last_lf > 0; last_lf--)
			if (stream[last_lf - 1] == '\n')
				break;
		FUZZ_ASSERT(c.next >= last_lf, "a client line got no reply");
	}
	if (flags & F_LOGIN)
		FUZZ_ASSERT(f.fb.opens >= 1, "the login failed");
	FUZZ_ASSERT(f.md.closes == f.fb.opens, "maildrop not closed once");
	fake_md_free(&f.md);
	buf_free(&out);
	free(stream);
	return 0;
}
