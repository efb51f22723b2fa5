/*
 * Unit tests of the failed-login table (peerlimit.c): the delay's growth
 * and cap, halving with time on an injected clock, IPv6 /64 grouping,
 * eviction when full, the exit status that carries a connection's
 * failures from a real child process to its parent, and a table that a
 * forked child does not get.
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

#include "peerlimit.h"
#include "net_testutil.h"
#include "params.h"

#define BASE	SESSION_AUTH_FAIL_DELAY_MS

static unsigned
penalty(struct faildelay *f, const char *text, time_t now)
{
	struct sockaddr_storage	ss;

	return faildelay_penalty(f, addr(text, &ss), now);
}

static void
record(struct faildelay *f, const char *text, unsigned n, time_t now)
{
	struct sockaddr_storage	ss;

	faildelay_record(f, addr(text, &ss), n, now);
}

static void
test_growth(void **state)
{
	(void)state;
	/* A first try from a clean address waits for nothing. */
	assert_int_equal(faildelay_wait_ms(0, 0, 30), 0);
	/* Doubling per earlier failure in the connection... */
	assert_int_equal(faildelay_wait_ms(0, 1, 30), BASE);
	assert_int_equal(faildelay_wait_ms(0, 2, 30), 2 * BASE);
	/* ...and per failure remembered from the address. */
	assert_int_equal(faildelay_wait_ms(1, 0, 30), BASE);
	assert_int_equal(faildelay_wait_ms(3, 0, 30), 4 * BASE);
	assert_int_equal(faildelay_wait_ms(2, 2, 30), 8 * BASE);
}

static void
test_cap(void **state)
{
	(void)state;
	assert_int_equal(faildelay_wait_ms(5, 0, 30), 16 * BASE);
	assert_int_equal(faildelay_wait_ms(6, 0, 30), 30 * 1000);
	assert_int_equal(faildelay_wait_ms(FAILDELAY_COUNT_MAX, 2, 30),
	    30 * 1000);
	/* Huge exponents neither overflow nor loop for long. */
	assert_int_equal(faildelay_wait_ms(4000000000U, 3, 300), 300 * 1000);
	/* A cap of one second keeps every wait at most that. */
	assert_int_equal(faildelay_wait_ms(FAILDELAY_COUNT_MAX, 2,
	    BASE / 1000), BASE);
	assert_int_equal(faildelay_wait_ms(2, 0, 3), 2 * BASE);
	assert_int_equal(faildelay_wait_ms(3, 0, 3), 3 * 1000);
}

static void
test_count_and_decay(void **state)
{
	struct faildelay	*f = faildelay_new(8, 1);
	const time_t		 t0 = 5000, h = FAILDELAY_HALF_LIFE;

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
	/* The count stops at FAILDELAY_COUNT_MAX, however many come. */
	record(f, "192.0.2.3", 1000, t0);
	record(f, "192.0.2.3", 4000000000U, t0);
	assert_int_equal(penalty(f, "192.0.2.3", t0), FAILDELAY_COUNT_MAX);
	faildelay_free(f);
}

static void
test_v6_per_64_and_mapped_v4(void **state)
{
	struct faildelay	*f = faildelay_new(8, 1);

	(void)state;
	assert_non_null(f);
	record(f, "2001:db8:1:2::5", 2, 100);
	assert_int_equal(penalty(f, "2001:db8:1:2:ffff:1:2:3", 100), 2);
	assert_int_equal(penalty(f, "2001:db8:1:3::5", 100), 0);
	record(f, "198.51.100.7", 1, 100);
	assert_int_equal(penalty(f, "::ffff:198.51.100.7", 100), 1);
	assert_int_equal(penalty(f, "198.51.100.8", 100), 0);
	faildelay_free(f);
}

static void
test_bounded_eviction(void **state)
{
	struct faildelay	*f = faildelay_new(3, 1);
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
	faildelay_free(f);
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
	assert_int_equal(faildelay_exit_code(1, 0), 0);
	assert_int_equal(faildelay_exit_code(0, 0), 1);
	for (n = 0; n <= 3; n++) {
		assert_int_equal(faildelay_exit_failures(
		    child_status(faildelay_exit_code(1, n))), n);
		assert_int_equal(faildelay_exit_failures(
		    child_status(faildelay_exit_code(0, n))), n);
	}
	assert_int_equal(faildelay_exit_failures(
	    child_status(faildelay_exit_code(1, 99))), 15);
	/* Codes that others use mean no failures. */
	assert_int_equal(faildelay_exit_failures(child_status(2)), 0);
	assert_int_equal(faildelay_exit_failures(child_status(127)), 0);
	assert_int_equal(faildelay_exit_failures(child_status(126)), 0);
}

static void
test_track_and_reap(void **state)
{
	struct faildelay	*f = faildelay_new(8, 2);
	struct sockaddr_storage	 ss;
	pid_t			 pid;
	int			 st;

	(void)state;
	assert_non_null(f);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0)
		_exit(faildelay_exit_code(1, 2));
	assert_int_equal(faildelay_track(f, pid, addr("192.0.2.7", &ss)), 0);
	assert_int_equal(faildelay_track(f, pid + 100000,
	    addr("192.0.2.8", &ss)), 0);
	/* Both child slots in use. */
	assert_int_equal(faildelay_track(f, pid + 200000,
	    addr("192.0.2.9", &ss)), -1);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	faildelay_reaped(f, pid, st, 10);
	assert_int_equal(penalty(f, "192.0.2.7", 10), 2);
	/* Reaped once: a second report for that pid is not counted. */
	faildelay_reaped(f, pid, st, 10);
	assert_int_equal(penalty(f, "192.0.2.7", 10), 2);
	/* Untracked pids and deaths by signal add nothing. */
	faildelay_reaped(f, pid + 300000, st, 10);
	faildelay_reaped(f, pid + 100000, SIGKILL, 10);
	assert_int_equal(penalty(f, "192.0.2.8", 10), 0);
	/* The slot freed at reap takes a new child. */
	assert_int_equal(faildelay_track(f, pid + 200000,
	    addr("192.0.2.9", &ss)), 0);
	faildelay_free(f);
}

/* Fork; whether the child has the table's first page mapped (mincore). */
static int
child_maps(struct faildelay *f)
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
	struct faildelay	*f = faildelay_new(FAILDELAY_ADDRS, 1000);
	unsigned char		 vec[1];

	(void)state;
	assert_non_null(f);
	/* The table starts its mapping: page-aligned, mapped here. */
	assert_int_equal(mincore((void *)f, 1, vec), 0);
	assert_true(child_maps(f));
	record(f, "192.0.2.1", 3, 10);
	assert_int_equal(penalty(f, "192.0.2.1", 10), 3);
	assert_false(child_maps(f));
	assert_int_equal(penalty(f, "192.0.2.1", 10), 3);
	faildelay_free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
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
