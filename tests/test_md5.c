/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of pop3d's own MD5 (md5.c): the seven test vectors of RFC 1321
 * appendix A.5, then random inputs of every length around the block and
 * padding edges, fed in random pieces and in the lanes of
 * md5_digest_lanes with others of other lengths, against mbedTLS's MD5,
 * which pop3d used before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <mbedtls/md5.h>
#include <mbedtls/version.h>

#include "md5.h"

static void
hex(const unsigned char d[MD5_LEN], char out[2 * MD5_LEN + 1])
{
	int	i;

	for (i = 0; i < MD5_LEN; i++)
		snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void
test_rfc1321_vectors(void **state)
{
	static const char *const v[][2] = {
		{ "", "d41d8cd98f00b204e9800998ecf8427e" },
		{ "a", "0cc175b9c0f1b6a831c399e269772661" },
		{ "abc", "900150983cd24fb0d6963f7d28e17f72" },
		{ "message digest", "f96b697d7cb7938d525a2f31aaf161d0" },
		{ "abcdefghijklmnopqrstuvwxyz",
		    "c3fcd3d76192e4007dfb496cca67e13b" },
		{ "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
		    "0123456789", "d174ab98d277d9f5a5611c2c9f419d9f" },
		{ "1234567890123456789012345678901234567890"
		    "1234567890123456789012345678901234567890",
		    "57edf4a22be3c955ac49da2e2107b67a" },
	};
	const size_t	nv = sizeof(v) / sizeof(v[0]);
	unsigned char	d[MD5_LEN], dl[MD5_LANES][MD5_LEN];
	const void	*in[MD5_LANES];
	size_t		len[MD5_LANES];
	char		got[2 * MD5_LEN + 1];
	size_t		i, k;

	(void)state;
	for (i = 0; i < nv; i++) {
		md5_digest(v[i][0], strlen(v[i][0]), d);
		hex(d, got);
		assert_string_equal(got, v[i][1]);
	}
	/* each in every lane, beside the others */
	for (i = 0; i < nv; i++) {
		for (k = 0; k < MD5_LANES; k++) {
			in[k] = v[(i + k) % nv][0];
			len[k] = strlen(v[(i + k) % nv][0]);
		}
		md5_digest_lanes(in, len, dl);
		for (k = 0; k < MD5_LANES; k++) {
			hex(dl[k], got);
			assert_string_equal(got, v[(i + k) % nv][1]);
		}
	}
}

static void
ref_md5(const unsigned char *p, size_t len, unsigned char out[MD5_LEN])
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	assert_int_equal(mbedtls_md5(p, len, out), 0);
#else
	assert_int_equal(mbedtls_md5_ret(p, len, out), 0);
#endif
}

/* Our digest of p fed to md5_update in random pieces (some empty). */
static void
pieces_md5(const unsigned char *p, size_t len, unsigned char out[MD5_LEN])
{
	struct md5	m;
	size_t		i = 0, n;

	md5_init(&m);
	while (i < len) {
		n = (size_t)rand() % (rand() % 4 == 0 ? 200 : 70);
		if (n > len - i)
			n = len - i;
		md5_update(&m, p + i, n);
		i += n;
	}
	md5_update(&m, p, 0);
	md5_final(&m, out);
}

/*
 * Every length from 0 to 300 (the padding cases at 55, 56, 63, 64 and
 * beyond), then longer ones, each three ways, against mbedTLS.
 */
static void
test_random_against_mbedtls(void **state)
{
	unsigned char	*buf, want[MD5_LEN], got[MD5_LEN];
	unsigned char	 dl[MD5_LANES][MD5_LEN];
	const void	*in[MD5_LANES];
	size_t		 len, inlen[MD5_LANES], i, k, l, n = 0;

	(void)state;
	srand(1321);
	buf = malloc(70000 + 131);
	assert_non_null(buf);
	for (k = 0; k < 700; k++) {
		len = k <= 300 ? k : (size_t)rand() % 70000;
		for (i = 0; i < len + 131; i++)
			buf[i] = (unsigned char)rand();
		ref_md5(buf, len, want);
		md5_digest(buf, len, got);
		assert_memory_equal(got, want, MD5_LEN);
		pieces_md5(buf, len, got);
		assert_memory_equal(got, want, MD5_LEN);
		/* in a random lane, beside shorter, longer and equal ones */
		for (l = 0; l < MD5_LANES; l++) {
			in[l] = buf + l;
			inlen[l] = (size_t)rand() % (len + 124);
		}
		l = (size_t)rand() % MD5_LANES;
		in[l] = buf;
		inlen[l] = len;
		md5_digest_lanes(in, inlen, dl);
		for (l = 0; l < MD5_LANES; l++) {
			ref_md5(in[l], inlen[l], want);
			assert_memory_equal(dl[l], want, MD5_LEN);
		}
		n++;
	}
	free(buf);
	print_message("%zu random inputs checked\n", n);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc1321_vectors),
		cmocka_unit_test(test_random_against_mbedtls),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
