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
