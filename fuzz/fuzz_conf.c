/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the configuration reader: conf_load on a fuzzed file,
 * with an error buffer of fuzzed size, and what it accepts printed by
 * conf_print (pop3d -n) and read back.  See fuzz/README.
 *
 * Input: byte 0 the error buffer's size (0..255), the rest the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz_util.h"

/* Whether the fixed-size string field s is NUL-terminated. */
#define TERMINATED(s)	(memchr((s), '\0', sizeof(s)) != NULL)

/* A loaded configuration must be one the rest of pop3d can rely on. */
static void
check_conf(const struct conf *c)
{
	char	path[PATH_MAX];
	int	i;

	FUZZ_ASSERT(c->nlisten >= 0 && c->nlisten <= CONF_LISTEN_MAX &&
	    c->nlisten_tls >= 0 && c->nlisten_tls <= CONF_LISTEN_MAX &&
	    c->nsni >= 0 && c->nsni <= CONF_SNI_MAX, "array count");
	FUZZ_ASSERT(c->nlocks >= 1 && c->nlocks <= CONF_LOCKS_MAX,
	    "lock count");
	for (i = 0; i < c->nlisten; i++)
		FUZZ_ASSERT(TERMINATED(c->listen[i].host) &&
		    TERMINATED(c->listen[i].port), "listen unterminated");
	FUZZ_ASSERT(TERMINATED(c->passwd_file) && TERMINATED(c->mailbox) &&
	    TERMINATED(c->user) && TERMINATED(c->apop_file) &&
	    TERMINATED(c->tls_cert) && TERMINATED(c->tls_key) &&
	    TERMINATED(c->tls_ciphers), "string unterminated");
	for (i = 0; i < c->nsni; i++)
		FUZZ_ASSERT(TERMINATED(c->sni[i].name) &&
		    TERMINATED(c->sni[i].cert) && TERMINATED(c->sni[i].key),
		    "tls_sni unterminated");
	/* conf_load refuses templates conf_mailbox_path can't expand. */
	FUZZ_ASSERT(conf_mailbox_path(c->mailbox, "u", path,
	    sizeof(path)) == 0, "accepted a bad mailbox template");
}

/* c printed (pop3d -n) reads back as c, byte for byte but the name. */
static void
check_print(const struct conf *c)
{
	static struct conf	 back;
	char			 path[PATH_MAX], *text = NULL;
	size_t			 len = 0;
	FILE			*fp;

	FUZZ_ASSERT((fp = open_memstream(&text, &len)) != NULL, "memstream");
	conf_print(c, fp);
	FUZZ_ASSERT(fclose(fp) == 0, "memstream");
	FUZZ_ASSERT(fuzz_tmpfile("printed.conf", text, len, path) == 0,
	    "tmpfile");
	free(text);
	conf_defaults(&back);
	FUZZ_ASSERT(conf_load(&back, path, NULL, 0) == 0,
	    "conf_print's output does not parse");
	memcpy(back.file, c->file, sizeof(back.file));
	FUZZ_ASSERT(memcmp(&back, c, sizeof(back)) == 0,
	    "conf_print's output reads back differently");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct conf	 c, before;
	char			 path[PATH_MAX];
	char			*err;
	size_t			 errlen;

	if (size < 1)
		return 0;
	errlen = data[0];
	fuzz_quiet();
	FUZZ_ASSERT(fuzz_tmpfile("pop3d.conf", data + 1, size - 1, path) == 0,
	    "tmpfile");
	/* Exactly errlen bytes, so ASan sees a write past them. */
	FUZZ_ASSERT((err = malloc(errlen + 1)) != NULL, "malloc");
	conf_defaults(&c);
	before = c;
	if (conf_load(&c, path, errlen ? err : NULL, errlen) == 0) {
		check_conf(&c);
		check_print(&c);
	} else {
		FUZZ_ASSERT(memcmp(&c, &before, sizeof(c)) == 0,
		    "a failed load changed the configuration");
		FUZZ_ASSERT(errlen == 0 || memchr(err, '\0', errlen) != NULL,
		    "error message unterminated");
		FUZZ_ASSERT(errlen < 2 || err[0] != '\0', "no error message");
	}
	free(err);
	fuzz_tmpclean();
	return 0;
}
