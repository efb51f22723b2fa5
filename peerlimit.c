/*
 * Failed logins per client address, kept by the standalone listener in
 * its own memory: a session process can't write to it (no shared
 * mapping), it only reports its connection's failures in its exit
 * status, which the listener reads at reap.  The table is a fixed array
 * scanned linearly: a thousand entries cost microseconds per accept, and
 * a flood of addresses can only push the stalest out, never grow it.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "peerlimit.h"
#include "iplimit.h"
#include "params.h"

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
	unsigned char	key[16];	/* iplimit_addr_key */
	unsigned	count;		/* failures, halved as time passes */
	time_t		since;		/* when count last halved, or began */
	time_t		last;		/* the last failure: eviction order */
};

struct child {
	pid_t		pid;		/* 0: free */
	unsigned char	key[16];
};

/* The header of the table's mapping; the arrays follow it. */
struct faildelay {
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
struct faildelay *
faildelay_new(unsigned naddrs, unsigned nchild)
{
	struct faildelay	*f;
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
faildelay_free(struct faildelay *f)
{
	if (f != NULL)
		(void)munmap(f, f->size);
}

/*
 * Keep the table from processes forked from now on.  Not at
 * faildelay_new: the listener may still fork to daemonize, and that
 * child is the one that keeps using the table.  Where madvise fails the
 * table still works, at the cost above.
 */
static void
unshare(struct faildelay *f)
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
	n = (now - a->since) / FAILDELAY_HALF_LIFE;
	if (n == 0)
		return;
	a->count = n >= 32 ? 0 : a->count >> n;
	a->since += n * FAILDELAY_HALF_LIFE;
}

/* Drop entry i: the last one takes its place. */
static void
drop(struct faildelay *f, unsigned i)
{
	f->addr[i] = f->addr[--f->naddr];
}

/*
 * The entry of key, decayed to now; one that decayed to nothing is
 * dropped.  Returns its index, or -1.
 */
static int
find(struct faildelay *f, const unsigned char key[16], time_t now)
{
	unsigned	i;

	for (i = 0; i < f->naddr; i++) {
		if (memcmp(f->addr[i].key, key, 16) != 0)
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
faildelay_penalty(struct faildelay *f, const struct sockaddr *sa,
    time_t now)
{
	unsigned char	key[16];
	int		i;

	unshare(f);
	if (iplimit_addr_key(sa, key) == -1 || (i = find(f, key, now)) == -1)
		return 0;
	return f->addr[i].count;
}

/* A free entry, the one that failed longest ago if none is. */
static struct addr *
make_room(struct faildelay *f)
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
record_key(struct faildelay *f, const unsigned char key[16], unsigned n,
    time_t now)
{
	struct addr	*a;
	int		 i;

	if (n == 0 || f->maxaddr == 0)
		return;
	if ((i = find(f, key, now)) != -1)
		a = &f->addr[i];
	else {
		a = make_room(f);
		memcpy(a->key, key, 16);
		a->count = 0;
		a->since = now;
	}
	a->count = n >= FAILDELAY_COUNT_MAX - a->count ?
	    FAILDELAY_COUNT_MAX : a->count + n;
	a->last = now;
}

void
faildelay_record(struct faildelay *f, const struct sockaddr *sa, unsigned n,
    time_t now)
{
	unsigned char	key[16];

	if (iplimit_addr_key(sa, key) == 0)
		record_key(f, key, n, now);
}

int
faildelay_track(struct faildelay *f, pid_t pid, const struct sockaddr *sa)
{
	unsigned	i;

	unshare(f);
	for (i = 0; i < f->nchild; i++)
		if (f->child[i].pid == 0) {
			if (iplimit_addr_key(sa, f->child[i].key) == -1)
				return -1;
			f->child[i].pid = pid;
			return 0;
		}
	return -1;
}

void
faildelay_reaped(struct faildelay *f, pid_t pid, int status, time_t now)
{
	unsigned	i;

	for (i = 0; i < f->nchild; i++)
		if (f->child[i].pid == pid) {
			f->child[i].pid = 0;
			record_key(f, f->child[i].key,
			    faildelay_exit_failures(status), now);
			return;
		}
}

unsigned
faildelay_wait_ms(unsigned penalty, unsigned earlier, unsigned max_s)
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
faildelay_exit_code(int ok, unsigned failures)
{
	if (failures > EXIT_FAIL_MAX)
		failures = EXIT_FAIL_MAX;
	return (int)(failures << EXIT_FAIL_SHIFT) | (ok ? 0 : 1);
}

unsigned
faildelay_exit_failures(int status)
{
	int	code;

	if (!WIFEXITED(status))
		return 0;
	code = WEXITSTATUS(status);
	if ((code & EXIT_OTHER_BITS) != 0)
		return 0;
	return (unsigned)code >> EXIT_FAIL_SHIFT;
}
