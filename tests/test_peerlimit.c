/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the limits per client address (peerlimit.c).  The
 * session table: IPv4 and IPv6 /64 keys, claim and release, a session
 * re-keying itself after a PROXY header, and the rate limit on refusal
 * log lines.  The failed-login table: the delay's growth and cap,
 * halving with time on an injected clock, IPv6 /64 grouping, eviction
 * when full, the exit status that carries a connection's failures from
 * a real child process to its parent, and a table that a forked child
 * does not get.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "net_testutil.h"
#include "params.h"
#include "peerlimit.h"

/* Sessions per address. */

/* Sessions in l from the address given as text. */
static unsigned
count(const struct peerlimit_sess *l, const char *text)
{
	struct sockaddr_storage	ss;

	return peerlimit_sess_count(l, addr(text, &ss));
}

/* Claim a slot in l for the address given as text. */
static int
claim(struct peerlimit_sess *l, const char *text)
{
	struct sockaddr_storage	ss;

	return peerlimit_sess_claim(l, addr(text, &ss));
}

static void
test_keys_and_release(void **state)
{
	struct peerlimit_sess	*l = peerlimit_sess_new(4);
	int			 a, b, c;

	(void)state;
	assert_non_null(l);
	a = claim(l, "192.0.2.1");
	b = claim(l, "2001:db8:1:2::5");
	c = claim(l, "2001:db8:1:2:ffff::9");
	assert_true(a >= 0 && b >= 0 && c >= 0);
	peerlimit_sess_set_pid(l, a, 100);
	peerlimit_sess_set_pid(l, b, 101);
	peerlimit_sess_set_pid(l, c, 102);
	assert_int_equal(count(l, "192.0.2.1"), 1);
	assert_int_equal(count(l, "::ffff:192.0.2.1"), 1);
	assert_int_equal(count(l, "192.0.2.2"), 0);
	/* One /64 is one client. */
	assert_int_equal(count(l, "2001:db8:1:2::77"), 2);
	assert_int_equal(count(l, "2001:db8:1:3::5"), 0);
	assert_true(claim(l, "192.0.2.9") >= 0);
	assert_int_equal(claim(l, "192.0.2.9"), -1);
	peerlimit_sess_release(l, 101);
	peerlimit_sess_release(l, 4242);
	assert_int_equal(count(l, "2001:db8:1:2::77"), 1);
	peerlimit_sess_free(l);
}

/* The key of an address given as text. */
static const unsigned char *
key_of(const char *text, unsigned char key[PEERLIMIT_KEY_LEN])
{
	struct sockaddr_storage	ss;

	assert_int_equal(peerlimit_key(addr(text, &ss), key), 0);
	return key;
}

/* A forked monitor moves its slot to the real client; the parent sees it. */
static void
test_rekey_from_child(void **state)
{
	struct peerlimit_sess	*l = peerlimit_sess_new(8);
	unsigned char		 k[PEERLIMIT_KEY_LEN];
	int			 s1, s2, status;
	pid_t			 pid;

	(void)state;
	s1 = claim(l, "127.0.0.1");
	peerlimit_sess_set_pid(l, s1, 200);
	assert_int_equal(peerlimit_sess_rekey(l, s1, key_of("198.51.100.7", k)),
	    1);
	s2 = claim(l, "127.0.0.1");
	if ((pid = fork()) == 0)
		_exit(peerlimit_sess_rekey(l, s2, key_of("198.51.100.7", k)) ==
		    2 ? 0 : 1);
	peerlimit_sess_set_pid(l, s2, pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count(l, "198.51.100.7"), 2);
	assert_int_equal(count(l, "127.0.0.1"), 0);
	peerlimit_sess_free(l);
}

/* Whether this process maps anything shared and writable. */
static int
maps_shared_writable(void)
{
	FILE	*f = fopen("/proc/self/maps", "r");
	char	 line[512], perm[8];
	int	 found = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "%*s %7s", perm) == 1 &&
		    strcmp(perm, "rw-s") == 0)
			found = 1;
	fclose(f);
	return found;
}

/*
 * A detached process keeps nothing of the table it could write: the
 * shared mapping is gone, and what it still counts is nothing.
 */
static void
test_detach(void **state)
{
	struct peerlimit_sess	*l = peerlimit_sess_new(4);
	int			 status;
	pid_t			 pid;

	(void)state;
	peerlimit_sess_set_pid(l, claim(l, "192.0.2.1"), 300);
	assert_true(maps_shared_writable());
	if ((pid = fork()) == 0) {
		peerlimit_sess_detach(l);
		_exit(!maps_shared_writable() &&
		    count(l, "192.0.2.1") == 0 &&
		    claim(l, "192.0.2.1") == -1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(count(l, "192.0.2.1"), 1);
	peerlimit_sess_free(l);
}

/* Only pids the listener set are signalled; a failed fork frees its slot. */
static void
test_signal_own_pids(void **state)
{
	struct peerlimit_sess	*l = peerlimit_sess_new(4);
	int			 s, status;
	pid_t			 pid;

	(void)state;
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	s = claim(l, "192.0.2.1");
	peerlimit_sess_set_pid(l, s, 0);
	assert_int_equal(count(l, "192.0.2.1"), 0);
	peerlimit_sess_set_pid(l, claim(l, "192.0.2.1"), pid);
	peerlimit_sess_signal_all(l, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	peerlimit_sess_free(l);
}

/* Lines of f holding s. */
static int
count_lines(FILE *f, const char *s)
{
	char	line[512];
	int	n = 0;

	rewind(f);
	while (fgets(line, sizeof(line), f) != NULL)
		n += strstr(line, s) != NULL;
	return n;
}

/* One refusal line per interval from the table; every one without it. */
static void
test_log_rate_limit(void **state)
{
	struct peerlimit_sess	*l = peerlimit_sess_new(1);
	FILE			*f = tmpfile();
	int			 i, saved = dup(2);

	(void)state;
	assert_non_null(f);
	assert_int_equal(dup2(fileno(f), 2), 2);
	for (i = 0; i < 6; i++)
		peerlimit_sess_log_refusal(l, "from the table");
	for (i = 0; i < 2; i++)
		peerlimit_sess_log_refusal(NULL, "without one");
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(count_lines(f, "refused a connection: from the "
	    "table"), 1);
	assert_int_equal(count_lines(f, "refused a connection: without one"),
	    2);
	fclose(f);
	peerlimit_sess_free(l);
}

/* Failed logins per address. */

#define BASE	SESSION_AUTH_FAIL_DELAY_MS

static unsigned
penalty(struct peerlimit_fail *f, const char *text, time_t now)
{
	struct sockaddr_storage	ss;

	return peerlimit_fail_penalty(f, addr(text, &ss), now);
}

static void
record(struct peerlimit_fail *f, const char *text, unsigned n, time_t now)
{
	struct sockaddr_storage	ss;

	peerlimit_fail_record(f, addr(text, &ss), n, now);
}

static int
track(struct peerlimit_fail *f, pid_t pid, const char *text)
{
	struct sockaddr_storage	ss;

	return peerlimit_fail_track(f, pid, addr(text, &ss));
}

static void
test_growth(void **state)
{
	(void)state;
	/* A first try from a clean address waits for nothing. */
	assert_int_equal(peerlimit_fail_wait_ms(0, 0, 30), 0);
	/* Doubling per earlier failure in the connection... */
	assert_int_equal(peerlimit_fail_wait_ms(0, 1, 30), BASE);
	assert_int_equal(peerlimit_fail_wait_ms(0, 2, 30), 2 * BASE);
	/* ...and per failure remembered from the address. */
	assert_int_equal(peerlimit_fail_wait_ms(1, 0, 30), BASE);
	assert_int_equal(peerlimit_fail_wait_ms(3, 0, 30), 4 * BASE);
	assert_int_equal(peerlimit_fail_wait_ms(2, 2, 30), 8 * BASE);
}

static void
test_cap(void **state)
{
	(void)state;
	assert_int_equal(peerlimit_fail_wait_ms(5, 0, 30), 16 * BASE);
	assert_int_equal(peerlimit_fail_wait_ms(6, 0, 30), 30 * 1000);
	assert_int_equal(peerlimit_fail_wait_ms(PEERLIMIT_FAIL_COUNT_MAX, 2,
	    30), 30 * 1000);
	/* Huge exponents neither overflow nor loop for long. */
	assert_int_equal(peerlimit_fail_wait_ms(4000000000U, 3, 300),
	    300 * 1000);
	/* A cap of one second keeps every wait at most that. */
	assert_int_equal(peerlimit_fail_wait_ms(PEERLIMIT_FAIL_COUNT_MAX, 2,
	    BASE / 1000), BASE);
	assert_int_equal(peerlimit_fail_wait_ms(2, 0, 3), 2 * BASE);
	assert_int_equal(peerlimit_fail_wait_ms(3, 0, 3), 3 * 1000);
}

static void
test_count_and_decay(void **state)
{
	struct peerlimit_fail	*f = peerlimit_fail_new(8, 1);
	const time_t		 t0 = 5000, h = PEERLIMIT_FAIL_HALF_LIFE;

	(void)state;
	assert_non_null(f);
	assert_int_equal(penalty(f, "192.0.2.1", t0), 0);
	record(f, "192.0.2.1", 3, t0);
	record(f, "192.0.2.1", 5, t0 + 10);
	assert_int_equal(penalty(f, "192.0.2.1", t0 + 10), 8);
	assert_int_equal(penalty(f, "192.0.2.2", t0 + 10), 0);
	/* Halves once a half-life has passed since the count began. */
	assert_int_equal(penalty(f, "192.0.2.1", t0 + h - 1), 8);
	assert_int_equal(penalty(f, "192.0.2.1", t0 + h), 4);
	assert_int_equal(penalty(f, "192.0.2.1", t0 + 2 * h + 1), 2);
	/* New failures add to what is left. */
	record(f, "192.0.2.1", 1, t0 + 2 * h + 1);
	assert_int_equal(penalty(f, "192.0.2.1", t0 + 2 * h + 1), 3);
	/* A clock that reads earlier changes nothing. */
	assert_int_equal(penalty(f, "192.0.2.1", t0), 3);
	/* Forgotten in the end. */
	assert_int_equal(penalty(f, "192.0.2.1", t0 + 4 * h), 0);
	assert_int_equal(penalty(f, "192.0.2.1", t0 + 100 * h), 0);
	/* The count stops at PEERLIMIT_FAIL_COUNT_MAX, however many come. */
	record(f, "192.0.2.3", 1000, t0);
	record(f, "192.0.2.3", 4000000000U, t0);
	assert_int_equal(penalty(f, "192.0.2.3", t0), PEERLIMIT_FAIL_COUNT_MAX);
	peerlimit_fail_free(f);
}

static void
test_v6_per_64_and_mapped_v4(void **state)
{
	struct peerlimit_fail	*f = peerlimit_fail_new(8, 1);

	(void)state;
	assert_non_null(f);
	record(f, "2001:db8:1:2::5", 2, 100);
	assert_int_equal(penalty(f, "2001:db8:1:2:ffff:1:2:3", 100), 2);
	assert_int_equal(penalty(f, "2001:db8:1:3::5", 100), 0);
	record(f, "198.51.100.7", 1, 100);
	assert_int_equal(penalty(f, "::ffff:198.51.100.7", 100), 1);
	assert_int_equal(penalty(f, "198.51.100.8", 100), 0);
	peerlimit_fail_free(f);
}

static void
test_bounded_eviction(void **state)
{
	struct peerlimit_fail	*f = peerlimit_fail_new(3, 1);
	char			 a[32];
	int			 i;

	(void)state;
	assert_non_null(f);
	record(f, "10.0.0.1", 4, 10);
	record(f, "10.0.0.2", 4, 20);
	record(f, "10.0.0.3", 4, 30);
	/* 10.0.0.1 fails again: now 10.0.0.2's last failure is the oldest. */
	record(f, "10.0.0.1", 1, 40);
	record(f, "10.0.0.4", 1, 50);
	assert_int_equal(penalty(f, "10.0.0.2", 50), 0);
	assert_int_equal(penalty(f, "10.0.0.1", 50), 5);
	assert_int_equal(penalty(f, "10.0.0.3", 50), 4);
	assert_int_equal(penalty(f, "10.0.0.4", 50), 1);
	/* A flood of new addresses keeps the table at its size. */
	for (i = 0; i < 1000; i++) {
		snprintf(a, sizeof(a), "10.1.%d.%d", i / 250, i % 250 + 1);
		record(f, a, 1, 100 + i);
	}
	assert_int_equal(penalty(f, "10.1.3.248", 1100), 1);
	assert_int_equal(penalty(f, "10.1.3.249", 1100), 1);
	assert_int_equal(penalty(f, "10.1.3.250", 1100), 1);
	assert_int_equal(penalty(f, "10.1.3.247", 1100), 0);
	assert_int_equal(penalty(f, "10.0.0.1", 1100), 0);
	peerlimit_fail_free(f);
}

/* A real child exits with code; returns its waitpid status. */
static int
child_status(int code)
{
	pid_t	pid;
	int	st;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(code);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static void
test_exit_status(void **state)
{
	unsigned	n;

	(void)state;
	/* No failures: the codes of old, 0 and 1. */
	assert_int_equal(peerlimit_fail_exit_code(1, 0), 0);
	assert_int_equal(peerlimit_fail_exit_code(0, 0), 1);
	for (n = 0; n <= 3; n++) {
		assert_int_equal(peerlimit_fail_exit_count(
		    child_status(peerlimit_fail_exit_code(1, n))), n);
		assert_int_equal(peerlimit_fail_exit_count(
		    child_status(peerlimit_fail_exit_code(0, n))), n);
	}
	assert_int_equal(peerlimit_fail_exit_count(
	    child_status(peerlimit_fail_exit_code(1, 99))), 15);
	/* Codes that others use mean no failures. */
	assert_int_equal(peerlimit_fail_exit_count(child_status(2)), 0);
	assert_int_equal(peerlimit_fail_exit_count(child_status(127)), 0);
	assert_int_equal(peerlimit_fail_exit_count(child_status(126)), 0);
}

static void
test_track_and_reap(void **state)
{
	struct peerlimit_fail	*f = peerlimit_fail_new(8, 2);
	pid_t			 pid;
	int			 st;

	(void)state;
	assert_non_null(f);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(peerlimit_fail_exit_code(1, 2));
	assert_int_equal(track(f, pid, "192.0.2.7"), 0);
	assert_int_equal(track(f, pid + 100000, "192.0.2.8"), 0);
	/* Both child slots in use. */
	assert_int_equal(track(f, pid + 200000, "192.0.2.9"), -1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	peerlimit_fail_reaped(f, pid, st, 10);
	assert_int_equal(penalty(f, "192.0.2.7", 10), 2);
	/* Reaped once: a second report for that pid is not counted. */
	peerlimit_fail_reaped(f, pid, st, 10);
	assert_int_equal(penalty(f, "192.0.2.7", 10), 2);
	/* Untracked pids and deaths by signal add nothing. */
	peerlimit_fail_reaped(f, pid + 300000, st, 10);
	peerlimit_fail_reaped(f, pid + 100000, SIGKILL, 10);
	assert_int_equal(penalty(f, "192.0.2.8", 10), 0);
	/* The slot freed at reap takes a new child. */
	assert_int_equal(track(f, pid + 200000, "192.0.2.9"), 0);
	peerlimit_fail_free(f);
}

/* Fork; whether the child has the table's first page mapped (mincore). */
static int
child_maps(struct peerlimit_fail *f)
{
	unsigned char	vec[1];
	pid_t		pid;
	int		st;

	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(mincore((void *)f, 1, vec) == 0 ? 0 :
		    errno == ENOMEM ? 1 : 2);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_not_equal(WEXITSTATUS(st), 2);
	return WEXITSTATUS(st) == 0;
}

/*
 * The listener writes the table after every fork; a child sharing it
 * would keep a page per write.  Once in use, a child has the table's
 * first page not mapped at all, while the parent's table still works;
 * a fork before (daemonizing) keeps it.
 */
static void
test_not_inherited(void **state)
{
	struct peerlimit_fail	*f;
	unsigned char		 vec[1];

	(void)state;
	f = peerlimit_fail_new(PEERLIMIT_FAIL_ADDRS, 1000);
	assert_non_null(f);
	/* The table starts its mapping: page-aligned, mapped here. */
	assert_int_equal(mincore((void *)f, 1, vec), 0);
	assert_true(child_maps(f));
	record(f, "192.0.2.1", 3, 10);
	assert_int_equal(penalty(f, "192.0.2.1", 10), 3);
	assert_false(child_maps(f));
	assert_int_equal(penalty(f, "192.0.2.1", 10), 3);
	peerlimit_fail_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_release),
		cmocka_unit_test(test_rekey_from_child),
		cmocka_unit_test(test_detach),
		cmocka_unit_test(test_signal_own_pids),
		cmocka_unit_test(test_log_rate_limit),
		cmocka_unit_test(test_growth),
		cmocka_unit_test(test_cap),
		cmocka_unit_test(test_count_and_decay),
		cmocka_unit_test(test_v6_per_64_and_mapped_v4),
		cmocka_unit_test(test_bounded_eviction),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_track_and_reap),
		cmocka_unit_test(test_not_inherited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
