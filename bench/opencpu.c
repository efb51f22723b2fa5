/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Cold opens of one mailbox without the daemon, for bench/opencpu.sh:
 * mbox_open with no index cache, n times, each measured in CPU time
 * (getrusage: steadier than the wall clock on a shared machine) and wall
 * time, then a digest of every message's size and UID, which must be the
 * same for every build of pop3d that is compared.
 *
 *   opencpu MAILBOX [n [read]]
 *
 * "read" scans through reads instead of the mapping.  One line a run
 * ("run K cpu MS user MS sys MS wall MS"), then "digest HEX messages N
 * octets N".  Exit 1 when the mailbox can't be opened.
 */
#include <sys/resource.h>

#include <libgen.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"
#include "md5.h"

static double
tv_ms(struct timeval t)
{
	return (double)t.tv_sec * 1e3 + (double)t.tv_usec / 1e3;
}

static double
now_ms(void)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

/* The sizes and UIDs of every message, hashed; the count and octets. */
static void
digest(struct mbox *m)
{
	struct md5	 c;
	unsigned char	 d[MD5_LEN];
	const char	*uid;
	uint64_t	 size, total = 0;
	size_t		 i, n = mbox_ops.count(m);

	md5_init(&c);
	for (i = 0; i < n; i++) {
		size = mbox_ops.size(m, i);
		uid = mbox_ops.uid(m, i);
		total += size;
		md5_update(&c, &size, sizeof(size));
		md5_update(&c, uid, strlen(uid) + 1);
	}
	md5_final(&c, d);
	printf("digest ");
	for (i = 0; i < MD5_LEN; i++)
		printf("%02x", d[i]);
	printf(" messages %zu octets %llu\n", n, (unsigned long long)total);
}

int
main(int argc, char **argv)
{
	struct conf	 c;
	struct mbox	*m = NULL;
	struct rusage	 u0, u1;
	char		 cache[4096], *a, *b;
	double		 t0, t1, us, sy;
	int		 n, r;

	if (argc < 2) {
		fprintf(stderr, "usage: opencpu MAILBOX [n [read]]\n");
		return 2;
	}
	n = argc > 2 ? atoi(argv[2]) : 3;
	if (argc > 3 && strcmp(argv[3], "read") == 0)
		mbox_scan_map = 0;
	if ((a = strdup(argv[1])) == NULL || (b = strdup(argv[1])) == NULL)
		return 1;
	snprintf(cache, sizeof(cache), "%s/.%s.pop3d-index", dirname(a),
	    basename(b));
	conf_defaults(&c);
	c.nlocks = 0;
	for (r = 0; r < n; r++) {
		(void)unlink(cache);
		t0 = now_ms();
		getrusage(RUSAGE_SELF, &u0);
		if (mbox_open(argv[1], &c, &m) != MD_OK)
			return 1;
		getrusage(RUSAGE_SELF, &u1);
		t1 = now_ms();
		us = tv_ms(u1.ru_utime) - tv_ms(u0.ru_utime);
		sy = tv_ms(u1.ru_stime) - tv_ms(u0.ru_stime);
		printf("run %d cpu %.1f user %.1f sys %.1f wall %.1f\n", r,
		    us + sy, us, sy, t1 - t0);
		if (r == n - 1)
			digest(m);
		mbox_ops.close(m);
	}
	(void)unlink(cache);
	return 0;
}
