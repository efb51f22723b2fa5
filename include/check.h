/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * pop3d -t's checks of what the configuration points at: the files and
 * programs every login needs, looked at but never run.
 */
#ifndef POP3D_CHECK_H
#define POP3D_CHECK_H

#include <stdio.h>

#include "conf.h"

/*
 * Check the passwd file (every line, every hash), the mailbox
 * directories, the checkpassword program, the pidfile's directory and
 * the PAM service file that c's settings need, printing each problem to
 * out as "file:line: message" with its fix; warnings say "warning:".
 * Returns the number of errors (0: logins can work; warnings don't
 * count).
 */
int	check_files(const struct conf *c, FILE *out);

#endif
