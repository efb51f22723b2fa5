/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * UIDs beyond the plain fingerprint (see mbox_int.h): the ordinals that
 * tell identical twins apart, kept across deletions in the sidecar file
 * .NAME.pop3d-uids beside the mailbox, and X-UIDL: values carried over
 * from qpopper and GNU Mailutils.
 *
 * The sidecar is text: the line "pop3d-uids 2", then one line per group
 * that lost a copy to an UPDATE: 32 hex digits of fingerprint, the high
 * water mark, and the ordinals of the surviving copies in file order.
 * The scan decisions that must survive an UPDATE (struct mbox_state) are
 * lines of their own: "content-length ignored", "shown " with 32 hex
 * digits of fingerprint, and "dovecot-base " with Dovecot's UIDVALIDITY
 * and last UID in decimal.  Nothing else is ever recorded, so for most
 * mailboxes it never exists.
 *
 * Under uidl_compat the UIDLs another server gave (Dovecot's X-UID with
 * the mailbox's UIDVALIDITY, popa3d's fingerprint) are served in place
 * of ours: 16 hex digits where ours are 24, so the two never meet.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "lock.h"
#include "fileio.h"
#include "log.h"
#include "mbox_int.h"
#include "md5.h"
#include "params.h"
#include "spool.h"

#define UIDS_MAGIC	"pop3d-uids 2\n"
#define LINE_CL		"content-length ignored"
#define LINE_SHOWN	"shown "
#define LINE_DCBASE	"dovecot-base "
#define NO_GROUP	UINT32_MAX

static const char hexd[] = "0123456789abcdef";

/* ------------------------------------------------------------------ */
/* Groups and members */

static int
grow(void **p, size_t *cap, size_t need, size_t each, const char *what)
{
	size_t	n = *cap;
	void	*q;

	if (need <= n)
		return 0;
	while (n < need)
		n = n == 0 ? 16 : n * 2;
	if (n > SIZE_MAX / each || (q = realloc(*p, n * each)) == NULL) {
		log_warnx("out of memory for %s", what);
		return -1;
	}
	*p = q;
	*cap = n;
	return 0;
}

/* A new group; returns its number, or -1 (logged). */
static long
grp_add(struct uidmap *um, const unsigned char *fp, uint32_t base,
    uint32_t *ord, uint32_t nord, int known)
{
	struct uid_group	*g;

	if (um->ngrp >= NO_GROUP || grow((void **)&um->grp, &um->grpcap,
	    um->ngrp + 1, sizeof(*um->grp), "UID groups") == -1)
		return -1;
	g = &um->grp[um->ngrp];
	memcpy(g->fp, fp, sizeof(g->fp));
	g->base = g->hw = base;
	g->ord = ord;
	g->nord = nord;
	g->known = known;
	return (long)um->ngrp++;
}

static int
mem_add(struct uidmap *um, uint32_t idx, uint32_t grp, uint32_t ord)
{
	struct uid_member	*e;

	if (grow((void **)&um->mem, &um->memcap, um->nmem + 1,
	    sizeof(*um->mem), "UID groups") == -1)
		return -1;
	e = &um->mem[um->nmem++];
	e->idx = idx;
	e->grp = grp;
	e->ord = ord;
	return 0;
}

/* The UID of the copy with ordinal ord: fp itself for 0. */
static void
uid_of(const unsigned char *fp, uint32_t ord, unsigned char *uid)
{
	struct md5	c;
	unsigned char	k[8], d[MD5_LEN];
	int		i;

	if (ord == 0) {
		memcpy(uid, fp, MBOX_UID_BYTES);
		return;
	}
	for (i = 0; i < 8; i++)
		k[i] = (unsigned char)((uint64_t)ord >> (8 * i));
	md5_init(&c);
	md5_update(&c, fp, MD5_LEN);
	md5_update(&c, k, sizeof(k));
	md5_final(&c, d);
	memcpy(uid, d, MBOX_UID_BYTES);
}

int
uids_assign(struct mbox *m, const unsigned char fp[16], uint32_t k,
    uint32_t *grp, uint32_t first, uint32_t idx,
    unsigned char uid[MBOX_UID_BYTES])
{
	struct uidmap		*um = &m->um;
	struct uid_group	*g;
	uint32_t		 ord;
	long			 n;

	if (*grp == NO_GROUP) {
		if (k == 0) {
			uid_of(fp, 0, uid);
			return 0;
		}
		/* a second copy: from now on the copies are a group */
		if ((n = grp_add(um, fp, 0, NULL, 0, 0)) == -1 ||
		    mem_add(um, first, (uint32_t)n, 0) == -1)
			return -1;
		*grp = (uint32_t)n;
		um->grp[n].hw = 1;
	}
	g = &um->grp[*grp];
	if (k < g->nord)
		ord = g->ord[k];
	else if ((uint64_t)g->base + (k - g->nord) >= UINT32_MAX) {
		log_warnx("%s%s: too many identical messages",
		    spool_dir(m->path), m->path);
		return -1;
	} else
		ord = g->base + (k - g->nord);
	if (ord >= g->hw)
		g->hw = ord + 1;
	uid_of(fp, ord, uid);
	return mem_add(um, idx, *grp, ord);
}

/* ------------------------------------------------------------------ */
/* UIDLs inherited from another server */

int
uids_compat_add(struct mbox *m, uint64_t v)
{
	struct uidmap	*um = &m->um;

	if (grow((void **)&um->compat, &um->compatcap, um->ncompat + 1,
	    sizeof(*um->compat), "inherited UIDLs") == -1)
		return -1;
	um->compat[um->ncompat++] = v;
	return 0;
}

static int
cmp_u64_at(const void *a, const void *b)
{
	const uint64_t	*x = *(const uint64_t *const *)a;
	const uint64_t	*y = *(const uint64_t *const *)b;

	return *x < *y ? -1 : *x > *y;
}

/*
 * popa3d gives identical fingerprints to messages that share the few
 * fields it hashes, and serves them all one UIDL.  A value two messages
 * carry serves neither (as with X-UIDL): which one keeps it would depend
 * on the order of delivery, and the other would take it over once the
 * first is deleted, hidden from a client that saw it as read.
 */
static int
compat_dedup(struct mbox *m)
{
	struct uidmap	*um = &m->um;
	uint64_t	**at;
	size_t		 i, j, k;

	if (um->ncompat < 2)
		return 0;
	if ((at = calloc(um->ncompat, sizeof(*at))) == NULL) {
		log_warn("%s: inherited UIDLs", m->path);
		return -1;
	}
	for (i = 0; i < um->ncompat; i++)
		at[i] = &um->compat[i];
	qsort(at, um->ncompat, sizeof(*at), cmp_u64_at);
	for (i = 0; i < um->ncompat; i = j) {
		for (j = i + 1; j < um->ncompat && *at[j] == *at[i]; j++)
			;
		for (k = i; j > i + 1 && k < j; k++)
			*at[k] = 0;
	}
	free(at);
	return 0;
}

/* 8 lower-case hex digits of v at p. */
static void
hex32(char *p, uint32_t v)
{
	int	i;

	for (i = 7; i >= 0; i--, v >>= 4)
		p[i] = hexd[v & 0xf];
}

const char *
uids_compat_of(const struct mbox *m, size_t idx, char *buf)
{
	const struct uidmap	*um = &m->um;
	uint64_t		 v;
	int			 i;

	if (idx >= um->ncompat || (v = um->compat[idx]) == 0)
		return NULL;
	if (m->compat == UIDL_COMPAT_DOVECOT) {
		/* %08Xu%08Xv: Dovecot's X modifier prints lower-case hex */
		hex32(buf, (uint32_t)v);
		hex32(buf + 8, um->validity);
		buf[16] = '\0';
		return buf;
	}
	/* popa3d prints each 32-bit half of its digest byte-reversed */
	for (i = 0; i < 8; i++) {
		unsigned b = (unsigned)(v >> (8 * ((i & 4) + 3 - (i & 3))));

		buf[2 * i] = hexd[(b >> 4) & 0xf];
		buf[2 * i + 1] = hexd[b & 0xf];
	}
	buf[16] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* X-UIDL */

/*
 * RFC 1939 section 7's characters and length.  A value shaped like our
 * own hash UIDs (24 hex digits, in either case: some clients compare
 * UIDs without it) is refused, so a header that a sender wrote can never
 * copy the UID of another message.
 */
static int
xuidl_valid(const char *v, size_t len)
{
	size_t	i, hex = 0;

	if (len == 0 || len > UID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (v[i] < 0x21 || v[i] > 0x7e)
			return 0;
		if (strchr("0123456789abcdefABCDEF", v[i]) != NULL)
			hex++;
	}
	return !(len == 2 * MBOX_UID_BYTES && hex == len);
}

int
uids_xuidl(struct mbox *m, uint32_t idx, const char *v, size_t len)
{
	struct uidmap	*um = &m->um;

	while (len > 0 && (*v == ' ' || *v == '\t')) {
		v++;
		len--;
	}
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t' ||
	    v[len - 1] == '\r' || v[len - 1] == '\n'))
		len--;
	if (!xuidl_valid(v, len))
		return 0;
	if (um->poollen + len + 1 > UINT32_MAX ||
	    grow((void **)&um->pool, &um->poolcap, um->poollen + len + 1, 1,
	    "X-UIDL values") == -1 ||
	    grow((void **)&um->xu, &um->xucap, um->nxu + 1, sizeof(*um->xu),
	    "X-UIDL values") == -1)
		return -1;
	um->xu[um->nxu].idx = idx;
	um->xu[um->nxu].off = (uint32_t)um->poollen;
	um->nxu++;
	memcpy(um->pool + um->poollen, v, len);
	um->poollen += len;
	um->pool[um->poollen++] = '\0';
	return 0;
}

static const char	*sort_pool;

static int
cmp_xu_value(const void *a, const void *b)
{
	const struct uid_xuidl	*x = a, *y = b;
	int			 c;

	c = strcasecmp(sort_pool + x->off, sort_pool + y->off);
	return c != 0 ? c : x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
cmp_xu_idx(const void *a, const void *b)
{
	const struct uid_xuidl	*x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
cmp_mem_idx(const void *a, const void *b)
{
	const struct uid_member	*x = a, *y = b;

	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* qsort, which must not be handed the NULL of an empty array. */
static void
sort(void *base, size_t n, size_t size, int (*cmp)(const void *,
    const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

/*
 * A value that two messages carry serves neither: which one would keep
 * it depends on the order of delivery, and the one that did not would
 * take it over once the other is deleted.  Values that differ only in
 * case are the same value to a client that ignores case.
 */
static void
xuidl_dedup(struct uidmap *um)
{
	size_t	i, j, n = 0;

	sort_pool = um->pool;
	sort(um->xu, um->nxu, sizeof(*um->xu), cmp_xu_value);
	for (i = 0; i < um->nxu; i = j) {
		for (j = i + 1; j < um->nxu && strcasecmp(um->pool +
		    um->xu[i].off, um->pool + um->xu[j].off) == 0; j++)
			;
		if (j == i + 1)
			um->xu[n++] = um->xu[i];
	}
	um->nxu = n;
	sort(um->xu, um->nxu, sizeof(*um->xu), cmp_xu_idx);
}

int
uids_scanned(struct mbox *m)
{
	struct uidmap	*um = &m->um;

	sort(um->mem, um->nmem, sizeof(*um->mem), cmp_mem_idx);
	xuidl_dedup(um);
	return m->compat == UIDL_COMPAT_POPA3D ? compat_dedup(m) : 0;
}

const char *
uids_xuidl_of(const struct mbox *m, size_t idx)
{
	const struct uidmap	*um = &m->um;
	size_t			 lo = 0, hi = um->nxu, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (um->xu[mid].idx == idx)
			return um->pool + um->xu[mid].off;
		if (um->xu[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const unsigned char *
uids_fp_of(const struct mbox *m, size_t idx)
{
	const struct uidmap	*um = &m->um;
	size_t			 lo = 0, hi = um->nmem, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (um->mem[mid].idx == idx)
			return um->grp[um->mem[mid].grp].fp;
		if (um->mem[mid].idx < idx)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* The sidecar file */

static int
hexval(char c)
{
	const char	*p = strchr(hexd, c);

	return c != '\0' && p != NULL ? (int)(p - hexd) : -1;
}

/* 32 hex digits at s as a fingerprint.  0, or -1 when they are not. */
static int
parse_fp(const char *s, unsigned char fp[MD5_LEN])
{
	int	i, hi, lo;

	for (i = 0; i < MD5_LEN; i++) {
		if ((hi = hexval(s[2 * i])) < 0 ||
		    (lo = hexval(s[2 * i + 1])) < 0)
			return -1;
		fp[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

/* A decimal below UINT32_MAX at *p, moved past.  0 or -1. */
static int
parse_u32(char **p, uint32_t *v)
{
	unsigned long long	n = 0;
	char			*s = *p;

	if (*s < '0' || *s > '9')
		return -1;
	while (*s >= '0' && *s <= '9') {
		n = n * 10 + (unsigned long long)(*s++ - '0');
		if (n >= UINT32_MAX)
			return -1;
	}
	*p = s;
	*v = (uint32_t)n;
	return 0;
}

/*
 * One group line (NUL-terminated, without its newline).  The ordinals
 * go to um->ords at *used.  0, or -1 when it is malformed.
 */
static int
parse_line(struct uidmap *um, char *s, size_t *used)
{
	unsigned char	 fp[MD5_LEN];
	uint32_t	 hw, o, *ord = um->ords + *used, n = 0;
	size_t		 i;

	if (parse_fp(s, fp) == -1)
		return -1;
	s += 2 * MD5_LEN;
	if (*s++ != ' ' || parse_u32(&s, &hw) == -1)
		return -1;
	while (*s == ' ') {
		s++;
		/* strictly increasing: copies are given ordinals in order */
		if (parse_u32(&s, &o) == -1 || o >= hw ||
		    (n > 0 && o <= ord[n - 1]))
			return -1;
		ord[n++] = o;
	}
	if (*s != '\0')
		return -1;
	for (i = 0; i < um->ngrp; i++)
		if (memcmp(um->grp[i].fp, fp, MD5_LEN) == 0)
			return -1;
	*used += n;
	return grp_add(um, fp, hw, ord, n, 1) == -1 ? -1 : 0;
}

/* "dovecot-base V L" after its keyword: 1, or -1 when malformed. */
static int
parse_dcbase(struct mbox_state *st, char *s)
{
	uint32_t	v, l;

	if (parse_u32(&s, &v) == -1 || v == 0 || *s++ != ' ' ||
	    parse_u32(&s, &l) == -1 || *s != '\0')
		return -1;
	st->dc_validity = v;
	st->dc_last = l;
	return 1;
}

/* A state line (struct mbox_state).  1 when it is one, 0 if not, -1 bad. */
static int
parse_state(struct mbox_state *st, char *s)
{
	if (strcmp(s, LINE_CL) == 0) {
		st->cl_ignored = 1;
		return 1;
	}
	if (strncmp(s, LINE_DCBASE, strlen(LINE_DCBASE)) == 0)
		return parse_dcbase(st, s + strlen(LINE_DCBASE));
	if (strncmp(s, LINE_SHOWN, strlen(LINE_SHOWN)) != 0)
		return 0;
	s += strlen(LINE_SHOWN);
	if (st->nshown == MBOX_SHOWN_MAX || strlen(s) != 2 * MD5_LEN ||
	    parse_fp(s, st->shown[st->nshown]) == -1)
		return -1;
	st->nshown++;
	return 1;
}

static int
parse_file(struct uidmap *um, char *text, size_t len)
{
	char	*line, *nl;
	size_t	 used = 0;
	int	 r;

	/* a line holds at most one ordinal per 2 bytes */
	if ((um->ords = calloc(len / 2 + 1, sizeof(*um->ords))) == NULL)
		return -1;
	if (len < strlen(UIDS_MAGIC) ||
	    memcmp(text, UIDS_MAGIC, strlen(UIDS_MAGIC)) != 0)
		return -1;
	for (line = text + strlen(UIDS_MAGIC); line < text + len;
	    line = nl + 1) {
		if ((nl = memchr(line, '\n', text + len - line)) == NULL)
			return -1;
		*nl = '\0';
		if ((r = parse_state(&um->st, line)) == -1 ||
		    (r == 0 && parse_line(um, line, &used) == -1))
			return -1;
	}
	return 0;
}

/* Read the whole of fd (st_size bytes) into a new NUL-ended buffer. */
static char *
slurp(int fd, size_t len)
{
	char	*text;
	size_t	 got = 0;
	ssize_t	 n;

	if ((text = malloc(len + 1)) == NULL)
		return NULL;
	while (got < len) {
		n = read(fd, text + got, len - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got != len) {
		free(text);
		return NULL;
	}
	text[len] = '\0';
	return text;
}

/*
 * Only our own file is trusted: in a shared spool another user could
 * plant one to take UIDs over.  A foreign one is set aside, so that it
 * is logged once and the next UPDATE can put ours in its place.
 */
int
uids_load(struct mbox *m)
{
	struct uidmap	*um = &m->um;
	struct stat	 st;
	char		 name[PATH_MAX], real[PATH_MAX], *text = NULL;
	int		 fd, ok = 0;

	if (lock_sibling(m->path, ".pop3d-uids", name, sizeof(name)) == -1)
		return 0;
	if ((fd = spool_open(name, O_RDONLY, SPOOL_OURS, &st)) == -1) {
		if (errno == EPERM)
			(void)spool_set_aside(name);
		else if (errno != ENOENT)
			log_warn("%s: open (ignored)", spool_name(name, real,
			    sizeof(real)));
		return 0;
	}
	if (st.st_size <= UIDS_FILE_MAX &&
	    (text = slurp(fd, (size_t)st.st_size)) != NULL)
		ok = parse_file(um, text, (size_t)st.st_size) == 0;
	(void)close(fd);
	free(text);
	if (!ok) {
		log_warnx("%s: not a valid UID file, ignored: identical "
		    "messages may change UIDs", spool_name(name, real,
		    sizeof(real)));
		uids_free(m);
		memset(um, 0, sizeof(*um));
	}
	return 0;
}

static int
cmp_mem_grp(const void *a, const void *b)
{
	const struct uid_member	*x = a, *y = b;

	if (x->grp != y->grp)
		return x->grp < y->grp ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

struct outbuf {
	char	*p;
	size_t	 len;
	size_t	 cap;
	int	 err;
};

static void
out_add(struct outbuf *o, const char *s, size_t n)
{
	if (o->err || grow((void **)&o->p, &o->cap, o->len + n, 1,
	    "the UID file") == -1) {
		o->err = 1;
		return;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void
out_u32(struct outbuf *o, char sep, uint32_t v)
{
	char	b[16];
	int	n;

	n = snprintf(b, sizeof(b), "%c%lu", sep, (unsigned long)v);
	out_add(o, b, (size_t)n);
}

static void
out_fp(struct outbuf *o, const unsigned char *fp)
{
	char	hex[2 * MD5_LEN];
	int	b;

	for (b = 0; b < MD5_LEN; b++) {
		hex[2 * b] = hexd[fp[b] >> 4];
		hex[2 * b + 1] = hexd[fp[b] & 0xf];
	}
	out_add(o, hex, sizeof(hex));
}

/*
 * The new sidecar's text: the state st, every group it held, and every
 * group that lost a copy now (touched[g]; NULL: none), each with its
 * surviving ordinals (del NULL: all).  mem is sorted by group, then idx.
 */
static void
render(const struct uidmap *um, const struct uid_member *mem,
    const unsigned char *touched, const unsigned char *del,
    const struct mbox_state *st, struct outbuf *o)
{
	const struct uid_group	*g;
	size_t			 gi, i = 0;

	out_add(o, UIDS_MAGIC, strlen(UIDS_MAGIC));
	if (st->cl_ignored)
		out_add(o, LINE_CL "\n", strlen(LINE_CL) + 1);
	if (st->dc_validity != 0) {
		out_add(o, LINE_DCBASE, strlen(LINE_DCBASE) - 1);
		out_u32(o, ' ', st->dc_validity);
		out_u32(o, ' ', st->dc_last);
		out_add(o, "\n", 1);
	}
	for (gi = 0; gi < st->nshown; gi++) {
		out_add(o, LINE_SHOWN, strlen(LINE_SHOWN));
		out_fp(o, st->shown[gi]);
		out_add(o, "\n", 1);
	}
	for (gi = 0; gi < um->ngrp; gi++) {
		g = &um->grp[gi];
		for (; i < um->nmem && mem[i].grp < gi; i++)
			;
		if (!g->known && (touched == NULL || !touched[gi]))
			continue;
		out_fp(o, g->fp);
		out_u32(o, ' ', g->hw);
		for (; i < um->nmem && mem[i].grp == gi; i++)
			if (del == NULL || !del[mem[i].idx])
				out_u32(o, ' ', mem[i].ord);
		out_add(o, "\n", 1);
	}
}

/* The sidecar's text (see render), malloc'd in o.  0 or -1 (logged). */
static int
render_all(struct mbox *m, const unsigned char *touched,
    const unsigned char *del, const struct mbox_state *st,
    struct outbuf *o)
{
	struct uidmap		*um = &m->um;
	struct uid_member	*mem = NULL;

	if (um->nmem > 0) {
		if ((mem = calloc(um->nmem, sizeof(*mem))) == NULL) {
			log_warn("%s%s: UID file", spool_dir(m->path), m->path);
			return -1;
		}
		memcpy(mem, um->mem, um->nmem * sizeof(*mem));
		sort(mem, um->nmem, sizeof(*mem), cmp_mem_grp);
	}
	render(um, mem, touched, del, st, o);
	free(mem);
	if (o->err) {
		free(o->p);
		o->p = NULL;
		return -1;
	}
	return 0;
}

static int
state_shows(const struct mbox_state *st, const unsigned char *fp)
{
	size_t	i;

	for (i = 0; i < st->nshown; i++)
		if (memcmp(st->shown[i], fp, MD5_LEN) == 0)
			return 1;
	return 0;
}

/* Whether a and b say the same, the shown lists as sets. */
static int
state_same(const struct mbox_state *a, const struct mbox_state *b)
{
	size_t	i;

	if (a->cl_ignored != b->cl_ignored || a->nshown != b->nshown ||
	    a->dc_validity != b->dc_validity || a->dc_last != b->dc_last)
		return 0;
	for (i = 0; i < a->nshown; i++)
		if (!state_shows(b, a->shown[i]))
			return 0;
	return 1;
}

int
uids_shown(const struct mbox *m, const unsigned char fp[MD5_LEN])
{
	return state_shows(&m->um.st, fp);
}

int
uids_side(struct mbox *m, const unsigned char *del,
    const struct mbox_state *next, char **text, size_t *len)
{
	struct uidmap	*um = &m->um;
	struct outbuf	 o = { NULL, 0, 0, 0 };
	unsigned char	*touched;
	size_t		 i;
	int		 any = 0, r = 0;

	*text = NULL;
	*len = 0;
	if ((touched = calloc(um->ngrp + 1, 1)) == NULL) {
		log_warn("%s%s: UID file", spool_dir(m->path), m->path);
		return -1;
	}
	for (i = 0; i < um->nmem; i++)
		if (del[um->mem[i].idx])
			any = touched[um->mem[i].grp] = 1;
	if (any || !state_same(next, &um->st)) {
		if ((r = render_all(m, touched, del, next, &o)) == 0) {
			*text = o.p;
			*len = o.len;
		}
	}
	free(touched);
	return r;
}

void
uids_free(struct mbox *m)
{
	struct uidmap	*um = &m->um;

	free(um->grp);
	free(um->ords);
	free(um->mem);
	free(um->xu);
	free(um->pool);
	free(um->compat);
}
