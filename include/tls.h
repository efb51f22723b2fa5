/*
 * TLS on mbedTLS: the server's certificates, keys and settings (struct
 * tls_server, made once by the listener) and the transport that carries a
 * session's bytes through TLS once a handshake is done.
 */
#ifndef POP3D_TLS_H
#define POP3D_TLS_H

#include <stddef.h>

#include "conf.h"
#include "transport.h"

struct tls_server;

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
 * Run the server side of a handshake on t's descriptors within timeout_s
 * seconds, then switch t to move bytes through TLS (its shutdown hook
 * sends close_notify).  The first call in a process reseeds the random
 * generator and parses the keys into the process's own memory.  peer names the client in log lines; the outcome
 * (protocol and suite, or mbedTLS's reason) is logged.  Returns 0, or -1
 * when the connection must be closed.
 */
int			 tls_start(struct tls_server *s, struct transport *t,
			    unsigned timeout_s, const char *peer);

/*
 * Describe t's TLS for a log line, "TLSv1.2 TLS-ECDHE-...", into out;
 * "" when t does not run TLS.
 */
void			 tls_describe(struct transport *t, char *out,
			    size_t len);

#endif
