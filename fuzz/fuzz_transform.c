/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the POP byte transform alone (no files, so fast): the
 * size counted with out NULL, the bytes produced in one large call and the
 * bytes produced through random small input pieces and output caps must all
 * agree, and the output must be well-formed POP3.  See fuzz/README.
 *
 * Input: byte 0 flags (mboxrd, byte-stuffing, Dovecot's fields hidden),
 * byte 1 the TOP line count (0xff: no limit), bytes 2..5 seed the piece
 * sizes, the rest the message.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz_util.h"
#include "transform.h"

#define F_MBOXRD	0x01
#define F_STUFF		0x02
#define F_HIDE		0x04

/* Room beyond the largest possible output, so running out is an error. */
#define SLACK		16

/* The whole message in one call with ample room.  Returns its length. */
static size_t
one_call(const struct transform *init, const char *in, size_t len, char *out,
    size_t cap)
{
	struct transform	x = *init;
	size_t			o, used, n;

	o = transform_run(&x, in, len, out, cap, &used);
	FUZZ_ASSERT(used == len, "input left over with room to spare");
	while ((n = transform_end(&x, out + o, cap - o)) > 0)
		o += n;
	FUZZ_ASSERT(o + SLACK <= cap, "output larger than the bound");
	return o;
}

/*
 * The same in random pieces.  Each call with input and room must make
 * progress, and the output can't need all of cap (ample by SLACK), which
 * bounds the loop.  Returns the length.
 */
static size_t
pieces(const struct transform *init, const char *in, size_t len, char *out,
    size_t cap, uint32_t *rng)
{
	struct transform	x = *init;
	size_t			i = 0, o = 0, used, n, want, room;

	while (i < len) {
		want = 1 + fuzz_rand(rng) % 97;
		room = 1 + fuzz_rand(rng) % 13;
		if (want > len - i)
			want = len - i;
		if (room > cap - o)
			room = cap - o;
		FUZZ_ASSERT(room > 0, "output larger than the bound");
		n = transform_run(&x, in + i, want, out + o, room, &used);
		FUZZ_ASSERT(n <= room && used <= want, "run overran");
		FUZZ_ASSERT(n > 0 || used > 0, "no progress");
		i += used;
		o += n;
	}
	do {
		room = 1 + fuzz_rand(rng) % 5;
		if (room > cap - o)
			room = cap - o;
		FUZZ_ASSERT(room > 0, "output larger than the bound");
		n = transform_end(&x, out + o, room);
		FUZZ_ASSERT(n <= room, "end overran");
		o += n;
	} while (n > 0);
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transform	 x, counter;
	const char		*in;
	char			*a, *b;
	size_t			 len, cap, na, nb, count, used;
	uint32_t		 rng;
	long			 lines;

	if (size < 6)
		return 0;
	lines = data[1] == 0xff ? -1 : data[1];
	rng = (uint32_t)data[2] | (uint32_t)data[3] << 8 |
	    (uint32_t)data[4] << 16 | (uint32_t)data[5] << 24;
	in = (const char *)data + 6;
	len = size - 6;
	transform_init(&x, data[0] & F_MBOXRD ? MBOX_MBOXRD : MBOX_MBOXO,
	    (data[0] & F_STUFF) != 0, lines);
	if (data[0] & F_HIDE)
		transform_hide(&x);

	/* Each byte gives at most two (LF: CRLF; '.': ".."), plus CRLF. */
	cap = 2 * len + 2 + SLACK;
	FUZZ_ASSERT((a = malloc(cap)) != NULL && (b = malloc(cap)) != NULL,
	    "malloc");
	counter = x;
	count = transform_run(&counter, in, len, NULL, 0, &used);
	FUZZ_ASSERT(used == len, "counting left input over");
	count += transform_end(&counter, NULL, 0);
	FUZZ_ASSERT(transform_end(&counter, NULL, 0) == 0, "end owes more");

	na = one_call(&x, in, len, a, cap);
	nb = pieces(&x, in, len, b, cap, &rng);
	FUZZ_ASSERT(na == count, "counted size differs from the output");
	FUZZ_ASSERT(nb == na && memcmp(a, b, na) == 0,
	    "output depends on the piece sizes");
	(void)fuzz_check_wire(a, na, x.stuff);

	/* TOP is a prefix of RETR. */
	if (lines >= 0) {
		transform_init(&x, x.format, x.stuff, -1);
		if (data[0] & F_HIDE)
			transform_hide(&x);
		nb = one_call(&x, in, len, b, cap);
		FUZZ_ASSERT(na <= nb && memcmp(a, b, na) == 0,
		    "TOP is not a prefix of RETR");
	}
	free(a);
	free(b);
	return 0;
}
