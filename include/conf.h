/*
 * The configuration file: "key value" lines, '#' comments.  Unknown keys
 * and bad values are errors reported as "file:line: message".
 */
#ifndef POP3D_CONF_H
#define POP3D_CONF_H

#include <limits.h>

#include "params.h"

#define CONF_DEFAULT_PATH	"/etc/pop3d.conf"

enum mbox_format {
	MBOX_MBOXO,		/* ">From " left as stored (default) */
	MBOX_MBOXRD		/* one '>' removed from "^>+From " lines */
};

enum mbox_lock {
	LOCK_FCNTL = 1,
	LOCK_DOTLOCK = 2
};

#define CONF_LOCKS_MAX	2

struct conf_listen {
	char	host[64];	/* numeric address (no brackets) or "*" */
	char	port[8];
};

struct conf {
	char			file[PATH_MAX];		/* where it was read from */
	struct conf_listen	listen[CONF_LISTEN_MAX];
	int			nlisten;
	char			passwd_file[PATH_MAX];
	char			mailbox[PATH_MAX];	/* template: %u user, %% '%' */
	int			expire_never;		/* 0: EXPIRE 0, 1: EXPIRE NEVER */
	unsigned		idle_timeout;		/* seconds */
	enum mbox_format	mbox_format;
	enum mbox_lock		mbox_locks[CONF_LOCKS_MAX];	/* in order */
	int			nlocks;
	unsigned		lock_timeout;		/* seconds */
	unsigned		max_sessions;
	char			user[AUTH_NAME_MAX + 1];	/* switch to it when root */
	int			apop;			/* APOP enabled */
	char			apop_file[PATH_MAX];
};

/* Fill in every default (documented in pop3d.conf.example). */
void	conf_defaults(struct conf *);

/*
 * Read path into c (which conf_defaults has set).  Returns 0, or -1 with
 * "path:line: message" (or "path: reason") in err; on -1 c is unchanged.
 */
int	conf_load(struct conf *c, const char *path, char *err, size_t errlen);

/*
 * Expand the mailbox template for user into out (%u the user, %% a '%').
 * Returns 0, or -1 when the result does not fit or the template has any
 * other '%' sequence (conf_load refuses such templates).
 */
int	conf_mailbox_path(const char *tmpl, const char *user, char *out,
	    size_t outlen);

#endif
