/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the mbox maildrop: an arbitrary file is opened and
 * scanned, every message is streamed (RETR and TOP) and checked against the
 * index, and, when byte 0 asks, some messages are deleted by UPDATE and the
 * rewritten file is scanned again.  Each file is also scanned through
 * reads of a size the seed picks, which must find what the scan of the
 * mapped file finds.  See fuzz/README.
 *
 * Input: byte 0 flags (format, UPDATE, uidl_compat), byte 1 the deletion
 * pattern, bytes 2..5 seed the read sizes, the rest is the mailbox file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "fuzz_util.h"
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"
#include "params.h"

#define F_MBOXRD	0x01
#define F_UPDATE	0x02
#define F_MBOXCL2	0x04	/* unless F_MBOXRD */
#define F_DOVECOT	0x08	/* uidl_compat dovecot */
#define F_POPA3D	0x10	/* uidl_compat popa3d, unless F_DOVECOT */

/* The streamed copy of every message, to compare after UPDATE. */
struct copy {
	char	*data;
	size_t	 len;
};

/*
 * Stream the message opened with msg_open in reads of random size.
 * Returns the bytes in a malloc'd buffer (*len set); aborts on a broken
 * invariant.  A message can't grow past twice its size plus a line end
 * (CRLF for LF, a stuffed '.'), which bounds the loop.
 */
static char *
stream(struct mbox *m, uint64_t size, size_t *len, uint32_t *rng)
{
	size_t	 cap = (size_t)size * 2 + 16, got = 0, want;
	char	*out;
	ssize_t	 n;

	FUZZ_ASSERT((out = malloc(cap)) != NULL, "malloc");
	for (;;) {
		want = 1 + fuzz_rand(rng) % 700;
		if (want > cap - got)
			want = cap - got;
		n = mbox_ops.msg_read(m, out + got, want);
		FUZZ_ASSERT(n >= 0 && (size_t)n <= want, "msg_read result");
		if (n == 0)
			break;
		got += (size_t)n;
		FUZZ_ASSERT(got < cap, "message longer than its size allows");
	}
	*len = got;
	return out;
}

/* What an open found, kept to compare with another open. */
struct found {
	int		  st;
	size_t		  n;
	int		  flags[3];	/* hidden, cl_ignore, xuidl_seen */
	uint64_t	  size;
	struct mbox_msg	 *msgs;
	char		(*uids)[UID_MAX + 1];
	unsigned char	(*fps)[17];	/* [0]: a twin, with its group's */
};

static void
found_open(const char *path, const struct conf *conf, struct found *f)
{
	struct mbox		*m;
	const unsigned char	*fp;
	size_t			 i;

	memset(f, 0, sizeof(*f));
	if ((f->st = mbox_open(path, conf, &m)) != MD_OK)
		return;
	f->n = m->nmsgs;
	f->flags[0] = m->hidden;
	f->flags[1] = m->cl_ignore;
	f->flags[2] = m->xuidl_seen;
	f->size = m->size;
	FUZZ_ASSERT((f->msgs = calloc(f->n + 1, sizeof(*f->msgs))) != NULL &&
	    (f->uids = calloc(f->n + 1, sizeof(*f->uids))) != NULL &&
	    (f->fps = calloc(f->n + 1, sizeof(*f->fps))) != NULL, "calloc");
	for (i = 0; i < f->n; i++) {
		f->msgs[i] = m->msgs[i];
		snprintf(f->uids[i], sizeof(f->uids[i]), "%s",
		    mbox_ops.uid(m, i));
		if ((fp = uids_fp_of(m, i)) != NULL) {
			f->fps[i][0] = 1;
			memcpy(f->fps[i] + 1, fp, 16);
		}
	}
	mbox_ops.close(m);
}

static void
found_free(struct found *f)
{
	free(f->msgs);
	free(f->uids);
	free(f->fps);
}

/*
 * An open of path through reads of 1 to 64 bytes (the seed picks), which
 * end inside lines, From_ lines and CRLFs, finds what an open of the
 * mapped file finds: the same status, index, UIDs, twins' fingerprints
 * and scan decisions.
 */
static void
check_cut(const char *path, const struct conf *conf, uint32_t seed)
{
	struct found	f[2];
	size_t		i;
	int		k;

	for (k = 0; k < 2; k++) {
		mbox_scan_map = k == 0;
		mbox_scan_read = k == 0 ? MBOX_READ_CHUNK : 1 + seed % 64;
		found_open(path, conf, &f[k]);
		mbox_scan_map = 1;
		mbox_scan_read = MBOX_READ_CHUNK;
	}
	FUZZ_ASSERT(f[0].st == f[1].st && f[0].n == f[1].n &&
	    memcmp(f[0].flags, f[1].flags, sizeof(f[0].flags)) == 0 &&
	    f[0].size == f[1].size, "reads cut elsewhere: another scan");
	for (i = 0; i < f[0].n; i++)
		FUZZ_ASSERT(memcmp(&f[0].msgs[i], &f[1].msgs[i],
		    sizeof(f[0].msgs[i])) == 0 &&
		    strcmp(f[0].uids[i], f[1].uids[i]) == 0 &&
		    memcmp(f[0].fps[i], f[1].fps[i], sizeof(f[0].fps[i])) == 0,
		    "reads cut elsewhere: another message");
	for (k = 0; k < 2; k++)
		found_free(&f[k]);
}

/* The index entries lie inside the file, in order, each at a From_ line. */
static void
check_index(struct mbox *m, const uint8_t *file, size_t flen)
{
	uint64_t	prev_end = 0, start, content, len;
	size_t		i;

	for (i = 0; i < m->nmsgs; i++) {
		start = msg_get(&m->msgs[i], MSG_START);
		content = start + msg_get(&m->msgs[i], MSG_FROMLEN);
		len = msg_get(&m->msgs[i], MSG_LEN);
		FUZZ_ASSERT(start >= prev_end && start < content &&
		    content <= flen && len <= flen - content,
		    "index entry outside the file");
		FUZZ_ASSERT(flen - start >= 5 &&
		    memcmp(file + start, "From ", 5) == 0,
		    "message does not start at a From_ line");
		prev_end = content + len;
	}
}

static void
check_uids(struct mbox *m)
{
	size_t		 i, j, n = mbox_ops.count(m);
	char		(*uids)[UID_MAX + 1];
	const char	*u;

	FUZZ_ASSERT((uids = calloc(n + 1, sizeof(*uids))) != NULL, "calloc");
	for (i = 0; i < n; i++) {
		u = mbox_ops.uid(m, i);
		FUZZ_ASSERT(strlen(u) >= 1 && strlen(u) <= UID_MAX,
		    "UID length");
		for (j = 0; u[j] != '\0'; j++)
			FUZZ_ASSERT(u[j] >= 0x21 && u[j] <= 0x7e,
			    "UID character");
		memcpy(uids[i], u, strlen(u) + 1);
		for (j = 0; j < i; j++)
			FUZZ_ASSERT(strcmp(uids[i], uids[j]) != 0,
			    "duplicate UID");
	}
	free(uids);
}

/* RETR and TOP of message idx; the RETR bytes go to c. */
static void
check_message(struct mbox *m, size_t idx, struct copy *c, uint32_t *rng)
{
	uint64_t	size = mbox_ops.size(m, idx);
	char		*top;
	size_t		 toplen;
	long		 lines = (long)(fuzz_rand(rng) % 4);

	FUZZ_ASSERT(mbox_ops.msg_open(m, idx, -1) == MD_OK, "RETR open");
	c->data = stream(m, size, &c->len, rng);
	FUZZ_ASSERT(fuzz_check_wire(c->data, c->len, 1) == size,
	    "LIST size differs from the bytes RETR sends");

	/* TOP sends a prefix of what RETR sends. */
	FUZZ_ASSERT(mbox_ops.msg_open(m, idx, lines) == MD_OK, "TOP open");
	top = stream(m, size, &toplen, rng);
	(void)fuzz_check_wire(top, toplen, 1);
	FUZZ_ASSERT(toplen <= c->len && memcmp(top, c->data, toplen) == 0,
	    "TOP is not a prefix of RETR");
	free(top);
}

static void
free_copies(struct copy *c, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(c[i].data);
	free(c);
}

/*
 * Delete the messages the pattern selects; the file scanned again must
 * hold exactly the others, byte for byte.
 */
static void
check_update(struct mbox *m, const char *path, const struct conf *conf,
    struct copy *c, unsigned pattern, uint32_t *rng, uint32_t seed)
{
	size_t		 n = mbox_ops.count(m), i, k = 0, len;
	unsigned char	*del;
	struct mbox	*m2;
	char		*again;

	FUZZ_ASSERT((del = calloc(n + 1, 1)) != NULL, "calloc");
	for (i = 0; i < n; i++)
		del[i] = (pattern >> (i % 8)) & 1;
	FUZZ_ASSERT(mbox_ops.update(m, del) == MD_OK, "UPDATE failed");
	mbox_ops.close(m);
	/* now with the UID sidecar the UPDATE may have left */
	check_cut(path, conf, seed);
	FUZZ_ASSERT(mbox_open(path, conf, &m2) == MD_OK, "reopen");
	for (i = 0; i < n; i++) {
		if (del[i])
			continue;
		FUZZ_ASSERT(k < mbox_ops.count(m2), "a kept message is lost");
		FUZZ_ASSERT(mbox_ops.msg_open(m2, k, -1) == MD_OK, "reopen");
		again = stream(m2, mbox_ops.size(m2, k), &len, rng);
		FUZZ_ASSERT(len == c[i].len &&
		    memcmp(again, c[i].data, len) == 0,
		    "a kept message changed in UPDATE");
		free(again);
		k++;
	}
	FUZZ_ASSERT(k == mbox_ops.count(m2), "a deleted message is back");
	mbox_ops.close(m2);
	free(del);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 conf;
	struct mbox	*m;
	struct copy	*c;
	char		 path[PATH_MAX];
	uint32_t	 rng;
	size_t		 i, n;
	unsigned	 flags, pattern;
	int		 st;

	if (size < 6)
		return 0;
	flags = data[0];
	pattern = data[1];
	rng = (uint32_t)data[2] | (uint32_t)data[3] << 8 |
	    (uint32_t)data[4] << 16 | (uint32_t)data[5] << 24;
	data += 6;
	size -= 6;
	fuzz_quiet();
	conf_defaults(&conf);
	conf.lock_timeout = 1;
	conf.mbox_format = flags & F_MBOXRD ? MBOX_MBOXRD :
	    flags & F_MBOXCL2 ? MBOX_MBOXCL2 : MBOX_MBOXO;
	conf.uidl_compat = flags & F_DOVECOT ? UIDL_COMPAT_DOVECOT :
	    flags & F_POPA3D ? UIDL_COMPAT_POPA3D : UIDL_COMPAT_NONE;
	FUZZ_ASSERT(fuzz_tmpfile("mbox", data, size, path) == 0, "tmpfile");
	check_cut(path, &conf, rng);

	st = mbox_open(path, &conf, &m);
	/* Only "not an mbox" may refuse a file nobody else touches. */
	FUZZ_ASSERT(st == MD_OK || st == MD_PERM, "mbox_open status");
	if (st != MD_OK) {
		fuzz_tmpclean();
		return 0;
	}
	check_index(m, data, size);
	check_uids(m);
	n = mbox_ops.count(m);
	FUZZ_ASSERT((c = calloc(n + 1, sizeof(*c))) != NULL, "calloc");
	for (i = 0; i < n; i++)
		check_message(m, i, &c[i], &rng);
	if (flags & F_UPDATE)
		check_update(m, path, &conf, c, pattern, &rng,
		    rng ^ 0x9e3779b9);
	else
		mbox_ops.close(m);
	free_copies(c, n);
	fuzz_tmpclean();
	return 0;
}
