/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The user's process after a verified login (direct.c): its backend,
 * which opens the maildrop as the mailbox's owner.
 */
#ifndef POP3D_DIRECT_H
#define POP3D_DIRECT_H

#include "auth.h"
#include "buf.h"
#include "conf.h"
#include "conn.h"
#include "transport.h"

/*
 * Serve a verified login as the mailbox's owner (privsep.c has switched
 * to it): the reply to the login command (how) first, then what the
 * client pipelined (in), then t.  Returns 0 when the session ended
 * normally, -1 otherwise (logged).
 */
int	direct_serve(const struct conf *c, struct transport *t,
	    const struct conn_link *link, struct auth_user *who,
	    const char *how, struct buf *in);

#endif
