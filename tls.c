/*
 * The TLS transport on mbedTLS: the server settings made once by the
 * listener (certificates, keys, suites, ticket keys) and, per connection,
 * the handshake and the struct transport hooks that move a session's
 * bytes through TLS.
 *
 * Secure by default (RFC 9325): TLS 1.2 and up, only ECDHE key exchange
 * with AEAD suites unless tls_ciphers says otherwise, extended master
 * secret, no renegotiation, no compression (refused at build time below).
 * Built on mbedTLS 3, TLS 1.3 too (its three AEAD suites lead the default
 * list; resumption always with ECDHE); on 2.28, TLS 1.2 only.
 *
 * Secrets and processes: the listener reads the keys (while it still has
 * the rights to) and keeps them, as DER, with the ticket keys, in
 * mappings of their own ("secret mappings" below), never on the heap.
 * A connection's processes split them right after their fork: the
 * pre-login process, which parses every client byte, unmaps the ticket
 * keys and every RSA key it can leave to the monitor
 * (tls_key_separated), and asks the monitor (struct tls_keyops, carried
 * by privsep.c) for the one signature and the tickets its handshake
 * needs; the monitor unmaps the keys the pre-login process keeps.  Those
 * (ECDSA keys: mbedTLS 2.28 can't sign with one elsewhere) the pre-login
 * process parses into its own memory for its handshake; once the
 * handshake is over, or before a plaintext login, it wipes what it
 * parsed and unmaps the listener's copies (tls_forget_secrets).  A
 * process with no monitor (the unit tests, the fuzz targets) keeps and
 * uses them all itself.  Every process reseeds the DRBG it inherited by
 * fork before its first random byte.
 */
#include <sys/mman.h>
#include <sys/random.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/rsa.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "conf.h"
#include "log.h"
#include "params.h"
#include "tls.h"
#include "transport.h"

#if defined(MBEDTLS_ZLIB_SUPPORT)
#error "TLS compression enables CRIME: build mbedTLS without MBEDTLS_ZLIB_SUPPORT"
#endif

/*
 * reseed() restarts PSA in every session process so that its generator
 * (TLS 1.3 key shares come from it) is not the listener's.
 * With MBEDTLS_USE_PSA_CRYPTO the private keys and ticket keys would live
 * in PSA too, and the restart would destroy them.
 */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_USE_PSA_CRYPTO)
#error "pop3d needs mbedTLS 3 built without MBEDTLS_USE_PSA_CRYPTO"
#endif

/*
 * Largest key file read (a 16384-bit RSA key in PEM is about 12 kB), and
 * the room its DER, never larger, is written into.
 */
#define KEY_FILE_MAX	(64 * 1024)

/*
 * A ticket key: a 4-byte name, which a ticket starts with so the key
 * that sealed it is found, and 32 bytes of AES-256-GCM key.  A ticket
 * (TLS_TICKET_OVERHEAD) is the name, a nonce, then sealed: the time
 * of the session's full handshake (8 bytes) and the session state;
 * then the tag.  The name and nonce are the additional data.
 */
#define TICKET_NAME	4
#define TICKET_NONCE	12
#define TICKET_TIME	8
#define TICKET_TAG	16
#define TICKET_SEED	(TICKET_NAME + 32)
#define TICKET_HEAD	(TICKET_NAME + TICKET_NONCE)

#if TLS_TICKET_OVERHEAD != TICKET_HEAD + TICKET_TIME + TICKET_TAG
#error "TLS_TICKET_OVERHEAD (params.h) does not match the ticket's layout"
#endif

/* Suite ids kept: the default list, or at most this many named ones. */
#define SUITES_MAX	64

/* Room for a client's SNI name in the log (a DNS name is at most 253). */
#define SNI_LOG_MAX	256

struct tls_cert {
	mbedtls_x509_crt	crt;
	mbedtls_pk_context	key;	/* parsed from der by a session */
	unsigned char		*der;	/* the private key: a secret mapping */
	size_t			derlen;
	char			name[256];	/* SNI name, "" for the default */
	unsigned		index;		/* in certs[] */
	int			separate;	/* the monitor signs with it */
	const char		*why;		/* why not, for the log */
	char			kind[32];	/* "RSA 2048 bits", for the log */
	size_t			sigbytes;	/* its RSA signatures' length */
};

struct tls_server {
	mbedtls_ctr_drbg_context	drbg;
	mbedtls_ssl_config		conf;
	struct tls_cert			certs[1 + CONF_SNI_MAX];
	int				ncerts;
	int				suites[SUITES_MAX + 1];	/* 0-terminated */

	/*
	 * Ticket keys: seeds[k] (a secret mapping, TICKET_SEED bytes each)
	 * is key k; seeds[cur] seals, both open; born[k] says when seeds[k]
	 * was drawn, 0 never.
	 */
	unsigned char			*seeds;
	time_t				born[2];
	int				cur;

	pid_t				seeded;	/* where the DRBG was seeded */
	int				unsealed;	/* keys parsed here */
};

/*
 * What this process gave up of server s: the keys of the certificates
 * whose bits are set in keys, the ticket keys (seeds), everything (all,
 * tls_forget_secrets); and, in a pre-login process, where it asks for
 * what it gave up (ops).  Kept here and not in s, whose pages the
 * process shares with the listener: writing there would copy them.
 */
static struct {
	const struct tls_server	*s;
	unsigned		 keys;
	int			 seeds;
	int			 all;
	const struct tls_keyops	*ops;
} gone;

/*
 * When a ticket opened by a process without a monitor had its full
 * handshake (tls_ticket_seal's born): one connection's, reset by
 * tls_start.
 */
static time_t	local_born;

/* Does this process hold certificate i's private key (its DER)? */
static int
key_held(const struct tls_server *s, int i)
{
	return s->certs[i].der != NULL && !(gone.s == s &&
	    (gone.all || (gone.keys & (1u << i)) != 0));
}

/* Does this process hold the ticket keys? */
static int
seeds_held(const struct tls_server *s)
{
	return s->seeds != NULL && !(gone.s == s && (gone.all || gone.seeds));
}

/* The monitor's key operations in a pre-login process, else NULL. */
static const struct tls_keyops *
monitor_ops(const struct tls_server *s)
{
	return gone.s == s ? gone.ops : NULL;
}

struct tls_conn {
	mbedtls_ssl_context	ssl;
	int			fd_in, fd_out;
	char			peer[128];
	char			sni[SNI_LOG_MAX];	/* "" when none was sent */
	const char		*cert;	/* the tls_sni name SNI chose, or NULL */
};

/*
 * RFC 9325 section 4.2: ECDHE with AES-GCM or ChaCha20-Poly1305, the
 * stronger first.  Names missing from the mbedTLS build are skipped.  In
 * TLS 1.3 (mbedTLS 3) the key exchange is not part of the suite, and the
 * server takes the first of the client's suites it allows, not its own.
 */
static const char *const default_suites[] = {
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	"TLS1-3-AES-256-GCM-SHA384",
	"TLS1-3-CHACHA20-POLY1305-SHA256",
	"TLS1-3-AES-128-GCM-SHA256",
#endif
	"TLS-ECDHE-ECDSA-WITH-AES-256-GCM-SHA384",
	"TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256",
	"TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256",
	"TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384",
	"TLS-ECDHE-RSA-WITH-CHACHA20-POLY1305-SHA256",
	"TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"
};

static void	seterr(char *, size_t, const char *, ...)
		    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* mbedTLS's text for error code r, for log lines and err. */
static const char *
why(int r, char *buf, size_t len)
{
	char	msg[160];

	mbedtls_strerror(r, msg, sizeof(msg));
	snprintf(buf, len, "%s (-0x%04x)", msg, (unsigned)-r);
	return buf;
}

/*
 * Certificates and keys.
 */

/*
 * Secret mappings: the listener keeps the keys in mappings that hold
 * nothing else, so a session process gives them up by unmapping them,
 * which writes nothing.  Wiping copies on the heap, in pages it shares
 * with the listener, would make it copy every page it wiped and keep
 * the copies for as long as it lives (bench/RESULTS.md, run F).  They
 * stay out of core dumps too.  Returns the zeroed mapping, or NULL.
 */
static unsigned char *
secret_map(size_t len)
{
	void	*p;

	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	(void)madvise(p, len, MADV_DONTDUMP);
	return p;
}

/* Wipe the first used bytes of a secret mapping of len, and unmap it. */
static void
secret_unmap(unsigned char *p, size_t used, size_t len)
{
	if (p == NULL)
		return;
	mbedtls_platform_zeroize(p, used);
	(void)munmap(p, len);
}

/*
 * Read a key file whole into a secret mapping of KEY_FILE_MAX + 1 bytes:
 * stdio would leave copies of the key in freed buffers.  Returns the
 * buffer (NUL-terminated, *len counts the NUL, as mbedtls_pk_parse_key
 * wants for PEM) or NULL with errno set.
 */
static unsigned char *
read_secret(const char *path, size_t *len)
{
	unsigned char	*buf;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	if ((buf = secret_map(KEY_FILE_MAX + 1)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	while (got < KEY_FILE_MAX &&
	    (n = read(fd, buf + got, KEY_FILE_MAX - got)) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			saved = errno;
			secret_unmap(buf, got, KEY_FILE_MAX + 1);
			close(fd);
			errno = saved;
			return NULL;
		}
		got += (size_t)n;
	}
	close(fd);
	buf[got] = '\0';
	*len = got + 1;
	return buf;
}

/*
 * Parse a key (PEM or DER) into key; mbedTLS 3 draws from f_rng (an EC
 * key's public point).  Returns 0 or an mbedTLS error.
 */
static int
parse_key(mbedtls_pk_context *key, const unsigned char *buf, size_t len,
    int (*f_rng)(void *, unsigned char *, size_t), void *p_rng)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	return mbedtls_pk_parse_key(key, buf, len, NULL, 0, f_rng, p_rng);
#else
	(void)f_rng;
	(void)p_rng;
	return mbedtls_pk_parse_key(key, buf, len, NULL, 0);
#endif
}

static int
load_key(struct tls_server *s, mbedtls_pk_context *key, const char *path,
    char *err, size_t errlen)
{
	unsigned char	*buf;
	size_t		 len;
	char		 w[200];
	int		 r;

	if ((buf = read_secret(path, &len)) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	r = parse_key(key, buf, len, mbedtls_ctr_drbg_random, &s->drbg);
	secret_unmap(buf, len, KEY_FILE_MAX + 1);
	if (r != 0) {
		seterr(err, errlen, "%s: %s", path, why(r, w, sizeof(w)));
		return -1;
	}
	return 0;
}

/*
 * Move tc's checked key into a secret mapping, as DER, and free the
 * parsed one (mbedtls_pk_free wipes it): the listener's heap keeps no
 * key.  mbedtls_pk_write_key_der writes at the end of its buffer.
 * Returns 0 or an mbedTLS error.
 */
static int
seal_key(struct tls_cert *tc)
{
	unsigned char	*tmp;
	int		 n;

	if ((tmp = secret_map(KEY_FILE_MAX)) == NULL)
		return MBEDTLS_ERR_PK_ALLOC_FAILED;
	n = mbedtls_pk_write_key_der(&tc->key, tmp, KEY_FILE_MAX);
	if (n > 0 && (tc->der = secret_map((size_t)n)) == NULL)
		n = MBEDTLS_ERR_PK_ALLOC_FAILED;
	if (n > 0) {
		memcpy(tc->der, tmp + KEY_FILE_MAX - n, (size_t)n);
		tc->derlen = (size_t)n;
	}
	mbedtls_pk_free(&tc->key);
	secret_unmap(tmp, KEY_FILE_MAX, KEY_FILE_MAX);
	return n > 0 ? 0 : n < 0 ? n : MBEDTLS_ERR_PK_BAD_INPUT_DATA;
}

/* Load one chain and its key, and check that they belong together. */
static int
load_cert(struct tls_server *s, const char *name, const char *cert,
    const char *key, char *err, size_t errlen)
{
	struct tls_cert	*tc = &s->certs[s->ncerts];
	char		 w[200];
	int		 r;

	mbedtls_x509_crt_init(&tc->crt);
	mbedtls_pk_init(&tc->key);
	snprintf(tc->name, sizeof(tc->name), "%s", name);
	tc->index = (unsigned)s->ncerts++;
	if ((r = mbedtls_x509_crt_parse_file(&tc->crt, cert)) != 0) {
		seterr(err, errlen, "%s: %s", cert, r > 0 ?
		    "some certificates could not be parsed" :
		    why(r, w, sizeof(w)));
		return -1;
	}
	if (load_key(s, &tc->key, key, err, errlen) == -1)
		return -1;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	r = mbedtls_pk_check_pair(&tc->crt.pk, &tc->key,
	    mbedtls_ctr_drbg_random, &s->drbg);
#else
	r = mbedtls_pk_check_pair(&tc->crt.pk, &tc->key);
#endif
	if (r != 0) {
		seterr(err, errlen, "%s does not match the certificate %s",
		    key, cert);
		return -1;
	}
	if ((r = seal_key(tc)) != 0) {
		seterr(err, errlen, "%s: %s", key, why(r, w, sizeof(w)));
		return -1;
	}
	if (mbedtls_x509_time_is_past(&tc->crt.valid_to))
		log_warnx("%s: the certificate has expired", cert);
	return 0;
}

/* RFC 6125 section 6.4.3, simplified: "*." matches exactly one label. */
static int
name_match(const char *pattern, const unsigned char *name, size_t len)
{
	const unsigned char	*dot;
	size_t			 plen = strlen(pattern);

	if (pattern[0] == '*') {
		if ((dot = memchr(name, '.', len)) == NULL || dot == name)
			return 0;
		len -= (size_t)(dot - name);
		name = dot;
		pattern++;
		plen--;
	}
	return plen == len && strncasecmp(pattern, (const char *)name,
	    len) == 0;
}

/*
 * The connection an mbedTLS context belongs to: every context pop3d sets
 * up lives inside a struct tls_conn, and mbedTLS 2.28 has no user-data
 * pointer in the context to find it by.
 */
static struct tls_conn *
conn_of(mbedtls_ssl_context *ssl)
{
	return (struct tls_conn *)(void *)((char *)ssl -
	    offsetof(struct tls_conn, ssl));
}

/*
 * Keep the name the client asked for, for the log: the bytes are the
 * client's, so anything but a host name's characters becomes '?'.
 */
static void
sni_remember(struct tls_conn *tc, const unsigned char *name, size_t len)
{
	static const char	ok[] = "abcdefghijklmnopqrstuvwxyz"
				    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_*";
	size_t			i;

	if (len >= sizeof(tc->sni))
		len = sizeof(tc->sni) - 1;
	for (i = 0; i < len; i++) {
		if (name[i] != '\0' && strchr(ok, name[i]) != NULL)
			tc->sni[i] = (char)name[i];
		else
			tc->sni[i] = '?';
	}
	tc->sni[len] = '\0';
}

/* SNI: the first tls_sni entry matching the name; else the default. */
static int
sni_select(void *p, mbedtls_ssl_context *ssl, const unsigned char *name,
    size_t len)
{
	struct tls_server	*s = p;
	struct tls_conn		*tc = conn_of(ssl);
	int			 i;

	sni_remember(tc, name, len);
	for (i = 1; i < s->ncerts; i++)
		if (name_match(s->certs[i].name, name, len)) {
			tc->cert = s->certs[i].name;
			return mbedtls_ssl_set_hs_own_cert(ssl,
			    &s->certs[i].crt, &s->certs[i].key);
		}
	return 0;
}

/*
 * Suites.
 */

static int
add_suite(struct tls_server *s, int *n, const char *name)
{
	int	id, i;

	if ((id = mbedtls_ssl_get_ciphersuite_id(name)) == 0)
		return -1;
	for (i = 0; i < *n; i++)
		if (s->suites[i] == id)
			return 0;
	if (*n < SUITES_MAX)
		s->suites[(*n)++] = id;
	return 0;
}

/*
 * tls_ciphers: mbedTLS suite names separated by blanks, ':' or ','.
 * The word "default" stands for the built-in list, so a site can append
 * legacy suites after it.
 */
static int
set_suites(struct tls_server *s, const char *spec, char *err, size_t errlen)
{
	char	 copy[CONF_CIPHERS_MAX], *w, *next;
	size_t	 i;
	int	 n = 0;

	snprintf(copy, sizeof(copy), "%s", spec);
	for (w = copy; *w != '\0'; w = next) {
		next = w + strcspn(w, " \t:,");
		if (*next != '\0')
			*next++ = '\0';
		if (*w == '\0')
			continue;
		if (strcmp(w, "default") == 0) {
			for (i = 0; i < sizeof(default_suites) /
			    sizeof(default_suites[0]); i++)
				(void)add_suite(s, &n, default_suites[i]);
		} else if (add_suite(s, &n, w) == -1) {
			seterr(err, errlen, "tls_ciphers: '%s' is not a "
			    "cipher suite this mbedTLS knows", w);
			return -1;
		}
	}
	if (n == 0) {
		seterr(err, errlen, "tls_ciphers: no cipher suite");
		return -1;
	}
	s->suites[n] = 0;
	return 0;
}

/*
 * TLS 1.2, and TLS 1.3 where mbedTLS 3 has it, as far as the suites
 * allow: mbedTLS 3 takes TLS 1.3 whenever a client offers it and then
 * fails the handshake when no TLS 1.3 suite is allowed, so a tls_ciphers
 * without one keeps to TLS 1.2; one with only TLS 1.3 suites refuses
 * TLS 1.2 by its version, which says more than "no shared suite".
 */
static void
set_versions(struct tls_server *s)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	const char	*name;
	int		 i, has12 = 0, has13 = 0;

	for (i = 0; s->suites[i] != 0; i++) {
		name = mbedtls_ssl_get_ciphersuite_name(s->suites[i]);
		if (strncmp(name, "TLS1-3-", 7) == 0)
			has13 = 1;
		else
			has12 = 1;
	}
	mbedtls_ssl_conf_min_tls_version(&s->conf, has12 ?
	    MBEDTLS_SSL_VERSION_TLS1_2 : MBEDTLS_SSL_VERSION_TLS1_3);
	mbedtls_ssl_conf_max_tls_version(&s->conf, has13 ?
	    MBEDTLS_SSL_VERSION_TLS1_3 : MBEDTLS_SSL_VERSION_TLS1_2);
#else
	mbedtls_ssl_conf_min_version(&s->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	    MBEDTLS_SSL_MINOR_VERSION_3);
#endif
}

/*
 * Session tickets (RFC 5077, and TLS 1.3's), in a format of pop3d's own
 * rather than mbedTLS's ticket contexts: the pre-login process that
 * runs the handshake holds no ticket key, so it serializes the session
 * (the public mbedtls_ssl_session_save and _load) and has the monitor
 * seal and open the bytes, which the monitor never parses.  Two keys:
 * the newer seals, both open, and the listener replaces the older one
 * every TLS_TICKET_ROTATE seconds, before a fork, so every connection
 * has the same keys and a ticket from one resumes in the next.
 */

static void
put64(unsigned char *p, uint64_t v)
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static uint64_t
get64(const unsigned char *p)
{
	uint64_t	v = 0;
	int		i;

	for (i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

/*
 * AES-256-GCM with key over the n bytes at in, into out: a ticket's
 * head (key name and nonce) is the additional data, its nonce the IV.
 * Encrypting writes the tag, decrypting checks it.  Returns 0 or -1.
 */
static int
ticket_gcm(const unsigned char *key, int encrypt, const unsigned char *head,
    const unsigned char *in, size_t n, unsigned char *out,
    unsigned char *tag)
{
	mbedtls_gcm_context	gcm;
	int			r;

	mbedtls_gcm_init(&gcm);
	r = mbedtls_gcm_setkey(&gcm, MBEDTLS_CIPHER_ID_AES, key, 256);
	if (r == 0 && encrypt)
		r = mbedtls_gcm_crypt_and_tag(&gcm, MBEDTLS_GCM_ENCRYPT, n,
		    head + TICKET_NAME, TICKET_NONCE, head, TICKET_HEAD, in,
		    out, TICKET_TAG, tag);
	else if (r == 0)
		r = mbedtls_gcm_auth_decrypt(&gcm, n, head + TICKET_NAME,
		    TICKET_NONCE, head, TICKET_HEAD, tag, TICKET_TAG, in, out);
	mbedtls_gcm_free(&gcm);
	return r == 0 ? 0 : -1;
}

int
tls_ticket_seal(const struct tls_server *s, const time_t *born,
    const unsigned char *state, size_t len, unsigned char *ticket,
    size_t cap, size_t *tlen)
{
	const unsigned char	*key;
	unsigned char		 plain[TICKET_TIME + TLS_SESSION_MAX];
	int			 r = -1;

	*tlen = 0;
	if (s == NULL || !seeds_held(s) || s->born[s->cur] == 0 || len == 0 ||
	    len > TLS_SESSION_MAX || cap < len + TLS_TICKET_OVERHEAD)
		return -1;
	key = s->seeds + (size_t)s->cur * TICKET_SEED;
	put64(plain, (uint64_t)(*born != 0 ? *born : time(NULL)));
	memcpy(plain + TICKET_TIME, state, len);
	memcpy(ticket, key, TICKET_NAME);
	/* Random nonces: a key seals at most some million tickets a day. */
	if (getrandom(ticket + TICKET_NAME, TICKET_NONCE, 0) == TICKET_NONCE)
		r = ticket_gcm(key + TICKET_NAME, 1, ticket, plain,
		    TICKET_TIME + len, ticket + TICKET_HEAD,
		    ticket + TICKET_HEAD + TICKET_TIME + len);
	mbedtls_platform_zeroize(plain, sizeof(plain));
	if (r == 0)
		*tlen = len + TLS_TICKET_OVERHEAD;
	return r;
}

int
tls_ticket_open(const struct tls_server *s, time_t *born,
    const unsigned char *ticket, size_t len, unsigned char *state,
    size_t cap, size_t *slen)
{
	const unsigned char	*key;
	unsigned char		 plain[TICKET_TIME + TLS_SESSION_MAX];
	unsigned char		 tag[TICKET_TAG];
	size_t			 n;
	time_t			 t = 0, now = time(NULL);
	int			 i, k, r = -1;

	*slen = 0;
	if (s == NULL || !seeds_held(s) || len <= TLS_TICKET_OVERHEAD ||
	    len > TLS_TICKET_MAX || len - TLS_TICKET_OVERHEAD > cap)
		return -1;
	n = len - TICKET_HEAD - TICKET_TAG;
	memcpy(tag, ticket + TICKET_HEAD + n, TICKET_TAG);
	for (i = 0; i < 2 && r != 0; i++) {
		k = i == 0 ? s->cur : 1 - s->cur;
		key = s->seeds + (size_t)k * TICKET_SEED;
		if (s->born[k] != 0 && memcmp(ticket, key, TICKET_NAME) == 0)
			r = ticket_gcm(key + TICKET_NAME, 0, ticket,
			    ticket + TICKET_HEAD, n, plain, tag);
	}
	if (r == 0) {
		t = (time_t)get64(plain);
		if (t > now || now - t > TLS_TICKET_LIFETIME)
			r = -1;
	}
	if (r == 0) {
		*born = t;
		*slen = n - TICKET_TIME;
		memcpy(state, plain + TICKET_TIME, *slen);
	}
	mbedtls_platform_zeroize(plain, sizeof(plain));
	return r;
}

/* Seal or open through the monitor in a pre-login process, else here. */
static int
ticket_write(void *p, const mbedtls_ssl_session *session,
    unsigned char *start, const unsigned char *end, size_t *tlen,
    uint32_t *lifetime)
{
	struct tls_server	*s = p;
	const struct tls_keyops	*ops = monitor_ops(s);
	unsigned char		 state[TLS_SESSION_MAX];
	size_t			 n, cap = (size_t)(end - start);
	int			 r;

	*tlen = 0;
	*lifetime = TLS_TICKET_LIFETIME;
	if ((r = mbedtls_ssl_session_save(session, state, sizeof(state),
	    &n)) != 0)
		return r;
	r = ops != NULL ? ops->seal(ops->ctx, state, n, start, cap, tlen) :
	    tls_ticket_seal(s, &local_born, state, n, start, cap, tlen);
	mbedtls_platform_zeroize(state, sizeof(state));
	return r == 0 ? 0 : MBEDTLS_ERR_SSL_INTERNAL_ERROR;
}

static int
ticket_parse(void *p, mbedtls_ssl_session *session, unsigned char *buf,
    size_t len)
{
	struct tls_server	*s = p;
	const struct tls_keyops	*ops = monitor_ops(s);
	unsigned char		 state[TLS_SESSION_MAX];
	size_t			 n;
	int			 r;

	r = ops != NULL ? ops->open(ops->ctx, buf, len, state, sizeof(state),
	    &n) : tls_ticket_open(s, &local_born, buf, len, state,
	    sizeof(state), &n);
	/* Unknown, forged, expired: all the same to the client, a full
	   handshake. */
	if (r == 0)
		r = mbedtls_ssl_session_load(session, state, n);
	else
		r = MBEDTLS_ERR_SSL_INVALID_MAC;
	mbedtls_platform_zeroize(state, sizeof(state));
	return r;
}

/*
 * In the listener: draw seeds[k] afresh, from the system rather than the
 * DRBG, so that the listener runs no mbedTLS code once it has started
 * (pop3d.c drops the pages of that code from it).  Returns 0, or -1 with
 * errno set.
 */
static int
seed_new(struct tls_server *s, int k)
{
	ssize_t	n;

	n = getrandom(s->seeds + (size_t)k * TICKET_SEED, TICKET_SEED, 0);
	if (n != TICKET_SEED) {
		if (n >= 0)
			errno = EIO;
		return -1;
	}
	s->born[k] = time(NULL);
	return 0;
}

void
tls_server_tick(struct tls_server *s)
{
	if (s == NULL || time(NULL) - s->born[s->cur] < TLS_TICKET_ROTATE)
		return;
	if (seed_new(s, 1 - s->cur) == -1) {
		log_warn("TLS ticket key rotation");
		return;
	}
	s->cur = 1 - s->cur;
	log_debug("TLS ticket key rotated");
}

/*
 * The server.
 */

/*
 * The DRBG's entropy source (seeding and each session's reseed): the
 * kernel's generator, which is what mbedTLS's entropy module polls here
 * too.  That module's context is 38 kB with Debian's build (HAVEGE
 * state), all of it written by its init, and it would stay written in
 * the listener's heap for nothing.  Returns 0 or an mbedTLS error.
 */
static int
sys_entropy(void *unused, unsigned char *out, size_t len)
{
	ssize_t	n;

	(void)unused;
	while (len > 0) {
		n = getrandom(out, len, 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			return MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
		out += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * The ECDHE groups in the server's order of preference, which is what
 * picks one (mbedTLS takes the first of its list that the client
 * offers, and its default list starts with the largest curves): x25519
 * and P-256, the 128-bit level RFC 9325 asks for and the cheapest here
 * (P-384, the default's pick for a client offering all three, costs
 * about twice as much per handshake), then P-384 and P-521 for clients
 * that offer nothing else.
 */
static void
set_groups(mbedtls_ssl_config *sc)
{
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	static const uint16_t	groups[] = {
		MBEDTLS_SSL_IANA_TLS_GROUP_X25519,
		MBEDTLS_SSL_IANA_TLS_GROUP_SECP256R1,
		MBEDTLS_SSL_IANA_TLS_GROUP_SECP384R1,
		MBEDTLS_SSL_IANA_TLS_GROUP_SECP521R1,
		MBEDTLS_SSL_IANA_TLS_GROUP_NONE
	};

	mbedtls_ssl_conf_groups(sc, groups);
#else
	static const mbedtls_ecp_group_id	curves[] = {
		MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1,
		MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_SECP521R1,
		MBEDTLS_ECP_DP_NONE
	};

	mbedtls_ssl_conf_curves(sc, curves);
#endif
}

/* The ssl_config every connection shares. */
static int
setup_config(struct tls_server *s, char *err, size_t errlen)
{
	mbedtls_ssl_config	*sc = &s->conf;
	char			 w[200];
	int			 r;

	/* The key is parsed into certs[0].key by each session (unseal). */
	if ((s->seeds = secret_map(2 * TICKET_SEED)) == NULL) {
		seterr(err, errlen, "TLS setup: %s", strerror(errno));
		return -1;
	}
	if (seed_new(s, 0) == -1) {
		seterr(err, errlen, "TLS ticket key: %s", strerror(errno));
		return -1;
	}
	if ((r = mbedtls_ssl_config_defaults(sc, MBEDTLS_SSL_IS_SERVER,
	    MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT)) != 0 ||
	    (r = mbedtls_ssl_conf_own_cert(sc, &s->certs[0].crt,
	    &s->certs[0].key)) != 0) {
		seterr(err, errlen, "TLS setup: %s", why(r, w, sizeof(w)));
		return -1;
	}
	mbedtls_ssl_conf_rng(sc, mbedtls_ctr_drbg_random, &s->drbg);
	set_versions(s);
	mbedtls_ssl_conf_ciphersuites(sc, s->suites);
	set_groups(sc);
#if defined(MBEDTLS_SSL_EXTENDED_MASTER_SECRET)
	mbedtls_ssl_conf_extended_master_secret(sc,
	    MBEDTLS_SSL_EXTENDED_MS_ENABLED);
#endif
#if defined(MBEDTLS_SSL_RENEGOTIATION)
	mbedtls_ssl_conf_renegotiation(sc, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
#endif
	mbedtls_ssl_conf_legacy_renegotiation(sc,
	    MBEDTLS_SSL_LEGACY_NO_RENEGOTIATION);
	mbedtls_ssl_conf_sni(sc, sni_select, s);
	mbedtls_ssl_conf_session_tickets_cb(sc, ticket_write, ticket_parse, s);
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
	/* A TLS 1.3 ticket resumes with a fresh ECDHE too, never alone: a
	   stolen ticket key must not open recorded sessions. */
	mbedtls_ssl_conf_tls13_key_exchange_modes(sc,
	    MBEDTLS_SSL_TLS1_3_KEY_EXCHANGE_MODE_EPHEMERAL_ALL);
#if defined(MBEDTLS_SSL_SESSION_TICKETS) && defined(MBEDTLS_SSL_SRV_C)
	/* mbedTLS's default, pinned: the monitor seals one ticket
	   (PRIVSEP_SEALS_MAX). */
	mbedtls_ssl_conf_new_session_tickets(sc, PRIVSEP_SEALS_MAX);
#endif
#endif
	return 0;
}

/*
 * Why certificate tc's key can't be left to the monitor, or NULL when it
 * can: an RSA key whose only use is TLS 1.2's signature, which mbedTLS
 * asks an RSA-alt key for (the monitor makes it).  rsa_kx: a suite with
 * RSA key exchange is allowed, tls13: TLS 1.3 is.
 */
static const char *
why_kept(const struct tls_cert *tc, int rsa_kx, int tls13)
{
#if defined(MBEDTLS_PK_RSA_ALT_SUPPORT)
	if (mbedtls_pk_get_type(&tc->crt.pk) != MBEDTLS_PK_RSA)
		return "mbedTLS signs with an ECDSA key only in the process "
		    "that runs the handshake; an RSA key would be kept out";
	if (rsa_kx)
		return "tls_ciphers has suites with RSA key exchange, which "
		    "decrypt with the key there";
	if (tls13)
		return "TLS 1.3 signs with RSA-PSS, which mbedTLS makes only "
		    "there; a tls_ciphers without TLS 1.3 suites keeps it out";
	if (tc->sigbytes == 0 || tc->sigbytes > TLS_SIG_MAX)
		return "an RSA key this long is not sent to the monitor";
	return NULL;
#else
	(void)tc;
	(void)rsa_kx;
	(void)tls13;
	return "this mbedTLS is built without RSA-alt keys "
	    "(MBEDTLS_PK_RSA_ALT_SUPPORT)";
#endif
}

/* Which keys the monitor keeps, once the suites are known. */
static void
decide_separation(struct tls_server *s)
{
	struct tls_cert	*tc;
	const char	*name;
	int		 i, rsa_kx = 0, tls13 = 0;

	for (i = 0; s->suites[i] != 0; i++) {
		name = mbedtls_ssl_get_ciphersuite_name(s->suites[i]);
		rsa_kx |= strncmp(name, "TLS-RSA-", 8) == 0;
		tls13 |= strncmp(name, "TLS1-3-", 7) == 0;
	}
	for (i = 0; i < s->ncerts; i++) {
		tc = &s->certs[i];
		tc->sigbytes = mbedtls_pk_get_len(&tc->crt.pk);
		snprintf(tc->kind, sizeof(tc->kind), "%s %zu bits",
		    mbedtls_pk_get_name(&tc->crt.pk),
		    mbedtls_pk_get_bitlen(&tc->crt.pk));
		tc->why = why_kept(tc, rsa_kx, tls13);
		tc->separate = tc->why == NULL;
	}
}

struct tls_server *
tls_server_new(const struct conf *c, char *err, size_t errlen)
{
	struct tls_server	*s;
	char			 w[200];
	int			 i, r;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		seterr(err, errlen, "TLS: %s", strerror(errno));
		return NULL;
	}
	mbedtls_ctr_drbg_init(&s->drbg);
	mbedtls_ssl_config_init(&s->conf);
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	/* mbedTLS 3 hashes, and runs all of TLS 1.3, through PSA. */
	if (psa_crypto_init() != PSA_SUCCESS) {
		seterr(err, errlen, "TLS: psa_crypto_init failed");
		goto fail;
	}
#endif
	if ((r = mbedtls_ctr_drbg_seed(&s->drbg, sys_entropy, NULL,
	    (const unsigned char *)"pop3d", 5)) != 0) {
		seterr(err, errlen, "TLS random: %s", why(r, w, sizeof(w)));
		goto fail;
	}
	s->seeded = getpid();
	if (load_cert(s, "", c->tls_cert, c->tls_key, err, errlen) == -1)
		goto fail;
	for (i = 0; i < c->nsni; i++)
		if (load_cert(s, c->sni[i].name, c->sni[i].cert,
		    c->sni[i].key, err, errlen) == -1)
			goto fail;
	if (set_suites(s, c->tls_ciphers, err, errlen) == -1 ||
	    setup_config(s, err, errlen) == -1)
		goto fail;
	decide_separation(s);
	return s;
fail:
	tls_server_free(s);
	return NULL;
}

/* Free what this process parsed from the secrets; mbedTLS wipes it. */
static void
drop_parsed(struct tls_server *s)
{
	int	i;

	for (i = 0; i < s->ncerts; i++)
		mbedtls_pk_free(&s->certs[i].key);
}

void
tls_server_free(struct tls_server *s)
{
	int	i;

	if (s == NULL)
		return;
	drop_parsed(s);
	for (i = 0; i < s->ncerts; i++) {
		if (key_held(s, i))
			secret_unmap(s->certs[i].der, s->certs[i].derlen,
			    s->certs[i].derlen);
		mbedtls_x509_crt_free(&s->certs[i].crt);
	}
	if (seeds_held(s))
		secret_unmap(s->seeds, 2 * TICKET_SEED, 2 * TICKET_SEED);
	if (gone.s == s)
		memset(&gone, 0, sizeof(gone));
	mbedtls_ssl_config_free(&s->conf);
	mbedtls_ctr_drbg_free(&s->drbg);
	mbedtls_platform_zeroize(s, sizeof(*s));
	free(s);
}

int
tls_server_reload(struct tls_server **s, const struct conf *c, char *err,
    size_t errlen)
{
	struct tls_server	*n;

	if ((n = tls_server_new(c, err, errlen)) == NULL)
		return -1;
	tls_server_free(*s);
	*s = n;
	return 0;
}

/*
 * Giving up.  Unmapping writes nothing: the process's pages of s stay
 * the listener's (the bits of `gone' say what went).
 */

/* Record what goes from this process's copy of s, starting afresh. */
static void
gone_from(const struct tls_server *s)
{
	if (gone.s != s) {
		memset(&gone, 0, sizeof(gone));
		gone.s = s;
	}
}

static void
drop_key(const struct tls_server *s, int i)
{
	if (key_held(s, i))
		(void)munmap(s->certs[i].der, s->certs[i].derlen);
	gone_from(s);
	gone.keys |= 1u << i;
}

static void
drop_seeds(const struct tls_server *s)
{
	if (seeds_held(s))
		(void)munmap(s->seeds, 2 * TICKET_SEED);
	gone_from(s);
	gone.seeds = 1;
}

/*
 * A process that never ran a handshake parsed nothing and writes
 * nothing here: the unmapping costs it no page.
 */
void
tls_forget_secrets(struct tls_server *s)
{
	if (s == NULL || (gone.s == s && gone.all))
		return;
	if (s->unsealed)
		drop_parsed(s);
	tls_forget_keys(s);
	tls_forget_tickets(s);
	gone.all = 1;
}

void
tls_forget_keys(struct tls_server *s)
{
	int	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncerts; i++)
		drop_key(s, i);
}

void
tls_forget_tickets(struct tls_server *s)
{
	if (s != NULL)
		drop_seeds(s);
}

void
tls_prelogin_keys(struct tls_server *s, const struct tls_keyops *ops)
{
	int	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncerts; i++)
		if (s->certs[i].separate)
			drop_key(s, i);
	drop_seeds(s);
	gone.ops = ops;
}

void
tls_monitor_keys(struct tls_server *s)
{
	int	i;

	if (s == NULL)
		return;
	for (i = 0; i < s->ncerts; i++)
		if (!s->certs[i].separate)
			drop_key(s, i);
}

int
tls_key_separated(const struct tls_server *s, int i, char *kind,
    size_t len, const char **why)
{
	const struct tls_cert	*tc;

	if (s == NULL || i < 0 || i >= s->ncerts)
		return -1;
	/* Made at load: the listener's loop runs no mbedTLS code
	   (pop3d.c drops its pages). */
	tc = &s->certs[i];
	snprintf(kind, len, "%s", tc->kind);
	*why = tc->separate ? "" : tc->why;
	return tc->separate;
}

/*
 * Signatures by the monitor.  In a pre-login process, an RSA key the
 * monitor keeps is an RSA-alt key whose signing asks the monitor: the
 * digest and which digest it is go there, a signature comes back.
 * Decryption (RSA key exchange) is never asked for: such a key stays in
 * the pre-login process (why_kept).
 */

static const struct {
	unsigned		md;
	mbedtls_md_type_t	type;
	size_t			size;
} digests[] = {
	{ TLS_MD_SHA224, MBEDTLS_MD_SHA224, 28 },
	{ TLS_MD_SHA256, MBEDTLS_MD_SHA256, 32 },
	{ TLS_MD_SHA384, MBEDTLS_MD_SHA384, 48 },
	{ TLS_MD_SHA512, MBEDTLS_MD_SHA512, 64 }
};

size_t
tls_md_size(unsigned md)
{
	size_t	i;

	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
		if (digests[i].md == md)
			return digests[i].size;
	return 0;
}

/* Our number for an mbedTLS digest, 0 for one a signature can't use. */
static unsigned
md_number(mbedtls_md_type_t type)
{
	size_t	i;

	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
		if (digests[i].type == type)
			return digests[i].md;
	return 0;
}

static mbedtls_md_type_t
md_type(unsigned md)
{
	size_t	i;

	for (i = 0; i < sizeof(digests) / sizeof(digests[0]); i++)
		if (digests[i].md == md)
			return digests[i].type;
	return MBEDTLS_MD_NONE;
}

int
tls_sign(struct tls_server *s, unsigned cert, unsigned md,
    const unsigned char *hash, size_t hlen, unsigned char *sig, size_t cap,
    size_t *siglen)
{
	mbedtls_pk_context	 key;
	struct tls_cert		*tc;
	int			 r;

	*siglen = 0;
	if (s == NULL || cert >= (unsigned)s->ncerts || hlen == 0 ||
	    hlen != tls_md_size(md))
		return -1;
	tc = &s->certs[cert];
	if (!tc->separate || !key_held(s, (int)cert) || cap < tc->sigbytes)
		return -1;
	mbedtls_pk_init(&key);
	/* The system's generator for the blinding: the DRBG in s is the
	   listener's, shared by every process forked from it. */
	r = parse_key(&key, tc->der, tc->derlen, sys_entropy, NULL);
	if (r == 0 && mbedtls_pk_get_type(&key) != MBEDTLS_PK_RSA)
		r = -1;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	if (r == 0)
		r = mbedtls_pk_sign(&key, md_type(md), hash, hlen, sig, cap,
		    siglen, sys_entropy, NULL);
#else
	if (r == 0)
		r = mbedtls_pk_sign(&key, md_type(md), hash, hlen, sig, siglen,
		    sys_entropy, NULL);
#endif
	mbedtls_pk_free(&key);
	return r == 0 && *siglen == tc->sigbytes ? 0 : -1;
}

#if defined(MBEDTLS_PK_RSA_ALT_SUPPORT)
static size_t
alt_len(void *p)
{
	const struct tls_cert	*tc = p;

	return tc->sigbytes;
}

/* mbedTLS 2.28 passes the mode (always private) as well. */
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
static int
alt_decrypt(void *p, size_t *olen, const unsigned char *in,
    unsigned char *out, size_t max)
{
#else
static int
alt_decrypt(void *p, int mode, size_t *olen, const unsigned char *in,
    unsigned char *out, size_t max)
{
	(void)mode;
#endif
	(void)p;
	(void)olen;
	(void)in;
	(void)out;
	(void)max;
	return MBEDTLS_ERR_PK_FEATURE_UNAVAILABLE;
}

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
static int
alt_sign(void *p, int (*f_rng)(void *, unsigned char *, size_t),
    void *p_rng, mbedtls_md_type_t type, unsigned int hlen,
    const unsigned char *hash, unsigned char *sig)
{
#else
static int
alt_sign(void *p, int (*f_rng)(void *, unsigned char *, size_t),
    void *p_rng, int mode, mbedtls_md_type_t type, unsigned int hlen,
    const unsigned char *hash, unsigned char *sig)
{
	(void)mode;
#endif
	const struct tls_cert	*tc = p;
	const struct tls_keyops	*ops = gone.ops;
	unsigned		 md = md_number(type);
	size_t			 n = 0;

	(void)f_rng;
	(void)p_rng;
	/* The caller's buffer holds the key's length (rsa_alt_sign_wrap). */
	if (ops == NULL || md == 0 || hlen != tls_md_size(md) ||
	    ops->sign(ops->ctx, tc->index, md, hash, hlen, sig, tc->sigbytes,
	    &n) == -1 || n != tc->sigbytes)
		return MBEDTLS_ERR_RSA_PRIVATE_FAILED;
	return 0;
}
#endif

/*
 * In a pre-login process, for a key it gave the monitor: an RSA-alt key
 * that asks the monitor to sign.  Returns 0 or an mbedTLS error.
 */
static int
stand_in(const struct tls_server *s, struct tls_cert *tc)
{
#if defined(MBEDTLS_PK_RSA_ALT_SUPPORT)
	if (tc->separate && monitor_ops(s) != NULL)
		return mbedtls_pk_setup_rsa_alt(&tc->key, tc, alt_decrypt,
		    alt_sign, alt_len);
#else
	(void)s;
	(void)tc;
#endif
	return MBEDTLS_ERR_PK_BAD_INPUT_DATA;
}

/*
 * Reseed the DRBG in a process forked since it was seeded: the pid and
 * fresh system bytes make this process's stream its own.  Returns 0, or
 * -1 (logged).
 */
static int
reseed(struct tls_server *s)
{
	unsigned char	add[48];
	pid_t		pid = getpid();
	char		w[200];
	int		r;

	if (s->seeded == pid)
		return 0;
	memset(add, 0, sizeof(add));
	memcpy(add, &pid, sizeof(pid));
	if (getrandom(add + 16, sizeof(add) - 16, 0) !=
	    (ssize_t)(sizeof(add) - 16))
		log_warn("getrandom");
	r = mbedtls_ctr_drbg_reseed(&s->drbg, add, sizeof(add));
	mbedtls_platform_zeroize(add, sizeof(add));
	if (r != 0) {
		log_warnx("TLS random reseed: %s", why(r, w, sizeof(w)));
		return -1;
	}
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
	/* PSA keeps a generator of its own: start it again from the system. */
	mbedtls_psa_crypto_free();
	if (psa_crypto_init() != PSA_SUCCESS) {
		log_warnx("TLS random reseed: psa_crypto_init failed");
		return -1;
	}
#endif
	s->seeded = pid;
	return 0;
}

/*
 * Before this process's handshake: reseed, parse the keys it holds from
 * their DER into its own memory (tls_forget_secrets wipes them), and put
 * a stand-in asking the monitor in the place of each other one.
 * Returns 0, or -1 (logged).
 */
static int
unseal(struct tls_server *s, const char *peer)
{
	char	w[200];
	int	i, r = 0;

	if (gone.s == s && gone.all) {
		log_warnx("%s: TLS after the keys were given up", peer);
		return -1;
	}
	if (reseed(s) == -1)
		return -1;
	if (s->unsealed)
		return 0;
	s->unsealed = 1;
	for (i = 0; i < s->ncerts && r == 0; i++)
		r = key_held(s, i) ? parse_key(&s->certs[i].key,
		    s->certs[i].der, s->certs[i].derlen,
		    mbedtls_ctr_drbg_random, &s->drbg) :
		    stand_in(s, &s->certs[i]);
	if (r != 0) {
		log_warnx("%s: TLS keys: %s", peer, why(r, w, sizeof(w)));
		return -1;
	}
	return 0;
}

/*
 * One connection.
 */

static int
bio_send(void *p, const unsigned char *buf, size_t len)
{
	struct tls_conn	*tc = p;
	ssize_t		 n;

	if ((n = write(tc->fd_out, buf, len)) >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	if (errno == EPIPE || errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
bio_recv(void *p, unsigned char *buf, size_t len)
{
	struct tls_conn	*tc = p;
	ssize_t		 n;

	if ((n = read(tc->fd_in, buf, len)) >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	if (errno == ECONNRESET)
		return MBEDTLS_ERR_NET_CONN_RESET;
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static long
ms_left(const struct timespec *deadline)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
}

/*
 * Drive op (a handshake or close_notify step) until it stops asking for
 * I/O or the deadline passes.  Returns op's result, or 1 on timeout.
 */
static int
drive(struct tls_conn *tc, int (*op)(mbedtls_ssl_context *),
    unsigned timeout_s)
{
	struct timespec	deadline;
	struct pollfd	pfd;
	long		left;
	int		r;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;
	while ((r = op(&tc->ssl)) == MBEDTLS_ERR_SSL_WANT_READ ||
	    r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		pfd.fd = r == MBEDTLS_ERR_SSL_WANT_READ ? tc->fd_in :
		    tc->fd_out;
		pfd.events = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
		if ((left = ms_left(&deadline)) <= 0)
			return 1;
		if (poll(&pfd, 1, (int)left) == -1 && errno != EINTR)
			return MBEDTLS_ERR_NET_RECV_FAILED;
	}
	return r;
}

/*
 * Turn an mbedTLS read or write result r into read(2)/write(2) terms: a
 * byte count, 0 at a clean end of input, or -1 with errno set (EAGAIN to
 * retry, ECONNRESET or EPIPE for a reset connection, EPROTO for anything
 * else, which is logged once here).
 */
static ssize_t
tls_result(const struct tls_conn *tc, int r, int reading)
{
	char	w[200];

	if (r >= 0)
		return r;
	switch (r) {
	case MBEDTLS_ERR_SSL_WANT_READ:
	case MBEDTLS_ERR_SSL_WANT_WRITE:
		errno = EAGAIN;
		return -1;
	case MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY:
	case MBEDTLS_ERR_SSL_CONN_EOF:
		if (reading)
			return 0;
		break;
	case MBEDTLS_ERR_NET_CONN_RESET:
		errno = reading ? ECONNRESET : EPIPE;
		return -1;
	}
	log_warnx("%s: TLS %s: %s", tc->peer, reading ? "read" : "write",
	    why(r, w, sizeof(w)));
	errno = EPROTO;
	return -1;
}

static ssize_t
tls_read(struct transport *t, void *p, size_t n)
{
	struct tls_conn	*tc = t->ctx;

	if (n > INT_MAX)
		n = INT_MAX;
	return tls_result(tc, mbedtls_ssl_read(&tc->ssl, p, n), 1);
}

static ssize_t
tls_write(struct transport *t, const void *p, size_t n)
{
	struct tls_conn	*tc = t->ctx;

	if (n > INT_MAX)
		n = INT_MAX;
	return tls_result(tc, mbedtls_ssl_write(&tc->ssl, p, n), 0);
}

/*
 * Only decrypted bytes count.  On a stream mbedTLS reads one record at a
 * time and never past it, so whatever else the client sent is still in
 * the kernel, where poll sees it.  (mbedtls_ssl_check_pending would also
 * count records mbedTLS may consume without producing data, and the
 * caller would spin on them.)
 */
static size_t
tls_pending(struct transport *t)
{
	struct tls_conn	*tc = t->ctx;

	return mbedtls_ssl_get_bytes_avail(&tc->ssl);
}

static void
tls_shutdown(struct transport *t)
{
	struct tls_conn	*tc = t->ctx;

	if (tc == NULL)
		return;
	(void)drive(tc, mbedtls_ssl_close_notify, TLS_CLOSE_TIMEOUT);
	mbedtls_ssl_free(&tc->ssl);
	free(tc);
	t->ctx = NULL;
}

static int
set_nonblock(int fd)
{
	int	fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1)
		return -1;
	return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Log why a handshake ended without a session, naming the client. */
static void
log_failed(const struct tls_conn *tc, int r, unsigned timeout_s)
{
	char	w[200];

	if (r == 1)
		log_warnx("%s: TLS handshake timed out after %u s", tc->peer,
		    timeout_s);
	else if (r == MBEDTLS_ERR_SSL_CONN_EOF ||
	    r == MBEDTLS_ERR_NET_CONN_RESET)
		log_info("%s: client left during the TLS handshake",
		    tc->peer);
	else
		log_warnx("%s: TLS handshake failed: %s", tc->peer,
		    why(r, w, sizeof(w)));
}

/*
 * The session's TLS line: version, suite and, when the client sent SNI,
 * the name and the certificate it got ("tls_sni NAME", or the default).
 */
static void
log_established(const struct tls_conn *tc)
{
	char	sni[SNI_LOG_MAX + 320];	/* the name, a tls_sni name */

	sni[0] = '\0';
	if (tc->sni[0] != '\0')
		snprintf(sni, sizeof(sni), " (SNI %s: %s%s)", tc->sni,
		    tc->cert != NULL ? "certificate of tls_sni " :
		    "default certificate", tc->cert != NULL ? tc->cert : "");
	log_info("%s: TLS %s %s%s", tc->peer,
	    mbedtls_ssl_get_version(&tc->ssl),
	    mbedtls_ssl_get_ciphersuite(&tc->ssl), sni);
}

int
tls_start(struct tls_server *s, struct transport *t, unsigned timeout_s,
    const char *peer)
{
	struct tls_conn	*tc;
	char		 w[200];
	int		 r;

	if (unseal(s, peer) == -1)
		return -1;
	local_born = 0;
	if ((tc = calloc(1, sizeof(*tc))) == NULL) {
		log_warn("%s: TLS", peer);
		return -1;
	}
	tc->fd_in = t->fd_in;
	tc->fd_out = t->fd_out;
	snprintf(tc->peer, sizeof(tc->peer), "%s", peer);
	mbedtls_ssl_init(&tc->ssl);
	if ((r = mbedtls_ssl_setup(&tc->ssl, &s->conf)) != 0) {
		log_warnx("%s: TLS setup: %s", peer, why(r, w, sizeof(w)));
		goto fail;
	}
	mbedtls_ssl_set_bio(&tc->ssl, tc, bio_send, bio_recv, NULL);
	/* Non-blocking, so a client stalling mid-record meets the timeouts. */
	if (set_nonblock(tc->fd_in) == -1 || set_nonblock(tc->fd_out) == -1) {
		log_warn("%s: TLS: fcntl", peer);
		goto fail;
	}
	if ((r = drive(tc, mbedtls_ssl_handshake, timeout_s)) != 0) {
		log_failed(tc, r, timeout_s);
		goto fail;
	}
	log_established(tc);
	t->ctx = tc;
	t->read = tls_read;
	t->write = tls_write;
	t->pending = tls_pending;
	t->shutdown = tls_shutdown;
	t->secure = 1;
	return 0;
fail:
	mbedtls_ssl_free(&tc->ssl);
	free(tc);
	return -1;
}

void
tls_describe(struct transport *t, char *out, size_t len)
{
	struct tls_conn	*tc = t->ctx;

	if (len == 0)
		return;
	out[0] = '\0';
	if (t->read != tls_read || tc == NULL)
		return;
	snprintf(out, len, "%s %s", mbedtls_ssl_get_version(&tc->ssl),
	    mbedtls_ssl_get_ciphersuite(&tc->ssl));
}
