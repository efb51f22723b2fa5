/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The crash tests' fault injection and power-loss records (include/
 * faults.h) that journal.c's write boundaries call when built with
 * -DPOP3D_FAULTS (build/faults/), for tests/test_crash only.  In the
 * daemon those hooks compile to nothing and this file is not built.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "faults.h"
#include "fileio.h"

/*
 * Power-loss records (POP3D_POWERLOG=FILE): what a power cut could still
 * undo at this instant, the way Linux loses writes after a crash.  For
 * each file written since its last fsync or fdatasync: its size then, and
 * for every PW_PAGE-byte page written or cut since, the bytes it had then
 * (what the disk may still hold).  For the directory: the journal's
 * creations and unlinks since its last fsync, in order, each unlinked
 * journal kept under a spare name (FILE.N) so that the test can bring it
 * back.  A crash, or the test at the end of a run, writes them to FILE
 * (fault_power_dump); tests/test_crash.c then picks what was lost.  The
 * UID file is not recorded: fd_replace makes it durable (fsync, rename,
 * fsync of the directory) within one boundary.
 */
#define PW_PAGE		4096
#define PW_FILES	8
#define PW_DIROPS	8

enum pw_op {
	PW_CREATE = 1,		/* undone: the name goes */
	PW_UNLINK = 2		/* undone: the file comes back */
};

struct pw_page {
	uint64_t	 idx;
	uint64_t	 len;		/* its bytes below size0 */
	unsigned char	*old;		/* those bytes at the last sync */
};

struct pw_file {
	dev_t		 dev;
	ino_t		 ino;
	int		 gone;		/* unlinked for good */
	char		 path[PATH_MAX];	/* the spare name once unlinked */
	uint64_t	 size0;		/* the size at the last sync */
	struct pw_page	*pages;
	size_t		 npages;
	size_t		 cap;
	unsigned char	*seen;		/* a flag per page index */
	size_t		 nseen;
};

struct pw_dirop {
	int	op;
	int	file;
	char	path[PATH_MAX];
	char	spare[PATH_MAX];
};

static struct pw_file	pw_files[PW_FILES];
static int		pw_nfiles;
static struct pw_dirop	pw_dirops[PW_DIROPS];
static int		pw_ndirops;
static int		pw_nspare;

/* The records' file, or NULL (unset or empty: none kept). */
static const char *
pw_log(void)
{
	const char	*p = getenv("POP3D_POWERLOG");

	return p != NULL && *p != '\0' ? p : NULL;
}

/* The records can't be kept: the test sees exit status 98. */
static void
pw_die(const char *what)
{
	fprintf(stderr, "power-loss records: %s: %s\n", what, strerror(errno));
	_exit(98);
}

static struct pw_file *
pw_find(const struct stat *st)
{
	int	i;

	for (i = 0; i < pw_nfiles; i++)
		if (!pw_files[i].gone && pw_files[i].dev == st->st_dev &&
		    pw_files[i].ino == st->st_ino)
			return &pw_files[i];
	return NULL;
}

/*
 * The records of the file open as fd, begun at its first write since the
 * process started (all it holds then counts as durable: the test writes
 * what a power cut left), or at its creation, when it has no durable
 * bytes yet.
 */
static struct pw_file *
pw_file(int fd, int created)
{
	struct stat	 st;
	struct pw_file	*f;
	char		 proc[64];
	ssize_t		 n;

	if (fstat(fd, &st) == -1)
		pw_die("fstat");
	if ((f = pw_find(&st)) != NULL)
		return f;
	if (pw_nfiles == PW_FILES)
		pw_die("too many files");
	f = &pw_files[pw_nfiles++];
	memset(f, 0, sizeof(*f));
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size0 = created ? 0 : (uint64_t)st.st_size;
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if ((n = readlink(proc, f->path, sizeof(f->path) - 1)) <= 0)
		pw_die("readlink");
	f->path[n] = '\0';
	return f;
}

/* Keep what page idx held at the last sync, unless kept already. */
static void
pw_page(struct pw_file *f, int fd, uint64_t idx)
{
	struct pw_page	*p;
	uint64_t	 off = idx * PW_PAGE;

	if (idx < f->nseen && f->seen[idx])
		return;
	if (idx >= f->nseen) {
		if ((f->seen = realloc(f->seen, (size_t)idx + 1)) == NULL)
			pw_die("realloc");
		memset(f->seen + f->nseen, 0, (size_t)idx + 1 - f->nseen);
		f->nseen = (size_t)idx + 1;
	}
	f->seen[idx] = 1;
	if (f->npages == f->cap) {
		f->cap = f->cap * 2 + 16;
		if ((f->pages = reallocarray(f->pages, f->cap,
		    sizeof(*f->pages))) == NULL)
			pw_die("reallocarray");
	}
	p = &f->pages[f->npages++];
	p->idx = idx;
	p->len = f->size0 <= off ? 0 : f->size0 - off < PW_PAGE ?
	    f->size0 - off : PW_PAGE;
	/* untouched since the sync, so what the file holds is durable */
	if ((p->old = malloc(PW_PAGE)) == NULL ||
	    (p->len > 0 && fd_pread_all(fd, p->old, (size_t)p->len, off) ==
	    -1))
		pw_die("keeping a page");
}

/* Bytes [off, off + len) of fd are about to change. */
void
power_touch(int fd, uint64_t off, uint64_t len)
{
	struct pw_file	*f;
	uint64_t	 i;

	if (pw_log() == NULL || len == 0)
		return;
	f = pw_file(fd, 0);
	for (i = off / PW_PAGE; i <= (off + len - 1) / PW_PAGE; i++)
		pw_page(f, fd, i);
}

/* fd is about to be cut to size: keep what the cut destroys. */
void
power_truncate(int fd, uint64_t size)
{
	struct stat	st;

	if (pw_log() == NULL)
		return;
	if (fstat(fd, &st) == -1)
		pw_die("fstat");
	if ((uint64_t)st.st_size > size)
		power_touch(fd, size, (uint64_t)st.st_size - size);
}

/* fd was synced: a file's records go; a directory's operations stay. */
void
power_synced(int fd)
{
	struct stat	 st;
	struct pw_file	*f;
	size_t		 i;
	int		 k;

	if (pw_log() == NULL)
		return;
	if (fstat(fd, &st) == -1)
		pw_die("fstat");
	if (S_ISDIR(st.st_mode)) {
		for (k = 0; k < pw_ndirops; k++)
			if (pw_dirops[k].op == PW_UNLINK) {
				(void)unlink(pw_dirops[k].spare);
				pw_files[pw_dirops[k].file].gone = 1;
			}
		pw_ndirops = 0;
		return;
	}
	if ((f = pw_find(&st)) == NULL)
		return;
	for (i = 0; i < f->npages; i++)
		free(f->pages[i].old);
	f->npages = 0;
	memset(f->seen, 0, f->nseen);
	f->size0 = (uint64_t)st.st_size;
}

static void
pw_dirop(int op, const struct pw_file *f, const char *path,
    const char *spare)
{
	struct pw_dirop	*d;

	if (pw_ndirops == PW_DIROPS)
		pw_die("too many directory operations");
	d = &pw_dirops[pw_ndirops++];
	d->op = op;
	d->file = (int)(f - pw_files);
	(void)snprintf(d->path, sizeof(d->path), "%s", path);
	(void)snprintf(d->spare, sizeof(d->spare), "%s", spare);
}

/* path was just created, open as fd. */
void
power_created(int fd, const char *path)
{
	if (pw_log() != NULL)
		pw_dirop(PW_CREATE, pw_file(fd, 1), path, "");
}

/* path is about to be unlinked: keep the file under a spare name. */
void
power_unlink(const char *path)
{
	struct pw_file	*f;
	char		 spare[PATH_MAX];
	int		 fd;

	if (pw_log() == NULL)
		return;
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;		/* the unlink fails as well */
	f = pw_file(fd, 0);
	(void)close(fd);
	(void)snprintf(spare, sizeof(spare), "%s.%d", pw_log(), pw_nspare++);
	/* one another process left is stale: the test has taken its log */
	(void)unlink(spare);
	if (link(path, spare) == -1)
		pw_die("link");
	pw_dirop(PW_UNLINK, f, path, spare);
	(void)snprintf(f->path, sizeof(f->path), "%s", spare);
}

static void
pw_put(FILE *fp, uint64_t v)
{
	(void)fwrite(&v, sizeof(v), 1, fp);
}

static void
pw_put_str(FILE *fp, const char *s)
{
	pw_put(fp, strlen(s));
	(void)fwrite(s, 1, strlen(s), fp);
}

/*
 * The log, in this machine's byte order: "POP3DPWR"; the file count,
 * then per file its index, path, size0, page count and pages (index,
 * length, bytes); the count of directory operations, then each one's
 * op, file index, path and spare name.
 */
void
fault_power_dump(void)
{
	const struct pw_file	*f;
	size_t			 i;
	FILE			*fp;
	int			 k, live = 0;

	if (pw_log() == NULL)
		return;
	if ((fp = fopen(pw_log(), "w")) == NULL)
		pw_die(pw_log());
	for (k = 0; k < pw_nfiles; k++)
		live += !pw_files[k].gone;
	(void)fwrite("POP3DPWR", 1, 8, fp);
	pw_put(fp, (uint64_t)live);
	for (k = 0; k < pw_nfiles; k++) {
		if ((f = &pw_files[k])->gone)
			continue;
		pw_put(fp, (uint64_t)k);
		pw_put_str(fp, f->path);
		pw_put(fp, f->size0);
		pw_put(fp, f->npages);
		for (i = 0; i < f->npages; i++) {
			pw_put(fp, f->pages[i].idx);
			pw_put(fp, f->pages[i].len);
			(void)fwrite(f->pages[i].old, 1,
			    (size_t)f->pages[i].len, fp);
		}
	}
	pw_put(fp, (uint64_t)pw_ndirops);
	for (k = 0; k < pw_ndirops; k++) {
		pw_put(fp, (uint64_t)pw_dirops[k].op);
		pw_put(fp, (uint64_t)pw_dirops[k].file);
		pw_put_str(fp, pw_dirops[k].path);
		pw_put_str(fp, pw_dirops[k].spare);
	}
	if (fclose(fp) != 0)
		pw_die(pw_log());
}

static long
fault_env(const char *name)
{
	const char	*v = getenv(name);

	return v != NULL ? atol(v) : 0;
}

/*
 * POP3D_FAULT_APPEND: what an MDA that takes none of pop3d's locks does
 * at this instant: append POP3D_FAULT_APPEND_DATA to the mailbox
 * POP3D_FAULT_APPEND_PATH names.
 */
static void
fault_append(void)
{
	const char	*path = getenv("POP3D_FAULT_APPEND_PATH");
	const char	*data = getenv("POP3D_FAULT_APPEND_DATA");
	int		 fd;

	if (path == NULL || data == NULL ||
	    (fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)) == -1)
		pw_die("POP3D_FAULT_APPEND");
	if (write(fd, data, strlen(data)) != (ssize_t)strlen(data))
		pw_die(path);
	(void)close(fd);
}

/* The crash: what a power cut could undo goes to the log first. */
void
fault_crash(void)
{
	fault_power_dump();
	_exit(99);
}

int
fault_point(const char *what)
{
	static long	n;

	n++;
	if (getenv("POP3D_FAULT_TRACE") != NULL)
		fprintf(stderr, "fault point %ld: %s\n", n, what);
	if (n == fault_env("POP3D_FAULT_AT")) {
		if (getenv("POP3D_FAULT_TORN") != NULL)
			return 1;
		fault_crash();
	}
	if (n == fault_env("POP3D_FAULT_EIO")) {
		errno = EIO;
		return -1;
	}
	if (n == fault_env("POP3D_FAULT_ENOSPC")) {
		errno = ENOSPC;
		return -1;
	}
	if (n == fault_env("POP3D_FAULT_APPEND"))
		fault_append();
	return 0;
}
