/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Inside TLS: what its two files share (tlskeys.c keeps the certificates,
 * keys and settings; tls.c runs a connection's handshake and records with
 * them).  Nothing outside those files (and white-box tests) includes this.
 */
#ifndef POP3D_TLS_INT_H
#define POP3D_TLS_INT_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>

#include "conf.h"
#include "tlskeys.h"

/* Suite ids kept: the default list, or at most this many named ones. */
#define SUITES_MAX	64

struct tls_cert {
	mbedtls_x509_crt	crt;
	mbedtls_pk_context	key;	/* parsed from der by a session */
	unsigned char		*der;	/* the private key: a secret mapping */
	size_t			derlen;
	char			name[256];	/* SNI name, "" for the default */
	unsigned		index;		/* in certs[] */
	int			separate;	/* the monitor signs with it */
	const char		*why;		/* why not, for the log */
	char			kind[32];	/* "RSA 2048 bits", for the log */
	size_t			sigbytes;	/* its RSA signatures' length */
};

/* What mbedTLS seals on this machine, MB/s (0: not measured, or failed). */
struct tls_speeds {
	double	aes128;		/* AES-128-GCM */
	double	aes256;		/* AES-256-GCM */
	double	chacha;		/* ChaCha20-Poly1305 */
};

/* How much faster than either AES-GCM ChaCha20-Poly1305 must be to lead. */
#define TLS_CHACHA_MARGIN	1.2

struct tls_server {
	mbedtls_ctr_drbg_context	drbg;
	mbedtls_ssl_config		conf;
	struct tls_cert			certs[1 + CONF_SNI_MAX];
	int				ncerts;
	int				suites[SUITES_MAX + 1];	/* 0-terminated */

	/*
	 * Where tls_ciphers's "default" put the default suites in
	 * suites[] (dflt_n 0: it has none), and how they were ordered.
	 */
	int				dflt_at, dflt_n;
	struct tls_speeds		speeds;
	int				measured;
	int				chacha_first;

	/*
	 * Ticket keys: seeds[k] (a secret mapping, TICKET_SEED bytes each)
	 * is key k; seeds[cur] seals, both open; born[k] says when seeds[k]
	 * was drawn, 0 never.
	 */
	unsigned char			*seeds;
	time_t				born[2];
	int				cur;

	pid_t				seeded;	/* where the DRBG was seeded */
	int				unsealed;	/* keys parsed here (tls.c) */
};

/*
 * tlskeys.c, for tls.c.
 */

/* Does this process hold certificate i's private key (its DER)?  1 or 0. */
int	tls_key_held(const struct tls_server *s, int i);

/* Has this process given up every secret of s (tls_forget_secrets)? */
int	tls_secrets_gone(const struct tls_server *s);

/*
 * The monitor's key operations in a pre-login process that split s's
 * keys (NULL: whichever server it split), else NULL.
 */
const struct tls_keyops *tls_monitor_ops(const struct tls_server *s);

/*
 * Parse a key (PEM or DER) into key; mbedTLS 3 draws from f_rng (an EC
 * key's public point).  Returns 0 or an mbedTLS error.
 */
int	tls_parse_key(mbedtls_pk_context *key, const unsigned char *buf,
	    size_t len, int (*f_rng)(void *, unsigned char *, size_t),
	    void *p_rng);

/* Our number (enum tls_md) for an mbedTLS digest, 0 for one a signature
   can't use. */
unsigned	tls_md_number(mbedtls_md_type_t type);

/* mbedTLS's text for error code r, for log lines; buf holds it. */
const char	*tls_why(int r, char *buf, size_t len);

/*
 * The decision, speeds in: 1 when ChaCha20-Poly1305 should lead the
 * default suites (at least TLS_CHACHA_MARGIN times the faster AES-GCM),
 * 0 for RFC 9325's order.
 */
int	tls_chacha_first(const struct tls_speeds *sp);

/* Order s's default suites as tls_chacha_first says for speeds sp. */
void	tls_rank_suites(struct tls_server *s, const struct tls_speeds *sp);

/*
 * tls.c, for the settings tlskeys.c builds: the callbacks a handshake
 * makes.  SNI picks a certificate; tickets are sealed and opened by the
 * monitor in a pre-login process, else here (mbedTLS's ticket hooks).
 */
int	tls_sni_select(void *s, mbedtls_ssl_context *ssl,
	    const unsigned char *name, size_t len);
int	tls_ticket_write(void *s, const mbedtls_ssl_session *session,
	    unsigned char *start, const unsigned char *end, size_t *tlen,
	    uint32_t *lifetime);
int	tls_ticket_parse(void *s, mbedtls_ssl_session *session,
	    unsigned char *buf, size_t len);

#endif
