/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Credentials: the passwd file (crypt(3) hashes) and the APOP secrets file.
 * Both files are read afresh at every login so edits need no restart.
 */
#ifndef POP3D_AUTH_H
#define POP3D_AUTH_H

#include <sys/types.h>
#include <limits.h>

#include "conf.h"
#include "params.h"

enum auth_result {
	AUTH_OK,	/* credentials verified, *who filled in */
	AUTH_FAIL,	/* unknown user or wrong secret: the same answer for both */
	AUTH_TEMPFAIL	/* could not decide (file unreadable, crypt failure) */
};

struct auth_user {
	char	name[AUTH_NAME_MAX + 1];
	int	has_ids;		/* uid/gid (passwd file, or account) */
	uid_t	uid;
	gid_t	gid;
	int	ngroups;		/* a system account's groups, or 0 */
	gid_t	groups[ACCOUNT_GROUPS_MAX];
	char	mailbox[PATH_MAX];	/* expanded path of the maildrop */
};

/*
 * One parsed passwd file line: its fields point into the line.  Only the
 * matching line is copied (into auth.c's struct auth_entry): a PATH_MAX
 * copy per line would put another page on the stack of the process that
 * becomes the session, written for as long as it lives.
 */
struct auth_line {
	const char	*name;
	const char	*hash;
	const char	*mailbox;	/* NULL or "" means: use the template */
	int		 locked;	/* hash "", "*..." or "!...": never matches */
	int		 has_ids;
	uid_t		 uid;
	gid_t		 gid;
};

/*
 * A user name pop3d accepts: 1..AUTH_NAME_MAX of [A-Za-z0-9._@+-], not
 * starting with '.' or '-', so it can never walk out of the mail spool
 * through the %u template.  Returns 1 or 0.
 */
int	auth_name_ok(const char *);

/*
 * Check user/pass against the passwd file.  An unknown user costs the same
 * crypt(3) work as a known one.  With APOP enabled, a user listed in the
 * APOP file always fails here (RFC 1939 section 13).  Returns an enum
 * auth_result.
 */
int	auth_passwd(const struct conf *, const char *user, const char *pass,
	    struct auth_user *who);

/*
 * Read the passwd file at path as logins read it and call fn for each
 * line that is not blank or a comment: its number, and either why a
 * login skips it (bad, l NULL) or its fields (bad NULL; valid during the
 * call only).  For pop3d -t, so that it and logins agree on every line.
 * Returns 0, or -1 with errno set when the file can't be opened or read.
 */
int	auth_passwd_walk(const char *path, void (*fn)(unsigned long lineno,
	    const char *bad, const struct auth_line *l, void *arg), void *arg);

/*
 * Check an APOP digest (32 lower-case hex digits of MD5(timestamp secret))
 * against the APOP secrets file.  Returns an enum auth_result.
 */
int	auth_apop(const struct conf *, const char *user, const char *timestamp,
	    const char *digest, struct auth_user *who);

/*
 * Why the last auth_passwd or auth_apop call returned what it did ("ok",
 * "unknown user", "wrong password", "account locked", ...), for the login
 * log line; never secret.  A static string.
 */
const char	*auth_last_reason(void);

/* Overwrite n bytes of secret so the compiler can't skip it. */
void	auth_wipe(void *, size_t n);

#endif
