/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the protocol engine, driven through session_feed and
 * session_work with the in-memory maildrop of fake_maildrop.h.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "buf.h"
#include "conf.h"
#include "fake_maildrop.h"
#include "params.h"
#include "session.h"

#define MSG1	"Subject: one\r\n\r\nbody one\r\n"
#define MSG2	"Subject: two\r\n\r\n.dot line\r\n..two dots\r\n.\r\nend\r\n"
#define MSG3	"Subject: three\r\nX: y\r\n\r\nl1\r\nl2\r\nl3\r\n"

#define STAMP	"<1234.5678@pop3d.test>"
#define DIGEST	"0123456789abcdef0123456789abcdef"

struct t {
	struct conf		 conf;
	struct fake_msg		 msgs[3];
	struct fake_md		 md;
	struct fake_be		 fb;
	struct session_backend	 be;
	struct session		*s;
	struct buf		 out;
	int			 want;		/* last session_work answer */
	unsigned		 delays;	/* sum of session_delay */
	char			*got;		/* output of the last talk() */
	size_t			 gotlen;
};

static struct t *
t_new(size_t outcap, int apop, int expire_never)
{
	struct t	*t = calloc(1, sizeof(*t));

	assert_non_null(t);
	conf_defaults(&t->conf);
	t->conf.apop = apop;
	t->conf.expire_never = expire_never;
	t->msgs[0].text = MSG1;
	t->msgs[1].text = MSG2;
	t->msgs[2].text = MSG3;
	strcpy(t->msgs[0].uid, "uid-1");
	strcpy(t->msgs[1].uid, "uid-2");
	strcpy(t->msgs[2].uid, "uid-3");
	t->md.msgs = t->msgs;
	t->md.n = 3;
	t->md.fail_after = -1;
	t->fb.user = "alice";
	t->fb.pass = "secret pass";
	t->fb.apop_user = "bob";
	t->fb.apop_digest = DIGEST;
	t->fb.md = &t->md;
	t->be.ctx = &t->fb;
	t->be.check_password = fake_check_password;
	t->be.check_apop = fake_check_apop;
	t->be.open_maildrop = fake_open_maildrop;
	t->s = session_new(&t->conf, &t->be, "192.0.2.1", STAMP);
	assert_non_null(t->s);
	/* A loopback client without TLS: plaintext_auth local lets it in. */
	session_set_link(t->s, 0, 1, 0);
	assert_int_equal(buf_init(&t->out, outcap), 0);
	return t;
}

static void
t_free(struct t *t)
{
	if (t->s != NULL)
		session_free(t->s);
	buf_free(&t->out);
	fake_md_free(&t->md);
	free(t->got);
	free(t);
}

static void
collect(struct t *t)
{
	t->got = realloc(t->got, t->gotlen + t->out.len + 1);
	memcpy(t->got + t->gotlen, t->out.data, t->out.len);
	t->gotlen += t->out.len;
	t->got[t->gotlen] = '\0';
	t->out.len = 0;
}

/*
 * Offer len bytes as a client would and run the session until it wants
 * more input or ends; t->got is everything it replied.
 */
static const char *
talkn(struct t *t, const char *in, size_t len)
{
	size_t	off = 0, n;

	t->gotlen = 0;
	free(t->got);
	t->got = calloc(1, 1);
	for (;;) {
		t->want = session_work(t->s, &t->out);
		t->delays += session_delay(t->s);
		collect(t);
		/* At STARTTLS the caller drops what it holds, as conn.c does. */
		if (t->want == SESSION_END || t->want == SESSION_STARTTLS)
			break;
		if (t->want == SESSION_WRITE)
			continue;
		if (off == len) {
			session_idle(t->s);	/* as conn.c before it waits */
			break;
		}
		n = session_feed(t->s, in + off, len - off);
		assert_true(n > 0);
		off += n;
	}
	return t->got;
}

static const char *
talk(struct t *t, const char *in)
{
	return talkn(t, in, strlen(in));
}

static void
login(struct t *t)
{
	char	want[200];

	snprintf(want, sizeof(want), "+OK send PASS\r\n+OK alice has 3 "
	    "messages (%zu octets)\r\n",
	    strlen(MSG1) + strlen(MSG2) + strlen(MSG3));
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    want);
	assert_int_equal(t->want, SESSION_READ);
}

/* The number of lines of out that start with prefix. */
static int
count_prefix(const char *out, const char *prefix)
{
	int	n = 0;

	for (; out != NULL && *out != '\0'; out = strchr(out, '\n')) {
		if (*out == '\n')
			out++;
		if (strncmp(out, prefix, strlen(prefix)) == 0)
			n++;
	}
	return n;
}

/* Check that p starts with line; returns what follows it. */
static const char *
expect_line(const char *p, const char *line)
{
	size_t	n = strlen(line);

	if (strncmp(p, line, n) != 0)
		fail_msg("want \"%s\", got \"%.40s\"", line, p);
	return p + n;
}

/*
 * Greeting and AUTHORIZATION.
 */

static void
test_greeting(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	session_greeting(t->s, &t->out);
	collect(t);
	assert_string_equal(t->got, "+OK pop3d ready\r\n");
	assert_null(strchr(t->got, '<'));
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 1, 0);
	session_greeting(t->s, &t->out);
	collect(t);
	assert_string_equal(t->got, "+OK pop3d ready " STAMP "\r\n");
	t_free(t);
}

static void
test_new_apop_needs_stamp(void **state)
{
	struct conf		c;
	struct session_backend	be;
	char			big[400];

	(void)state;
	conf_defaults(&c);
	memset(&be, 0, sizeof(be));
	c.apop = 1;
	assert_null(session_new(&c, &be, "p", NULL));
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_null(session_new(&c, &be, "p", big));
}

static void
test_user_pass_ok(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_int_equal(t->fb.opens, 1);
	assert_string_equal(t->fb.opened_for, "alice");
	assert_int_equal(t->delays, 0);
	t_free(t);
}

static void
test_user_unknown_same_as_bad_pass(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		 a[200], b[200], c[200];

	(void)state;
	strcpy(a, talk(t, "USER nobody\r\nPASS secret pass\r\n"));
	strcpy(b, talk(t, "USER alice\r\nPASS wrong\r\n"));
	assert_string_equal(a, b);
	assert_string_equal(a, "+OK send PASS\r\n"
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->delays, 2 * SESSION_AUTH_FAIL_DELAY_MS);
	assert_int_equal(t->fb.opens, 0);
	t_free(t);

	/* Invalid names get +OK at USER and fail at PASS the same way. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	strcpy(c, talk(t, "USER ../../etc/passwd\r\nPASS secret pass\r\n"));
	assert_string_equal(a, c);
	assert_int_equal(t->fb.pw_checks, 0);
	t_free(t);
}

static void
test_user_overlong_name(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		 line[200];

	(void)state;
	/* A long name whose first AUTH_NAME_MAX octets are a valid user. */
	snprintf(line, sizeof(line), "USER alice%0100d\r\nPASS secret pass\r\n",
	    0);
	assert_string_equal(talk(t, line), "+OK send PASS\r\n"
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->fb.opens, 0);
	t_free(t);
}

static void
test_pass_keeps_spaces(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	/* The password "secret pass" has a space: PASS takes the rest. */
	login(t);
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass \r\n"),
	    "+OK send PASS\r\n"
	    "-ERR [AUTH] invalid user name or password\r\n");
	t_free(t);
}

static void
test_pass_without_user(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "PASS secret pass\r\n"),
	    "-ERR PASS must follow USER\r\n");
	/* After a failed PASS, another PASS needs a new USER. */
	assert_string_equal(talk(t, "USER alice\r\nPASS x\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n"
	    "-ERR [AUTH] invalid user name or password\r\n"
	    "-ERR PASS must follow USER\r\n");
	assert_int_equal(t->want, SESSION_READ);
	/*
	 * RFC 1939 section 7: PASS only right after a successful USER (a
	 * CAPA, an unknown verb or a refused line in between ends it), and
	 * no USER right after one; after that refusal USER works again.
	 */
	assert_string_equal(talk(t, "USER alice\r\nCAPA\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n"
	    "+OK capability list follows\r\nTOP\r\nUSER\r\nUIDL\r\n"
	    "PIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\nEXPIRE 0\r\n"
	    "SASL PLAIN\r\n.\r\n"
	    "-ERR PASS must follow USER\r\n");
	assert_string_equal(talk(t, "USER alice\r\nXYZZY\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n-ERR unknown command\r\n"
	    "-ERR PASS must follow USER\r\n");
	assert_string_equal(talkn(t, "USER alice\r\nPA\0SS x\r\nPASS secret pass\r\n",
	    sizeof("USER alice\r\nPA\0SS x\r\nPASS secret pass\r\n") - 1),
	    "+OK send PASS\r\n-ERR NUL byte in command\r\n"
	    "-ERR PASS must follow USER\r\n");
	assert_string_equal(talk(t, "USER bob\r\nUSER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n-ERR USER must be followed by PASS\r\n"
	    "-ERR PASS must follow USER\r\n");
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n"
	    "+OK alice has 3 messages (109 octets)\r\n");
	t_free(t);
}

static void
test_pass_empty(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "USER alice\r\nPASS\r\nPASS \r\n"),
	    "+OK send PASS\r\n-ERR invalid arguments\r\n"
	    "-ERR invalid arguments\r\n");
	assert_int_equal(t->fb.pw_checks, 0);
	t_free(t);
}

static void
test_auth_failures_end_session(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	int		 i;

	(void)state;
	for (i = 0; i < SESSION_MAX_AUTH_FAILURES; i++) {
		assert_string_equal(talk(t, "USER alice\r\nPASS bad\r\n"),
		    "+OK send PASS\r\n"
		    "-ERR [AUTH] invalid user name or password\r\n");
		if (i < SESSION_MAX_AUTH_FAILURES - 1)
			assert_int_equal(t->want, SESSION_READ);
	}
	assert_int_equal(t->want, SESSION_END);
	assert_int_equal(t->delays,
	    SESSION_MAX_AUTH_FAILURES * SESSION_AUTH_FAIL_DELAY_MS);
	/* Nothing more is processed. */
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"), "");
	assert_int_equal(t->want, SESSION_END);
	assert_int_equal(t->fb.opens, 0);
	t_free(t);
}

static void
test_pipelined_failures_pause(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	const char	*in = "USER a\r\nPASS b\r\nUSER a\r\nPASS c\r\n";
	int		 want;
	unsigned	 d;

	(void)state;
	/* Each failed login is returned alone so its delay applies. */
	assert_int_equal(session_feed(t->s, in, strlen(in)), strlen(in));
	want = session_work(t->s, &t->out);
	assert_int_equal(want, SESSION_WRITE);
	d = session_delay(t->s);
	assert_int_equal(d, SESSION_AUTH_FAIL_DELAY_MS);
	assert_int_equal(session_delay(t->s), 0);
	collect(t);
	assert_string_equal(t->got, "+OK send PASS\r\n"
	    "-ERR [AUTH] invalid user name or password\r\n");
	t_free(t);
}

static void
test_tempfail(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "USER temp\r\nPASS x\r\n"),
	    "+OK send PASS\r\n-ERR [SYS/TEMP] cannot check credentials now\r\n");
	assert_int_equal(t->fb.opens, 0);
	t_free(t);
}

static void
test_in_use_only_after_good_credentials(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	t->fb.open_rc = MD_INUSE;
	assert_string_equal(talk(t, "USER alice\r\nPASS wrong\r\n"),
	    "+OK send PASS\r\n-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->fb.opens, 0);
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n"
	    "-ERR [IN-USE] maildrop in use by another session\r\n");
	assert_int_equal(t->fb.opens, 1);
	/* Still in AUTHORIZATION: STAT is refused. */
	assert_string_equal(talk(t, "STAT\r\n"),
	    "-ERR command not valid in this state\r\n");
	t_free(t);
}

static void
test_maildrop_errors(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	t->fb.open_rc = MD_TEMP;
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n-ERR [SYS/TEMP] maildrop unavailable, "
	    "try later\r\n");
	t->fb.open_rc = MD_PERM;
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n-ERR [SYS/PERM] maildrop cannot be read\r\n");
	t->fb.open_rc = MD_CHANGED;
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n-ERR [SYS/TEMP] maildrop changed by another "
	    "program, log in again\r\n");
	/* Three failed logins, whatever the reason, end the session. */
	assert_int_equal(t->want, SESSION_END);
	assert_int_equal(t->delays, 0);
	t_free(t);
}

static void
test_quit_authorization(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "quit\r\nNOOP\r\n"),
	    "+OK pop3d signing off\r\n");
	assert_int_equal(t->want, SESSION_END);
	assert_int_equal(t->md.updates, 0);
	t_free(t);
}

static void
test_authorization_rejects_transaction_cmds(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	const char	*cmds[] = { "STAT", "LIST", "LIST 1", "RETR 1",
	    "DELE 1", "NOOP", "RSET", "TOP 1 1", "UIDL" };
	char		 line[32];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		snprintf(line, sizeof(line), "%s\r\n", cmds[i]);
		assert_string_equal(talk(t, line),
		    "-ERR command not valid in this state\r\n");
	}
	assert_int_equal(t->md.opens, 0);
	t_free(t);
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	assert_string_equal(talk(t, "XYZZY\r\nUIDL 1\r\nUSERS\r\nUSE\r\n"),
	    "-ERR unknown command\r\n-ERR command not valid in this state\r\n"
	    "-ERR unknown command\r\n-ERR unknown command\r\n");
	t_free(t);
}

static void
test_transaction_rejects_authorization_cmds(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 1, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"
	    "APOP bob " DIGEST "\r\nAUTH PLAIN\r\nAUTH PLAIN AGFsaWNlAHg=\r\n"
	    "AUTH\r\nHELO\r\n"),
	    "-ERR command not valid in this state\r\n"
	    "-ERR command not valid in this state\r\n"
	    "-ERR command not valid in this state\r\n"
	    "-ERR command not valid in this state\r\n"
	    "-ERR command not valid in this state\r\n"
	    "-ERR command not valid in this state\r\n"
	    "-ERR unknown command\r\n");
	assert_int_equal(t->fb.pw_checks, 1);
	assert_int_equal(t->fb.apop_checks, 0);
	t_free(t);
}

/*
 * APOP.
 */

static void
test_apop(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 1, 0);

	(void)state;
	assert_string_equal(talk(t, "APOP bob " DIGEST "\r\n"),
	    "+OK bob has 3 messages (109 octets)\r\n");
	assert_string_equal(t->fb.stamp, STAMP);
	assert_string_equal(t->fb.opened_for, "bob");
	t_free(t);
}

static void
test_apop_bad(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 1, 0);
	const char	*auth = "-ERR [AUTH] invalid user name or password\r\n";

	(void)state;
	/* Upper-case hex, 31 digits, 33 digits: refused before the backend. */
	assert_string_equal(talk(t, "APOP bob 0123456789ABCDEF0123456789abcdef\r\n"),
	    auth);
	assert_string_equal(talk(t, "APOP bob 0123456789abcdef0123456789abcde\r\n"),
	    auth);
	assert_int_equal(t->fb.apop_checks, 0);
	assert_int_equal(t->want, SESSION_READ);
	assert_string_equal(talk(t, "APOP ../bob " DIGEST "\r\n"), auth);
	assert_int_equal(t->fb.apop_checks, 0);
	assert_int_equal(t->want, SESSION_END);
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 1, 0);
	assert_string_equal(talk(t, "APOP bob fedcba9876543210fedcba9876543210\r\n"),
	    auth);
	assert_int_equal(t->fb.apop_checks, 1);
	assert_string_equal(talk(t, "APOP bob\r\nAPOP\r\nAPOP a b c\r\n"),
	    "-ERR invalid arguments\r\n-ERR invalid arguments\r\n"
	    "-ERR invalid arguments\r\n");
	t_free(t);
}

static void
test_apop_disabled(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "APOP bob " DIGEST "\r\n"),
	    "-ERR unknown command\r\n");
	assert_int_equal(t->fb.apop_checks, 0);
	assert_int_equal(t->fb.opens, 0);
	t_free(t);
}

/*
 * SASL PLAIN.  "AGFsaWNlAHNlY3JldCBwYXNz" is "\0alice\0secret pass".
 */

#define PLAIN_OK	"AGFsaWNlAHNlY3JldCBwYXNz"
#define PLAIN_AZ	"YWxpY2UAYWxpY2UAc2VjcmV0IHBhc3M="	/* alice\0alice\0... */
#define PLAIN_OTHER	"Ym9iAGFsaWNlAHNlY3JldCBwYXNz"		/* bob\0alice\0... */
#define PLAIN_BADPW	"AGFsaWNlAHdyb25n"			/* \0alice\0wrong */

static void
test_auth_plain_ir(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "AUTH PLAIN " PLAIN_OK "\r\n"),
	    "+OK alice has 3 messages (109 octets)\r\n");
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	assert_string_equal(talk(t, "auth plain " PLAIN_AZ "\r\n"),
	    "+OK alice has 3 messages (109 octets)\r\n");
	t_free(t);
}

static void
test_auth_plain_continuation(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "AUTH PLAIN\r\n"), "+ \r\n");
	assert_string_equal(talk(t, PLAIN_OK "\r\n"),
	    "+OK alice has 3 messages (109 octets)\r\n");
	assert_string_equal(talk(t, "STAT\r\n"), "+OK 3 109\r\n");
	t_free(t);

	/* Pipelined, with the response split across feeds. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	assert_string_equal(talk(t, "AUTH PLAIN\r\nAGFsaWNl"), "+ \r\n");
	assert_string_equal(talk(t, "AHNlY3JldCBwYXNz\r\nSTAT\r\n"),
	    "+OK alice has 3 messages (109 octets)\r\n+OK 3 109\r\n");
	t_free(t);
}

static void
test_auth_plain_cancel(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "AUTH PLAIN\r\n*\r\nSTAT\r\n"),
	    "+ \r\n-ERR AUTH cancelled\r\n"
	    "-ERR command not valid in this state\r\n");
	assert_int_equal(t->fb.pw_checks, 0);
	/* Back in AUTHORIZATION: a normal login works. */
	login(t);
	t_free(t);
}

static void
test_auth_plain_empty(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	/* "=" is an empty initial response: not a valid PLAIN message. */
	assert_string_equal(talk(t, "AUTH PLAIN =\r\n"),
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->fb.pw_checks, 0);
	/* An empty continuation line likewise. */
	assert_string_equal(talk(t, "AUTH PLAIN\r\n\r\n"),
	    "+ \r\n-ERR [AUTH] invalid user name or password\r\n");
	t_free(t);
}

static void
test_auth_plain_bad(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "AUTH PLAIN AGFsaWNl!HNlY3JldCBwYXNz\r\n"),
	    "-ERR invalid base64\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN AGFsaW=lAHNlY3JldCBwYXNz\r\n"),
	    "-ERR invalid base64\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN\r\nAGFsaWNlAHNlY3JldCBwYXN\r\n"),
	    "+ \r\n-ERR invalid base64\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN " PLAIN_OTHER "\r\n"),
	    "-ERR [AUTH] authorization identity refused\r\n");
	assert_int_equal(t->fb.pw_checks, 0);
	assert_string_equal(talk(t, "AUTH PLAIN " PLAIN_BADPW "\r\n"),
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->fb.pw_checks, 1);
	/* No NUL at all ("alice"). */
	assert_string_equal(talk(t, "AUTH PLAIN YWxpY2U=\r\n"),
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->want, SESSION_END);
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	/* A third NUL: "\0alice\0secret\0pass" */
	assert_string_equal(talk(t, "AUTH PLAIN AGFsaWNlAHNlY3JldABwYXNz\r\n"),
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_int_equal(t->fb.pw_checks, 0);
	assert_string_equal(talk(t, "AUTH CRAM-MD5\r\nAUTH LOGIN dGVzdA==\r\n"),
	    "-ERR unsupported SASL mechanism\r\n"
	    "-ERR unsupported SASL mechanism\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN a b\r\nAUTH PLAIN \r\n"),
	    "-ERR invalid arguments\r\n-ERR invalid arguments\r\n");
	t_free(t);
}

static void
test_auth_bare_lists_mechanisms(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "AUTH\r\n"),
	    "+OK SASL mechanisms follow\r\nPLAIN\r\n.\r\n");
	t_free(t);
}

static void
test_auth_sasl_long_line(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		*line = malloc(POP3_SASL_LINE_MAX + 10);

	(void)state;
	/* Continuation lines may exceed 255 octets (up to 2048). */
	memset(line, 'A', 1000);
	strcpy(line + 1000, "\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN\r\n"), "+ \r\n");
	assert_string_equal(talk(t, line),
	    "-ERR [AUTH] invalid user name or password\r\n");
	/* But not beyond: one -ERR, and the exchange is over. */
	memset(line, 'A', POP3_SASL_LINE_MAX);
	strcpy(line + POP3_SASL_LINE_MAX, "\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN\r\n"), "+ \r\n");
	assert_string_equal(talk(t, line), "-ERR line too long\r\n");
	assert_string_equal(talk(t, "STAT\r\n"),
	    "-ERR command not valid in this state\r\n");
	free(line);
	t_free(t);
}

/*
 * CAPA.
 */

static void
test_capa(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	const char	*auth_capa = "+OK capability list follows\r\n"
	    "TOP\r\nUSER\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\n"
	    "AUTH-RESP-CODE\r\nEXPIRE 0\r\nSASL PLAIN\r\n";
	char		 want[512];

	(void)state;
	snprintf(want, sizeof(want), "%s.\r\n", auth_capa);
	assert_string_equal(talk(t, "CAPA\r\n"), want);
	login(t);
	snprintf(want, sizeof(want), "%sIMPLEMENTATION %s\r\n.\r\n", auth_capa,
	    POP3D_IMPLEMENTATION);
	assert_string_equal(talk(t, "capa\r\n"), want);
	assert_string_equal(talk(t, "CAPA x\r\n"), "-ERR invalid arguments\r\n");
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 1);
	assert_non_null(strstr(talk(t, "CAPA\r\n"), "\r\nEXPIRE NEVER\r\n"));
	assert_null(strstr(t->got, "IMPLEMENTATION"));
	t_free(t);
}

/*
 * TRANSACTION.
 */

static void
test_stat_list(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "STAT\r\n"), "+OK 3 109\r\n");
	assert_string_equal(talk(t, "LIST\r\n"),
	    "+OK 3 messages (109 octets)\r\n1 26\r\n2 47\r\n3 36\r\n.\r\n");
	assert_string_equal(talk(t, "list 2\r\n"), "+OK 2 47\r\n");
	assert_string_equal(talk(t, "LIST 002\r\n"), "+OK 2 47\r\n");
	assert_string_equal(talk(t, "DELE 2\r\nSTAT\r\nLIST\r\nLIST 2\r\n"),
	    "+OK message 2 deleted\r\n+OK 2 62\r\n"
	    "+OK 2 messages (62 octets)\r\n1 26\r\n3 36\r\n.\r\n"
	    "-ERR message is deleted\r\n");
	t_free(t);
}

static void
test_number_edge_cases(void **state)
{
	static const struct {
		const char	*cmd, *reply;
	} cases[] = {
		{ "RETR 0", "-ERR no such message" },
		{ "DELE 1abc", "-ERR invalid arguments" },
		{ "LIST 4294967297", "-ERR no such message" },
		{ "LIST 4294967298", "-ERR no such message" },
		{ "LIST 18446744073709551617", "-ERR no such message" },
		{ "LIST 99999999999999999999999999", "-ERR no such message" },
		{ "LIST -1", "-ERR invalid arguments" },
		{ "LIST +1", "-ERR invalid arguments" },
		{ "LIST 4", "-ERR no such message" },
		{ "LIST 0x1", "-ERR invalid arguments" },
		{ "LIST 1.0", "-ERR invalid arguments" },
		{ "LIST  1", "-ERR invalid arguments" },
		{ "LIST 1 ", "-ERR invalid arguments" },
		{ "LIST 1 2", "-ERR invalid arguments" },
		{ "LIST\t1", "-ERR unknown command" },
		{ "RETR", "-ERR invalid arguments" },
		{ "RETR 1 1", "-ERR invalid arguments" },
		{ "TOP 1", "-ERR invalid arguments" },
		{ "TOP 1 -1", "-ERR invalid arguments" },
		{ "TOP 1 1x", "-ERR invalid arguments" },
		{ "TOP 1 99999999999999999999", "+OK top of message follows" },
		{ "TOP 0 1", "-ERR no such message" },
		{ "TOP x 1", "-ERR invalid arguments" },
		{ "STAT ", "-ERR invalid arguments" },
		{ "UIDL 0", "-ERR no such message" },
		{ "DELE 4", "-ERR no such message" },
		{ "list 01", "+OK 1 26" },
		{ "LIST 0000000000000000000000000003", "+OK 3 36" },
		{ "TOP 1 0000", "+OK top of message follows" },
	};
	struct t	*t;
	char		 line[64], want[64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
		login(t);
		snprintf(line, sizeof(line), "%s\r\n", cases[i].cmd);
		snprintf(want, sizeof(want), "%s\r\n", cases[i].reply);
		talk(t, line);
		if (strncmp(t->got, want, strlen(want)) != 0)
			fail_msg("%s: got \"%s\"", cases[i].cmd, t->got);
		assert_int_equal(t->want, SESSION_READ);
		t_free(t);
	}
}

static void
test_bad_commands_end_transaction(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	int		 i;

	(void)state;
	login(t);
	talk(t, "DELE 1\r\nRETR 2\r\n");
	for (i = 0; i < SESSION_MAX_BAD_COMMANDS - 1; i++)
		assert_string_equal(talk(t, "DELE 1abc\r\n"),
		    "-ERR invalid arguments\r\n");
	/* Missing messages are not bad commands. */
	assert_string_equal(talk(t, "RETR 9\r\n"), "-ERR no such message\r\n");
	assert_string_equal(talk(t, "LIST -1\r\nQUIT\r\n"),
	    "-ERR too many bad commands\r\n");
	assert_int_equal(t->want, SESSION_END);
	/* Ending on errors is not QUIT: nothing is updated. */
	session_free(t->s);
	t->s = NULL;
	assert_int_equal(t->md.updates, 0);
	assert_int_equal(t->md.closes, 1);
	t_free(t);
}

static void
test_uidl(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "UIDL\r\nuidl 3\r\nDELE 1\r\nUIDL\r\n"
	    "UIDL 1\r\nUIDL 5\r\n"),
	    "+OK 3 messages (109 octets)\r\n1 uid-1\r\n2 uid-2\r\n3 uid-3\r\n"
	    ".\r\n+OK 3 uid-3\r\n+OK message 1 deleted\r\n"
	    "+OK 2 messages (83 octets)\r\n2 uid-2\r\n3 uid-3\r\n.\r\n"
	    "-ERR message is deleted\r\n-ERR no such message\r\n");
	t_free(t);
}

static void
test_retr_stuffing(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "RETR 2\r\n"),
	    "+OK 47 octets\r\nSubject: two\r\n\r\n..dot line\r\n"
	    "...two dots\r\n..\r\nend\r\n.\r\n");
	assert_int_equal(t->md.last_body_lines, -1);
	assert_string_equal(talk(t, "RETR 1\r\nNOOP\r\n"),
	    "+OK 26 octets\r\n" MSG1 ".\r\n+OK\r\n");
	t_free(t);
}

static void
test_top(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "TOP 3 0\r\n"),
	    "+OK top of message follows\r\nSubject: three\r\nX: y\r\n\r\n.\r\n");
	assert_string_equal(talk(t, "top 3 2\r\n"),
	    "+OK top of message follows\r\nSubject: three\r\nX: y\r\n\r\n"
	    "l1\r\nl2\r\n.\r\n");
	assert_string_equal(talk(t, "TOP 3 100\r\n"),
	    "+OK top of message follows\r\n" MSG3 ".\r\n");
	assert_string_equal(talk(t, "TOP 2 1\r\n"),
	    "+OK top of message follows\r\nSubject: two\r\n\r\n..dot line\r\n"
	    ".\r\n");
	assert_int_equal(t->md.last_body_lines, 1);
	/* TOP is not RETR: under EXPIRE 0 nothing is deleted at QUIT. */
	assert_string_equal(talk(t, "QUIT\r\n"),
	    "+OK pop3d signing off (0 messages deleted)\r\n");
	assert_int_equal(t->md.updates, 1);
	assert_memory_equal(t->md.del, "\0\0\0", 3);
	t_free(t);
}

/*
 * When the session waits after a RETR, it hints the next message that is
 * not deleted, once; nothing else (TOP, a failed RETR, the last message)
 * gives a hint.
 */
static void
test_prefetch_hint(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_int_equal(t->md.prefetches, 0);
	talk(t, "RETR 1\r\n");
	assert_int_equal(t->md.prefetches, 1);
	assert_int_equal(t->md.last_prefetch, 1);
	session_idle(t->s);
	talk(t, "NOOP\r\nDELE 2\r\nTOP 1 0\r\n");
	assert_int_equal(t->md.prefetches, 1);
	/* pipelined: one hint, after the last command, past deleted 2 */
	talk(t, "RETR 1\r\nSTAT\r\n");
	assert_int_equal(t->md.prefetches, 2);
	assert_int_equal(t->md.last_prefetch, 2);
	talk(t, "RETR 3\r\n");
	t->md.open_rc = MD_TEMP;
	talk(t, "RETR 1\r\n");
	assert_int_equal(t->md.prefetches, 2);
	/* no hint once the session has left TRANSACTION */
	t->md.open_rc = MD_OK;
	talk(t, "RETR 1\r\nQUIT\r\n");
	assert_int_equal(t->want, SESSION_END);
	session_idle(t->s);
	assert_int_equal(t->md.prefetches, 2);
	t_free(t);
}

static void
test_msg_open_errors(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	t->md.open_rc = MD_TEMP;
	assert_string_equal(talk(t, "RETR 1\r\n"),
	    "-ERR [SYS/TEMP] maildrop unavailable, try later\r\n");
	t->md.open_rc = MD_PERM;
	assert_string_equal(talk(t, "TOP 1 1\r\n"),
	    "-ERR [SYS/PERM] maildrop cannot be read\r\n");
	t->md.open_rc = MD_CHANGED;
	assert_string_equal(talk(t, "RETR 1\r\n"),
	    "-ERR [SYS/TEMP] maildrop changed by another program, log in "
	    "again\r\n");
	/* A failed RETR does not count as retrieved. */
	t->md.open_rc = MD_OK;
	assert_string_equal(talk(t, "QUIT\r\n"),
	    "+OK pop3d signing off (0 messages deleted)\r\n");
	assert_memory_equal(t->md.del, "\0\0\0", 3);
	t_free(t);
}

static void
test_msg_read_error_ends(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	t->md.fail_after = 10;
	assert_string_equal(talk(t, "RETR 1\r\nNOOP\r\n"),
	    "+OK 26 octets\r\nSubject: one\r\n\r\nbody one\r\n");
	assert_int_equal(t->want, SESSION_END);
	session_free(t->s);
	t->s = NULL;
	assert_int_equal(t->md.updates, 0);
	assert_int_equal(t->md.closes, 1);
	t_free(t);

	/* A failure after the first chunk: no terminator ever follows. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	t->md.fail_after = 0;
	login(t);
	assert_string_equal(talk(t, "RETR 1\r\n"), "+OK 26 octets\r\n");
	assert_int_equal(t->want, SESSION_END);
	t_free(t);
}

static void
test_dele_rset(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "DELE 1\r\nDELE 1\r\nRETR 1\r\nTOP 1 0\r\n"
	    "RSET\r\nSTAT\r\nRETR 1\r\n"),
	    "+OK message 1 deleted\r\n-ERR message is deleted\r\n"
	    "-ERR message is deleted\r\n-ERR message is deleted\r\n"
	    "+OK maildrop has 3 messages (109 octets)\r\n+OK 3 109\r\n"
	    "+OK 26 octets\r\n" MSG1 ".\r\n");
	t_free(t);
}

static void
test_noop_and_extra_args(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	assert_string_equal(talk(t, "NOOP\r\nnoop\r\nNoOp\r\nNOOP x\r\n"
	    "RSET x\r\nQUIT now\r\nDELE\r\nDELE 1 2\r\n"),
	    "+OK\r\n+OK\r\n+OK\r\n-ERR invalid arguments\r\n"
	    "-ERR invalid arguments\r\n-ERR invalid arguments\r\n"
	    "-ERR invalid arguments\r\n-ERR invalid arguments\r\n");
	assert_int_equal(t->want, SESSION_READ);
	t_free(t);
}

/*
 * QUIT and UPDATE.
 */

static void
test_quit_expire0(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	talk(t, "RETR 1\r\nDELE 2\r\nTOP 3 1\r\n");
	assert_string_equal(talk(t, "QUIT\r\nSTAT\r\n"),
	    "+OK pop3d signing off (2 messages deleted)\r\n");
	assert_int_equal(t->want, SESSION_END);
	assert_int_equal(t->md.updates, 1);
	assert_memory_equal(t->md.del, "\1\1\0", 3);
	assert_int_equal(t->md.closes, 1);
	session_free(t->s);
	t->s = NULL;
	assert_int_equal(t->md.closes, 1);
	t_free(t);
}

static void
test_quit_expire_never(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 1);

	(void)state;
	login(t);
	talk(t, "RETR 1\r\nDELE 2\r\nRETR 3\r\n");
	assert_string_equal(talk(t, "QUIT\r\n"),
	    "+OK pop3d signing off (1 messages deleted)\r\n");
	assert_memory_equal(t->md.del, "\0\1\0", 3);
	t_free(t);
}

static void
test_rset_clears_retrieved(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	talk(t, "RETR 1\r\nDELE 2\r\nRSET\r\nRETR 3\r\n");
	assert_string_equal(talk(t, "QUIT\r\n"),
	    "+OK pop3d signing off (1 messages deleted)\r\n");
	assert_memory_equal(t->md.del, "\0\0\1", 3);
	t_free(t);
}

static void
test_quit_update_fails(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	t->md.update_rc = MD_CHANGED;
	assert_string_equal(talk(t, "DELE 1\r\nQUIT\r\n"),
	    "+OK message 1 deleted\r\n-ERR [SYS/TEMP] maildrop changed by "
	    "another program, no message deleted\r\n");
	assert_int_equal(t->want, SESSION_END);
	assert_int_equal(t->md.updates, 1);
	assert_int_equal(t->md.closes, 1);
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	login(t);
	t->md.update_rc = MD_TEMP;
	assert_string_equal(talk(t, "QUIT\r\n"), "-ERR [SYS/TEMP] maildrop "
	    "not updated, no message deleted\r\n");
	t_free(t);
}

static void
test_free_without_quit(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	login(t);
	talk(t, "RETR 1\r\nDELE 2\r\nQUI");	/* QUIT never completes */
	session_free(t->s);
	t->s = NULL;
	assert_int_equal(t->md.updates, 0);
	assert_int_equal(t->md.closes, 1);
	t_free(t);
}

static void
test_empty_maildrop(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	t->md.n = 0;
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n+OK alice has 0 messages (0 octets)\r\n");
	assert_string_equal(talk(t, "STAT\r\nLIST\r\nUIDL\r\nLIST 1\r\nRSET\r\n"
	    "QUIT\r\n"),
	    "+OK 0 0\r\n+OK 0 messages (0 octets)\r\n.\r\n"
	    "+OK 0 messages (0 octets)\r\n.\r\n-ERR no such message\r\n"
	    "+OK maildrop has 0 messages (0 octets)\r\n"
	    "+OK pop3d signing off (0 messages deleted)\r\n");
	assert_int_equal(t->md.updates, 1);
	t_free(t);
}

/*
 * Input handling.
 */

static void
test_pipelining_in_order(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		 want[8192];

	(void)state;
	/* Everything in one feed, login included. */
	snprintf(want, sizeof(want), "+OK send PASS\r\n+OK alice has 3 "
	    "messages (109 octets)\r\n+OK 3 109\r\n+OK 26 octets\r\n%s.\r\n"
	    "+OK 2 47\r\n+OK message 3 deleted\r\n+OK\r\n+OK 2 uid-2\r\n"
	    "-ERR message is deleted\r\n"
	    "+OK pop3d signing off (2 messages deleted)\r\n", MSG1);
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\nSTAT\r\n"
	    "RETR 1\r\nLIST 2\r\nDELE 3\r\nNOOP\r\nUIDL 2\r\nLIST 3\r\n"
	    "QUIT\r\nSTAT\r\n"), want);
	t_free(t);
}

static void
test_pipelining_byte_by_byte(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	const char	*in = "USER alice\r\nPASS secret pass\nSTAT\r\nQUIT\r\n";
	char		 all[1024] = "";
	size_t		 i;

	(void)state;
	for (i = 0; in[i] != '\0'; i++)
		strcat(all, talkn(t, in + i, 1));
	assert_string_equal(all, "+OK send PASS\r\n+OK alice has 3 messages "
	    "(109 octets)\r\n+OK 3 109\r\n"
	    "+OK pop3d signing off (0 messages deleted)\r\n");
	t_free(t);
}

static void
test_many_pipelined_small_out(void **state)
{
	struct t	*t = t_new(POP3_REPLY_MAX, 0, 0);
	char		*in = malloc(20000), *p = in;
	int		 i;

	(void)state;
	login(t);
	/* More commands than the input buffer holds, and a tiny out. */
	for (i = 0; i < 2000; i++)
		p += sprintf(p, "NOOP\r\n");
	assert_true(p - in > SESSION_INBUF_SIZE);
	talkn(t, in, (size_t)(p - in));
	assert_int_equal(count_prefix(t->got, "+OK"), 2000);
	assert_int_equal(t->gotlen, 2000 * 5);
	assert_int_equal(t->want, SESSION_READ);
	free(in);
	t_free(t);
}

static void
test_bare_lf_and_cr(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talk(t, "USER alice\nPASS secret pass\n"),
	    "+OK send PASS\r\n+OK alice has 3 messages (109 octets)\r\n");
	/* Only one CR before LF is a line end; a CR elsewhere is data. */
	assert_string_equal(talk(t, "STAT\r\r\nNO\rOP\r\nNOOP\n"),
	    "-ERR unknown command\r\n-ERR unknown command\r\n+OK\r\n");
	t_free(t);
}

static void
test_nul_byte(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	assert_string_equal(talkn(t, "USER alice\0bob\r\nNOOP\r\n", 22),
	    "-ERR NUL byte in command\r\n"
	    "-ERR command not valid in this state\r\n");
	/* The USER line was never processed: PASS has no USER. */
	assert_string_equal(talk(t, "PASS secret pass\r\n"),
	    "-ERR PASS must follow USER\r\n");
	assert_string_equal(talkn(t, "\0\r\n", 3), "-ERR NUL byte in command\r\n");
	/* In the SASL state a NUL ends the exchange. */
	assert_string_equal(talkn(t, "AUTH PLAIN\r\nAG\0FsaWNl\r\nSTAT\r\n", 29),
	    "+ \r\n-ERR NUL byte in command\r\n"
	    "-ERR command not valid in this state\r\n");
	t_free(t);
}

static void
test_line_limits(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		 line[600];

	(void)state;
	login(t);
	/* 253 octets + CRLF = 255: accepted (an unknown verb, but parsed). */
	memset(line, 'X', 253);
	strcpy(line + 253, "\r\n");
	assert_string_equal(talk(t, line), "-ERR unknown command\r\n");
	/* "NOOP" padded with spaces to 253 + CRLF: within the limit. */
	memcpy(line, "LIST", 4);
	memset(line + 4, ' ', 249);
	assert_string_equal(talk(t, line), "-ERR invalid arguments\r\n");
	/* 254 + CRLF = 256: too long, one reply. */
	memset(line, 'X', 254);
	strcpy(line + 254, "\r\n");
	assert_string_equal(talk(t, line), "-ERR line too long\r\n");
	/* With a bare LF the same content length decides. */
	memset(line, 'X', 254);
	strcpy(line + 254, "\n");
	assert_string_equal(talk(t, line), "-ERR line too long\r\n");
	memset(line, 'X', 253);
	strcpy(line + 253, "\n");
	assert_string_equal(talk(t, line), "-ERR unknown command\r\n");
	t_free(t);
}

static void
test_long_line_across_feeds(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		 chunk[1000];
	int		 i;
	char		 all[4096] = "";

	(void)state;
	login(t);
	memset(chunk, 'N', sizeof(chunk) - 1);
	chunk[sizeof(chunk) - 1] = '\0';
	/* 10,000 octets over ten feeds, then the end: one reply only. */
	strcat(all, talk(t, "NOOP\r\nRETR 1"));
	for (i = 0; i < 10; i++)
		strcat(all, talk(t, chunk));
	strcat(all, talk(t, " tail\r\nSTAT\r\n"));
	assert_string_equal(all, "+OK\r\n-ERR line too long\r\n+OK 3 109\r\n");
	t_free(t);

	/* The line ends in a later feed than the one that overflowed. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	memset(chunk, 'N', 300);
	chunk[300] = '\0';
	assert_string_equal(talk(t, chunk), "-ERR line too long\r\n");
	assert_string_equal(talk(t, "NOOP NOOP\r"), "");
	assert_string_equal(talk(t, "\nCAPA x\r\n"), "-ERR invalid arguments\r\n");
	t_free(t);
}

static void
test_bad_command_limit(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	int		 i;

	(void)state;
	for (i = 0; i < SESSION_MAX_BAD_COMMANDS - 1; i++) {
		assert_string_equal(talk(t, "BOGUS\r\n"),
		    "-ERR unknown command\r\n");
		assert_int_equal(t->want, SESSION_READ);
	}
	assert_string_equal(talk(t, "BOGUS\r\nQUIT\r\n"),
	    "-ERR too many bad commands\r\n");
	assert_int_equal(t->want, SESSION_END);
	t_free(t);

	/* Overlong lines and NULs count too. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	for (i = 0; i < SESSION_MAX_BAD_COMMANDS - 1; i++)
		talkn(t, "\0\n", 2);
	{
		char	line[400];

		memset(line, 'x', 399);
		line[399] = '\0';
		assert_string_equal(talk(t, line),
		    "-ERR too many bad commands\r\n");
	}
	assert_int_equal(t->want, SESSION_END);
	t_free(t);
}

/*
 * Talk without a login ends the connection: CAPA, USER, STLS and the
 * like count; tries at a login (PASS, AUTH with a mechanism) and QUIT
 * don't, they have limits of their own.
 */
static void
test_prelogin_talk_limit(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	int		 i;

	(void)state;
	for (i = 0; i < SESSION_MAX_PRELOGIN_COMMANDS - 1; i++) {
		/* ending with USER, so that PASS follows it */
		talk(t, (SESSION_MAX_PRELOGIN_COMMANDS - i) % 2 == 0 ?
		    "USER alice\r\n" : "CAPA\r\n");
		assert_int_equal(t->want, SESSION_READ);
	}
	/* a failed try is no talk */
	assert_string_equal(talk(t, "PASS wrong\r\n"),
	    "-ERR [AUTH] invalid user name or password\r\n");
	assert_true(talk(t, "AUTH\r\n")[0] == '+');
	assert_string_equal(talk(t, "CAPA\r\nQUIT\r\n"),
	    "-ERR too many commands without a login\r\n");
	assert_int_equal(t->want, SESSION_END);
	t_free(t);

	/* After a login there is no such limit. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	login(t);
	for (i = 0; i < 2 * SESSION_MAX_PRELOGIN_COMMANDS; i++)
		assert_true(talk(t, "NOOP\r\n")[0] == '+');
	t_free(t);
}

static void
test_feed_full_buffer(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		*big = malloc(3 * SESSION_INBUF_SIZE);
	size_t		 n;

	(void)state;
	memset(big, 'a', 3 * SESSION_INBUF_SIZE);
	n = session_feed(t->s, big, 3 * SESSION_INBUF_SIZE);
	assert_int_equal(n, SESSION_INBUF_SIZE);
	assert_int_equal(session_work(t->s, &t->out), SESSION_READ);
	collect(t);
	assert_string_equal(t->got, "-ERR line too long\r\n");
	/* Room again: the discarded bytes are gone. */
	n = session_feed(t->s, big, 3 * SESSION_INBUF_SIZE);
	assert_int_equal(n, SESSION_INBUF_SIZE);
	free(big);
	t_free(t);
}

/*
 * Big replies through small buffers.
 */

static void
test_list_100000(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	struct fake_msg	*m = calloc(100000, sizeof(*m));
	size_t		 i, calls = 0;
	const char	*p;
	char		 want[64];

	(void)state;
	for (i = 0; i < 100000; i++) {
		m[i].text = MSG1;
		snprintf(m[i].uid, sizeof(m[i].uid), "u%zu", i);
	}
	t->md.msgs = m;
	t->md.n = 100000;
	assert_string_equal(talk(t, "USER alice\r\nPASS secret pass\r\n"),
	    "+OK send PASS\r\n+OK alice has 100000 messages (2600000 "
	    "octets)\r\n");
	assert_int_equal(session_feed(t->s, "DELE 5\r\nLIST\r\nUIDL\r\n", 20), 20);
	t->gotlen = 0;
	while ((t->want = session_work(t->s, &t->out)) == SESSION_WRITE) {
		assert_true(t->out.len <= SESSION_OUTBUF_SIZE);
		calls++;
		collect(t);
	}
	collect(t);
	assert_int_equal(t->want, SESSION_READ);
	assert_true(calls > 10);
	/* Walk the reply line by line (strstr would be quadratic here). */
	p = t->got;
	p = expect_line(p, "+OK message 5 deleted\r\n");
	p = expect_line(p, "+OK 99999 messages (2599974 octets)\r\n");
	for (i = 1; i <= 100000; i++) {
		if (i == 5)
			continue;
		snprintf(want, sizeof(want), "%zu 26\r\n", i);
		p = expect_line(p, want);
	}
	p = expect_line(p, ".\r\n");
	p = expect_line(p, "+OK 99999 messages (2599974 octets)\r\n");
	for (i = 0; i < 100000; i++) {
		if (i == 4)
			continue;
		snprintf(want, sizeof(want), "%zu u%zu\r\n", i + 1, i);
		p = expect_line(p, want);
	}
	p = expect_line(p, ".\r\n");
	assert_int_equal(*p, '\0');
	t_free(t);
	free(m);
}

/*
 * A RETR too big for one write sends the "+OK" line and the message's
 * first SESSION_FIRST_WRITE octets at once, then full buffers; a RETR
 * that fits, and TOP, go out whole.
 */
static void
test_retr_first_write(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	struct fake_msg	 m[2];
	char		 hdr[64];
	size_t		 big = 2 * SESSION_OUTBUF_SIZE / FAKE_GEN_LINE, n;

	(void)state;
	memset(m, 0, sizeof(m));
	m[0].gen_lines = big;
	m[1].gen_lines = SESSION_OUTBUF_SIZE / FAKE_GEN_LINE - 200;
	strcpy(m[0].uid, "big");
	strcpy(m[1].uid, "fits");
	t->md.msgs = m;
	t->md.n = 2;
	talk(t, "USER alice\r\nPASS secret pass\r\n");

	assert_int_equal(session_feed(t->s, "RETR 1\r\n", 8), 8);
	assert_int_equal(session_work(t->s, &t->out), SESSION_WRITE);
	n = (size_t)snprintf(hdr, sizeof(hdr), "+OK %zu octets\r\n",
	    big * FAKE_GEN_LINE);
	assert_int_equal(t->out.len, n + SESSION_FIRST_WRITE);
	assert_memory_equal(t->out.data, hdr, n);
	t->out.len = 0;
	assert_int_equal(session_work(t->s, &t->out), SESSION_WRITE);
	assert_int_equal(t->out.len, SESSION_OUTBUF_SIZE);
	t->out.len = 0;
	assert_int_equal(session_work(t->s, &t->out), SESSION_READ);
	assert_memory_equal(t->out.data + t->out.len - 3, ".\r\n", 3);
	t->out.len = 0;

	assert_int_equal(session_feed(t->s, "RETR 2\r\n", 8), 8);
	assert_int_equal(session_work(t->s, &t->out), SESSION_READ);
	assert_memory_equal(t->out.data + t->out.len - 3, ".\r\n", 3);
	t->out.len = 0;

	assert_int_equal(session_feed(t->s, "TOP 1 9999\r\n", 12), 12);
	assert_int_equal(session_work(t->s, &t->out), SESSION_WRITE);
	assert_int_equal(t->out.len, SESSION_OUTBUF_SIZE);
	t->out.len = 0;
	t_free(t);
}

/*
 * Stream a generated message of lines through out of outcap octets and
 * check every byte, after undoing the byte-stuffing.
 */
static void
stream_check(size_t outcap, size_t lines)
{
	struct t	*t = t_new(outcap, 0, 0);
	struct fake_msg	 m[1];
	char		 line[FAKE_GEN_LINE + 2], hdr[64], *acc, *nl;
	size_t		 acclen = 0, k = 0, n, off, calls = 0, total = 0;
	uint64_t	 size;

	memset(m, 0, sizeof(m));
	m[0].gen_lines = lines;
	strcpy(m[0].uid, "big");
	t->md.msgs = m;
	t->md.n = 1;
	size = (uint64_t)lines * FAKE_GEN_LINE;
	talk(t, "USER alice\r\nPASS secret pass\r\n");
	assert_int_equal(session_feed(t->s, "RETR 1\r\nNOOP\r\n", 14), 14);
	acc = malloc(outcap + 2 * FAKE_GEN_LINE + 16);
	for (;;) {
		t->want = session_work(t->s, &t->out);
		assert_true(t->out.len <= outcap);
		/* Consume whole lines; keep a partial one for next time. */
		memcpy(acc + acclen, t->out.data, t->out.len);
		acclen += t->out.len;
		t->out.len = 0;
		calls++;
		off = 0;
		while ((nl = memchr(acc + off, '\n', acclen - off)) != NULL) {
			n = (size_t)(nl - (acc + off)) + 1;
			if (k == 0) {
				snprintf(hdr, sizeof(hdr), "+OK %llu octets\r\n",
				    (unsigned long long)size);
				assert_memory_equal(acc + off, hdr, n);
			} else if (k <= lines) {
				fake_gen_line(k - 1, 1, line);
				assert_int_equal(n, (k - 1) % 10 == 0 ?
				    FAKE_GEN_LINE + 1 : FAKE_GEN_LINE);
				assert_memory_equal(acc + off, line, n);
				total += FAKE_GEN_LINE;
			} else if (k == lines + 1)
				assert_memory_equal(acc + off, ".\r\n", 3);
			else
				assert_memory_equal(acc + off, "+OK\r\n", 5);
			k++;
			off += n;
		}
		/* Keep a partial line for the next round. */
		memmove(acc, acc + off, acclen - off);
		acclen -= off;
		if (t->want != SESSION_WRITE)
			break;
	}
	assert_int_equal(t->want, SESSION_READ);
	assert_int_equal(acclen, 0);
	assert_int_equal(k, lines + 3);
	assert_true(total == size);
	assert_true(calls > size / outcap);
	free(acc);
	t_free(t);
}

static void
test_stream_small_out(void **state)
{
	(void)state;
	stream_check(POP3_REPLY_MAX, 20000);	/* 1.28 MB through 512 octets */
	stream_check(POP3_REPLY_MAX + 7, 1001);
}

static void
test_stream_100mb(void **state)
{
	(void)state;
	/* 100 MB through the real output buffer size. */
	stream_check(SESSION_OUTBUF_SIZE, 100 * 1024 * 1024 / FAKE_GEN_LINE);
}

/*
 * STLS (RFC 2595) and plaintext_auth.
 */

#define PLAIN_REFUSED	"-ERR [AUTH] plaintext login refused on an " \
			"unencrypted connection: use STLS or port 995\r\n"
#define CAPA_HEAD	"+OK capability list follows\r\nTOP\r\n"

/* A session for a client elsewhere on the network, TLS configured. */
static struct t *
t_remote(int apop)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, apop, 0);

	session_set_link(t->s, 0, 0, 1);
	return t;
}

static void
test_stls_capa_before_after(void **state)
{
	struct t	*t = t_remote(0);

	(void)state;
	assert_string_equal(talk(t, "CAPA\r\n"), CAPA_HEAD
	    "UIDL\r\nPIPELINING\r\nRESP-CODES\r\nAUTH-RESP-CODE\r\n"
	    "EXPIRE 0\r\nSTLS\r\n.\r\n");
	assert_string_equal(talk(t, "STLS\r\n"),
	    "+OK begin TLS negotiation\r\n");
	assert_int_equal(t->want, SESSION_STARTTLS);
	session_tls_started(t->s);
	assert_string_equal(talk(t, "CAPA\r\n"), CAPA_HEAD
	    "USER\r\nUIDL\r\nPIPELINING\r\nRESP-CODES\r\n"
	    "AUTH-RESP-CODE\r\nEXPIRE 0\r\nSASL PLAIN\r\n.\r\n");
	assert_string_equal(talk(t, "STLS\r\n"),
	    "-ERR TLS is already active\r\n");
	assert_int_equal(t->want, SESSION_READ);
	login(t);
	assert_null(strstr(talk(t, "CAPA\r\n"), "STLS"));
	t_free(t);
}

/* Refused where plaintext is not allowed, and named so: STLS, 995. */
static void
test_plaintext_refused(void **state)
{
	struct t	*t = t_remote(1);

	(void)state;
	assert_string_equal(talk(t, "USER alice\r\n"), PLAIN_REFUSED);
	assert_string_equal(talk(t, "PASS secret pass\r\n"), PLAIN_REFUSED);
	assert_string_equal(talk(t, "APOP bob " DIGEST "\r\n"),
	    PLAIN_REFUSED);
	/* "\0alice\0secret pass" */
	assert_string_equal(talk(t, "AUTH PLAIN AGFsaWNlAHNlY3JldCBwYXNz\r\n"),
	    PLAIN_REFUSED);
	assert_string_equal(talk(t, "AUTH PLAIN\r\n"), PLAIN_REFUSED);
	assert_string_equal(talk(t, "AUTH\r\n"),
	    "+OK SASL mechanisms follow\r\n.\r\n");
	/* None of that counted as a failed login or logged anyone in. */
	assert_int_equal(t->fb.pw_checks + t->fb.apop_checks + t->fb.opens, 0);
	assert_int_equal(t->delays, 0);
	assert_string_equal(talk(t, "LIST\r\n"),
	    "-ERR command not valid in this state\r\n");
	t_free(t);
}

/* plaintext_auth x loopback x TLS: who may send a password. */
static void
test_plaintext_matrix(void **state)
{
	static const struct {
		enum plaintext_auth	pa;
		int			loopback, secure, ok;
	} m[] = {
		{ PLAINTEXT_NO, 0, 0, 0 },	{ PLAINTEXT_NO, 1, 0, 0 },
		{ PLAINTEXT_NO, 0, 1, 1 },	{ PLAINTEXT_NO, 1, 1, 1 },
		{ PLAINTEXT_LOCAL, 0, 0, 0 },	{ PLAINTEXT_LOCAL, 1, 0, 1 },
		{ PLAINTEXT_LOCAL, 0, 1, 1 },	{ PLAINTEXT_LOCAL, 1, 1, 1 },
		{ PLAINTEXT_YES, 0, 0, 1 },	{ PLAINTEXT_YES, 1, 0, 1 },
		{ PLAINTEXT_YES, 0, 1, 1 },	{ PLAINTEXT_YES, 1, 1, 1 },
	};
	struct t	*t;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
		t->conf.plaintext_auth = m[i].pa;
		session_set_link(t->s, m[i].secure, m[i].loopback, 1);
		talk(t, "CAPA\r\n");
		if (m[i].ok) {
			assert_non_null(strstr(t->got, "\r\nUSER\r\n"));
			assert_non_null(strstr(t->got, "\r\nSASL PLAIN\r\n"));
			login(t);
		} else {
			assert_null(strstr(t->got, "USER"));
			assert_null(strstr(t->got, "SASL"));
			assert_string_equal(talk(t, "USER alice\r\n"),
			    PLAIN_REFUSED);
		}
		/* STLS is offered exactly when TLS is not yet active. */
		assert_true((strstr(t->got, "STLS") != NULL) ==
		    (!m[i].secure && !m[i].ok));
		t_free(t);
	}
}

/*
 * The STARTTLS injection: whatever follows STLS in the same read was sent
 * in plaintext and must not be taken as said inside TLS.
 */
static void
test_stls_discards_pipelined(void **state)
{
	struct t	*t = t_remote(0);
	char		 junk[6000];

	(void)state;
	assert_string_equal(talk(t, "STLS\r\nUSER alice\r\nCAPA\r\n"),
	    "+OK begin TLS negotiation\r\n");
	assert_int_equal(t->want, SESSION_STARTTLS);
	session_tls_started(t->s);
	assert_string_equal(talk(t, "PASS secret pass\r\n"),
	    "-ERR PASS must follow USER\r\n");
	t_free(t);

	/* A USER given before STLS is forgotten too. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	session_set_link(t->s, 0, 1, 1);
	assert_string_equal(talk(t, "USER alice\r\nSTLS\r\n"),
	    "+OK send PASS\r\n+OK begin TLS negotiation\r\n");
	session_tls_started(t->s);
	assert_string_equal(talk(t, "PASS secret pass\r\n"),
	    "-ERR PASS must follow USER\r\n");
	t_free(t);

	/* A half line (no LF) after STLS: dropped, not joined to the next. */
	t = t_remote(0);
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, "STLS\r\nUSER", 10);
	assert_string_equal(talkn(t, junk, sizeof(junk)),
	    "+OK begin TLS negotiation\r\n");
	session_tls_started(t->s);
	assert_string_equal(talk(t, "NOOP\r\n"),
	    "-ERR command not valid in this state\r\n");
	t_free(t);
}

static void
test_stls_refusals(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);

	(void)state;
	/* No certificate configured: there is no STLS. */
	assert_null(strstr(talk(t, "CAPA\r\n"), "STLS"));
	assert_string_equal(talk(t, "STLS\r\n"), "-ERR unknown command\r\n");
	t_free(t);

	t = t_remote(0);
	assert_string_equal(talk(t, "STLS now\r\n"),
	    "-ERR invalid arguments\r\n");
	assert_int_equal(t->want, SESSION_READ);
	/* Inside a SASL exchange "STLS" is the client's response. */
	t->conf.plaintext_auth = PLAINTEXT_YES;
	talk(t, "AUTH PLAIN\r\nSTLS\r\n");
	assert_int_not_equal(t->want, SESSION_STARTTLS);
	assert_null(strstr(t->got, "begin TLS"));
	t_free(t);

	/* Implicit TLS (port 995): secure from the start. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	t->conf.plaintext_auth = PLAINTEXT_NO;
	session_set_link(t->s, 1, 0, 1);
	assert_null(strstr(talk(t, "CAPA\r\n"), "STLS"));
	assert_string_equal(talk(t, "STLS\r\n"),
	    "-ERR TLS is already active\r\n");
	login(t);
	assert_string_equal(talk(t, "STLS\r\n"),
	    "-ERR command not valid in this state\r\n");
	t_free(t);
}

/*
 * Log lines.  log.c writes to stderr here; log_start sends it to a
 * temporary file until log_taken returns what was written.
 */

static FILE	*log_file;
static int	 log_saved = -1;

static void
log_start(void)
{
	fflush(stderr);
	assert_non_null(log_file = tmpfile());
	assert_true((log_saved = dup(2)) >= 0);
	assert_true(dup2(fileno(log_file), 2) == 2);
}

static const char *
log_taken(void)
{
	static char	out[16384];
	size_t		n;

	fflush(stderr);
	assert_true(dup2(log_saved, 2) == 2);
	close(log_saved);
	rewind(log_file);
	n = fread(out, 1, sizeof(out) - 1, log_file);
	out[n] = '\0';
	fclose(log_file);
	return out;
}

/* The text after "): failed, " on the one failed-login line of log. */
static const char *
failed_reason(const char *log)
{
	static char	why[256];
	const char	*p = strstr(log, "): failed, "), *end;

	if (p == NULL)
		fail_msg("no failed-login line in: %s", log);
	p += strlen("): failed, ");
	end = strchr(p, '\n');
	if (end == NULL)
		end = p + strlen(p);
	snprintf(why, sizeof(why), "%.*s", (int)(end - p), p);
	if (strstr(end, "): failed, ") != NULL)
		fail_msg("two failed-login lines in: %s", log);
	return why;
}

/* Base64 of in (len bytes) into out, NUL-terminated. */
static void
b64(const unsigned char *in, size_t len, char *out)
{
	static const char	a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned long		v;
	size_t			i, k;

	for (i = 0; i < len; i += 3) {
		v = (unsigned long)in[i] << 16;
		if (i + 1 < len)
			v |= (unsigned long)in[i + 1] << 8;
		if (i + 2 < len)
			v |= in[i + 2];
		for (k = 0; k < 4; k++)
			*out++ = i + k <= len ? a[(v >> (18 - 6 * k)) & 63] :
			    '=';
	}
	*out = '\0';
}

static const char *
why_empty(void *ctx)
{
	(void)ctx;
	return "";
}

static const char *
why_unreadable(void *ctx)
{
	(void)ctx;
	return "passwd file unreadable";
}

static const char *
why_wrong_password(void *ctx)
{
	(void)ctx;
	return "wrong password";
}

/*
 * Every way a login can fail logs its own reason, never an empty one:
 * each case is one attempt in a fresh session, and its line must end in
 * the reason named.
 */
static void
test_log_failure_reasons(void **state)
{
	static const struct {
		const char	*in;
		int		 open_rc;	/* the maildrop's answer */
		const char	*(*why)(void *);
		const char	*reason;
	} c[] = {
		{ "USER bad/name\r\nPASS x\r\n", MD_OK, NULL,
		    "invalid user name" },
		{ "USER .hidden\r\nPASS x\r\n", MD_OK, why_wrong_password,
		    "invalid user name" },
		{ "USER alice\r\nPASS wrong\r\n", MD_OK, NULL,
		    "bad credentials" },
		{ "USER alice\r\nPASS wrong\r\n", MD_OK, why_empty,
		    "bad credentials" },
		{ "USER alice\r\nPASS wrong\r\n", MD_OK, why_wrong_password,
		    "wrong password" },
		{ "USER temp\r\nPASS x\r\n", MD_OK, NULL,
		    "credentials could not be checked" },
		{ "USER temp\r\nPASS x\r\n", MD_OK, why_unreadable,
		    "credentials could not be checked (passwd file unreadable)" },
		{ "APOP bad/name " DIGEST "\r\n", MD_OK, NULL,
		    "invalid user name" },
		{ "APOP bob 0123\r\n", MD_OK, NULL, "malformed APOP digest" },
		{ "APOP bob fedcba9876543210fedcba9876543210\r\n", MD_OK,
		    why_empty, "bad credentials" },
		/* "alice": no NUL at all */
		{ "AUTH PLAIN YWxpY2U=\r\n", MD_OK, NULL,
		    "malformed PLAIN message" },
		/* "\0bad/name\0pw" */
		{ "AUTH PLAIN AGJhZC9uYW1lAHB3\r\n", MD_OK, NULL,
		    "invalid user name" },
		/* "bob\0alice\0secret pass" */
		{ "AUTH PLAIN Ym9iAGFsaWNlAHNlY3JldCBwYXNz\r\n", MD_OK, NULL,
		    "authorization identity differs" },
		/* "\0alice\0wrong" */
		{ "AUTH PLAIN AGFsaWNlAHdyb25n\r\n", MD_OK, why_wrong_password,
		    "wrong password" },
		{ "USER alice\r\nPASS secret pass\r\n", MD_INUSE, NULL,
		    "maildrop in use" },
		{ "USER alice\r\nPASS secret pass\r\n", MD_LOGIN_DELAY, NULL,
		    "login_delay not over" },
		{ "USER alice\r\nPASS secret pass\r\n", MD_TEMP, NULL,
		    "maildrop error" },
		{ "USER alice\r\nPASS secret pass\r\n", MD_PERM, NULL,
		    "maildrop error" },
	};
	unsigned char	 plain[7 + AUTH_PASS_MAX + 1];
	char		 line[(sizeof(plain) + 2) / 3 * 4 + 3];
	struct t	*t;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		t = t_new(SESSION_OUTBUF_SIZE, 1, 0);
		t->fb.open_rc = c[i].open_rc;
		t->be.why = c[i].why;
		log_start();
		talk(t, c[i].in);
		assert_string_equal(failed_reason(log_taken()), c[i].reason);
		assert_non_null(strstr(t->got, "-ERR "));
		t_free(t);
	}

	/*
	 * A password longer than any the backend is asked about: only SASL's
	 * longer line can carry one.
	 */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	memset(plain, 'p', sizeof(plain));
	memcpy(plain, "\0alice\0", 7);
	b64(plain, sizeof(plain), line);
	strcat(line, "\r\n");
	assert_string_equal(talk(t, "AUTH PLAIN\r\n"), "+ \r\n");
	log_start();
	talk(t, line);
	assert_string_equal(failed_reason(log_taken()), "password too long");
	assert_int_equal(t->fb.pw_checks, 0);
	t_free(t);
}

/*
 * The TLS in use is named on every login line, failed, refused and ok
 * alike, after the command.
 */
static void
test_log_tls_details(void **state)
{
	struct t	*t = t_remote(0);
	const char	*log;

	(void)state;
	log_start();
	talk(t, "USER alice\r\n");
	log = log_taken();
	assert_non_null(strstr(log, "login alice from 192.0.2.1 (USER): "
	    "refused, plaintext_auth forbids passwords without TLS\n"));
	talk(t, "STLS\r\n");
	session_tls_started(t->s);
	session_set_tls(t->s, "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384");
	log_start();
	talk(t, "USER alice\r\nPASS wrong\r\n");
	talk(t, "AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
	login(t);
	log = log_taken();
	assert_non_null(strstr(log, "login alice from 192.0.2.1 (USER, "
	    "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384): failed, "
	    "bad credentials\n"));
	assert_non_null(strstr(log, "login alice from 192.0.2.1 (AUTH PLAIN, "
	    "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384): failed, "
	    "bad credentials\n"));
	assert_non_null(strstr(log, "login alice from 192.0.2.1 (USER, "
	    "TLSv1.2 TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384): ok, "
	    "3 messages\n"));
	t_free(t);

	/* Implicit TLS under plaintext_auth no: a refusal names it too. */
	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	t->conf.plaintext_auth = PLAINTEXT_NO;
	session_set_link(t->s, 0, 1, 1);
	session_set_tls(t->s, "");
	log_start();
	talk(t, "AUTH PLAIN AGFsaWNlAHdyb25n\r\n");
	log = log_taken();
	assert_non_null(strstr(log, "login (no name) from 192.0.2.1 "
	    "(AUTH PLAIN): refused, "));
	t_free(t);
}

/*
 * QUIT's logout line counts DELE's deletions apart from EXPIRE 0's: a
 * message retrieved and then deleted counts once, as DELE; RSET forgets
 * both; with expire never nothing retrieved goes.
 */
static void
test_log_logout_expired(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	char		 want[300];

	(void)state;
	login(t);
	talk(t, "RETR 1\r\n");
	talk(t, "DELE 1\r\n");
	talk(t, "RETR 2\r\n");
	talk(t, "RETR 3\r\n");
	log_start();
	assert_string_equal(talk(t, "QUIT\r\n"),
	    "+OK pop3d signing off (3 messages deleted)\r\n");
	snprintf(want, sizeof(want), "logout alice from 192.0.2.1: retrieved "
	    "3 messages (%zu octets), deleted 1 (DELE, %zu octets), expired 2 "
	    "(retrieved, %zu octets)\n", strlen(MSG1) + strlen(MSG2) +
	    strlen(MSG3), strlen(MSG1), strlen(MSG2) + strlen(MSG3));
	assert_non_null(strstr(log_taken(), want));
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 1);
	login(t);
	talk(t, "RETR 2\r\n");
	talk(t, "DELE 3\r\n");
	log_start();
	talk(t, "QUIT\r\n");
	snprintf(want, sizeof(want), "logout alice from 192.0.2.1: retrieved "
	    "1 messages (%zu octets), deleted 1 (DELE, %zu octets), expired 0 "
	    "(retrieved, 0 octets)\n", strlen(MSG2), strlen(MSG3));
	assert_non_null(strstr(log_taken(), want));
	t_free(t);

	t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	login(t);
	talk(t, "RETR 2\r\n");
	t->md.update_rc = MD_TEMP;
	log_start();
	talk(t, "QUIT\r\n");
	snprintf(want, sizeof(want), "logout alice from 192.0.2.1: retrieved "
	    "1 messages (%zu octets), update failed, nothing deleted\n",
	    strlen(MSG2));
	assert_non_null(strstr(log_taken(), want));
	t_free(t);
}

/* A session stopped before QUIT says why, once, and deletes nothing. */
static void
test_log_close_reason(void **state)
{
	struct t	*t = t_new(SESSION_OUTBUF_SIZE, 0, 0);
	const char	*log;

	(void)state;
	login(t);
	talk(t, "DELE 1\r\n");
	log_start();
	session_close(t->s, "terminated by signal");
	session_free(t->s);
	t->s = NULL;
	log = log_taken();
	assert_string_equal(strstr(log, "logout "), "logout alice from "
	    "192.0.2.1: terminated by signal, nothing deleted\n");
	assert_int_equal(t->md.updates, 0);
	t_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_greeting),
		cmocka_unit_test(test_log_failure_reasons),
		cmocka_unit_test(test_log_tls_details),
		cmocka_unit_test(test_log_logout_expired),
		cmocka_unit_test(test_log_close_reason),
		cmocka_unit_test(test_new_apop_needs_stamp),
		cmocka_unit_test(test_user_pass_ok),
		cmocka_unit_test(test_user_unknown_same_as_bad_pass),
		cmocka_unit_test(test_user_overlong_name),
		cmocka_unit_test(test_pass_keeps_spaces),
		cmocka_unit_test(test_pass_without_user),
		cmocka_unit_test(test_pass_empty),
		cmocka_unit_test(test_auth_failures_end_session),
		cmocka_unit_test(test_pipelined_failures_pause),
		cmocka_unit_test(test_tempfail),
		cmocka_unit_test(test_in_use_only_after_good_credentials),
		cmocka_unit_test(test_maildrop_errors),
		cmocka_unit_test(test_quit_authorization),
		cmocka_unit_test(test_authorization_rejects_transaction_cmds),
		cmocka_unit_test(test_transaction_rejects_authorization_cmds),
		cmocka_unit_test(test_apop),
		cmocka_unit_test(test_apop_bad),
		cmocka_unit_test(test_apop_disabled),
		cmocka_unit_test(test_auth_plain_ir),
		cmocka_unit_test(test_auth_plain_continuation),
		cmocka_unit_test(test_auth_plain_cancel),
		cmocka_unit_test(test_auth_plain_empty),
		cmocka_unit_test(test_auth_plain_bad),
		cmocka_unit_test(test_auth_bare_lists_mechanisms),
		cmocka_unit_test(test_auth_sasl_long_line),
		cmocka_unit_test(test_capa),
		cmocka_unit_test(test_stat_list),
		cmocka_unit_test(test_number_edge_cases),
		cmocka_unit_test(test_bad_commands_end_transaction),
		cmocka_unit_test(test_uidl),
		cmocka_unit_test(test_retr_stuffing),
		cmocka_unit_test(test_top),
		cmocka_unit_test(test_msg_open_errors),
		cmocka_unit_test(test_prefetch_hint),
		cmocka_unit_test(test_retr_first_write),
		cmocka_unit_test(test_msg_read_error_ends),
		cmocka_unit_test(test_dele_rset),
		cmocka_unit_test(test_noop_and_extra_args),
		cmocka_unit_test(test_quit_expire0),
		cmocka_unit_test(test_quit_expire_never),
		cmocka_unit_test(test_rset_clears_retrieved),
		cmocka_unit_test(test_quit_update_fails),
		cmocka_unit_test(test_free_without_quit),
		cmocka_unit_test(test_empty_maildrop),
		cmocka_unit_test(test_pipelining_in_order),
		cmocka_unit_test(test_pipelining_byte_by_byte),
		cmocka_unit_test(test_many_pipelined_small_out),
		cmocka_unit_test(test_bare_lf_and_cr),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_line_limits),
		cmocka_unit_test(test_long_line_across_feeds),
		cmocka_unit_test(test_bad_command_limit),
		cmocka_unit_test(test_prelogin_talk_limit),
		cmocka_unit_test(test_feed_full_buffer),
		cmocka_unit_test(test_list_100000),
		cmocka_unit_test(test_stream_small_out),
		cmocka_unit_test(test_stream_100mb),
		cmocka_unit_test(test_stls_capa_before_after),
		cmocka_unit_test(test_plaintext_refused),
		cmocka_unit_test(test_plaintext_matrix),
		cmocka_unit_test(test_stls_discards_pipelined),
		cmocka_unit_test(test_stls_refusals),
	};

	if (getenv("TEST_FILTER") != NULL)
		cmocka_set_test_filter(getenv("TEST_FILTER"));
	return cmocka_run_group_tests(tests, NULL, NULL);
}
