/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * TLS key custody, on the root side (tlskeys.c): the server's
 * certificates, keys and settings (struct tls_server, made by the
 * listener at start-up and SIGHUP), the monitor's signatures and
 * tickets, and what each process gives up of them.
 */
#ifndef POP3D_TLSKEYS_H
#define POP3D_TLSKEYS_H

#include <stddef.h>
#include <time.h>

#include "conf.h"

struct tls_server;

/* The digests a signature may be asked for, by number (TLS 1.2's). */
enum tls_md {
	TLS_MD_SHA224 = 1,
	TLS_MD_SHA256,
	TLS_MD_SHA384,
	TLS_MD_SHA512
};

/* The length of digest md in bytes, 0 for a number that names none. */
size_t			 tls_md_size(unsigned md);

/*
 * What a pre-login process asks of the keys it does not hold (prelogin.c
 * carries the requests to the monitor): sign a digest with certificate
 * cert's key (0 the default, n the nth tls_sni), seal session state into
 * a ticket, open a ticket into session state.  Each writes at most cap
 * bytes to its output and returns 0 with the length set, or -1.
 */
struct tls_keyops {
	void	*ctx;
	int	(*sign)(void *ctx, unsigned cert, unsigned md,
		    const unsigned char *hash, size_t hlen, unsigned char *sig,
		    size_t cap, size_t *siglen);
	int	(*seal)(void *ctx, const unsigned char *state, size_t len,
		    unsigned char *ticket, size_t cap, size_t *tlen);
	int	(*open)(void *ctx, const unsigned char *ticket, size_t len,
		    unsigned char *state, size_t cap, size_t *slen);
};

/*
 * Load every certificate and key c names and build the TLS settings
 * (TLS 1.2 and up, the tls_ciphers suites, tickets).  Call it while
 * pop3d can still read the key files.  Returns NULL with a reason in err.
 */
struct tls_server	*tls_server_new(const struct conf *c, char *err,
			    size_t errlen);

/* Free s, wiping its keys.  NULL is allowed. */
void			 tls_server_free(struct tls_server *s);

/*
 * Build a new tls_server from the files c names and, only if that works,
 * free *s and put the new one in its place (SIGHUP).  Returns 0, or -1
 * with the reason in err and *s untouched.
 */
int			 tls_server_reload(struct tls_server **s,
			    const struct conf *c, char *err, size_t errlen);

/*
 * In the listener at start-up and SIGHUP (and pop3d -t), before any
 * connection: when s has the default suites (tls_ciphers "default"),
 * time mbedTLS's AES-GCM and ChaCha20-Poly1305 on this machine (some
 * milliseconds) and put ChaCha20-Poly1305 first among them if it is
 * clearly the faster.  Suites an admin named keep their order.
 */
void			 tls_server_rank_suites(struct tls_server *s);

/*
 * The suite order of s and why, one line for the log and pop3d -t, in
 * buf (len bytes); NULL when s is.
 */
const char		*tls_suite_line(const struct tls_server *s, char *buf,
			    size_t len);

/*
 * In the listener, before each fork: replace the session-ticket key when
 * it is older than TLS_TICKET_ROTATE (the previous key still parses).
 */
void			 tls_server_tick(struct tls_server *s);

/*
 * Give up every private key and ticket key s holds in this process: the
 * ones a handshake here parsed are wiped, the listener's copies are
 * unmapped (this writes none of the memory shared with the listener).
 * A session process calls it once its handshake is done or before a
 * plaintext login, so no process serving a logged-in user holds them.
 * s then stays usable only for tls_server_free (tls_start fails).
 */
void			 tls_forget_secrets(struct tls_server *s);

/*
 * Whether certificate i's key (0 the default, n the nth tls_sni) is kept
 * out of the pre-login process: 1 yes, 0 no (*why says why), -1 when
 * there is no certificate i.  kind gets the key's type and size ("RSA
 * 2048 bits"), for the start-up log line.
 */
int			 tls_key_separated(const struct tls_server *s, int i,
			    char *kind, size_t len, const char **why);

/*
 * In a pre-login process right after its fork, before it is jailed:
 * unmap the keys the monitor keeps (RSA keys it can sign with, the
 * ticket keys) without reading them, and ask ops for what they did.
 */
void			 tls_prelogin_keys(struct tls_server *s,
			    const struct tls_keyops *ops);

/*
 * In a connection's monitor right after the fork: unmap the keys only
 * the pre-login process uses (those tls_key_separated says are not).
 */
void			 tls_monitor_keys(struct tls_server *s);

/* In the monitor: give up the private keys, or the ticket keys, here. */
void			 tls_forget_keys(struct tls_server *s);
void			 tls_forget_tickets(struct tls_server *s);

/*
 * In the monitor: sign the hlen-byte digest hash (enum tls_md md) with
 * certificate cert's key, PKCS#1 v1.5, into sig (cap bytes).  Only a key
 * tls_key_separated keeps out is used.  Returns 0 with *siglen set, or
 * -1.
 */
int			 tls_sign(struct tls_server *s, unsigned cert,
			    unsigned md, const unsigned char *hash,
			    size_t hlen, unsigned char *sig, size_t cap,
			    size_t *siglen);

/*
 * In the monitor (or a process without one): seal len bytes of session
 * state into a ticket (at most cap bytes) with the current ticket key,
 * or open one with the current or the previous key.  Both seal and open
 * bytes they never parse.  *born is when the session's full handshake
 * was: open sets it from the ticket and refuses a ticket older than
 * TLS_TICKET_LIFETIME; seal writes it into the ticket, or now when it is
 * 0, so that renewing a ticket never makes a session live longer.
 * Return 0 with the length set, or -1.
 */
int			 tls_ticket_seal(const struct tls_server *s,
			    const time_t *born, const unsigned char *state,
			    size_t len, unsigned char *ticket, size_t cap,
			    size_t *tlen);
int			 tls_ticket_open(const struct tls_server *s,
			    time_t *born, const unsigned char *ticket,
			    size_t len, unsigned char *state, size_t cap,
			    size_t *slen);

#endif
