/*
 * Unit tests for the configuration reader (conf.c): defaults, every key
 * with good and bad values, the file:line error format, and the mailbox
 * template.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

static char	tdir[] = "/tmp/test_conf.XXXXXX";
static char	cpath[PATH_MAX];
static char	err[512];

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tdir) == NULL)
		return -1;
	snprintf(cpath, sizeof(cpath), "%s/pop3d.conf", tdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(cpath);
	rmdir(tdir);
	return 0;
}

/* Write text (len bytes) as the config file. */
static void
write_conf_len(const char *text, size_t len)
{
	FILE	*fp;

	fp = fopen(cpath, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

/* Load text over the defaults.  Returns conf_load's result. */
static int
load(const char *text, struct conf *c)
{
	write_conf_len(text, strlen(text));
	conf_defaults(c);
	err[0] = '\0';
	return conf_load(c, cpath, err, sizeof(err));
}

/* Loading text must fail with "path:line: " and contain want. */
static void
load_fails(const char *text, int line, const char *want)
{
	struct conf	c;
	char		prefix[PATH_MAX + 32];

	if (load(text, &c) != -1)
		fail_msg("accepted: %s", text);
	snprintf(prefix, sizeof(prefix), "%s:%d: ", cpath, line);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error '%s' lacks prefix '%s'", err, prefix);
	if (want != NULL && strstr(err, want) == NULL)
		fail_msg("error '%s' lacks '%s'", err, want);
}

static void
test_defaults(void **state)
{
	struct conf	c;

	(void)state;
	conf_defaults(&c);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].host, "*");
	assert_string_equal(c.listen[0].port, "110");
	assert_string_equal(c.passwd_file, "/etc/pop3d/passwd");
	assert_string_equal(c.mailbox, "/var/mail/%u");
	assert_int_equal(c.expire_never, 0);
	assert_int_equal(c.idle_timeout, DEFAULT_IDLE_TIMEOUT);
	assert_int_equal(c.mbox_format, MBOX_MBOXO);
	assert_int_equal(c.nlocks, 2);
	assert_int_equal(c.mbox_locks[0], LOCK_FCNTL);
	assert_int_equal(c.mbox_locks[1], LOCK_DOTLOCK);
	assert_int_equal(c.lock_timeout, DEFAULT_LOCK_TIMEOUT);
	assert_int_equal(c.max_sessions, DEFAULT_MAX_SESSIONS);
	assert_string_equal(c.user, "");
	assert_int_equal(c.apop, 0);
	assert_string_equal(c.apop_file, "/etc/pop3d/apop");
}

static void
test_empty_and_comments(void **state)
{
	struct conf	c, d;

	(void)state;
	assert_int_equal(load("", &c), 0);
	assert_string_equal(c.file, cpath);
	conf_defaults(&d);
	memcpy(d.file, c.file, sizeof(d.file));
	assert_memory_equal(&c, &d, sizeof(c));

	assert_int_equal(load("# comment\n\n   \n\t# indented comment\n"
	    "  expire never  \r\n#expire 0\n\tidle_timeout\t\t30\t\n"
	    "max_sessions 7", &c), 0);
	assert_int_equal(c.expire_never, 1);
	assert_int_equal(c.idle_timeout, 30);
	assert_int_equal(c.max_sessions, 7);
}

static void
test_every_key(void **state)
{
	struct conf	c;

	(void)state;
	assert_int_equal(load(
	    "listen 127.0.0.1:1100\n"
	    "passwd_file /srv/pop 3d/passwd#1\n"
	    "mailbox /home/%u/mbox%%\n"
	    "expire 0\n"
	    "idle_timeout 86400\n"
	    "mbox_format mboxrd\n"
	    "mbox_locks dotlock \t fcntl\n"
	    "lock_timeout 3600\n"
	    "max_sessions 100000\n"
	    "user _pop3d\n"
	    "apop yes\n"
	    "apop_file /etc/pop3d/apop.secrets\n", &c), 0);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].host, "127.0.0.1");
	assert_string_equal(c.listen[0].port, "1100");
	/* A '#' in a value is part of it; inner blanks stay. */
	assert_string_equal(c.passwd_file, "/srv/pop 3d/passwd#1");
	assert_string_equal(c.mailbox, "/home/%u/mbox%%");
	assert_int_equal(c.expire_never, 0);
	assert_int_equal(c.idle_timeout, 86400);
	assert_int_equal(c.mbox_format, MBOX_MBOXRD);
	assert_int_equal(c.nlocks, 2);
	assert_int_equal(c.mbox_locks[0], LOCK_DOTLOCK);
	assert_int_equal(c.mbox_locks[1], LOCK_FCNTL);
	assert_int_equal(c.lock_timeout, 3600);
	assert_int_equal(c.max_sessions, 100000);
	assert_string_equal(c.user, "_pop3d");
	assert_int_equal(c.apop, 1);
	assert_string_equal(c.apop_file, "/etc/pop3d/apop.secrets");

	assert_int_equal(load("mbox_locks fcntl\nmbox_format mboxo\n"
	    "apop no\nexpire never\n", &c), 0);
	assert_int_equal(c.nlocks, 1);
	assert_int_equal(c.mbox_locks[0], LOCK_FCNTL);
	assert_int_equal(c.mbox_format, MBOX_MBOXO);
	assert_int_equal(c.apop, 0);
	assert_int_equal(c.expire_never, 1);
}

static void
test_listen_forms(void **state)
{
	struct conf	c;

	(void)state;
	assert_int_equal(load("listen [::1]:110\nlisten *:995\n"
	    "listen 10.0.0.1:00110\nlisten [0:0::1]:111\n", &c), 0);
	assert_int_equal(c.nlisten, 4);
	assert_string_equal(c.listen[0].host, "::1");
	assert_string_equal(c.listen[0].port, "110");
	assert_string_equal(c.listen[1].host, "*");
	assert_string_equal(c.listen[1].port, "995");
	assert_string_equal(c.listen[2].host, "10.0.0.1");
	assert_string_equal(c.listen[2].port, "110");
	/* Stored in canonical form. */
	assert_string_equal(c.listen[3].host, "::1");
	assert_string_equal(c.listen[3].port, "111");
}

static void
test_listen_bad(void **state)
{
	(void)state;
	load_fails("listen 127.0.0.1:0\n", 1, "out of range");
	load_fails("listen 127.0.0.1:65536\n", 1, "out of range");
	load_fails("listen 127.0.0.1:99999999999999999999999\n", 1,
	    "out of range");
	load_fails("listen 127.0.0.1:110x\n", 1, "not a number");
	load_fails("listen 127.0.0.1:+110\n", 1, "not a number");
	load_fails("listen 127.0.0.1:-1\n", 1, "not a number");
	load_fails("listen 127.0.0.1:\n", 1, NULL);
	load_fails("listen 127.0.0.1\n", 1, NULL);
	load_fails("listen :110\n", 1, NULL);
	load_fails("listen localhost:110\n", 1, "numeric");
	load_fails("listen 127.0.0.256:110\n", 1, "numeric");
	load_fails("listen ::1:110\n", 1, "brackets");
	load_fails("listen [::1]110\n", 1, NULL);
	load_fails("listen [::1:110\n", 1, NULL);
	load_fails("listen [*]:110\n", 1, NULL);
	load_fails("listen [127.0.0.1]:110\n", 1, NULL);
	load_fails("listen 127.0.0.1:110 extra\n", 1, NULL);
	load_fails("listen "
	    "[0000:0000:0000:0000:0000:0000:0000:0000:0000:0000:0001]:1\n", 1,
	    NULL);
	load_fails("\nlisten *:110\nlisten *:110\n", 3, "twice");
	load_fails("listen [::1]:110\nlisten [0::1]:110\n", 2, "twice");
}

static void
test_listen_many(void **state)
{
	struct conf	c;
	char		text[CONF_LISTEN_MAX * 32 + 64];
	size_t		len = 0;
	int		i;

	(void)state;
	for (i = 0; i < CONF_LISTEN_MAX; i++)
		len += snprintf(text + len, sizeof(text) - len,
		    "listen 127.0.0.1:%d\n", 2000 + i);
	assert_int_equal(load(text, &c), 0);
	assert_int_equal(c.nlisten, CONF_LISTEN_MAX);
	assert_string_equal(c.listen[CONF_LISTEN_MAX - 1].port, "2015");
	snprintf(text + len, sizeof(text) - len, "listen 127.0.0.1:3000\n");
	load_fails(text, CONF_LISTEN_MAX + 1, "listen");
}

static void
test_unknown_and_missing(void **state)
{
	(void)state;
	load_fails("# ok\n\nfrobnicate yes\n", 3, "unknown key 'frobnicate'");
	load_fails("Expire 0\n", 1, "unknown key");
	load_fails("expire\n", 1, "missing value");
	load_fails("expire   \t \n", 1, "missing value");
	load_fails("idle_timeout=600\n", 1, "unknown key");
	load_fails("expire 0\nexpire never\n", 2, "twice");
}

static void
test_numbers(void **state)
{
	struct conf	c;

	(void)state;
	load_fails("idle_timeout 600s\n", 1, "not a number");
	load_fails("idle_timeout -5\n", 1, "not a number");
	load_fails("idle_timeout +5\n", 1, "not a number");
	load_fails("idle_timeout 0x10\n", 1, "not a number");
	load_fails("idle_timeout 6 00\n", 1, "not a number");
	load_fails("idle_timeout 0\n", 1, "out of range");
	load_fails("idle_timeout 86401\n", 1, "out of range");
	load_fails("idle_timeout 18446744073709551617\n", 1, "out of range");
	load_fails("lock_timeout 0\n", 1, "out of range");
	load_fails("lock_timeout 3601\n", 1, "out of range");
	load_fails("max_sessions 0\n", 1, "out of range");
	load_fails("max_sessions 100001\n", 1, "out of range");
	assert_int_equal(load("idle_timeout 1\nlock_timeout 1\n"
	    "max_sessions 1\n", &c), 0);
	assert_int_equal(c.idle_timeout, 1);
	assert_int_equal(c.lock_timeout, 1);
	assert_int_equal(c.max_sessions, 1);
	assert_int_equal(load("idle_timeout 0000600\n", &c), 0);
	assert_int_equal(c.idle_timeout, 600);
}

static void
test_words(void **state)
{
	struct conf	c;

	(void)state;
	load_fails("expire 1\n", 1, "expected 0 or never");
	load_fails("expire NEVER\n", 1, "expected 0 or never");
	load_fails("expire 0 never\n", 1, NULL);
	load_fails("mbox_format mboxcl2\n", 1, "mboxo or mboxrd");
	load_fails("apop maybe\n", 1, "yes or no");
	load_fails("apop yes please\n", 1, "yes or no");
	load_fails("mbox_locks flock\n", 1, "not supported");
	load_fails("mbox_locks fcntl flock\n", 1, "not supported");
	load_fails("mbox_locks fcntl fcntl\n", 1, "twice");
	load_fails("mbox_locks fcntl dotlock fcntl\n", 1, "twice");
	load_fails("mbox_locks lockf\n", 1, "unknown method");
	load_fails("user root\n", 1, "root");
	load_fails("user ../etc\n", 1, "not a valid user name");
	load_fails("user a b\n", 1, "not a valid user name");
	load_fails("user -x\n", 1, "not a valid user name");
	/* AUTH_NAME_MAX (64) characters pass, 65 do not. */
	load_fails("user aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", 1, "not a valid user name");
	assert_int_equal(load("user aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", &c), 0);
	assert_int_equal(strlen(c.user), AUTH_NAME_MAX);
}

static void
test_paths(void **state)
{
	struct conf	c;
	char		text[PATH_MAX + 64];

	(void)state;
	load_fails("passwd_file etc/passwd\n", 1, "absolute");
	load_fails("apop_file ./apop\n", 1, "absolute");
	load_fails("mailbox var/mail/%u\n", 1, "absolute");
	load_fails("mailbox /var/mail/%s\n", 1, "%");
	load_fails("mailbox /var/mail/%U\n", 1, "%");
	load_fails("mailbox /var/mail/%\n", 1, "%");
	load_fails("mailbox /var/mail/%%%\n", 1, "%");
	/* A template without %u (one shared mailbox) is allowed. */
	assert_int_equal(load("mailbox /var/mail/shared\n", &c), 0);
	assert_string_equal(c.mailbox, "/var/mail/shared");
	/* A PATH_MAX path can't be stored (and the line is too long). */
	snprintf(text, sizeof(text), "passwd_file /%0*d\n", PATH_MAX, 0);
	load_fails(text, 1, NULL);
}

static void
test_line_limits(void **state)
{
	struct conf	c;
	char		text[CONF_LINE_MAX + 64];

	(void)state;
	/* Exactly CONF_LINE_MAX bytes before the newline is accepted. */
	memset(text, 'x', sizeof(text));
	memcpy(text, "passwd_file /", 13);
	text[CONF_LINE_MAX] = '\n';
	text[CONF_LINE_MAX + 1] = '\0';
	assert_int_equal(load(text, &c), 0);
	assert_int_equal(strlen(c.passwd_file), CONF_LINE_MAX - 12);
	text[CONF_LINE_MAX] = 'x';
	text[CONF_LINE_MAX + 1] = '\n';
	text[CONF_LINE_MAX + 2] = '\0';
	load_fails(text, 1, "longer than");

	write_conf_len("expire 0\nexpire\0 never\n", 23);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, cpath, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: NUL"));
}

static void
test_failed_load_keeps_conf(void **state)
{
	struct conf	 c, before;
	const char	*t = "listen 127.0.0.1:2110\nmax_sessions 5\nbogus 1\n";

	(void)state;
	write_conf_len(t, strlen(t));
	conf_defaults(&c);
	before = c;
	assert_int_equal(conf_load(&c, cpath, err, sizeof(err)), -1);
	assert_memory_equal(&c, &before, sizeof(c));
	/* A tiny or absent error buffer is not overrun. */
	err[0] = 'Z';
	err[1] = 'Z';
	assert_int_equal(conf_load(&c, cpath, err, 1), -1);
	assert_int_equal(err[0], '\0');
	assert_int_equal(err[1], 'Z');
	assert_int_equal(conf_load(&c, cpath, NULL, 0), -1);
}

static void
test_missing_file(void **state)
{
	struct conf	c;
	char		path[PATH_MAX + 16], want[PATH_MAX + 64];

	(void)state;
	snprintf(path, sizeof(path), "%s/absent.conf", tdir);
	conf_defaults(&c);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	assert_string_equal(err, want);
	/* A directory opens but can't be read. */
	assert_int_equal(conf_load(&c, tdir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, tdir));
}

static void
test_template(void **state)
{
	char	out[32];

	(void)state;
	assert_int_equal(conf_mailbox_path("/var/mail/%u", "alice", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/var/mail/alice");
	assert_int_equal(conf_mailbox_path("/m/%u/%u.%%", "b", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/m/b/b.%");
	assert_int_equal(conf_mailbox_path("/shared", "b", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "/shared");
	assert_int_equal(conf_mailbox_path("/%x/%u", "b", out,
	    sizeof(out)), -1);
	assert_int_equal(conf_mailbox_path("/a/%", "b", out, sizeof(out)), -1);
	/* 31 characters fit in 32 bytes; 32 do not. */
	assert_int_equal(conf_mailbox_path("/var/mail/%u",
	    "abcdefghijklmnopqrstu", out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 31);
	assert_int_equal(conf_mailbox_path("/var/mail/%u",
	    "abcdefghijklmnopqrstuv", out, sizeof(out)), -1);
	assert_int_equal(conf_mailbox_path("/var/mail/%%%%%%%%%%%%%%%%%%%%%%%",
	    "x", out, 20), -1);
	assert_int_equal(conf_mailbox_path("", "x", out, 1), 0);
	assert_string_equal(out, "");
	assert_int_equal(conf_mailbox_path("", "x", out, 0), -1);
}

/*
 * pop3d.conf.example loads as it is, and with every "#key value" line
 * uncommented it still gives exactly the defaults: the documented
 * defaults are the real ones.
 */
static void
test_example_file(void **state)
{
	struct conf	 c, d;
	char		 path[PATH_MAX], line[CONF_LINE_MAX + 2], *slash;
	char		 text[16384];
	size_t		 len = 0;
	int		 keys = 0;
	FILE		*fp;

	(void)state;
	snprintf(path, sizeof(path), "%s", __FILE__);
	slash = strrchr(path, '/');
	snprintf(slash != NULL ? slash + 1 : path,
	    sizeof(path) - (slash != NULL ? slash + 1 - path : 0),
	    "../pop3d.conf.example");
	conf_defaults(&c);
	if (conf_load(&c, path, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (line[0] == '#' && line[1] >= 'a' && line[1] <= 'z') {
			memmove(line, line + 1, strlen(line));
			keys++;
		}
		len += snprintf(text + len, sizeof(text) - len, "%s", line);
		assert_true(len < sizeof(text));
	}
	fclose(fp);
	/* Every key but user, whose default (none) can't be written. */
	assert_int_equal(keys, 11);
	if (load(text, &c) == -1)
		fail_msg("%s", err);
	conf_defaults(&d);
	memcpy(d.file, c.file, sizeof(d.file));
	assert_memory_equal(&c, &d, sizeof(c));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_listen_bad),
		cmocka_unit_test(test_listen_many),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_failed_load_keeps_conf),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_example_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
