/*
 * Helpers the mbox unit tests share: a growing byte string for building
 * mailboxes, writing a file, and a scratch directory made before and emptied after each
 * test group (dot files included: locks, UID and index files live there).
 */
#ifndef POP3D_MBOX_TESTUTIL_H
#define POP3D_MBOX_TESTUTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char	tmpdir[64];

struct bytes {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

static inline void
b_add(struct bytes *b, const void *p, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static inline void
b_str(struct bytes *b, const char *s)
{
	b_add(b, s, strlen(s));
}

/* Write len bytes at p to path, replacing it (mode 0600). */
static inline void
write_file(const char *path, const void *p, size_t len)
{
	int	fd;

	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(close(fd), 0);
}

/* Make /tmp/NAME.XXXXXX into tmpdir.  Returns 0 or -1. */
static inline int
tmpdir_make(const char *name)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/%s.XXXXXX", name);
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

/* Remove tmpdir and the files in it.  Returns 0 or -1. */
static inline int
tmpdir_remove(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 p[PATH_MAX];

	if ((d = opendir(tmpdir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", tmpdir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(tmpdir);
}

#endif
