/*
 * Unit tests of the per-address session table: IPv4 and IPv6 /64 keys,
 * claim and release, a session re-keying itself after a PROXY header,
 * and the rate limit on refusal log lines.
 */
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
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

/* The key of an address given as text. */
static const unsigned char *
key_of(const char *text, unsigned char key[IPLIMIT_KEY_LEN])
{
	struct sockaddr_storage	ss;

	assert_int_equal(iplimit_addr_key(addr(text, &ss), key), 0);
	return key;
}

/* A forked monitor moves its slot to the real client; the parent sees it. */
static void
test_rekey_from_child(void **state)
{
	struct iplimit		*l = iplimit_new(8);
	struct sockaddr_storage	 ss;
	unsigned char		 k[IPLIMIT_KEY_LEN];
	int			 s1, s2, status;
	pid_t			 pid;

	(void)state;
	s1 = iplimit_claim(l, addr("127.0.0.1", &ss));
	iplimit_set_pid(l, s1, 200);
	assert_int_equal(iplimit_rekey(l, s1, key_of("198.51.100.7", k)), 1);
	s2 = iplimit_claim(l, addr("127.0.0.1", &ss));
	if ((pid = fork()) == 0)
		_exit(iplimit_rekey(l, s2, key_of("198.51.100.7", k)) == 2 ?
		    0 : 1);
	iplimit_set_pid(l, s2, pid);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(iplimit_count(l, addr("198.51.100.7", &ss)), 2);
	assert_int_equal(iplimit_count(l, addr("127.0.0.1", &ss)), 0);
	iplimit_free(l);
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
	struct iplimit		*l = iplimit_new(4);
	struct sockaddr_storage	 ss;
	int			 status;
	pid_t			 pid;

	(void)state;
	iplimit_set_pid(l, iplimit_claim(l, addr("192.0.2.1", &ss)), 300);
	assert_true(maps_shared_writable());
	if ((pid = fork()) == 0) {
		iplimit_detach(l);
		_exit(!maps_shared_writable() &&
		    iplimit_count(l, addr("192.0.2.1", &ss)) == 0 &&
		    iplimit_claim(l, addr("192.0.2.1", &ss)) == -1 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(iplimit_count(l, addr("192.0.2.1", &ss)), 1);
	iplimit_free(l);
}

/* Only pids the listener set are signalled; a failed fork frees its slot. */
static void
test_signal_own_pids(void **state)
{
	struct iplimit		*l = iplimit_new(4);
	struct sockaddr_storage	 ss;
	int			 s, status;
	pid_t			 pid;

	(void)state;
	if ((pid = fork()) == 0) {
		pause();
		_exit(0);
	}
	s = iplimit_claim(l, addr("192.0.2.1", &ss));
	iplimit_set_pid(l, s, 0);
	assert_int_equal(iplimit_count(l, addr("192.0.2.1", &ss)), 0);
	iplimit_set_pid(l, iplimit_claim(l, addr("192.0.2.1", &ss)), pid);
	iplimit_signal_all(l, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	iplimit_free(l);
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
	struct iplimit	*l = iplimit_new(1);
	FILE		*f = tmpfile();
	int		 i, saved = dup(2);

	(void)state;
	assert_non_null(f);
	assert_int_equal(dup2(fileno(f), 2), 2);
	for (i = 0; i < 6; i++)
		iplimit_log_refusal(l, "from the table");
	for (i = 0; i < 2; i++)
		iplimit_log_refusal(NULL, "without one");
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(count_lines(f, "refused a connection: from the "
	    "table"), 1);
	assert_int_equal(count_lines(f, "refused a connection: without one"),
	    2);
	fclose(f);
	iplimit_free(l);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
