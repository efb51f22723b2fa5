/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * UPDATE against the machine's floor, without the daemon (the goal:
 * UPDATE within 1.2x of the machine's floor): bench/updbench.sh builds
 * and runs it.  Each round copies the big mailbox to a scratch file on the
 * same filesystem, opens it with mbox_open, deletes every second message
 * (DELE 2, 4, ... as bench/loadgen.c does), and times the UPDATE: wall,
 * CPU, and the fdatasyncs, fsyncs and pwrite(v)s made (counted through
 * -Wl,--wrap).  In the same round it measures the floor the way bench/run
 * does (dd of the surviving half over a synced copy, conv=fdatasync).
 * The order of the two alternates from round to round.
 *
 *	updbench [-n rounds] [-v] big.mbox scratch-dir
 *
 * -v prints every fdatasync/fsync of an UPDATE with its time and the
 * bytes written since the one before.  The result is checked byte for
 * byte against the kept messages of the original.
 */
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"
#include "mbox.h"
#include "mbox_int.h"

#define ROUNDS_MAX	64
#define TRACE_MAX	256

struct sys_count {
	long		n;
	double		ms;
};

static struct sys_count	c_fdatasync, c_fsync, c_pwrite, c_sfr;
static uint64_t		pwrite_bytes, pwrite_since;
static int		tracing;
static int		verbose;
static double		t_start;
static char		trace[TRACE_MAX][96];
static int		ntrace;

int	__real_fdatasync(int);
int	__real_fsync(int);
ssize_t	__real_pwrite(int, const void *, size_t, off_t);
int	__real_sync_file_range(int, off_t, off_t, unsigned int);
int	__wrap_fdatasync(int);
int	__wrap_fsync(int);
ssize_t	__wrap_pwrite(int, const void *, size_t, off_t);
int	__wrap_sync_file_range(int, off_t, off_t, unsigned int);
ssize_t	__real_pwritev(int, const struct iovec *, int, off_t);
ssize_t	__wrap_pwritev(int, const struct iovec *, int, off_t);
void	*__real_mmap(void *, size_t, int, int, int, off_t);
int	__real_munmap(void *, size_t);
int	__real_ftruncate(int, off_t);
int	__real_unlink(const char *);
int	__real_posix_fallocate(int, off_t, off_t);
int	__wrap_unlink(const char *);
int	__wrap_posix_fallocate(int, off_t, off_t);
void	*__wrap_mmap(void *, size_t, int, int, int, off_t);
int	__wrap_munmap(void *, size_t);
int	__wrap_ftruncate(int, off_t);

static double
now_ms(void)
{
	struct timespec	ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double
cpu_ms(void)
{
	struct rusage	ru;

	(void)getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static void
note(const char *what, int fd, double t0, double t1)
{
	if (!tracing || !verbose || ntrace == TRACE_MAX)
		return;
	(void)snprintf(trace[ntrace++], sizeof(trace[0]),
	    "  %8.1f ms  %-9s fd %d  %6.1f ms  %8.2f MiB written since",
	    t0 - t_start, what, fd, t1 - t0,
	    (double)pwrite_since / 1048576.0);
	pwrite_since = 0;
}

/* A sync that began at t0 has returned: count and note it. */
static void
synced(struct sys_count *c, const char *what, int fd, double t0)
{
	double	t1 = now_ms();

	if (tracing) {
		c->n++;
		c->ms += t1 - t0;
	}
	note(what, fd, t0, t1);
}

int
__wrap_fdatasync(int fd)
{
	double	t0 = now_ms();
	int	r = __real_fdatasync(fd);

	synced(&c_fdatasync, "fdatasync", fd, t0);
	return r;
}

int
__wrap_fsync(int fd)
{
	double	t0 = now_ms();
	int	r = __real_fsync(fd);

	synced(&c_fsync, "fsync", fd, t0);
	return r;
}

/* A pwrite or pwritev that began at t0 returned r: count it. */
static void
wrote(ssize_t r, double t0)
{
	if (!tracing)
		return;
	c_pwrite.n++;
	c_pwrite.ms += now_ms() - t0;
	if (r > 0) {
		pwrite_bytes += (uint64_t)r;
		pwrite_since += (uint64_t)r;
	}
}

ssize_t
__wrap_pwrite(int fd, const void *p, size_t n, off_t off)
{
	double	t0 = now_ms();
	ssize_t	r = __real_pwrite(fd, p, n, off);

	wrote(r, t0);
	return r;
}

ssize_t
__wrap_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	double	t0 = now_ms();
	ssize_t	r = __real_pwritev(fd, iov, cnt, off);

	wrote(r, t0);
	return r;
}

int
__wrap_sync_file_range(int fd, off_t off, off_t n, unsigned int fl)
{
	double	t0 = now_ms();
	int	r = __real_sync_file_range(fd, off, n, fl);

	if (tracing) {
		c_sfr.n++;
		c_sfr.ms += now_ms() - t0;
	}
	return r;
}

/* The calls below only appear in the -v trace. */
void *
__wrap_mmap(void *a, size_t n, int prot, int fl, int fd, off_t off)
{
	double	 t0 = now_ms();
	void	*r = __real_mmap(a, n, prot, fl, fd, off);

	note(fl & MAP_POPULATE ? "mmap+pop" : "mmap", fd, t0, now_ms());
	return r;
}

int
__wrap_munmap(void *a, size_t n)
{
	double	t0 = now_ms();
	int	r = __real_munmap(a, n);

	note("munmap", -1, t0, now_ms());
	return r;
}

int
__wrap_ftruncate(int fd, off_t n)
{
	double	t0 = now_ms();
	int	r = __real_ftruncate(fd, n);

	note("ftruncate", fd, t0, now_ms());
	return r;
}

int
__wrap_unlink(const char *path)
{
	double	t0 = now_ms();
	int	r = __real_unlink(path);

	note("unlink", -1, t0, now_ms());
	return r;
}

int
__wrap_posix_fallocate(int fd, off_t off, off_t n)
{
	double	t0 = now_ms();
	int	r = __real_posix_fallocate(fd, off, n);

	note("fallocate", fd, t0, now_ms());
	return r;
}

/* Copy src to dst (a new file) and make it durable. */
static void
copy_synced(const char *src, const char *dst)
{
	struct stat	st;
	int		in, out;
	off_t		left;
	ssize_t		n;

	(void)unlink(dst);
	if ((in = open(src, O_RDONLY)) == -1 || fstat(in, &st) == -1)
		err(1, "%s", src);
	if ((out = open(dst, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		err(1, "%s", dst);
	for (left = st.st_size; left > 0; left -= n)
		if ((n = copy_file_range(in, NULL, out, NULL, (size_t)left,
		    0)) <= 0)
			err(1, "copy to %s", dst);
	if (__real_fsync(out) == -1)
		err(1, "fsync %s", dst);
	(void)close(in);
	(void)close(out);
}

/* Read the whole file once so that it is in the page cache. */
static void
warm(const char *path)
{
	static char	buf[1 << 20];
	int		fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		err(1, "%s", path);
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	(void)close(fd);
}

/*
 * The floor as bench/run measures it: ms for dd plus its fdatasync.  In
 * *cut the ms of an ftruncate to half and an fsync after it, which every
 * compaction in place needs too (on a filesystem mounted with discard
 * it is tens of ms).
 */
static double
floor_ms(const char *big, const char *dir, double *cut)
{
	char		f[PATH_MAX], ofarg[PATH_MAX + 3], ifarg[PATH_MAX + 3];
	char		cnt[32];
	struct stat	st;
	double		t0, t1, t2;
	pid_t		pid;
	int		status, fd;

	(void)snprintf(f, sizeof(f), "%s/floor.tmp", dir);
	copy_synced(big, f);
	if (stat(big, &st) == -1)
		err(1, "%s", big);
	(void)snprintf(cnt, sizeof(cnt), "count=%lld",
	    (long long)(st.st_size / 2 / 1048576));
	(void)snprintf(ifarg, sizeof(ifarg), "if=%s", big);
	(void)snprintf(ofarg, sizeof(ofarg), "of=%s", f);
	t0 = now_ms();
	if ((pid = fork()) == -1)
		err(1, "fork");
	if (pid == 0) {
		execlp("dd", "dd", ifarg, ofarg, "bs=1M", cnt,
		    "conv=notrunc,fdatasync", "status=none", (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0)
		errx(1, "dd failed");
	t1 = now_ms();
	/* what the floor leaves out: cutting the file to what survives */
	if ((fd = open(f, O_WRONLY)) == -1)
		err(1, "%s", f);
	t2 = now_ms();
	if (__real_ftruncate(fd, st.st_size / 2) == -1 ||
	    __real_fsync(fd) == -1)
		err(1, "cut %s", f);
	*cut = now_ms() - t2;
	(void)close(fd);
	(void)unlink(f);
	return t1 - t0;
}

/* Remove the scratch mailbox and whatever pop3d keeps beside it. */
static void
clean(const char *dir)
{
	static const char *const	side[] = { "upd.mbox",
	    ".upd.mbox.pop3d-index", ".upd.mbox.pop3d-uids",
	    ".upd.mbox.pop3d-session", ".upd.mbox.pop3d-journal",
	    "upd.mbox.lock" };
	char				p[PATH_MAX];
	size_t				i;

	for (i = 0; i < sizeof(side) / sizeof(side[0]); i++) {
		(void)snprintf(p, sizeof(p), "%s/%s", dir, side[i]);
		(void)unlink(p);
	}
}

/* Whether path holds exactly the kept messages of orig.  Exits if not. */
static void
check(const char *orig, const char *path, const uint64_t *starts,
    size_t n, uint64_t osize)
{
	struct stat	st;
	const char	*a, *b;
	uint64_t	at = 0, end;
	size_t		i;
	int		fa, fb;

	if ((fa = open(orig, O_RDONLY)) == -1 ||
	    (fb = open(path, O_RDONLY)) == -1 || fstat(fb, &st) == -1)
		err(1, "check");
	a = mmap(NULL, (size_t)osize, PROT_READ, MAP_SHARED, fa, 0);
	b = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fb, 0);
	if (a == MAP_FAILED || b == MAP_FAILED)
		err(1, "check: mmap");
	for (i = 0; i < n; i++) {
		if (i % 2 == 1)
			continue;
		end = i + 1 < n ? starts[i + 1] : osize;
		if (at + (end - starts[i]) > (uint64_t)st.st_size ||
		    memcmp(a + starts[i], b + at, end - starts[i]) != 0)
			errx(1, "check: message %zu differs", i + 1);
		at += end - starts[i];
	}
	if (at != (uint64_t)st.st_size)
		errx(1, "check: %llu bytes, %llu expected",
		    (unsigned long long)st.st_size, (unsigned long long)at);
	(void)munmap((void *)(uintptr_t)a, (size_t)osize);
	(void)munmap((void *)(uintptr_t)b, (size_t)st.st_size);
	(void)close(fa);
	(void)close(fb);
}

struct round {
	double	wall, cpu, floor, cut, ratio, ratio_cut;
	double	fds_ms, fs_ms, pw_ms, sfr_ms;
	long	fds, fs, pw;
};

/* One UPDATE of the scratch copy; fills r. */
static void
update_once(const char *big, const char *dir, struct round *r)
{
	struct conf	 c;
	struct mbox	*m;
	char		 path[PATH_MAX];
	unsigned char	*del;
	uint64_t	*starts, osize;
	double		 t0, c0;
	size_t		 i, n;
	int		 st, k;

	clean(dir);
	(void)snprintf(path, sizeof(path), "%s/upd.mbox", dir);
	copy_synced(big, path);
	conf_defaults(&c);
	if ((st = mbox_open(path, &c, &m)) != MD_OK)
		errx(1, "mbox_open: %d", st);
	n = mbox_ops.count(m);
	osize = m->size;
	if ((del = calloc(n, 1)) == NULL ||
	    (starts = calloc(n, sizeof(*starts))) == NULL)
		err(1, NULL);
	for (i = 0; i < n; i++) {
		del[i] = i % 2 == 1;
		starts[i] = msg_start(&m->msgs[i]);
	}
	memset(&c_fdatasync, 0, sizeof(c_fdatasync));
	c_fsync = c_pwrite = c_sfr = c_fdatasync;
	pwrite_bytes = pwrite_since = 0;
	ntrace = 0;
	tracing = 1;
	c0 = cpu_ms();
	t_start = t0 = now_ms();
	st = mbox_ops.update(m, del);
	r->wall = now_ms() - t0;
	r->cpu = cpu_ms() - c0;
	tracing = 0;
	if (st != MD_OK)
		errx(1, "update: %d", st);
	mbox_ops.close(m);
	r->fds = c_fdatasync.n;
	r->fds_ms = c_fdatasync.ms;
	r->fs = c_fsync.n;
	r->fs_ms = c_fsync.ms;
	r->pw = c_pwrite.n;
	r->pw_ms = c_pwrite.ms;
	r->sfr_ms = c_sfr.ms;
	for (k = 0; k < ntrace; k++)
		printf("%s\n", trace[k]);
	check(big, path, starts, n, osize);
	free(del);
	free(starts);
	clean(dir);
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
median(const struct round *rs, int n, size_t off)
{
	double	v[ROUNDS_MAX];
	int	i;

	for (i = 0; i < n; i++)
		memcpy(&v[i], (const char *)&rs[i] + off, sizeof(double));
	qsort(v, (size_t)n, sizeof(v[0]), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static void
usage(void)
{
	fprintf(stderr, "usage: updbench [-n rounds] [-v] big.mbox dir\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	struct round	rs[ROUNDS_MAX];
	int		ch, n = 5, i;

	while ((ch = getopt(argc, argv, "n:v")) != -1) {
		switch (ch) {
		case 'n':
			n = atoi(optarg);
			if (n < 1 || n > ROUNDS_MAX)
				usage();
			break;
		case 'v':
			verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	log_init(1, "updbench");
	warm(argv[optind]);
	printf("round  update_ms  cpu_ms  floor_ms  ratio  cut_ms  "
	    "fdatasync(n, ms)  fsync(n, ms)  pwrite(n, ms)  sfr_ms\n");
	for (i = 0; i < n; i++) {
		if (i % 2 == 0) {
			rs[i].floor = floor_ms(argv[optind], argv[optind + 1],
			    &rs[i].cut);
			update_once(argv[optind], argv[optind + 1], &rs[i]);
		} else {
			update_once(argv[optind], argv[optind + 1], &rs[i]);
			rs[i].floor = floor_ms(argv[optind], argv[optind + 1],
			    &rs[i].cut);
		}
		printf("%5d  %9.1f  %6.1f  %8.1f  %5.2f  %6.1f  %4ld %9.1f  "
		    "%4ld %7.1f  %5ld %7.1f  %6.1f\n", i + 1, rs[i].wall,
		    rs[i].cpu, rs[i].floor, rs[i].wall / rs[i].floor,
		    rs[i].cut, rs[i].fds,
		    rs[i].fds_ms, rs[i].fs, rs[i].fs_ms, rs[i].pw, rs[i].pw_ms,
		    rs[i].sfr_ms);
		fflush(stdout);
	}
	for (i = 0; i < n; i++) {
		rs[i].ratio = rs[i].wall / rs[i].floor;
		rs[i].ratio_cut = rs[i].wall / (rs[i].floor + rs[i].cut);
	}
	printf("medians of %d: update %.1f ms (cpu %.1f, in fdatasync %.1f, "
	    "%ld fdatasyncs), floor %.1f ms, cut %.1f ms\n", n,
	    median(rs, n, offsetof(struct round, wall)),
	    median(rs, n, offsetof(struct round, cpu)),
	    median(rs, n, offsetof(struct round, fds_ms)), rs[0].fds,
	    median(rs, n, offsetof(struct round, floor)),
	    median(rs, n, offsetof(struct round, cut)));
	printf("update / floor: median %.2f; update / (floor + cut): median "
	    "%.2f\n", median(rs, n, offsetof(struct round, ratio)),
	    median(rs, n, offsetof(struct round, ratio_cut)));
	return 0;
}
