/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The TLS transport (tls.c): one connection's handshake on mbedTLS, then
 * a struct transport that carries the session's bytes through TLS.  The
 * certificates and keys it uses are tlskeys.h's struct tls_server.
 */
#ifndef POP3D_TLS_H
#define POP3D_TLS_H

#include <stddef.h>

#include "transport.h"

struct tls_server;

/*
 * Run the server side of a handshake on t's descriptors within timeout_s
 * seconds, then switch t to move bytes through TLS (its shutdown hook
 * sends close_notify).  The first call in a process reseeds the random
 * generator and parses the keys it holds into the process's own memory.
 * peer names the client in log lines; the outcome
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
