/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the strict base64 decoder: RFC 4648 section 10 vectors and
 * everything RFC 5034 section 4 says must be rejected.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "base64.h"

/* Decode in and check the result is want (wantlen octets), or -1. */
static void
check(const char *in, const char *want, ssize_t wantlen)
{
	unsigned char	out[64];
	ssize_t		n;

	memset(out, 0xaa, sizeof(out));
	n = base64_decode(in, strlen(in), out, sizeof(out));
	if (n != wantlen)
		fail_msg("\"%s\": got %zd, want %zd", in, n, wantlen);
	if (wantlen > 0)
		assert_memory_equal(out, want, (size_t)wantlen);
}

static void
test_rfc4648_vectors(void **state)
{
	(void)state;
	check("", "", 0);
	check("Zg==", "f", 1);
	check("Zm8=", "fo", 2);
	check("Zm9v", "foo", 3);
	check("Zm9vYg==", "foob", 4);
	check("Zm9vYmE=", "fooba", 5);
	check("Zm9vYmFy", "foobar", 6);
}

static void
test_binary_and_alphabet(void **state)
{
	(void)state;
	check("AGFsaWNlAHNlY3JldA==", "\0alice\0secret", 13);
	check("+/+/", "\xfb\xff\xbf", 3);
	check("////", "\xff\xff\xff", 3);
	check("AAAA", "\0\0\0", 3);
	check("QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJz"
	    "dHV2d3h5ejAxMjM0NTY3ODk=",
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
	    62);
}

static void
test_rejects_bad_chars(void **state)
{
	(void)state;
	check("Zm9v!mFy", NULL, -1);
	check("Zm9v YmFy", NULL, -1);
	check("Zm9vYmFy\r\n", NULL, -1);
	check("Zm9v\nYmFy", NULL, -1);
	check("Zm9-", NULL, -1);		/* base64url is another alphabet */
	check("Zm9_", NULL, -1);
	check("Zm9\x80", NULL, -1);
	check("Zm9v.mFy", NULL, -1);
}

static void
test_rejects_bad_padding(void **state)
{
	(void)state;
	check("Zg", NULL, -1);			/* padding is required */
	check("Zg=", NULL, -1);
	check("Zm8", NULL, -1);
	check("Zm9vY", NULL, -1);
	check("Zg===", NULL, -1);
	check("Z===", NULL, -1);
	check("====", NULL, -1);
	check("=", NULL, -1);
	check("Zm=v", NULL, -1);		/* data after '=' */
	check("Zg==Zm9v", NULL, -1);		/* '=' in the middle */
	check("Zm8=Zm9v", NULL, -1);
	check("Zh==", NULL, -1);		/* non-zero unused bits */
	check("Zm9=", NULL, -1);
}

static void
test_output_bound(void **state)
{
	unsigned char	out[8];

	(void)state;
	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 6), 6);
	assert_int_equal(base64_decode("Zm9vYmFy", 8, out, 5), -1);
	assert_int_equal(base64_decode("Zm9vYg==", 8, out, 4), 4);
	assert_int_equal(base64_decode("Zm9vYg==", 8, out, 3), -1);
	assert_int_equal(base64_decode("Zg==", 4, out, 0), -1);
	/* len bounds the input: a shorter prefix of a valid string. */
	assert_int_equal(base64_decode("Zm9vYmFy", 4, out, sizeof(out)), 3);
	assert_int_equal(base64_decode("Zm9vYmFy", 6, out, sizeof(out)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_binary_and_alphabet),
		cmocka_unit_test(test_rejects_bad_chars),
		cmocka_unit_test(test_rejects_bad_padding),
		cmocka_unit_test(test_output_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
