/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Whole-buffer file I/O for the files pop3d rewrites: the mailbox, its
 * journal, index cache and UID file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "spool.h"

/* One step's result: 0 to go on with n more bytes done, -1 to fail. */
static int
step(ssize_t n)
{
	if (n > 0)
		return 0;
	if (n == 0)
		errno = EIO;
	return -1;
}

int
fd_write_all(int fd, const void *buf, size_t len)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1 && errno == EINTR)
			continue;
		if (step(n) == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * pread into rd, or (rd NULL) pwrite from wr, exactly len bytes at off.
 * 0, or -1 with errno set.
 */
static int
pio_all(int fd, char *rd, const char *wr, size_t len, uint64_t off)
{
	size_t	done = 0;
	ssize_t	n;

	while (done < len) {
		n = rd != NULL ?
		    pread(fd, rd + done, len - done, (off_t)(off + done)) :
		    pwrite(fd, wr + done, len - done, (off_t)(off + done));
		if (n == -1 && errno == EINTR)
			continue;
		if (step(n) == -1)
			return -1;
		done += (size_t)n;
	}
	return 0;
}

int
fd_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, buf, NULL, len, off);
}

int
fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	return pio_all(fd, NULL, buf, len, off);
}

/* fsync the directory that holds path.  0, or -1 with errno set. */
static int
fsync_dir(const char *path)
{
	char		 dir[PATH_MAX];
	const char	*slash = strrchr(path, '/');
	size_t		 len = slash == NULL ? 0 : slash == path ? 1 :
			    (size_t)(slash - path);
	int		 fd, r, e;

	if (len >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (len == 0)
		memcpy(dir, ".", 2);
	else {
		memcpy(dir, path, len);
		dir[len] = '\0';
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	r = fsync(fd);
	e = errno;
	(void)close(fd);
	errno = e;
	return r;
}

int
fd_replace(const char *path, const void *buf, size_t len, const char **what)
{
	char	tmp[PATH_MAX];
	int	fd, e;

	*what = "create a temporary file";
	if ((fd = spool_tmpfile(path, tmp, sizeof(tmp))) == -1)
		return -1;
	*what = "write";
	if (fd_write_all(fd, buf, len) == -1 || fsync(fd) == -1) {
		e = errno;
		(void)close(fd);
		goto fail;
	}
	*what = "rename";
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		e = errno;
		goto fail;
	}
	*what = "fsync of the directory";
	return fsync_dir(path);
 fail:
	(void)unlink(tmp);
	errno = e;
	return -1;
}
