/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * LOGIN-DELAY state: the mtime of ".NAME.pop3d-login" beside the mailbox
 * NAME is the time of the user's last login.  Beside the mailbox because
 * the process that has just opened it can write there (a dotlock and the
 * UID sidecar live there already) and because it follows the mailbox
 * wherever the mailbox template puts it; no state directory to create.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "logindelay.h"
#include "spool.h"

int
logindelay_path(const char *mailbox, char *out, size_t len)
{
	const char	*base = strrchr(mailbox, '/');
	int		 n;

	if (base == NULL)
		n = snprintf(out, len, ".%s.pop3d-login", mailbox);
	else
		n = snprintf(out, len, "%.*s/.%s.pop3d-login",
		    (int)(base - mailbox), mailbox, base + 1);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/*
 * The state file, open: a foreign one (spool.h: planted with a time in
 * the future, or to be held for ever) is set aside once, so it neither
 * keeps the user out nor is written through.  Returns the descriptor,
 * or -1 (errno ENOENT: none, and create was not asked).
 */
static int
stamp_open(const char *path, int create, struct stat *st)
{
	int	flags = create ? O_WRONLY | O_CREAT : O_RDONLY;
	int	fd;

	if ((fd = spool_open(path, flags, SPOOL_OURS, st)) == -1 &&
	    errno == EPERM && spool_set_aside(path) == 0)
		fd = spool_open(path, flags, SPOOL_OURS, st);
	return fd;
}

int
logindelay_ok(const char *mailbox, unsigned delay)
{
	char		path[4096];
	struct stat	st;
	struct timespec	now;
	int		fd;

	if (delay == 0 || logindelay_path(mailbox, path, sizeof(path)) == -1 ||
	    (fd = stamp_open(path, 0, &st)) == -1)
		return 1;
	close(fd);
	/*
	 * The clock file times come from: time(2) reads a coarser one,
	 * which on newer kernels can stand a second behind a stamp just
	 * written, and the stamp would pass for one from the future.
	 */
	(void)clock_gettime(CLOCK_REALTIME, &now);
	if (st.st_mtime > now.tv_sec)
		return 1;
	return now.tv_sec - st.st_mtime >= (time_t)delay;
}

int
logindelay_record(const char *mailbox)
{
	char		path[4096], real[4096];
	struct stat	st;
	int		fd;

	if (logindelay_path(mailbox, path, sizeof(path)) == -1) {
		log_warnx("%s%s: login time: path too long", spool_dir(mailbox),
		    mailbox);
		return -1;
	}
	fd = stamp_open(path, 1, &st);
	if (fd == -1 || futimens(fd, NULL) == -1) {
		log_warn("%s: recording the login time", spool_name(path, real,
		    sizeof(real)));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}
