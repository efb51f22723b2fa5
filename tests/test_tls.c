/*
 * Unit tests of tls.c's session tickets, with real handshakes between the
 * server (tls_start in a forked child, as in a session process) and an
 * mbedTLS client: a ticket resumes across one key rotation
 * (tls_server_tick) and not across two, and the newer key writes.  The
 * rotation interval is twelve hours, so time(3) is wrapped at link time
 * (-Wl,--wrap=time, Makefile): the daemon has no knob for it.
 *
 * Also pinned down: the mbedTLS limit that keeps the TLS relay of a
 * logged-in session (DESIGN.md, privilege separation).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <mbedtls/ctr_drbg.h>
#include <mbedtls/ecp.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "conf.h"
#include "params.h"
#include "tls.h"
#include "transport.h"

static time_t	fake_now = 1700000000;

/* What the objects linked here get for time(3). */
time_t	__wrap_time(time_t *);	/* NOLINT(bugprone-reserved-identifier): the linker's name */

time_t
__wrap_time(time_t *t)	/* NOLINT(bugprone-reserved-identifier): as above */
{
	if (t != NULL)
		*t = fake_now;
	return fake_now;
}

struct fixture {
	char				 dir[64];
	char				 cert[96], key[96];
	mbedtls_entropy_context		 entropy;
	mbedtls_ctr_drbg_context	 drbg;
	struct conf			 conf;
	struct tls_server		*srv;
};

static void
write_file(const char *path, const unsigned char *p)
{
	FILE	*f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs((const char *)p, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

/* A fresh P-256 key and a self-signed certificate for it, as PEM files. */
static void
make_cert(struct fixture *fx)
{
	mbedtls_pk_context	key;
	mbedtls_x509write_cert	crt;
	mbedtls_mpi		serial;
	unsigned char		pem[4096];

	mbedtls_pk_init(&key);
	mbedtls_x509write_crt_init(&crt);
	mbedtls_mpi_init(&serial);
	assert_int_equal(mbedtls_pk_setup(&key,
	    mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY)), 0);
	assert_int_equal(mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1,
	    mbedtls_pk_ec(key), mbedtls_ctr_drbg_random, &fx->drbg), 0);
	assert_int_equal(mbedtls_pk_write_key_pem(&key, pem, sizeof(pem)), 0);
	write_file(fx->key, pem);
	mbedtls_x509write_crt_set_version(&crt, MBEDTLS_X509_CRT_VERSION_3);
	mbedtls_x509write_crt_set_md_alg(&crt, MBEDTLS_MD_SHA256);
	mbedtls_x509write_crt_set_subject_key(&crt, &key);
	mbedtls_x509write_crt_set_issuer_key(&crt, &key);
	assert_int_equal(mbedtls_mpi_lset(&serial, 1), 0);
	assert_int_equal(mbedtls_x509write_crt_set_serial(&crt, &serial), 0);
	assert_int_equal(mbedtls_x509write_crt_set_subject_name(&crt,
	    "CN=localhost"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_issuer_name(&crt,
	    "CN=localhost"), 0);
	assert_int_equal(mbedtls_x509write_crt_set_validity(&crt,
	    "20200101000000", "20991231235959"), 0);
	assert_int_equal(mbedtls_x509write_crt_pem(&crt, pem, sizeof(pem),
	    mbedtls_ctr_drbg_random, &fx->drbg), 0);
	write_file(fx->cert, pem);
	mbedtls_mpi_free(&serial);
	mbedtls_x509write_crt_free(&crt);
	mbedtls_pk_free(&key);
}

static int
setup(void **state)
{
	struct fixture	*fx = calloc(1, sizeof(*fx));
	char		 err[256] = "";

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/pop3d-test-tls-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->cert, sizeof(fx->cert), "%s/cert.pem", fx->dir);
	snprintf(fx->key, sizeof(fx->key), "%s/key.pem", fx->dir);
	mbedtls_entropy_init(&fx->entropy);
	mbedtls_ctr_drbg_init(&fx->drbg);
	assert_int_equal(mbedtls_ctr_drbg_seed(&fx->drbg, mbedtls_entropy_func,
	    &fx->entropy, NULL, 0), 0);
	make_cert(fx);
	conf_defaults(&fx->conf);
	snprintf(fx->conf.tls_cert, sizeof(fx->conf.tls_cert), "%s", fx->cert);
	snprintf(fx->conf.tls_key, sizeof(fx->conf.tls_key), "%s", fx->key);
	fx->srv = tls_server_new(&fx->conf, err, sizeof(err));
	if (fx->srv == NULL)
		fail_msg("tls_server_new: %s", err);
	/* A session child that writes to a closed client must not die. */
	signal(SIGPIPE, SIG_IGN);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture	*fx = *state;

	tls_server_free(fx->srv);
	mbedtls_ctr_drbg_free(&fx->drbg);
	mbedtls_entropy_free(&fx->entropy);
	unlink(fx->cert);
	unlink(fx->key);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* The server side of one connection, in a child like a session process. */
static pid_t
serve_one(struct tls_server *srv, int fd)
{
	struct transport	t;
	struct pollfd		pfd = { .fd = fd, .events = POLLIN };
	char			c;
	int			n;
	pid_t			pid = fork();

	assert_int_not_equal(pid, -1);
	if (pid != 0)
		return pid;
	transport_plain(&t, fd, fd);
	if (tls_child_init(srv) == -1 || tls_start(srv, &t, 5, "test") == -1)
		_exit(1);
	/* Hold the connection until the client is done with it. */
	for (n = 0; n < 100; n++) {
		(void)poll(&pfd, 1, 100);
		if (t.read(&t, &c, 1) != -1 || errno != EAGAIN)
			break;
	}
	t.shutdown(&t);
	_exit(0);
}

/* The master secret of the client's latest handshake. */
static int
keep_master(void *p, const unsigned char *ms, const unsigned char *kb,
    size_t maclen, size_t keylen, size_t ivlen)
{
	(void)kb;
	(void)maclen;
	(void)keylen;
	(void)ivlen;
	memcpy(p, ms, 48);
	return 0;
}

struct client {
	mbedtls_ssl_config	conf;
	mbedtls_ssl_context	ssl;
	mbedtls_net_context	net;
	unsigned char		master[48];
	pid_t			server;
};

/*
 * Connect a client to a fresh server child, offering the ticket in
 * resume unless NULL, and finish the handshake.
 */
static void
client_open(struct fixture *fx, struct client *cl,
    const mbedtls_ssl_session *resume)
{
	int	sp[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	cl->server = serve_one(fx->srv, sp[1]);
	close(sp[1]);
	mbedtls_net_init(&cl->net);
	cl->net.fd = sp[0];
	mbedtls_ssl_config_init(&cl->conf);
	mbedtls_ssl_init(&cl->ssl);
	assert_int_equal(mbedtls_ssl_config_defaults(&cl->conf,
	    MBEDTLS_SSL_IS_CLIENT, MBEDTLS_SSL_TRANSPORT_STREAM,
	    MBEDTLS_SSL_PRESET_DEFAULT), 0);
	mbedtls_ssl_conf_authmode(&cl->conf, MBEDTLS_SSL_VERIFY_NONE);
	mbedtls_ssl_conf_rng(&cl->conf, mbedtls_ctr_drbg_random, &fx->drbg);
	mbedtls_ssl_conf_export_keys_cb(&cl->conf, keep_master, cl->master);
	assert_int_equal(mbedtls_ssl_setup(&cl->ssl, &cl->conf), 0);
	mbedtls_ssl_set_bio(&cl->ssl, &cl->net, mbedtls_net_send,
	    mbedtls_net_recv, NULL);
	if (resume != NULL)
		assert_int_equal(mbedtls_ssl_set_session(&cl->ssl, resume), 0);
	r = mbedtls_ssl_handshake(&cl->ssl);
	if (r != 0)
		fail_msg("client handshake: -0x%04x", (unsigned)-r);
}

static void
client_close(struct client *cl)
{
	int	st;

	mbedtls_net_free(&cl->net);
	assert_int_equal(waitpid(cl->server, &st, 0), cl->server);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	mbedtls_ssl_free(&cl->ssl);
	mbedtls_ssl_config_free(&cl->conf);
}

/*
 * One connection offering the ticket from `from' (a full handshake when
 * NULL); keeps the new session in `out' unless NULL.  Returns 1 when
 * the server resumed: the master secret is the ticket's, not a new one.
 */
static int
connect_with(struct fixture *fx, const mbedtls_ssl_session *from,
    const unsigned char *from_master, mbedtls_ssl_session *out,
    unsigned char *out_master)
{
	struct client	cl;
	int		resumed;

	client_open(fx, &cl, from);
	resumed = from_master != NULL &&
	    memcmp(cl.master, from_master, sizeof(cl.master)) == 0;
	if (out != NULL) {
		mbedtls_ssl_session_init(out);
		assert_int_equal(mbedtls_ssl_get_session(&cl.ssl, out), 0);
		memcpy(out_master, cl.master, sizeof(cl.master));
	}
	client_close(&cl);
	return resumed;
}

static void
test_ticket_rotation(void **state)
{
	struct fixture		*fx = *state;
	mbedtls_ssl_session	 s1, s_early, s2;
	unsigned char		 m1[48], m_early[48], m2[48];

	/* Before any rotation a ticket resumes (so resumption is seen). */
	assert_false(connect_with(fx, NULL, NULL, &s1, m1));
	assert_true(connect_with(fx, &s1, m1, NULL, NULL));

	/* A second early: no rotation, the first key still writes. */
	fake_now += TLS_TICKET_ROTATE - 1;
	tls_server_tick(fx->srv);
	assert_false(connect_with(fx, NULL, NULL, &s_early, m_early));

	/* At the interval one rotation: the old key's tickets still parse,
	   and ticking again at once changes nothing. */
	fake_now += 1;
	tls_server_tick(fx->srv);
	tls_server_tick(fx->srv);
	assert_true(connect_with(fx, &s1, m1, NULL, NULL));
	assert_true(connect_with(fx, &s_early, m_early, NULL, NULL));

	/* A ticket written now comes from the new key. */
	assert_false(connect_with(fx, NULL, NULL, &s2, m2));

	/* The second rotation drops the first key: its tickets get a full
	   handshake; the one written after the first rotation resumes. */
	fake_now += TLS_TICKET_ROTATE;
	tls_server_tick(fx->srv);
	assert_false(connect_with(fx, &s1, m1, NULL, NULL));
	assert_false(connect_with(fx, &s_early, m_early, NULL, NULL));
	assert_true(connect_with(fx, &s2, m2, NULL, NULL));

	mbedtls_ssl_session_free(&s1);
	mbedtls_ssl_session_free(&s_early);
	mbedtls_ssl_session_free(&s2);
}

/*
 * mbedTLS 2.28 serializes only DTLS connections: with a TLS stream it
 * refuses, so a logged-in TLS session can't be moved into the user's
 * process and the jailed process relays it.  If this starts failing,
 * mbedTLS lifted the limit: see DESIGN.md before changing the test.
 */
static void
test_context_save_refuses_tls_streams(void **state)
{
#if defined(MBEDTLS_SSL_CONTEXT_SERIALIZATION)
	struct fixture	*fx = *state;
	struct client	 cl;
	size_t		 olen = 0;

	client_open(fx, &cl, NULL);
	assert_int_equal(mbedtls_ssl_get_bytes_avail(&cl.ssl), 0);
	assert_int_equal(mbedtls_ssl_context_save(&cl.ssl, NULL, 0, &olen),
	    MBEDTLS_ERR_SSL_BAD_INPUT_DATA);
	client_close(&cl);
#else
	(void)state;
	skip();
#endif
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test_setup_teardown(test_ticket_rotation, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(
		    test_context_save_refuses_tls_streams, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
