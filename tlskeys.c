/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * TLS key custody, on the root side: the listener reads the certificates
 * and private keys at start-up and on SIGHUP and builds the server
 * settings from them; a connection's monitor signs with a private key and
 * seals and opens session tickets for its pre-login process, which holds
 * neither; and each process gives up what it must not keep.  The
 * per-connection transport that uses all this is tls.c.
 *
 * The listener reads the keys (while it still has the rights to) and
 * keeps them, as DER, with the ticket keys, in mappings of their own
 * ("secret mappings" below), never on the heap.  A connection's processes
 * split them right after their fork: the pre-login process, which parses
 * every client byte, unmaps the ticket keys and every RSA key it can
 * leave to the monitor (tls_key_separated), and asks the monitor (struct
 * tls_keyops, carried by prelogin.c) for the one signature and the
 * tickets its handshake needs; the monitor unmaps the keys the pre-login
 * process keeps.  Those (ECDSA keys: mbedTLS 2.28 can't sign with one
 * elsewhere) the pre-login process parses into its own memory for its
 * handshake (tls.c); once the handshake is over, or before a plaintext
 * login, it wipes what it parsed and unmaps the listener's copies
 * (tls_forget_secrets).  A process with no monitor (the unit tests, the
 * fuzz targets) keeps and uses them all itself.
 *
 * Secure by default (RFC 9325): TLS 1.2 and up, only ECDHE key exchange
 * with AEAD suites unless tls_ciphers says otherwise, extended master
 * secret, no renegotiation.  Built on mbedTLS 3, TLS 1.3 too (its three
 * AEAD suites lead the default list; resumption always with ECDHE); on
 * 2.28, TLS 1.2 only.
 */
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/version.h>
#include <mbedtls/chachapoly.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/gcm.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ciphersuites.h>
#include <mbedtls/x509_crt.h>
#if MBEDTLS_VERSION_NUMBER >= 0x03000000 && defined(MBEDTLS_PSA_CRYPTO_C)
#include <psa/crypto.h>
#endif

#include "conf.h"
#include "log.h"
#include "params.h"
#include "tls_int.h"
#include "tlskeys.h"

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

int
tls_key_held(const struct tls_server *s, int i)
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

const struct tls_keyops *
tls_monitor_ops(const struct tls_server *s)
{
	return s == NULL || gone.s == s ? gone.ops : NULL;
}

int
tls_secrets_gone(const struct tls_server *s)
{
	return gone.s == s && gone.all;
}

/*
 * RFC 9325 section 4.2: ECDHE with AES-GCM or ChaCha20-Poly1305, the
 * stronger first.  Names missing from the mbedTLS build are skipped.  In
 * TLS 1.3 (mbedTLS 3) the key exchange is not part of the suite, and the
 * server takes the first of the client's suites it allows, not its own.
 * In threes, AES-256-GCM, ChaCha20-Poly1305, AES-128-GCM: where
 * ChaCha20-Poly1305 is clearly the faster here, the first two of each
 * three swap places (tls_server_rank_suites).
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

/*
 * mbedTLS error r as "(PK - Invalid key tag or value, -0x3d00)": after
 * what went wrong in words, the library's text and code for a search or
 * a bug report.
 */
const char *
tls_why(int r, char *buf, size_t len)
{
	char	msg[160];

	mbedtls_strerror(r, msg, sizeof(msg));
	snprintf(buf, len, "(%s, -0x%04x)", msg, (unsigned)-r);
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
 * the copies for as long as it lives (`BENCH_ONLY=footprint`).  They
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
 * wants for PEM) with the file's mode in *mode, or NULL with errno set.
 */
static unsigned char *
read_secret(const char *path, size_t *len, mode_t *mode)
{
	struct stat	 st;
	unsigned char	*buf;
	size_t		 got = 0;
	ssize_t		 n;
	int		 fd, saved;

	/* O_NONBLOCK: a FIFO must not hang the start; only files are read */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return NULL;
	st.st_mode = 0;		/* a failed fstat leaves its errno */
	if (fstat(fd, &st) == 0 && !S_ISREG(st.st_mode))
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
	if (!S_ISREG(st.st_mode) ||
	    (buf = secret_map(KEY_FILE_MAX + 1)) == NULL) {
		saved = errno;
		close(fd);
		errno = saved;
		return NULL;
	}
	*mode = st.st_mode;
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
 * The messages about the files: what is wrong, in words, after the
 * setting and the file's path, and what the system or mbedTLS said in
 * parentheses, for a search or a bug report.  label is the setting
 * ("tls_key", "tls_sni NAME cert").
 */

/* Why a file that open(2) or read(2) refused with e can't be read. */
static const char *
file_words(int e)
{
	switch (e) {
	case ENOENT:
		return "no such file";
	case EACCES:
	case EPERM:
		return "pop3d may not read it: check the modes and owners "
		    "of the file and of the directories above it";
	case EISDIR:
		return "a directory, not a file";
	case ENOTDIR:
		return "a part of the path is not a directory";
	case EINVAL:
		return "not a regular file";
	default:
		return "could not be read";
	}
}

static void
file_err(char *err, size_t errlen, const char *label, const char *path,
    int e)
{
	seterr(err, errlen, "%s %s: %s (%s)", label, path, file_words(e),
	    strerror(e));
}

/*
 * Why buf, which mbedtls_pk_parse_key refused with r, is no key pop3d
 * can use.  A certificate is told by its PEM header: trying to parse
 * the bytes as one would copy what may be a key to the heap.
 */
static const char *
key_words(int r, const unsigned char *buf)
{
	if (r == MBEDTLS_ERR_PK_PASSWORD_REQUIRED ||
	    r == MBEDTLS_ERR_PK_PASSWORD_MISMATCH)
		return "an encrypted private key, and pop3d can't ask for "
		    "its passphrase: store it decrypted, readable by root "
		    "alone, e.g. with openssl pkey -in OLD -out NEW";
	if (strstr((const char *)buf, "-----BEGIN CERTIFICATE-----") != NULL)
		return "a certificate, not a private key: tls_cert and "
		    "tls_key swapped?";
	if (r == MBEDTLS_ERR_PK_UNKNOWN_PK_ALG)
		return "a private key of a type this mbedTLS can't use";
	return "not a private key in PEM or DER";
}

int
tls_parse_key(mbedtls_pk_context *key, const unsigned char *buf, size_t len,
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
load_key(struct tls_server *s, mbedtls_pk_context *key, const char *label,
    const char *path, mode_t *mode, char *err, size_t errlen)
{
	unsigned char	*buf;
	size_t		 len;
	char		 w[200];
	int		 r;

	if ((buf = read_secret(path, &len, mode)) == NULL) {
		file_err(err, errlen, label, path, errno);
		return -1;
	}
	r = tls_parse_key(key, buf, len, mbedtls_ctr_drbg_random, &s->drbg);
	if (r != 0)
		seterr(err, errlen, "%s %s: %s %s", label, path,
		    key_words(r, buf), tls_why(r, w, sizeof(w)));
	secret_unmap(buf, len, KEY_FILE_MAX + 1);
	return r == 0 ? 0 : -1;
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

/*
 * Why path, which mbedtls_x509_crt_parse_file refused with r, holds no
 * certificate.  A private key in it is read as the key files are, into
 * a secret mapping, and parsed only to tell what it is.
 */
static void
cert_err(struct tls_server *s, const char *label, const char *path, int r,
    char *err, size_t errlen)
{
	mbedtls_pk_context	 k;
	struct stat		 st;
	unsigned char		*buf;
	const char		*what = "not a certificate in PEM or DER";
	size_t			 len;
	mode_t			 mode;
	char			 w[200];
	int			 kr;

	/* mbedTLS keeps no errno (and takes a directory for a file too
	   large to read): ask the system again. */
	if (stat(path, &st) == -1)
		what = file_words(errno);
	else if (S_ISDIR(st.st_mode))
		what = file_words(EISDIR);
	else if (r == MBEDTLS_ERR_PK_FILE_IO_ERROR)
		what = file_words(access(path, R_OK) == -1 ? errno : EIO);
	else if ((buf = read_secret(path, &len, &mode)) != NULL) {
		mbedtls_pk_init(&k);
		kr = tls_parse_key(&k, buf, len, mbedtls_ctr_drbg_random,
		    &s->drbg);
		if (kr == 0 || kr == MBEDTLS_ERR_PK_PASSWORD_REQUIRED)
			what = "a private key, not a certificate: "
			    "tls_cert and tls_key swapped?";
		mbedtls_pk_free(&k);
		secret_unmap(buf, len, KEY_FILE_MAX + 1);
	}
	seterr(err, errlen, "%s %s: %s %s", label, path, what,
	    tls_why(r, w, sizeof(w)));
}

/* When a certificate is out of its dates: clients will refuse it. */
static void
warn_dates(const char *label, const char *path, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_time	*t;

	if (mbedtls_x509_time_is_past(&crt->valid_to)) {
		t = &crt->valid_to;
		log_warnx("%s %s: the certificate expired on "
		    "%04d-%02d-%02d %02d:%02d:%02d UTC; clients will refuse "
		    "it", label, path, t->year, t->mon, t->day, t->hour,
		    t->min, t->sec);
	} else if (mbedtls_x509_time_is_future(&crt->valid_from)) {
		t = &crt->valid_from;
		log_warnx("%s %s: the certificate is not valid before "
		    "%04d-%02d-%02d %02d:%02d:%02d UTC; clients will refuse "
		    "it until then", label, path, t->year, t->mon, t->day,
		    t->hour, t->min, t->sec);
	}
}

/* When others than the key file's owner may read or change it. */
static void
warn_mode(const char *label, const char *path, mode_t mode)
{
	const char	*who, *verb;

	if ((mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) == 0)
		return;
	who = (mode & 060) && (mode & 006) ? "its group and others" :
	    (mode & 060) ? "its group" : "others";
	verb = (mode & 044) && (mode & 022) ? "read and change" :
	    (mode & 044) ? "read" : "change";
	log_warnx("%s %s: mode %04o lets %s %s the private key; make it "
	    "the owner's alone: chmod 600 %s", label, path,
	    (unsigned)(mode & 07777), who, verb, path);
}

/*
 * Load one chain and its key, and check that they belong together.
 * name is the tls_sni name, "" for tls_cert and tls_key.
 */
static int
load_cert(struct tls_server *s, const char *name, const char *cert,
    const char *key, char *err, size_t errlen)
{
	struct tls_cert	*tc = &s->certs[s->ncerts];
	struct stat	 st;
	char		 w[200], cl[300], kl[300];	/* the settings' names */
	mode_t		 mode = 0;
	int		 r;

	mbedtls_x509_crt_init(&tc->crt);
	mbedtls_pk_init(&tc->key);
	snprintf(tc->name, sizeof(tc->name), "%s", name);
	tc->index = (unsigned)s->ncerts++;
	snprintf(cl, sizeof(cl), "%s%s%s", name[0] != '\0' ? "tls_sni " : "",
	    name, name[0] != '\0' ? " cert" : "tls_cert");
	snprintf(kl, sizeof(kl), "%s%s%s", name[0] != '\0' ? "tls_sni " : "",
	    name, name[0] != '\0' ? " key" : "tls_key");
	/* mbedTLS would block on a FIFO, and take a directory's size for
	   a file's (a huge allocation): only a regular file goes to it */
	if (stat(cert, &st) == 0 && !S_ISREG(st.st_mode)) {
		seterr(err, errlen, "%s %s: %s (%s)", cl, cert,
		    S_ISDIR(st.st_mode) ? file_words(EISDIR) :
		    "not a regular file", strerror(S_ISDIR(st.st_mode) ?
		    EISDIR : EINVAL));
		return -1;
	}
	if ((r = mbedtls_x509_crt_parse_file(&tc->crt, cert)) != 0) {
		if (r > 0)
			seterr(err, errlen, "%s %s: %d of its certificates "
			    "could not be parsed", cl, cert, r);
		else
			cert_err(s, cl, cert, r, err, errlen);
		return -1;
	}
	if (load_key(s, &tc->key, kl, key, &mode, err, errlen) == -1)
		return -1;
#if MBEDTLS_VERSION_NUMBER >= 0x03000000
	r = mbedtls_pk_check_pair(&tc->crt.pk, &tc->key,
	    mbedtls_ctr_drbg_random, &s->drbg);
#else
	r = mbedtls_pk_check_pair(&tc->crt.pk, &tc->key);
#endif
	if (r != 0) {
		seterr(err, errlen, "%s %s: the private key does not match "
		    "the certificate %s %s", kl, key, cert,
		    tls_why(r, w, sizeof(w)));
		return -1;
	}
	if ((r = seal_key(tc)) != 0) {
		seterr(err, errlen, "%s %s: cannot seal the key %s", kl, key, tls_why(r, w,
		    sizeof(w)));
		return -1;
	}
	warn_dates(cl, cert, &tc->crt);
	warn_mode(kl, key, mode);
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
			if (s->dflt_n == 0)
				s->dflt_at = n;
			for (i = 0; i < sizeof(default_suites) /
			    sizeof(default_suites[0]); i++)
				(void)add_suite(s, &n, default_suites[i]);
			if (s->dflt_n == 0)
				s->dflt_n = n - s->dflt_at;
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
 * The default suites' order by speed.  mbedTLS's TLS 1.2 server takes
 * the first of its own suites that the client offers, so the order
 * decides which AEAD every record of a session pays for.  Every default
 * suite is as strong as RFC 9325 asks; the order among them is taste,
 * unless one is much faster on this machine: mbedTLS 2.28's AES-GCM is
 * slower than its ChaCha20-Poly1305 even with AES-NI, and the reverse
 * holds on other builds and CPUs.  So the listener times both, in the
 * library itself, at start-up and SIGHUP, before any connection.
 */

/* Sealed per cipher and pass: four TLS records of the largest size. */
#define SPEED_BYTES	(64 * 1024)
#define SPEED_RECORD	16384
#define SPEED_PASSES	3	/* the best counts: the others were disturbed */

/* This process's CPU seconds: time spent waiting for a core is not the
   cipher's. */
static double
cpu_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Keep in *best the MB/s of a pass over SPEED_BYTES from t0, if higher. */
static void
keep_best(double *best, double t0)
{
	double	t = cpu_now() - t0;

	if (t > 0 && SPEED_BYTES / t / 1e6 > *best)
		*best = SPEED_BYTES / t / 1e6;
}

/*
 * MB/s, the best of SPEED_PASSES at sealing buf in records, with a fixed
 * key and a new nonce per record as TLS has; 0 when mbedTLS failed.
 */
static double
gcm_speed(unsigned bits, unsigned char *buf)
{
	mbedtls_gcm_context	g;
	unsigned char		iv[12] = { 0 }, tag[16], key[32] = { 0 };
	double			best = 0, t0;
	size_t			off;
	int			i, ok;

	mbedtls_gcm_init(&g);
	ok = mbedtls_gcm_setkey(&g, MBEDTLS_CIPHER_ID_AES, key, bits) == 0;
	for (i = 0; ok && i < SPEED_PASSES; i++) {
		t0 = cpu_now();
		for (off = 0; ok && off < SPEED_BYTES; off += SPEED_RECORD) {
			iv[11]++;
			ok = mbedtls_gcm_crypt_and_tag(&g, MBEDTLS_GCM_ENCRYPT,
			    SPEED_RECORD, iv, sizeof(iv), NULL, 0, buf + off,
			    buf + off, sizeof(tag), tag) == 0;
		}
		if (ok)
			keep_best(&best, t0);
	}
	mbedtls_gcm_free(&g);
	return ok ? best : 0;
}

static double
chachapoly_speed(unsigned char *buf)
{
#if defined(MBEDTLS_CHACHAPOLY_C)
	mbedtls_chachapoly_context	c;
	unsigned char			iv[12] = { 0 }, tag[16];
	unsigned char			key[32] = { 0 };
	double				best = 0, t0;
	size_t				off;
	int				i, ok;

	mbedtls_chachapoly_init(&c);
	ok = mbedtls_chachapoly_setkey(&c, key) == 0;
	for (i = 0; ok && i < SPEED_PASSES; i++) {
		t0 = cpu_now();
		for (off = 0; ok && off < SPEED_BYTES; off += SPEED_RECORD) {
			iv[11]++;
			ok = mbedtls_chachapoly_encrypt_and_tag(&c,
			    SPEED_RECORD, iv, NULL, 0, buf + off, buf + off,
			    tag) == 0;
		}
		if (ok)
			keep_best(&best, t0);
	}
	mbedtls_chachapoly_free(&c);
	return ok ? best : 0;
#else
	(void)buf;
	return 0;
#endif
}

int
tls_chacha_first(const struct tls_speeds *sp)
{
	double	aes = sp->aes128 > sp->aes256 ? sp->aes128 : sp->aes256;

	return aes > 0 && sp->chacha >= TLS_CHACHA_MARGIN * aes;
}

void
tls_rank_suites(struct tls_server *s, const struct tls_speeds *sp)
{
	int	block[SUITES_MAX], id, i, n = 0;
	size_t	k, j;

	s->speeds = *sp;
	s->measured = 1;
	s->chacha_first = tls_chacha_first(sp);
	/* The default block, rebuilt in the chosen order. */
	for (k = 0; k < sizeof(default_suites) / sizeof(default_suites[0]);
	    k++) {
		j = s->chacha_first && k % 3 < 2 ? k - k % 3 + 1 - k % 3 : k;
		id = mbedtls_ssl_get_ciphersuite_id(default_suites[j]);
		for (i = s->dflt_at; i < s->dflt_at + s->dflt_n; i++)
			if (s->suites[i] == id && n < SUITES_MAX)
				block[n++] = id;
	}
	if (n == s->dflt_n)
		memcpy(s->suites + s->dflt_at, block, (size_t)n * sizeof(int));
}

void
tls_server_rank_suites(struct tls_server *s)
{
	struct tls_speeds	 sp;
	unsigned char		*buf;

	if (s == NULL || s->dflt_n == 0)
		return;
	/* A mapping of its own: the listener's heap keeps no 64 KB. */
	buf = mmap(NULL, SPEED_BYTES, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (buf == MAP_FAILED)
		return;
	memset(buf, 'x', SPEED_BYTES);
	sp.aes128 = gcm_speed(128, buf);
	sp.aes256 = gcm_speed(256, buf);
	sp.chacha = chachapoly_speed(buf);
	(void)munmap(buf, SPEED_BYTES);
	tls_rank_suites(s, &sp);
}

const char *
tls_suite_line(const struct tls_server *s, char *buf, size_t len)
{
	const char	*order;
	double		 aes;

	if (s == NULL)
		return NULL;
	if (s->dflt_n == 0) {
		snprintf(buf, len, "TLS suites: tls_ciphers's order, %s first",
		    mbedtls_ssl_get_ciphersuite_name(s->suites[0]));
		return buf;
	}
	order = s->chacha_first ? "ChaCha20-Poly1305 first, then "
	    "AES-256-GCM, AES-128-GCM" : "AES-256-GCM first, then "
	    "ChaCha20-Poly1305, AES-128-GCM (RFC 9325's order)";
	if (!s->measured) {
		snprintf(buf, len, "TLS suites: %s; speeds not measured",
		    order);
		return buf;
	}
	aes = s->speeds.aes128 > s->speeds.aes256 ? s->speeds.aes128 :
	    s->speeds.aes256;
	snprintf(buf, len, "TLS suites: %s: mbedTLS seals here AES-128-GCM "
	    "%.0f MB/s, AES-256-GCM %.0f MB/s, ChaCha20-Poly1305 %.0f MB/s "
	    "(%.2fx the faster AES-GCM; first from %.1fx)%s", order,
	    s->speeds.aes128, s->speeds.aes256, s->speeds.chacha,
	    aes > 0 ? s->speeds.chacha / aes : 0.0, TLS_CHACHA_MARGIN,
#if defined(MBEDTLS_SSL_PROTO_TLS1_3)
	    "; in TLS 1.3 the client's order picks"
#else
	    ""
#endif
	    );
	return buf;
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
		seterr(err, errlen, "TLS setup failed %s", tls_why(r, w, sizeof(w)));
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
	mbedtls_ssl_conf_sni(sc, tls_sni_select, s);
	mbedtls_ssl_conf_session_tickets_cb(sc, tls_ticket_write,
	    tls_ticket_parse, s);
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
		seterr(err, errlen, "TLS random generator failed %s",
		    tls_why(r, w, sizeof(w)));
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
		if (tls_key_held(s, i))
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
	if (tls_key_held(s, i))
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
 * Signatures by the monitor: which digest it is and the digest come from
 * the pre-login process (tls.c's stand-in key), a signature goes back.
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

unsigned
tls_md_number(mbedtls_md_type_t type)
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
	if (!tc->separate || !tls_key_held(s, (int)cert) || cap < tc->sigbytes)
		return -1;
	mbedtls_pk_init(&key);
	/* The system's generator for the blinding: the DRBG in s is the
	   listener's, shared by every process forked from it. */
	r = tls_parse_key(&key, tc->der, tc->derlen, sys_entropy, NULL);
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
