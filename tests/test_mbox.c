/*
 * Unit tests for the mbox maildrop: transform_run, the scanner (fixture
 * mailboxes written to a temporary directory, and random ones checked
 * against a simple in-memory reference parser), UIDs, UPDATE and locks.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mbox_testutil.h"
#include "conf.h"
#include "fromline.h"
#include "log.h"
#include "maildrop.h"
#include "mbox.h"
#include "mbox_int.h"
#include "transform.h"

static int	fileno_;

/* ------------------------------------------------------------------ */
/* Helpers */


static void
b_printf(struct bytes *b, const char *fmt, ...)
{
	char	tmp[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	assert_true(n >= 0 && (size_t)n < sizeof(tmp));
	b_add(b, tmp, (size_t)n);
}

/* A fresh file name in the temporary directory. */
static char *
newpath(void)
{
	static char	path[128];

	snprintf(path, sizeof(path), "%s/mbox%d", tmpdir, ++fileno_);
	return path;
}

static struct bytes
read_file(const char *path)
{
	struct bytes	b = { NULL, 0, 0 };
	char		buf[65536];
	ssize_t		n;
	int		fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	b_add(&b, "", 0);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		b_add(&b, buf, (size_t)n);
	close(fd);
	return b;
}

static char *
mkfile(const void *p, size_t len)
{
	char	*path = newpath();

	write_file(path, p, len);
	return path;
}

static void
test_conf(struct conf *c, enum mbox_format f)
{
	conf_defaults(c);
	c->mbox_format = f;
	c->lock_timeout = 1;
}

static struct mbox *
open_ok(const char *path, enum mbox_format f)
{
	struct conf	 c;
	struct mbox	*m = NULL;

	test_conf(&c, f);
	assert_int_equal(mbox_open(path, &c, &m), MD_OK);
	assert_non_null(m);
	return m;
}

static int
open_status(const char *path, const struct conf *c)
{
	struct mbox	*m = (struct mbox *)1;
	int		 st;

	st = mbox_open(path, c, &m);
	if (st == MD_OK)
		mbox_ops.close(m);
	else
		assert_null(m);
	return st;
}

/* Stream message idx through msg_read in reads of cap bytes. */
static struct bytes
retr(struct mbox *m, size_t idx, long lines, size_t cap)
{
	struct bytes	 b = { NULL, 0, 0 };
	char		*out = malloc(cap);
	ssize_t		 n;

	assert_non_null(out);
	b_add(&b, "", 0);
	assert_int_equal(mbox_ops.msg_open(m, idx, lines), MD_OK);
	while ((n = mbox_ops.msg_read(m, out, cap)) > 0) {
		assert_true((size_t)n <= cap);
		b_add(&b, out, (size_t)n);
	}
	assert_int_equal(n, 0);
	assert_int_equal(mbox_ops.msg_read(m, out, cap), 0);
	free(out);
	return b;
}

/* Stuffed dots in POP output: one per line that starts with '.'. */
static size_t
stuffed(const struct bytes *b)
{
	size_t	i, n = 0;

	for (i = 0; i < b->len; i++)
		if (b->p[i] == '.' && (i == 0 || b->p[i - 1] == '\n'))
			n++;
	return n;
}

/* RETR output is CRLF-clean and as long as the LIST size says. */
static void
check_sizes(struct mbox *m)
{
	struct bytes	b;
	size_t		i;

	for (i = 0; i < mbox_ops.count(m); i++) {
		b = retr(m, i, -1, i % 2 ? 1 : 8192);
		assert_int_equal(mbox_ops.size(m, i), b.len - stuffed(&b));
		assert_true(b.len == 0 ||
		    (b.len >= 2 && memcmp(b.p + b.len - 2, "\r\n", 2) == 0));
		free(b.p);
	}
}

/* ------------------------------------------------------------------ */
/* A reference: the mbox rules written the obvious way, in memory. */

struct ref_line {
	const char	*p;
	size_t		 len;		/* with its line end */
};

static int
ref_blank(const struct ref_line *l)
{
	return (l->len == 1 && l->p[0] == '\n') ||
	    (l->len == 2 && l->p[0] == '\r' && l->p[1] == '\n');
}

/* A message starts at a From_ line (fromline.c, tested on its own). */
static int
ref_from(const struct ref_line *l)
{
	return from_line_valid(l->p, l->len > 0 && l->p[l->len - 1] == '\n' ?
	    l->len - 1 : l->len);
}

static size_t
ref_lines(const char *p, size_t len, struct ref_line **out)
{
	struct ref_line	*v = NULL;
	size_t		 n = 0, i = 0, j;

	while (i < len) {
		for (j = i; j < len && p[j] != '\n'; j++)
			;
		if (j < len)
			j++;
		v = realloc(v, (n + 1) * sizeof(*v));
		assert_non_null(v);
		v[n].p = p + i;
		v[n].len = j - i;
		n++;
		i = j;
	}
	*out = v;
	return n;
}

/* The POP form of lines [a, b) of a message. */
static void
ref_pop(struct bytes *o, const struct ref_line *l, size_t a, size_t b,
    enum mbox_format f, int stuff)
{
	size_t	i, len, g;

	for (i = a; i < b; i++) {
		const char	*p = l[i].p;

		len = l[i].len;
		if (len > 0 && p[len - 1] == '\n')
			len -= len > 1 && p[len - 2] == '\r' ? 2 : 1;
		if (f == MBOX_MBOXRD) {
			for (g = 0; g < len && p[g] == '>'; g++)
				;
			if (g > 0 && len - g >= 5 &&
			    memcmp(p + g, "From ", 5) == 0) {
				p++;
				len--;
			}
		}
		if (stuff && len > 0 && p[0] == '.')
			b_add(o, ".", 1);
		b_add(o, p, len);
		b_add(o, "\r\n", 2);
	}
}

/* Messages of an mbox in memory: POP form (stuffed) of each. */
static size_t
ref_parse(const char *p, size_t len, enum mbox_format f,
    struct bytes **msgs)
{
	struct ref_line	*l;
	struct bytes	*v = NULL;
	size_t		 n, i, s, e, nm = 0;

	n = ref_lines(p, len, &l);
	for (i = 0; i < n; i = e) {
		assert_true(ref_from(&l[i]));
		s = i + 1;
		for (e = s; e < n && !ref_from(&l[e]); e++)
			;
		v = realloc(v, (nm + 1) * sizeof(*v));
		assert_non_null(v);
		memset(&v[nm], 0, sizeof(v[nm]));
		b_add(&v[nm], "", 0);
		/* the separator: before a From_ line or ending the file */
		ref_pop(&v[nm], l, s, e > s && ref_blank(&l[e - 1]) ? e - 1 :
		    e, f, 1);
		nm++;
	}
	free(l);
	*msgs = v;
	return nm;
}

static void
ref_free(struct bytes *v, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(v[i].p);
	free(v);
}

/* The mbox at path holds exactly what the reference finds in data. */
static void
check_against_ref(const char *path, const char *data, size_t len,
    enum mbox_format f)
{
	struct mbox	*m = open_ok(path, f);
	struct bytes	*ref, got;
	size_t		 n, i;

	n = ref_parse(data, len, f, &ref);
	assert_int_equal(mbox_ops.count(m), n);
	for (i = 0; i < n; i++) {
		got = retr(m, i, -1, i % 3 == 0 ? 1 : i % 3 == 1 ? 100 : 65536);
		assert_int_equal(got.len, ref[i].len);
		assert_memory_equal(got.p, ref[i].p, got.len);
		assert_int_equal(mbox_ops.size(m, i), got.len - stuffed(&got));
		free(got.p);
	}
	mbox_ops.close(m);
	ref_free(ref, n);
}

/* ------------------------------------------------------------------ */
/* transform_run (transform.c) */

static struct bytes
xf_run(const char *in, size_t len, enum mbox_format f, int stuff,
    long lines, size_t piece, size_t cap)
{
	struct transform	 x;
	struct bytes		 b = { NULL, 0, 0 };
	char			*out = malloc(cap);
	size_t			 i = 0, n, used, k;

	assert_non_null(out);
	b_add(&b, "", 0);
	transform_init(&x, f, stuff, lines);
	while (i < len) {
		k = len - i < piece ? len - i : piece;
		n = transform_run(&x, in + i, k, out, cap, &used);
		assert_true(n <= cap);
		assert_true(used <= k);
		assert_true(n > 0 || used > 0);
		b_add(&b, out, n);
		i += used;
	}
	while ((n = transform_end(&x, out, cap)) > 0)
		b_add(&b, out, n);
	free(out);
	return b;
}

static size_t
xf_count(const char *in, size_t len, enum mbox_format f, int stuff,
    long lines)
{
	struct transform	x;
	size_t			used, n;

	transform_init(&x, f, stuff, lines);
	n = transform_run(&x, in, len, NULL, 0, &used);
	assert_int_equal(used, len);
	return n + transform_end(&x, NULL, 0);
}

/* Every way of feeding in gives want, and counting agrees. */
static void
xf_expect(const char *in, enum mbox_format f, int stuff, long lines,
    const char *want)
{
	struct bytes	b;
	size_t		len = strlen(in), wlen = strlen(want);
	size_t		pieces[] = { 1, 2, 3, 5, 1000 };
	size_t		caps[] = { 1, 2, 7, 1000 };
	size_t		i, j;

	for (i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		for (j = 0; j < sizeof(caps) / sizeof(caps[0]); j++) {
			b = xf_run(in, len, f, stuff, lines, pieces[i],
			    caps[j]);
			if (b.len != wlen || memcmp(b.p, want, wlen) != 0)
				fail_msg("transform(\"%s\") piece %zu cap %zu "
				    "gave \"%s\", want \"%s\"", in, pieces[i],
				    caps[j], b.p, want);
			free(b.p);
		}
	}
	assert_int_equal(xf_count(in, len, f, stuff, lines), wlen);
}

static void
t_transform_lines(void **state)
{
	(void)state;
	xf_expect("", MBOX_MBOXO, 1, -1, "");
	xf_expect("a\nb\n", MBOX_MBOXO, 1, -1, "a\r\nb\r\n");
	xf_expect("a\r\nb\r\n", MBOX_MBOXO, 1, -1, "a\r\nb\r\n");
	xf_expect("a\nb", MBOX_MBOXO, 1, -1, "a\r\nb\r\n");
	xf_expect("a\rb\n", MBOX_MBOXO, 1, -1, "a\rb\r\n");
	xf_expect("a\r\r\n", MBOX_MBOXO, 1, -1, "a\r\r\n");
	xf_expect("\r", MBOX_MBOXO, 1, -1, "\r\r\n");
	xf_expect("\n\n", MBOX_MBOXO, 1, -1, "\r\n\r\n");
	xf_expect("x\r", MBOX_MBOXO, 0, -1, "x\r\r\n");
}

static void
t_transform_stuff(void **state)
{
	(void)state;
	xf_expect(".\n..\n.a\na.\n", MBOX_MBOXO, 1, -1,
	    "..\r\n...\r\n..a\r\na.\r\n");
	xf_expect(".\n..\n.a\na.\n", MBOX_MBOXO, 0, -1, ".\r\n..\r\n.a\r\na.\r\n");
	xf_expect(".", MBOX_MBOXO, 1, -1, "..\r\n");
	xf_expect(".\r\n", MBOX_MBOXRD, 1, -1, "..\r\n");
	xf_expect(">.\n", MBOX_MBOXRD, 1, -1, ">.\r\n");
}

static void
t_transform_from(void **state)
{
	const char	*in = ">From a\n>>From b\n>>>From c\n> From d\n>Fro\n"
	    ">From\n>\n>>\nFrom e\n>Fromage\nx>From f\n>From ";

	(void)state;
	xf_expect(in, MBOX_MBOXO, 1, -1,
	    ">From a\r\n>>From b\r\n>>>From c\r\n> From d\r\n>Fro\r\n"
	    ">From\r\n>\r\n>>\r\nFrom e\r\n>Fromage\r\nx>From f\r\n>From \r\n");
	xf_expect(in, MBOX_MBOXRD, 1, -1,
	    "From a\r\n>From b\r\n>>From c\r\n> From d\r\n>Fro\r\n"
	    ">From\r\n>\r\n>>\r\nFrom e\r\n>Fromage\r\nx>From f\r\nFrom \r\n");
	xf_expect(">From a\r\n>>>", MBOX_MBOXRD, 1, -1, "From a\r\n>>>\r\n");
	xf_expect(">>From x\r\n", MBOX_MBOXRD, 1, -1, ">From x\r\n");
}

static void
t_transform_long_gt_run(void **state)
{
	struct bytes	in = { NULL, 0, 0 }, want = { NULL, 0, 0 };
	int		i;

	(void)state;
	for (i = 0; i < 300; i++)
		b_str(&in, ">");
	b_str(&want, in.p + 1);
	b_str(&in, "From x\n");
	b_str(&want, "From x\r\n");
	for (i = 0; i < 300; i++)
		b_str(&in, ">");
	b_str(&want, in.p + in.len - 300);
	b_str(&in, "Frog\n");
	b_str(&want, "Frog\r\n");
	xf_expect(in.p, MBOX_MBOXRD, 1, -1, want.p);
	free(in.p);
	free(want.p);
}

static void
t_transform_top(void **state)
{
	const char	*m = "A: 1\nB: 2\n\nl1\nl2\n.l3\nl4";

	(void)state;
	xf_expect(m, MBOX_MBOXO, 1, 0, "A: 1\r\nB: 2\r\n\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 1, "A: 1\r\nB: 2\r\n\r\nl1\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 3,
	    "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n..l3\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 4,
	    "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n..l3\r\nl4\r\n");
	xf_expect(m, MBOX_MBOXO, 1, 1000,
	    "A: 1\r\nB: 2\r\n\r\nl1\r\nl2\r\n..l3\r\nl4\r\n");
	/* no header/body separator: all of it is header */
	xf_expect("A: 1\nB: 2\n", MBOX_MBOXO, 1, 0, "A: 1\r\nB: 2\r\n");
	xf_expect("A: 1\r\n\r\nb\r\n", MBOX_MBOXO, 1, 0, "A: 1\r\n\r\n");
	xf_expect("\nbody\n", MBOX_MBOXO, 1, 0, "\r\n");
	xf_expect("\nbody\nmore\n", MBOX_MBOXO, 1, 1, "\r\nbody\r\n");
	xf_expect("A: 1\r\n\r\n", MBOX_MBOXO, 1, 0, "A: 1\r\n\r\n");
}

/* Random bytes from a small alphabet that hits every special case. */
static void
t_transform_random(void **state)
{
	static const char	*atoms[] = { "\n", "\r", "\r\n", ">", "From ",
	    ".", "x", "From", ">>", "\0" };
	struct bytes		 in, whole, bytewise;
	unsigned		 seed = 1;
	size_t			 k, c;
	int			 round, f, stuff;
	long			 lines;

	(void)state;
	for (round = 0; round < 400; round++) {
		memset(&in, 0, sizeof(in));
		b_add(&in, "", 0);
		k = (size_t)rand_r(&seed) % 60;
		while (k-- > 0) {
			c = (size_t)rand_r(&seed) % 10;
			b_add(&in, atoms[c], c == 9 ? 1 : strlen(atoms[c]));
		}
		f = round % 2 ? MBOX_MBOXRD : MBOX_MBOXO;
		stuff = round % 3 != 0;
		lines = round % 5 == 0 ? (long)(rand_r(&seed) % 4) : -1;
		whole = xf_run(in.p, in.len, f, stuff, lines, in.len + 1,
		    in.len * 3 + 8);
		bytewise = xf_run(in.p, in.len, f, stuff, lines, 1, 1);
		assert_int_equal(whole.len, bytewise.len);
		assert_memory_equal(whole.p, bytewise.p, whole.len);
		assert_int_equal(xf_count(in.p, in.len, f, stuff, lines),
		    whole.len);
		if (lines < 0 && stuff)
			assert_int_equal(xf_count(in.p, in.len, f, 0, -1),
			    whole.len - stuffed(&whole));
		free(in.p);
		free(whole.p);
		free(bytewise.p);
	}
}

/* ------------------------------------------------------------------ */
/* Fixtures */

struct fixture {
	const char	*name;
	const char	*data;
	size_t		 len;		/* 0: strlen(data) */
	int		 format;
	size_t		 nmsgs;
	const char	*msgs[4];	/* RETR bytes, stuffed */
};

#define FROM1	"From alice@example.org Mon Jan  1 00:00:00 2024"
#define FROM2	"From bob@example.org Tue Jan  2 00:00:00 2024"

static const struct fixture fixtures[] = {
	{ "two messages",
	  FROM1 "\nSubject: one\n\nbody1\n\n" FROM2 "\nSubject: two\n\nbody2\n\n",
	  0, MBOX_MBOXO, 2,
	  { "Subject: one\r\n\r\nbody1\r\n", "Subject: two\r\n\r\nbody2\r\n" } },
	{ "text starting \"From \" without a blank line before it",
	  FROM1 "\nS: x\n\nline\nFrom me to you\nmore\n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\nline\r\nFrom me to you\r\nmore\r\n" } },
	{ "text starting \"From \" after a blank line is no From_ line",
	  FROM1 "\nS: x\n\nline\n\nFrom here on, we go\nmore\n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\nline\r\n\r\nFrom here on, we go\r\nmore\r\n" } },
	{ "a From_ line after a blank line starts a message",
	  FROM1 "\nS: x\n\nline\n\n" FROM2 "\nmore\n",
	  0, MBOX_MBOXO, 2,
	  { "S: x\r\n\r\nline\r\n", "more\r\n" } },
	{ "a From_ line without a blank line before it starts one too",
	  FROM1 "\nS: 1\n\none\n" FROM2 "\nS: 2\n\ntwo\n\n",
	  0, MBOX_MBOXO, 2,
	  { "S: 1\r\n\r\none\r\n", "S: 2\r\n\r\ntwo\r\n" } },
	{ ">From mboxo",
	  FROM1 "\nS: x\n\n>From quoted\n>>From double\n>Fromage\n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\n>From quoted\r\n>>From double\r\n>Fromage\r\n" } },
	{ ">From mboxrd",
	  FROM1 "\nS: x\n\n>From quoted\n>>From double\n>Fromage\n",
	  0, MBOX_MBOXRD, 1,
	  { "S: x\r\n\r\nFrom quoted\r\n>From double\r\n>Fromage\r\n" } },
	{ "CRLF file",
	  FROM1 "\r\nS: x\r\n\r\nb\r\n\r\n" FROM2 "\r\nS: y\r\n\r\n.c\r\n\r\n",
	  0, MBOX_MBOXO, 2,
	  { "S: x\r\n\r\nb\r\n", "S: y\r\n\r\n..c\r\n" } },
	{ "last message without a newline",
	  FROM1 "\nS: x\n\nb\n\n" FROM2 "\nS: y\n\nlast",
	  0, MBOX_MBOXO, 2,
	  { "S: x\r\n\r\nb\r\n", "S: y\r\n\r\nlast\r\n" } },
	{ "file ends without the separator",
	  FROM1 "\nS: x\n\nb\n",
	  0, MBOX_MBOXO, 1, { "S: x\r\n\r\nb\r\n" } },
	{ "NUL bytes",
	  FROM1 "\nS: x\n\na\0b\n\0\n\n" FROM2 "\n\0\n",
	  sizeof(FROM1 "\nS: x\n\na\0b\n\0\n\n" FROM2 "\n\0\n") - 1,
	  MBOX_MBOXO, 2,
	  { NULL, NULL } },
	{ "lines starting with a dot",
	  FROM1 "\nS: x\n\n.hidden\n..two\n.\n. \n",
	  0, MBOX_MBOXO, 1,
	  { "S: x\r\n\r\n..hidden\r\n...two\r\n..\r\n.. \r\n" } },
	{ "blank lines before the separator are content",
	  FROM1 "\n\nbody\n\n\n\n" FROM2 "\nS: y\n",
	  0, MBOX_MBOXO, 2,
	  { "\r\nbody\r\n\r\n\r\n", "S: y\r\n" } },
	{ "empty messages",
	  FROM1 "\n\n" FROM2 "\n\n" FROM1 "",
	  0, MBOX_MBOXO, 3, { "", "", "" } },
	{ "lone CR",
	  FROM1 "\nS: x\r y\n\nz\r",
	  0, MBOX_MBOXO, 1, { "S: x\r y\r\n\r\nz\r\r\n" } },
	{ "a From_ line right after a From_ line: an empty message",
	  FROM1 "\n" FROM2 "\n\nb\n",
	  0, MBOX_MBOXO, 2, { "", "\r\nb\r\n" } },
	{ "\"From\" without a space after a blank line is content",
	  FROM1 "\nS: x\n\nFrom\nFromage\n\nFrom:x\n",
	  0, MBOX_MBOXO, 1, { "S: x\r\n\r\nFrom\r\nFromage\r\n\r\nFrom:x\r\n" } },
	{ "CRLF blank line before an LF From_",
	  FROM1 "\nS: x\n\r\nb\r\n\r\n" FROM2 "\nc\n",
	  0, MBOX_MBOXO, 2, { "S: x\r\n\r\nb\r\n", "c\r\n" } },
};

static void
t_fixtures(void **state)
{
	const struct fixture	*fx;
	struct mbox		*m;
	struct bytes		 got;
	const char		*path;
	size_t			 i, j, len;

	(void)state;
	for (i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++) {
		fx = &fixtures[i];
		len = fx->len != 0 ? fx->len : strlen(fx->data);
		path = mkfile(fx->data, len);
		m = open_ok(path, fx->format);
		if (mbox_ops.count(m) != fx->nmsgs)
			fail_msg("%s: %zu messages, want %zu", fx->name,
			    mbox_ops.count(m), fx->nmsgs);
		for (j = 0; j < fx->nmsgs; j++) {
			if (fx->msgs[j] == NULL)
				continue;
			got = retr(m, j, -1, 3);
			if (got.len != strlen(fx->msgs[j]) ||
			    memcmp(got.p, fx->msgs[j], got.len) != 0)
				fail_msg("%s: message %zu is \"%s\"", fx->name,
				    j, got.p);
			free(got.p);
		}
		check_sizes(m);
		mbox_ops.close(m);
		check_against_ref(path, fx->data, len, fx->format);
	}
}

static void
t_nul(void **state)
{
	static const char	data[] = FROM1 "\nS: x\n\na\0b\n";
	static const char	want[] = "S: x\r\n\r\na\0b\r\n";
	struct mbox		*m;
	struct bytes		 got;

	(void)state;
	m = open_ok(mkfile(data, sizeof(data) - 1), MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 1);
	got = retr(m, 0, -1, 4096);
	assert_int_equal(got.len, sizeof(want) - 1);
	assert_memory_equal(got.p, want, got.len);
	assert_int_equal(mbox_ops.size(m, 0), sizeof(want) - 1);
	free(got.p);
	mbox_ops.close(m);
}

static void
t_empty_and_missing(void **state)
{
	struct mbox	*m;
	unsigned char	 del[1] = { 1 };

	(void)state;
	m = open_ok(mkfile("", 0), MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 0);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);

	m = open_ok(newpath(), MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 0);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
}

static void
t_corrupt(void **state)
{
	static const char	*bad[] = { "Subject: x\n\nbody\n",
	    "\n" FROM1 "\n\nb\n", "From\n", "from a\n", "From", " From a\n",
	    ">From a\n", "\r\nFrom a\n" };
	struct conf		 c;
	size_t			 i;

	(void)state;
	test_conf(&c, MBOX_MBOXO);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(open_status(mkfile(bad[i], strlen(bad[i])),
		    &c), MD_PERM);
	/* a directory is no mailbox either */
	assert_int_equal(open_status(tmpdir, &c), MD_PERM);
}

static void
t_top(void **state)
{
	static const char	data[] = FROM1 "\nA: 1\nB: 2\n\nl1\n.l2\nl3\n\n"
	    FROM2 "\nA: 1\nB: 2\n\n" FROM1 "\nC: 3\n";
	struct mbox		*m;
	struct bytes		 b;

	(void)state;
	m = open_ok(mkfile(data, sizeof(data) - 1), MBOX_MBOXO);
	assert_int_equal(mbox_ops.count(m), 3);
	b = retr(m, 0, 0, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\n");
	free(b.p);
	b = retr(m, 0, 1, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n");
	free(b.p);
	b = retr(m, 0, 2, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\n");
	free(b.p);
	b = retr(m, 0, 100, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	free(b.p);
	/* the separator is not the header/body blank line */
	b = retr(m, 1, 0, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n");
	free(b.p);
	b = retr(m, 2, 3, 5);
	assert_string_equal(b.p, "C: 3\r\n");
	free(b.p);
	/* RETR after TOP starts afresh */
	b = retr(m, 0, -1, 5);
	assert_string_equal(b.p, "A: 1\r\nB: 2\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	free(b.p);
	mbox_ops.close(m);
}

/*
 * Random mailboxes, some far larger than a read block and with lines
 * longer than one, checked against the reference parser.
 */
static void
gen_random(struct bytes *b, unsigned *seed, int crlf, size_t nmsgs,
    int huge)
{
	static const char	*lines[] = { "Subject: hi", "From x", ">From y",
	    ">>From z", ".dot", ".", "", "", "plain text line", "From",
	    "\r", "Status: RO", " continued", "X-UID: 5", ">", "From  2",
	    "From q@example.org Tue Jan  2 00:00:00 2024",
	    ">From q@example.org Tue Jan  2 00:00:00 2024" };
	const char		*eol = crlf ? "\r\n" : "\n";
	size_t			 i, k, n, j;

	for (i = 0; i < nmsgs; i++) {
		b_printf(b, "From u%zu@example.org Mon Jan  1 00:00:00 2024%s",
		    i, eol);
		n = (size_t)rand_r(seed) % 30;
		for (k = 0; k < n; k++) {
			j = (size_t)rand_r(seed) % (sizeof(lines) /
			    sizeof(lines[0]) + 1);
			if (j == sizeof(lines) / sizeof(lines[0])) {
				/* a long line straddling read blocks */
				size_t	len = huge ? (size_t)rand_r(seed) %
				    (300 * 1024) : (size_t)rand_r(seed) % 200;

				while (len-- > 0)
					b_add(b, len % 61 ? "q" : "\r", 1);
			} else
				b_str(b, lines[j]);
			b_str(b, eol);
		}
		if (i + 1 < nmsgs || rand_r(seed) % 2)
			b_str(b, eol);
	}
}

static void
t_random_mailboxes(void **state)
{
	struct bytes	b;
	unsigned	seed = 7;
	int		round;

	(void)state;
	for (round = 0; round < 24; round++) {
		memset(&b, 0, sizeof(b));
		b_add(&b, "", 0);
		gen_random(&b, &seed, round % 2, 1 + rand_r(&seed) % 40,
		    round % 4 == 3);
		/* sometimes the last line without a newline */
		if (round % 3 == 0 && b.len > 0 && b.p[b.len - 1] == '\n')
			b.len--;
		check_against_ref(mkfile(b.p, b.len), b.p, b.len,
		    round % 5 == 0 ? MBOX_MBOXRD : MBOX_MBOXO);
		free(b.p);
	}
}

/*
 * The tail message T placed so that a read boundary falls at each of its
 * first bytes in turn: in the separator, the From_ line, a volatile
 * header, a header line holding a lone CR.  Contents and UID must not
 * change.
 */
#define TAIL	FROM2 "\r\nStatus: RO\r\nX-A: 0123456789abcdef\rb\r\n" \
	"Subject: t\r\n\r\nbody\r\n"

static void
t_read_boundaries(void **state)
{
	struct bytes	 b;
	struct mbox	*m;
	const char	*path;
	char		 want[25];
	size_t		 k, fill;

	(void)state;
	m = open_ok(mkfile(TAIL, strlen(TAIL)), MBOX_MBOXO);
	memcpy(want, mbox_ops.uid(m, 0), sizeof(want));
	mbox_ops.close(m);
	for (k = 0; k <= strlen(TAIL); k++) {
		memset(&b, 0, sizeof(b));
		b_str(&b, FROM1 "\nS: x\n\n");
		/* T starts at MBOX_READ_CHUNK - k, after a one-byte blank line */
		fill = MBOX_READ_CHUNK - k - 1 - b.len;
		while (fill > 100) {
			b_str(&b, "0123456789012345678901234567890123456789"
			    "01234567890123456789012345678901234567890123456\n");
			fill -= 88;
		}
		while (fill-- > 1)
			b_str(&b, "z");
		b_str(&b, "\n\n");
		assert_int_equal(b.len, MBOX_READ_CHUNK - k);
		b_str(&b, TAIL);
		path = mkfile(b.p, b.len);
		check_against_ref(path, b.p, b.len, MBOX_MBOXO);
		m = open_ok(path, MBOX_MBOXO);
		assert_int_equal(mbox_ops.count(m), 2);
		assert_string_equal(mbox_ops.uid(m, 1), want);
		mbox_ops.close(m);
		unlink(path);
		free(b.p);
	}
}

/* ------------------------------------------------------------------ */
/* UIDs */

static int
uid_ok(const char *u)
{
	size_t	i;

	for (i = 0; u[i] != '\0'; i++)
		if (!((u[i] >= '0' && u[i] <= '9') ||
		    (u[i] >= 'a' && u[i] <= 'f')))
			return 0;
	return i == 24;
}

/* The UIDs of every message, as one malloc'd array of 25-byte strings. */
static char *
uids(const char *path, size_t *n)
{
	struct mbox	*m = open_ok(path, MBOX_MBOXO);
	char		*v;
	size_t		 i;

	*n = mbox_ops.count(m);
	v = calloc(*n + 1, 25);
	assert_non_null(v);
	for (i = 0; i < *n; i++) {
		assert_true(uid_ok(mbox_ops.uid(m, i)));
		memcpy(v + 25 * i, mbox_ops.uid(m, i), 25);
	}
	mbox_ops.close(m);
	return v;
}

static int
cmp_uid(const void *a, const void *b)
{
	return strcmp(a, b);
}

static void
assert_unique(char *v, size_t n)
{
	size_t	i;

	qsort(v, n, 25, cmp_uid);
	for (i = 1; i < n; i++)
		assert_string_not_equal(v + 25 * (i - 1), v + 25 * i);
}

#define MSG_A	FROM1 "\nSubject: a\nMessage-ID: <1@x>\n\nhello\n\n"
#define MSG_A_STATUS	FROM1 "\nSubject: a\nStatus: RO\nX-Status: A\n" \
	"X-UID: 17\n  continued\nX-Keywords: $x\nMessage-ID: <1@x>\n\nhello\n\n"
/* header lines ended by CRLF, the same body */
#define MSG_A_CRLF	FROM1 "\r\nSubject: a\r\nMessage-ID: <1@x>\r\n\r\n" \
	"hello\n\n"
#define MSG_B	FROM2 "\nSubject: b\n\nhello\n\n"

static void
t_uid_basic(void **state)
{
	static const char	data[] = MSG_A MSG_B MSG_A MSG_A MSG_B;
	const char		*path;
	char			*u1, *u2, *u3;
	size_t			 n, n2;

	(void)state;
	path = mkfile(data, sizeof(data) - 1);
	u1 = uids(path, &n);
	assert_int_equal(n, 5);
	u2 = uids(path, &n2);
	assert_int_equal(n2, 5);
	/* stable across opens */
	assert_memory_equal(u1, u2, 25 * n);
	/* adding to the file keeps the earlier UIDs */
	write_file(path, MSG_A MSG_B MSG_A MSG_A MSG_B MSG_A,
	    sizeof(MSG_A MSG_B MSG_A MSG_A MSG_B MSG_A) - 1);
	u3 = uids(path, &n2);
	assert_int_equal(n2, 6);
	assert_memory_equal(u1, u3, 25 * n);
	/* identical messages still get distinct UIDs */
	assert_unique(u3, n2);
	free(u1);
	free(u2);
	free(u3);
}

static void
t_uid_volatile_headers(void **state)
{
	char	*a, *b, *c, *d;
	size_t	 n;

	(void)state;
	a = uids(mkfile(MSG_A MSG_B, sizeof(MSG_A MSG_B) - 1), &n);
	assert_int_equal(n, 2);
	b = uids(mkfile(MSG_A_STATUS MSG_B, sizeof(MSG_A_STATUS MSG_B) - 1),
	    &n);
	assert_int_equal(n, 2);
	assert_memory_equal(a, b, 50);
	/* nor does the header's line-end style */
	c = uids(mkfile(MSG_A_CRLF MSG_B, sizeof(MSG_A_CRLF MSG_B) - 1), &n);
	assert_memory_equal(a, c, 50);
	/* but a different body length does */
	d = uids(mkfile(FROM1 "\nSubject: a\nMessage-ID: <1@x>\n\nhello!\n\n"
	    MSG_B, sizeof(FROM1 "\nSubject: a\nMessage-ID: <1@x>\n\nhello!\n\n"
	    MSG_B) - 1), &n);
	assert_memory_not_equal(a, d, 25);
	assert_memory_equal(a + 25, d + 25, 25);
	free(a);
	free(b);
	free(c);
	free(d);
}

static void
t_big_mailbox(void **state)
{
	struct bytes	 b = { NULL, 0, 0 };
	struct mbox	*m;
	const char	*path;
	char		*u;
	size_t		 i, n;
	struct timespec	 t0, t1;

	(void)state;
	b_add(&b, "", 0);
	for (i = 0; i < 10000; i++) {
		b_printf(&b, "From u@example.org Mon Jan  1 00:00:00 2024\n"
		    "Subject: message %zu\n\nbody %zu\n", i, i);
		/* identical twins every 100 messages */
		if (i % 100 == 0)
			b_str(&b, "\nFrom u@example.org Mon Jan  1 00:00:00 "
			    "2024\nSubject: twin\n\nsame\n");
		b_str(&b, "\n");
	}
	path = mkfile(b.p, b.len);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	m = open_ok(path, MBOX_MBOXO);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(mbox_ops.count(m), 10100);
	assert_true(t1.tv_sec - t0.tv_sec < 5);
	assert_int_equal(mbox_ops.size(m, 9), strlen("Subject: message 8\r\n"
	    "\r\nbody 8\r\n"));
	check_sizes(m);
	mbox_ops.close(m);
	u = uids(path, &n);
	assert_int_equal(n, 10100);
	assert_unique(u, n);
	free(u);
	free(b.p);
}

/* ------------------------------------------------------------------ */
/* UPDATE */

#define M1	FROM1 "\nSubject: 1\n\none\n\n"
#define M2	FROM2 "\nSubject: 2\n\ntwo\n>From x\n\n"
#define M3	FROM1 "\nSubject: 3\n\nthree\n\n"
#define M4	FROM2 "\nSubject: 4\n\nfour"

static void
update_case(const char *data, const unsigned char *del, const char *want)
{
	const char	*path = mkfile(data, strlen(data));
	struct mbox	*m = open_ok(path, MBOX_MBOXO);
	struct bytes	 got;

	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	got = read_file(path);
	assert_string_equal(got.p, want);
	assert_int_equal(got.len, strlen(want));
	free(got.p);
}

static void
t_update_delete(void **state)
{
	static const unsigned char	d1[] = { 0, 1, 0, 0 };
	static const unsigned char	d2[] = { 1, 0, 1, 0 };
	static const unsigned char	d3[] = { 0, 0, 0, 1 };
	static const unsigned char	d4[] = { 1, 1, 1, 1 };
	static const unsigned char	d5[] = { 1, 0, 0, 0 };

	(void)state;
	update_case(M1 M2 M3 M4, d1, M1 M3 M4);
	update_case(M1 M2 M3 M4, d2, M2 M4);
	update_case(M1 M2 M3 M4, d3, M1 M2 M3);
	update_case(M1 M2 M3 M4, d4, "");
	update_case(M1 M2 M3 M4, d5, M2 M3 M4);
}

static void
append(const char *path, const char *s)
{
	int	fd = open(path, O_WRONLY | O_APPEND);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, s, strlen(s)), (ssize_t)strlen(s));
	close(fd);
}

static void
t_update_appended(void **state)
{
	static const unsigned char	del[] = { 1, 0, 1 };
	const char			*path = mkfile(M1 M2 M3, strlen(M1 M2 M3));
	struct mbox			*m = open_ok(path, MBOX_MBOXO);
	struct bytes			 got;

	(void)state;
	append(path, M4);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	got = read_file(path);
	assert_string_equal(got.p, M2 M4);
	free(got.p);
}

/* Fixed-format alerts: every one exactly as long as the others. */
#define ALERT(n) "From monitor@example.org Mon Jan  1 00:00:0" #n " 2024\n" \
	"Subject: alert " #n "\n\ndisk " #n " is full\n\n"

/*
 * Another program expunges the first message in place (mutt's sync:
 * rewrite from the first change, truncate) and mail of the same length
 * arrives: every later message now sits where the one before it was,
 * From_ lines and all.  UPDATE must not take the offsets' word for it:
 * the client's DELE 2 (or RETR 1-3 with expire 0) would remove messages
 * it never saw.  Nothing is removed.
 */
static void
t_update_shifted(void **state)
{
	static const unsigned char	 dele2[] = { 0, 1, 0 };
	static const unsigned char	 all[] = { 1, 1, 1 };
	static const char		 after[] = ALERT(2) ALERT(3) ALERT(4)
					    ALERT(5);
	const unsigned char		*del[] = { dele2, all };
	const char			*path;
	struct mbox			*m;
	struct bytes			 got;
	size_t				 i;

	(void)state;
	for (i = 0; i < 2; i++) {
		path = mkfile(ALERT(1) ALERT(2) ALERT(3),
		    strlen(ALERT(1) ALERT(2) ALERT(3)));
		m = open_ok(path, MBOX_MBOXO);
		write_file(path, after, strlen(after));
		assert_int_equal(mbox_ops.update(m, del[i]), MD_CHANGED);
		mbox_ops.close(m);
		got = read_file(path);
		assert_string_equal(got.p, after);
		free(got.p);
	}
}

/*
 * UPDATE skips rereading the messages it removes only when the file has
 * not been written since the open: its ctime says so, which a program
 * can't set back as it can the mtime.  A same-length rewrite of a body
 * with the mtime restored must still be caught.
 */
static void
t_update_untouched(void **state)
{
	static const unsigned char	 dele2[] = { 0, 1, 0 };
	static const char		 mb[] = ALERT(1) ALERT(2) ALERT(3);
	const struct timespec		 tick = { 0, 30 * 1000 * 1000 };
	struct timespec			 times[2];
	struct stat			 st;
	const char			*path, *digit;
	struct mbox			*m;
	struct bytes			 got;
	int				 fd;

	(void)state;
	path = mkfile(mb, strlen(mb));
	/* let the file's ctime fall a clock tick behind the open */
	nanosleep(&tick, NULL);
	m = open_ok(path, MBOX_MBOXO);
	assert_int_equal(mbox_untouched(m), 1);
	/* "disk 2 is full" becomes "disk 7 is full", mtime put back */
	digit = strstr(mb, "disk 2") + 5;
	assert_int_not_equal((fd = open(path, O_RDWR)), -1);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(pwrite(fd, "7", 1, digit - mb), 1);
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(futimens(fd, times), 0);
	close(fd);
	assert_int_equal(mbox_untouched(m), 0);
	assert_int_equal(mbox_ops.update(m, dele2), MD_CHANGED);
	mbox_ops.close(m);
	got = read_file(path);
	assert_int_equal(got.len, strlen(mb));
	assert_memory_equal(got.p, mb, (size_t)(digit - mb));
	assert_int_equal(got.p[digit - mb], '7');
	free(got.p);
}

static void
t_update_changed(void **state)
{
	static const unsigned char	 del[] = { 1, 0, 0 };
	static const char		*rewrites[] = {
	    M1 M3,			/* shrank */
	    "X" M2 M3 M1,		/* no From_ where a message was */
	    M1 M2 M3 "garbage\n",	/* appended text that is no message */
	};
	const char			*path;
	struct mbox			*m;
	struct bytes			 got;
	char				 other[PATH_MAX];
	size_t				 i;

	(void)state;
	for (i = 0; i < sizeof(rewrites) / sizeof(rewrites[0]); i++) {
		path = mkfile(M1 M2 M3, strlen(M1 M2 M3));
		m = open_ok(path, MBOX_MBOXO);
		/* rewrite in place, as a local mail reader might */
		write_file(path, rewrites[i], strlen(rewrites[i]));
		assert_int_equal(mbox_ops.update(m, del), MD_CHANGED);
		mbox_ops.close(m);
		got = read_file(path);
		assert_string_equal(got.p, rewrites[i]);
		free(got.p);
		snprintf(other, sizeof(other), "%s.lock", path);
		assert_int_equal(access(other, F_OK), -1);
	}
	/* replaced by rename: a different inode */
	path = mkfile(M1 M2 M3, strlen(M1 M2 M3));
	m = open_ok(path, MBOX_MBOXO);
	snprintf(other, sizeof(other), "%s.new", path);
	write_file(other, M1 M2 M3, strlen(M1 M2 M3));
	assert_int_equal(rename(other, path), 0);
	assert_int_equal(mbox_ops.msg_open(m, 0, -1), MD_CHANGED);
	assert_int_equal(mbox_ops.update(m, del), MD_CHANGED);
	mbox_ops.close(m);
	got = read_file(path);
	assert_string_equal(got.p, M1 M2 M3);
	free(got.p);
}

/*
 * The prefetch hint reads ahead but serves nothing from it: a body changed
 * in place after the hint (same length, the mtime put back, so that no
 * check can see it) is sent as it is now.  A hint while a message is being
 * streamed leaves that stream whole.
 */
static void
t_prefetch(void **state)
{
	/* a reader marks message 2 read: no part of its UID changes */
	static const char	 before[] = M1 FROM2 "\nSubject: 2\nStatus: O\n"
	    "\ntwo\n>From x\n\n" M3, after[] = M1 FROM2 "\nSubject: 2\n"
	    "Status: R\n\ntwo\n>From x\n\n" M3;
	const char		*path;
	struct mbox		*m;
	struct bytes		 got, part;
	struct stat		 st;
	struct timespec		 times[2];
	char			 out[8];
	ssize_t			 n;

	(void)state;
	assert_int_equal(strlen(before), strlen(after));
	path = mkfile(before, strlen(before));
	assert_int_equal(stat(path, &st), 0);
	m = open_ok(path, MBOX_MBOXO);
	got = retr(m, 0, -1, 4096);
	free(got.p);
	mbox_ops.prefetch(m, 1);
	write_file(path, after, strlen(after));
	times[0] = st.st_atim;
	times[1] = st.st_mtim;
	assert_int_equal(utimensat(AT_FDCWD, path, times, 0), 0);
	got = retr(m, 1, -1, 4096);
	assert_string_equal(got.p, "Subject: 2\r\nStatus: R\r\n\r\ntwo\r\n"
	    ">From x\r\n");
	free(got.p);

	/* out of range, and in the middle of a stream: nothing happens */
	mbox_ops.prefetch(m, 3);
	got = retr(m, 0, -1, 4096);
	memset(&part, 0, sizeof(part));
	b_add(&part, "", 0);
	assert_int_equal(mbox_ops.msg_open(m, 0, -1), MD_OK);
	assert_int_equal(mbox_ops.msg_read(m, out, 4), 4);
	b_add(&part, out, 4);
	mbox_ops.prefetch(m, 2);
	while ((n = mbox_ops.msg_read(m, out, sizeof(out))) > 0)
		b_add(&part, out, (size_t)n);
	assert_int_equal(n, 0);
	assert_string_equal(part.p, got.p);
	free(got.p);
	free(part.p);
	mbox_ops.close(m);
	unlink(path);
}

static void
t_update_nothing(void **state)
{
	static const unsigned char	 del[] = { 0, 0, 0 };
	struct timespec			 old[2] = { { 1000000, 0 },
	    { 1000000, 0 } };
	const char			*path = mkfile(M1 M2 M3,
	    strlen(M1 M2 M3));
	struct mbox			*m;
	struct stat			 st;
	struct bytes			 got;

	(void)state;
	assert_int_equal(utimensat(AT_FDCWD, path, old, 0), 0);
	m = open_ok(path, MBOX_MBOXO);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	mbox_ops.close(m);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mtime, 1000000);
	got = read_file(path);
	assert_string_equal(got.p, M1 M2 M3);
	free(got.p);
}

static void
t_msg_open_after_shrink(void **state)
{
	const char	*path = mkfile(M1 M2 M3, strlen(M1 M2 M3));
	struct mbox	*m = open_ok(path, MBOX_MBOXO);

	(void)state;
	assert_int_equal(truncate(path, 10), 0);
	assert_int_equal(mbox_ops.msg_open(m, 2, -1), MD_CHANGED);
	mbox_ops.close(m);
}

/* ------------------------------------------------------------------ */
/* Locks */

static void
t_session_lock(void **state)
{
	const char	*path = mkfile(M1, strlen(M1));
	struct mbox	*m, *m2;
	struct conf	 c;

	(void)state;
	test_conf(&c, MBOX_MBOXO);
	m = open_ok(path, MBOX_MBOXO);
	assert_int_equal(mbox_open(path, &c, &m2), MD_INUSE);
	assert_null(m2);
	mbox_ops.close(m);
	m = open_ok(path, MBOX_MBOXO);
	mbox_ops.close(m);
}

static void
t_no_lock_left(void **state)
{
	static const unsigned char	 del[] = { 1, 0 };
	const char			*path = mkfile(M1 M2, strlen(M1 M2));
	struct mbox			*m;
	char				 lock[PATH_MAX];

	(void)state;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	m = open_ok(path, MBOX_MBOXO);
	assert_int_equal(access(lock, F_OK), -1);
	assert_int_equal(mbox_ops.update(m, del), MD_OK);
	assert_int_equal(access(lock, F_OK), -1);
	mbox_ops.close(m);
	assert_int_equal(access(lock, F_OK), -1);
	/* and no temporary link file either */
	{
		DIR		*d = opendir(tmpdir);
		struct dirent	*e;

		assert_non_null(d);
		while ((e = readdir(d)) != NULL)
			assert_null(strstr(e->d_name, ".lk"));
		closedir(d);
	}
}

static void
t_dotlock(void **state)
{
	const char	*path = mkfile(M1, strlen(M1));
	char		 lock[PATH_MAX];
	struct timespec	 old[2] = { { 0, 0 }, { 0, 0 } };
	struct timespec	 t0, t1;
	struct conf	 c;

	(void)state;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	test_conf(&c, MBOX_MBOXO);
	/* a fresh dotlock: wait lock_timeout, then [SYS/TEMP] */
	write_file(lock, "1\n", 2);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(open_status(path, &c), MD_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 4);
	assert_int_equal(access(lock, F_OK), 0);
	/* only fcntl configured: the dotlock is not looked at */
	c.mbox_locks[0] = LOCK_FCNTL;
	c.nlocks = 1;
	assert_int_equal(open_status(path, &c), MD_OK);
	/* a stale one is broken */
	test_conf(&c, MBOX_MBOXO);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - DOTLOCK_STALE_AGE - 10;
	assert_int_equal(utimensat(AT_FDCWD, lock, old, 0), 0);
	assert_int_equal(open_status(path, &c), MD_OK);
	assert_int_equal(access(lock, F_OK), -1);
}

/*
 * A dotlock whose process is gone (a session or an MDA killed holding
 * it) is broken at once, not after DOTLOCK_STALE_AGE; one whose process
 * lives is waited for.
 */
static void
t_dotlock_dead_owner(void **state)
{
	const char	*path = mkfile(M1, strlen(M1));
	char		 lock[PATH_MAX], pid[32];
	struct conf	 c;
	pid_t		 dead;
	int		 st;

	(void)state;
	snprintf(lock, sizeof(lock), "%s.lock", path);
	test_conf(&c, MBOX_MBOXO);
	if ((dead = fork()) == 0)
		_exit(0);
	assert_int_equal(waitpid(dead, &st, 0), dead);
	snprintf(pid, sizeof(pid), "%ld\n", (long)dead);
	write_file(lock, pid, strlen(pid));
	c.lock_timeout = 30;
	assert_int_equal(open_status(path, &c), MD_OK);
	assert_int_equal(access(lock, F_OK), -1);
	/* alive: a lock like any other */
	snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	write_file(lock, pid, strlen(pid));
	c.lock_timeout = 1;
	assert_int_equal(open_status(path, &c), MD_TEMP);
	assert_int_equal(access(lock, F_OK), 0);
	assert_int_equal(unlink(lock), 0);
}

static void
t_fcntl_held(void **state)
{
	const char	*path = mkfile(M1, strlen(M1));
	struct flock	 fl;
	struct timespec	 t0, t1;
	struct conf	 c;
	pid_t		 pid;
	int		 ready[2], hold[2], fd, st;
	char		 ch;

	(void)state;
	assert_int_equal(pipe(ready), 0);
	assert_int_equal(pipe(hold), 0);
	if ((pid = fork()) == 0) {
		close(ready[0]);
		close(hold[1]);
		memset(&fl, 0, sizeof(fl));
		fl.l_type = F_WRLCK;
		fl.l_whence = SEEK_SET;
		fd = open(path, O_RDWR);
		if (fd == -1 || fcntl(fd, F_SETLK, &fl) == -1)
			_exit(1);
		(void)write(ready[1], "x", 1);
		/* hold the lock until the parent closes its end */
		(void)read(hold[0], &ch, 1);
		_exit(0);
	}
	assert_true(pid > 0);
	close(ready[1]);
	close(hold[0]);
	assert_int_equal(read(ready[0], &ch, 1), 1);
	test_conf(&c, MBOX_MBOXO);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(open_status(path, &c), MD_TEMP);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec >= 1 && t1.tv_sec - t0.tv_sec < 4);
	close(hold[1]);
	close(ready[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the lock went with the child: open works again */
	assert_int_equal(open_status(path, &c), MD_OK);
}

/* As an unprivileged user in a directory it cannot write: [SYS/TEMP]. */
static void
t_dotlock_dir_not_writable(void **state)
{
	char		 dir[128], path[PATH_MAX];
	struct conf	 c;
	pid_t		 pid;
	int		 st;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/ro", tmpdir);
	assert_int_equal(chmod(tmpdir, 0711), 0);
	assert_int_equal(mkdir(dir, 0755), 0);
	snprintf(path, sizeof(path), "%s/mbox", dir);
	write_file(path, M1, strlen(M1));
	test_conf(&c, MBOX_MBOXO);
	if ((pid = fork()) == 0) {
		if (geteuid() == 0) {
			if (chown(path, 65534, 65534) == -1 ||
			    setgid(65534) == -1 || setuid(65534) == -1)
				_exit(2);
		} else if (chmod(dir, 0555) == -1)
			_exit(2);
		_exit(open_status(path, &c) == MD_TEMP ? 0 : 1);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	chmod(dir, 0755);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	unlink(path);
	rmdir(dir);
}

/* ------------------------------------------------------------------ */

static int
setup(void **state)
{
	(void)state;
	log_init(1, "test_mbox");
	return tmpdir_make("test_mbox");
}

static int
teardown(void **state)
{
	(void)state;
	return tmpdir_remove();
}

int
main(void)
{
	const struct CMUnitTest	tests[] = {
		cmocka_unit_test(t_transform_lines),
		cmocka_unit_test(t_transform_stuff),
		cmocka_unit_test(t_transform_from),
		cmocka_unit_test(t_transform_long_gt_run),
		cmocka_unit_test(t_transform_top),
		cmocka_unit_test(t_transform_random),
		cmocka_unit_test(t_fixtures),
		cmocka_unit_test(t_nul),
		cmocka_unit_test(t_empty_and_missing),
		cmocka_unit_test(t_corrupt),
		cmocka_unit_test(t_top),
		cmocka_unit_test(t_random_mailboxes),
		cmocka_unit_test(t_read_boundaries),
		cmocka_unit_test(t_uid_basic),
		cmocka_unit_test(t_uid_volatile_headers),
		cmocka_unit_test(t_big_mailbox),
		cmocka_unit_test(t_update_delete),
		cmocka_unit_test(t_update_appended),
		cmocka_unit_test(t_update_changed),
		cmocka_unit_test(t_update_shifted),
		cmocka_unit_test(t_update_untouched),
		cmocka_unit_test(t_prefetch),
		cmocka_unit_test(t_update_nothing),
		cmocka_unit_test(t_msg_open_after_shrink),
		cmocka_unit_test(t_session_lock),
		cmocka_unit_test(t_no_lock_left),
		cmocka_unit_test(t_dotlock),
		cmocka_unit_test(t_dotlock_dead_owner),
		cmocka_unit_test(t_fcntl_held),
		cmocka_unit_test(t_dotlock_dir_not_writable),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
