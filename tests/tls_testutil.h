/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * A certificate for tests and fuzz targets that run a TLS server: a fresh
 * P-256 (or RSA) key and a self-signed certificate for it, written as PEM
 * files.  No cmocka here, so fuzz targets can use it too.
 */
#ifndef POP3D_TLS_TESTUTIL_H
#define POP3D_TLS_TESTUTIL_H

#include <sys/stat.h>

#include <stdio.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/pk.h>
#include <mbedtls/rsa.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

static int
tls_test_write(const char *path, const unsigned char *pem)
{
	FILE	*f;
	int	 ok;

	if ((f = fopen(path, "w")) == NULL)
		return -1;
	ok = fputs((const char *)pem, f) >= 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

/* A fresh key: RSA of rsa_bits, or P-256 when rsa_bits is 0.  0 or -1. */
static int
tls_test_key(mbedtls_pk_context *key, mbedtls_ctr_drbg_context *drbg,
    unsigned rsa_bits)
{
	if (rsa_bits > 0)
		return mbedtls_pk_setup(key,
		    mbedtls_pk_info_from_type(MBEDTLS_PK_RSA)) != 0 ||
		    mbedtls_rsa_gen_key(mbedtls_pk_rsa(*key),
		    mbedtls_ctr_drbg_random, drbg, rsa_bits, 65537) != 0 ?
		    -1 : 0;
	return mbedtls_pk_setup(key,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)) != 0 ||
	    mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(*key),
	    mbedtls_ctr_drbg_random, drbg) != 0 ? -1 : 0;
}

/*
 * The key (RSA of rsa_bits, or P-256 when 0) to keypath and a certificate
 * for subject ("CN=localhost") to certpath, drawing from drbg.  Returns
 * 0, or -1 (nothing to tell why: the caller's test fails).
 */
static int
tls_test_cert(mbedtls_ctr_drbg_context *drbg, const char *subject,
    const char *certpath, const char *keypath, unsigned rsa_bits)
{
	mbedtls_pk_context	key;
	mbedtls_x509write_cert	crt;
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
	unsigned char		serial[1] = { 1 };
#else
	mbedtls_mpi		serial;
#endif
	unsigned char		pem[4096];
	int			rc = -1;

	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
#if MBEDTLS_VERSION_NUMBER < 0x03040000
	mbedtls_mpi_init(&serial);
#endif
	if (tls_test_key(&key, drbg, rsa_bits) != 0 ||
	    mbedtls_pk_write_key_pem(&key, pem, sizeof(pem)) != 0 ||
	    tls_test_write(keypath, pem) == -1 ||
	    chmod(keypath, 0600) == -1)		/* or pop3d warns */
		goto out;
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
#if MBEDTLS_VERSION_NUMBER >= 0x03040000
	/* 3.4 deprecated the bignum form. */
	if (mbedtls_x509write_crt_set_serial_raw(&crt, serial,
	    sizeof(serial)) != 0)
		goto out;
#else
	if (mbedtls_mpi_lset(&serial, 1) != 0 ||
	    mbedtls_x509write_crt_set_serial(&crt, &serial) != 0)
		goto out;
#endif
	if (mbedtls_x509write_crt_set_subject_name(&crt, subject) != 0 ||
	    mbedtls_x509write_crt_set_issuer_name(&crt, subject) != 0 ||
	    mbedtls_x509write_crt_set_validity(&crt, "20200101000000",
	    "20991231235959") != 0 ||
	    mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem),
	    mbedtls_ctr_drbg_random, drbg) != 0)
		goto out;
	rc = tls_test_write(certpath, pem);
out:
#if MBEDTLS_VERSION_NUMBER < 0x03040000
	mbedtls_mpi_free(&serial);
#endif
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
	return rc;
}

#endif
