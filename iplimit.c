/*
 * Sessions per client address: one slot per session process in an
 * anonymous shared mapping.  The listener claims a slot before fork and
 * frees it at reap; a session that learns its real client from a PROXY
 * header rewrites its own slot's key.  Readers may see a key half
 * written by a session at that moment: the count is then off by one for
 * an instant, which a limit can live with; no lock is worth it.
 */
#include <sys/types.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "iplimit.h"
#include "params.h"

/* pid 0: free; -1: claimed, fork not done yet. */
struct slot {
	pid_t		pid;
	unsigned char	key[16];
};

struct iplimit {
	size_t		 maplen;
	unsigned	 nslots;
	time_t		 last_log;	/* CLOCK_MONOTONIC seconds */
	long		 quiet;		/* refusals not logged since */
	struct slot	 slot[];
};

/* IPv6 cut to its /64: one site, where a host picks any address. */
int
iplimit_addr_key(const struct sockaddr *sa, unsigned char key[16])
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;

	memset(key, 0, 16);
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
	size_t		 len;

	len = sizeof(*l) + (size_t)slots * sizeof(struct slot);
	l = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
	    -1, 0);
	if (l == MAP_FAILED)
		return NULL;
	l->maplen = len;
	l->nslots = slots;
	return l;
}

void
iplimit_free(struct iplimit *l)
{
	if (l != NULL)
		munmap(l, l->maplen);
}

static unsigned
count_key(const struct iplimit *l, const unsigned char key[16])
{
	unsigned	i, n = 0;

	for (i = 0; i < l->nslots; i++)
		if (l->slot[i].pid != 0 &&
		    memcmp(l->slot[i].key, key, 16) == 0)
			n++;
	return n;
}

unsigned
iplimit_count(const struct iplimit *l, const struct sockaddr *sa)
{
	unsigned char	key[16];

	if (iplimit_addr_key(sa, key) == -1)
		return 0;
	return count_key(l, key);
}

int
iplimit_claim(struct iplimit *l, const struct sockaddr *sa)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->slot[i].pid == 0) {
			if (iplimit_addr_key(sa, l->slot[i].key) == -1)
				memset(l->slot[i].key, 0xff, 16);
			l->slot[i].pid = -1;
			return (int)i;
		}
	return -1;
}

void
iplimit_set_pid(struct iplimit *l, int slot, pid_t pid)
{
	if (slot >= 0 && (unsigned)slot < l->nslots)
		l->slot[slot].pid = pid;
}

void
iplimit_release(struct iplimit *l, pid_t pid)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->slot[i].pid == pid) {
			l->slot[i].pid = 0;
			return;
		}
}

unsigned
iplimit_rekey(struct iplimit *l, int slot, const struct sockaddr *sa)
{
	unsigned char	key[16];

	if (slot < 0 || (unsigned)slot >= l->nslots ||
	    iplimit_addr_key(sa, key) == -1)
		return 1;
	memcpy(l->slot[slot].key, key, 16);
	/* Written first, counted second: two racing sessions both see each other. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return count_key(l, key);
}

void
iplimit_signal_all(const struct iplimit *l, int sig)
{
	unsigned	i;

	for (i = 0; i < l->nslots; i++)
		if (l->slot[i].pid > 0)
			kill(l->slot[i].pid, sig);
}

long
iplimit_may_log(struct iplimit *l)
{
	struct timespec	now;
	long		quiet;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (l->last_log != 0 && now.tv_sec - l->last_log < IPLIMIT_LOG_INTERVAL) {
		__atomic_add_fetch(&l->quiet, 1, __ATOMIC_RELAXED);
		return -1;
	}
	l->last_log = now.tv_sec;
	quiet = __atomic_exchange_n(&l->quiet, 0, __ATOMIC_RELAXED);
	return quiet;
}
