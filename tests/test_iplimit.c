/*
 * Unit tests of the per-address session table: IPv4 and IPv6 /64 keys,
 * claim and release, a session re-keying itself after a PROXY header,
 * and the rate limit on refusal log lines.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "iplimit.h"
#include "net_testutil.h"

static void
test_keys_and_release(void **state)
{
	struct iplimit		*l = iplimit_new(4);
	struct sockaddr_storage	 ss;
	int			 a, b, c;

	(void)state;
	assert_non_null(l);
	a = iplimit_claim(l, addr("192.0.2.1", &ss));
	b = iplimit_claim(l, addr("2001:db8:1:2::5", &ss));
	c = iplimit_claim(l, addr("2001:db8:1:2:ffff::9", &ss));
	assert_true(a >= 0 && b >= 0 && c >= 0);
	iplimit_set_pid(l, a, 100);
	iplimit_set_pid(l, b, 101);
	iplimit_set_pid(l, c, 102);
	assert_int_equal(iplimit_count(l, addr("192.0.2.1", &ss)), 1);
	assert_int_equal(iplimit_count(l, addr("::ffff:192.0.2.1", &ss)), 1);
	assert_int_equal(iplimit_count(l, addr("192.0.2.2", &ss)), 0);
	/* One /64 is one client. */
	assert_int_equal(iplimit_count(l, addr("2001:db8:1:2::77", &ss)), 2);
	assert_int_equal(iplimit_count(l, addr("2001:db8:1:3::5", &ss)), 0);
	assert_true(iplimit_claim(l, addr("192.0.2.9", &ss)) >= 0);
	assert_int_equal(iplimit_claim(l, addr("192.0.2.9", &ss)), -1);
	iplimit_release(l, 101);
	iplimit_release(l, 4242);
	assert_int_equal(iplimit_count(l, addr("2001:db8:1:2::77", &ss)), 1);
	iplimit_free(l);
}

/* A forked session moves its slot to the real client; the parent sees it. */
static void
test_rekey_from_child(void **state)
{
	struct iplimit		*l = iplimit_new(8);
	struct sockaddr_storage	 ss;
	int			 s1, s2, status;
	pid_t			 pid;

	(void)state;
	s1 = iplimit_claim(l, addr("127.0.0.1", &ss));
	iplimit_set_pid(l, s1, 200);
	assert_int_equal(iplimit_rekey(l, s1, addr("198.51.100.7", &ss)), 1);
	s2 = iplimit_claim(l, addr("127.0.0.1", &ss));
	if ((pid = fork()) == 0)
		_exit(iplimit_rekey(l, s2, addr("198.51.100.7", &ss)) == 2 ?
		    0 : 1);
	iplimit_set_pid(l, s2, pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(iplimit_count(l, addr("198.51.100.7", &ss)), 2);
	assert_int_equal(iplimit_count(l, addr("127.0.0.1", &ss)), 0);
	iplimit_free(l);
}

static void
test_log_rate_limit(void **state)
{
	struct iplimit	*l = iplimit_new(1);
	int		 i;

	(void)state;
	assert_int_equal(iplimit_may_log(l), 0);
	for (i = 0; i < 5; i++)
		assert_int_equal(iplimit_may_log(l), -1);
	iplimit_free(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_and_release),
		cmocka_unit_test(test_rekey_from_child),
		cmocka_unit_test(test_log_rate_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
