/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
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
#include <sys/mman.h>
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
	int		 listen_tls_seen;	/* 2: "listen_tls none" */
	int		 per_ip_seen;	/* max_sessions_per_ip was given */
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
static int	conf_parse_listen(struct conf_parse *, const char *,
		    struct conf_listen *);
static int	conf_listen_dup(const struct conf_listen *, int,
		    const struct conf_listen *);
static int	conf_add_listen(struct conf_parse *, const char *,
		    const char *, struct conf_listen *, int *, int *);
static int	conf_set_listen(struct conf_parse *, char *);
static int	conf_set_listen_tls(struct conf_parse *, char *);
static int	conf_set_tls_cert(struct conf_parse *, char *);
static int	conf_set_tls_key(struct conf_parse *, char *);
static int	conf_set_tls_sni(struct conf_parse *, char *);
static int	conf_set_tls_ciphers(struct conf_parse *, char *);
static int	conf_set_tls_handshake_timeout(struct conf_parse *, char *);
static int	conf_set_plaintext_auth(struct conf_parse *, char *);
static int	conf_finish(struct conf_parse *);
static int	conf_set_passwd_file(struct conf_parse *, char *);
static int	conf_set_mailbox(struct conf_parse *, char *);
static int	conf_set_expire(struct conf_parse *, char *);
static int	conf_set_idle_timeout(struct conf_parse *, char *);
static int	conf_set_mbox_format(struct conf_parse *, char *);
static int	conf_set_mbox_locks(struct conf_parse *, char *);
static int	conf_set_uidl_compat(struct conf_parse *, char *);
static int	conf_set_lock_timeout(struct conf_parse *, char *);
static int	conf_set_max_sessions(struct conf_parse *, char *);
static int	conf_set_user(struct conf_parse *, char *);
static int	conf_set_mail_group(struct conf_parse *, char *);
static int	conf_set_chroot(struct conf_parse *, char *);
static int	conf_set_auth(struct conf_parse *, char *);
static int	conf_set_checkpassword(struct conf_parse *, char *);
static int	conf_set_apop(struct conf_parse *, char *);
static int	conf_set_apop_file(struct conf_parse *, char *);
static int	conf_set_pidfile(struct conf_parse *, char *);
static int	conf_set_shutdown_timeout(struct conf_parse *, char *);
static int	conf_set_max_sessions_per_ip(struct conf_parse *, char *);
static int	conf_set_login_timeout(struct conf_parse *, char *);
static int	conf_set_proxy_trusted(struct conf_parse *, char *);
static int	conf_set_login_delay(struct conf_parse *, char *);
static int	conf_set_auth_fail_delay_max(struct conf_parse *, char *);
static int	conf_set_sandbox(struct conf_parse *, char *);
static int	conf_split(char *, char **, char **);
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
	{ "uidl_compat",	conf_set_uidl_compat,	0 },
	{ "lock_timeout",	conf_set_lock_timeout,	0 },
	{ "max_sessions",	conf_set_max_sessions,	0 },
	{ "user",		conf_set_user,		0 },
	{ "mail_group",		conf_set_mail_group,	0 },
	{ "chroot",		conf_set_chroot,	0 },
	{ "auth",		conf_set_auth,		0 },
	{ "checkpassword",	conf_set_checkpassword,	0 },
	{ "apop",		conf_set_apop,		0 },
	{ "apop_file",		conf_set_apop_file,	0 },
	{ "listen_tls",		conf_set_listen_tls,	1 },
	{ "tls_cert",		conf_set_tls_cert,	0 },
	{ "tls_key",		conf_set_tls_key,	0 },
	{ "tls_sni",		conf_set_tls_sni,	1 },
	{ "tls_ciphers",	conf_set_tls_ciphers,	0 },
	{ "tls_handshake_timeout", conf_set_tls_handshake_timeout, 0 },
	{ "plaintext_auth",	conf_set_plaintext_auth, 0 },
	{ "pidfile",		conf_set_pidfile,	0 },
	{ "shutdown_timeout",	conf_set_shutdown_timeout, 0 },
	{ "max_sessions_per_ip", conf_set_max_sessions_per_ip, 0 },
	{ "login_timeout",	conf_set_login_timeout,	0 },
	{ "proxy_trusted",	conf_set_proxy_trusted,	1 },
	{ "login_delay",	conf_set_login_delay,	0 },
	{ "auth_fail_delay_max", conf_set_auth_fail_delay_max, 0 },
	{ "sandbox",		conf_set_sandbox,	0 },
};
#define CONF_NKEYS	(sizeof(conf_keys) / sizeof(conf_keys[0]))

#define CONF_BLANKS	" \t"

/*
 * Every default that is not zero, written field by field into c, which
 * is zeroed already: conf_new relies on touching no other page.
 */
static void
conf_fill_defaults(struct conf *c)
{
	snprintf(c->listen[0].host, sizeof(c->listen[0].host), "*");
	snprintf(c->listen[0].port, sizeof(c->listen[0].port), "110");
	c->nlisten = 1;
	snprintf(c->passwd_file, sizeof(c->passwd_file), "/etc/pop3d/passwd");
	snprintf(c->mailbox, sizeof(c->mailbox), "/var/mail/%%u");
	c->expire_never = 0;
	c->idle_timeout = DEFAULT_IDLE_TIMEOUT;
	c->mbox_format = MBOX_MBOXO;
	c->uidl_compat = UIDL_COMPAT_NONE;
	c->mbox_locks[0] = LOCK_FCNTL;
	c->mbox_locks[1] = LOCK_DOTLOCK;
	c->nlocks = 2;
	c->lock_timeout = DEFAULT_LOCK_TIMEOUT;
	c->max_sessions = DEFAULT_MAX_SESSIONS;
	snprintf(c->user, sizeof(c->user), "%s", DEFAULT_USER);
	snprintf(c->chroot, sizeof(c->chroot), "%s", DEFAULT_CHROOT);
	snprintf(c->mail_group, sizeof(c->mail_group), "%s",
	    DEFAULT_MAIL_GROUP);
	c->auth = PWCHECK_PASSWD;
	c->apop = 0;
	snprintf(c->apop_file, sizeof(c->apop_file), "/etc/pop3d/apop");
	snprintf(c->tls_ciphers, sizeof(c->tls_ciphers), "default");
	c->tls_handshake_timeout = DEFAULT_TLS_HANDSHAKE_TIMEOUT;
	c->plaintext_auth = PLAINTEXT_LOCAL;
	c->shutdown_timeout = DEFAULT_SHUTDOWN_TIMEOUT;
	c->max_sessions_per_ip = DEFAULT_MAX_SESSIONS_PER_IP;
	c->login_timeout = DEFAULT_LOGIN_TIMEOUT;
	c->auth_fail_delay_max = DEFAULT_AUTH_FAIL_DELAY_MAX;
	c->sandbox = 1;
}

void
conf_defaults(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	conf_fill_defaults(c);
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
	if (p->errlen > 0 && p->lineno == 0)
		snprintf(p->err, p->errlen, "%s: %s", p->path, msg);
	else if (p->errlen > 0)
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

/* Parse host:port, [v6addr]:port or *:port into l. */
static int
conf_parse_listen(struct conf_parse *p, const char *val, struct conf_listen *l)
{
	const char	*port, *end;
	unsigned	 n;

	memset(l, 0, sizeof(*l));
	if (val[0] == '[') {
		if ((end = strchr(val, ']')) == NULL || end[1] != ':')
			return conf_error(p, "expected [address]:port");
		if (conf_listen_host(p, val + 1, end - val - 1, 1, l) == -1)
			return -1;
		port = end + 2;
	} else {
		if ((end = strrchr(val, ':')) == NULL)
			return conf_error(p, "expected address:port");
		if (conf_listen_host(p, val, end - val, 0, l) == -1)
			return -1;
		port = end + 1;
	}
	if (conf_number(p, port, 1, 65535, &n) == -1)
		return -1;
	snprintf(l->port, sizeof(l->port), "%u", n);
	return 0;
}

static int
conf_listen_dup(const struct conf_listen *a, int n, const struct conf_listen *l)
{
	int	i;

	for (i = 0; i < n; i++)
		if (strcmp(a[i].host, l->host) == 0 &&
		    strcmp(a[i].port, l->port) == 0)
			return 1;
	return 0;
}

/*
 * One listen or listen_tls line into the array a of *n entries; the
 * first line of its kind replaces the default, and "none" leaves the
 * array empty.  An address may be plain or TLS, never both.
 */
static int
conf_add_listen(struct conf_parse *p, const char *key, const char *val,
    struct conf_listen *a, int *n, int *seen)
{
	struct conf_listen	 l;
	struct conf		*c = p->c;

	if (*seen == 2 || (*seen && strcmp(val, "none") == 0))
		return conf_error(p, "%s none must be the only %s line", key,
		    key);
	if (!*seen)
		*n = 0;
	*seen = strcmp(val, "none") == 0 ? 2 : 1;
	if (*seen == 2)
		return 0;
	if (conf_parse_listen(p, val, &l) == -1)
		return -1;
	if (conf_listen_dup(c->listen, c->nlisten, &l) ||
	    conf_listen_dup(c->listen_tls, c->nlisten_tls, &l))
		return conf_error(p, "%s %s given twice", key, val);
	if (*n >= CONF_LISTEN_MAX)
		return conf_error(p, "more than %d %s lines", CONF_LISTEN_MAX,
		    key);
	a[(*n)++] = l;
	return 0;
}

static int
conf_set_listen(struct conf_parse *p, char *val)
{
	return conf_add_listen(p, "listen", val, p->c->listen,
	    &p->c->nlisten, &p->listen_seen);
}

static int
conf_set_listen_tls(struct conf_parse *p, char *val)
{
	return conf_add_listen(p, "listen_tls", val, p->c->listen_tls,
	    &p->c->nlisten_tls, &p->listen_tls_seen);
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
	else if (strcmp(val, "mboxcl2") == 0)
		p->c->mbox_format = MBOX_MBOXCL2;
	else
		return conf_error(p, "mbox_format: '%s': expected mboxo, "
		    "mboxrd or mboxcl2", val);
	return 0;
}

static int
conf_set_uidl_compat(struct conf_parse *p, char *val)
{
	if (strcmp(val, "none") == 0)
		p->c->uidl_compat = UIDL_COMPAT_NONE;
	else if (strcmp(val, "dovecot") == 0)
		p->c->uidl_compat = UIDL_COMPAT_DOVECOT;
	else if (strcmp(val, "popa3d") == 0)
		p->c->uidl_compat = UIDL_COMPAT_POPA3D;
	else
		return conf_error(p, "uidl_compat: '%s': expected none, "
		    "dovecot or popa3d", val);
	return 0;
}

/*
 * A list of lock methods taken in order.  flock(2) is allowed: the
 * session lock lives in a file of its own (lock.c).
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
			m = LOCK_FLOCK;
		else
			return conf_error(p, "mbox_locks: unknown method "
			    "'%s' (fcntl, dotlock, flock)", w);
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
/* An account or group name as useradd/groupadd accept them. */
static int
conf_name_ok(const char *val)
{
	size_t	len = strlen(val);

	return len <= AUTH_NAME_MAX && val[0] != '-' &&
	    strspn(val, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == len;
}

static int
conf_set_user(struct conf_parse *p, char *val)
{
	if (!conf_name_ok(val))
		return conf_error(p, "user: '%s' is not a valid user name",
		    val);
	if (strcmp(val, "root") == 0)
		return conf_error(p, "user: must not be root");
	snprintf(p->c->user, sizeof(p->c->user), "%s", val);
	return 0;
}

/* "none" keeps no extra group. */
static int
conf_set_mail_group(struct conf_parse *p, char *val)
{
	if (!conf_name_ok(val))
		return conf_error(p, "mail_group: '%s' is not a valid group "
		    "name", val);
	if (strcmp(val, "root") == 0)
		return conf_error(p, "mail_group: must not be root");
	snprintf(p->c->mail_group, sizeof(p->c->mail_group), "%s",
	    strcmp(val, "none") == 0 ? "" : val);
	return 0;
}

/* The pre-login jail; "/" would be no jail at all. */
static int
conf_set_chroot(struct conf_parse *p, char *val)
{
	if (strcmp(val, "/") == 0)
		return conf_error(p, "chroot: '/' is no jail");
	return conf_path(p, val, p->c->chroot);
}

static int
conf_set_auth(struct conf_parse *p, char *val)
{
	if (strcmp(val, "passwd") == 0)
		p->c->auth = PWCHECK_PASSWD;
	else if (strcmp(val, "pam") == 0)
		p->c->auth = PWCHECK_PAM;
	else if (strcmp(val, "checkpassword") == 0)
		p->c->auth = PWCHECK_CHECKPASSWORD;
	else
		return conf_error(p, "auth: '%s': expected passwd, pam or "
		    "checkpassword", val);
	return 0;
}

static int
conf_set_checkpassword(struct conf_parse *p, char *val)
{
	return conf_path(p, val, p->c->checkpassword);
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

static int
conf_set_tls_cert(struct conf_parse *p, char *val)
{
	return conf_path(p, val, p->c->tls_cert);
}

static int
conf_set_tls_key(struct conf_parse *p, char *val)
{
	return conf_path(p, val, p->c->tls_key);
}

/*
 * "NAME CERT KEY": the name a client asks for with SNI (an exact host
 * name, or "*.domain" for one label), then the chain and key served to
 * it.  Blanks separate the three, so these paths can't contain blanks.
 */
static int
conf_set_tls_sni(struct conf_parse *p, char *val)
{
	struct conf	*c = p->c;
	struct conf_sni	*e;
	char		*w[3], *end;
	int		 i;

	for (i = 0; i < 3; i++) {
		val += strspn(val, CONF_BLANKS);
		if (*val == '\0')
			return conf_error(p, "tls_sni: expected NAME CERT KEY");
		w[i] = val;
		end = val + strcspn(val, CONF_BLANKS);
		val = *end != '\0' ? end + 1 : end;
		*end = '\0';
	}
	if (*(val + strspn(val, CONF_BLANKS)) != '\0')
		return conf_error(p, "tls_sni: expected NAME CERT KEY");
	if (c->nsni >= CONF_SNI_MAX)
		return conf_error(p, "more than %d tls_sni lines",
		    CONF_SNI_MAX);
	e = &c->sni[c->nsni];
	if (strlen(w[0]) >= sizeof(e->name) || w[0][0] == '.' ||
	    strspn(w[0], "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-*") != strlen(w[0]) ||
	    strchr(w[0] + (w[0][0] == '*'), '*') != NULL ||
	    (w[0][0] == '*' && w[0][1] != '.'))
		return conf_error(p, "tls_sni: '%s' is not a host name", w[0]);
	memcpy(e->name, w[0], strlen(w[0]) + 1);
	if (conf_path(p, w[1], e->cert) == -1 ||
	    conf_path(p, w[2], e->key) == -1)
		return -1;
	c->nsni++;
	return 0;
}

/* Checked against mbedTLS's suite names by tls.c, at start-up and -t. */
static int
conf_set_tls_ciphers(struct conf_parse *p, char *val)
{
	if (strlen(val) >= sizeof(p->c->tls_ciphers))
		return conf_error(p, "tls_ciphers: too long");
	memcpy(p->c->tls_ciphers, val, strlen(val) + 1);
	return 0;
}

static int
conf_set_tls_handshake_timeout(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 1, 600, &p->c->tls_handshake_timeout);
}

static int
conf_set_plaintext_auth(struct conf_parse *p, char *val)
{
	if (strcmp(val, "no") == 0)
		p->c->plaintext_auth = PLAINTEXT_NO;
	else if (strcmp(val, "local") == 0)
		p->c->plaintext_auth = PLAINTEXT_LOCAL;
	else if (strcmp(val, "yes") == 0)
		p->c->plaintext_auth = PLAINTEXT_YES;
	else
		return conf_error(p, "plaintext_auth: '%s': expected no, "
		    "local or yes", val);
	return 0;
}

/*
 * Rules between keys, once the whole file is read: TLS needs both halves
 * of the default pair, and implicit TLS defaults to *:995 (RFC 8314)
 * when a certificate is configured and no listen_tls line says otherwise.
 */
static int
conf_finish(struct conf_parse *p)
{
	struct conf	*c = p->c;

	p->lineno = 0;
	if ((c->tls_cert[0] == '\0') != (c->tls_key[0] == '\0'))
		return conf_error(p, "tls_cert and tls_key go together");
	if (c->tls_cert[0] == '\0' && c->nsni > 0)
		return conf_error(p, "tls_sni needs tls_cert and tls_key "
		    "(the certificate for clients without SNI)");
	if (c->tls_cert[0] == '\0' && c->nlisten_tls > 0)
		return conf_error(p, "listen_tls needs tls_cert and tls_key");
	if (c->auth == PWCHECK_CHECKPASSWORD && c->checkpassword[0] == '\0')
		return conf_error(p, "auth checkpassword needs a checkpassword "
		    "line naming the program");
	/* Not given: at least four addresses to fill max_sessions. */
	if (!p->per_ip_seen && c->max_sessions_per_ip > c->max_sessions / 4)
		c->max_sessions_per_ip = c->max_sessions / 4 > 0 ?
		    c->max_sessions / 4 : 1;
	if (!p->listen_tls_seen && c->tls_cert[0] != '\0') {
		snprintf(c->listen_tls[0].host, sizeof(c->listen_tls[0].host),
		    "*");
		snprintf(c->listen_tls[0].port, sizeof(c->listen_tls[0].port),
		    "995");
		c->nlisten_tls = 1;
		if (conf_listen_dup(c->listen, c->nlisten, &c->listen_tls[0]))
			return conf_error(p, "listen *:995 is the default "
			    "listen_tls: add a listen_tls line");
	}
	return 0;
}

/* Process model and limits: pidfile, shutdown, per-address limits, PROXY. */
static int
conf_set_pidfile(struct conf_parse *p, char *val)
{
	if (strcmp(val, "none") == 0) {
		p->c->pidfile[0] = '\0';
		return 0;
	}
	return conf_path(p, val, p->c->pidfile);
}

static int
conf_set_shutdown_timeout(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 0, 3600, &p->c->shutdown_timeout);
}

/* 0 turns the limit off (a balancer that does not send PROXY headers). */
static int
conf_set_max_sessions_per_ip(struct conf_parse *p, char *val)
{
	p->per_ip_seen = 1;
	return conf_number(p, val, 0, 100000, &p->c->max_sessions_per_ip);
}

static int
conf_set_login_timeout(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 1, 3600, &p->c->login_timeout);
}

/* One or more CIDR networks per line, blank-separated; repeatable. */
static int
conf_set_proxy_trusted(struct conf_parse *p, char *val)
{
	struct conf	*c = p->c;
	char		*net;

	for (net = strtok(val, CONF_BLANKS); net != NULL;
	    net = strtok(NULL, CONF_BLANKS)) {
		if (c->nproxy_trusted == CONF_PROXY_NETS_MAX)
			return conf_error(p, "proxy_trusted: more than %d "
			    "networks", CONF_PROXY_NETS_MAX);
		if (proxy_net_parse(net, &c->proxy_trusted[c->nproxy_trusted])
		    == -1)
			return conf_error(p, "proxy_trusted: '%s' is not an "
			    "address or network (like 192.0.2.0/24)", net);
		c->nproxy_trusted++;
	}
	return 0;
}

/* RFC 2449 section 6.5: seconds between two logins of one user. */
static int
conf_set_login_delay(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 0, 86400, &p->c->login_delay);
}

/*
 * The longest delay before a failed login's answer; 1, the base delay,
 * turns the growth off.  300: past that a client gives up, and an
 * attacker is slowed no more by it than by a closed connection.
 */
static int
conf_set_auth_fail_delay_max(struct conf_parse *p, char *val)
{
	return conf_number(p, val, 1, 300, &p->c->auth_fail_delay_max);
}

/*
 * The syscall filters of the pre-login and session processes
 * (sandbox.c).  "no" is for debugging, or a kernel without seccomp:
 * pop3d won't start without the filters otherwise.
 */
static int
conf_set_sandbox(struct conf_parse *p, char *val)
{
	return conf_yesno(p, val, &p->c->sandbox);
}

/*
 * Cut a line (newline removed) into its key and value, in place: the one
 * reading of the syntax, shared by the parser and conf_key_line.
 * Returns 0 for a blank or comment line, else 1 with *key and *val set
 * (*val "" when the line has no value).
 */
static int
conf_split(char *line, char **key, char **val)
{
	char	*end;

	end = line + strlen(line);
	while (end > line && strchr(CONF_BLANKS "\r", end[-1]) != NULL)
		*--end = '\0';
	*key = line + strspn(line, CONF_BLANKS);
	if (**key == '\0' || **key == '#')
		return 0;
	*val = *key + strcspn(*key, CONF_BLANKS);
	if (**val != '\0')
		*(*val)++ = '\0';
	*val += strspn(*val, CONF_BLANKS);
	return 1;
}

/*
 * Parse one line (newline removed).  seen[] marks the keys set so far so
 * a key given twice by mistake is caught.  Returns 0 or -1.
 */
static int
conf_line(struct conf_parse *p, char *line, int *seen)
{
	char	*key, *val;
	size_t	 i;

	if (conf_split(line, &key, &val) == 0)
		return 0;
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
 * Read path into c.  Returns 0, or -1 with the message in err (set up by
 * the caller in p) and c partly written.
 */
static int
conf_parse_into(struct conf_parse *p, struct conf *c, const char *path)
{
	FILE	*fp;
	int	 rc;

	if ((fp = fopen(path, "r")) == NULL)
		return conf_error(p, "%s", strerror(errno));
	p->c = c;
	memcpy(c->file, path, strlen(path) + 1);
	rc = conf_read(p, fp);
	fclose(fp);
	if (rc == 0)
		rc = conf_finish(p);
	return rc;
}

/* Set up p for a load of path; -1 (err set) when path can't be kept. */
static int
conf_parse_init(struct conf_parse *p, const char *path, char *err,
    size_t errlen)
{
	memset(p, 0, sizeof(*p));
	p->path = path;
	p->err = err;
	p->errlen = err == NULL ? 0 : errlen;
	if (strlen(path) >= sizeof(p->c->file))
		return conf_error(p, "path too long");
	return 0;
}

/*
 * A fresh anonymous mapping reads as zeros and costs nothing until a
 * page of it is written, so a structure of over 100 kB, mostly PATH_MAX
 * buffers holding short paths, costs only the pages its fields fill.
 */
static struct conf *
conf_map(struct conf_parse *p)
{
	struct conf	*c;

	c = mmap(NULL, sizeof(*c), PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (c == MAP_FAILED) {
		(void)conf_error(p, "%s", strerror(errno));
		return NULL;
	}
	return c;
}

/*
 * Parsing goes into a copy so that a failed load leaves the caller's
 * configuration whole.  The copy is mapped for the load and unmapped
 * after: on the stack or the heap its pages would stay written for the
 * life of the process, never used again.
 */
int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	struct conf_parse	 p;
	struct conf		*tmp;
	int			 rc;

	if (conf_parse_init(&p, path, err, errlen) == -1 ||
	    (tmp = conf_map(&p)) == NULL)
		return -1;
	*tmp = *c;
	rc = conf_parse_into(&p, tmp, path);
	if (rc == 0)
		*c = *tmp;
	(void)munmap(tmp, sizeof(*tmp));
	return rc;
}

/*
 * The daemon's configuration lives for the whole run, in every process:
 * in a mapping of its own only the pages of the fields that are set get
 * written (about 40 kB of the 108 with TLS on), where a struct conf on
 * the stack or the heap, cleared whole, costs all of it.
 */
struct conf *
conf_new(const char *path, char *err, size_t errlen)
{
	struct conf_parse	 p;
	struct conf		*c;

	if (conf_parse_init(&p, path, err, errlen) == -1 ||
	    (c = conf_map(&p)) == NULL)
		return NULL;
	conf_fill_defaults(c);
	if (conf_parse_into(&p, c, path) == -1) {
		conf_free(c);
		return NULL;
	}
	return c;
}

void
conf_free(struct conf *c)
{
	if (c != NULL)
		(void)munmap(c, sizeof(*c));
}

const char *
conf_key_name(size_t i)
{
	return i < CONF_NKEYS ? conf_keys[i].name : NULL;
}

unsigned long
conf_key_line(const struct conf *c, const char *key)
{
	FILE		*fp;
	char		*line = NULL, *k, *v;
	size_t		 cap = 0;
	unsigned long	 lineno = 0, found = 0;

	if ((fp = fopen(c->file, "r")) == NULL)
		return 0;
	while (getline(&line, &cap, fp) != -1) {
		lineno++;
		line[strcspn(line, "\n")] = '\0';
		if (conf_split(line, &k, &v) == 1 && strcmp(k, key) == 0)
			found = lineno;
	}
	free(line);
	fclose(fp);
	return found;
}

/*
 * The effective configuration, printed back in the file's syntax
 * (pop3d -n).  One printer per key of conf_keys, matched by name, in a
 * table of its own so that the parser's stays one row per key as it
 * was: a key added to the parser without a printer is printed as a
 * comment saying so, and test_conf.c's checks (every key printed, the
 * printout read back) fail on it.  A value that is not set and has no
 * word for "unset" (tls_cert, checkpassword) is printed as a comment,
 * so that the output parses back to the same struct conf.
 */

struct conf_printer {
	const char	*name;
	void		 (*print)(const struct conf *, FILE *, const char *);
};

/* key value, or "# key (not set)" when value is "". */
static void
conf_print_str(FILE *fp, const char *key, const char *val)
{
	if (val[0] == '\0')
		fprintf(fp, "# %s (not set)\n", key);
	else
		fprintf(fp, "%s %s\n", key, val);
}

static void
conf_print_listens(FILE *fp, const char *key, const struct conf_listen *a,
    int n)
{
	int	i;

	if (n == 0)
		fprintf(fp, "%s none\n", key);
	for (i = 0; i < n; i++)
		fprintf(fp, strchr(a[i].host, ':') != NULL ? "%s [%s]:%s\n" :
		    "%s %s:%s\n", key, a[i].host, a[i].port);
}

static void
print_listen(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_listens(fp, key, c->listen, c->nlisten);
}

static void
print_listen_tls(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_listens(fp, key, c->listen_tls, c->nlisten_tls);
}

static void
print_passwd_file(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->passwd_file);
}

static void
print_mailbox(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->mailbox);
}

static void
print_expire(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->expire_never ? "never" : "0");
}

static void
print_idle_timeout(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->idle_timeout);
}

static void
print_mbox_format(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->mbox_format == MBOX_MBOXRD ? "mboxrd" :
	    c->mbox_format == MBOX_MBOXCL2 ? "mboxcl2" : "mboxo");
}

static void
print_mbox_locks(const struct conf *c, FILE *fp, const char *key)
{
	int	i;

	fprintf(fp, "%s", key);
	for (i = 0; i < c->nlocks; i++)
		fprintf(fp, " %s", c->mbox_locks[i] == LOCK_FCNTL ? "fcntl" :
		    c->mbox_locks[i] == LOCK_DOTLOCK ? "dotlock" : "flock");
	fprintf(fp, "\n");
}

static void
print_lock_timeout(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->lock_timeout);
}

static void
print_max_sessions(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->max_sessions);
}

static void
print_user(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->user);
}

static void
print_mail_group(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->mail_group[0] != '\0' ? c->mail_group :
	    "none");
}

static void
print_chroot(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->chroot);
}

static void
print_auth(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->auth == PWCHECK_PAM ? "pam" :
	    c->auth == PWCHECK_CHECKPASSWORD ? "checkpassword" : "passwd");
}

static void
print_checkpassword(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->checkpassword);
}

static void
print_apop(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->apop ? "yes" : "no");
}

static void
print_apop_file(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->apop_file);
}

static void
print_tls_cert(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->tls_cert);
}

static void
print_tls_key(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->tls_key);
}

static void
print_tls_sni(const struct conf *c, FILE *fp, const char *key)
{
	int	i;

	if (c->nsni == 0)
		conf_print_str(fp, key, "");
	for (i = 0; i < c->nsni; i++)
		fprintf(fp, "%s %s %s %s\n", key, c->sni[i].name,
		    c->sni[i].cert, c->sni[i].key);
}

static void
print_tls_ciphers(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->tls_ciphers);
}

static void
print_tls_handshake_timeout(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->tls_handshake_timeout);
}

static void
print_plaintext_auth(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->plaintext_auth == PLAINTEXT_NO ? "no" :
	    c->plaintext_auth == PLAINTEXT_YES ? "yes" : "local");
}

static void
print_pidfile(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->pidfile[0] != '\0' ? c->pidfile : "none");
}

static void
print_shutdown_timeout(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->shutdown_timeout);
}

static void
print_max_sessions_per_ip(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->max_sessions_per_ip);
}

static void
print_login_timeout(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->login_timeout);
}

static void
print_proxy_trusted(const struct conf *c, FILE *fp, const char *key)
{
	char	addr[INET6_ADDRSTRLEN];
	int	i;

	if (c->nproxy_trusted == 0)
		conf_print_str(fp, key, "");
	for (i = 0; i < c->nproxy_trusted; i++)
		if (inet_ntop(c->proxy_trusted[i].family,
		    c->proxy_trusted[i].addr, addr, sizeof(addr)) != NULL)
			fprintf(fp, "%s %s/%u\n", key, addr,
			    c->proxy_trusted[i].prefix);
}

static void
print_login_delay(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->login_delay);
}

static void
print_auth_fail_delay_max(const struct conf *c, FILE *fp, const char *key)
{
	fprintf(fp, "%s %u\n", key, c->auth_fail_delay_max);
}

static void
print_sandbox(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->sandbox ? "yes" : "no");
}

static void
print_uidl_compat(const struct conf *c, FILE *fp, const char *key)
{
	conf_print_str(fp, key, c->uidl_compat == UIDL_COMPAT_DOVECOT ?
	    "dovecot" : c->uidl_compat == UIDL_COMPAT_POPA3D ? "popa3d" :
	    "none");
}

static const struct conf_printer conf_printers[] = {
	{ "listen",		print_listen },
	{ "passwd_file",	print_passwd_file },
	{ "mailbox",		print_mailbox },
	{ "expire",		print_expire },
	{ "idle_timeout",	print_idle_timeout },
	{ "mbox_format",	print_mbox_format },
	{ "mbox_locks",		print_mbox_locks },
	{ "lock_timeout",	print_lock_timeout },
	{ "max_sessions",	print_max_sessions },
	{ "user",		print_user },
	{ "mail_group",		print_mail_group },
	{ "chroot",		print_chroot },
	{ "auth",		print_auth },
	{ "checkpassword",	print_checkpassword },
	{ "apop",		print_apop },
	{ "apop_file",		print_apop_file },
	{ "listen_tls",		print_listen_tls },
	{ "tls_cert",		print_tls_cert },
	{ "tls_key",		print_tls_key },
	{ "tls_sni",		print_tls_sni },
	{ "tls_ciphers",	print_tls_ciphers },
	{ "tls_handshake_timeout", print_tls_handshake_timeout },
	{ "plaintext_auth",	print_plaintext_auth },
	{ "pidfile",		print_pidfile },
	{ "shutdown_timeout",	print_shutdown_timeout },
	{ "max_sessions_per_ip", print_max_sessions_per_ip },
	{ "login_timeout",	print_login_timeout },
	{ "proxy_trusted",	print_proxy_trusted },
	{ "login_delay",	print_login_delay },
	{ "auth_fail_delay_max", print_auth_fail_delay_max },
	{ "sandbox",		print_sandbox },
	{ "uidl_compat",	print_uidl_compat },
};

void
conf_print(const struct conf *c, FILE *fp)
{
	size_t	i, j;

	fprintf(fp, "# pop3d %s: %s with every default filled in\n",
	    POP3D_VERSION, c->file);
	for (i = 0; i < CONF_NKEYS; i++) {
		for (j = 0; j < sizeof(conf_printers) /
		    sizeof(conf_printers[0]); j++)
			if (strcmp(conf_printers[j].name, conf_keys[i].name) == 0)
				break;
		if (j < sizeof(conf_printers) / sizeof(conf_printers[0]))
			conf_printers[j].print(c, fp, conf_keys[i].name);
		else
			fprintf(fp, "# %s: conf_print has no printer for it\n",
			    conf_keys[i].name);
	}
}
