/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Limits per client address, kept by the standalone listener: the
 * sessions each address holds (max_sessions_per_ip) and the failed
 * logins it is remembered for, which slow its next login check.  Both
 * key a client alike (peerlimit_key: IPv4 by address, IPv6 by /64), in
 * two tables, because different processes may see them.
 *
 * Sessions (peerlimit_sess_*): the listener keeps the pid of each slot
 * in its own heap: it signals and releases only what it forked.  The
 * shared mapping holds, per slot, whether it is in use and the key of
 * its client, which the listener writes at fork and a monitor may
 * rewrite after a PROXY header; both are root.  Readers may see a key
 * half written by a monitor at that moment: the count is then off by one
 * for an instant, which a limit can live with; no lock is worth it.
 *
 * Failed logins (peerlimit_fail_*): in the listener's own memory, which
 * a session process can't write to (no shared mapping); it only reports
 * its connection's failures in its exit status, which the listener reads
 * at reap.  The table is a fixed array scanned linearly: a thousand
 * entries cost microseconds per accept, and a flood of addresses can
 * only push the stalest out, never grow it.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "params.h"
#include "peerlimit.h"

/* IPv6 cut to its /64: one site, where a host picks any address. */
int
peerlimit_key(const struct sockaddr *sa, unsigned char key[PEERLIMIT_KEY_LEN])
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	memset(key, 0, PEERLIMIT_KEY_LEN);
	if (sa->sa_family == AF_INET) {
		key[10] = key[11] = 0xff;
		memcpy(key + 12, &sin->sin_addr, 4);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
		memcpy(key, sin6->sin6_addr.s6_addr, 16);
	else
		memcpy(key, sin6->sin6_addr.s6_addr, 8);
	return 0;
}

/* Sessions per address. */

struct slot {
	unsigned char	used;
	unsigned char	key[PEERLIMIT_KEY_LEN];
};

/* What the root monitors share with the listener. */
struct shared {
	time_t		last_log;	/* CLOCK_MONOTONIC seconds */
	long		quiet;		/* refusals not logged since */
	struct slot	slot[];
};

struct peerlimit_sess {
	struct shared	*sh;		/* NULL once detached */
	size_t		 maplen;
	unsigned	 nslots;
	pid_t		*pid;		/* per slot: 0 free, -1 forking */
};

struct peerlimit_sess *
peerlimit_sess_new(unsigned slots)
{
	struct peerlimit_sess	*l;
	void			*p;

	if ((l = calloc(1, sizeof(*l))) == NULL ||
	    (l->pid = calloc(slots, sizeof(*l->pid))) == NULL) {
		free(l);
		return NULL;
	}
	l->nslots = slots;
	l->maplen = sizeof(*l->sh) + (size_t)slots * sizeof(struct slot);
	p = mmap(NULL, l->maplen, PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		free(l->pid);
		free(l);
		return NULL;
	}
	l->sh = p;
	return l;
}

void
peerlimit_sess_detach(struct peerlimit_sess *l)
{
	if (l == NULL || l->sh == NULL)
		return;
	(void)munmap(l->sh, l->maplen);
	l->sh = NULL;
}

void
peerlimit_sess_free(struct peerlimit_sess *l)
{
	if (l == NULL)
		return;
	peerlimit_sess_detach(l);
	free(l->pid);
	free(l);
}

static unsigned
count_key(const struct peerlimit_sess *l,
    const unsigned char key[PEERLIMIT_KEY_LEN])
{
	unsigned	i, n = 0;

	for (i = 0; l->sh != NULL && i < l->nslots; i++)
		if (l->sh->slot[i].used &&
		    memcmp(l->sh->slot[i].key, key, PEERLIMIT_KEY_LEN) == 0)
			n++;
	return n;
}

unsigned
peerlimit_sess_count(const struct peerlimit_sess *l, const struct sockaddr *sa)
{
	unsigned char	key[PEERLIMIT_KEY_LEN];

	if (peerlimit_key(sa, key) == -1)
		return 0;
	return count_key(l, key);
}

int
peerlimit_sess_claim(struct peerlimit_sess *l, const struct sockaddr *sa)
{
	struct slot	*s;
	unsigned	 i;

	for (i = 0; l->sh != NULL && i < l->nslots; i++)
		if (l->pid[i] == 0) {
			s = &l->sh->slot[i];
			if (peerlimit_key(sa, s->key) == -1)
				memset(s->key, 0xff, PEERLIMIT_KEY_LEN);
			s->used = 1;
			l->pid[i] = -1;
			return (int)i;
		}
	return -1;
}

void
peerlimit_sess_set_pid(struct peerlimit_sess *l, int slot, pid_t pid)
{
	if (slot < 0 || (unsigned)slot >= l->nslots)
		return;
	l->pid[slot] = pid;
	if (pid == 0 && l->sh != NULL)
		l->sh->slot[slot].used = 0;
}

void
peerlimit_sess_release(struct peerlimit_sess *l, pid_t pid)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->pid[i] == pid) {
			peerlimit_sess_set_pid(l, (int)i, 0);
			return;
		}
}

unsigned
peerlimit_sess_rekey(struct peerlimit_sess *l, int slot,
    const unsigned char key[PEERLIMIT_KEY_LEN])
{
	if (l->sh == NULL || slot < 0 || (unsigned)slot >= l->nslots)
		return 1;
	memcpy(l->sh->slot[slot].key, key, PEERLIMIT_KEY_LEN);
	/* Written first, counted second: two racing sessions see each other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return count_key(l, key);
}

void
peerlimit_sess_signal_all(const struct peerlimit_sess *l, int sig)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->pid[i] > 0)
			kill(l->pid[i], sig);
}

/* Whether a refusal may be logged now: -1 no, else how many were not. */
static long
may_log(struct peerlimit_sess *l)
{
	struct timespec	now;

	if (l == NULL || l->sh == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (l->sh->last_log != 0 &&
	    now.tv_sec - l->sh->last_log < PEERLIMIT_LOG_INTERVAL) {
		__atomic_add_fetch(&l->sh->quiet, 1, __ATOMIC_RELAXED);
		return -1;
	}
	l->sh->last_log = now.tv_sec;
	return __atomic_exchange_n(&l->sh->quiet, 0, __ATOMIC_RELAXED);
}

void
peerlimit_sess_log_refusal(struct peerlimit_sess *l, const char *why)
{
	long	quiet = may_log(l);

	if (quiet == 0)
		log_warnx("refused a connection: %s", why);
	else if (quiet > 0)
		log_warnx("refused a connection: %s (and %ld more not "
		    "logged)", why, quiet);
}

/* Failed logins per address. */

/*
 * The exit code: bit 0 the old meaning (0 ok, 1 failed), bits 4-7 the
 * failed logins.  Bits 1-3 stay clear, so a code from anything else (a
 * shell's 126 or 127, a sanitizer's report) is read as no failures
 * rather than as a count.
 */
#define EXIT_FAIL_SHIFT	4
#define EXIT_FAIL_MAX	15
#define EXIT_OTHER_BITS	0x0e

struct addr {
	unsigned char	key[PEERLIMIT_KEY_LEN];
	unsigned	count;		/* failures, halved as time passes */
	time_t		since;		/* when count last halved, or began */
	time_t		last;		/* the last failure: eviction order */
};

struct child {
	pid_t		pid;		/* 0: free */
	unsigned char	key[PEERLIMIT_KEY_LEN];
};

/* The header of the table's mapping; the arrays follow it. */
struct peerlimit_fail {
	size_t		 size;		/* of the whole mapping */
	int		 unshared;	/* MADV_DONTFORK is set */
	struct addr	*addr;
	unsigned	 naddr, maxaddr;	/* addr[0..naddr) in use */
	struct child	*child;
	unsigned	 nchild;
};

/*
 * The table is a mapping of its own, which fork leaves out of the child
 * (MADV_DONTFORK) from its first use on (unshare).  The listener writes
 * it after every fork (the new session's entry) and at every reap, and
 * in memory the child shared, each such write would leave a page that
 * only the session processes forked before it still map: about a page
 * per session, kept for as long as it lives (`BENCH_ONLY=footprint`
 * measures the private memory of idle sessions).
 * Session processes never touch the table; one that did would fault
 * rather than read it.  Mapped pages cost nothing until written, so the
 * arrays need no sizing down.
 */
struct peerlimit_fail *
peerlimit_fail_new(unsigned naddrs, unsigned nchild)
{
	struct peerlimit_fail	*f;
	size_t			 na = naddrs > 0 ? naddrs : 1;
	size_t			 nc = nchild > 0 ? nchild : 1;
	size_t			 size;
	void			*p;

	if (na > (SIZE_MAX / 2 - sizeof(*f)) / sizeof(struct addr) ||
	    nc > SIZE_MAX / 2 / sizeof(struct child)) {
		errno = ENOMEM;
		return NULL;
	}
	size = sizeof(*f) + na * sizeof(struct addr) +
	    nc * sizeof(struct child);
	p = mmap(NULL, size, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	f = p;
	f->size = size;
	f->addr = (struct addr *)(void *)(f + 1);
	f->child = (struct child *)(void *)(f->addr + na);
	f->maxaddr = naddrs;
	f->nchild = nchild;
	return f;
}

void
peerlimit_fail_free(struct peerlimit_fail *f)
{
	if (f != NULL)
		(void)munmap(f, f->size);
}

/*
 * Keep the table from processes forked from now on.  Not at
 * peerlimit_fail_new: the listener may still fork to daemonize, and that
 * child is the one that keeps using the table.  Where madvise fails the
 * table still works, at the cost above.
 */
static void
unshare(struct peerlimit_fail *f)
{
	if (f->unshared)
		return;
	(void)madvise(f, f->size, MADV_DONTFORK);
	f->unshared = 1;
}

/* Halve a's count once per half-life gone by since it last halved. */
static void
decay(struct addr *a, time_t now)
{
	time_t	n;

	if (now <= a->since)
		return;
	n = (now - a->since) / PEERLIMIT_FAIL_HALF_LIFE;
	if (n == 0)
		return;
	a->count = n >= 32 ? 0 : a->count >> n;
	a->since += n * PEERLIMIT_FAIL_HALF_LIFE;
}

/* Drop entry i: the last one takes its place. */
static void
drop(struct peerlimit_fail *f, unsigned i)
{
	f->addr[i] = f->addr[--f->naddr];
}

/*
 * The entry of key, decayed to now; one that decayed to nothing is
 * dropped.  Returns its index, or -1.
 */
static int
find(struct peerlimit_fail *f, const unsigned char key[PEERLIMIT_KEY_LEN],
    time_t now)
{
	unsigned	i;

	for (i = 0; i < f->naddr; i++) {
		if (memcmp(f->addr[i].key, key, PEERLIMIT_KEY_LEN) != 0)
			continue;
		decay(&f->addr[i], now);
		if (f->addr[i].count == 0) {
			drop(f, i);
			return -1;
		}
		return (int)i;
	}
	return -1;
}

unsigned
peerlimit_fail_penalty(struct peerlimit_fail *f, const struct sockaddr *sa,
    time_t now)
{
	unsigned char	key[PEERLIMIT_KEY_LEN];
	int		i;

	unshare(f);
	if (peerlimit_key(sa, key) == -1 || (i = find(f, key, now)) == -1)
		return 0;
	return f->addr[i].count;
}

/* A free entry, the one that failed longest ago if none is. */
static struct addr *
make_room(struct peerlimit_fail *f)
{
	unsigned	i, old = 0;

	if (f->naddr < f->maxaddr)
		return &f->addr[f->naddr++];
	for (i = 1; i < f->naddr; i++)
		if (f->addr[i].last < f->addr[old].last)
			old = i;
	return &f->addr[old];
}

static void
record_key(struct peerlimit_fail *f,
    const unsigned char key[PEERLIMIT_KEY_LEN], unsigned n, time_t now)
{
	struct addr	*a;
	int		 i;

	if (n == 0 || f->maxaddr == 0)
		return;
	if ((i = find(f, key, now)) != -1)
		a = &f->addr[i];
	else {
		a = make_room(f);
		memcpy(a->key, key, PEERLIMIT_KEY_LEN);
		a->count = 0;
		a->since = now;
	}
	a->count = n >= PEERLIMIT_FAIL_COUNT_MAX - a->count ?
	    PEERLIMIT_FAIL_COUNT_MAX : a->count + n;
	a->last = now;
}

void
peerlimit_fail_record(struct peerlimit_fail *f, const struct sockaddr *sa,
    unsigned n, time_t now)
{
	unsigned char	key[PEERLIMIT_KEY_LEN];

	if (peerlimit_key(sa, key) == 0)
		record_key(f, key, n, now);
}

int
peerlimit_fail_track(struct peerlimit_fail *f, pid_t pid,
    const struct sockaddr *sa)
{
	unsigned	i;

	unshare(f);
	for (i = 0; i < f->nchild; i++)
		if (f->child[i].pid == 0) {
			if (peerlimit_key(sa, f->child[i].key) == -1)
				return -1;
			f->child[i].pid = pid;
			return 0;
		}
	return -1;
}

void
peerlimit_fail_reaped(struct peerlimit_fail *f, pid_t pid, int status,
    time_t now)
{
	unsigned	i;

	for (i = 0; i < f->nchild; i++)
		if (f->child[i].pid == pid) {
			f->child[i].pid = 0;
			record_key(f, f->child[i].key,
			    peerlimit_fail_exit_count(status), now);
			return;
		}
}

unsigned
peerlimit_fail_wait_ms(unsigned penalty, unsigned earlier, unsigned max_s)
{
	unsigned long long	max = (unsigned long long)max_s * 1000;
	unsigned long long	d = SESSION_AUTH_FAIL_DELAY_MS;
	unsigned		doublings;

	if (penalty == 0 && earlier == 0)
		return 0;
	doublings = penalty + earlier - 1;
	/* Stops as soon as the cap is reached: no overflow, few rounds. */
	while (doublings-- > 0 && d < max)
		d *= 2;
	return (unsigned)(d > max ? max : d);
}

int
peerlimit_fail_exit_code(int ok, unsigned failures)
{
	if (failures > EXIT_FAIL_MAX)
		failures = EXIT_FAIL_MAX;
	return (int)(failures << EXIT_FAIL_SHIFT) | (ok ? 0 : 1);
}

unsigned
peerlimit_fail_exit_count(int status)
{
	int	code;

	if (!WIFEXITED(status))
		return 0;
	code = WEXITSTATUS(status);
	if ((code & EXIT_OTHER_BITS) != 0)
		return 0;
	return (unsigned)code >> EXIT_FAIL_SHIFT;
}
