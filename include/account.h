/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * System account lookups, each made in a throw-away child so that the
 * name service's modules never map into a session process.
 */
#ifndef POP3D_ACCOUNT_H
#define POP3D_ACCOUNT_H

#include <sys/types.h>

#include "params.h"

struct account {
	uid_t	uid;
	gid_t	gid;
	int	ngroups;			/* groups[], gid among them */
	gid_t	groups[ACCOUNT_GROUPS_MAX];
};

/*
 * Look up the system account name: its uid, gid and groups (the first
 * ACCOUNT_GROUPS_MAX, logged when there are more).  Returns 1 and fills
 * *a, 0 when there is no such account, -1 when the lookup failed
 * (logged).
 */
int	account_user(const char *name, struct account *a);

/* Look up group name's gid.  Returns 1 and sets *gid, 0 or -1 as above. */
int	account_group(const char *name, gid_t *gid);

/*
 * Run fn(in, out) in a throw-away child and copy out (len bytes, at most
 * ACCOUNT_OUT_MAX) back, so what fn loads (NSS modules, PAM's) ends with
 * the child.  Returns 0, or -1 (logged) when the child did not answer.
 */
int	account_isolated(void (*fn)(const void *in, void *out),
	    const void *in, void *out, size_t len);

#endif
