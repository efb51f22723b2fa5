/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Strict base64 decoding (RFC 4648 section 4) for SASL responses.  RFC 5034
 * section 4 requires rejecting, not skipping, anything outside the alphabet,
 * so padding must be complete and the unused bits of the last group zero:
 * every input then has exactly one meaning.
 */
#include <stddef.h>
#include <sys/types.h>

#include "base64.h"

/* The 6-bit value of c, or -1 when c is not in the alphabet ('=' included). */
static int
b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Decode one 4-character group; last says it is the final group, the only
 * one allowed to carry padding.  Returns the octets produced (1-3) or -1.
 */
static int
b64_group(const char *in, int last, unsigned char out[3])
{
	int		v[4], i, pad = 0;
	unsigned long	bits;

	for (i = 0; i < 4; i++) {
		if (in[i] == '=' && last && i >= 2) {
			pad++;
			v[i] = 0;
			continue;
		}
		/* Data after a '=' ("A=A=") or '=' too early is malformed. */
		if (pad > 0 || (v[i] = b64_value((unsigned char)in[i])) < 0)
			return -1;
	}
	bits = (unsigned long)v[0] << 18 | (unsigned long)v[1] << 12 |
	    (unsigned long)v[2] << 6 | (unsigned long)v[3];
	/* Non-zero leftover bits would let two strings decode the same. */
	if ((pad == 1 && (bits & 0xff) != 0) ||
	    (pad == 2 && (bits & 0xffff) != 0))
		return -1;
	out[0] = bits >> 16;
	out[1] = (bits >> 8) & 0xff;
	out[2] = bits & 0xff;
	return 3 - pad;
}

ssize_t
base64_decode(const char *in, size_t len, unsigned char *out, size_t outlen)
{
	unsigned char	grp[3];
	size_t		i, n = 0;
	int		j, k;

	if (len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		if ((k = b64_group(in + i, i + 4 == len, grp)) < 0)
			return -1;
		if ((size_t)k > outlen - n)
			return -1;
		for (j = 0; j < k; j++)
			out[n++] = grp[j];
	}
	return (ssize_t)n;
}
