/*
 * Whole-buffer file I/O for the files pop3d rewrites: the mailbox, its
 * journal, index cache and UID file.
 */
#include <errno.h>
#include <unistd.h>

#include "fdio.h"

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

int
fd_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
	char	*p = buf;
	ssize_t	 n;

	while (len > 0) {
		if ((n = pread(fd, p, len, (off_t)off)) == -1 && errno == EINTR)
			continue;
		if (step(n) == -1)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}

int
fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off)
{
	const char	*p = buf;
	ssize_t		 n;

	while (len > 0) {
		if ((n = pwrite(fd, p, len, (off_t)off)) == -1 &&
		    errno == EINTR)
			continue;
		if (step(n) == -1)
			return -1;
		p += n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
}
