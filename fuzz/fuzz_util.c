/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Helpers shared by the fuzz targets (fuzz_util.h).
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz_util.h"

void
fuzz_fail(const char *file, int line, const char *msg)
{
	char	text[512];
	int	n;

	/* Descriptor 2, not stdio: fuzz_quiet may have redirected stderr. */
	n = snprintf(text, sizeof(text), "%s:%d: invariant broken: %s\n",
	    file, line, msg);
	if (n > 0)
		(void)write(2, text, (size_t)n < sizeof(text) ? (size_t)n :
		    sizeof(text) - 1);
	abort();
}

uint64_t
fuzz_check_wire(const char *p, size_t len, int stuff)
{
	uint64_t	unstuffed = 0;
	size_t		i;
	int		bol = 1;

	FUZZ_ASSERT(len == 0 || (len >= 2 && p[len - 2] == '\r' &&
	    p[len - 1] == '\n'), "last line not ended by CRLF");
	for (i = 0; i < len; i++) {
		if (stuff && bol && p[i] == '.') {
			FUZZ_ASSERT(i + 1 < len && p[i + 1] == '.',
			    "unstuffed '.' line");
			i++;
		}
		FUZZ_ASSERT(p[i] != '\n' || (i > 0 && p[i - 1] == '\r'),
		    "bare LF");
		bol = p[i] == '\n';
	}
	/* Count again without the stuffed dots: one per '.'-led line. */
	for (i = 0, bol = 1; i < len; i++) {
		if (!(stuff && bol && p[i] == '.'))
			unstuffed++;
		bol = p[i] == '\n';
	}
	return unstuffed;
}

uint32_t
fuzz_rand(uint32_t *state)
{
	uint32_t	x = *state ? *state : 0x9e3779b9;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	*state = x;
	return x;
}

void
fuzz_quiet(void)
{
	static int	done;
	FILE		*null;

	if (done || getenv("FUZZ_VERBOSE") != NULL)
		return;
	done = 1;
	if ((null = fopen("/dev/null", "w")) != NULL)
		stderr = null;
}

static char	scratch[PATH_MAX];

static void
scratch_remove(void)
{
	fuzz_tmpclean();
	rmdir(scratch);
}

/* The scratch directory, made on first use.  0 or -1. */
static int
scratch_dir(void)
{
	const char	*dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	if (scratch[0] != '\0')
		return 0;
	if (access("/dev/shm", W_OK) == 0)
		dir = "/dev/shm";
	if (snprintf(scratch, sizeof(scratch), "%s/pop3d-fuzz.XXXXXX",
	    dir) >= (int)sizeof(scratch) || mkdtemp(scratch) == NULL) {
		scratch[0] = '\0';
		return -1;
	}
	atexit(scratch_remove);
	return 0;
}

int
fuzz_tmpfile(const char *name, const void *data, size_t len, char *path)
{
	int	fd;

	if (scratch_dir() == -1 ||
	    snprintf(path, PATH_MAX, "%s/%s", scratch, name) >= PATH_MAX)
		return -1;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600)) == -1)
		return -1;
	if (len > 0 && write(fd, data, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

void
fuzz_tmpclean(void)
{
	char		 path[PATH_MAX];
	DIR		*d;
	struct dirent	*e;

	if (scratch[0] == '\0' || (d = opendir(scratch)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.' || (e->d_name[1] != '\0' &&
		    strcmp(e->d_name, "..") != 0))
			if (snprintf(path, sizeof(path), "%s/%s", scratch,
			    e->d_name) < (int)sizeof(path))
				unlink(path);
	closedir(d);
}
