/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The root side's password checks: the passwd file, PAM (service "pop3")
 * and qmail's checkpassword interface.
 */
#ifndef POP3D_PWCHECK_H
#define POP3D_PWCHECK_H

#include "auth.h"
#include "conf.h"

/*
 * Verify user/pass with the backend c->auth names.  stamp is the APOP
 * greeting timestamp, handed to checkpassword programs as qmail-popup
 * does; peer names the client as a log line does ("192.0.2.7:1234",
 * "[2001:db8::7]:1234"), and PAM gets its address as PAM_RHOST.  On
 * AUTH_OK *who has the mailbox and, for a system account (PAM, or a
 * checkpassword user with an account), its uid and gid.  A uid 0
 * account never logs in.  *why gets a reason for the log.  Returns
 * an enum auth_result.
 */
int	pwcheck_password(const struct conf *c, const char *user,
	    const char *pass, const char *stamp, const char *peer,
	    struct auth_user *who, const char **why);

/* 1 when this binary was built with PAM support, else 0. */
int	pwcheck_have_pam(void);

#endif
