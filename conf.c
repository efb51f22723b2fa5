/*
 * The configuration file reader: "key value" lines into struct conf.
 *
 * The syntax is deliberately small.  A line is blank, a comment ('#' as
 * its first non-blank character) or a key, blanks (spaces or tabs), and a
 * value running to the end of the line minus trailing blanks.  A '#'
 * after the key is part of the value: paths may contain one, and there
 * is no quoting to get wrong.  Every mistake is an error naming
 * file:line, because a daemon that guesses at its configuration fails
 * later and far less clearly.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

/* Where one conf_load is: handlers report errors through it. */
struct conf_parse {
	struct conf	*c;
	const char	*path;
	unsigned long	 lineno;
	int		 listen_seen;	/* first listen line drops the default */
	char		*err;
	size_t		 errlen;
};

struct conf_key {
	const char	*name;
	int		 (*set)(struct conf_parse *, char *);
	int		 repeatable;
};

static int	conf_error(struct conf_parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static int	conf_number(struct conf_parse *, const char *, unsigned long,
		    unsigned long, unsigned *);
static int	conf_path(struct conf_parse *, const char *, char *);
static int	conf_yesno(struct conf_parse *, const char *, int *);
static int	conf_template_ok(const char *);
static int	conf_listen_host(struct conf_parse *, const char *, size_t,
		    int, struct conf_listen *);
static int	conf_set_listen(struct conf_parse *, char *);
static int	conf_set_passwd_file(struct conf_parse *, char *);
static int	conf_set_mailbox(struct conf_parse *, char *);
static int	conf_set_expire(struct conf_parse *, char *);
static int	conf_set_idle_timeout(struct conf_parse *, char *);
static int	conf_set_mbox_format(struct conf_parse *, char *);
static int	conf_set_mbox_locks(struct conf_parse *, char *);
static int	conf_set_lock_timeout(struct conf_parse *, char *);
static int	conf_set_max_sessions(struct conf_parse *, char *);
static int	conf_set_user(struct conf_parse *, char *);
static int	conf_set_apop(struct conf_parse *, char *);
static int	conf_set_apop_file(struct conf_parse *, char *);
static int	conf_line(struct conf_parse *, char *, int *);
static int	conf_read(struct conf_parse *, FILE *);

static const struct conf_key conf_keys[] = {
	{ "listen",		conf_set_listen,	1 },
	{ "passwd_file",	conf_set_passwd_file,	0 },
	{ "mailbox",		conf_set_mailbox,	0 },
	{ "expire",		conf_set_expire,	0 },
	{ "idle_timeout",	conf_set_idle_timeout,	0 },
	{ "mbox_format",	conf_set_mbox_format,	0 },
	{ "mbox_locks",		conf_set_mbox_locks,	0 },
	{ "lock_timeout",	conf_set_lock_timeout,	0 },
	{ "max_sessions",	conf_set_max_sessions,	0 },
	{ "user",		conf_set_user,		0 },
	{ "apop",		conf_set_apop,		0 },
	{ "apop_file",		conf_set_apop_file,	0 },
};
#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

#define CONF_BLANKS	" \t"

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen[0].host, sizeof(c->listen[0].host), "*");
	snprintf(c->listen[0].port, sizeof(c->listen[0].port), "110");
	c->nlisten = 1;
	snprintf(c->passwd_file, sizeof(c->passwd_file), "/etc/pop3d/passwd");
	snprintf(c->mailbox, sizeof(c->mailbox), "/var/mail/%%u");
	c->expire_never = 0;
	c->idle_timeout = DEFAULT_IDLE_TIMEOUT;
	c->mbox_format = MBOX_MBOXO;
	c->mbox_locks[0] = LOCK_FCNTL;
	c->mbox_locks[1] = LOCK_DOTLOCK;
	c->nlocks = 2;
	c->lock_timeout = DEFAULT_LOCK_TIMEOUT;
	c->max_sessions = DEFAULT_MAX_SESSIONS;
	c->apop = 0;
	snprintf(c->apop_file, sizeof(c->apop_file), "/etc/pop3d/apop");
}

/* Format "path:line: message" into the caller's buffer.  Returns -1. */
static int
conf_error(struct conf_parse *p, const char *fmt, ...)
{
	char	msg[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->errlen > 0)
		snprintf(p->err, p->errlen, "%s:%lu: %s", p->path, p->lineno,
		    msg);
	return -1;
}

/* Digits only, no sign or blanks, within [min, max]. */
static int
conf_number(struct conf_parse *p, const char *s, unsigned long min,
    unsigned long max, unsigned *out)
{
	unsigned long	v = 0;
	const char	*q;

	if (*s == '\0')
		return conf_error(p, "missing number");
	for (q = s; *q != '\0'; q++) {
		if (*q < '0' || *q > '9')
			return conf_error(p, "'%s' is not a number", s);
		v = v * 10 + (unsigned long)(*q - '0');
		if (v > max)
			return conf_error(p, "%s is out of range %lu..%lu", s,
			    min, max);
	}
	if (v < min)
		return conf_error(p, "%s is out of range %lu..%lu", s, min,
		    max);
	*out = (unsigned)v;
	return 0;
}

/*
 * Absolute paths only: the daemon changes directory, and a relative path
 * would silently name a different file there.
 */
static int
conf_path(struct conf_parse *p, const char *val, char *dst)
{
	if (val[0] != '/')
		return conf_error(p, "'%s' is not an absolute path", val);
	if (strlen(val) >= PATH_MAX)
		return conf_error(p, "path too long");
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int
conf_yesno(struct conf_parse *p, const char *val, int *out)
{
	if (strcmp(val, "yes") == 0)
		*out = 1;
	else if (strcmp(val, "no") == 0)
		*out = 0;
	else
		return conf_error(p, "'%s': expected yes or no", val);
	return 0;
}

/* Only %u (the user name) and %% may appear in a mailbox template. */
static int
conf_template_ok(const char *t)
{
	for (; *t != '\0'; t++) {
		if (*t != '%')
			continue;
		t++;
		if (*t != 'u' && *t != '%')
			return 0;
	}
	return 1;
}

int
conf_mailbox_path(const char *tmpl, const char *user, char *out,
    size_t outlen)
{
	size_t		 len = 0, n;
	const char	*add;

	if (outlen == 0)
		return -1;
	for (; *tmpl != '\0'; tmpl++) {
		add = tmpl;
		n = 1;
		if (*tmpl == '%') {
			tmpl++;
			if (*tmpl == 'u') {
				add = user;
				n = strlen(user);
			} else if (*tmpl != '%')
				return -1;
			else
				add = tmpl;
		}
		if (n >= outlen - len)
			return -1;
		memcpy(out + len, add, n);
		len += n;
	}
	out[len] = '\0';
	return 0;
}

/*
 * Check the host part of a listen value (hostlen bytes at h, without
 * brackets) and store its numeric form.  Only numbers: a name would make
 * start-up depend on the resolver.
 */
static int
conf_listen_host(struct conf_parse *p, const char *h, size_t hostlen,
    int v6, struct conf_listen *l)
{
	char			host[sizeof(l->host)];
	unsigned char		addr[sizeof(struct in6_addr)];
	int			af = v6 ? AF_INET6 : AF_INET;

	if (hostlen == 0 || hostlen >= sizeof(host))
		return conf_error(p, "bad listen address");
	memcpy(host, h, hostlen);
	host[hostlen] = '\0';
	if (!v6 && strcmp(host, "*") == 0) {
		memcpy(l->host, host, hostlen + 1);
		return 0;
	}
	if (!v6 && strchr(host, ':') != NULL)
		return conf_error(p, "an IPv6 address needs brackets: "
		    "[%s]:port", host);
	if (inet_pton(af, host, addr) != 1 ||
	    inet_ntop(af, addr, l->host, sizeof(l->host)) == NULL)
		return conf_error(p, "'%s' is not a numeric IPv%d address",
		    host, v6 ? 6 : 4);
	return 0;
}

/* host:port, [v6addr]:port or *:port; the first line replaces the default. */
static int
conf_set_listen(struct conf_parse *p, char *val)
{
	struct conf_listen	 l;
	struct conf		*c = p->c;
	const char		*port, *end;
	unsigned		 n;
	int			 i;

	memset(&l, 0, sizeof(l));
	if (val[0] == '[') {
		if ((end = strchr(val, ']')) == NULL || end[1] != ':')
			return conf_error(p, "expected [address]:port");
		if (conf_listen_host(p, val + 1, end - val - 1, 1, &l) == -1)
			return -1;
		port = end + 2;
	} else {
		if ((end = strrchr(val, ':')) == NULL)
			return conf_error(p, "expected address:port");
		if (conf_listen_host(p, val, end - val, 0, &l) == -1)
			return -1;
		port = end + 1;
	}
	if (conf_number(p, port, 1, 65535, &n) == -1)
		return -1;
	snprintf(l.port, sizeof(l.port), "%u", n);
	if (!p->listen_seen)
		c->nlisten = 0;
	p->listen_seen = 1;
	for (i = 0; i < c->nlisten; i++)
		if (strcmp(c->listen[i].host, l.host) == 0 &&
		    strcmp(c->listen[i].port, l.port) == 0)
			return conf_error(p, "listen %s given twice", val);
	if (c->nlisten >= CONF_LISTEN_MAX)
		return conf_error(p, "more than %d listen lines",
		    CONF_LISTEN_MAX);
	c->listen[c->nlisten++] = l;
	return 0;
}

static int
conf_set_passwd_file(struct conf_parse *p, char *val)
{
	return conf_path(p, val, p->c->passwd_file);
}

static int
conf_set_mailbox(struct conf_parse *p, char *val)
{
	if (!conf_template_ok(val))
		return conf_error(p, "mailbox: only %%u and %%%% may follow "
		    "a '%%'");
	return conf_path(p, val, p->c->mailbox);
}

static int
conf_set_expire(struct conf_parse *p, char *val)
{
	if (strcmp(val, "0") == 0)
		p->c->expire_never = 0;
	else if (strcmp(val, "never") == 0)
		p->c->expire_never = 1;
	else
		return conf_error(p, "expire: '%s': expected 0 or never", val);
	return 0;
}

/*
 * Values under 600 break RFC 1939 section 3 but make tests quick; the
 * daemon warns about them.
 */
static int
conf_set_idle_timeout(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 1, 86400, &p->c->idle_timeout);
}

static int
conf_set_mbox_format(struct conf_parse *p, char *val)
{
	if (strcmp(val, "mboxo") == 0)
		p->c->mbox_format = MBOX_MBOXO;
	else if (strcmp(val, "mboxrd") == 0)
		p->c->mbox_format = MBOX_MBOXRD;
	else
		return conf_error(p, "mbox_format: '%s': expected mboxo or "
		    "mboxrd", val);
	return 0;
}

/*
 * A list of lock methods taken in order.  flock(2) is refused: on Linux
 * it is independent of fcntl locks, and mbox.c's session lock uses it.
 */
static int
conf_set_mbox_locks(struct conf_parse *p, char *val)
{
	struct conf	*c = p->c;
	enum mbox_lock	 m;
	char		*w, *next;
	int		 i;

	c->nlocks = 0;
	for (w = val; *w != '\0'; w = next) {
		next = w + strcspn(w, CONF_BLANKS);
		if (*next != '\0')
			*next++ = '\0';
		next += strspn(next, CONF_BLANKS);
		if (strcmp(w, "fcntl") == 0)
			m = LOCK_FCNTL;
		else if (strcmp(w, "dotlock") == 0)
			m = LOCK_DOTLOCK;
		else if (strcmp(w, "flock") == 0)
			return conf_error(p, "mbox_locks: flock is not "
			    "supported (it would conflict with the session "
			    "lock)");
		else
			return conf_error(p, "mbox_locks: unknown method "
			    "'%s' (fcntl, dotlock)", w);
		for (i = 0; i < c->nlocks; i++)
			if (c->mbox_locks[i] == m)
				return conf_error(p, "mbox_locks: %s given "
				    "twice", w);
		c->mbox_locks[c->nlocks++] = m;
	}
	return 0;
}

static int
conf_set_lock_timeout(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 1, 3600, &p->c->lock_timeout);
}

static int
conf_set_max_sessions(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 1, 100000, &p->c->max_sessions);
}

/* A system account name; root would defeat the point of switching. */
static int
conf_set_user(struct conf_parse *p, char *val)
{
	size_t	len = strlen(val);

	if (len > AUTH_NAME_MAX || val[0] == '-' ||
	    strspn(val, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != len)
		return conf_error(p, "user: '%s' is not a valid user name",
		    val);
	if (strcmp(val, "root") == 0)
		return conf_error(p, "user: must not be root");
	memcpy(p->c->user, val, len + 1);
	return 0;
}

static int
conf_set_apop(struct conf_parse *p, char *val)
{
	return conf_yesno(p, val, &p->c->apop);
}

static int
conf_set_apop_file(struct conf_parse *p, char *val)
{
	return conf_path(p, val, p->c->apop_file);
}

/*
 * Parse one line (newline removed).  seen[] marks the keys set so far so
 * a key given twice by mistake is caught.  Returns 0 or -1.
 */
static int
conf_line(struct conf_parse *p, char *line, int *seen)
{
	char	*key, *val, *end;
	size_t	 i;

	end = line + strlen(line);
	while (end > line && strchr(CONF_BLANKS "\r", end[-1]) != NULL)
		*--end = '\0';
	key = line + strspn(line, CONF_BLANKS);
	if (*key == '\0' || *key == '#')
		return 0;
	val = key + strcspn(key, CONF_BLANKS);
	if (*val != '\0')
		*val++ = '\0';
	val += strspn(val, CONF_BLANKS);
	for (i = 0; i < CONF_NKEYS; i++)
		if (strcmp(key, conf_keys[i].name) == 0)
			break;
	if (i == CONF_NKEYS)
		return conf_error(p, "unknown key '%s'", key);
	if (*val == '\0')
		return conf_error(p, "%s: missing value", key);
	if (seen[i] && !conf_keys[i].repeatable)
		return conf_error(p, "%s given twice", key);
	seen[i] = 1;
	return conf_keys[i].set(p, val);
}

/* Read and apply every line of fp.  Returns 0 or -1 (err set). */
static int
conf_read(struct conf_parse *p, FILE *fp)
{
	int	 seen[CONF_NKEYS] = { 0 }, rc = 0;
	char	*line = NULL;
	size_t	 cap = 0;
	ssize_t	 n;

	while (rc == 0 && (n = getline(&line, &cap, fp)) != -1) {
		p->lineno++;
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if ((size_t)n > CONF_LINE_MAX)
			rc = conf_error(p, "line longer than %d bytes",
			    CONF_LINE_MAX);
		else if (strlen(line) != (size_t)n)
			rc = conf_error(p, "NUL byte in line");
		else
			rc = conf_line(p, line, seen);
	}
	if (rc == 0 && ferror(fp)) {
		if (p->errlen > 0)
			snprintf(p->err, p->errlen, "%s: %s", p->path,
			    strerror(errno));
		rc = -1;
	}
	free(line);
	return rc;
}

/*
 * Parsing goes into a copy so that a failed load (a reload, say) leaves
 * the caller's configuration whole.
 */
int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_parse	 p;
	struct conf		 tmp = *c;
	FILE			*fp;
	int			 rc;

	memset(&p, 0, sizeof(p));
	p.c = &tmp;
	p.path = path;
	p.err = err;
	p.errlen = err == NULL ? 0 : errlen;
	if (strlen(path) >= sizeof(tmp.file)) {
		if (p.errlen > 0)
			snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fp = fopen(path, "r")) == NULL) {
		if (p.errlen > 0)
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memcpy(tmp.file, path, strlen(path) + 1);
	rc = conf_read(&p, fp);
	fclose(fp);
	if (rc == 0)
		*c = tmp;
	return rc;
}
