/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests for the configuration reader (conf.c): defaults, every key
 * with good and bad values, the file:line error format, and the mailbox
 * template; conf_print (pop3d -n) read back, and conf_key_line.
 */
#include <sys/mman.h>
#include <sys/socket.h>

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
	assert_int_equal(c.uidl_compat, UIDL_COMPAT_NONE);
	assert_int_equal(c.nlocks, 2);
	assert_int_equal(c.mbox_locks[0], LOCK_FCNTL);
	assert_int_equal(c.mbox_locks[1], LOCK_DOTLOCK);
	assert_int_equal(c.lock_timeout, DEFAULT_LOCK_TIMEOUT);
	assert_int_equal(c.max_sessions, DEFAULT_MAX_SESSIONS);
	assert_string_equal(c.user, "pop3d");
	assert_string_equal(c.chroot, "/var/empty");
	assert_int_equal(c.auth, PWCHECK_PASSWD);
	assert_int_equal(c.apop, 0);
	assert_string_equal(c.apop_file, "/etc/pop3d/apop");
	assert_int_equal(c.sandbox, 1);
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
	    "apop no\nexpire never\nsandbox no\n", &c), 0);
	assert_int_equal(c.nlocks, 1);
	assert_int_equal(c.mbox_locks[0], LOCK_FCNTL);
	assert_int_equal(c.mbox_format, MBOX_MBOXO);
	assert_int_equal(c.apop, 0);
	assert_int_equal(c.expire_never, 1);
	assert_int_equal(c.sandbox, 0);

	/* flock is a delivery lock like the others, in any order */
	assert_int_equal(load("mbox_locks flock dotlock fcntl\n"
	    "mbox_format mboxcl2\n", &c), 0);
	assert_int_equal(c.nlocks, 3);
	assert_int_equal(c.mbox_locks[0], LOCK_FLOCK);
	assert_int_equal(c.mbox_locks[1], LOCK_DOTLOCK);
	assert_int_equal(c.mbox_locks[2], LOCK_FCNTL);
	assert_int_equal(c.mbox_format, MBOX_MBOXCL2);

	assert_int_equal(load("uidl_compat dovecot\n", &c), 0);
	assert_int_equal(c.uidl_compat, UIDL_COMPAT_DOVECOT);
	assert_int_equal(load("uidl_compat popa3d\n", &c), 0);
	assert_int_equal(c.uidl_compat, UIDL_COMPAT_POPA3D);
	assert_int_equal(load("uidl_compat none\n", &c), 0);
	assert_int_equal(c.uidl_compat, UIDL_COMPAT_NONE);
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
	load_fails("mbox_format mboxcl\n", 1, "mboxo, mboxrd or mboxcl2");
	load_fails("uidl_compat Dovecot\n", 1, "none, dovecot or popa3d");
	load_fails("uidl_compat qpopper\n", 1, "none, dovecot or popa3d");
	load_fails("apop maybe\n", 1, "yes or no");
	load_fails("apop yes please\n", 1, "yes or no");
	load_fails("sandbox off\n", 1, "yes or no");
	load_fails("mbox_locks flock flock\n", 1, "twice");
	load_fails("mbox_locks fcntl flock dotlock fcntl\n", 1, "twice");
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

/* The privilege separation and password backend keys. */
static void
test_privsep_keys(void **state)
{
	struct conf	c;

	(void)state;
	assert_int_equal(load("auth pam\nchroot /run/pop3d/empty\n", &c), 0);
	assert_int_equal(c.auth, PWCHECK_PAM);
	assert_string_equal(c.chroot, "/run/pop3d/empty");
	assert_int_equal(load("auth checkpassword\n"
	    "checkpassword /usr/local/bin/checkpw\n", &c), 0);
	assert_int_equal(c.auth, PWCHECK_CHECKPASSWORD);
	assert_string_equal(c.checkpassword, "/usr/local/bin/checkpw");
	assert_int_equal(load("auth passwd\n", &c), 0);
	assert_int_equal(c.auth, PWCHECK_PASSWD);
	load_fails("auth ldap\n", 1, "expected passwd, pam or checkpassword");
	load_fails("auth PAM\n", 1, "expected passwd, pam or checkpassword");
	assert_int_equal(load("auth checkpassword\n", &c), -1);
	assert_non_null(strstr(err, "needs a checkpassword line"));
	load_fails("checkpassword bin/checkpw\n", 1, "not an absolute path");
	load_fails("chroot /\n", 1, "no jail");
	load_fails("chroot var/empty\n", 1, "not an absolute path");
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
	/*
	 * Every key but tls_cert, tls_key, tls_sni, checkpassword (no
	 * default) and listen_tls (its default follows tls_cert),
	 * proxy_trusted (none).
	 */
	assert_int_equal(keys, 26);
	if (load(text, &c) == -1)
		fail_msg("%s", err);
	conf_defaults(&d);
	memcpy(d.file, c.file, sizeof(d.file));
	assert_memory_equal(&c, &d, sizeof(c));
}

/* Process model keys: pidfile, shutdown, per-address limit, PROXY, delay. */
static void
test_ops_keys(void **state)
{
	struct conf	c;

	(void)state;
	assert_int_equal(load("passwd_file /p\n", &c), 0);
	assert_string_equal(c.pidfile, "");
	assert_int_equal(c.shutdown_timeout, DEFAULT_SHUTDOWN_TIMEOUT);
	assert_int_equal(c.max_sessions_per_ip, DEFAULT_MAX_SESSIONS_PER_IP);
	assert_int_equal(c.nproxy_trusted, 0);
	assert_int_equal(c.login_delay, 0);
	assert_int_equal(c.auth_fail_delay_max, DEFAULT_AUTH_FAIL_DELAY_MAX);
	assert_int_equal(load("pidfile /run/pop3d.pid\nshutdown_timeout 0\n"
	    "max_sessions_per_ip 0\nlogin_delay 900\nauth_fail_delay_max 1\n"
	    "proxy_trusted 10.0.0.0/8 2001:db8::/32\n"
	    "proxy_trusted\t192.0.2.7\n", &c), 0);
	assert_string_equal(c.pidfile, "/run/pop3d.pid");
	assert_int_equal(c.shutdown_timeout, 0);
	assert_int_equal(c.max_sessions_per_ip, 0);
	assert_int_equal(c.login_delay, 900);
	assert_int_equal(c.auth_fail_delay_max, 1);
	assert_int_equal(c.nproxy_trusted, 3);
	assert_int_equal(c.proxy_trusted[1].family, AF_INET6);
	assert_int_equal(c.proxy_trusted[1].prefix, 32);
	assert_int_equal(c.proxy_trusted[2].prefix, 32);
	assert_int_equal(load("pidfile none\n", &c), 0);
	assert_string_equal(c.pidfile, "");
	load_fails("pidfile run/pop3d.pid\n", 1, "absolute");
	load_fails("shutdown_timeout 3601\n", 1, NULL);
	load_fails("login_delay -1\n", 1, NULL);
	load_fails("auth_fail_delay_max 0\n", 1, NULL);
	load_fails("auth_fail_delay_max 301\n", 1, NULL);
	load_fails("max_sessions_per_ip 1x\n", 1, NULL);
	load_fails("login_timeout 0\n", 1, NULL);
	load_fails("login_timeout 3601\n", 1, NULL);
	/* Unset, the per-address limit leaves room for four addresses... */
	assert_int_equal(c.login_timeout, DEFAULT_LOGIN_TIMEOUT);
	assert_int_equal(load("max_sessions 20\n", &c), 0);
	assert_int_equal(c.max_sessions_per_ip, 5);
	assert_int_equal(load("max_sessions 2\n", &c), 0);
	assert_int_equal(c.max_sessions_per_ip, 1);
	/* ...set, it is the admin's, whatever max_sessions is. */
	assert_int_equal(load("max_sessions 20\nmax_sessions_per_ip 20\n"
	    "login_timeout 5\n", &c), 0);
	assert_int_equal(c.max_sessions_per_ip, 20);
	assert_int_equal(c.login_timeout, 5);
	load_fails("proxy_trusted 10.0.0.1/8\n", 1, "10.0.0.1/8");
	load_fails("proxy_trusted 10.0.0.0/8 haproxy.local\n", 1,
	    "haproxy.local");
	load_fails("#\nproxy_trusted 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 "
	    "1.1.1.5 1.1.1.6 1.1.1.7 1.1.1.8\nproxy_trusted 1.1.1.9 1.1.1.10 "
	    "1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 1.1.1.15 1.1.1.16 "
	    "1.1.1.17\n", 3, "more than 16");
}

/*
 * TLS keys: listen_tls and its default, tls_sni, plaintext_auth, and the
 * rules between keys checked once the file is read.
 */
static void
test_tls_keys(void **state)
{
	struct conf	c;

	(void)state;
	assert_int_equal(load("passwd_file /p\n", &c), 0);
	assert_int_equal(c.nlisten_tls, 0);
	assert_int_equal(c.plaintext_auth, PLAINTEXT_LOCAL);
	assert_string_equal(c.tls_ciphers, "default");
	assert_int_equal(c.tls_handshake_timeout, DEFAULT_TLS_HANDSHAKE_TIMEOUT);

	/* A certificate brings implicit TLS on *:995 unless told otherwise. */
	assert_int_equal(load("tls_cert /c\ntls_key /k\n", &c), 0);
	assert_int_equal(c.nlisten_tls, 1);
	assert_string_equal(c.listen_tls[0].host, "*");
	assert_string_equal(c.listen_tls[0].port, "995");
	assert_int_equal(load("tls_cert /c\ntls_key /k\nlisten_tls none\n",
	    &c), 0);
	assert_int_equal(c.nlisten_tls, 0);
	assert_int_equal(load("tls_cert /c\ntls_key /k\n"
	    "listen_tls 127.0.0.1:1995\nlisten_tls [::1]:1995\n"
	    "tls_sni *.example.org /s.crt /s.key\n"
	    "tls_sni  mail.example.net\t/n.crt   /n.key\n"
	    "plaintext_auth no\ntls_handshake_timeout 5\n"
	    "tls_ciphers default TLS-RSA-WITH-AES-128-GCM-SHA256\n", &c), 0);
	assert_int_equal(c.nlisten_tls, 2);
	assert_string_equal(c.listen_tls[1].host, "::1");
	assert_int_equal(c.nsni, 2);
	assert_string_equal(c.sni[0].name, "*.example.org");
	assert_string_equal(c.sni[1].name, "mail.example.net");
	assert_string_equal(c.sni[1].cert, "/n.crt");
	assert_string_equal(c.sni[1].key, "/n.key");
	assert_int_equal(c.plaintext_auth, PLAINTEXT_NO);
	assert_int_equal(c.tls_handshake_timeout, 5);
	assert_string_equal(c.tls_ciphers,
	    "default TLS-RSA-WITH-AES-128-GCM-SHA256");
}

static void
test_tls_keys_bad(void **state)
{
	struct conf	c;

	(void)state;
	load_fails("plaintext_auth maybe\n", 1, "no, local or yes");
	load_fails("tls_cert c.pem\n", 1, "absolute");
	load_fails("tls_handshake_timeout 0\n", 1, "out of range");
	load_fails("tls_sni a.org /c\n", 1, "NAME CERT KEY");
	load_fails("tls_sni a.org /c /k /x\n", 1, "NAME CERT KEY");
	load_fails("tls_sni a*.org /c /k\n", 1, "not a host name");
	load_fails("tls_sni *.*.org /c /k\n", 1, "not a host name");
	load_fails("tls_sni *org /c /k\n", 1, "not a host name");
	load_fails("tls_sni a/b /c /k\n", 1, "not a host name");
	load_fails("listen 127.0.0.1:110\nlisten_tls 127.0.0.1:110\n", 2,
	    "given twice");
	load_fails("listen_tls none\nlisten_tls 127.0.0.1:995\n", 2,
	    "none must be the only");
	load_fails("listen_tls 127.0.0.1:995\nlisten_tls none\n", 2,
	    "none must be the only");
	/* Rules between keys name the file, not a line. */
	assert_int_equal(load("tls_cert /c\n", &c), -1);
	assert_non_null(strstr(err, "tls_cert and tls_key go together"));
	assert_null(strstr(err, ":0:"));
	assert_int_equal(load("listen_tls 127.0.0.1:995\n", &c), -1);
	assert_non_null(strstr(err, "listen_tls needs tls_cert"));
	assert_int_equal(load("tls_sni a.org /c /k\n", &c), -1);
	assert_non_null(strstr(err, "tls_sni needs tls_cert"));
	assert_int_equal(load("tls_cert /c\ntls_key /k\nlisten *:995\n",
	    &c), -1);
	assert_non_null(strstr(err, "default listen_tls"));
}

/*
 * conf_new's structure is the defaults plus the file, byte for byte what
 * conf_defaults and conf_load make; a bad file gives NULL and the same
 * "path:line: message".
 */
static void
test_new_same_as_load(void **state)
{
	const char	*t = "listen 127.0.0.1:2110\ntls_cert /c\ntls_key /k\n"
			    "pidfile /run/p.pid\nmax_sessions 5\n";
	struct conf	*n, c;

	(void)state;
	assert_int_equal(load(t, &c), 0);
	n = conf_new(cpath, err, sizeof(err));
	assert_non_null(n);
	assert_memory_equal(n, &c, sizeof(c));
	conf_free(n);

	write_conf_len("max_sessions 5\nbogus 1\n", 24);
	err[0] = '\0';
	assert_null(conf_new(cpath, err, sizeof(err)));
	assert_non_null(strstr(err, ":2: "));
	assert_null(conf_new(cpath, NULL, 0));
	conf_free(NULL);
}

/*
 * The daemon keeps conf_new's structure for its life, in every process:
 * of its pages (27 of 4 kB) only those holding set fields may have been
 * written, which mincore shows as the resident ones.  Clearing it whole,
 * as conf_defaults does, would make every page resident.
 */
static void
test_new_writes_few_pages(void **state)
{
	const char	*t = "tls_cert /etc/pop3d/cert.pem\n"
			    "tls_key /etc/pop3d/key.pem\npidfile /run/p.pid\n";
	struct conf	*n;
	unsigned char	*vec;
	size_t		 pg = (size_t)getpagesize(), npages, i, in = 0;

	(void)state;
	if (pg != 4096)
		skip();	/* the count below is for 4 kB pages */
	npages = (sizeof(*n) + pg - 1) / pg;
	assert_non_null(vec = malloc(npages));
	write_conf_len(t, strlen(t));
	n = conf_new(cpath, err, sizeof(err));
	assert_non_null(n);
	assert_int_equal(mincore(n, npages * pg, vec), 0);
	for (i = 0; i < npages; i++)
		in += vec[i] & 1;
	/* Each PATH_MAX field set is a page (file, passwd_file, mailbox,
	   chroot, apop_file, tls_cert, tls_key, pidfile), plus the few
	   holding the numbers and short names. */
	if (in > npages / 2)
		fail_msg("%zu of %zu pages written", in, npages);
	assert_string_equal(n->tls_key, "/etc/pop3d/key.pem");
	conf_free(n);
	free(vec);
}

/*
 * Print c with conf_print into the scratch directory, then load the
 * printout over fresh defaults into out.  Returns conf_load's result;
 * the printout stays in text (size bytes).
 */
static int
print_and_reload(const struct conf *c, struct conf *out, char *text,
    size_t size)
{
	char	ppath[PATH_MAX];
	FILE	*fp;
	size_t	 n;
	int	 rc;

	snprintf(ppath, sizeof(ppath), "%s/printed.conf", tdir);
	fp = fopen(ppath, "w+");
	assert_non_null(fp);
	conf_print(c, fp);
	rewind(fp);
	n = fread(text, 1, size - 1, fp);
	text[n] = '\0';
	assert_int_equal(fclose(fp), 0);
	conf_defaults(out);
	rc = conf_load(out, ppath, err, sizeof(err));
	unlink(ppath);
	return rc;
}

/* c printed and read back is c again, byte for byte but its file name. */
static void
assert_round_trip(const struct conf *c)
{
	static struct conf	back;
	static char		text[16384];

	if (print_and_reload(c, &back, text, sizeof(text)) != 0)
		fail_msg("printout does not parse: %s\n%s", err, text);
	memcpy(back.file, c->file, sizeof(back.file));
	if (memcmp(&back, c, sizeof(*c)) != 0)
		fail_msg("printout reads back differently:\n%s", text);
}

static void
test_print_round_trip(void **state)
{
	static struct conf	c;

	(void)state;
	assert_int_equal(load("", &c), 0);
	assert_round_trip(&c);
	assert_int_equal(load(
	    "listen 127.0.0.1:1100\nlisten [::1]:1100\n"
	    "passwd_file /srv/pop 3d/passwd#1\n"
	    "mailbox /home/%u/mbox%%\n"
	    "expire never\nidle_timeout 86400\nmbox_format mboxcl2\n"
	    "mbox_locks flock dotlock\nlock_timeout 3600\n"
	    "max_sessions 1000\nuser _pop3d\nmail_group none\n"
	    "chroot /var/lib/pop3d/empty\nauth checkpassword\n"
	    "checkpassword /usr/bin/checkpw\napop yes\n"
	    "apop_file /etc/pop3d/apop.secrets\n"
	    "tls_cert /c\ntls_key /k\nlisten_tls [::1]:1995\n"
	    "tls_sni *.example.org /s.crt /s.key\n"
	    "tls_sni mail.example.net /n.crt /n.key\n"
	    "tls_ciphers default TLS-RSA-WITH-AES-128-GCM-SHA256\n"
	    "tls_handshake_timeout 5\nplaintext_auth yes\n"
	    "pidfile /run/pop3d.pid\nshutdown_timeout 0\n"
	    "max_sessions_per_ip 0\nlogin_timeout 5\n"
	    "proxy_trusted 192.0.2.0/24 2001:db8::/32\nproxy_trusted 10.0.0.1\n"
	    "login_delay 300\nauth_fail_delay_max 1\nsandbox no\n", &c), 0);
	assert_round_trip(&c);
	/* Defaults that follow from other keys: TLS's *:995, per-address. */
	assert_int_equal(load("tls_cert /c\ntls_key /k\nmax_sessions 8\n"
	    "listen none\nauth pam\npidfile none\n", &c), 0);
	assert_round_trip(&c);
}

/*
 * Every key the parser takes is in the printout, as a setting or as a
 * "not set" comment: a key added to conf_keys without a printer fails.
 */
static void
test_print_every_key(void **state)
{
	static struct conf	c, back;
	static char		text[16384];
	char			want[128], unset[128];
	const char		*key;
	size_t			 i;

	(void)state;
	assert_int_equal(load("", &c), 0);
	assert_int_equal(print_and_reload(&c, &back, text, sizeof(text)), 0);
	for (i = 0; (key = conf_key_name(i)) != NULL; i++) {
		snprintf(want, sizeof(want), "\n%s ", key);
		snprintf(unset, sizeof(unset), "\n# %s (not set)\n", key);
		if (strstr(text, want) == NULL && strstr(text, unset) == NULL)
			fail_msg("%s is not in the printout:\n%s", key, text);
	}
	assert_true(i >= 31);
	assert_null(strstr(text, "no printer"));
}

/* conf_key_line: the last line setting a key; 0 for a default. */
static void
test_key_line(void **state)
{
	static struct conf	c;

	(void)state;
	assert_int_equal(load("# comment\n\n  mailbox /m/%u\n"
	    "listen 127.0.0.1:1\nlisten 127.0.0.1:2\n", &c), 0);
	assert_int_equal(conf_key_line(&c, "mailbox"), 3);
	assert_int_equal(conf_key_line(&c, "listen"), 5);
	assert_int_equal(conf_key_line(&c, "passwd_file"), 0);
	assert_int_equal(conf_key_line(&c, "mail"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_empty_and_comments),
		cmocka_unit_test(test_every_key),
		cmocka_unit_test(test_print_round_trip),
		cmocka_unit_test(test_print_every_key),
		cmocka_unit_test(test_key_line),
		cmocka_unit_test(test_listen_forms),
		cmocka_unit_test(test_listen_bad),
		cmocka_unit_test(test_listen_many),
		cmocka_unit_test(test_unknown_and_missing),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_paths),
		cmocka_unit_test(test_privsep_keys),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_failed_load_keeps_conf),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_template),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_ops_keys),
		cmocka_unit_test(test_tls_keys),
		cmocka_unit_test(test_tls_keys_bad),
		cmocka_unit_test(test_new_same_as_load),
		cmocka_unit_test(test_new_writes_few_pages),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
