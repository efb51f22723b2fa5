/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Credentials: crypt(3) hashes in the passwd file, APOP secrets in their
 * own file.
 *
 * passwd file lines:  user:hash[:uid:gid[:mailbox]]
 * APOP file lines:    user:secret
 * Blank lines and lines starting with '#' are skipped; a malformed line
 * is logged with file:line and skipped, so one typo locks out one user,
 * not everyone.
 *
 * Timing: every lookup reads the whole file and runs crypt(3) once,
 * whether the user exists, is locked, or has an unusable name.  For
 * unknown users the hash is the file's first usable one, so the cost
 * matches a real user's.  Results are compared in constant time.
 *
 * APOP secrets are plaintext-equivalent (RFC 1939 section 7), so the
 * APOP file must be readable by pop3d alone.  A user listed there may log
 * in only with APOP, never with USER/PASS (RFC 1939 section 13).
 */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "md5.h"

/*
 * One passwd file entry, as far as a login needs it.  The mailbox goes
 * straight into the caller's struct auth_user, not into a PATH_MAX copy
 * on the stack (struct auth_line says why that matters).
 */
struct auth_entry {
	int	 found;
	int	 locked;	/* hash "", "*..." or "!...": never matches */
	char	 hash[CRYPT_OUTPUT_SIZE];
	int	 has_ids;
	uid_t	 uid;
	gid_t	 gid;
	char	*mailbox;	/* PATH_MAX bytes; "" means: the template */
};

/*
 * One open credentials file, read line by line with buffers we can wipe.
 * Both are on the heap, whose free pages the session gives back after
 * login; pages of stack it would keep (struct auth_line says why).
 */
struct auth_file {
	const char	*path;
	FILE		*fp;
	unsigned long	 lineno;
	char		*line;
	size_t		 cap;
	char		*iobuf;		/* stdio's buffer, BUFSIZ bytes */
};

/*
 * Used as the dummy hash when the passwd file has no usable one: any
 * valid SHA-512 setting costs the same as a real SHA-512 check.
 */
#define AUTH_DUMMY_HASH	"$6$pop3dDummySalt$"

#define AUTH_NAME_CHARS	"abcdefghijklmnopqrstuvwxyz" \
			"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._@+-"

static const char	*auth_reason = "";

static int	auth_open(struct auth_file *, const char *);
static void	auth_close(struct auth_file *);
static char	*auth_next(struct auth_file *, const char **);
static int	auth_id(const char *, unsigned long *);
static int	auth_ids(const char *, const char *, struct auth_line *);
static const char *auth_parse(char *, struct auth_line *);
static void	auth_take(struct auth_entry *, const struct auth_line *);
static int	auth_lookup(const char *, const char *, struct auth_entry *,
		    char *);
static int	auth_apop_lookup(const char *, const char *, char *, size_t);
static int	auth_equal(const void *, size_t, const void *, size_t);
static int	auth_crypt(const char *, const char *, int *);
static int	auth_unhex(const char *, unsigned char *);
static int	auth_fill(const struct conf *, const char *,
		    const struct auth_entry *, struct auth_user *);
static int	auth_fail(const char *);

const char *
auth_last_reason(void)
{
	return auth_reason;
}

void
auth_wipe(void *p, size_t n)
{
	explicit_bzero(p, n);
}

int
auth_name_ok(const char *s)
{
	size_t	len;

	if (s == NULL || s[0] == '.' || s[0] == '-')
		return 0;
	len = strlen(s);
	return len > 0 && len <= AUTH_NAME_MAX &&
	    strspn(s, AUTH_NAME_CHARS) == len;
}

/*
 * Open path for auth_next.  stdio's buffer is ours so the file's bytes
 * can be wiped at auth_close.  Returns 0, or -1 with errno set.
 */
static int
auth_open(struct auth_file *f, const char *path)
{
	int	saved;

	memset(f, 0, sizeof(*f));
	f->path = path;
	/* Room for the longest valid line, so getline never reallocates. */
	f->cap = AUTH_LINE_MAX + 2;
	if ((f->line = malloc(f->cap)) == NULL)
		return -1;
	if ((f->iobuf = malloc(BUFSIZ)) == NULL ||
	    (f->fp = fopen(path, "r")) == NULL) {
		saved = errno;
		free(f->iobuf);
		free(f->line);
		errno = saved;
		return -1;
	}
	setvbuf(f->fp, f->iobuf, _IOFBF, BUFSIZ);
	return 0;
}

static void
auth_close(struct auth_file *f)
{
	fclose(f->fp);
	auth_wipe(f->line, f->cap);
	free(f->line);
	auth_wipe(f->iobuf, BUFSIZ);
	free(f->iobuf);
}

/*
 * The next line that is not blank or a comment, newline (and a CR
 * before it) removed.  *bad is NULL, or why the line can't be used at
 * all (too long, a NUL byte).  Returns NULL at the end of the file.
 */
static char *
auth_next(struct auth_file *f, const char **bad)
{
	ssize_t	n;

	*bad = NULL;
	while ((n = getline(&f->line, &f->cap, f->fp)) != -1) {
		f->lineno++;
		if (n > 0 && f->line[n - 1] == '\n')
			f->line[--n] = '\0';
		if (n > 0 && f->line[n - 1] == '\r')
			f->line[--n] = '\0';
		if (n > AUTH_LINE_MAX || strlen(f->line) != (size_t)n)
			*bad = "line too long or has a NUL byte";
		else if (n == 0 || f->line[0] == '#')
			continue;
		return f->line;
	}
	return NULL;
}

/* Strict decimal id, 1..2^32-2: never root's 0, nor the -1 "no change". */
static int
auth_id(const char *s, unsigned long *out)
{
	unsigned long	v = 0;

	if (*s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (unsigned long)(*s - '0');
		if (v > 0xfffffffeUL)
			return -1;
	}
	if (v == 0)
		return -1;
	*out = v;
	return 0;
}

/* uid and gid fields: both empty, or both valid ids.  Returns 0 or -1. */
static int
auth_ids(const char *u, const char *g, struct auth_line *e)
{
	unsigned long	uid, gid;

	if (*u == '\0' && *g == '\0')
		return 0;
	if (auth_id(u, &uid) == -1 || auth_id(g, &gid) == -1)
		return -1;
	e->has_ids = 1;
	e->uid = (uid_t)uid;
	e->gid = (gid_t)gid;
	return 0;
}

/*
 * Split a passwd line into l, whose fields then point into line.  The
 * mailbox, last, may hold ':'.  Returns NULL, or why the line is
 * unusable.
 */
static const char *
auth_parse(char *line, struct auth_line *l)
{
	char		*fld[5];
	const char	*why = NULL;
	int		 n;

	memset(l, 0, sizeof(*l));
	fld[0] = line;
	for (n = 1; n < 5 && (fld[n] = strchr(fld[n - 1], ':')) != NULL; n++)
		*fld[n]++ = '\0';
	if (n != 2 && n != 4 && n != 5)
		why = "expected user:hash[:uid:gid[:mailbox]]";
	else if (!auth_name_ok(fld[0]))
		why = "bad user name";
	else if (strlen(fld[1]) >= CRYPT_OUTPUT_SIZE)
		why = "hash too long";
	else if (n >= 4 && auth_ids(fld[2], fld[3], l) == -1)
		why = "uid and gid must both be empty or both be numbers > 0";
	else if (n == 5 && fld[4][0] != '\0' && fld[4][0] != '/')
		why = "mailbox must be an absolute path";
	else if (n == 5 && strlen(fld[4]) >= PATH_MAX)
		why = "mailbox path too long";
	if (why != NULL)
		return why;
	l->name = fld[0];
	l->hash = fld[1];
	l->locked = l->hash[0] == '\0' || l->hash[0] == '*' ||
	    l->hash[0] == '!';
	l->mailbox = n == 5 ? fld[4] : NULL;
	return NULL;
}

/* Copy the line l (auth_parse checked the lengths) into the entry e. */
static void
auth_take(struct auth_entry *e, const struct auth_line *l)
{
	e->found = 1;
	e->locked = l->locked;
	memcpy(e->hash, l->hash, strlen(l->hash) + 1);
	e->has_ids = l->has_ids;
	e->uid = l->uid;
	e->gid = l->gid;
	if (l->mailbox != NULL)
		memcpy(e->mailbox, l->mailbox, strlen(l->mailbox) + 1);
}

/*
 * Read the whole passwd file at path: e gets user's entry (user NULL
 * matches nobody), dummy (CRYPT_OUTPUT_SIZE bytes) the first usable hash
 * or AUTH_DUMMY_HASH.  Returns 0, or -1 (logged) when it can't be read.
 */
static int
auth_lookup(const char *path, const char *user, struct auth_entry *e,
    char *dummy)
{
	struct auth_file	 f;
	struct auth_line	 cur;
	char			*line, *mailbox = e->mailbox;
	const char		*bad;
	int			 rc = 0;

	memset(e, 0, sizeof(*e));
	e->mailbox = mailbox;
	mailbox[0] = '\0';
	dummy[0] = '\0';
	if (auth_open(&f, path) == -1) {
		log_warn("%s", path);
		return -1;
	}
	while ((line = auth_next(&f, &bad)) != NULL) {
		if (bad == NULL)
			bad = auth_parse(line, &cur);
		if (bad != NULL) {
			log_warnx("%s:%lu: %s, line skipped", path, f.lineno,
			    bad);
			continue;
		}
		if (dummy[0] == '\0' && !cur.locked)
			memcpy(dummy, cur.hash, strlen(cur.hash) + 1);
		if (user == NULL || strcmp(cur.name, user) != 0)
			continue;
		if (e->found)
			log_warnx("%s:%lu: %s listed again, line ignored",
			    path, f.lineno, cur.name);
		else
			auth_take(e, &cur);
	}
	if (ferror(f.fp)) {
		log_warn("%s", path);
		rc = -1;
	}
	/* cur points into the line, which auth_close wipes. */
	auth_close(&f);
	if (dummy[0] == '\0')
		memcpy(dummy, AUTH_DUMMY_HASH, sizeof(AUTH_DUMMY_HASH));
	return rc;
}

int
auth_passwd_walk(const char *path, void (*fn)(unsigned long, const char *,
    const struct auth_line *, void *), void *arg)
{
	struct auth_file	 f;
	struct auth_line	 cur;
	char			*line;
	const char		*bad;
	int			 rc = 0;

	if (auth_open(&f, path) == -1)
		return -1;
	while ((line = auth_next(&f, &bad)) != NULL) {
		if (bad == NULL)
			bad = auth_parse(line, &cur);
		fn(f.lineno, bad, bad == NULL ? &cur : NULL, arg);
	}
	if (ferror(f.fp))
		rc = -1;
	auth_close(&f);
	return rc;
}

/*
 * Find user's secret in the APOP file (the whole file is read either way;
 * user NULL matches nobody).  Returns 1 with the secret copied, 0 when
 * the user is not listed, -1 (logged) when the file can't be read.
 */
static int
auth_apop_lookup(const char *path, const char *user, char *secret,
    size_t secretlen)
{
	struct auth_file	 f;
	char			*line, *colon;
	const char		*bad;
	int			 found = 0;

	if (auth_open(&f, path) == -1) {
		log_warn("%s", path);
		return -1;
	}
	while ((line = auth_next(&f, &bad)) != NULL) {
		if (bad != NULL) {
			log_warnx("%s:%lu: %s, line skipped", path, f.lineno,
			    bad);
			continue;
		}
		if ((colon = strchr(line, ':')) == NULL)
			goto bad;
		*colon++ = '\0';
		if (!auth_name_ok(line) || *colon == '\0' ||
		    strlen(colon) >= secretlen)
			goto bad;
		if (found || user == NULL || strcmp(line, user) != 0)
			continue;
		memcpy(secret, colon, strlen(colon) + 1);
		found = 1;
		continue;
bad:
		log_warnx("%s:%lu: expected user:secret, line skipped", path,
		    f.lineno);
	}
	if (ferror(f.fp)) {
		log_warn("%s", path);
		found = -1;
	}
	auth_close(&f);
	return found;
}

/* Compare in time that depends on the lengths only.  Returns 1 if equal. */
static int
auth_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char	*x = a, *y = b;
	size_t				 i, n = alen < blen ? alen : blen;
	unsigned			 d = alen != blen;

	for (i = 0; i < n; i++)
		d |= x[i] ^ y[i];
	return d == 0;
}

/*
 * Hash pass with the setting in hash and compare.  Returns 0 with *match
 * set, or -1 when crypt(3) refused (unsupported method, no memory).
 */
static int
auth_crypt(const char *pass, const char *hash, int *match)
{
	struct crypt_data	*cd;
	const char		*out;
	int			 rc = -1;

	*match = 0;
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return -1;
	if ((out = crypt_rn(pass, hash, cd, sizeof(*cd))) != NULL) {
		*match = auth_equal(out, strlen(out), hash, strlen(hash));
		rc = 0;
	}
	auth_wipe(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* Record why a login failed (for auth_last_reason).  Returns AUTH_FAIL. */
static int
auth_fail(const char *why)
{
	auth_reason = why;
	return AUTH_FAIL;
}

/*
 * Fill who for user from its passwd entry e (maybe not found), whose
 * mailbox, if the file gave one, auth_lookup wrote into who->mailbox.
 */
static int
auth_fill(const struct conf *c, const char *user, const struct auth_entry *e,
    struct auth_user *who)
{
	memcpy(who->name, user, strlen(user) + 1);
	who->has_ids = e->found && e->has_ids;
	who->uid = who->has_ids ? e->uid : 0;
	who->gid = who->has_ids ? e->gid : 0;
	/* The passwd file's ids come alone: no system account's groups. */
	who->ngroups = 0;
	if (who->mailbox[0] == '\0' && conf_mailbox_path(c->mailbox, user,
	    who->mailbox, sizeof(who->mailbox)) == -1) {
		log_warnx("mailbox template %s: no valid path for %s",
		    c->mailbox, user);
		auth_reason = "bad mailbox path";
		return AUTH_TEMPFAIL;
	}
	auth_reason = "ok";
	return AUTH_OK;
}

/*
 * Checks run in a fixed order whatever the outcome, so that the time
 * taken says nothing about which check failed; hence the length.
 */
int
auth_passwd(const struct conf *c, const char *user, const char *pass,
    struct auth_user *who)
{
	struct auth_entry	 e = { .mailbox = who->mailbox };
	char			 dummy[CRYPT_OUTPUT_SIZE];
	char			 secret[AUTH_PASS_MAX + 1];
	int			 valid = auth_name_ok(user), real, crc, match;
	int			 apop_user = 0;

	auth_reason = "passwd file unreadable";
	if (auth_lookup(c->passwd_file, valid ? user : NULL, &e, dummy) == -1)
		return AUTH_TEMPFAIL;
	real = e.found && !e.locked;
	crc = auth_crypt(pass, real ? e.hash : dummy, &match);
	/* The file's first hash may be one crypt(3) rejects: still work. */
	if (!real && crc == -1)
		(void)auth_crypt(pass, AUTH_DUMMY_HASH, &match);
	if (c->apop) {
		apop_user = auth_apop_lookup(c->apop_file, valid ? user : NULL,
		    secret, sizeof(secret));
		auth_wipe(secret, sizeof(secret));
	}
	auth_wipe(dummy, sizeof(dummy));
	auth_wipe(e.hash, sizeof(e.hash));
	if (real && crc == -1) {
		log_warnx("%s: the hash of %s is not supported by crypt(3)",
		    c->passwd_file, user);
		auth_reason = "unsupported hash";
		return AUTH_TEMPFAIL;
	}
	if (apop_user == -1) {
		auth_reason = "APOP file unreadable";
		return AUTH_TEMPFAIL;
	}
	if (!valid || !e.found)
		return auth_fail("unknown user");
	if (e.locked)
		return auth_fail("account locked");
	if (!match)
		return auth_fail("wrong password");
	if (apop_user)
		return auth_fail("APOP-only user tried USER/PASS");
	return auth_fill(c, user, &e, who);
}

/* 32 hex digits into 16 bytes.  Returns 0, or -1 if digest isn't that. */
static int
auth_unhex(const char *digest, unsigned char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	const char		*h;
	int			 i, c;

	if (strlen(digest) != MD5_LEN * 2)
		return -1;
	for (i = 0; i < MD5_LEN * 2; i++) {
		c = (unsigned char)digest[i];
		if (c >= 'A' && c <= 'F')
			c += 'a' - 'A';
		if (c == '\0' || (h = strchr(hex, c)) == NULL)
			return -1;
		if (i % 2 == 0)
			out[i / 2] = (unsigned char)((h - hex) << 4);
		else
			out[i / 2] |= (unsigned char)(h - hex);
	}
	return 0;
}

/*
 * APOP: MD5(timestamp secret) against digest.  The passwd file, if it
 * lists the user, supplies ids and mailbox, and its lock applies.
 */
int
auth_apop(const struct conf *c, const char *user, const char *timestamp,
    const char *digest, struct auth_user *who)
{
	struct auth_entry	e = { .mailbox = who->mailbox };
	struct md5		m;
	unsigned char		want[MD5_LEN], got[MD5_LEN];
	char			secret[AUTH_PASS_MAX + 1] = "";
	char			dummy[CRYPT_OUTPUT_SIZE];
	int			found, valid = auth_name_ok(user), match;

	if (!c->apop)
		return auth_fail("APOP disabled");
	auth_reason = "APOP file unreadable";
	found = auth_apop_lookup(c->apop_file, valid ? user : NULL, secret,
	    sizeof(secret));
	if (found == -1)
		return AUTH_TEMPFAIL;
	md5_init(&m);
	md5_update(&m, timestamp, strlen(timestamp));
	md5_update(&m, secret, strlen(secret));
	md5_final(&m, want);
	match = auth_unhex(digest, got) == 0 &&
	    auth_equal(want, sizeof(want), got, sizeof(got));
	auth_wipe(&m, sizeof(m));
	auth_wipe(secret, sizeof(secret));
	auth_wipe(want, sizeof(want));
	if (found != 1)
		return auth_fail("unknown user");
	if (!match)
		return auth_fail("wrong APOP digest");
	auth_reason = "passwd file unreadable";
	if (auth_lookup(c->passwd_file, user, &e, dummy) == -1)
		return AUTH_TEMPFAIL;
	auth_wipe(dummy, sizeof(dummy));
	auth_wipe(e.hash, sizeof(e.hash));
	if (e.found && e.locked)
		return auth_fail("account locked");
	return auth_fill(c, user, &e, who);
}
