/*
 * Unit tests for the mbox features that real mail systems need: the
 * session lock file and flock, dotlocks raced by several processes,
 * rewrites by other programs, the folder-data message, mboxcl2, UIDs of
 * identical twins across deletions (the sidecar file) and X-UIDL.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mbox_testutil.h"
#include "conf.h"
#include "lock.h"
#include "log.h"
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"

static int	fileno_;

#define FROM1	"From alice@example.org Mon Jan  1 00:00:00 2024"
#define FROM2	"From bob@example.org Tue Jan  2 00:00:00 2024"
#define MSG_A	FROM1 "\nSubject: a\nMessage-ID: <1@x>\n\nhello\n\n"
#define MSG_B	FROM2 "\nSubject: b\n\nhello b\n\n"
#define MSG_C	FROM2 "\nSubject: c\n\nsee\n\n"

/* ------------------------------------------------------------------ */
/* Helpers */

/* A fresh file name; the last 8 stay valid. */
static char *
newpath(void)
{
	static char	path[8][128];
	char		*p = path[fileno_ % 8];

	snprintf(p, sizeof(path[0]), "%s/mbox%d", tmpdir, ++fileno_);
	return p;
}

static char *
mkfile(const char *s)
{
	char	*path = newpath();

	write_file(path, s, strlen(s));
	return path;
}

static char *
read_all(const char *path)
{
	static char	buf[65536];
	ssize_t		n;
	int		fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf) - 1);
	assert_true(n >= 0);
	buf[n] = '\0';
	close(fd);
	return buf;
}

static void
append(const char *path, const char *s)
{
	int	fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

/* Overwrite one byte at off, keeping the size: a rewrite in place. */
static void
poke(const char *path, off_t off, char c)
{
	struct timespec	ts = { 0, 20 * 1000000L };
	int		fd = open(path, O_WRONLY);

	/* past the file system's timestamp tick */
	nanosleep(&ts, NULL);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &c, 1, off), 1);
	close(fd);
}

static void
cfg(struct conf *c, enum mbox_format f)
{
	conf_defaults(c);
	c->mbox_format = f;
	c->lock_timeout = 1;
}

static struct mbox *
open_fmt(const char *path, enum mbox_format f)
{
	struct conf	 c;
	struct mbox	*m = NULL;

	cfg(&c, f);
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	return m;
}

static struct mbox *
open_ok(const char *path)
{
	return open_fmt(path, MBOX_MBOXO);
}

static int
open_status(const char *path, const struct conf *c)
{
	struct mbox	*m = NULL;
	int		 st;

	if ((st = mbox_open(path, c, &m)) == MD_OK)
		mbox_ops.close(m);
	return st;
}

/* RETR of idx, as the POP bytes (stuffed), NUL-terminated. */
static char *
retr(struct mbox *m, size_t idx)
{
	static char	out[65536];
	size_t		o = 0;
	ssize_t		n;

	assert_int_equal(mbox_ops.msg_open(m, idx, -1), MD_OK);
	while ((n = mbox_ops.msg_read(m, out + o, sizeof(out) - 1 - o)) > 0)
		o += (size_t)n;
	assert_int_equal(n, 0);
	out[o] = '\0';
	return out;
}

/* The UIDs of the mailbox at path, as a malloc'd array of n strings. */
#define UIDLEN	(UID_MAX + 1)
static char *
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

static void
update_ok(const char *path, const unsigned char *del)
{
	struct mbox	*m = open_ok(path);

	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
}

static int
in_list(const char *u, const char *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(u, v + UIDLEN * i) == 0)
			return 1;
	return 0;
}

static void
sibling(const char *path, const char *suffix, char *out)
{
	assert_int_equal(lock_sibling(path, suffix, out, PATH_MAX), 0);
}

/* ------------------------------------------------------------------ */
/* Locks */

static void
t_session_lock_file(void **state)
{
	const char	*path = mkfile(MSG_A);
	char		 name[PATH_MAX];
	struct mbox	*m, *m2 = NULL;
	struct conf	 c;
	struct flock	 fl;
	int		 fd;

	(void)state;
	cfg(&c, MBOX_MBOXO);
	sibling(path, ".pop3d-session", name);
	m = open_ok(path);
	assert_int_equal(access(name, F_OK), 0);
	assert_int_equal(mbox_open(path, &c, &m2), MD_INUSE);
	assert_null(m2);
	/* it is an OFD lock on that file, seen by other processes too */
	fd = open(name, O_RDWR);
	assert_true(fd >= 0);
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	assert_int_equal(fcntl(fd, F_OFD_GETLK, &fl), 0);
	assert_int_equal(fl.l_type, F_WRLCK);
	close(fd);
	/* and no flock on the mailbox: an MDA using flock is not held up */
	fd = open(path, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	mbox_ops.close(m);
	/* the file stays (removing it would race) and is free again */
	assert_int_equal(access(name, F_OK), 0);
	m = open_ok(path);
	mbox_ops.close(m);
}

static void
t_flock_delivery(void **state)
{
	const char	*path = mkfile(MSG_A MSG_B);
	struct timespec	 t0, t1;
	struct conf	 c;
	struct mbox	*m;
	int		 fd;
	static const unsigned char	del[] = { 1, 0 };

	(void)state;
	cfg(&c, MBOX_MBOXO);
	c.mbox_locks[0] = LOCK_FLOCK;
	c.mbox_locks[1] = LOCK_DOTLOCK;
	c.mbox_locks[2] = LOCK_FCNTL;
	c.nlocks = 3;
	/* an MDA holding flock: bounded wait, then [SYS/TEMP] */
	fd = open(path, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(open_status(path, &c), MD_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 4);
	close(fd);
	/* released: open, and UPDATE under all three locks */
	m = NULL;
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	/* between scan and UPDATE the flock is not held */
	fd = open(path, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), 0);
	close(fd);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	assert_string_equal(read_all(path), MSG_B);
}

/*
 * Where the session lock file can't be made (a directory the user can't
 * write): flock on the mailbox instead, unless flock is a delivery lock.
 */
static void
t_session_lock_fallback(void **state)
{
	char		 dir[128], path[PATH_MAX];
	struct conf	 c;
	pid_t		 pid;
	int		 st, r;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/mbox", dir);
	write_file(path, MSG_A, strlen(MSG_A));
	if ((pid = fork()) == 0) {
		struct mbox	*m = NULL, *m2 = NULL;

		if (geteuid() == 0) {
			if (chown(path, 65534, 65534) == -1 ||
			    setgid(65534) == -1 || setuid(65534) == -1)
				_exit(2);
		} else if (chmod(dir, 0555) == -1)
			_exit(2);
		cfg(&c, MBOX_MBOXO);
		c.mbox_locks[0] = LOCK_FCNTL;
		c.nlocks = 1;
		r = 0;
		if (mbox_open(path, &c, &m) != MD_OK)
			r |= 4;
		else if (mbox_open(path, &c, &m2) != MD_INUSE)
			r |= 8;
		if (m != NULL)
			mbox_ops.close(m);
		/* flock as a delivery lock leaves no session lock: refuse */
		c.mbox_locks[1] = LOCK_FLOCK;
		c.nlocks = 2;
		if (open_status(path, &c) != MD_TEMP)
			r |= 16;
		_exit(r);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	chmod(dir, 0755);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	unlink(path);
	rmdir(dir);
}

/* A session lock file planted by someone else is not trusted. */
static void
t_session_lock_foreign(void **state)
{
	const char	*path = mkfile(MSG_A);
	char		 name[PATH_MAX], p2[PATH_MAX];
	struct mbox	*m;
	struct conf	 c;
	int		 fd;

	(void)state;
	if (geteuid() != 0)
		skip();
	cfg(&c, MBOX_MBOXO);
	snprintf(p2, sizeof(p2), "%s", path);
	sibling(p2, ".pop3d-session", name);
	write_file(name, "", 0);
	assert_int_equal(chown(name, 65534, 65534), 0);
	/* its owner holds it: we don't care, flock on the mailbox instead */
	fd = open(name, O_RDWR);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	m = open_ok(p2);
	assert_int_equal(open_status(p2, &c), MD_INUSE);
	mbox_ops.close(m);
	close(fd);
	/* a symlink is not followed */
	unlink(name);
	assert_int_equal(symlink("/etc/passwd", name), 0);
	m = open_ok(p2);
	mbox_ops.close(m);
}

/*
 * Several processes race for the dotlock (the link-count method): at no
 * time do two hold it.
 */
static void
t_dotlock_race(void **state)
{
	const char	*path = mkfile(MSG_A);
	char		 inside[PATH_MAX];
	pid_t		 pid[4];
	int		 i, k, st, fd, bad;

	(void)state;
	snprintf(inside, sizeof(inside), "%s.inside", path);
	for (i = 0; i < 4; i++) {
		if ((pid[i] = fork()) != 0)
			continue;
		struct lockset	lk;

		memset(&lk, 0, sizeof(lk));
		lk.path = path;
		snprintf(lk.lockpath, sizeof(lk.lockpath), "%s.lock", path);
		lk.fd = -1;
		lk.methods[0] = LOCK_DOTLOCK;
		lk.nmethods = 1;
		lk.timeout = 20;
		bad = 0;
		for (k = 0; k < 40; k++) {
			if (lock_take(&lk) != MD_OK)
				_exit(3);
			fd = open(inside, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (fd == -1)
				bad = 1;
			usleep(500);
			close(fd);
			unlink(inside);
			lock_release(&lk);
		}
		_exit(bad);
	}
	for (i = 0; i < 4; i++) {
		assert_int_equal(waitpid(pid[i], &st, 0), pid[i]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	snprintf(inside, sizeof(inside), "%s.lock", path);
	assert_int_equal(access(inside, F_OK), -1);
}

/* ------------------------------------------------------------------ */
/* Rewrites by other programs */

static void
t_rewrite_same_size(void **state)
{
	static const unsigned char	del[] = { 1, 0, 0 };
	const char			*path = mkfile(MSG_A MSG_B MSG_C);
	struct mbox			*m;
	char				 before[4096];

	(void)state;
	m = open_ok(path);
	/* "Subject: b" becomes "Subject: B": same size, new mtime */
	poke(path, strlen(MSG_A FROM2 "\nSubject: "), 'B');
	snprintf(before, sizeof(before), "%s", read_all(path));
	assert_int_equal(mbox_ops.msg_open(m, 1, -1), MD_CHANGED);
	assert_int_equal(mbox_ops.msg_open(m, 0, 0), MD_CHANGED);
	assert_int_equal(mbox_ops.update(m, del), MD_CHANGED);
	mbox_ops.close(m);
	assert_string_equal(read_all(path), before);
}

/*
 * With mail appended as well, the size grew: the header fingerprint
 * still catches a changed header, message by message.
 */
static void
t_rewrite_and_append(void **state)
{
	const char	*path = mkfile(MSG_A MSG_B MSG_C);
	struct mbox	*m;

	(void)state;
	m = open_ok(path);
	poke(path, strlen(MSG_A FROM2 "\nSubject: "), 'B');
	append(path, MSG_A);
	assert_string_equal(retr(m, 0), "Subject: a\r\nMessage-ID: <1@x>\r\n"
	    "\r\nhello\r\n");
	assert_int_equal(mbox_ops.msg_open(m, 1, -1), MD_CHANGED);
	(void)retr(m, 2);
	mbox_ops.close(m);
	/* a body whose length changed moves the next From_ line */
	path = mkfile(MSG_A MSG_B MSG_C);
	m = open_ok(path);
	write_file(path, MSG_A FROM2 "\nSubject: b\n\nhello bb\n\n" MSG_C
	    MSG_A, strlen(MSG_A FROM2 "\nSubject: b\n\nhello bb\n\n" MSG_C
	    MSG_A));
	(void)retr(m, 0);
	assert_int_equal(mbox_ops.msg_open(m, 1, -1), MD_CHANGED);
	mbox_ops.close(m);
}

/* ------------------------------------------------------------------ */
/* The folder-data message */

#define FOLDER_DATA	FROM1 "\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n" \
	"Subject: DON'T DELETE THIS MESSAGE -- FOLDER INTERNAL DATA\n" \
	"X-IMAP: 1700000000 0000000003\nStatus: RO\n\n" \
	"This text is part of the internal format of your mail folder.\n\n"

static void
t_folder_data(void **state)
{
	static const unsigned char	del[] = { 1, 0 };
	const char			*path = mkfile(FOLDER_DATA MSG_B MSG_C);
	char				*u, *u2;
	size_t				 n;
	struct mbox			*m;

	(void)state;
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr(m, 0), "Subject: b\r\n\r\nhello b\r\n");
	mbox_ops.close(m);
	/* same UIDs as without it */
	u = uids(path, MBOX_MBOXO, &n);
	u2 = uids(mkfile(MSG_B MSG_C), MBOX_MBOXO, &n);
	assert_memory_equal(u, u2, 2 * UIDLEN);
	/* never deleted: UPDATE keeps it in place */
	update_ok(path, del);
	assert_string_equal(read_all(path), FOLDER_DATA MSG_C);
	free(u);
	free(u2);
	/* not first, or without X-IMAP: an ordinary message */
	m = open_ok(mkfile(MSG_B FOLDER_DATA));
	assert_int_equal(mbox_ops.count(m), 2);
	mbox_ops.close(m);
	m = open_ok(mkfile(FROM1 "\nSubject: DON'T DELETE THIS MESSAGE -- "
	    "FOLDER INTERNAL DATA\n\nx\n\n" MSG_B));
	assert_int_equal(mbox_ops.count(m), 2);
	mbox_ops.close(m);
	/* a subject that only starts the same */
	m = open_ok(mkfile(FROM1 "\nSubject: DON'T DELETE THIS MESSAGE -- "
	    "FOLDER INTERNAL DATA!\nX-IMAP: 1 2\n\nx\n\n" MSG_B));
	assert_int_equal(mbox_ops.count(m), 2);
	mbox_ops.close(m);
}

/*
 * A delivered message that only looks like the folder-data message is
 * served while it is not first, and stays served when an UPDATE makes it
 * first: the sidecar remembers it.  Deleting it drops that note.
 */
#define LOOKALIKE	FROM2 "\nSubject: DON'T DELETE THIS MESSAGE -- " \
	"FOLDER INTERNAL DATA\nX-IMAP: 1 2\n\nsent by anyone\n\n"

static void
t_folder_data_promoted(void **state)
{
	static const unsigned char	del_b[] = { 1, 0, 0 };
	static const unsigned char	del_c[] = { 0, 1 };
	static const unsigned char	del_look[] = { 1, 0 };
	const char			*path = mkfile(MSG_B LOOKALIKE MSG_C);
	char				 side[PATH_MAX];
	char				 keep[PATH_MAX + 8];
	struct mbox			*m;
	size_t				 n;
	char				*u0, *u1;

	(void)state;
	sibling(path, ".pop3d-uids", side);
	u0 = uids(path, MBOX_MBOXO, &n);
	assert_int_equal(n, 3);
	update_ok(path, del_b);
	assert_string_equal(read_all(path), LOOKALIKE MSG_C);
	assert_non_null(strstr(read_all(side), "\nshown "));
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr(m, 0), "Subject: DON'T DELETE THIS MESSAGE "
	    "-- FOLDER INTERNAL DATA\r\nX-IMAP: 1 2\r\n\r\nsent by anyone\r\n");
	mbox_ops.close(m);
	u1 = uids(path, MBOX_MBOXO, &n);
	assert_memory_equal(u1, u0 + UIDLEN, 2 * UIDLEN);
	/* it stays first: still shown */
	update_ok(path, del_c);
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 1);
	mbox_ops.close(m);
	/* without the note it would be hidden: the note is what works */
	append(path, MSG_B);
	snprintf(keep, sizeof(keep), "%s.saved", side);
	assert_int_equal(rename(side, keep), 0);
	free(u1);
	u1 = uids(path, MBOX_MBOXO, &n);
	assert_int_equal(n, 1);
	assert_int_equal(rename(keep, side), 0);
	free(u1);
	u1 = uids(path, MBOX_MBOXO, &n);
	assert_int_equal(n, 2);
	/* deleted at last: the note goes with it */
	update_ok(path, del_look);
	assert_null(strstr(read_all(side), "shown "));
	m = open_ok(path);
	assert_int_equal(mbox_ops.count(m), 1);
	assert_string_equal(retr(m, 0), "Subject: b\r\n\r\nhello b\r\n");
	mbox_ops.close(m);
	free(u0);
	free(u1);
}

/* ------------------------------------------------------------------ */
/* mboxcl2 */

#define CL_FROM	"From body@example.org Mon Jan  1 00:00:09 2024"
#define FA	"From a@x.org Mon Jan  1 00:00:00 2024"
#define FB	"From b@x.org Mon Jan  1 00:00:00 2024"
#define FC	"From c@x.org Mon Jan  1 00:00:00 2024"
#define FD	"From d@x.org Mon Jan  1 00:00:00 2024"
#define CL_BODY	"first\n\n" CL_FROM "\n.dot\n"
#define CL_MSG	FROM1 "\nSubject: cl\nContent-Length: 59\n\n" CL_BODY "\n"

static void
t_mboxcl2(void **state)
{
	struct mbox	*m;
	const char	*path;

	(void)state;
	assert_int_equal(strlen(CL_BODY), 59);
	path = mkfile(CL_MSG MSG_B CL_MSG);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 3);
	assert_string_equal(retr(m, 0), "Subject: cl\r\nContent-Length: 59\r\n"
	    "\r\nfirst\r\n\r\n" CL_FROM "\r\n..dot\r\n");
	assert_int_equal(mbox_ops.size(m, 0), strlen("Subject: cl\r\n"
	    "Content-Length: 59\r\n\r\nfirst\r\n\r\n" CL_FROM "\r\n"
	    ".dot\r\n"));
	assert_string_equal(retr(m, 1), "Subject: b\r\n\r\nhello b\r\n");
	(void)retr(m, 2);
	mbox_ops.close(m);
	/* the same file as mboxo: the From_ line in the body splits it */
	m = open_fmt(path, MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 5);
	mbox_ops.close(m);
	/* the last message, no separator after it */
	path = mkfile(MSG_B FROM1 "\nContent-Length: 50\n\nx\n\n" CL_FROM
	    "\n");
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr(m, 1), "Content-Length: 50\r\n\r\nx\r\n\r\n"
	    CL_FROM "\r\n");
	mbox_ops.close(m);
	m = open_fmt(path, MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 3);
	mbox_ops.close(m);
}

static void
t_mboxcl2_fallback(void **state)
{
	static const char	*bad[] = {
	    "Content-Length: 58\n",		/* not at a boundary */
	    "Content-Length: 9999\n",		/* past the end */
	    "Content-Length: x61\n",		/* not a number */
	    "Content-Length: 59\nContent-Length: 59\n",	/* twice */
	    "Content-Length: 99999999999999999999999\n",
	    "",					/* missing */
	};
	char		 data[1024];
	struct mbox	*m;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(data, sizeof(data), "%s\nSubject: cl\n%s\n%s\n%s",
		    FROM1, bad[i], CL_BODY, MSG_B);
		m = open_fmt(mkfile(data), MBOX_MBOXCL2);
		/* scanned for From_ lines: the body's one splits it */
		assert_int_equal(mbox_ops.count(m), 3);
		mbox_ops.close(m);
	}
	/* an empty body */
	m = open_fmt(mkfile(FROM1 "\nContent-Length: 0\n\n\n" MSG_B),
	    MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 2);
	assert_string_equal(retr(m, 0), "Content-Length: 0\r\n\r\n");
	mbox_ops.close(m);
}

/*
 * One wrong Content-Length makes the scan read every message of the
 * mailbox by its From_ lines, and the sidecar keeps it so once an UPDATE
 * has moved messages: otherwise the wrong length could end at a new
 * boundary and swallow the next kept message.
 */
static void
t_mboxcl2_wrong_sticks(void **state)
{
	static const unsigned char	del_b[] = { 0, 0, 0, 1, 0, 0 };
	static const unsigned char	del_all[] = { 1, 1, 1, 1, 1 };
	struct mbox			*m;
	const char			*path;
	char				 side[PATH_MAX], keep[PATH_MAX + 8];
	char				*u0, *u1;
	size_t				 n;

	(void)state;
	/* a's length covers b's From_ line: wrong, but right once b is gone */
	path = mkfile(CL_MSG FA "\nContent-Length: 38\n\n" FB "\nX\n\n"
	    FC "\n\n" FD "\n\n");
	sibling(path, ".pop3d-uids", side);
	/* the right one is split by its body's From_ line too */
	u0 = uids(path, MBOX_MBOXCL2, &n);
	assert_int_equal(n, 6);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.update(m, del_b), MD_OK);
	mbox_ops.close(m);
	assert_non_null(strstr(read_all(side), "\ncontent-length ignored\n"));
	/* the kept five, the same UIDs */
	u1 = uids(path, MBOX_MBOXCL2, &n);
	assert_int_equal(n, 5);
	assert_memory_equal(u1, u0, 3 * UIDLEN);
	assert_memory_equal(u1 + 3 * UIDLEN, u0 + 4 * UIDLEN, 2 * UIDLEN);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_string_equal(retr(m, 2), "Content-Length: 38\r\n");
	mbox_ops.close(m);
	free(u0);
	free(u1);
	/* without the note, a would now swallow c */
	snprintf(keep, sizeof(keep), "%s.saved", side);
	assert_int_equal(rename(side, keep), 0);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 3);
	mbox_ops.close(m);
	assert_int_equal(rename(keep, side), 0);
	/* all gone: new mail is read afresh, by its lengths */
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.update(m, del_all), MD_OK);
	mbox_ops.close(m);
	assert_null(strstr(read_all(side), "content-length"));
	append(path, CL_MSG);
	m = open_fmt(path, MBOX_MBOXCL2);
	assert_int_equal(mbox_ops.count(m), 1);
	mbox_ops.close(m);
}

/* ------------------------------------------------------------------ */
/* UIDs */

/*
 * Copies of one message keep their UIDs when another copy goes, across
 * reopenings, and a UID once given out is never given to a later copy.
 */
static void
t_uid_twins(void **state)
{
	static const unsigned char	d_first[] = { 1, 0, 0, 0 };
	static const unsigned char	d_b[] = { 0, 1, 0, 0 };
	static const unsigned char	d_all[] = { 1, 1, 0, 1 };
	const char			*path = mkfile(MSG_A MSG_A MSG_B MSG_A);
	char				 side[PATH_MAX];
	char				*u0, *u1, *u2, *u3;
	size_t				 n0, n1, n2, n3;

	(void)state;
	sibling(path, ".pop3d-uids", side);
	u0 = uids(path, MBOX_MBOXO, &n0);
	assert_int_equal(n0, 4);
	update_ok(path, d_first);
	assert_int_equal(access(side, F_OK), 0);
	u1 = uids(path, MBOX_MBOXO, &n1);
	assert_int_equal(n1, 3);
	/* A(2nd), B, A(3rd) keep theirs */
	assert_string_equal(u1, u0 + UIDLEN);
	assert_string_equal(u1 + UIDLEN, u0 + 2 * UIDLEN);
	assert_string_equal(u1 + 2 * UIDLEN, u0 + 3 * UIDLEN);
	/* a new copy: a UID never seen */
	append(path, MSG_A);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 4);
	assert_memory_equal(u2, u1, 3 * UIDLEN);
	assert_false(in_list(u2 + 3 * UIDLEN, u0, n0));
	/* deleting a message with no twin leaves the UID file alone */
	unlink(side);
	update_ok(path, d_b);
	assert_int_equal(access(side, F_OK), -1);
	free(u2);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 3);
	/* the file is gone, so ordinals count again from the file... */
	update_ok(path, d_first);
	/* ...but from here on they are kept */
	free(u2);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 2);
	append(path, MSG_A);
	append(path, MSG_A);
	u3 = uids(path, MBOX_MBOXO, &n3);
	assert_int_equal(n3, 4);
	assert_memory_equal(u3, u2, 2 * UIDLEN);
	assert_false(in_list(u3 + 2 * UIDLEN, u2, 2));
	assert_false(in_list(u3 + 3 * UIDLEN, u2, 2));
	assert_string_not_equal(u3 + 2 * UIDLEN, u3 + 3 * UIDLEN);
	/* all copies but one go; a new one still gets a new UID */
	update_ok(path, d_all);
	free(u2);
	u2 = uids(path, MBOX_MBOXO, &n2);
	assert_int_equal(n2, 1);
	assert_string_equal(u2, u3 + 2 * UIDLEN);
	append(path, MSG_A);
	free(u1);
	u1 = uids(path, MBOX_MBOXO, &n1);
	assert_int_equal(n1, 2);
	assert_false(in_list(u1 + UIDLEN, u3, n3));
	free(u0);
	free(u1);
	free(u2);
	free(u3);
}

/* The fingerprint of MSG_A as the UID file writes it (32 hex digits). */
static void
fp_of_a(char *hex)
{
	static const unsigned char	del[] = { 1, 0 };
	const char			*path = mkfile(MSG_A MSG_A);
	char				 side[PATH_MAX], *t;

	update_ok(path, del);
	sibling(path, ".pop3d-uids", side);
	t = read_all(side);
	assert_int_equal(strncmp(t, "pop3d-uids 2\n", 13), 0);
	memcpy(hex, t + 13, 32);
	hex[32] = '\0';
	/* hw 2, the second copy (ordinal 1) left */
	assert_string_equal(t + 45, " 2 1\n");
}

/* tmpl with every '@' replaced by fp. */
static void
subst(char *out, size_t len, const char *tmpl, const char *fp)
{
	size_t	o = 0;

	for (; *tmpl != '\0'; tmpl++) {
		if (*tmpl == '@') {
			assert_true(o + 32 < len);
			memcpy(out + o, fp, 32);
			o += 32;
		} else {
			assert_true(o + 1 < len);
			out[o++] = *tmpl;
		}
	}
	out[o] = '\0';
}

/* A bad or foreign UID file is ignored, never trusted. */
static void
t_uid_file_hostile(void **state)
{
	static const char	*bad[] = {
	    "",
	    "pop3d-uids 2\nzz",
	    "pop3d-uids 2\n@ 3 1 5\n",		/* ordinal >= hw */
	    "pop3d-uids 2\n@ 3 2 1\n",		/* not increasing */
	    "pop3d-uids 2\n@ 99999999999 1\n",
	    "pop3d-uids 2\n@ 3 1 2\n@ 3 1 2\n",	/* twice */
	    "pop3d-uids 3\n@ 3 1 2\n",		/* a later version */
	    "pop3d-uids 1\n@ 3 1 2\n",		/* the old fingerprints' */
	    "pop3d-uids 2\n@ 3 1 2",			/* no newline */
	    "pop3d-uids 2\n@ 3 1 2 \n",
	    "pop3d-uids 2\n@ 3 -1 2\n",
	};
	const char	*path = mkfile(MSG_A MSG_A MSG_B);
	char		 side[PATH_MAX], fp[33], text[512], *u0, *u;
	size_t		 i, n;

	(void)state;
	fp_of_a(fp);
	sibling(path, ".pop3d-uids", side);
	u0 = uids(path, MBOX_MBOXO, &n);
	/* a valid file is obeyed: the first copy has ordinal 1 now */
	subst(text, sizeof(text), "pop3d-uids 2\n@ 3 1 2\n", fp);
	write_file(side, text, strlen(text));
	u = uids(path, MBOX_MBOXO, &n);
	assert_string_equal(u, u0 + UIDLEN);
	assert_string_not_equal(u + UIDLEN, u0);
	assert_string_not_equal(u + UIDLEN, u0 + UIDLEN);
	free(u);
	/* someone else's is not */
	if (geteuid() == 0) {
		assert_int_equal(chown(side, 65534, 65534), 0);
		u = uids(path, MBOX_MBOXO, &n);
		assert_memory_equal(u, u0, 3 * UIDLEN);
		free(u);
		unlink(side);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		subst(text, sizeof(text), bad[i], fp);
		write_file(side, text, strlen(text));
		u = uids(path, MBOX_MBOXO, &n);
		assert_int_equal(n, 3);
		assert_memory_equal(u, u0, 3 * UIDLEN);
		free(u);
	}
	free(u0);
}

/*
 * Three messages as an MTA delivers them, and what a mail reader sharing
 * the file may do to them; READER_HDR(n) is message n's header block.
 */
#define DELIVERED(n, extra, from) \
	from "\n" \
	"Return-Path: <sender@example.org>\n" \
	"Received: from mx.example.org by mail.example.net; " \
	"Mon, 1 Jan 2024 00:00:0" #n " +0000\n" \
	"Date: Mon, 1 Jan 2024 00:00:0" #n " +0000\n" \
	"From: Sender <sender@example.org>\n" \
	"To: user@example.net\n" \
	"Subject: message " #n "\n" \
	"Message-ID: <" #n "@example.org>\n" \
	extra \
	"\n" \
	"Body of message " #n ",\nsecond line.\n"
#define FROM_N(n)	"From sender@example.org Mon Jan  1 00:00:0" #n " 2024"

/*
 * UIDs must survive what local mail readers do to a shared mailbox, or
 * every leave-on-server client downloads everything again: headers of
 * their own (Thunderbird's X-Mozilla-*, Evolution's X-Evolution, mutt's
 * and c-client's Status, Dovecot's X-UID and X-Keywords), their own From_
 * lines (Thunderbird writes "From - date"), one blank line between
 * messages instead of two, and the whole file turned to CRLF.
 */
static void
t_uid_reader_changes(void **state)
{
	static const char	base[] = DELIVERED(1, "", FROM_N(1)) "\n"
	    DELIVERED(2, "", FROM_N(2)) "\n" DELIVERED(3, "", FROM_N(3))
	    "\n";
	static const char	*changed[] = {
	    DELIVERED(1, "X-Mozilla-Status: 0001\nX-Mozilla-Status2: "
	    "00000000\nX-Mozilla-Keys:                          \n",
	    FROM_N(1)) "\n" DELIVERED(2, "X-Mozilla-Status: 0005\n"
	    "X-Mozilla-Status2: 00000000\n", FROM_N(2)) "\n"
	    DELIVERED(3, "", FROM_N(3)) "\n",
	    DELIVERED(1, "X-Evolution: 00000001-0010\n", FROM_N(1)) "\n"
	    DELIVERED(2, "X-Evolution: 00000002-0000\n", FROM_N(2)) "\n"
	    DELIVERED(3, "X-Evolution: 00000003-0010\n", FROM_N(3)) "\n",
	    DELIVERED(1, "Status: RO\nX-Status: A\n", FROM_N(1)) "\n"
	    DELIVERED(2, "Status: O\n", FROM_N(2)) "\n"
	    DELIVERED(3, "X-UID: 5\nX-Keywords: $Label1\n", FROM_N(3)) "\n",
	    DELIVERED(1, "", "From - Mon Jan  1 00:05:00 2024") "\n"
	    DELIVERED(2, "", "From - Mon Jan  1 00:05:00 2024") "\n"
	    DELIVERED(3, "", "From - Mon Jan  1 00:05:00 2024") "\n",
	    DELIVERED(1, "", FROM_N(1)) "\n\n" DELIVERED(2, "", FROM_N(2))
	    "\n\n" DELIVERED(3, "", FROM_N(3)) "\n\n",
	};
	char		*u0, *u, *crlf;
	const char	*p;
	size_t		 i, n, k;

	(void)state;
	u0 = uids(mkfile(base), MBOX_MBOXO, &n);
	assert_int_equal(n, 3);
	for (i = 0; i < sizeof(changed) / sizeof(changed[0]); i++) {
		u = uids(mkfile(changed[i]), MBOX_MBOXO, &n);
		assert_int_equal(n, 3);
		if (memcmp(u, u0, 3 * UIDLEN) != 0)
			fail_msg("change %zu moved a UID", i);
		free(u);
	}
	assert_non_null(crlf = malloc(2 * sizeof(base)));
	for (p = base, k = 0; *p != '\0'; p++) {
		if (*p == '\n')
			crlf[k++] = '\r';
		crlf[k++] = *p;
	}
	crlf[k] = '\0';
	u = uids(mkfile(crlf), MBOX_MBOXO, &n);
	assert_memory_equal(u, u0, 3 * UIDLEN);
	free(u);
	free(crlf);
	free(u0);
}

/*
 * Two different messages that share their From_ line and header fields
 * (no Message-ID, no Received: a local script's alerts) and the length
 * of their bodies.  A client fetched the first; a reader expunged it and
 * the second arrived: had it the first one's UID, the client would never
 * fetch it.  Their bodies tell them apart.
 */
static void
t_uid_alike_messages(void **state)
{
#define ALERT(n)	FROM1 "\nSubject: disk alert\nDate: Mon, 1 Jan 2024 " \
	"00:00:00 +0000\n\ndisk " #n " is full\n\n"
	char	*u1, *u2;
	size_t	 n;

	(void)state;
	u1 = uids(mkfile(ALERT(1)), MBOX_MBOXO, &n);
	u2 = uids(mkfile(ALERT(2)), MBOX_MBOXO, &n);
	assert_string_not_equal(u1, u2);
	free(u1);
	free(u2);
#undef ALERT
}

#define XU(v)	FROM1 "\nSubject: x\nX-UIDL: " v "\n\nbody\n\n"
#define A10	"aaaaaaaaaa"
#define B10	"bbbbbbbbbb"

static void
t_xuidl(void **state)
{
	char	*u, *h;
	size_t	 n;

	(void)state;
	u = uids(mkfile(XU("4a7b1c2d3e") XU(" <spaced>  ") MSG_B
	    XU("dup1") XU("dup1") XU("a b c") XU("0123456789abcdef01234567")
	    XU("0123456789ABCDEF01234567") XU("Dup2") XU("dUP2")),
	    MBOX_MBOXO, &n);
	h = uids(mkfile(MSG_A XU("other") MSG_B XU("x1") XU("x2") XU("x3")
	    XU("x4") XU("x5") XU("x6") XU("x7")), MBOX_MBOXO, &n);
	assert_int_equal(n, 10);
	assert_string_equal(u, "4a7b1c2d3e");
	assert_string_equal(u + UIDLEN, "<spaced>");
	/* no X-UIDL: the hash, the same as in another mailbox */
	assert_string_equal(u + 2 * UIDLEN, h + 2 * UIDLEN);
	/* duplicates, spaces, our own hash shape: the hash UID */
	assert_int_equal(strlen(u + 3 * UIDLEN), 24);
	assert_int_equal(strlen(u + 4 * UIDLEN), 24);
	assert_string_not_equal(u + 3 * UIDLEN, u + 4 * UIDLEN);
	assert_string_not_equal(u + 3 * UIDLEN, "dup1");
	assert_int_equal(strlen(u + 5 * UIDLEN), 24);
	assert_string_not_equal(u + 6 * UIDLEN, "0123456789abcdef01234567");
	/* our shape in upper case, a copy in another case: not taken */
	assert_string_not_equal(u + 7 * UIDLEN, "0123456789ABCDEF01234567");
	assert_int_equal(strlen(u + 7 * UIDLEN), 24);
	assert_string_not_equal(u + 8 * UIDLEN, "Dup2");
	assert_string_not_equal(u + 9 * UIDLEN, "dUP2");
	assert_int_equal(strlen(u + 9 * UIDLEN), 24);
	free(u);
	free(h);
	/* 70 characters pass, 71 do not */
	u = uids(mkfile(XU(A10 A10 A10 A10 A10 A10 A10)
	    XU(B10 B10 B10 B10 B10 B10 B10 "b")), MBOX_MBOXO, &n);
	assert_int_equal(strlen(u), 70);
	assert_int_equal(strlen(u + UIDLEN), 24);
	free(u);
}

/* ------------------------------------------------------------------ */

static int
setup(void **state)
{
	(void)state;
	log_init(1, "test_mboxfeat");
	return tmpdir_make("test_mboxfeat");
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove();
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(t_session_lock_file),
		cmocka_unit_test(t_flock_delivery),
		cmocka_unit_test(t_session_lock_fallback),
		cmocka_unit_test(t_session_lock_foreign),
		cmocka_unit_test(t_dotlock_race),
		cmocka_unit_test(t_rewrite_same_size),
		cmocka_unit_test(t_rewrite_and_append),
		cmocka_unit_test(t_folder_data),
		cmocka_unit_test(t_folder_data_promoted),
		cmocka_unit_test(t_mboxcl2),
		cmocka_unit_test(t_mboxcl2_fallback),
		cmocka_unit_test(t_mboxcl2_wrong_sticks),
		cmocka_unit_test(t_uid_twins),
		cmocka_unit_test(t_uid_file_hostile),
		cmocka_unit_test(t_xuidl),
		cmocka_unit_test(t_uid_reader_changes),
		cmocka_unit_test(t_uid_alike_messages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
