/*
 * Sessions per client address (iplimit.h).  The listener keeps the pid of
 * each slot in its own heap: it signals and releases only what it forked.
 * The shared mapping holds, per slot, whether it is in use and the key of
 * its client, which the listener writes at fork and a monitor may rewrite
 * after a PROXY header; both are root.  Readers may see a key half
 * written by a monitor at that moment: the count is then off by one for
 * an instant, which a limit can live with; no lock is worth it.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iplimit.h"
#include "log.h"
#include "params.h"

struct slot {
	unsigned char	used;
	unsigned char	key[IPLIMIT_KEY_LEN];
};

/* What the root monitors share with the listener. */
struct shared {
	time_t		last_log;	/* CLOCK_MONOTONIC seconds */
	long		quiet;		/* refusals not logged since */
	struct slot	slot[];
};

struct iplimit {
	struct shared	*sh;		/* NULL once detached */
	size_t		 maplen;
	unsigned	 nslots;
	pid_t		*pid;		/* per slot: 0 free, -1 forking */
};

/* IPv6 cut to its /64: one site, where a host picks any address. */
int
iplimit_addr_key(const struct sockaddr *sa, unsigned char key[IPLIMIT_KEY_LEN])
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	memset(key, 0, IPLIMIT_KEY_LEN);
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

struct iplimit *
iplimit_new(unsigned slots)
{
	struct iplimit	*l;
	void		*p;

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
iplimit_detach(struct iplimit *l)
{
	if (l == NULL || l->sh == NULL)
		return;
	(void)munmap(l->sh, l->maplen);
	l->sh = NULL;
}

void
iplimit_free(struct iplimit *l)
{
	if (l == NULL)
		return;
	iplimit_detach(l);
	free(l->pid);
	free(l);
}

static unsigned
count_key(const struct iplimit *l, const unsigned char key[IPLIMIT_KEY_LEN])
{
	unsigned	i, n = 0;

	for (i = 0; l->sh != NULL && i < l->nslots; i++)
		if (l->sh->slot[i].used &&
		    memcmp(l->sh->slot[i].key, key, IPLIMIT_KEY_LEN) == 0)
			n++;
	return n;
}

unsigned
iplimit_count(const struct iplimit *l, const struct sockaddr *sa)
{
	unsigned char	key[IPLIMIT_KEY_LEN];

	if (iplimit_addr_key(sa, key) == -1)
		return 0;
	return count_key(l, key);
}

int
iplimit_claim(struct iplimit *l, const struct sockaddr *sa)
{
	struct slot	*s;
	unsigned	 i;

	for (i = 0; l->sh != NULL && i < l->nslots; i++)
		if (l->pid[i] == 0) {
			s = &l->sh->slot[i];
			if (iplimit_addr_key(sa, s->key) == -1)
				memset(s->key, 0xff, IPLIMIT_KEY_LEN);
			s->used = 1;
			l->pid[i] = -1;
			return (int)i;
		}
	return -1;
}

void
iplimit_set_pid(struct iplimit *l, int slot, pid_t pid)
{
	if (slot < 0 || (unsigned)slot >= l->nslots)
		return;
	l->pid[slot] = pid;
	if (pid == 0 && l->sh != NULL)
		l->sh->slot[slot].used = 0;
}

void
iplimit_release(struct iplimit *l, pid_t pid)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->pid[i] == pid) {
			iplimit_set_pid(l, (int)i, 0);
			return;
		}
}

unsigned
iplimit_rekey(struct iplimit *l, int slot,
    const unsigned char key[IPLIMIT_KEY_LEN])
{
	if (l->sh == NULL || slot < 0 || (unsigned)slot >= l->nslots)
		return 1;
	memcpy(l->sh->slot[slot].key, key, IPLIMIT_KEY_LEN);
	/* Written first, counted second: two racing sessions both see each other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return count_key(l, key);
}

void
iplimit_signal_all(const struct iplimit *l, int sig)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->pid[i] > 0)
			kill(l->pid[i], sig);
}

/* Whether a refusal may be logged now: -1 no, else how many were not. */
static long
may_log(struct iplimit *l)
{
	struct timespec	now;

	if (l == NULL || l->sh == NULL)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (l->sh->last_log != 0 &&
	    now.tv_sec - l->sh->last_log < IPLIMIT_LOG_INTERVAL) {
		__atomic_add_fetch(&l->sh->quiet, 1, __ATOMIC_RELAXED);
		return -1;
	}
	l->sh->last_log = now.tv_sec;
	return __atomic_exchange_n(&l->sh->quiet, 0, __ATOMIC_RELAXED);
}

void
iplimit_log_refusal(struct iplimit *l, const char *why)
{
	long	quiet = may_log(l);

	if (quiet == 0)
		log_warnx("refused a connection: %s", why);
	else if (quiet > 0)
		log_warnx("refused a connection: %s (and %ld more not "
		    "logged)", why, quiet);
}
