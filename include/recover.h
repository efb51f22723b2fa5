/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Interrupted UPDATEs finished without waiting for a login.
 */
#ifndef POP3D_RECOVER_H
#define POP3D_RECOVER_H

#include "conf.h"

/*
 * Finish every UPDATE journal in the directory of c's mailbox template
 * (none when the directory differs between users), each as its
 * mailbox's owner in a process of its own; uid 0's are left alone.
 * Called as root (or as the one user pop3d runs as) in a process of
 * its own, which it does not end.
 */
void	recover_spool(const struct conf *c);

#endif
