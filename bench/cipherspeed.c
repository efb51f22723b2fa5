/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The TLS RETR ceiling for `make bench`: how fast the mbedTLS that pop3d
 * links seals records on one core, with the AEADs pop3d's TLS suites use,
 * so that TLS RETR can be read as a share of its negotiated cipher's
 * speed.  Each cipher encrypts and tags 16 KB records (TLS's largest
 * plaintext) in place, with a fresh nonce per record, for at least the
 * seconds given; the figure is plaintext MB/s (10^6 bytes).
 *
 *   cipherspeed [seconds]    METRIC cipher_<name>_mb_per_s lines
 */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/chachapoly.h>
#include <mbedtls/gcm.h>

#define RECORD	16384
#define BATCH	64		/* records between clock reads */

static unsigned char	rec[RECORD], key[32], iv[12], tag[16];

static double
now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A new nonce per record, as TLS's sequence number makes one. */
static void
next_iv(unsigned long long n)
{
	memcpy(iv + 4, &n, sizeof(n));
}

static double
gcm(unsigned keybits, double secs)
{
	mbedtls_gcm_context	g;
	unsigned long long	n = 0;
	double			t0, t;
	int			i;

	mbedtls_gcm_init(&g);
	if (mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, keybits) != 0)
		return 0;
	t0 = now();
	do {
		for (i = 0; i < BATCH; i++, n++) {
			next_iv(n);
			if (mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT,
			    RECORD, iv, sizeof(iv), NULL, 0, rec, rec,
			    sizeof(tag), tag) != 0)
				return 0;
		}
	} while ((t = now() - t0) < secs);
	mbedtls_gcm_free(&g);
	return (double)n * RECORD / t / 1e6;
}

static double
chachapoly(double secs)
{
	mbedtls_chachapoly_context	c;
	unsigned long long		n = 0;
	double				t0, t;
	int				i;

	mbedtls_chachapoly_init(&c);
	if (mbedtls_chachapoly_setkey(&c, key) != 0)
		return 0;
	t0 = now();
	do {
		for (i = 0; i < BATCH; i++, n++) {
			next_iv(n);
			if (mbedtls_chachapoly_encrypt_and_tag(&c, RECORD, iv,
			    NULL, 0, rec, rec, tag) != 0)
				return 0;
		}
	} while ((t = now() - t0) < secs);
	mbedtls_chachapoly_free(&c);
	return (double)n * RECORD / t / 1e6;
}

int
main(int argc, char **argv)
{
	double	secs = argc > 1 ? atof(argv[1]) : 1.0;

	memset(rec, 'x', sizeof(rec));
	memset(key, 7, sizeof(key));
	printf("METRIC cipher_aes128gcm_mb_per_s %.6g\n", gcm(128, secs));
	printf("METRIC cipher_aes256gcm_mb_per_s %.6g\n", gcm(256, secs));
	printf("METRIC cipher_chachapoly_mb_per_s %.6g\n", chachapoly(secs));
	return 0;
}
