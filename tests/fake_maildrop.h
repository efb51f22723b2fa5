/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * An in-memory maildrop and credentials backend for driving session.c in
 * tests: messages are strings already in POP form (CRLF line ends, not
 * byte-stuffed), or generated on the fly for huge ones; every call the
 * session makes is recorded so tests can check what it asked for.
 */
#ifndef POP3D_FAKE_MAILDROP_H
#define POP3D_FAKE_MAILDROP_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "auth.h"
#include "maildrop.h"
#include "session.h"

#define FAKE_UNUSED	__attribute__((unused))

/* A generated message's lines: 62 octets then CRLF, every 10th starting '.'. */
#define FAKE_GEN_LINE	64

struct fake_msg {
	const char	*text;		/* NULL: generated, gen_lines lines */
	size_t		 gen_lines;
	char		 uid[UID_MAX + 1];
};

struct fake_md {
	struct fake_msg	*msgs;
	size_t		 n;
	int		 open_rc;	/* what msg_open answers */
	long		 fail_after;	/* msg_read fails past this many bytes; <0 never */
	int		 update_rc;

	/* recorded */
	int		 opens;
	long		 last_body_lines;
	int		 updates;
	unsigned char	*del;		/* copy of update()'s del[] */
	int		 closes;
	long		 max_read_cap;	/* largest cap msg_read was given */
	int		 prefetches;
	size_t		 last_prefetch;

	/* streaming state */
	char		*cur;		/* byte-stuffed copy being sent */
	size_t		 curlen, curpos;
	size_t		 gen_line, gen_lines;
	char		 pend[FAKE_GEN_LINE + 1];
	size_t		 pendlen, pendpos;
	long		 sent;
};

/* Line k of a generated message, byte-stuffed when stuff is set. */
static FAKE_UNUSED size_t
fake_gen_line(size_t k, int stuff, char *out)
{
	size_t	n = 0, i;

	if (k % 10 == 0) {
		out[n++] = '.';
		if (stuff)
			out[n++] = '.';
	} else
		out[n++] = 'a' + (char)(k % 26);
	for (i = 1; i < FAKE_GEN_LINE - 2; i++)
		out[n++] = 'A' + (char)((k + i) % 26);
	out[n++] = '\r';
	out[n++] = '\n';
	return n;
}

static size_t
fake_count(void *p)
{
	return ((struct fake_md *)p)->n;
}

static uint64_t
fake_size(void *p, size_t idx)
{
	struct fake_msg	*m = &((struct fake_md *)p)->msgs[idx];

	if (m->text == NULL)
		return (uint64_t)m->gen_lines * FAKE_GEN_LINE;
	return strlen(m->text);
}

static const char *
fake_uid(void *p, size_t idx)
{
	return ((struct fake_md *)p)->msgs[idx].uid;
}

/* Byte-stuff text, keeping the header, blank line and body_lines lines. */
static char *
fake_stuff(const char *text, long body_lines, size_t *len)
{
	char		*out = malloc(strlen(text) * 2 + 1), *o = out;
	const char	*p = text, *eol;
	int		 in_body = 0;
	long		 body = 0;

	while (*p != '\0') {
		if (in_body && body_lines >= 0 && body++ >= body_lines)
			break;
		eol = strstr(p, "\r\n");
		eol = eol ? eol + 2 : p + strlen(p);
		if (*p == '.')
			*o++ = '.';
		if (eol - p == 2 && !in_body)
			in_body = 1;
		memcpy(o, p, (size_t)(eol - p));
		o += eol - p;
		p = eol;
	}
	*len = (size_t)(o - out);
	return out;
}

static int
fake_msg_open(void *p, size_t idx, long body_lines)
{
	struct fake_md	*md = p;
	struct fake_msg	*m = &md->msgs[idx];

	md->opens++;
	md->last_body_lines = body_lines;
	if (md->open_rc != MD_OK)
		return md->open_rc;
	free(md->cur);
	md->cur = NULL;
	md->curlen = md->curpos = md->pendlen = md->pendpos = 0;
	md->sent = 0;
	if (m->text != NULL)
		md->cur = fake_stuff(m->text, body_lines, &md->curlen);
	else {
		md->gen_line = 0;
		md->gen_lines = m->gen_lines;
	}
	return MD_OK;
}

static ssize_t
fake_msg_read(void *p, char *out, size_t cap)
{
	struct fake_md	*md = p;
	size_t		 n = 0, k;

	if ((long)cap > md->max_read_cap)
		md->max_read_cap = (long)cap;
	if (md->fail_after >= 0 && md->sent >= md->fail_after)
		return -1;
	while (n < cap) {
		if (md->cur != NULL) {
			k = md->curlen - md->curpos;
			if (k == 0)
				break;
			k = k < cap - n ? k : cap - n;
			memcpy(out + n, md->cur + md->curpos, k);
			md->curpos += k;
		} else {
			if (md->pendpos == md->pendlen) {
				if (md->gen_line == md->gen_lines)
					break;
				md->pendlen = fake_gen_line(md->gen_line++, 1,
				    md->pend);
				md->pendpos = 0;
			}
			k = md->pendlen - md->pendpos;
			k = k < cap - n ? k : cap - n;
			memcpy(out + n, md->pend + md->pendpos, k);
			md->pendpos += k;
		}
		n += k;
	}
	md->sent += (long)n;
	return (ssize_t)n;
}

static int
fake_update(void *p, const unsigned char *del)
{
	struct fake_md	*md = p;

	md->updates++;
	free(md->del);
	md->del = malloc(md->n + 1);
	memcpy(md->del, del, md->n);
	return md->update_rc;
}

static void
fake_prefetch(void *p, size_t idx)
{
	struct fake_md	*md = p;

	md->prefetches++;
	md->last_prefetch = idx;
}

static void
fake_close(void *p)
{
	((struct fake_md *)p)->closes++;
}

static FAKE_UNUSED const struct maildrop_ops fake_ops = {
	.count = fake_count,
	.size = fake_size,
	.uid = fake_uid,
	.msg_open = fake_msg_open,
	.msg_read = fake_msg_read,
	.prefetch = fake_prefetch,
	.update = fake_update,
	.close = fake_close,
};

static FAKE_UNUSED void
fake_md_free(struct fake_md *md)
{
	free(md->cur);
	free(md->del);
	md->cur = NULL;
	md->del = NULL;
}

/*
 * The credentials side: one password user, one APOP user whose valid digest
 * is given as is, a user "temp" whose check fails temporarily.
 */
struct fake_be {
	const char	*user, *pass;
	const char	*apop_user, *apop_digest;
	int		 open_rc;	/* what open_maildrop answers */
	struct fake_md	*md;

	/* recorded */
	int		 pw_checks, apop_checks, opens;
	char		 stamp[300];	/* the timestamp check_apop was given */
	char		 opened_for[AUTH_NAME_MAX + 1];
};

static FAKE_UNUSED int
fake_check_password(void *ctx, const char *user, const char *pass,
    struct auth_user *who)
{
	struct fake_be	*fb = ctx;

	fb->pw_checks++;
	if (strcmp(user, "temp") == 0)
		return AUTH_TEMPFAIL;
	if (strcmp(user, fb->user) != 0 || strcmp(pass, fb->pass) != 0)
		return AUTH_FAIL;
	memset(who, 0, sizeof(*who));
	strcpy(who->name, user);
	return AUTH_OK;
}

static FAKE_UNUSED int
fake_check_apop(void *ctx, const char *user, const char *timestamp,
    const char *digest, struct auth_user *who)
{
	struct fake_be	*fb = ctx;

	fb->apop_checks++;
	strncpy(fb->stamp, timestamp, sizeof(fb->stamp) - 1);
	if (fb->apop_user == NULL || strcmp(user, fb->apop_user) != 0 ||
	    strcmp(digest, fb->apop_digest) != 0)
		return AUTH_FAIL;
	memset(who, 0, sizeof(*who));
	strcpy(who->name, user);
	return AUTH_OK;
}

static FAKE_UNUSED int
fake_open_maildrop(void *ctx, const struct auth_user *who,
    const struct maildrop_ops **ops, void **md)
{
	struct fake_be	*fb = ctx;

	fb->opens++;
	strcpy(fb->opened_for, who->name);
	if (fb->open_rc != MD_OK)
		return fb->open_rc;
	*ops = &fake_ops;
	*md = fb->md;
	return MD_OK;
}

#endif
