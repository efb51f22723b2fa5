/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the strict base64 decoder: whatever it accepts must
 * be canonical base64, so re-encoding the output gives back the input,
 * and the output buffer's size is never exceeded.  See fuzz/README.
 *
 * Input: byte 0 the output buffer's size (0..255), the rest the text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "base64.h"
#include "fuzz_util.h"

static const char	alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* A plain RFC 4648 encoder, padded.  Returns the length written. */
static size_t
encode(const unsigned char *in, size_t len, char *out)
{
	size_t		i, o = 0;
	uint32_t	v;

	for (i = 0; i + 3 <= len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = alphabet[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = alphabet[v >> 18];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = alphabet[(v >> 6) & 63];
		out[o++] = '=';
	}
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char	*out;
	char		*in, *again;
	size_t		 outlen, len;
	ssize_t		 n;

	if (size < 1)
		return 0;
	outlen = data[0];
	len = size - 1;
	/* Copies of exactly the sizes given, so ASan sees any overrun. */
	FUZZ_ASSERT((in = malloc(len + 1)) != NULL &&
	    (out = malloc(outlen + 1)) != NULL, "malloc");
	memcpy(in, data + 1, len);
	n = base64_decode(in, len, out, outlen);
	FUZZ_ASSERT(n >= -1 && n <= (ssize_t)outlen, "decoded length");
	if (n >= 0) {
		FUZZ_ASSERT((again = malloc((size_t)n / 3 * 4 + 4)) != NULL,
		    "malloc");
		FUZZ_ASSERT(encode(out, (size_t)n, again) == len &&
		    memcmp(again, in, len) == 0,
		    "accepted text that is not canonical base64");
		free(again);
	}
	free(in);
	free(out);
	return 0;
}
