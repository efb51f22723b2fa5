/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests for the privilege separation message (privmsg.c): a fixed
 * size, bounded fields, and a decoder that trusts nothing it is sent.
 * Then the monitor's key operations, asked for by a pre-login process
 * that sends what it likes (a compromised one): the monitor signs once
 * with an RSA key and verifiably, seals one ticket, opens two, and ends
 * the connection at the next request.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/md.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>

#include "conf.h"
#include "conn.h"
#include "params.h"
#include "privmsg.h"
#include "privsep.h"
#include "tlskeys.h"
#include "tls_testutil.h"

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

/* Encode m; 0 when the decoder takes it back, -1 when it refuses. */
static int
decodes(const struct privsep_msg *m)
{
	struct privsep_msg	d;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	assert_int_equal(privsep_encode(m, buf), 0);
	return privsep_decode(buf, &d);
}

static void
keyop(struct privsep_msg *m, uint32_t type, uint32_t result,
    uint32_t secure, uint32_t unread)
{
	memset(m, 0, sizeof(*m));
	m->type = type;
	m->result = result;
	m->secure = secure;
	m->unread = unread;
}

/*
 * A key operation's bytes follow the message: the decoder bounds their
 * length by type, a digest to its exact size, and allows no string.
 */
static void
test_decode_key_operations(void **state)
{
	struct privsep_msg	m;

	(void)state;
	keyop(&m, PS_SIGN, TLS_MD_SHA256, 0, 32);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_SIGN, TLS_MD_SHA512, CONF_SNI_MAX, 64);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_SIGN, TLS_MD_SHA256, 0, 33);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGN, TLS_MD_SHA256, 0, 0);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGN, 0, 0, 32);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGN, TLS_MD_SHA512 + 1, 0, 64);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGN, TLS_MD_SHA256, CONF_SNI_MAX + 1, 32);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGN, TLS_MD_SHA256, 0, 32);
	strcpy(m.user, "alice");
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGN, TLS_MD_SHA256, 0, 32);
	strcpy(m.text, "x");
	assert_int_equal(decodes(&m), -1);

	keyop(&m, PS_SEAL, 0, 0, TLS_SESSION_MAX);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_SEAL, 0, 0, TLS_SESSION_MAX + 1);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SEAL, 0, 0, 0);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SEAL, 1, 0, 10);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_OPEN, 0, 0, TLS_TICKET_MAX);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_OPEN, 0, 0, TLS_TICKET_MAX + 1);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_OPEN, 0, 1, 100);
	assert_int_equal(decodes(&m), -1);

	/* Answers: done with bytes, or refused without. */
	keyop(&m, PS_SIGNED, 0, 0, TLS_SIG_MAX);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_SIGNED, 0, 0, TLS_SIG_MAX + 1);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGNED, 0, 0, 0);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGNED, 1, 0, 0);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_SIGNED, 1, 0, 256);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_SIGNED, 2, 0, 0);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_TICKET, 0, 0, TLS_TICKET_MAX);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_TICKET, 0, 0, TLS_TICKET_MAX + 1);
	assert_int_equal(decodes(&m), -1);
	keyop(&m, PS_TICKET, 1, 0, 0);
	assert_int_equal(decodes(&m), 0);
	keyop(&m, PS_TICKET, 0, 1, 40);
	assert_int_equal(decodes(&m), -1);
}

/*
 * A hostile pre-login process: privsep_serve runs it as the prepare
 * hook (so after the fork, the split of the keys and the jail), and it
 * sends the steps as they are, reporting each answer to the test.
 */
struct step {
	uint32_t		 type, result, secure;
	const unsigned char	*bytes;
	size_t			 len;
};

/* What came back for one step. */
struct answer {
	char		 got;	/* 'Y' done, 'N' refused, 'E' the monitor ended */
	uint32_t	 len;
	unsigned char	 bytes[TLS_TICKET_MAX];
};

struct hostile {
	const struct step	*steps;
	int			 n;
	int			 report;	/* struct answer, one a step */
};

static int
read_full(int fd, void *p, size_t n)
{
	ssize_t	r;

	for (; n > 0; n -= (size_t)r, p = (char *)p + r)
		if ((r = read(fd, p, n)) <= 0)
			return -1;
	return 0;
}

/* One step: the request, then the answer.  Returns 0, or -1 to stop. */
static int
ask(int fd, const struct step *st, struct answer *a)
{
	struct privsep_msg	m;
	unsigned char		buf[PRIVSEP_MSG_SIZE];

	memset(a, 0, sizeof(*a));
	a->got = 'E';
	keyop(&m, st->type, st->result, st->secure, (uint32_t)st->len);
	if (privsep_encode(&m, buf) == -1 ||
	    write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
	    write(fd, st->bytes, st->len) != (ssize_t)st->len ||
	    read_full(fd, buf, sizeof(buf)) == -1 ||
	    privsep_decode(buf, &m) == -1 || m.unread > sizeof(a->bytes) ||
	    read_full(fd, a->bytes, m.unread) == -1)
		return -1;
	a->got = m.result == 0 ? 'Y' : 'N';
	a->len = m.unread;
	return 0;
}

static int
hostile_prepare(struct conn_link *link, int monitor, void *arg)
{
	struct hostile	*h = arg;
	struct answer	 a;
	int		 i, go = 1;

	(void)link;
	/* A monitor that ends sends SIGTERM too: the report comes first. */
	signal(SIGTERM, SIG_IGN);
	for (i = 0; i < h->n && go; i++) {
		go = ask(monitor, &h->steps[i], &a) == 0;
		if (write(h->report, &a, sizeof(a)) != (ssize_t)sizeof(a))
			break;
	}
	return -1;	/* no session: the test is over */
}

struct server {
	char			 dir[64];
	struct conf		 conf;
	struct tls_server	*tls;
	mbedtls_x509_crt	 crt;
};

static struct server	rsa_srv, ec_srv;

/* A server with an RSA-2048 (rsa) or P-256 certificate.  0 or -1. */
static int
server_new(struct server *sv, unsigned rsa_bits)
{
	mbedtls_entropy_context		entropy;
	mbedtls_ctr_drbg_context	drbg;
	char				err[256];
	int				rc;

	snprintf(sv->dir, sizeof(sv->dir), "/tmp/pop3d-test-privsep-XXXXXX");
	if (mkdtemp(sv->dir) == NULL)
		return -1;
	conf_defaults(&sv->conf);
	/* The hostile pre-login process plays one the filter does not
	   hold (sandbox no): the monitor must stand on its own. */
	sv->conf.sandbox = 0;
	snprintf(sv->conf.tls_cert, sizeof(sv->conf.tls_cert), "%s/c.pem",
	    sv->dir);
	snprintf(sv->conf.tls_key, sizeof(sv->conf.tls_key), "%s/k.pem",
	    sv->dir);
	/* TLS 1.2 only: mbedTLS 3's TLS 1.3 would keep an RSA key out of
	   the monitor's hands (tls_key_separated). */
	snprintf(sv->conf.tls_ciphers, sizeof(sv->conf.tls_ciphers), "%s",
	    rsa_bits > 0 ? "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256" :
	    "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256");
	mbedtls_entropy_init(&entropy);
	mbedtls_ctr_drbg_init(&drbg);
	rc = mbedtls_ctr_drbg_seed(&drbg, mbedtls_entropy_func, &entropy,
	    NULL, 0) == 0 && tls_test_cert(&drbg, "CN=localhost",
	    sv->conf.tls_cert, sv->conf.tls_key, rsa_bits) == 0 ? 0 : -1;
	mbedtls_ctr_drbg_free(&drbg);
	mbedtls_entropy_free(&entropy);
	mbedtls_x509_crt_init(&sv->crt);
	if (rc == 0 && mbedtls_x509_crt_parse_file(&sv->crt,
	    sv->conf.tls_cert) != 0)
		rc = -1;
	if (rc == 0 && (sv->tls = tls_server_new(&sv->conf, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "tls_server_new: %s\n", err);
		rc = -1;
	}
	return rc;
}

static void
server_free(struct server *sv)
{
	char	cmd[128];

	tls_server_free(sv->tls);
	mbedtls_x509_crt_free(&sv->crt);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sv->dir);
	(void)system(cmd);
}

static int
group_setup(void **state)
{
	(void)state;
	signal(SIGPIPE, SIG_IGN);
	return server_new(&rsa_srv, 2048) == 0 && server_new(&ec_srv, 0) == 0 ?
	    0 : -1;
}

static int
group_teardown(void **state)
{
	(void)state;
	server_free(&rsa_srv);
	server_free(&ec_srv);
	return 0;
}

/*
 * One connection served by privsep_serve with tls (NULL: no TLS), its
 * pre-login process taking the n steps; a[] gets the answers.  Returns
 * how many steps were answered or ended.
 */
static int
connection(struct tls_server *tls, const struct step *steps, int n,
    struct answer *a)
{
	struct conn_link	link;
	struct hostile		h = { steps, n, -1 };
	int			sp[2], rp[2], got = 0, st;
	pid_t			pid;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	assert_int_equal(pipe(rp), 0);
	h.report = rp[1];
	assert_int_not_equal(pid = fork(), -1);
	if (pid == 0) {
		close(rp[0]);
		memset(&link, 0, sizeof(link));
		link.peer = "test";
		link.tls = tls;
		_exit(privsep_serve(&rsa_srv.conf, sp[1], sp[1], &link,
		    hostile_prepare, &h) == 0 ? 0 : 1);
	}
	close(rp[1]);
	close(sp[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	while (got < n && read_full(rp[0], &a[got], sizeof(a[got])) == 0)
		got++;
	close(rp[0]);
	close(sp[0]);
	return got;
}

static const unsigned char	hash[32] = "0123456789abcdef0123456789abcde";

/* Is a the PKCS#1 v1.5 signature of hash (SHA-256) by sv's key? */
static int
verifies(struct server *sv, const struct answer *a)
{
	return mbedtls_pk_verify(&sv->crt.pk, MBEDTLS_MD_SHA256, hash,
	    sizeof(hash), a->bytes, a->len) == 0;
}

static void
test_monitor_signs_once(void **state)
{
	const struct step	steps[] = {
		{ PS_SIGN, TLS_MD_SHA256, 0, hash, sizeof(hash) },
		{ PS_SIGN, TLS_MD_SHA256, 0, hash, sizeof(hash) },
	};
	struct answer		a[2];

	(void)state;
	assert_int_equal(connection(rsa_srv.tls, steps, 2, a), 2);
	assert_int_equal(a[0].got, 'Y');
	assert_int_equal(a[0].len, 256);
	assert_true(verifies(&rsa_srv, &a[0]));
	assert_int_equal(a[1].got, 'E');
}

/* A key the pre-login process keeps (ECDSA) the monitor never signs with. */
static void
test_monitor_refuses_a_key_it_does_not_keep(void **state)
{
	const struct step	steps[] = {
		{ PS_SIGN, TLS_MD_SHA256, 0, hash, sizeof(hash) },
		{ PS_SIGN, TLS_MD_SHA256, 1, hash, sizeof(hash) },
	};
	struct answer		a[2];

	(void)state;
	assert_int_equal(connection(ec_srv.tls, steps, 1, a), 1);
	assert_int_equal(a[0].got, 'N');
	/* Nor with a certificate there is none of. */
	assert_int_equal(connection(rsa_srv.tls, steps + 1, 1, a), 1);
	assert_int_equal(a[0].got, 'N');
}

/*
 * A ticket sealed in one connection opens in another, once the monitor
 * had sealed nothing yet: it gives up the ticket keys after its seal.
 * Forged tickets are refused, and the opens stop at PRIVSEP_OPENS_MAX.
 */
static void
test_monitor_ticket_bounds(void **state)
{
	static const unsigned char	session[] = "session state";
	unsigned char			forged[100];
	const struct step		seal[] = {
		{ PS_SEAL, 0, 0, session, sizeof(session) },
		{ PS_OPEN, 0, 0, forged, sizeof(forged) },
		{ PS_SEAL, 0, 0, session, sizeof(session) },
	};
	struct step			open[PRIVSEP_OPENS_MAX + 1];
	struct answer			a[PRIVSEP_OPENS_MAX + 1], t;
	int				i;

	(void)state;
	memset(forged, 'f', sizeof(forged));
	assert_int_equal(connection(rsa_srv.tls, seal, 3, a), 3);
	assert_int_equal(a[0].got, 'Y');
	assert_int_equal(a[0].len, sizeof(session) + TLS_TICKET_OVERHEAD);
	assert_int_equal(a[1].got, 'N');
	assert_int_equal(a[2].got, 'E');
	t = a[0];

	for (i = 0; i <= PRIVSEP_OPENS_MAX; i++)
		open[i] = (struct step){ PS_OPEN, 0, 0, forged,
		    sizeof(forged) };
	open[PRIVSEP_OPENS_MAX - 1].bytes = t.bytes;
	open[PRIVSEP_OPENS_MAX - 1].len = t.len;
	assert_int_equal(connection(rsa_srv.tls, open, PRIVSEP_OPENS_MAX + 1,
	    a), PRIVSEP_OPENS_MAX + 1);
	for (i = 0; i < PRIVSEP_OPENS_MAX - 1; i++)
		assert_int_equal(a[i].got, 'N');
	assert_int_equal(a[i].got, 'Y');
	assert_int_equal(a[i].len, sizeof(session));
	assert_memory_equal(a[i].bytes, session, sizeof(session));
	assert_int_equal(a[PRIVSEP_OPENS_MAX].got, 'E');

	/* A changed byte anywhere is a forgery. */
	t.bytes[t.len / 2] ^= 1;
	open[0] = (struct step){ PS_OPEN, 0, 0, t.bytes, t.len };
	assert_int_equal(connection(rsa_srv.tls, open, 1, a), 1);
	assert_int_equal(a[0].got, 'N');
}

/*
 * What the decoder refuses, and any key operation on a connection
 * without TLS, end the connection at once.
 */
static void
test_monitor_ends_on_bad_key_operations(void **state)
{
	const struct step	bad[] = {
		{ PS_SIGN, TLS_MD_SHA256, 0, hash, 20 },
		{ PS_SIGNED, 0, 0, hash, 20 },
		{ PS_SEAL, 0, 0, hash, 20 },
	};
	struct answer		a[1];

	(void)state;
	assert_int_equal(connection(rsa_srv.tls, &bad[0], 1, a), 1);
	assert_int_equal(a[0].got, 'E');
	assert_int_equal(connection(rsa_srv.tls, &bad[1], 1, a), 1);
	assert_int_equal(a[0].got, 'E');
	assert_int_equal(connection(NULL, &bad[2], 1, a), 1);
	assert_int_equal(a[0].got, 'E');
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
		cmocka_unit_test(test_decode_key_operations),
	};
	const struct CMUnitTest	monitor[] = {
		cmocka_unit_test(test_monitor_signs_once),
		cmocka_unit_test(test_monitor_refuses_a_key_it_does_not_keep),
		cmocka_unit_test(test_monitor_ticket_bounds),
		cmocka_unit_test(test_monitor_ends_on_bad_key_operations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) |
	    cmocka_run_group_tests(monitor, group_setup, group_teardown);
}
