/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for what the root monitor runs on bytes from the jailed
 * pre-login process (privmsg.c): the message decoder, and for a key
 * operation the bytes that follow it, as keyop() hands them to tlskeys.c.
 * The input's first PRIVSEP_MSG_SIZE bytes (zero-padded if short) are
 * the message; the rest are the bytes that follow.  Checked: a message
 * that is refused leaves nothing behind (the struct wiped: it may hold a
 * password); one that is accepted has a known type, every string
 * terminated inside its field, and is canonical, so encoding it again
 * gives back exactly the input's bytes (nothing after a string's NUL, no
 * second reading); a key operation's length is the one its type allows.
 * Then, when the bytes that follow are all there, the operation is run
 * with a server of the daemon's (an RSA key the monitor signs with, the
 * ticket keys): a signature has the key's length, a sealed ticket opens
 * to the same bytes, an opened ticket fits the state's bound.  See
 * fuzz/README.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>

#include "conf.h"
#include "fuzz_util.h"
#include "params.h"
#include "privmsg.h"
#include "tlskeys.h"
#include "tls_testutil.h"

/* Whether the string field f ends inside it. */
#define ENDS(f)		(memchr((f), '\0', sizeof(f)) != NULL)

/* Its RSA key's signatures are this long. */
#define RSA_BITS	2048

static struct tls_server	*server;

/* A server with an RSA key and TLS 1.2 suites: the monitor's key. */
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
	snprintf(c.tls_ciphers, sizeof(c.tls_ciphers),
	    "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256");
	FUZZ_ASSERT(mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func,
	    &entropy, NULL, 0) == 0, "DRBG seed");
	FUZZ_ASSERT(fuzz_tmpfile("rsa.crt", "", 0, c.tls_cert) == 0 &&
	    fuzz_tmpfile("rsa.key", "", 0, c.tls_key) == 0 &&
	    tls_test_cert(&drbg, "CN=localhost", c.tls_cert, c.tls_key,
	    RSA_BITS) == 0, "test certificate");
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

/* The length a key operation's bytes may have, by type. */
static int
length_ok(const struct privsep_msg *m)
{
	switch (m->type) {
	case PS_SIGN:
		return m->unread == tls_md_size(m->result) && m->unread > 0;
	case PS_SEAL:
		return m->unread > 0 && m->unread <= TLS_SESSION_MAX;
	case PS_OPEN:
		return m->unread > 0 && m->unread <= TLS_TICKET_MAX;
	case PS_SIGNED:
		return m->unread <= TLS_SIG_MAX;
	case PS_TICKET:
		return m->unread <= TLS_TICKET_MAX;
	default:
		return 1;
	}
}

/* The monitor's side of a request whose bytes p (m->unread) are here. */
static void
run_keyop(const struct privsep_msg *m, const unsigned char *p)
{
	static unsigned char	out[TLS_TICKET_MAX], back[TLS_TICKET_MAX];
	time_t			born = 0, again = 0;
	size_t			n, k;

	if (server == NULL)
		server = make_server();
	if (m->type == PS_SIGN) {
		if (tls_sign(server, m->secure, m->result, p, m->unread, out,
		    TLS_SIG_MAX, &n) == 0)
			FUZZ_ASSERT(n == RSA_BITS / 8, "a signature's length");
		else
			FUZZ_ASSERT(m->secure != 0, "the key refused to sign");
	} else if (m->type == PS_SEAL) {
		FUZZ_ASSERT(tls_ticket_seal(server, &born, p, m->unread, out,
		    sizeof(out), &n) == 0, "a seal failed");
		FUZZ_ASSERT(tls_ticket_open(server, &again, out, n, back,
		    sizeof(back), &k) == 0 && k == m->unread &&
		    memcmp(back, p, k) == 0, "a sealed ticket did not open");
	} else if (m->type == PS_OPEN && tls_ticket_open(server, &born, p,
	    m->unread, out, sizeof(out), &n) == 0)
		FUZZ_ASSERT(n > 0 && n <= TLS_SESSION_MAX && born != 0,
		    "an opened ticket's state");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct privsep_msg	zero;
	unsigned char	in[PRIVSEP_MSG_SIZE], out[PRIVSEP_MSG_SIZE];
	struct privsep_msg	m;

	fuzz_quiet();
	memset(in, 0, sizeof(in));
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memset(&m, 0x5a, sizeof(m));
	if (privsep_decode(in, &m) == -1) {
		FUZZ_ASSERT(memcmp(&m, &zero, sizeof(m)) == 0,
		    "a refused message left bytes behind");
		return 0;
	}
	FUZZ_ASSERT(m.type >= PS_PASSWORD && m.type <= PS_ADMIT,
	    "accepted an unknown type");
	FUZZ_ASSERT(ENDS(m.user) && ENDS(m.secret) && ENDS(m.text) &&
	    ENDS(m.peer) && ENDS(m.how), "a string runs past its field");
	FUZZ_ASSERT(privsep_encode(&m, out) == 0, "cannot encode it again");
	FUZZ_ASSERT(memcmp(in, out, sizeof(in)) == 0,
	    "accepted a message that is not canonical");
	FUZZ_ASSERT(length_ok(&m), "a key operation's length out of bounds");
	if (size >= sizeof(in) + m.unread)
		run_keyop(&m, data + sizeof(in));
	return 0;
}
