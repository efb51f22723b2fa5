/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Crash tests for UPDATE (journal.c), linked with objects built with
 * -DPOP3D_FAULTS: a child opens a generated mailbox, deletes messages in
 * some pattern and runs UPDATE while its N-th write boundary crashes it
 * (or fails with EIO or ENOSPC), for N = 1, 2, ... until one UPDATE
 * completes; the parent, as the next session, reopens (which recovers)
 * and checks the invariant: the file is, byte for byte, the mailbox
 * before or after the UPDATE followed by any mail appended meanwhile, and
 * no journal is left.  Each crash is then also made a power cut: the
 * files lose some or all of what was not yet synced ("Power loss" below)
 * and the same is checked.  CRASH_LONG=1 uses a bigger mailbox, tries
 * more power cuts per point and also crashes every recovery at every
 * point, not a sample; CRASH_POWER_SEED=N varies the random power cuts.
 */
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "faults.h"
#include "journal.h"
#include "maildrop.h"
#include "mbox.h"
#include "md5.h"
#include "params.h"

static char	tmpdir[64];
static int	longrun;
static long	points_tried;

struct mail {
	char	*p;
	size_t	 len;
	size_t	*off;		/* message i is [off[i], off[i + 1]) */
	size_t	 n;
};

enum pattern {
	PAT_ALT, PAT_FIRST, PAT_LAST, PAT_ALL, PAT_RUNS, PAT_BIG, PAT_TWINS,
	PAT_TWINS_END, PAT_NONE
};

static const char *const pattern_name[] = {
	"every second", "the first only", "the last only", "all",
	"runs of three from a quarter on", "the large ones",
	"the first half's copies and every fourth", "the last four", "none"
};

static const char during_mail[] = "From mda@example.org Sat Jan  6 "
    "12:00:00 2024\nSubject: delivered during the session\n\nhello\n\n";
static const char late_mail[] = "From mda@example.org Sat Jan  6 "
    "12:30:00 2024\nSubject: delivered after the crash\n\nworld\n\n";

/* ------------------------------------------------------------------ */
/* Mailboxes */

static unsigned long	rng = 12345;

static unsigned
rnd(unsigned n)
{
	rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(rng >> 33) % n;
}

static void
add(struct mail *mb, const char *p, size_t n, size_t *cap)
{
	if (mb->len + n > *cap) {
		*cap = (mb->len + n) * 2;
		assert_non_null(mb->p = realloc(mb->p, *cap));
	}
	memcpy(mb->p + mb->len, p, n);
	mb->len += n;
}

/*
 * n messages of 100 bytes to 8 kB, every 37th of 300 kB and, in a big
 * mailbox, every 97th of 1.6 MB: larger than a checkpoint's window, so
 * gaps both below and above it occur.
 */
static void
gen_mail(struct mail *mb, size_t n, int big)
{
	char	line[256];
	size_t	cap = 0, i, want, start;
	int	k, len;

	memset(mb, 0, sizeof(*mb));
	assert_non_null(mb->off = calloc(n + 1, sizeof(*mb->off)));
	mb->n = n;
	for (i = 0; i < n; i++) {
		start = mb->off[i] = mb->len;
		len = snprintf(line, sizeof(line), "From user%zu@example.org "
		    "Sat Jan  6 12:%02zu:00 2024\nSubject: message %zu\n"
		    "Message-ID: <%zu@test>\n\n", i, i % 60, i, i);
		add(mb, line, (size_t)len, &cap);
		want = 100 + rnd(8000);
		if (i % 37 == 5)
			want = 300 * 1024;
		if (big && i % 97 == 50)
			want = 1600 * 1024;
		while (mb->len - start < want) {
			len = 1 + (int)rnd(100);
			for (k = 0; k < len; k++)
				line[k] = (char)('a' + rnd(26));
			line[len++] = '\n';
			add(mb, line, (size_t)len, &cap);
		}
		add(mb, "\n", 1, &cap);
	}
	mb->off[n] = mb->len;
}

static int
deleted(enum pattern pat, const struct mail *mb, size_t i)
{
	switch (pat) {
	case PAT_ALT:
		return i % 2 == 1;
	case PAT_FIRST:
		return i == 0;
	case PAT_LAST:
		return i == mb->n - 1;
	case PAT_ALL:
		return 1;
	case PAT_RUNS:
		return i >= mb->n / 4 && i / 3 % 2 == 0;
	case PAT_BIG:
		return mb->off[i + 1] - mb->off[i] > 200 * 1024;
	case PAT_TWINS:
		return i % 3 == 0 ? i < mb->n / 2 : i % 4 == 1;
	case PAT_TWINS_END:
		return i + 4 >= mb->n;
	default:
		return 0;
	}
}

/*
 * A mailbox where every third message is the same (identical twins,
 * told apart by the UID file), the others unique, 50 KB each.
 */
static void
gen_twins(struct mail *mb, size_t n)
{
	char	line[256];
	size_t	cap = 0, i, start;
	int	len;

	memset(mb, 0, sizeof(*mb));
	assert_non_null(mb->off = calloc(n + 1, sizeof(*mb->off)));
	mb->n = n;
	for (i = 0; i < n; i++) {
		start = mb->off[i] = mb->len;
		if (i % 3 == 0)
			len = snprintf(line, sizeof(line), "From twin@example.org "
			    "Sat Jan  6 12:00:00 2024\nSubject: the same\n\n");
		else
			len = snprintf(line, sizeof(line), "From user%zu@example."
			    "org Sat Jan  6 12:00:00 2024\nSubject: %zu\n\n", i,
			    i);
		add(mb, line, (size_t)len, &cap);
		while (mb->len - start < 50 * 1024)
			add(mb, "the same line, again and again\n", 31, &cap);
		add(mb, "\n", 1, &cap);
	}
	mb->off[n] = mb->len;
}

/* The kept messages of mb, then extra. */
static char *
expect_after(const struct mail *mb, enum pattern pat, const char *extra,
    size_t *len)
{
	char	*p;
	size_t	 i, o = 0;

	assert_non_null(p = malloc(mb->len + strlen(extra) + 1));
	for (i = 0; i < mb->n; i++) {
		if (deleted(pat, mb, i))
			continue;
		memcpy(p + o, mb->p + mb->off[i], mb->off[i + 1] - mb->off[i]);
		o += mb->off[i + 1] - mb->off[i];
	}
	memcpy(p + o, extra, strlen(extra));
	*len = o + strlen(extra);
	return p;
}

/* ------------------------------------------------------------------ */
/* Files */

static void
write_file(const char *path, const void *p, size_t len)
{
	int	fd;

	/* over the old bytes, then cut: cheaper than freeing every block */
	assert_true((fd = open(path, O_WRONLY | O_CREAT, 0600)) != -1);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	assert_int_equal(ftruncate(fd, (off_t)len), 0);
	assert_int_equal(close(fd), 0);
}

/* Append as an MDA does; 0 or -1 (usable in a child). */
static int
append_file(const char *path, const char *s)
{
	int	fd, r;

	if ((fd = open(path, O_WRONLY | O_APPEND)) == -1)
		return -1;
	r = write(fd, s, strlen(s)) == (ssize_t)strlen(s) ? 0 : -1;
	(void)close(fd);
	return r;
}

static char *
read_file(const char *path, size_t *len)
{
	struct stat	 st;
	char		*p;
	int		 fd;

	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(p = malloc((size_t)st.st_size + 1));
	assert_int_equal(read(fd, p, (size_t)st.st_size), st.st_size);
	(void)close(fd);
	*len = (size_t)st.st_size;
	return p;
}

static void
paths(const char *name, char *path, char *jpath)
{
	(void)snprintf(path, PATH_MAX, "%s/%s", tmpdir, name);
	(void)snprintf(jpath, PATH_MAX, "%s/.%s.pop3d-journal", tmpdir, name);
}

static int
exists(const char *path)
{
	struct stat	st;

	return lstat(path, &st) == 0;
}

/* ------------------------------------------------------------------ */
/* Power loss */

/*
 * A crashing child (and one that completed, at its end) writes to
 * powerlog what a power cut at that instant could still undo
 * (fault_power_dump in journal.c): per file, its size at its last sync
 * and the bytes then of every page written or cut since; the journal's
 * creations and unlinks since the directory's last fsync, each unlinked
 * journal kept under a spare name.  On Linux a power cut leaves each
 * such page (or, on a disk that tears pages, each 512-byte sector) old
 * or new independently, the size old or new, and the directory as it was
 * after some prefix of those operations.  lose() picks one such outcome
 * and makes the files so; what pop3d wrote before its last sync of a file
 * stays, and so does mail an MDA delivered (it syncs its own writes).
 */
#define PW_PAGE		4096
#define PW_SECTOR	512
#define PW_MAX		8

enum loss {
	LOSS_ALL,		/* every unsynced page, size and name */
	LOSS_PAGES,		/* a random choice of them, by page */
	LOSS_SECTORS		/* the same by 512-byte sector */
};

static const char *const loss_name[] = {
	"all unsynced writes lost", "random pages lost",
	"random sectors lost"
};

struct lpage {
	uint64_t	 idx;
	uint64_t	 len;		/* its bytes below size0 */
	const char	*old;		/* in the log's text */
};

struct lfile {
	uint64_t	 id;
	char		 path[PATH_MAX];	/* where it is now */
	uint64_t	 size0;
	struct lpage	*pages;
	size_t		 npages;
};

struct lop {
	uint64_t	op;		/* 1 created, 2 unlinked */
	uint64_t	file;
	char		path[PATH_MAX];
	char		spare[PATH_MAX];
};

struct plog {
	char		*text;
	struct lfile	 files[PW_MAX];
	size_t		 nfiles;
	struct lop	 ops[PW_MAX];
	size_t		 nops;
};

/* The files as a crash left them, to start each loss from. */
struct snap {
	char	 path[2 * PW_MAX][PATH_MAX];
	char	*p[2 * PW_MAX];		/* NULL: did not exist */
	size_t	 len[2 * PW_MAX];
	size_t	 n;
};

/* A crash state and the losses still to try on it. */
struct cut {
	const char	*name;
	long		 point;
	struct plog	 lg;
	struct snap	 sn;
	int		 any;		/* something a power cut can undo */
};

/* Power cuts tried per crash state: costs a recovery each. */
#define CUTS		(longrun ? 5 : 2)

static char		powerlog[PATH_MAX];
static unsigned long	power_seed = 1;	/* CRASH_POWER_SEED */
static unsigned long	lrng;		/* the losses' own generator */
static long		power_cases;
static char		power_case[PATH_MAX + 200];	/* for a failure */

static unsigned
lrnd(unsigned n)
{
	lrng = lrng * 6364136223846793005ULL + 1442695040888963407ULL;
	return (unsigned)(lrng >> 33) % n;
}

static uint64_t
take64(const char **p, const char *end)
{
	uint64_t	v;

	assert_true(end - *p >= 8);
	memcpy(&v, *p, 8);
	*p += 8;
	return v;
}

static void
take_str(const char **p, const char *end, char *out)
{
	uint64_t	n = take64(p, end);

	assert_true(n < PATH_MAX && (uint64_t)(end - *p) >= n);
	memcpy(out, *p, n);
	out[n] = '\0';
	*p += n;
}

static void
plog_free(struct plog *lg)
{
	size_t	i;

	for (i = 0; i < lg->nfiles; i++)
		free(lg->files[i].pages);
	free(lg->text);
	memset(lg, 0, sizeof(*lg));
}

/* Read the log a child left (see fault_power_dump). */
static void
plog_read(struct plog *lg)
{
	const char	*p, *end;
	struct lfile	*f;
	size_t		 len, i, k;

	memset(lg, 0, sizeof(*lg));
	lg->text = read_file(powerlog, &len);
	p = lg->text;
	end = p + len;
	assert_true(len >= 8 && memcmp(p, "POP3DPWR", 8) == 0);
	p += 8;
	assert_true((lg->nfiles = take64(&p, end)) <= PW_MAX);
	for (i = 0; i < lg->nfiles; i++) {
		f = &lg->files[i];
		f->id = take64(&p, end);
		take_str(&p, end, f->path);
		f->size0 = take64(&p, end);
		f->npages = take64(&p, end);
		assert_true(f->npages <= len / 16);
		assert_non_null(f->pages = calloc(f->npages + 1,
		    sizeof(*f->pages)));
		for (k = 0; k < f->npages; k++) {
			f->pages[k].idx = take64(&p, end);
			f->pages[k].len = take64(&p, end);
			assert_true(f->pages[k].len <= PW_PAGE &&
			    f->pages[k].len <= (uint64_t)(end - p));
			f->pages[k].old = p;
			p += f->pages[k].len;
		}
	}
	assert_true((lg->nops = take64(&p, end)) <= PW_MAX);
	for (i = 0; i < lg->nops; i++) {
		lg->ops[i].op = take64(&p, end);
		lg->ops[i].file = take64(&p, end);
		take_str(&p, end, lg->ops[i].path);
		take_str(&p, end, lg->ops[i].spare);
	}
	assert_true(p == end);
}

static void
snap_add(struct snap *sn, const char *path)
{
	size_t	i = sn->n++;

	assert_true(i < 2 * PW_MAX);
	(void)snprintf(sn->path[i], sizeof(sn->path[i]), "%s", path);
	sn->p[i] = exists(path) ? read_file(path, &sn->len[i]) : NULL;
}

/* Keep the mailbox name's files and the log's spare journals. */
static void
snap_take(struct snap *sn, const struct plog *lg, const char *name)
{
	static const char *const sib[] = {
		".pop3d-journal", ".pop3d-uids", ".pop3d-index"
	};
	char	path[PATH_MAX];
	size_t	i;

	memset(sn, 0, sizeof(*sn));
	(void)snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	snap_add(sn, path);
	for (i = 0; i < sizeof(sib) / sizeof(sib[0]); i++) {
		(void)snprintf(path, sizeof(path), "%s/.%s%s", tmpdir, name,
		    sib[i]);
		snap_add(sn, path);
	}
	for (i = 0; i < lg->nops; i++)
		if (lg->ops[i].op == 2)
			snap_add(sn, lg->ops[i].spare);
}

/* Back to the crash state (the mailbox keeps its inode). */
static void
snap_put(const struct snap *sn)
{
	size_t	i;

	for (i = 0; i < sn->n; i++) {
		if (sn->p[i] != NULL)
			write_file(sn->path[i], sn->p[i], sn->len[i]);
		else
			(void)unlink(sn->path[i]);
	}
}

static void
snap_free(struct snap *sn)
{
	size_t	i;

	for (i = 0; i < sn->n; i++)
		free(sn->p[i]);
	sn->n = 0;
}

static const struct lpage *
lpage(const struct lfile *f, uint64_t idx)
{
	size_t	i;

	for (i = 0; i < f->npages; i++)
		if (f->pages[i].idx == idx)
			return &f->pages[i];
	return NULL;
}

/*
 * The file at path after the power cut: its size old or new, each
 * recorded page (or sector) old or new.  Bytes only the new size has,
 * where the old content is kept, read as zeros (a fresh extent).
 */
static void
lose_file(const struct lfile *f, const char *path, enum loss how)
{
	const struct lpage	*pg;
	char			*cur, *out;
	size_t			 clen, size, i, b, k, piece, at;
	int			 old;

	cur = read_file(path, &clen);
	size = how == LOSS_ALL || lrnd(2) ? (size_t)f->size0 : clen;
	piece = how == LOSS_SECTORS ? PW_SECTOR : PW_PAGE;
	assert_non_null(out = calloc(size + 1, 1));
	memcpy(out, cur, size < clen ? size : clen);
	for (i = 0; i < f->npages; i++) {
		pg = &f->pages[i];
		for (b = 0; b < PW_PAGE; b += piece) {
			old = how == LOSS_ALL || lrnd(2);
			for (k = b; k < b + piece; k++) {
				at = (size_t)pg->idx * PW_PAGE + k;
				if (at >= size || (!old && at < clen))
					continue;
				out[at] = '\0';
				if (k < pg->len)
					out[at] = pg->old[k];
			}
		}
	}
	/* a cut kept every page it destroyed */
	for (at = clen; at < size; at += PW_PAGE - at % PW_PAGE)
		assert_non_null(lpage(f, at / PW_PAGE));
	write_file(path, out, size);
	free(cur);
	free(out);
}

/*
 * Apply one loss to the crash state: the directory operations after a
 * random prefix (none kept for LOSS_ALL) are undone, latest first, then
 * each file that is still there loses pages.
 */
static void
lose(const struct plog *lg, enum loss how)
{
	const char	*where[PW_MAX];
	const struct lop *o;
	size_t		 i, j, keep;

	for (i = 0; i < lg->nfiles; i++)
		where[i] = lg->files[i].path;
	keep = how == LOSS_ALL ? 0 : lrnd((unsigned)lg->nops + 1);
	for (i = lg->nops; i-- > 0;) {
		o = &lg->ops[i];
		for (j = 0; j < lg->nfiles && lg->files[j].id != o->file; j++)
			;
		assert_true(j < lg->nfiles);
		if (o->op == 1 && i >= keep) {
			assert_int_equal(unlink(o->path), 0);
			where[j] = NULL;
		} else if (o->op == 2 && i >= keep) {
			assert_int_equal(rename(o->spare, o->path), 0);
			where[j] = o->path;
		} else if (o->op == 2) {
			assert_int_equal(unlink(o->spare), 0);
			where[j] = NULL;
		}
	}
	for (i = 0; i < lg->nfiles; i++)
		if (where[i] != NULL)
			lose_file(&lg->files[i], where[i], how);
}

/* Take the state a crash left, with its log. */
static void
cut_take(struct cut *c, const char *name, long point)
{
	size_t	i;

	c->name = name;
	c->point = point;
	plog_read(&c->lg);
	snap_take(&c->sn, &c->lg, name);
	c->any = c->lg.nops > 0;
	for (i = 0; i < c->lg.nfiles; i++)
		c->any |= c->lg.files[i].npages > 0;
}

static void
cut_free(struct cut *c)
{
	plog_free(&c->lg);
	snap_free(&c->sn);
}

/*
 * The v-th power cut to try on c, if any: the files are put back as the
 * crash left them and lose what it picks.  Every unsynced write lost
 * first, then random choices (more with CRASH_LONG).  Nothing kept by a
 * power cut is the crash itself, checked already.  Each choice follows
 * from the seed, the name, the point and v, so a rerun with the same
 * CRASH_POWER_SEED repeats it.
 */
static int
cut_next(struct cut *c, int v)
{
	enum loss	how;
	unsigned long	h = 5381;
	const char	*s;

	if (!c->any || v >= CUTS)
		return 0;
	how = v == 0 ? LOSS_ALL : (v + c->point) % 2 ? LOSS_PAGES :
	    LOSS_SECTORS;
	for (s = c->name; *s != '\0'; s++)
		h = h * 33 + (unsigned char)*s;
	lrng = power_seed * 1000003UL ^ h * 7919UL ^
	    (unsigned long)c->point * 104729UL ^ (unsigned long)v;
	(void)snprintf(power_case, sizeof(power_case), "%s, crash point "
	    "%ld, power cut %d: %s (CRASH_POWER_SEED=%lu)", c->name,
	    c->point, v, loss_name[how], power_seed);
	snap_put(&c->sn);
	lose(&c->lg, how);
	power_cases++;
	return 1;
}

/* ------------------------------------------------------------------ */
/* Sessions */

static void
crash_conf(struct conf *c)
{
	conf_defaults(c);
	/* a child killed mid-UPDATE leaves a dotlock for 5 minutes */
	c->mbox_locks[0] = LOCK_FCNTL;
	c->nlocks = 1;
	c->lock_timeout = 2;
}

/*
 * In a child: with the fault variable var set to n, open, let an MDA
 * deliver during_mail if during, delete by pat and UPDATE.  Exits 99 at a
 * crash, else the md_status of UPDATE, or 50 + the open's failure.
 */
static int
child_update(const char *path, const struct mail *mb, enum pattern pat,
    int during, const char *var, long n, int torn)
{
	struct conf	 c;
	struct mbox	*m;
	unsigned char	*del;
	char		 num[32];
	pid_t		 pid;
	size_t		 i;
	int		 st, status;

	if ((pid = fork()) == 0) {
		(void)snprintf(num, sizeof(num), "%ld", n);
		(void)setenv(var, num, 1);
		/* a crash (or the end) leaves what a power cut could undo */
		if (strcmp(var, "POP3D_FAULT_AT") == 0)
			(void)setenv("POP3D_POWERLOG", powerlog, 1);
		if (torn)
			(void)setenv("POP3D_FAULT_TORN", "1", 1);
		crash_conf(&c);
		if ((st = mbox_open(path, &c, &m)) != MD_OK)
			_exit(50 + st);
		if (mbox_ops.count(m) != mb->n ||
		    (during && append_file(path, during_mail) == -1))
			_exit(60);
		if ((del = calloc(mb->n, 1)) == NULL)
			_exit(61);
		for (i = 0; i < mb->n; i++)
			del[i] = (unsigned char)deleted(pat, mb, i);
		st = mbox_ops.update(m, del);
		mbox_ops.close(m);
		fault_power_dump();
		_exit(st);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/*
 * In a child, open (and so recover) with a crash at fault point n; with
 * power, leave the power-loss log.
 */
static int
child_open(const char *path, long n, int power)
{
	struct conf	 c;
	struct mbox	*m;
	char		 num[32];
	pid_t		 pid;
	int		 st, status;

	if ((pid = fork()) == 0) {
		(void)snprintf(num, sizeof(num), "%ld", n);
		(void)setenv("POP3D_FAULT_AT", num, 1);
		if (power)
			(void)setenv("POP3D_POWERLOG", powerlog, 1);
		crash_conf(&c);
		if ((st = mbox_open(path, &c, &m)) != MD_OK)
			_exit(50 + st);
		mbox_ops.close(m);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

/* Open, in a child, as the next session would; the md_status. */
static int
open_status(const char *path)
{
	int	st;

	st = child_open(path, 0, 0);
	return st >= 50 ? st - 50 : st;
}

/*
 * The invariant, after the next open: before or after, byte for byte
 * (each already followed by the late mail when there is some), and no
 * journal.  Returns 0 for before, 1 for after.
 */
static int
check(const char *path, const char *jpath, const char *before,
    size_t blen, const char *after, size_t alen)
{
	char	*got;
	size_t	 len;
	int	 which;

	assert_int_equal(open_status(path), MD_OK);
	assert_false(exists(jpath));
	got = read_file(path, &len);
	if (len == blen && memcmp(got, before, len) == 0)
		which = 0;
	else if (len == alen && memcmp(got, after, len) == 0)
		which = 1;
	else {
		fail_msg("%s: %zu bytes, neither the %zu before nor the %zu "
		    "after (%s)", path, len, blen, alen, power_case);
		which = -1;
	}
	free(got);
	return which;
}

/* ------------------------------------------------------------------ */
/* The crash loop */

struct run {
	const struct mail	*mb;
	enum pattern		 pat;
	int			 during;	/* MDA delivery in session */
	int			 late;		/* and after the crash */
	int			 torn;		/* the crashing write is torn */
	int			 nested;	/* crash every nth recovery */
};

/* What the next check stands for, printed when it fails. */
static void
case_plain(const char *name, long n)
{
	(void)snprintf(power_case, sizeof(power_case), "%s, crash point %ld, "
	    "no power cut", name, n);
}

/*
 * Crash the recovery of the mailbox left at a crash at each point; with
 * power > 0, each crashed recovery also loses a random choice of what it
 * had not synced, and the next one starts from there.
 */
static void
nested_crashes(const char *path, int power)
{
	struct plog	lg;
	size_t		base = strlen(power_case);
	long		m;
	int		st;

	for (m = 1; (st = child_open(path, m, power)) == 99; m++) {
		points_tried++;
		assert_true(m < 100000);
		if (power == 0)
			continue;
		lrng = power_seed * 1000003UL ^ (unsigned long)m * 7919UL ^
		    (unsigned long)power * 104729UL ^ base;
		(void)snprintf(power_case + base, sizeof(power_case) - base,
		    "; then recovery crash point %ld, %s", m,
		    loss_name[m % 2 ? LOSS_PAGES : LOSS_SECTORS]);
		plog_read(&lg);
		lose(&lg, m % 2 ? LOSS_PAGES : LOSS_SECTORS);
		plog_free(&lg);
		power_cases++;
	}
	assert_int_equal(st, 0);
}

static void
crash_loop(const char *name, const struct run *r)
{
	char		 path[PATH_MAX], jpath[PATH_MAX], *before, *after;
	char		*done;
	size_t		 blen, alen, dlen;
	long		 n, tries = 0, cuts = power_cases;
	int		 st, v, seen[2] = { 0, 0 };
	char		 extra[sizeof(during_mail) + sizeof(late_mail)];
	struct cut	 c;

	paths(name, path, jpath);
	(void)snprintf(extra, sizeof(extra), "%s%s", r->during ?
	    during_mail : "", r->late ? late_mail : "");
	after = expect_after(r->mb, r->pat, extra, &alen);
	assert_non_null(before = malloc(r->mb->len + sizeof(extra)));
	memcpy(before, r->mb->p, r->mb->len);
	memcpy(before + r->mb->len, extra, strlen(extra));
	blen = r->mb->len + strlen(extra);
	for (n = 1;; n++) {
		write_file(path, r->mb->p, r->mb->len);
		st = child_update(path, r->mb, r->pat, r->during,
		    "POP3D_FAULT_AT", n, r->torn);
		if (st == MD_OK)
			break;
		assert_int_equal(st, 99);
		tries++;
		cut_take(&c, name, n);
		case_plain(name, n);
		if (r->late)
			assert_int_equal(append_file(path, late_mail), 0);
		if (r->nested > 0 && n % r->nested == 0 && exists(jpath))
			nested_crashes(path, 0);
		seen[check(path, jpath, before, blen, after, alen)]++;
		for (v = 0; cut_next(&c, v); v++) {
			if (r->late)
				assert_int_equal(append_file(path, late_mail),
				    0);
			/* a power cut during recovery too, one per sample */
			if (r->nested > 0 && n % r->nested == 0 &&
			    v == n / r->nested % CUTS && exists(jpath))
				nested_crashes(path, v + 1);
			seen[check(path, jpath, before, blen, after, alen)]++;
		}
		cut_free(&c);
	}
	/* the UPDATE that ran to the end, without the late mail */
	done = expect_after(r->mb, r->pat, r->during ? during_mail : "",
	    &dlen);
	cut_take(&c, name, n);
	case_plain(name, n);
	assert_int_equal(check(path, jpath, before, blen, done, dlen), 1);
	/* a power cut after it can bring the journal back, nothing more */
	for (v = 0; cut_next(&c, v); v++) {
		if (r->late)
			assert_int_equal(append_file(path, late_mail), 0);
		assert_int_equal(check(path, jpath, before, blen, after, alen),
		    1);
	}
	cut_free(&c);
	power_case[0] = '\0';
	points_tried += tries;
	printf("  %s: deleting %s%s%s%s: %ld crash points, %ld power cuts "
	    "(%d before, %d after)\n", name, pattern_name[r->pat], r->during ?
	    ", mail delivered in the session" : "", r->late ? " and after the "
	    "crash" : "", r->torn ? ", torn writes" : "", tries,
	    power_cases - cuts, seen[0], seen[1]);
	assert_true(r->pat == PAT_LAST || r->pat == PAT_ALL || tries >= 8);
	free(before);
	free(after);
	free(done);
}

static struct mail	small, large, twins;
static char		*twin_text;	/* one more copy of twins' twin */

static void
test_crash_patterns(void **state)
{
	static const enum pattern	pats[] = {
		PAT_ALT, PAT_FIRST, PAT_LAST, PAT_ALL, PAT_RUNS, PAT_BIG
	};
	struct run	r;
	char		name[32];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.mb = &large;
		r.pat = pats[i];
		r.during = i % 2 == 0;
		r.late = i % 3 != 1;
		r.nested = longrun ? 2 : 9;
		(void)snprintf(name, sizeof(name), "pattern%zu", i);
		crash_loop(name, &r);
	}
}

static void
test_crash_torn(void **state)
{
	struct run	r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.mb = &small;
	r.pat = PAT_ALT;
	r.late = 1;
	r.torn = 1;
	r.nested = longrun ? 1 : 4;
	crash_loop("torn", &r);
}

/*
 * EIO and ENOSPC at each write boundary: UPDATE reports MD_TEMP; with no
 * journal left the file is before or after (after only when the failure
 * came once it was complete: the cut's fsync); with one, the next open
 * finishes.
 */
static void
fail_loop(const char *var)
{
	char	 path[PATH_MAX], jpath[PATH_MAX], *after, *got;
	size_t	 alen, len;
	long	 n, tries = 0;
	int	 st, passed = 0;

	paths(var, path, jpath);
	after = expect_after(&small, PAT_RUNS, "", &alen);
	for (n = 1;; n++) {
		write_file(path, small.p, small.len);
		st = child_update(path, &small, PAT_RUNS, 0, var, n, 0);
		/*
		 * Done when two in a row pass: the point failed can be one
		 * the UPDATE gets round (ENOSPC at the journal's fallocate:
		 * a smaller window), so one pass is not yet the end.
		 */
		if (st == MD_OK) {
			assert_int_equal(check(path, jpath, small.p, small.len,
			    after, alen), 1);
			if (++passed == 2)
				break;
			continue;
		}
		passed = 0;
		assert_int_equal(st, MD_TEMP);
		tries++;
		if (!exists(jpath)) {
			got = read_file(path, &len);
			assert_true((len == small.len &&
			    memcmp(got, small.p, len) == 0) || (len == alen &&
			    memcmp(got, after, len) == 0));
			free(got);
		}
		(void)check(path, jpath, small.p, small.len, after, alen);
	}
	points_tried += tries;
	printf("  %s: %ld failing write points\n", var, tries);
	assert_true(tries >= 8);
	free(after);
}

/*
 * An MDA that takes none of our locks (flock alone, or none) appends a
 * message at each write boundary of an UPDATE in turn: the UPDATE ends
 * with the mailbox after it and that message at the end, every time, in
 * the plain copy and in the cut-only plan.
 */
static void
append_loop(enum pattern pat)
{
	char	 path[PATH_MAX], jpath[PATH_MAX], *after, *plain, *got;
	size_t	 alen, plen, len;
	long	 n;

	paths("unlocked", path, jpath);
	after = expect_after(&small, pat, during_mail, &alen);
	plain = expect_after(&small, pat, "", &plen);
	(void)setenv("POP3D_FAULT_APPEND_PATH", path, 1);
	(void)setenv("POP3D_FAULT_APPEND_DATA", during_mail, 1);
	for (n = 1;; n++) {
		write_file(path, small.p, small.len);
		assert_int_equal(child_update(path, &small, pat, 0,
		    "POP3D_FAULT_APPEND", n, 0), MD_OK);
		assert_false(exists(jpath));
		got = read_file(path, &len);
		if (len == plen && memcmp(got, plain, len) == 0) {
			free(got);
			break;	/* past the last boundary: no append */
		}
		if (len != alen || memcmp(got, after, len) != 0)
			fail_msg("append at write boundary %ld lost or "
			    "damaged mail", n);
		free(got);
	}
	(void)unsetenv("POP3D_FAULT_APPEND_PATH");
	(void)unsetenv("POP3D_FAULT_APPEND_DATA");
	printf("  unlocked appends: %ld write boundaries\n", n - 1);
	assert_true(n > 2);
	free(after);
	free(plain);
}

static void
test_append_unlocked(void **state)
{
	(void)state;
	append_loop(PAT_ALT);
	append_loop(PAT_LAST);
}

static void
test_eio(void **state)
{
	(void)state;
	fail_loop("POP3D_FAULT_EIO");
}

static void
test_enospc(void **state)
{
	(void)state;
	fail_loop("POP3D_FAULT_ENOSPC");
}

/* ------------------------------------------------------------------ */
/* Journals that are not what they should be */

/* Leave a journal behind: crash at the k-th point of deleting every second. */
static void
half_done(const char *path, long k)
{
	write_file(path, small.p, small.len);
	assert_int_equal(child_update(path, &small, PAT_ALT, 0,
	    "POP3D_FAULT_AT", k, 0), 99);
}

static void
test_journal_garbage(void **state)
{
	char	path[PATH_MAX], jpath[PATH_MAX], junk[5000], *got;
	size_t	len, i;

	(void)state;
	paths("garbage", path, jpath);
	for (i = 0; i < sizeof(junk); i++)
		junk[i] = (char)rnd(256);
	memcpy(junk, "POP3DJNL", 8);
	junk[8] = 3;		/* this version, so the checksums decide */
	write_file(path, small.p, small.len);
	write_file(jpath, junk, sizeof(junk));
	/* a plan that does not check out was never applied: removed */
	assert_int_equal(open_status(path), MD_OK);
	assert_false(exists(jpath));
	got = read_file(path, &len);
	assert_true(len == small.len && memcmp(got, small.p, len) == 0);
	free(got);
}

/*
 * The journal half_done left, its header rewritten by f, which may read
 * the plan from fd.
 */
static void
rewrite_header(const char *jpath, void (*f)(unsigned char *, int))
{
	unsigned char	h[128];
	int		fd;

	assert_true((fd = open(jpath, O_RDWR)) >= 0);
	assert_int_equal(pread(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	assert_int_equal(h[8], 3);
	f(h, fd);
	assert_int_equal(pwrite(fd, h, sizeof(h), 0), (ssize_t)sizeof(h));
	assert_int_equal(close(fd), 0);
}

/*
 * The plan as pop3d's development builds before this format wrote it:
 * the runs alone (no gaps' hashes; half_done's plan has no UID file),
 * under a checksum of their own.  The checkpoints stay where they are:
 * for a plan this small both layouts put them at 4096.  So the journal
 * is well-formed in its own version, and only the version refuses it.
 */
static void
runs_only(unsigned char *h, int fd)
{
	unsigned char	*runs;
	size_t		 n = (size_t)h[56] | (size_t)h[57] << 8;

	assert_true(memcmp(h + 88, "\0\0\0\0\0\0\0\0", 8) == 0);
	assert_true(n > 0 && 128 + 24 * n + 8 < 4096);
	assert_non_null(runs = malloc(16 * n));
	assert_int_equal(pread(fd, runs, 16 * n, 128), (ssize_t)(16 * n));
	md5_digest(runs, 16 * n, h + 72);
	free(runs);
}

/* Version 2's header: as 3's, the plan without the gaps' hashes. */
static void
as_v2(unsigned char *h, int fd)
{
	runs_only(h, fd);
	h[8] = 2;
	md5_digest(h, 96, h + 96);
}

/* Version 1's header: no UID file length, the checksum at 88. */
static void
as_v1(unsigned char *h, int fd)
{
	runs_only(h, fd);
	h[8] = 1;
	memset(h + 88, 0, 24);
	md5_digest(h, 88, h + 88);
}

static void
as_v9(unsigned char *h, int fd)
{
	(void)fd;
	h[8] = 9;
}

/*
 * The journal at jpath was set aside, not obeyed nor removed: it is
 * gone from its name and its bytes wait under "jpath.foreign-...".
 * Removes that copy.
 */
static void	assert_set_aside(const char *jpath);

/*
 * The next open of path goes on without its journal, which it sets
 * aside, and leaves the mailbox as it is: len bytes at was.
 */
static void
assert_served_as_is(const char *path, const char *jpath, const char *was,
    size_t len)
{
	char	*got;
	size_t	 glen;

	assert_int_equal(open_status(path), MD_OK);
	assert_set_aside(jpath);
	got = read_file(path, &glen);
	assert_true(glen == len && memcmp(got, was, len) == 0);
	free(got);
}

static void
assert_set_aside(const char *jpath)
{
	char	pattern[PATH_MAX + 16];
	glob_t	g;

	assert_false(exists(jpath));
	(void)snprintf(pattern, sizeof(pattern), "%s.foreign-*", jpath);
	assert_int_equal(glob(pattern, 0, NULL, &g), 0);
	assert_int_equal(g.gl_pathc, 1);
	assert_int_equal(unlink(g.gl_pathv[0]), 0);
	globfree(&g);
}

/*
 * A journal of another version, well-formed in its own (the development
 * builds' versions 1 and 2) or not known at all (9), is never obeyed:
 * it is set aside, never taken for one whose writing was cut short, and
 * the login goes on with the mailbox as it is.  Then an UPDATE works as
 * on any mailbox.
 */
static void
test_journal_versions(void **state)
{
	static void	(*const as[])(unsigned char *, int) = {
		as_v1, as_v2, as_v9
	};
	char		path[PATH_MAX], jpath[PATH_MAX], *mid, *after, *got;
	size_t		mlen, alen, len, i;

	(void)state;
	paths("versions", path, jpath);
	after = expect_after(&small, PAT_ALT, "", &alen);
	for (i = 0; i < sizeof(as) / sizeof(as[0]); i++) {
		half_done(path, 8);
		mid = read_file(path, &mlen);
		rewrite_header(jpath, as[i]);
		assert_served_as_is(path, jpath, mid, mlen);
		free(mid);
	}
	write_file(path, small.p, small.len);
	assert_int_equal(child_update(path, &small, PAT_ALT, 0,
	    "POP3D_FAULT_NONE", 0, 0), MD_OK);
	assert_false(exists(jpath));
	got = read_file(path, &len);
	assert_true(len == alen && memcmp(got, after, len) == 0);
	free(got);
	free(after);
}

static void
test_journal_other_inode(void **state)
{
	char	path[PATH_MAX], jpath[PATH_MAX], copy[PATH_MAX + 8], *a;
	size_t	alen;

	(void)state;
	paths("inode", path, jpath);
	half_done(path, 8);
	assert_true(exists(jpath));
	/* the mailbox replaced by a copy (another inode): hands off */
	(void)snprintf(copy, sizeof(copy), "%s.new", path);
	a = read_file(path, &alen);
	write_file(copy, a, alen);
	assert_int_equal(rename(copy, path), 0);
	assert_served_as_is(path, jpath, a, alen);
	free(a);
}

static void
test_journal_mailbox_shrunk(void **state)
{
	char		path[PATH_MAX], jpath[PATH_MAX];
	struct stat	st;

	(void)state;
	paths("shrunk", path, jpath);
	half_done(path, 8);
	assert_int_equal(truncate(path, 1000), 0);
	assert_int_equal(open_status(path), MD_OK);
	assert_set_aside(jpath);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 1000);
}

/* The ways a journal that pop3d did not make for this user may look. */
enum planted {
	PL_OWNER,	/* another user's file (needs root to make) */
	PL_LINK,	/* a second name of a real journal */
	PL_MODE,	/* writable by the group */
	PL_SYMLINK,	/* a symbolic link to a real journal */
	PL_FIFO,
	PL_END
};

/* Turn the journal at jpath into kind k; other is a spare name. */
static void
plant(enum planted k, const char *jpath, const char *other)
{
	switch (k) {
	case PL_OWNER:
		assert_int_equal(chown(jpath, 4242, 4242), 0);
		break;
	case PL_LINK:
		assert_int_equal(link(jpath, other), 0);
		break;
	case PL_MODE:
		assert_int_equal(chmod(jpath, 0620), 0);
		break;
	case PL_SYMLINK:
		assert_int_equal(rename(jpath, other), 0);
		assert_int_equal(symlink(other, jpath), 0);
		break;
	case PL_FIFO:
		assert_int_equal(unlink(jpath), 0);
		assert_int_equal(mkfifo(jpath, 0600), 0);
		break;
	case PL_END:
		break;
	}
}

/*
 * A journal that pop3d did not make for this user is never obeyed, even
 * one that is a real journal under another name, and never holds the
 * open up: it is set aside, and the mailbox is served as it is.
 */
static void
test_journal_foreign(void **state)
{
	char		 path[PATH_MAX], jpath[PATH_MAX], other[PATH_MAX + 8];
	char		*mid;
	size_t		 mlen;
	enum planted	 k;

	(void)state;
	paths("foreign", path, jpath);
	(void)snprintf(other, sizeof(other), "%s.real", jpath);
	for (k = 0; k < PL_END; k++) {
		if (k == PL_OWNER && geteuid() != 0)
			continue;
		half_done(path, 8);
		mid = read_file(path, &mlen);
		plant(k, jpath, other);
		assert_served_as_is(path, jpath, mid, mlen);
		(void)unlink(other);
		free(mid);
	}
}

/*
 * Another program rewrote the mailbox after the crash (a mail reader
 * marking messages): the plan's messages are no longer where it says,
 * so it is not redone over the reader's bytes.
 */
static void
test_journal_mailbox_rewritten(void **state)
{
	char	path[PATH_MAX], jpath[PATH_MAX], *mid, *p;
	size_t	mlen;
	int	fd;

	(void)state;
	paths("rewritten", path, jpath);
	half_done(path, 8);
	mid = read_file(path, &mlen);
	/* the second half's messages lose their From_ lines, same size */
	for (p = mid + mlen / 2; (p = memmem(p, (size_t)(mid + mlen - p),
	    "\nFrom ", 6)) != NULL; p++)
		p[1] = 'X';
	assert_true((fd = open(path, O_WRONLY)) != -1);
	assert_int_equal(pwrite(fd, mid, mlen, 0), (ssize_t)mlen);
	assert_int_equal(close(fd), 0);
	assert_served_as_is(path, jpath, mid, mlen);
	free(mid);
}

/*
 * What a mail reader does to the file between the crash and the next
 * open, near its end, where the crashed copy had not written yet
 * (message n - 4 is kept, n - 3 deleted, n - 2 kept).  It gets the file
 * as the crash left it and its length; returns the new length.
 */
enum reader_change {
	RC_FLAG_IN_PLACE,	/* a header edited, same length */
	RC_STATUS_ADDED,	/* mutt's sync: a Status: line added */
	RC_MERGED,		/* the deleted message now ends the one before */
};

static size_t
reader_change(enum reader_change how, char **file, size_t len)
{
	char	 subj[64], *p, *at;
	size_t	 k = small.n - 4, n;

	at = *file + small.off[k];
	assert_memory_equal(at, "From user", 9);
	n = (size_t)snprintf(subj, sizeof(subj), "Subject: message %zu\n", k);
	assert_non_null(p = memmem(at, len - small.off[k], subj, n));
	switch (how) {
	case RC_FLAG_IN_PLACE:
		memcpy(p, "Subject: massage", 16);
		return len;
	case RC_STATUS_ADDED:
		n += (size_t)(p - *file);	/* where the line goes */
		assert_non_null(*file = realloc(*file, len + 11));
		p = *file + n;
		memmove(p + 11, p, len - (size_t)(p - *file));
		memcpy(p, "Status: RO\n", 11);
		return len + 11;
	default:
		at = *file + small.off[k + 1];
		assert_memory_equal(at, "From user", 9);
		at[0] = 'f';
		return len;
	}
}

/*
 * A mail reader changed the file after the crash, before the next open.
 * An edit of the same length where the copy has not been is carried
 * into the finished UPDATE; a sync that moved the messages, or a deleted
 * message whose bytes now belong to another, makes the journal set
 * aside and the reader's file served as it is.
 */
static void
test_journal_reader_changes(void **state)
{
	static const enum reader_change	 hows[] = {
		RC_FLAG_IN_PLACE, RC_STATUS_ADDED, RC_MERGED
	};
	char				 path[PATH_MAX], jpath[PATH_MAX];
	char				 subj[64], *mid, *after, *got;
	size_t				 i, mlen, alen, len;

	(void)state;
	paths("reader", path, jpath);
	for (i = 0; i < sizeof(hows) / sizeof(hows[0]); i++) {
		print_message("reader change %zu\n", i);
		half_done(path, 8);
		mid = read_file(path, &mlen);
		mlen = reader_change(hows[i], &mid, mlen);
		write_file(path, mid, mlen);
		if (hows[i] != RC_FLAG_IN_PLACE) {
			assert_served_as_is(path, jpath, mid, mlen);
			free(mid);
			continue;
		}
		/* the edit made to the message the UPDATE keeps */
		after = expect_after(&small, PAT_ALT, "", &alen);
		(void)snprintf(subj, sizeof(subj), "Subject: message %zu\n",
		    small.n - 4);
		assert_non_null(got = memmem(after, alen, subj, strlen(subj)));
		memcpy(got, "Subject: massage", 16);
		assert_int_equal(open_status(path), MD_OK);
		assert_false(exists(jpath));
		got = read_file(path, &len);
		assert_true(len == alen && memcmp(got, after, len) == 0);
		free(got);
		free(after);
		free(mid);
	}
}

/*
 * Fill the file system of dir with a file until leave bytes are free
 * (about: the file system counts in pages).
 */
static void
fill_to(const char *dir, uint64_t leave)
{
	static char	 zero[65536];
	struct statvfs	 sv;
	char		 path[PATH_MAX + 8];
	uint64_t	 free, n;
	int		 fd;

	(void)snprintf(path, sizeof(path), "%s/filler", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0600)) !=
	    -1);
	assert_int_equal(statvfs(dir, &sv), 0);
	free = (uint64_t)sv.f_bavail * sv.f_frsize;
	for (n = free > leave ? free - leave : 0; n > 0; ) {
		ssize_t w = write(fd, zero, n < sizeof(zero) ? n : sizeof(zero));

		if (w <= 0)
			break;
		n -= (uint64_t)w;
	}
	assert_int_equal(close(fd), 0);
}

/* The mailbox at path holds len bytes at want, and it has no journal. */
static void
assert_mailbox(const char *path, const char *jpath, const char *want,
    size_t len)
{
	char	*got;
	size_t	 glen;

	assert_false(exists(jpath));
	got = read_file(path, &glen);
	assert_true(glen == len && memcmp(got, want, len) == 0);
	free(got);
}

/*
 * A full file system (a tmpfs of 4 MiB, or a user over quota).  With
 * no room for a journal at all, an UPDATE that must move mail changes
 * nothing and says MD_TEMP, while one that only cuts the end (the last
 * messages deleted) needs none and works.  With a few pages free, the
 * journal takes smaller windows and more checkpoints, and the UPDATE
 * works, crashed at any point or not.  Needs mount(2) (root in a mount
 * namespace); skipped otherwise.
 */
static void
test_full_disk(void **state)
{
	char	 dir[PATH_MAX], path[PATH_MAX + 8], jpath[PATH_MAX + 32];
	char	 filler[PATH_MAX + 8], keep[sizeof(powerlog)], *after, *last;
	size_t	 alen, llen;
	long	 n;
	int	 st;

	(void)state;
	(void)snprintf(dir, sizeof(dir), "%s/tmpfs", tmpdir);
	assert_int_equal(mkdir(dir, 0700), 0);
	if (mount("pop3d-test", dir, "tmpfs", 0, "size=4m") == -1) {
		printf("  skipped: cannot mount a tmpfs (%s)\n",
		    strerror(errno));
		skip();
	}
	(void)snprintf(path, sizeof(path), "%s/mbox", dir);
	(void)snprintf(jpath, sizeof(jpath), "%s/.mbox.pop3d-journal", dir);
	(void)snprintf(filler, sizeof(filler), "%s/filler", dir);
	after = expect_after(&small, PAT_ALT, "", &alen);
	last = expect_after(&small, PAT_LAST, "", &llen);

	/* no room at all */
	write_file(path, small.p, small.len);
	fill_to(dir, 0);
	assert_int_equal(child_update(path, &small, PAT_ALT, 0,
	    "POP3D_FAULT_NONE", 0, 0), MD_TEMP);
	assert_mailbox(path, jpath, small.p, small.len);
	assert_int_equal(child_update(path, &small, PAT_LAST, 0,
	    "POP3D_FAULT_NONE", 0, 0), MD_OK);
	assert_mailbox(path, jpath, last, llen);
	assert_int_equal(unlink(filler), 0);

	/*
	 * A few pages: every crash point of the UPDATE, then none.  No
	 * power-loss records: they are kept by links across file systems.
	 */
	memcpy(keep, powerlog, sizeof(keep));
	powerlog[0] = '\0';
	for (n = 1;; n++) {
		write_file(path, small.p, small.len);
		fill_to(dir, 5 * 4096);
		st = child_update(path, &small, PAT_ALT, 0, "POP3D_FAULT_AT",
		    n, 0);
		if (st != 99)
			break;
		(void)check(path, jpath, small.p, small.len, after, alen);
		assert_int_equal(unlink(filler), 0);
	}
	memcpy(powerlog, keep, sizeof(keep));
	printf("  with 20 kB free: %ld crash points\n", n - 1);
	assert_int_equal(st, MD_OK);
	assert_mailbox(path, jpath, after, alen);
	assert_true(n > 10);
	(void)unlink(filler);
	free(after);
	free(last);
	(void)umount(dir);
}

/* ------------------------------------------------------------------ */
/* Identical twins: their UIDs across a crash */

/* The UIDs of the mailbox at path (opened here, so recovered). */
static size_t
uid_list(const char *path, char (*u)[UID_MAX + 1], size_t max)
{
	struct conf	 c;
	struct mbox	*m;
	size_t		 i, n;

	crash_conf(&c);
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	n = mbox_ops.count(m);
	assert_true(n <= max);
	for (i = 0; i < n; i++)
		(void)snprintf(u[i], sizeof(u[i]), "%s", mbox_ops.uid(m, i));
	mbox_ops.close(m);
	return n;
}

static int
uid_in(const char *u, const char (*list)[UID_MAX + 1], size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(u, list[i]) == 0)
			return 1;
	return 0;
}

/* The UIDs before (ub, nb) and after (ua, na) an UPDATE of twins. */
struct twin_uids {
	char	b[64][UID_MAX + 1];
	char	a[64][UID_MAX + 1];
	size_t	nb;
	size_t	na;
};

/*
 * The next open finds the twins before or after (which one it returns),
 * each with the UIDs it had; a copy delivered then gets one never seen.
 */
static int
twins_check(const char *path, const char *jpath, const char *after,
    size_t alen, const struct twin_uids *u)
{
	char	got[65][UID_MAX + 1];
	size_t	n, i;
	int	which;

	which = check(path, jpath, twins.p, twins.len, after, alen);
	n = uid_list(path, got, 64);
	assert_int_equal(n, which ? u->na : u->nb);
	for (i = 0; i < n; i++)
		assert_string_equal(got[i], which ? u->a[i] : u->b[i]);
	assert_int_equal(append_file(path, twin_text), 0);
	assert_int_equal(uid_list(path, got, 65), n + 1);
	assert_false(uid_in(got[n], u->b, u->nb));
	return which;
}

/*
 * The UID file travels in the journal: whatever the crash point (and
 * power cut), the survivors keep the UIDs they had (or, before, every
 * copy does), and a copy delivered later never gets the UID of one
 * deleted.
 */
static void
twins_loop(const char *name, enum pattern pat)
{
	char			 path[PATH_MAX], jpath[PATH_MAX];
	char			 side[PATH_MAX + 16], *after;
	struct twin_uids	*u;
	struct cut		 c;
	size_t			 alen, i;
	long			 k, tries = 0, cuts = power_cases;
	int			 st, v;

	paths(name, path, jpath);
	(void)snprintf(side, sizeof(side), "%s/.%s.pop3d-uids", tmpdir, name);
	assert_non_null(u = calloc(1, sizeof(*u)));
	write_file(path, twins.p, twins.len);
	u->nb = uid_list(path, u->b, 64);
	for (i = 0; i < u->nb; i++)
		if (!deleted(pat, &twins, i))
			memcpy(u->a[u->na++], u->b[i], sizeof(u->b[i]));
	after = expect_after(&twins, pat, "", &alen);
	for (k = 1;; k++) {
		write_file(path, twins.p, twins.len);
		(void)unlink(side);
		st = child_update(path, &twins, pat, 0, "POP3D_FAULT_AT", k, 0);
		assert_true(st == MD_OK || st == 99);
		cut_take(&c, name, k);
		case_plain(name, k);
		(void)twins_check(path, jpath, after, alen, u);
		for (v = 0; cut_next(&c, v); v++)
			assert_true(twins_check(path, jpath, after, alen, u) ==
			    1 || st != MD_OK);
		cut_free(&c);
		if (st == MD_OK)
			break;
		tries++;
	}
	power_case[0] = '\0';
	points_tried += tries;
	printf("  %s: deleting %s: %ld crash points, %ld power cuts, UIDs "
	    "checked\n", name, pattern_name[pat], tries, power_cases - cuts);
	assert_true(tries >= 8);
	free(after);
	free(u);
}

static void
test_crash_twins(void **state)
{
	(void)state;
	twins_loop("twins", PAT_TWINS);
	twins_loop("twins-end", PAT_TWINS_END);
}

static void
test_report(void **state)
{
	(void)state;
	printf("crash points tried: %ld; power-loss cases tried: %ld "
	    "(CRASH_POWER_SEED=%lu)\n", points_tried, power_cases,
	    power_seed);
	assert_true(points_tried > 100);
	assert_true(power_cases > 100);
}

/* ------------------------------------------------------------------ */

static int
setup(void **state)
{
	const char	*seed;

	(void)state;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_crash.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	longrun = getenv("CRASH_LONG") != NULL;
	(void)snprintf(powerlog, sizeof(powerlog), "%s/powerlog", tmpdir);
	if ((seed = getenv("CRASH_POWER_SEED")) != NULL)
		power_seed = strtoul(seed, NULL, 10);
	gen_mail(&small, 200, 0);
	gen_mail(&large, longrun ? 600 : 300, 1);
	gen_twins(&twins, 30);
	twin_text = strndup(twins.p, twins.off[1]);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[200];

	(void)state;
	(void)snprintf(cmd, sizeof(cmd), "umount %s/tmpfs 2>/dev/null; "
	    "rm -rf %s", tmpdir, tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_crash_patterns),
		cmocka_unit_test(test_crash_torn),
		cmocka_unit_test(test_crash_twins),
		cmocka_unit_test(test_append_unlocked),
		cmocka_unit_test(test_eio),
		cmocka_unit_test(test_enospc),
		cmocka_unit_test(test_journal_garbage),
		cmocka_unit_test(test_journal_versions),
		cmocka_unit_test(test_journal_other_inode),
		cmocka_unit_test(test_journal_mailbox_shrunk),
		cmocka_unit_test(test_journal_foreign),
		cmocka_unit_test(test_journal_mailbox_rewritten),
		cmocka_unit_test(test_journal_reader_changes),
		cmocka_unit_test(test_full_disk),
		cmocka_unit_test(test_report),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
