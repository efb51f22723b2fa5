/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Files in a mail spool (spool.h): open without following links or
 * blocking on FIFOs, trust only a regular file of our own with one link,
 * set aside what fails, and name files in logs by their real path.
 *
 * Why each check: a symbolic link or a hard link would make pop3d read or
 * write a file it never made (another user's mailbox, /etc/shadow through
 * a session's eyes); a FIFO would hang the open; a file of another owner
 * is someone else's words (a journal obeyed, a lock held for ever, a
 * login time in the future); one writable by others can be rewritten
 * after the check.  Only root and the owner can make a file of the
 * owner's, and a process running as the owner could change the mailbox
 * itself, so such a file carries no power its writer lacked.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "spool.h"

/* Attempts at a free name for a file set aside. */
#define ASIDE_TRIES	10

/* The session's jail seen from outside ("" when not jailed). */
static char	jail_dir[PATH_MAX];

void
spool_jailed(const char *dir)
{
	snprintf(jail_dir, sizeof(jail_dir), "%s",
	    dir == NULL || strcmp(dir, "/") == 0 ? "" : dir);
}

const char *
spool_dir(const char *path)
{
	return path[0] == '/' ? jail_dir : "";
}

const char *
spool_name(const char *path, char *out, size_t len)
{
	int	n;

	n = snprintf(out, len, "%s%s", spool_dir(path), path);
	if (n < 0 && len > 0)
		out[0] = '\0';
	return out;
}

/* What is wrong with a file of st for kind, or NULL if nothing. */
static const char *
distrust(const struct stat *st, enum spool_kind kind, char *why, size_t len)
{
	if (st->st_uid != geteuid()) {
		snprintf(why, len, "owned by uid %lu, not %lu",
		    (unsigned long)st->st_uid, (unsigned long)geteuid());
		return why;
	}
	if (!S_ISREG(st->st_mode))
		return S_ISLNK(st->st_mode) ? "a symbolic link" :
		    S_ISFIFO(st->st_mode) ? "a FIFO" : S_ISDIR(st->st_mode) ?
		    "a directory" : "not a regular file";
	if (st->st_nlink != 1) {
		snprintf(why, len, "%lu hard links to it",
		    (unsigned long)st->st_nlink);
		return why;
	}
	if (kind == SPOOL_OURS && (st->st_mode & (S_IWGRP | S_IWOTH)) != 0)
		return "writable by group or others";
	return NULL;
}

/*
 * Log that path is not trusted and why; errno becomes EPERM, or EINVAL
 * for a mailbox that only its owner can have made into something else
 * than a file (a directory, a link): a mistake to report, not someone
 * else's file to pass over.
 */
static int
refuse(const char *path, const struct stat *st, enum spool_kind kind,
    const char *why)
{
	char	real[PATH_MAX];

	spool_name(path, real, sizeof(real));
	if (kind == SPOOL_MAILBOX && st->st_uid == geteuid() &&
	    !S_ISREG(st->st_mode)) {
		log_warnx("%s: %s, not a mailbox file", real, why);
		errno = EINVAL;
		return -1;
	}
	log_warnx("%s: %s: a file pop3d did not make for this user, not used",
	    real, why);
	errno = EPERM;
	return -1;
}

/*
 * The open failed: a symbolic link, or something else that is there
 * and is not ours (a directory, another user's 0600 file), is refused;
 * anything else keeps open's errno.
 */
static int
open_failed(const char *path, enum spool_kind kind)
{
	struct stat	st;
	char		w[64];
	const char	*why;
	int		e = errno;

	if (e == ENOENT || lstat(path, &st) == -1) {
		errno = e;
		return -1;
	}
	if ((why = distrust(&st, kind, w, sizeof(w))) != NULL)
		return refuse(path, &st, kind, why);
	errno = e;
	return -1;
}

int
spool_open(const char *path, int flags, enum spool_kind kind,
    struct stat *st)
{
	struct stat	 fst;
	char		 w[64];
	const char	*why;
	int		 fd;

	fd = open(path, flags | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC,
	    0600);
	if (fd == -1)
		return open_failed(path, kind);
	if (fstat(fd, &fst) == -1) {
		(void)close(fd);
		return -1;
	}
	if ((why = distrust(&fst, kind, w, sizeof(w))) != NULL) {
		(void)close(fd);
		return refuse(path, &fst, kind, why);
	}
	if (st != NULL)
		*st = fst;
	return fd;
}

/*
 * rename, never over an existing file.  Where the file system lacks
 * RENAME_NOREPLACE a plain rename to a name just seen free will do: the
 * names set aside are only for a person to look at.
 */
static int
no_replace(const char *from, const char *to)
{
	struct stat	st;

	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL)
		return -1;
	if (lstat(to, &st) == 0) {
		errno = EEXIST;
		return -1;
	}
	return rename(from, to);
}

int
spool_set_aside(const char *path)
{
	char		aside[PATH_MAX], real[PATH_MAX], real2[PATH_MAX];
	char		when[32];
	struct tm	tm;
	time_t		now = time(NULL);
	int		i, n;

	/* UTC: inside a jail there is no time zone file to read */
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(when, sizeof(when), "%Y%m%dT%H%M%SZ", &tm) == 0)
		snprintf(when, sizeof(when), "%lld", (long long)now);
	for (i = 0; i < ASIDE_TRIES; i++) {
		n = snprintf(aside, sizeof(aside), i == 0 ? "%s.foreign-%s" :
		    "%s.foreign-%s-%d", path, when, i);
		if (n < 0 || (size_t)n >= sizeof(aside)) {
			errno = ENAMETOOLONG;
			break;
		}
		if (no_replace(path, aside) == 0) {
			log_warnx("%s: set aside as %s for an administrator to "
			    "look at", spool_name(path, real, sizeof(real)),
			    spool_name(aside, real2, sizeof(real2)));
			return 0;
		}
		if (errno == ENOENT)
			return 0;
		if (errno != EEXIST)
			break;
	}
	log_warn("%s: cannot set it aside", spool_name(path, real,
	    sizeof(real)));
	return -1;
}

int
spool_tmpfile(const char *path, char *tmp, size_t len)
{
	int	n;

	n = snprintf(tmp, len, "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return mkostemp(tmp, O_CLOEXEC);
}
