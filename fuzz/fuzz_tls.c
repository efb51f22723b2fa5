/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the TLS server side (tls.c on mbedTLS): the input is
 * what a client sends on a new implicit-TLS connection, handed to
 * tls_start over a socket pair, as a pre-login process gets it.  It
 * reaches the ClientHello parser, tls.c's SNI callback (host names
 * matched against an exact and a wildcard tls_sni entry, the name kept
 * for the log) and the session ticket parser with the daemon's keys.
 * No input can complete a handshake: that needs the server's fresh
 * ECDHE share, so tls_start returning 0 is an invariant broken, as is
 * a failed start that leaves the transport changed.  See fuzz/README.
 */
#include <sys/socket.h>

#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "conf.h"
#include "fuzz_util.h"
#include "tls.h"
#include "tlskeys.h"
#include "tls_testutil.h"
#include "transport.h"

/* The handshake never waits: the input is all there, then end of file. */
#define HANDSHAKE_TIMEOUT	2

static struct tls_server	*server;

/* A certificate as PEM files in the scratch directory; 0 or -1. */
static int
make_cert(mbedtls_ctr_drbg_context *drbg, const char *name,
    const char *subject, char *cert, char *key)
{
	char	base[64];

	snprintf(base, sizeof(base), "%s.crt", name);
	if (fuzz_tmpfile(base, "", 0, cert) == -1)
		return -1;
	snprintf(base, sizeof(base), "%s.key", name);
	if (fuzz_tmpfile(base, "", 0, key) == -1)
		return -1;
	return tls_test_cert(drbg, subject, cert, key, 0);
}

/* The daemon's TLS server: a default certificate and two tls_sni ones. */
static struct tls_server *
make_server(void)
{
	static struct conf		 c;
	mbedtls_entropy_context		 entropy;
	mbedtls_ctr_drbg_context	 drbg;
	struct tls_server		*s;
	char				 err[512];

	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	conf_defaults(&c);
	snprintf(c.sni[0].name, sizeof(c.sni[0].name), "mail.example.org");
	snprintf(c.sni[1].name, sizeof(c.sni[1].name), "*.example.net");
	c.nsni = 2;
	FUZZ_ASSERT(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func,
	    &entropy, NULL, 0) == 0, "DRBG seed");
	FUZZ_ASSERT(make_cert(&drbg, "default", "CN=localhost", c.tls_cert,
	    c.tls_key) == 0 && make_cert(&drbg, "org",
	    "CN=mail.example.org", c.sni[0].cert, c.sni[0].key) == 0 &&
	    make_cert(&drbg, "net", "CN=*.example.net", c.sni[1].cert,
	    c.sni[1].key) == 0, "test certificates");
	s = tls_server_new(&c, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "tls_server_new: %s\n", err);
		abort();
	}
	fuzz_tmpclean();
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	return s;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct transport	t;
	int			sv[2];

	fuzz_quiet();
	if (server == NULL) {
		signal(SIGPIPE, SIG_IGN);
		server = make_server();
	}
	FUZZ_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0,
	    "socketpair");
	/* Far below the socket's buffer (run.sh's -max_len is 4096). */
	FUZZ_ASSERT(size == 0 || write(sv[1], data, size) == (ssize_t)size,
	    "write");
	FUZZ_ASSERT(shutdown(sv[1], SHUT_WR) == 0, "shutdown");
	transport_plain(&t, sv[0], sv[0]);
	FUZZ_ASSERT(tls_start(server, &t, HANDSHAKE_TIMEOUT, "fuzz") == -1,
	    "a handshake completed without the client's key share");
	FUZZ_ASSERT(t.secure == 0 && t.ctx == NULL, "a failed start "
	    "changed the transport");
	close(sv[0]);
	close(sv[1]);
	return 0;
}
