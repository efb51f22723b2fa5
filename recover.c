/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * UPDATEs that a crash interrupted, finished without waiting for their
 * owners' next login (DESIGN.md, "Recovery without a login").  The
 * listener forks a process for recover_spool() at start and whenever a
 * session process dies of a signal.  That process, still root, reads
 * the names in the spool directory and stats them (no file's bytes);
 * for each journal beside a mailbox of the same owner it forks one that
 * becomes that owner, jailed in the directory as a session is and under
 * the session's syscall filter, and lets mbox.c finish the journal
 * under the delivery locks with every check a login's open makes (a
 * journal not its owner's own is set aside, never obeyed).
 */
#include <sys/types.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "maildrop.h"
#include "mbox.h"
#include "privsep.h"
#include "recover.h"
#include "sandbox.h"

#define JOURNAL_SUFFIX	".pop3d-journal"

/*
 * The directory of every user's mailbox, from the mailbox template,
 * into dir: 0, or -1 when it differs between users (a '%' in it).
 */
static int
spool_dir(const struct conf *c, char *dir, size_t len)
{
	const char	*slash = strrchr(c->mailbox, '/');
	size_t		 n;

	if (c->mailbox[0] != '/' || slash == NULL)
		return -1;
	n = slash == c->mailbox ? 1 : (size_t)(slash - c->mailbox);
	if (n >= len || memchr(c->mailbox, '%', n) != NULL)
		return -1;
	memcpy(dir, c->mailbox, n);
	dir[n] = '\0';
	return 0;
}

/* NAME from a journal's name, ".NAME.pop3d-journal", into out.  0/-1. */
static int
mailbox_of(const char *jname, char *out, size_t len)
{
	size_t	n = strlen(jname), s = sizeof(JOURNAL_SUFFIX) - 1;

	if (n <= s + 1 || jname[0] != '.' ||
	    strcmp(jname + n - s, JOURNAL_SUFFIX) != 0 || n - s - 1 >= len)
		return -1;
	memcpy(out, jname + 1, n - s - 1);
	out[n - s - 1] = '\0';
	return 0;
}

/*
 * Finish dir/name's journal as uid, in a process of its own: the
 * account's groups and gid when uid has one, else gid (the mailbox's).
 */
static void
recover_one(const struct conf *c, const char *dir, const char *name,
    uid_t uid, gid_t gid)
{
	struct passwd	*pw;
	const char	*account = NULL;
	char		 path[PATH_MAX];
	pid_t		 pid;
	int		 n, st;

	n = snprintf(path, sizeof(path), "%s%s%s", dir,
	    strcmp(dir, "/") == 0 ? "" : "/", name);
	if (n < 0 || (size_t)n >= sizeof(path))
		return;
	log_info("%s: an interrupted UPDATE's journal: finishing it as uid "
	    "%lu", path, (unsigned long)uid);
	if ((pid = fork()) == -1) {
		log_warn("%s: fork", path);
		return;
	}
	if (pid == 0) {
		if ((pw = getpwuid(uid)) != NULL) {
			account = pw->pw_name;
			gid = pw->pw_gid;
		}
		if (privsep_become_owner(uid, gid, account, path) == -1 ||
		    (c->sandbox && sandbox_enter(SANDBOX_SESSION) == -1))
			_exit(1);
		_exit(mbox_recover(path, c) == MD_OK ? 0 : 1);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		log_warnx("%s: the process finishing its UPDATE was killed by "
		    "the syscall filter (SIGSYS): see the kernel's audit log "
		    "for the call", path);
	else if (WIFSIGNALED(st))
		log_warnx("%s: the process finishing its UPDATE was killed by "
		    "signal %d", path, WTERMSIG(st));
}

void
recover_spool(const struct conf *c)
{
	struct dirent	*e;
	struct stat	 js, ms;
	DIR		*d;
	char		 dir[PATH_MAX], name[NAME_MAX + 1];
	uid_t		 me = geteuid();
	int		 dfd;

	if (spool_dir(c, dir, sizeof(dir)) == -1)
		return;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
		log_warn("%s: looking for interrupted UPDATEs", dir);
		if (dfd != -1)
			(void)close(dfd);
		return;
	}
	while ((e = readdir(d)) != NULL) {
		/* Both ours to finish: the owner's open decides the rest. */
		if (mailbox_of(e->d_name, name, sizeof(name)) == -1 ||
		    fstatat(dfd, e->d_name, &js, AT_SYMLINK_NOFOLLOW) == -1 ||
		    fstatat(dfd, name, &ms, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(js.st_mode) || !S_ISREG(ms.st_mode) ||
		    js.st_uid != ms.st_uid || ms.st_uid == 0 ||
		    (me != 0 && ms.st_uid != me))
			continue;
		recover_one(c, dir, name, ms.st_uid, ms.st_gid);
	}
	(void)closedir(d);
}
