/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Helpers the mailbox unit tests share (test_mbox, test_transform,
 * test_lock, test_uids, test_update, test_scan, test_spool): a growing
 * byte string for building mailboxes; files in a scratch directory made
 * before and emptied after each test group (dot files included: locks,
 * UID and index files live there); and opening, reading and updating a
 * mailbox there.
 */
#ifndef POP3D_MBOX_TESTUTIL_H
#define POP3D_MBOX_TESTUTIL_H

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "lock.h"
#include "log.h"
#include "maildrop.h"
#include "mbox.h"
#include "params.h"

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

/*
 * A cmocka group's setup for the mailbox tests: log lines to stderr, and
 * tmpdir made, both under the test program's name.  Returns 0 or -1.
 */
static inline int
tmpdir_setup(void **state)
{
	(void)state;
	log_init(1, program_invocation_short_name);
	return tmpdir_make(program_invocation_short_name);
}

/* A cmocka group's teardown: tmpdir_remove.  Returns 0 or -1. */
static inline int
tmpdir_teardown(void **state)
{
	(void)state;
	return tmpdir_remove();
}

/* ------------------------------------------------------------------ */
/* Files in tmpdir */

/* A fresh file name in tmpdir; the last 8 stay valid. */
static inline char *
newpath(void)
{
	static char	path[8][128];
	static int	n;
	char		*p = path[n % 8];

	snprintf(p, sizeof(path[0]), "%s/mbox%d", tmpdir, ++n);
	return p;
}

/* A new file in tmpdir holding len bytes at p.  Returns its path. */
static inline char *
mkfile_len(const void *p, size_t len)
{
	char	*path = newpath();

	write_file(path, p, len);
	return path;
}

/* A new file in tmpdir holding the string s.  Returns its path. */
static inline char *
mkfile(const char *s)
{
	return mkfile_len(s, strlen(s));
}

/* The bytes of the file at path, NUL-terminated. */
static inline struct bytes
read_file(const char *path)
{
	struct bytes	b = { NULL, 0, 0 };
	char		buf[65536];
	ssize_t		n;
	int		fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	b_add(&b, "", 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		b_add(&b, buf, (size_t)n);
	close(fd);
	return b;
}

/* The text of the file at path, valid until the next call. */
static inline const char *
read_text(const char *path)
{
	static char	text[65536];
	struct bytes	b = read_file(path);

	assert_true(b.len < sizeof(text));
	memcpy(text, b.p, b.len + 1);
	free(b.p);
	return text;
}

/* Append the string s to the file at path. */
static inline void
append(const char *path, const char *s)
{
	int	fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

/*
 * Overwrite bytes at off with text, a rewrite in place: the mtime kept
 * when keep_mtime, else a new one even within the file system's tick.
 */
static inline void
poke(const char *path, off_t off, const char *text, int keep_mtime)
{
	struct stat	st;
	struct timespec	ts[2];
	int		fd = open(path, O_WRONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pwrite(fd, text, strlen(text), off),
	    (ssize_t)strlen(text));
	if (keep_mtime) {
		ts[0] = st.st_atim;
		ts[1] = st.st_mtim;
		assert_int_equal(futimens(fd, ts), 0);
	} else {
		ts[0].tv_nsec = UTIME_OMIT;
		ts[1] = st.st_mtim;
		ts[1].tv_sec += 2;
		assert_int_equal(futimens(fd, ts), 0);
	}
	close(fd);
}

/* The sibling file of path with that suffix (lock_sibling), into out. */
static inline void
sibling(const char *path, const char *suffix, char *out)
{
	assert_int_equal(lock_sibling(path, suffix, out, PATH_MAX), 0);
}

/* ------------------------------------------------------------------ */
/* Mailboxes */

#define FROM1	"From alice@example.org Mon Jan  1 00:00:00 2024"
#define FROM2	"From bob@example.org Tue Jan  2 00:00:00 2024"
#define MSG_A	FROM1 "\nSubject: a\nMessage-ID: <1@x>\n\nhello\n\n"
#define MSG_B	FROM2 "\nSubject: b\n\nhello b\n\n"
#define MSG_C	FROM2 "\nSubject: c\n\nsee\n\n"
#define M1	FROM1 "\nSubject: 1\n\none\n\n"
#define M2	FROM2 "\nSubject: 2\n\ntwo\n>From x\n\n"
#define M3	FROM1 "\nSubject: 3\n\nthree\n\n"
#define M4	FROM2 "\nSubject: 4\n\nfour"

/* c: the defaults, mailboxes of format f, a lock timeout of 1 s. */
static inline void
conf_for(struct conf *c, enum mbox_format f)
{
	conf_defaults(c);
	c->mbox_format = f;
	c->lock_timeout = 1;
}

/* Open the mailbox at path, of format f: it must open. */
static inline struct mbox *
open_fmt(const char *path, enum mbox_format f)
{
	struct conf	 c;
	struct mbox	*m = NULL;

	conf_for(&c, f);
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	assert_non_null(m);
	return m;
}

/* Open the mboxo mailbox at path: it must open. */
static inline struct mbox *
open_ok(const char *path)
{
	return open_fmt(path, MBOX_MBOXO);
}

/* Open and close the mailbox at path with c.  Returns mbox_open's MD_*. */
static inline int
open_status(const char *path, const struct conf *c)
{
	struct mbox	*m = (struct mbox *)1;
	int		 st;

	st = mbox_open(path, c, &m);
	if (st == MD_OK)
		mbox_ops.close(m);
	else
		assert_null(m);
	return st;
}

/*
 * Message idx streamed through msg_read in reads of cap bytes: its POP
 * bytes (stuffed, TOP's body_lines lines when lines >= 0), malloc'd.
 */
static inline struct bytes
retr(struct mbox *m, size_t idx, long lines, size_t cap)
{
	struct bytes	 b = { NULL, 0, 0 };
	char		*out = malloc(cap);
	ssize_t		 n;

	assert_non_null(out);
	b_add(&b, "", 0);
	assert_int_equal(mbox_ops.msg_open(m, idx, lines), MD_OK);
	while ((n = mbox_ops.msg_read(m, out, cap)) > 0) {
		assert_true((size_t)n <= cap);
		b_add(&b, out, (size_t)n);
	}
	assert_int_equal(n, 0);
	assert_int_equal(mbox_ops.msg_read(m, out, cap), 0);
	free(out);
	return b;
}

/* RETR of idx as text, valid until the next call. */
static inline const char *
retr_text(struct mbox *m, size_t idx)
{
	static char	text[65536];
	struct bytes	b = retr(m, idx, -1, sizeof(text));

	assert_true(b.len < sizeof(text));
	memcpy(text, b.p, b.len + 1);
	free(b.p);
	return text;
}

/* Stuffed dots in POP output: one per line that starts with '.'. */
static inline size_t
stuffed(const struct bytes *b)
{
	size_t	i, n = 0;

	for (i = 0; i < b->len; i++)
		if (b->p[i] == '.' && (i == 0 || b->p[i - 1] == '\n'))
			n++;
	return n;
}

/* Open the mboxo mailbox at path and UPDATE it, deleting del: MD_OK. */
static inline void
update_ok(const char *path, const unsigned char *del)
{
	struct mbox	*m = open_ok(path);

	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
}

/* ------------------------------------------------------------------ */
/* UIDs */

#define UIDLEN	(UID_MAX + 1)

/*
 * The UIDs of the mailbox at path, of format f: a malloc'd array of *n
 * strings, UIDLEN bytes apart.
 */
static inline char *
uids(const char *path, enum mbox_format f, size_t *n)
{
	struct mbox	*m = open_fmt(path, f);
	char		*v;
	size_t		 i;

	*n = mbox_ops.count(m);
	v = calloc(*n + 1, UIDLEN);
	assert_non_null(v);
	for (i = 0; i < *n; i++)
		snprintf(v + UIDLEN * i, UIDLEN, "%s", mbox_ops.uid(m, i));
	mbox_ops.close(m);
	return v;
}

/* Whether u has the shape of a hashed UID: 24 lower-case hex digits. */
static inline int
uid_hashed(const char *u)
{
	size_t	i;

	for (i = 0; u[i] != '\0'; i++)
		if (!((u[i] >= '0' && u[i] <= '9') ||
		    (u[i] >= 'a' && u[i] <= 'f')))
			return 0;
	return i == 24;
}

/* uids of an mboxo mailbox whose UIDs must all be hashed ones. */
static inline char *
hashed_uids(const char *path, size_t *n)
{
	char	*v = uids(path, MBOX_MBOXO, n);
	size_t	 i;

	for (i = 0; i < *n; i++)
		assert_true(uid_hashed(v + UIDLEN * i));
	return v;
}

static inline int
cmp_uid(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* No two of the n UIDs in v are the same (v ends up sorted). */
static inline void
assert_unique(char *v, size_t n)
{
	size_t	i;

	qsort(v, n, UIDLEN, cmp_uid);
	for (i = 1; i < n; i++)
		assert_string_not_equal(v + UIDLEN * (i - 1), v + UIDLEN * i);
}

#endif
