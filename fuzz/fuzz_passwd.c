/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the credentials files: auth_passwd and auth_apop with a
 * fuzzed passwd file, APOP file, user name and password.  See fuzz/README.
 *
 * Input: byte 0 flags, then "user\npass\n", then the passwd file; when
 * the rest holds a line "%%", what follows it is the APOP file (else the
 * APOP file is the passwd file too).
 *
 * crypt(3) with SHA-512 costs milliseconds, which would leave the fuzzer
 * a few hundred runs a second, and a "rounds=" setting in the fuzzed file
 * could make one run take minutes.  So crypt_rn is replaced here: MD5-crypt
 * ("$1$") and DES settings, which are cheap and bounded, go to the real
 * one; any other setting gets a cheap stand-in that matches only when the
 * password is FUZZ_PASS, so the fuzzer can still reach a successful login.
 * What is fuzzed is pop3d's parsing, not libcrypt.
 */
#include <crypt.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "conf.h"
#include "fuzz_util.h"
#include "md5.h"

#define F_APOP		0x01	/* APOP enabled */
#define F_CALL_APOP	0x02	/* auth_apop, with digest MD5(stamp pass) */

#define FUZZ_PASS	"open sesame"
#define STAMP		"<1.2@fuzz.test>"

typedef char	*crypt_rn_fn(const char *, const char *, void *, int);

char *
crypt_rn(const char *phrase, const char *setting, void *data, int size)
{
	static crypt_rn_fn	*real;
	struct crypt_data	*cd = data;
	size_t			 n;

	if (size < (int)sizeof(*cd)) {
		errno = ERANGE;
		return NULL;
	}
	if (strncmp(setting, "$1$", 3) == 0 || (setting[0] != '$' &&
	    setting[0] != '_' && setting[0] != '\0')) {
		if (real == NULL)
			real = (crypt_rn_fn *)dlsym(RTLD_NEXT, "crypt_rn");
		FUZZ_ASSERT(real != NULL, "no crypt_rn in libcrypt");
		return real(phrase, setting, data, size);
	}
	if (setting[0] == '\0') {
		errno = EINVAL;
		return NULL;
	}
	n = strlen(setting);
	if (n > sizeof(cd->output) - 2)
		n = sizeof(cd->output) - 2;
	memcpy(cd->output, setting, n);
	/* Equal to the setting for FUZZ_PASS, one byte longer otherwise. */
	if (strcmp(phrase, FUZZ_PASS) == 0)
		cd->output[n] = '\0';
	else {
		cd->output[n] = 'x';
		cd->output[n + 1] = '\0';
	}
	return cd->output;
}

/* Cut the next '\n'-ended field off *p (len *n).  Returns it or NULL. */
static char *
field(const uint8_t **p, size_t *n)
{
	const uint8_t	*nl = memchr(*p, '\n', *n);
	char		*s;
	size_t		 len;

	if (nl == NULL)
		return NULL;
	len = (size_t)(nl - *p);
	FUZZ_ASSERT((s = malloc(len + 1)) != NULL, "malloc");
	memcpy(s, *p, len);
	s[len] = '\0';
	*p += len + 1;
	*n -= len + 1;
	return s;
}

static void
check_result(int r, const char *user, const struct auth_user *who)
{
	FUZZ_ASSERT(r == AUTH_OK || r == AUTH_FAIL || r == AUTH_TEMPFAIL,
	    "bad auth result");
	FUZZ_ASSERT(auth_last_reason() != NULL, "no reason");
	if (r != AUTH_OK)
		return;
	FUZZ_ASSERT(auth_name_ok(user), "an invalid name logged in");
	FUZZ_ASSERT(strcmp(who->name, user) == 0, "who->name");
	FUZZ_ASSERT(memchr(who->mailbox, '\0', sizeof(who->mailbox)) != NULL &&
	    who->mailbox[0] == '/', "mailbox not an absolute path");
	FUZZ_ASSERT(!who->has_ids || (who->uid != 0 && who->gid != 0),
	    "login as root");
}

/* The digest a client who knows pass as the APOP secret would send. */
static void
apop_digest(const char *pass, char *hex)
{
	static const char	 digits[] = "0123456789abcdef";
	unsigned char		 d[MD5_LEN];
	struct md5		 m;
	int			 i;

	md5_init(&m);
	md5_update(&m, STAMP, strlen(STAMP));
	md5_update(&m, pass, strlen(pass));
	md5_final(&m, d);
	for (i = 0; i < MD5_LEN; i++) {
		hex[2 * i] = digits[d[i] >> 4];
		hex[2 * i + 1] = digits[d[i] & 0xf];
	}
	hex[2 * MD5_LEN] = '\0';
}

static void
write_files(struct conf *c, const uint8_t *p, size_t n)
{
	const uint8_t	*sep = memmem(p, n, "\n%%\n", 4);
	size_t		 plen = sep ? (size_t)(sep - p) + 1 : n;

	FUZZ_ASSERT(fuzz_tmpfile("passwd", p, plen, c->passwd_file) == 0,
	    "tmpfile");
	if (sep != NULL) {
		p = sep + 4;
		n -= plen + 3;
	}
	FUZZ_ASSERT(fuzz_tmpfile("apop", p, n, c->apop_file) == 0,
	    "tmpfile");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf	 c;
	struct auth_user	 who;
	char			*user, *pass = NULL, hex[2 * MD5_LEN + 1];
	unsigned		 flags;
	int			 r;

	if (size < 1)
		return 0;
	flags = data[0];
	data++;
	size--;
	fuzz_quiet();
	if ((user = field(&data, &size)) == NULL ||
	    (pass = field(&data, &size)) == NULL)
		goto out;
	conf_defaults(&c);
	c.apop = (flags & (F_APOP | F_CALL_APOP)) != 0;
	write_files(&c, data, size);
	memset(&who, 0xa5, sizeof(who));
	if (flags & F_CALL_APOP) {
		apop_digest(pass, hex);
		r = auth_apop(&c, user, STAMP, hex, &who);
	} else
		r = auth_passwd(&c, user, pass, &who);
	check_result(r, user, &who);
	fuzz_tmpclean();
 out:
	free(user);
	free(pass);
	return 0;
}
