/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The jailed pre-login process's side of privilege separation
 * (prelogin.c): the backend that asks the monitor, the key stand-in, the
 * TLS relay.  Root's side, which forks and jails this process, is
 * privsep.h.
 */
#ifndef POP3D_PRELOGIN_H
#define POP3D_PRELOGIN_H

#include <sys/socket.h>

#include "conf.h"
#include "conn.h"

struct tls_keyops;

/*
 * The key operations a pre-login process's handshake asks of the
 * monitor on fd, for tls_prelogin_keys: called once, in the new process
 * before it is jailed; it only notes fd.  Returns them (static).
 */
const struct tls_keyops	*prelogin_keyops(int fd);

/*
 * Run the pre-login process, already jailed (privsep.c): the syscall
 * filter before any client byte is read, prepare (as privsep_serve says),
 * then the protocol engine on fd_in/fd_out, its logins checked by the
 * monitor on ch; after a verified login over TLS it relays for the
 * user's process.  Returns 0, or -1 (logged).
 */
int	prelogin_serve(const struct conf *c, int fd_in, int fd_out,
	    struct conn_link *link, int ch,
	    int (*prepare)(struct conn_link *, int, void *), void *arg);

/*
 * In the pre-login process, when a PROXY header named the real client
 * (sa): ask the monitor on fd to count this session under its address.
 * Returns 0 when admitted, 1 when that address has max_sessions_per_ip
 * sessions already (the monitor logged it), -1 when the monitor can't be
 * reached.
 */
int	prelogin_rekey(int fd, const struct sockaddr *sa);

#endif
