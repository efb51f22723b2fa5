/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * MD5 (RFC 1321), written for pop3d rather than taken from mbedTLS: a
 * cold open of a big mailbox puts every header through it for the UID
 * fingerprints, and mbedTLS 2.28's MD5 was two fifths of that open.
 * The digest is MD5's whatever the code (tests/test_md5.c checks the RFC's
 * vectors and mbedTLS on random input); only the speed is ours.
 *
 * Two ways to be faster.  The scan has many messages to hash, and hashes
 * MD5_LANES of them at once in vector lanes (md5_digest_lanes): one
 * message's steps depend on each other, different messages' don't.
 * About 2.9 times the speed of the one-message code on the bench's
 * machine, 3.5 times mbedTLS's.  The one-message code (md5_update)
 * serves APOP, the checksums and the odd message left over; in it, MD5
 * is one long chain of dependent steps, each
 * a = b + rotl(a + f(b, c, d) + m + k, s), so what counts is how few
 * operations in a step wait for b, the result of the step before.
 * Everything that needs only a, c, d, the message word and the constant
 * is added first, off that chain; the round functions are written so
 * that b comes in last:
 *   F = d ^ (b & (c ^ d))                   b: and, xor
 *   G = (b & d) | (c & ~d), added as (c & ~d) + (b & d), the two share
 *       no bit                              b: and
 *   H = b ^ (c ^ d)                         b: xor
 *   I = c ^ (b | ~d)                        b: or, xor
 * and the 64 steps are written out with their constants, so that none
 * waits for a loop or a table: about 1.2 times mbedTLS's speed.
 * Measured by bench/opencpu.sh (the cold open's CPU).
 */
#include <stdint.h>
#include <string.h>

#include "md5.h"

#define ROTL(x, s)	((x) << (s) | (x) >> (32 - (s)))

/* One step: w is the message word, k the constant (RFC 1321, 3.4). */
#define STEP_F(a, b, c, d, w, k, s) do {				\
	(a) += (w) + (uint32_t)(k);					\
	(a) += (d) ^ ((b) & ((c) ^ (d)));				\
	(a) = ROTL(a, s) + (b);						\
} while (0)
#define STEP_G(a, b, c, d, w, k, s) do {				\
	(a) += (w) + (uint32_t)(k) + ((c) & ~(d));			\
	(a) += (b) & (d);						\
	(a) = ROTL(a, s) + (b);						\
} while (0)
#define STEP_H(a, b, c, d, w, k, s) do {				\
	(a) += (w) + (uint32_t)(k);					\
	(a) += (b) ^ (c) ^ (d);						\
	(a) = ROTL(a, s) + (b);						\
} while (0)
#define STEP_I(a, b, c, d, w, k, s) do {				\
	(a) += (w) + (uint32_t)(k);					\
	(a) += (c) ^ ((b) | ~(d));					\
	(a) = ROTL(a, s) + (b);						\
} while (0)

/*
 * The 64 steps of RFC 1321, 3.4: round function, the registers in the
 * step's order, message word, constant, shift.  Written out once, used
 * by the one-message and the many-lane block functions.
 */
#define MD5_STEPS(S)							\
	S(F, a, b, c, d, 0, 0xd76aa478, 7)				\
	S(F, d, a, b, c, 1, 0xe8c7b756, 12)				\
	S(F, c, d, a, b, 2, 0x242070db, 17)				\
	S(F, b, c, d, a, 3, 0xc1bdceee, 22)				\
	S(F, a, b, c, d, 4, 0xf57c0faf, 7)				\
	S(F, d, a, b, c, 5, 0x4787c62a, 12)				\
	S(F, c, d, a, b, 6, 0xa8304613, 17)				\
	S(F, b, c, d, a, 7, 0xfd469501, 22)				\
	S(F, a, b, c, d, 8, 0x698098d8, 7)				\
	S(F, d, a, b, c, 9, 0x8b44f7af, 12)				\
	S(F, c, d, a, b, 10, 0xffff5bb1, 17)				\
	S(F, b, c, d, a, 11, 0x895cd7be, 22)				\
	S(F, a, b, c, d, 12, 0x6b901122, 7)				\
	S(F, d, a, b, c, 13, 0xfd987193, 12)				\
	S(F, c, d, a, b, 14, 0xa679438e, 17)				\
	S(F, b, c, d, a, 15, 0x49b40821, 22)				\
	S(G, a, b, c, d, 1, 0xf61e2562, 5)				\
	S(G, d, a, b, c, 6, 0xc040b340, 9)				\
	S(G, c, d, a, b, 11, 0x265e5a51, 14)				\
	S(G, b, c, d, a, 0, 0xe9b6c7aa, 20)				\
	S(G, a, b, c, d, 5, 0xd62f105d, 5)				\
	S(G, d, a, b, c, 10, 0x02441453, 9)				\
	S(G, c, d, a, b, 15, 0xd8a1e681, 14)				\
	S(G, b, c, d, a, 4, 0xe7d3fbc8, 20)				\
	S(G, a, b, c, d, 9, 0x21e1cde6, 5)				\
	S(G, d, a, b, c, 14, 0xc33707d6, 9)				\
	S(G, c, d, a, b, 3, 0xf4d50d87, 14)				\
	S(G, b, c, d, a, 8, 0x455a14ed, 20)				\
	S(G, a, b, c, d, 13, 0xa9e3e905, 5)				\
	S(G, d, a, b, c, 2, 0xfcefa3f8, 9)				\
	S(G, c, d, a, b, 7, 0x676f02d9, 14)				\
	S(G, b, c, d, a, 12, 0x8d2a4c8a, 20)				\
	S(H, a, b, c, d, 5, 0xfffa3942, 4)				\
	S(H, d, a, b, c, 8, 0x8771f681, 11)				\
	S(H, c, d, a, b, 11, 0x6d9d6122, 16)				\
	S(H, b, c, d, a, 14, 0xfde5380c, 23)				\
	S(H, a, b, c, d, 1, 0xa4beea44, 4)				\
	S(H, d, a, b, c, 4, 0x4bdecfa9, 11)				\
	S(H, c, d, a, b, 7, 0xf6bb4b60, 16)				\
	S(H, b, c, d, a, 10, 0xbebfbc70, 23)				\
	S(H, a, b, c, d, 13, 0x289b7ec6, 4)				\
	S(H, d, a, b, c, 0, 0xeaa127fa, 11)				\
	S(H, c, d, a, b, 3, 0xd4ef3085, 16)				\
	S(H, b, c, d, a, 6, 0x04881d05, 23)				\
	S(H, a, b, c, d, 9, 0xd9d4d039, 4)				\
	S(H, d, a, b, c, 12, 0xe6db99e5, 11)				\
	S(H, c, d, a, b, 15, 0x1fa27cf8, 16)				\
	S(H, b, c, d, a, 2, 0xc4ac5665, 23)				\
	S(I, a, b, c, d, 0, 0xf4292244, 6)				\
	S(I, d, a, b, c, 7, 0x432aff97, 10)				\
	S(I, c, d, a, b, 14, 0xab9423a7, 15)				\
	S(I, b, c, d, a, 5, 0xfc93a039, 21)				\
	S(I, a, b, c, d, 12, 0x655b59c3, 6)				\
	S(I, d, a, b, c, 3, 0x8f0ccc92, 10)				\
	S(I, c, d, a, b, 10, 0xffeff47d, 15)				\
	S(I, b, c, d, a, 1, 0x85845dd1, 21)				\
	S(I, a, b, c, d, 8, 0x6fa87e4f, 6)				\
	S(I, d, a, b, c, 15, 0xfe2ce6e0, 10)				\
	S(I, c, d, a, b, 6, 0xa3014314, 15)				\
	S(I, b, c, d, a, 13, 0x4e0811a1, 21)				\
	S(I, a, b, c, d, 4, 0xf7537e82, 6)				\
	S(I, d, a, b, c, 11, 0xbd3af235, 10)				\
	S(I, c, d, a, b, 2, 0x2ad7d2bb, 15)				\
	S(I, b, c, d, a, 9, 0xeb86d391, 21)

/* Compilers turn this into one load on a little-endian machine. */
static inline uint32_t
le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	    (uint32_t)p[3] << 24;
}

static void
put_le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

#define ONE(f, a, b, c, d, i, k, s)	STEP_##f(a, b, c, d, w[i], k, s);

/* n 64-byte blocks at p into the state h. */
static void
md5_blocks(uint32_t h[4], const unsigned char *p, size_t n)
{
	uint32_t	a, b, c, d, w[16];
	int		i;

	for (; n > 0; n--, p += 64) {
		for (i = 0; i < 16; i++)
			w[i] = le32(p + 4 * i);
		a = h[0];
		b = h[1];
		c = h[2];
		d = h[3];
		MD5_STEPS(ONE)
		h[0] += a;
		h[1] += b;
		h[2] += c;
		h[3] += d;
	}
}

void
md5_init(struct md5 *m)
{
	m->h[0] = 0x67452301;
	m->h[1] = 0xefcdab89;
	m->h[2] = 0x98badcfe;
	m->h[3] = 0x10325476;
	m->len = 0;
}

void
md5_update(struct md5 *m, const void *data, size_t len)
{
	const unsigned char	*p = data;
	size_t			 have = (size_t)(m->len % 64), take;

	if (len == 0)
		return;		/* data may be NULL then */
	m->len += len;
	if (have > 0) {
		take = 64 - have < len ? 64 - have : len;
		memcpy(m->buf + have, p, take);
		p += take;
		len -= take;
		if (have + take < 64)
			return;
		md5_blocks(m->h, m->buf, 1);
	}
	/* whole blocks straight from the caller's bytes, no copy */
	md5_blocks(m->h, p, len / 64);
	p += len / 64 * 64;
	memcpy(m->buf, p, len % 64);
}

void
md5_final(struct md5 *m, unsigned char out[MD5_LEN])
{
	size_t	have = (size_t)(m->len % 64);
	int	i;

	/* RFC 1321, 3.1 and 3.2: 0x80, zeros, the bit count last */
	m->buf[have++] = 0x80;
	if (have > 56) {
		memset(m->buf + have, 0, 64 - have);
		md5_blocks(m->h, m->buf, 1);
		have = 0;
	}
	memset(m->buf + have, 0, 56 - have);
	put_le32(m->buf + 56, (uint32_t)(m->len << 3));
	put_le32(m->buf + 60, (uint32_t)(m->len >> 29));
	md5_blocks(m->h, m->buf, 1);
	for (i = 0; i < 4; i++)
		put_le32(out + 4 * i, m->h[i]);
	/* APOP hashes a shared secret */
	explicit_bzero(m, sizeof(*m));
}

void
md5_digest(const void *p, size_t len, unsigned char out[MD5_LEN])
{
	struct md5	m;

	md5_init(&m);
	md5_update(&m, p, len);
	md5_final(&m, out);
}

/*
 * A whole message as md5_blocks sees it: its whole blocks where they are,
 * then its last bytes with the padding and the bit count (RFC 1321, 3.1
 * and 3.2) in one or two blocks of tail.
 */
struct md5_msg {
	const unsigned char	*p;
	size_t			 full;		/* whole blocks at p */
	size_t			 n;		/* all: full plus 1 or 2 */
	unsigned char		 tail[128];
};

static void
msg_init(struct md5_msg *m, const unsigned char *p, size_t len)
{
	size_t	rest = len % 64, t;

	m->p = p;
	m->full = len / 64;
	memset(m->tail, 0, sizeof(m->tail));
	if (rest > 0)
		memcpy(m->tail, p + m->full * 64, rest);
	m->tail[rest] = 0x80;
	t = rest + 1 > 56 ? 128 : 64;
	put_le32(m->tail + t - 8, (uint32_t)((uint64_t)len << 3));
	put_le32(m->tail + t - 4, (uint32_t)((uint64_t)len >> 29));
	m->n = m->full + t / 64;
}

static const unsigned char *
msg_block(const struct md5_msg *m, size_t i)
{
	return i < m->full ? m->p + 64 * i : m->tail + 64 * (i - m->full);
}

/*
 * MD5_LANES lanes of 32 bits: GCC and Clang turn the operators on it into
 * SSE2 on amd64 (NEON on arm64, plain code elsewhere), so the STEP macros
 * run the steps of several messages in the instructions of one.
 */
typedef uint32_t md5_lanes __attribute__((vector_size(4 * MD5_LANES)));

/* One block of each message; lanes not live are left as they were. */
static void
md5_block_lanes(md5_lanes h[4], const unsigned char *const blk[MD5_LANES],
    const md5_lanes *live)
{
	md5_lanes	a, b, c, d, w[16];
	int		i, k;

	for (i = 0; i < 16; i++)
		for (k = 0; k < MD5_LANES; k++)
			w[i][k] = le32(blk[k] + 4 * i);
	a = h[0];
	b = h[1];
	c = h[2];
	d = h[3];
	MD5_STEPS(ONE)
	h[0] += a & *live;
	h[1] += b & *live;
	h[2] += c & *live;
	h[3] += d & *live;
}

void
md5_digest_lanes(const void *const p[MD5_LANES], const size_t len[MD5_LANES],
    unsigned char out[MD5_LANES][MD5_LEN])
{
	static const uint32_t	 iv[4] = {
		0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476
	};
	struct md5_msg		 m[MD5_LANES];
	const unsigned char	*blk[MD5_LANES];
	md5_lanes		 h[4], live;
	size_t			 i, n = 0;
	int			 k;

	for (i = 0; i < 4; i++)
		for (k = 0; k < MD5_LANES; k++)
			h[i][k] = iv[i];
	for (k = 0; k < MD5_LANES; k++) {
		msg_init(&m[k], p[k], len[k]);
		if (m[k].n > n)
			n = m[k].n;
	}
	/* a lane whose message is done idles on its first block */
	for (i = 0; i < n; i++) {
		for (k = 0; k < MD5_LANES; k++) {
			blk[k] = msg_block(&m[k], i < m[k].n ? i : 0);
			live[k] = i < m[k].n ? UINT32_MAX : 0;
		}
		md5_block_lanes(h, blk, &live);
	}
	for (k = 0; k < MD5_LANES; k++)
		for (i = 0; i < 4; i++)
			put_le32(out[k] + 4 * i, h[i][k]);
}
