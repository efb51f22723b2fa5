/*
 * Unit tests for the privilege separation message (privsep.c): a fixed
 * size, bounded fields, and a decoder that trusts nothing it is sent.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "privsep.h"

static const char	digest[] = "0123456789abcdef0123456789abcdef";

static void
msg_password(struct privsep_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = PS_PASSWORD;
	strcpy(m->user, "alice");
	strcpy(m->secret, "pass word with spaces");
}

static void
test_roundtrip(void **state)
{
	struct privsep_msg	m, d;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	(void)state;
	msg_password(&m);
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	assert_int_equal(d.type, PS_PASSWORD);
	assert_string_equal(d.user, "alice");
	assert_string_equal(d.secret, "pass word with spaces");

	memset(&m, 0, sizeof(m));
	m.type = PS_HANDOFF;
	m.secure = 1;
	m.unread = PRIVSEP_UNREAD_MAX;
	strcpy(m.text, "TLSv1.2 TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384");
	strcpy(m.peer, "[::1]:40000");
	strcpy(m.how, "AUTH PLAIN");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	assert_string_equal(d.how, "AUTH PLAIN");
	assert_int_equal(d.unread, PRIVSEP_UNREAD_MAX);
	assert_int_equal(d.secure, 1);
	assert_string_equal(d.peer, "[::1]:40000");

	memset(&m, 0, sizeof(m));
	m.type = PS_VERDICT;
	m.result = AUTH_TEMPFAIL;
	strcpy(m.text, "wrong password");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	assert_int_equal(d.result, AUTH_TEMPFAIL);
	assert_string_equal(d.text, "wrong password");
}

/* Fields are at fixed places: the longest values fit, nothing moves. */
static void
test_fixed_layout(void **state)
{
	struct privsep_msg	m, d;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	(void)state;
	msg_password(&m);
	memset(m.user, 'a', AUTH_NAME_MAX);
	m.user[AUTH_NAME_MAX] = '\0';
	memset(m.secret, 'x', AUTH_PASS_MAX);
	m.secret[AUTH_PASS_MAX] = '\0';
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	assert_int_equal(strlen(d.user), AUTH_NAME_MAX);
	assert_int_equal(strlen(d.secret), AUTH_PASS_MAX);
	/* The type is big-endian at offset 0, the user at offset 16. */
	assert_int_equal(buf[3], PS_PASSWORD);
	assert_int_equal(buf[0] | buf[1] | buf[2], 0);
	assert_int_equal(buf[16], 'a');
	assert_true(PRIVSEP_MSG_SIZE < 1024);
}

static void
test_encode_refuses_unterminated(void **state)
{
	struct privsep_msg	m;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	(void)state;
	msg_password(&m);
	memset(m.secret, 'x', sizeof(m.secret));	/* no NUL */
	assert_int_equal(privsep_encode(&m, buf), -1);
	msg_password(&m);
	memset(m.peer, 'p', sizeof(m.peer));
	assert_int_equal(privsep_encode(&m, buf), -1);
}

/* Encode a valid message, let f spoil the bytes, expect a refusal. */
static void
refused_after(void (*f)(unsigned char *), const struct privsep_msg *m)
{
	struct privsep_msg	d;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	assert_int_equal(privsep_encode(m, buf), 0);
	f(buf);
	assert_int_equal(privsep_decode(buf, &d), -1);
	/* A refused message leaves nothing behind. */
	assert_int_equal(d.type, 0);
	assert_int_equal(d.secret[0], '\0');
}

static void spoil_type(unsigned char *b) { b[3] = 9; }
static void spoil_type0(unsigned char *b) { b[3] = 0; }
static void spoil_user_nul(unsigned char *b) { memset(b + 16, 'a', AUTH_NAME_MAX + 1); }
static void spoil_after_nul(unsigned char *b) { b[16 + 10] = 'Z'; }
static void spoil_secret_nul(unsigned char *b)
{
	memset(b + 16 + AUTH_NAME_MAX + 1, 'x', AUTH_PASS_MAX + 1);
}
static void spoil_last_byte(unsigned char *b) { b[PRIVSEP_MSG_SIZE - 1] = 'q'; }
static void spoil_user_name(unsigned char *b) { memcpy(b + 16, "../x", 4); }
static void spoil_unread(unsigned char *b) { b[13] = 0xff; }
static void spoil_result(unsigned char *b) { b[7] = 3; }
static void spoil_secure(unsigned char *b) { b[11] = 2; }

static void
test_decode_hostile(void **state)
{
	struct privsep_msg	m;

	(void)state;
	msg_password(&m);
	refused_after(spoil_type, &m);
	refused_after(spoil_type0, &m);
	refused_after(spoil_user_nul, &m);
	refused_after(spoil_after_nul, &m);
	refused_after(spoil_secret_nul, &m);
	refused_after(spoil_last_byte, &m);
	refused_after(spoil_user_name, &m);
	refused_after(spoil_unread, &m);	/* password with unread set */
	refused_after(spoil_result, &m);
	refused_after(spoil_secure, &m);

	memset(&m, 0, sizeof(m));
	m.type = PS_HANDOFF;
	refused_after(spoil_unread, &m);	/* more than PRIVSEP_UNREAD_MAX */
	refused_after(spoil_secure, &m);

	memset(&m, 0, sizeof(m));
	m.type = PS_VERDICT;
	refused_after(spoil_result, &m);	/* not an enum auth_result */
}

static void
test_decode_type_rules(void **state)
{
	struct privsep_msg	m, d;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	(void)state;
	/* APOP wants exactly 32 lower-case hex digits. */
	memset(&m, 0, sizeof(m));
	m.type = PS_APOP;
	strcpy(m.user, "bob");
	strcpy(m.secret, digest);
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	strcpy(m.secret, "0123456789ABCDEF0123456789abcdef");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);
	strcpy(m.secret, "0123");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);

	/* A handoff carries no user or secret; a password no peer. */
	memset(&m, 0, sizeof(m));
	m.type = PS_HANDOFF;
	strcpy(m.secret, "leak");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);
	msg_password(&m);
	strcpy(m.peer, "1.2.3.4:5");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);
	msg_password(&m);
	strcpy(m.how, "USER");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);

	/* An empty user name is never asked about. */
	msg_password(&m);
	m.user[0] = '\0';
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);

	/* A rekey is an address key in hex and nothing else. */
	memset(&m, 0, sizeof(m));
	m.type = PS_REKEY;
	strcpy(m.secret, digest);
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	strcpy(m.peer, "1.2.3.4:5");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);
	m.peer[0] = '\0';
	m.result = 1;
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);
	m.result = 0;
	strcpy(m.secret, "192.0.2.1");
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);

	/* Its answer is yes or no. */
	memset(&m, 0, sizeof(m));
	m.type = PS_ADMIT;
	m.result = 1;
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), 0);
	m.result = 2;
	assert_int_equal(privsep_encode(&m, buf), 0);
	assert_int_equal(privsep_decode(buf, &d), -1);
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_fixed_layout),
		cmocka_unit_test(test_encode_refuses_unterminated),
		cmocka_unit_test(test_decode_hostile),
		cmocka_unit_test(test_decode_type_rules),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
