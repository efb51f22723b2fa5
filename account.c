/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * System account lookups for the root side: the account `user' names and
 * the group `mail_group' names at start-up, a system account's ids and
 * groups at login.  Each runs in a throw-away child of the process that
 * asks.  The name service loads its modules (libnss_systemd on a stock
 * Debian, sssd's or LDAP's elsewhere) into whichever process calls it,
 * and a process keeps them mapped for the rest of its life; the listener
 * forks every connection and a connection's monitor becomes its session,
 * so a lookup made in either would put them in every session process.
 * A child takes them with it when it exits (DESIGN.md, "Process model").
 */
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <unistd.h>

#include "account.h"
#include "log.h"
#include "privmsg.h"

/* What account_user's child answers. */
struct user_answer {
	int		found;
	int		more;		/* groups were cut */
	struct account	a;
};

/* What account_group's child answers. */
struct group_answer {
	int	found;
	gid_t	gid;
};

int
account_isolated(void (*fn)(const void *, void *), const void *in,
    void *out, size_t len)
{
	pid_t	pid;
	int	p[2], rc, st;

	if (len > ACCOUNT_OUT_MAX || pipe2(p, O_CLOEXEC) == -1) {
		log_warn("account lookup");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("account lookup: fork");
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		memset(out, 0, len);
		fn(in, out);
		/* One write below PIPE_BUF: whole, and never blocking. */
		_exit(write(p[1], out, len) == (ssize_t)len ? 0 : 1);
	}
	close(p[1]);
	rc = privsep_read_all(p[0], out, len);
	close(p[0]);
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			break;
	if (rc == -1)
		log_warnx("account lookup: the lookup process gave no answer");
	return rc;
}

static void
user_lookup(const void *in, void *out)
{
	struct user_answer	*u = out;
	struct passwd		*pw;
	int			 n = ACCOUNT_GROUPS_MAX;

	if ((pw = getpwnam(in)) == NULL)
		return;
	u->found = 1;
	u->a.uid = pw->pw_uid;
	u->a.gid = pw->pw_gid;
	/* Too many: glibc fills the first n, and says how many there are. */
	if (getgrouplist(pw->pw_name, pw->pw_gid, u->a.groups, &n) == -1) {
		u->more = 1;
		n = ACCOUNT_GROUPS_MAX;
	}
	u->a.ngroups = n;
}

int
account_user(const char *name, struct account *a)
{
	struct user_answer	u;

	if (account_isolated(user_lookup, name, &u, sizeof(u)) == -1)
		return -1;
	if (!u.found)
		return 0;
	if (u.more || u.a.ngroups < 0 || u.a.ngroups > ACCOUNT_GROUPS_MAX) {
		log_warnx("%s: in more than %d groups: its sessions get the "
		    "first %d", name, ACCOUNT_GROUPS_MAX, ACCOUNT_GROUPS_MAX);
		u.a.ngroups = u.a.ngroups < 0 ? 0 : ACCOUNT_GROUPS_MAX;
	}
	*a = u.a;
	return 1;
}

static void
group_lookup(const void *in, void *out)
{
	struct group_answer	*g = out;
	struct group		*gr;

	if ((gr = getgrnam(in)) == NULL)
		return;
	g->found = 1;
	g->gid = gr->gr_gid;
}

int
account_group(const char *name, gid_t *gid)
{
	struct group_answer	g;

	if (account_isolated(group_lookup, name, &g, sizeof(g)) == -1)
		return -1;
	if (g.found)
		*gid = g.gid;
	return g.found;
}
