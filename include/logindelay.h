/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * LOGIN-DELAY (RFC 2449 section 6.5): the time of a user's last login,
 * kept as the mtime of a small file beside the mailbox.
 */
#ifndef POP3D_LOGINDELAY_H
#define POP3D_LOGINDELAY_H

/*
 * Whether the user of mailbox may log in again, delay seconds after the
 * last login.  No state file, or one in the future (the clock went back),
 * means yes.  Returns 1 (may), 0 (too soon).
 */
int	logindelay_ok(const char *mailbox, unsigned delay);

/*
 * Record a login now, in the process that opened the mailbox (it has the
 * directory access a dotlock needs).  Returns 0, or -1 (logged: the
 * login goes on, only the next delay can't be enforced).
 */
int	logindelay_record(const char *mailbox);

/*
 * The state file of mailbox: ".NAME.pop3d-login" in its directory.
 * Returns 0, or -1 when it does not fit in len.
 */
int	logindelay_path(const char *mailbox, char *out, size_t len);

#endif
