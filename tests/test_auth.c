/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests for auth.c (passwd file, APOP file) and log.c (line
 * sanitizing), with real crypt(3) hashes made at start-up.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/md5.h>

#include "auth.h"
#include "conf.h"
#include "log.h"

static char		tdir[] = "/tmp/test_auth.XXXXXX";
static char		passwd_path[PATH_MAX], apop_path[PATH_MAX];
static char		log_path[PATH_MAX];
static struct conf	conf;
static int		have_bcrypt;

static const char	stamp[] = "<1896.697170952@dbc.mtview.ca.us>";

/* Hash pass with a fresh salt for the method prefix ("$6$"...). */
static const char *
hash(const char *prefix, const char *pass)
{
	static char	out[16][CRYPT_OUTPUT_SIZE];
	static int	n;
	const char	*salt, *h;

	if ((salt = crypt_gensalt(prefix, 0, NULL, 0)) == NULL)
		return NULL;
	if ((h = crypt(pass, salt)) == NULL || h[0] == '*')
		return NULL;
	n = (n + 1) % 16;
	snprintf(out[n], sizeof(out[n]), "%s", h);
	return out[n];
}

static void
write_file(const char *path, const char *text)
{
	FILE	*fp;

	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

/*
 * The fixture passwd file.  Line numbers matter to test_malformed_logged:
 * the malformed lines are 9 to 16.
 */
static void
write_passwd(void)
{
	char		 text[8192];
	const char	*h6 = hash("$6$", "alice pw");
	const char	*hy = hash("$y$", "bob secret");
	const char	*hb = hash("$2b$", "carol pw");

	assert_non_null(h6);
	assert_non_null(hy);
	have_bcrypt = hb != NULL;
	snprintf(text, sizeof(text),
	    "# pop3d users\n"					/* 1 */
	    "\n"						/* 2 */
	    "alice:%s\n"					/* 3 */
	    "bob:%s:1000:1001\n"				/* 4 */
	    "carol:%s:::\n"					/* 5 */
	    "dave:%s:::%s/dave:box\n"				/* 6 */
	    "erin:%s:2000:2001:%s/erin.mbox\r\n"		/* 7 */
	    "spacey:%s\n"					/* 8 */
	    "nocolon\n"						/* 9 */
	    "eve:%s:12\n"					/* 10 */
	    "frank:%s:abc:1\n"					/* 11 */
	    "../evil:%s\n"					/* 12 */
	    "gina:%s:0:0\n"					/* 13 */
	    "hank:%s:::relative/box\n"				/* 14 */
	    "ivan:%s:5:\n"					/* 15 */
	    ":%s\n"						/* 16 */
	    "locked1:!%s\n"					/* 17 */
	    "locked2:*\n"					/* 18 */
	    "locked3:\n"					/* 19 */
	    "alice:%s\n"					/* 20 */
	    "paul:%s:3000:3001\n"				/* 21 */
	    "odd:$99$unsupported\n",				/* 22 */
	    h6, hy, hb != NULL ? hb : h6, h6, tdir, h6, tdir,
	    hash("$6$", "  pass with  spaces "),
	    h6, h6, h6, h6, h6, h6, h6,
	    hash("$6$", "locked pw"), hash("$6$", "other"),
	    hash("$6$", "paul pw"));
	write_file(passwd_path, text);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(tdir) == NULL)
		return -1;
	snprintf(passwd_path, sizeof(passwd_path), "%s/passwd", tdir);
	snprintf(apop_path, sizeof(apop_path), "%s/apop", tdir);
	snprintf(log_path, sizeof(log_path), "%s/log", tdir);
	write_passwd();
	write_file(apop_path, "# APOP secrets\n"
	    "paul:tanstaaf\n"
	    "quinn:with:colon and space\n"
	    "bad line\n"
	    "../x:secret\n"
	    "empty:\n"
	    "paul:second secret ignored\n");
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[PATH_MAX + 16];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Fresh conf for each test: our files, a template in tdir, APOP off. */
static int
conf_reset(void **state)
{
	(void)state;
	conf_defaults(&conf);
	snprintf(conf.passwd_file, sizeof(conf.passwd_file), "%s",
	    passwd_path);
	snprintf(conf.apop_file, sizeof(conf.apop_file), "%s", apop_path);
	snprintf(conf.mailbox, sizeof(conf.mailbox), "%s/spool/%%u", tdir);
	return 0;
}

static int
check(const char *user, const char *pass, struct auth_user *who)
{
	memset(who, 0x55, sizeof(*who));
	return auth_passwd(&conf, user, pass, who);
}

/* hex(MD5(stamp secret)), computed with mbedTLS directly. */
static void
apop_digest(const char *secret, char *hex)
{
	unsigned char	buf[256], d[16];
	size_t		n = strlen(stamp), i;

	memcpy(buf, stamp, n);
	memcpy(buf + n, secret, strlen(secret));
	n += strlen(secret);
	assert_int_equal(mbedtls_md5_ret(buf, n, d), 0);
	for (i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

/*
 * Run fn with stderr going to log_path; returns what was logged (static).
 */
static const char *
capture_log(void (*fn)(void))
{
	static char	out[8192];
	int		fd, saved;
	ssize_t		n;

	fflush(stderr);
	saved = dup(2);
	fd = open(log_path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0 && saved >= 0);
	dup2(fd, 2);
	fn();
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	n = pread(fd, out, sizeof(out) - 1, 0);
	close(fd);
	out[n > 0 ? n : 0] = '\0';
	return out;
}

static void
test_name_ok(void **state)
{
	char	name[AUTH_NAME_MAX + 2];

	(void)state;
	assert_true(auth_name_ok("alice"));
	assert_true(auth_name_ok("a.b-c_d@example.org+tag"));
	assert_true(auth_name_ok("Z9"));
	assert_false(auth_name_ok(NULL));
	assert_false(auth_name_ok(""));
	assert_false(auth_name_ok("."));
	assert_false(auth_name_ok(".."));
	assert_false(auth_name_ok("../etc/passwd"));
	assert_false(auth_name_ok("a/b"));
	assert_false(auth_name_ok("/abs"));
	assert_false(auth_name_ok(".hidden"));
	assert_false(auth_name_ok("-opt"));
	assert_false(auth_name_ok("a b"));
	assert_false(auth_name_ok("a:b"));
	assert_false(auth_name_ok("a%b"));
	assert_false(auth_name_ok("a\nb"));
	assert_false(auth_name_ok("\xc3\xa9t\xc3\xa9"));
	memset(name, 'a', sizeof(name));
	name[AUTH_NAME_MAX] = '\0';
	assert_true(auth_name_ok(name));
	name[AUTH_NAME_MAX] = 'a';
	name[AUTH_NAME_MAX + 1] = '\0';
	assert_false(auth_name_ok(name));
}

static void
test_passwd_good(void **state)
{
	struct auth_user	who;
	char			want[PATH_MAX + 32];

	(void)state;
	/* SHA-512, template mailbox, no ids. */
	assert_int_equal(check("alice", "alice pw", &who), AUTH_OK);
	assert_string_equal(who.name, "alice");
	assert_int_equal(who.has_ids, 0);
	snprintf(want, sizeof(want), "%s/spool/alice", tdir);
	assert_string_equal(who.mailbox, want);
	assert_string_equal(auth_last_reason(), "ok");
	/* yescrypt with ids. */
	assert_int_equal(check("bob", "bob secret", &who), AUTH_OK);
	assert_int_equal(who.has_ids, 1);
	assert_int_equal(who.uid, 1000);
	assert_int_equal(who.gid, 1001);
	snprintf(want, sizeof(want), "%s/spool/bob", tdir);
	assert_string_equal(who.mailbox, want);
	/* bcrypt (when libcrypt has it), empty ids and mailbox fields. */
	assert_int_equal(check("carol", "carol pw", &who), AUTH_OK);
	assert_int_equal(who.has_ids, 0);
	snprintf(want, sizeof(want), "%s/spool/carol", tdir);
	assert_string_equal(who.mailbox, want);
	if (!have_bcrypt)
		print_message("note: no bcrypt in libcrypt, used $6$\n");
	/* Spaces inside and around the password are part of it. */
	assert_int_equal(check("spacey", "  pass with  spaces ", &who),
	    AUTH_OK);
	assert_int_equal(check("spacey", "pass with  spaces", &who),
	    AUTH_FAIL);
}

static void
test_passwd_mailbox_field(void **state)
{
	struct auth_user	who;
	char			want[PATH_MAX + 32];

	(void)state;
	/* A mailbox field without ids, holding a ':'. */
	assert_int_equal(check("dave", "alice pw", &who), AUTH_OK);
	assert_int_equal(who.has_ids, 0);
	snprintf(want, sizeof(want), "%s/dave:box", tdir);
	assert_string_equal(who.mailbox, want);
	/* ids and mailbox, on a CRLF line. */
	assert_int_equal(check("erin", "alice pw", &who), AUTH_OK);
	assert_int_equal(who.has_ids, 1);
	assert_int_equal(who.uid, 2000);
	assert_int_equal(who.gid, 2001);
	snprintf(want, sizeof(want), "%s/erin.mbox", tdir);
	assert_string_equal(who.mailbox, want);
}

static void
test_passwd_fail(void **state)
{
	struct auth_user	who;

	(void)state;
	assert_int_equal(check("alice", "alice PW", &who), AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "wrong password");
	assert_int_equal(check("alice", "", &who), AUTH_FAIL);
	assert_int_equal(check("alice", "alice pw ", &who), AUTH_FAIL);
	/* The second alice line is ignored: its password does not work. */
	assert_int_equal(check("alice", "other", &who), AUTH_FAIL);
	assert_int_equal(check("bob", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("nobody", "alice pw", &who), AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "unknown user");
	assert_int_equal(check("Alice", "alice pw", &who), AUTH_FAIL);
}

static void
test_passwd_locked(void **state)
{
	struct auth_user	who;

	(void)state;
	assert_int_equal(check("locked1", "locked pw", &who), AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "account locked");
	/* Not even the literal hash text gets in. */
	assert_int_equal(check("locked2", "*", &who), AUTH_FAIL);
	assert_int_equal(check("locked3", "", &who), AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "account locked");
}

static void
test_passwd_bad_names(void **state)
{
	struct auth_user	who;

	(void)state;
	assert_int_equal(check("../evil", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("a/b", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("..", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("alice\n", "alice pw", &who), AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "unknown user");
}

static void
test_passwd_malformed_skipped(void **state)
{
	struct auth_user	who;

	(void)state;
	/* Users on malformed lines can't log in; the lines after work. */
	assert_int_equal(check("eve", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("frank", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("gina", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("hank", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("ivan", "alice pw", &who), AUTH_FAIL);
	assert_int_equal(check("paul", "paul pw", &who), AUTH_OK);
	assert_int_equal(who.uid, 3000);
}

static void
run_malformed(void)
{
	struct auth_user	who;

	/* Duplicates are reported for the user being looked up. */
	assert_int_equal(auth_passwd(&conf, "alice", "s3cret-pw", &who),
	    AUTH_FAIL);
}

static void
test_malformed_logged(void **state)
{
	const char	*log;
	char		 want[PATH_MAX + 32];
	int		 line;

	(void)state;
	log = capture_log(run_malformed);
	for (line = 9; line <= 16; line++) {
		snprintf(want, sizeof(want), "%s:%d: ", passwd_path, line);
		if (strstr(log, want) == NULL)
			fail_msg("no warning for line %d in:\n%s", line, log);
	}
	snprintf(want, sizeof(want), "%s:20: alice listed again", passwd_path);
	assert_non_null(strstr(log, want));
	/* Good lines are not reported, and passwords never appear. */
	snprintf(want, sizeof(want), "%s:3:", passwd_path);
	assert_null(strstr(log, want));
	assert_null(strstr(log, "s3cret"));
	assert_null(strstr(log, "$6$"));
}

static void
test_passwd_unsupported_hash(void **state)
{
	struct auth_user	who;

	(void)state;
	assert_int_equal(check("odd", "x", &who), AUTH_TEMPFAIL);
	assert_string_equal(auth_last_reason(), "unsupported hash");
}

static void
test_passwd_missing(void **state)
{
	struct auth_user	who;

	(void)state;
	snprintf(conf.passwd_file, sizeof(conf.passwd_file), "%s/absent",
	    tdir);
	assert_int_equal(check("alice", "alice pw", &who), AUTH_TEMPFAIL);
	assert_int_equal(check("nobody", "x", &who), AUTH_TEMPFAIL);
	/* A directory opens but does not read. */
	snprintf(conf.passwd_file, sizeof(conf.passwd_file), "%s", tdir);
	assert_int_equal(check("alice", "alice pw", &who), AUTH_TEMPFAIL);
}

static void
test_passwd_no_usable_hash(void **state)
{
	struct auth_user	who;
	char			path[PATH_MAX - 64], text[512];

	(void)state;
	/* Unknown users still cost a crypt(3) call, on the built-in dummy. */
	snprintf(path, sizeof(path), "%s/passwd.locked", tdir);
	write_file(path, "x:*\ny:!\n");
	snprintf(conf.passwd_file, sizeof(conf.passwd_file), "%s", path);
	assert_int_equal(check("nobody", "pw", &who), AUTH_FAIL);
	assert_int_equal(check("x", "*", &who), AUTH_FAIL);
	write_file(path, "");
	assert_int_equal(check("x", "", &who), AUTH_FAIL);
	/* A first hash crypt(3) rejects does not break anything. */
	snprintf(text, sizeof(text), "odd:$99$x\nnew:%s\n",
	    hash("$6$", "new pw"));
	write_file(path, text);
	assert_int_equal(check("nobody", "pw", &who), AUTH_FAIL);
	assert_int_equal(check("new", "new pw", &who), AUTH_OK);
}

/* The fastest of 5 calls: preemption can only make a call slower. */
static double
seconds(const char *user, const char *pass)
{
	struct auth_user	who;
	struct timespec		a, b;
	double			t, best = 1e9;
	int			i;

	for (i = 0; i < 5; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		(void)auth_passwd(&conf, user, pass, &who);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

/*
 * Unknown, invalid and locked users cost a crypt(3) call like a real one.
 * Without it they would be hundreds of times faster; the bound is loose
 * so that a busy machine can't make the test fail.
 */
static void
test_passwd_timing(void **state)
{
	double	known;

	(void)state;
	known = seconds("alice", "wrong");
	if (seconds("nobody", "wrong") < known / 4 ||
	    seconds("../x", "wrong") < known / 4 ||
	    seconds("locked1", "wrong") < known / 4)
		fail_msg("a failed lookup is much faster than a real one");
}

static void
test_template_overflow(void **state)
{
	struct auth_user	who;

	(void)state;
	/* A template that expands past PATH_MAX can't give a mailbox. */
	memset(conf.mailbox, 'm', sizeof(conf.mailbox));
	conf.mailbox[0] = '/';
	memcpy(conf.mailbox + sizeof(conf.mailbox) - 4, "%u", 3);
	assert_int_equal(check("alice", "alice pw", &who), AUTH_TEMPFAIL);
}

static void
test_apop_good(void **state)
{
	struct auth_user	who;
	char			hex[33], want[PATH_MAX + 32];
	size_t			i;

	(void)state;
	conf.apop = 1;
	apop_digest("tanstaaf", hex);
	/* paul is in the passwd file: ids from there. */
	assert_int_equal(auth_apop(&conf, "paul", stamp, hex, &who), AUTH_OK);
	assert_string_equal(who.name, "paul");
	assert_int_equal(who.has_ids, 1);
	assert_int_equal(who.uid, 3000);
	assert_int_equal(who.gid, 3001);
	snprintf(want, sizeof(want), "%s/spool/paul", tdir);
	assert_string_equal(who.mailbox, want);
	/* quinn is not: the template and no ids. */
	apop_digest("with:colon and space", hex);
	assert_int_equal(auth_apop(&conf, "quinn", stamp, hex, &who),
	    AUTH_OK);
	assert_int_equal(who.has_ids, 0);
	snprintf(want, sizeof(want), "%s/spool/quinn", tdir);
	assert_string_equal(who.mailbox, want);
	/* Upper-case hex is accepted too. */
	for (i = 0; i < 32; i++)
		if (hex[i] >= 'a')
			hex[i] -= 'a' - 'A';
	assert_int_equal(auth_apop(&conf, "quinn", stamp, hex, &who),
	    AUTH_OK);
}

static void
test_apop_fail(void **state)
{
	struct auth_user	who;
	char			hex[33], bad[34];

	(void)state;
	conf.apop = 1;
	apop_digest("tanstaaf", hex);
	/* The digest depends on the timestamp. */
	assert_int_equal(auth_apop(&conf, "paul", "<1.2@x>", hex, &who),
	    AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "wrong APOP digest");
	memcpy(bad, hex, 33);
	bad[31] = bad[31] == '0' ? '1' : '0';
	assert_int_equal(auth_apop(&conf, "paul", stamp, bad, &who), AUTH_FAIL);
	bad[31] = 'g';
	assert_int_equal(auth_apop(&conf, "paul", stamp, bad, &who), AUTH_FAIL);
	memcpy(bad, hex, 33);
	bad[31] = '\0';
	assert_int_equal(auth_apop(&conf, "paul", stamp, bad, &who), AUTH_FAIL);
	memcpy(bad, hex, 33);
	strcat(bad, "0");
	assert_int_equal(auth_apop(&conf, "paul", stamp, bad, &who), AUTH_FAIL);
	assert_int_equal(auth_apop(&conf, "paul", stamp, "", &who), AUTH_FAIL);
	/* Only the first paul line counts. */
	apop_digest("second secret ignored", hex);
	assert_int_equal(auth_apop(&conf, "paul", stamp, hex, &who), AUTH_FAIL);
	/* Not listed, or listed only on a malformed line. */
	apop_digest("secret", hex);
	assert_int_equal(auth_apop(&conf, "alice", stamp, hex, &who),
	    AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "unknown user");
	assert_int_equal(auth_apop(&conf, "../x", stamp, hex, &who),
	    AUTH_FAIL);
	apop_digest("", hex);
	assert_int_equal(auth_apop(&conf, "empty", stamp, hex, &who),
	    AUTH_FAIL);
	assert_int_equal(auth_apop(&conf, "nobody", stamp, hex, &who),
	    AUTH_FAIL);
	/* APOP disabled: even a right digest fails. */
	conf.apop = 0;
	apop_digest("tanstaaf", hex);
	assert_int_equal(auth_apop(&conf, "paul", stamp, hex, &who), AUTH_FAIL);
}

static void
test_apop_excludes_pass(void **state)
{
	struct auth_user	who;

	(void)state;
	/* RFC 1939 section 13: an APOP user can't use USER/PASS. */
	conf.apop = 1;
	assert_int_equal(check("paul", "paul pw", &who), AUTH_FAIL);
	assert_string_equal(auth_last_reason(),
	    "APOP-only user tried USER/PASS");
	assert_int_equal(check("alice", "alice pw", &who), AUTH_OK);
	/* With APOP off the APOP file plays no part. */
	conf.apop = 0;
	assert_int_equal(check("paul", "paul pw", &who), AUTH_OK);
}

static void
test_apop_missing_file(void **state)
{
	struct auth_user	who;
	char			hex[33];

	(void)state;
	conf.apop = 1;
	snprintf(conf.apop_file, sizeof(conf.apop_file), "%s/absent", tdir);
	apop_digest("tanstaaf", hex);
	assert_int_equal(auth_apop(&conf, "paul", stamp, hex, &who),
	    AUTH_TEMPFAIL);
	/* PASS can't tell whether the user is APOP-only either. */
	assert_int_equal(check("alice", "alice pw", &who), AUTH_TEMPFAIL);
	/* The passwd file is needed for the ids even for APOP. */
	snprintf(conf.apop_file, sizeof(conf.apop_file), "%s", apop_path);
	snprintf(conf.passwd_file, sizeof(conf.passwd_file), "%s/absent",
	    tdir);
	assert_int_equal(auth_apop(&conf, "paul", stamp, hex, &who),
	    AUTH_TEMPFAIL);
}

static void
test_apop_locked_in_passwd(void **state)
{
	struct auth_user	who;
	char			path[PATH_MAX - 64], hex[33];

	(void)state;
	snprintf(path, sizeof(path), "%s/passwd.lockpaul", tdir);
	write_file(path, "paul:!\n");
	snprintf(conf.passwd_file, sizeof(conf.passwd_file), "%s", path);
	conf.apop = 1;
	apop_digest("tanstaaf", hex);
	assert_int_equal(auth_apop(&conf, "paul", stamp, hex, &who),
	    AUTH_FAIL);
	assert_string_equal(auth_last_reason(), "account locked");
}

static void
test_wipe(void **state)
{
	char	buf[64];
	size_t	i;

	(void)state;
	memset(buf, 'x', sizeof(buf));
	auth_wipe(buf + 8, 32);
	for (i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], i >= 8 && i < 40 ? 0 : 'x');
}

static void
run_hostile_log(void)
{
	log_session("s1\n");
	log_warnx("login failed for %s", "evil\r\npop3d[1]: fake line\x1b[2J\x7f");
	errno = ENOENT;
	log_warn("open %s", "box");
	log_info("info %d", 42);
	log_debug("hidden %d", 1);
	log_verbose(1);
	log_debug("shown %d", 2);
	log_verbose(0);
	log_session(NULL);
	errno = EACCES;
	log_warn("no prefix");
	assert_int_equal(errno, EACCES);
}

static void
test_log_lines(void **state)
{
	const char	*log, *p;
	int		 lines = 0;

	(void)state;
	log = capture_log(run_hostile_log);
	for (p = log; *p != '\0'; p++)
		if (*p == '\n')
			lines++;
	/* One call, one line, whatever the message holds. */
	if (lines != 5)
		fail_msg("expected 5 lines, got %d:\n%s", lines, log);
	assert_non_null(strstr(log, "[s1?] login failed for "
	    "evil??pop3d[1]: fake line?[2J?\n"));
	assert_non_null(strstr(log, "[s1?] open box: No such file or "
	    "directory\n"));
	assert_non_null(strstr(log, "[s1?] info 42\n"));
	assert_null(strstr(log, "hidden"));
	assert_non_null(strstr(log, "[s1?] shown 2\n"));
	assert_non_null(strstr(log, "]: no prefix: Permission denied\n"));
	assert_null(strstr(log, "\r"));
	assert_null(strstr(log, "\x1b"));
}

static void
run_long_log(void)
{
	char	big[4000];

	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	log_warnx("%s", big);
}

static void
test_log_long(void **state)
{
	const char	*log;

	(void)state;
	log = capture_log(run_long_log);
	assert_non_null(strstr(log, "AAA...\n"));
	assert_true(strlen(log) < 1200);
}

#define T(f)	cmocka_unit_test_setup(f, conf_reset)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_name_ok),
		T(test_passwd_good),
		T(test_passwd_mailbox_field),
		T(test_passwd_fail),
		T(test_passwd_locked),
		T(test_passwd_bad_names),
		T(test_passwd_malformed_skipped),
		T(test_malformed_logged),
		T(test_passwd_unsupported_hash),
		T(test_passwd_missing),
		T(test_passwd_no_usable_hash),
		T(test_passwd_timing),
		T(test_template_overflow),
		T(test_apop_good),
		T(test_apop_fail),
		T(test_apop_excludes_pass),
		T(test_apop_missing_file),
		T(test_apop_locked_in_passwd),
		T(test_wipe),
		T(test_log_lines),
		T(test_log_long),
	};

	log_init(1, "test_auth");
	return cmocka_run_group_tests(tests, setup, teardown);
}
