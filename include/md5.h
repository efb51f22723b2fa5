/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * MD5 (RFC 1321), pop3d's own (md5.c says why).  Used for APOP (RFC 1939
 * section 7 fixes MD5), for the message fingerprints behind UIDs, where
 * no adversary gains from a collision (see DESIGN.md), and as a checksum
 * of the journal and the index cache.
 */
#ifndef POP3D_MD5_H
#define POP3D_MD5_H

#include <stddef.h>
#include <stdint.h>

#define MD5_LEN	16

struct md5 {
	uint32_t	h[4];		/* the state, A B C D */
	uint64_t	len;		/* bytes hashed so far */
	unsigned char	buf[64];	/* len % 64 of them wait here */
};

/* Start a digest.  Cannot fail. */
void	md5_init(struct md5 *);

/* Add len bytes (any length, 0 too).  Cannot fail. */
void	md5_update(struct md5 *, const void *, size_t);

/*
 * The digest of what was added.  The context is wiped: md5_init it
 * again before reuse.  Cannot fail.
 */
void	md5_final(struct md5 *, unsigned char out[MD5_LEN]);

/* One-shot digest of a buffer.  Cannot fail. */
void	md5_digest(const void *, size_t, unsigned char out[MD5_LEN]);

/*
 * Messages md5_digest_lanes hashes at once: 8 (two SSE2 registers a word
 * on amd64) made the cold open of the bench's big mailbox 6% cheaper in
 * CPU than 4, for 5 KB more code; more lanes wait longer for the longest
 * header of a batch.
 */
#define MD5_LANES	8

/*
 * The digests of MD5_LANES buffers, computed together in vector lanes:
 * the same as as many md5_digest calls, in a fraction of the time.
 * Cannot fail.
 */
void	md5_digest_lanes(const void *const p[MD5_LANES],
	    const size_t len[MD5_LANES], unsigned char out[MD5_LANES][MD5_LEN]);

#endif
