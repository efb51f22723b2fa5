/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The POP3 protocol engine: RFC 1939 with CAPA (RFC 2449), SASL PLAIN
 * (RFC 5034, RFC 4616) and RFC 3206 response codes.  It does no I/O: bytes
 * come in through session_feed(), replies go into the caller's buffer, and
 * credentials and mail are reached only through struct session_backend and
 * struct maildrop_ops.
 *
 * Command syntax, chosen strict (RFC 1939 section 3, RFC 2449 section 3):
 * the verb is case-insensitive, arguments are separated by exactly one
 * space, and a trailing space is an empty argument, hence a syntax error.
 * PASS alone takes the rest of the line, spaces included (RFC 1939
 * section 7).  A line ends at LF; one CR before it is removed, so telnet
 * users with bare LF are served too.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "base64.h"
#include "buf.h"
#include "conf.h"
#include "log.h"
#include "maildrop.h"
#include "params.h"
#include "session.h"

/* The longest "<...>" stamp kept: the greeting must stay within 512 octets. */
#define STAMP_MAX	256

/* The TLS in use as tls_describe() says it ("TLSv1.2 SUITE"), for logs. */
#define TLS_DESC_MAX	96

/*
 * A login line's "(HOW)": the command, ", " and the TLS description; a
 * session resumed after a handoff gets both in one (privsep.c).
 */
#define HOW_LOG_MAX	(32 + TLS_DESC_MAX)

/* Arguments a command takes at most (APOP, TOP, AUTH take two). */
#define ARGS_MAX	2

/* maxargs of a command whose one argument is the rest of the line (PASS). */
#define ARGS_REST	(-1)

enum state {
	ST_AUTHORIZATION,
	ST_SASL,		/* AUTH PLAIN sent "+ ", awaiting the response */
	ST_TRANSACTION,
	ST_COUNT
};

/*
 * Per-message marks, one byte per idx.  RETR sets both F_RETRIEVED (kept
 * for the logout line) and F_EXPIRE (the implicit DELE of EXPIRE 0, which
 * RSET clears with the deletions).
 */
#define F_DELETED	0x01
#define F_RETRIEVED	0x02
#define F_EXPIRE	0x04

/* A multi-line reply in progress (continued by session_work). */
enum ml {
	ML_NONE,
	ML_LINES,		/* s->ml_lines: CAPA, the AUTH mechanism list */
	ML_LIST,
	ML_UIDL,
	ML_MSG,			/* RETR/TOP through ops->msg_read */
	ML_END			/* only the ".\r\n" terminator is left */
};

/*
 * What a handler returns; reply() turns it into the one reply line.  EV_OK
 * and EV_MULTI send "+OK " and s->text; EV_ERR_* send "-ERR " and the text
 * of their row in errors[].
 */
enum ev {
	EV_OK,
	EV_MULTI,		/* "+OK" line now, s->ml continues after it */
	EV_CHALLENGE,		/* "+ " (empty SASL challenge) */
	EV_ERR_UNKNOWN,
	EV_ERR_STATE,
	EV_ERR_SYNTAX,
	EV_ERR_TOOLONG,
	EV_ERR_NUL,
	EV_ERR_NOUSER,
	EV_ERR_USERTWICE,
	EV_ERR_NOMSG,
	EV_ERR_DELETED,
	EV_ERR_AUTH,
	EV_ERR_AUTHZID,
	EV_ERR_AUTHTEMP,
	EV_ERR_INUSE,
	EV_ERR_SYSTEMP,
	EV_ERR_SYSPERM,
	EV_ERR_NOMEM,
	EV_ERR_MECH,
	EV_ERR_BASE64,
	EV_ERR_CANCEL,
	EV_ERR_UPDATE,
	EV_ERR_CHANGED,
	EV_ERR_UPDCHANGED,
	EV_ERR_TOOMANY,
	EV_ERR_NOLOGIN,
	EV_ERR_PLAINTEXT,
	EV_ERR_TLSACTIVE,
	EV_ERR_LOGINDELAY,
	EV_NONE			/* no reply: the login was handed off */
};

/*
 * Every error reply, spelled once, with its RFC 3206 / RFC 2449 code.  bad
 * marks client mistakes that count towards SESSION_MAX_BAD_COMMANDS.
 */
static const struct {
	enum ev		 ev;
	int		 bad;
	const char	*text;
} errors[] = {
	{ EV_ERR_UNKNOWN,	1, "unknown command" },
	{ EV_ERR_STATE,		1, "command not valid in this state" },
	{ EV_ERR_SYNTAX,	1, "invalid arguments" },
	{ EV_ERR_TOOLONG,	1, "line too long" },
	{ EV_ERR_NUL,		1, "NUL byte in command" },
	{ EV_ERR_NOUSER,	1, "PASS must follow USER" },
	{ EV_ERR_USERTWICE,	1, "USER must be followed by PASS" },
	{ EV_ERR_NOMSG,		0, "no such message" },
	{ EV_ERR_DELETED,	0, "message is deleted" },
	{ EV_ERR_AUTH,		0, "[AUTH] invalid user name or password" },
	{ EV_ERR_AUTHZID,	0, "[AUTH] authorization identity refused" },
	{ EV_ERR_AUTHTEMP,	0, "[SYS/TEMP] cannot check credentials now" },
	{ EV_ERR_INUSE,		0, "[IN-USE] maildrop in use by another session" },
	{ EV_ERR_SYSTEMP,	0, "[SYS/TEMP] maildrop unavailable, try later" },
	{ EV_ERR_SYSPERM,	0, "[SYS/PERM] maildrop cannot be read" },
	{ EV_ERR_NOMEM,		0, "[SYS/TEMP] out of memory" },
	{ EV_ERR_MECH,		1, "unsupported SASL mechanism" },
	{ EV_ERR_BASE64,	1, "invalid base64" },
	{ EV_ERR_CANCEL,	0, "AUTH cancelled" },
	{ EV_ERR_UPDATE,	0, "[SYS/TEMP] maildrop not updated, "
				    "no message deleted" },
	{ EV_ERR_CHANGED,	0, "[SYS/TEMP] maildrop changed by another "
				    "program, log in again" },
	{ EV_ERR_UPDCHANGED,	0, "[SYS/TEMP] maildrop changed by another "
				    "program, no message deleted" },
	{ EV_ERR_TOOMANY,	0, "too many bad commands" },
	{ EV_ERR_NOLOGIN,	0, "too many commands without a login" },
	{ EV_ERR_PLAINTEXT,	0, "[AUTH] plaintext login refused on an "
				    "unencrypted connection: use STLS or port "
				    "995" },
	{ EV_ERR_TLSACTIVE,	1, "TLS is already active" },
	{ EV_ERR_LOGINDELAY,	0, "[LOGIN-DELAY] logged in too recently, "
				    "try again later" }
};

struct session {
	const struct conf		*conf;
	const struct session_backend	*be;
	char				 peer[128];
	char				 stamp[STAMP_MAX + 1];	/* "" without APOP */
	enum state			 state;
	int				 end;	/* reply sent; SESSION_END */
	int				 pause;	/* failed login: let delay apply */
	unsigned			 delay;
	int				 bad;	/* bad commands so far */
	int				 authfail;	/* failed logins so far */
	int				 talk;	/* commands before login, no try */
	int				 refused; /* plaintext refusal logged */

	/*
	 * The connection, from session_set_link, session_tls_started and
	 * session_set_tls.
	 */
	int				 secure;	/* TLS active */
	int				 loopback;
	int				 can_stls;
	char				 tls[TLS_DESC_MAX];	/* or "" */
	int				 tls_wanted;	/* STLS answered +OK */
	int				 handoff;	/* MD_HANDOFF: stop here */
	const char			*handoff_how;

	/* Input: unprocessed bytes are in[inoff..inlen). */
	char				 in[SESSION_INBUF_SIZE];
	size_t				 inoff, inlen;
	int				 discarding;	/* skip to the next LF */
	char				 line[POP3_SASL_LINE_MAX + 1];

	/*
	 * AUTHORIZATION: the name given by USER, for the next line only
	 * (RFC 1939 section 7: PASS comes right after a successful USER,
	 * and USER not right after one).  user_before: the line before
	 * this one was that USER.
	 */
	int				 have_user;
	int				 user_before;
	char				 user[AUTH_NAME_MAX + 1];
	char				 text[POP3_REPLY_MAX];	/* "+OK " text */

	/* TRANSACTION */
	const struct maildrop_ops	*ops;
	void				*md;
	size_t				 count;
	unsigned char			*flags;		/* F_* per idx */
	size_t				 live;		/* not deleted */
	uint64_t			 live_octets;
	size_t				 after_retr;	/* 1 + its idx, or 0 */

	/* The multi-line reply in progress. */
	enum ml				 ml;
	size_t				 ml_next;	/* idx or line */
	size_t				 ml_first;	/* bytes to send at once */
	const char			*ml_lines[12];
	size_t				 ml_nlines;
	char				 expire[32];	/* CAPA lines built once */
	char				 login_delay[32];
};

typedef int	cmd_fn(struct session *, int, char **);

struct cmd {
	const char	*verb;		/* NULL: the default row, last */
	int		 minargs;
	int		 maxargs;	/* or ARGS_REST */
	cmd_fn		*fn;
};

static cmd_fn	cmd_user, cmd_pass, cmd_apop, cmd_auth, cmd_capa, cmd_quit_auth;
static cmd_fn	cmd_stls;
static cmd_fn	cmd_sasl_response;
static cmd_fn	cmd_stat, cmd_list, cmd_retr, cmd_dele, cmd_noop, cmd_rset;
static cmd_fn	cmd_top, cmd_uidl, cmd_quit, cmd_unknown;

/*
 * One table per state; a verb missing from the state's table reaches the
 * default row, so no handler ever checks the state.
 */
static const struct cmd	auth_cmds[] = {
	{ "STLS", 0, 0,		cmd_stls },
	{ "USER", 1, 1,		cmd_user },
	{ "PASS", 1, ARGS_REST,	cmd_pass },
	{ "APOP", 2, 2,		cmd_apop },
	{ "AUTH", 0, 2,		cmd_auth },
	{ "CAPA", 0, 0,		cmd_capa },
	{ "QUIT", 0, 0,		cmd_quit_auth },
	{ NULL, 0, 0,		cmd_unknown }
};

static const struct cmd	trans_cmds[] = {
	{ "STAT", 0, 0,		cmd_stat },
	{ "LIST", 0, 1,		cmd_list },
	{ "RETR", 1, 1,		cmd_retr },
	{ "DELE", 1, 1,		cmd_dele },
	{ "NOOP", 0, 0,		cmd_noop },
	{ "RSET", 0, 0,		cmd_rset },
	{ "TOP", 2, 2,		cmd_top },
	{ "UIDL", 0, 1,		cmd_uidl },
	{ "CAPA", 0, 0,		cmd_capa },
	{ "QUIT", 0, 0,		cmd_quit },
	{ NULL, 0, 0,		cmd_unknown }
};

/* In the SASL state every line is the client's response. */
static const struct cmd	sasl_cmds[] = {
	{ NULL, 0, 0,		cmd_sasl_response }
};

static const struct cmd	*const tables[ST_COUNT] = {
	[ST_AUTHORIZATION] = auth_cmds,
	[ST_SASL] = sasl_cmds,
	[ST_TRANSACTION] = trans_cmds
};

/* A name fit for a log line: client bytes only when auth_name_ok. */
static const char *
log_name(const char *name)
{
	return auth_name_ok(name) ? name : "(invalid name)";
}

struct session *
session_new(const struct conf *conf, const struct session_backend *be,
    const char *peer, const char *apop_stamp)
{
	struct session	*s;

	if (conf->apop && (apop_stamp == NULL ||
	    strlen(apop_stamp) > STAMP_MAX)) {
		errno = EINVAL;
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->conf = conf;
	s->be = be;
	snprintf(s->peer, sizeof(s->peer), "%s", peer ? peer : "unknown");
	if (conf->apop)
		snprintf(s->stamp, sizeof(s->stamp), "%s", apop_stamp);
	snprintf(s->expire, sizeof(s->expire), "EXPIRE %s",
	    conf->expire_never ? "NEVER" : "0");
	snprintf(s->login_delay, sizeof(s->login_delay), "LOGIN-DELAY %u",
	    conf->login_delay);
	s->state = ST_AUTHORIZATION;
	return s;
}

void
session_set_link(struct session *s, int secure, int loopback, int can_stls)
{
	s->secure = secure;
	s->loopback = loopback;
	s->can_stls = can_stls && !secure;
}

void
session_tls_started(struct session *s)
{
	s->secure = 1;
	s->can_stls = 0;
	s->have_user = 0;
	auth_wipe(s->user, sizeof(s->user));
}

void
session_set_tls(struct session *s, const char *desc)
{
	snprintf(s->tls, sizeof(s->tls), "%s", desc != NULL ? desc : "");
}

/*
 * RFC 2595 section 4: nothing the client sent in plaintext after STLS
 * may be taken as said inside TLS.
 */
static void
discard_input(struct session *s)
{
	auth_wipe(s->in, sizeof(s->in));
	s->inoff = s->inlen = 0;
	s->discarding = 0;
}

/* May this connection carry a password (plaintext_auth)? */
static int
plaintext_ok(const struct session *s)
{
	switch (s->conf->plaintext_auth) {
	case PLAINTEXT_YES:
		return 1;
	case PLAINTEXT_LOCAL:
		return s->secure || s->loopback;
	default:
		return s->secure;
	}
}

/* Close the maildrop without UPDATE and forget the per-message marks. */
static void
drop_maildrop(struct session *s)
{
	if (s->md != NULL)
		s->ops->close(s->md);
	s->md = NULL;
	free(s->flags);
	s->flags = NULL;
}

void
session_close(struct session *s, const char *why)
{
	if (s->md != NULL)
		log_info("logout %s from %s: %s, nothing deleted", s->user,
		    s->peer, why);
	drop_maildrop(s);
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	session_close(s, "no QUIT");
	/* The input and line buffers may still hold a password. */
	auth_wipe(s, sizeof(*s));
	free(s);
}

void
session_greeting(struct session *s, struct buf *out)
{
	if (s->stamp[0] != '\0')
		buf_printf(out, "+OK pop3d ready %s\r\n", s->stamp);
	else
		buf_printf(out, "+OK pop3d ready\r\n");
}

size_t
session_feed(struct session *s, const void *data, size_t len)
{
	size_t	n, old = s->inlen;

	/* Nothing more will be read: swallow, so a caller never spins. */
	if (s->end)
		return len;
	if (s->inoff > 0) {
		memmove(s->in, s->in + s->inoff, s->inlen - s->inoff);
		s->inlen -= s->inoff;
		s->inoff = 0;
		/* The moved-from tail may hold copies of secrets. */
		auth_wipe(s->in + s->inlen, old - s->inlen);
	}
	n = sizeof(s->in) - s->inlen;
	if (n > len)
		n = len;
	memcpy(s->in + s->inlen, data, n);
	s->inlen += n;
	return n;
}

size_t
session_handoff(struct session *s, const char **how, const char **p)
{
	*how = s->handoff_how != NULL ? s->handoff_how : "";
	*p = s->in + s->inoff;
	return s->inlen - s->inoff;
}

unsigned
session_delay(struct session *s)
{
	unsigned	d = s->delay;

	s->delay = 0;
	return d;
}

/*
 * Clients that download fetch the messages in order, and a session waits
 * for each next RETR while the client takes in the last reply: reading the
 * next message's start then moves the copy from memory off the reply's
 * critical path (DESIGN.md, "Input, output and limits").
 */
void
session_idle(struct session *s)
{
	size_t	idx = s->after_retr;

	s->after_retr = 0;
	if (idx == 0 || s->md == NULL || s->ops->prefetch == NULL)
		return;
	while (idx < s->count && (s->flags[idx] & F_DELETED))
		idx++;
	if (idx < s->count)
		s->ops->prefetch(s->md, idx);
}

/*
 * Replies.
 */

static void
reply_err(struct session *s, struct buf *out, enum ev ev)
{
	const char	*text = "error";
	size_t		 i;
	int		 bad = 0;

	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].ev == ev)
			bad = errors[i].bad;
	/* The last bad command allowed gets this answer instead of its own. */
	if (bad && ++s->bad >= SESSION_MAX_BAD_COMMANDS) {
		ev = EV_ERR_TOOMANY;
		s->end = 1;
	}
	for (i = 0; i < sizeof(errors) / sizeof(errors[0]); i++)
		if (errors[i].ev == ev)
			text = errors[i].text;
	buf_printf(out, "-ERR %s\r\n", text);
}

/* The one place that turns a handler's event into a reply line. */
static void
reply(struct session *s, struct buf *out, int ev)
{
	switch (ev) {
	case EV_OK:
	case EV_MULTI:
		if (s->text[0] != '\0')
			buf_printf(out, "+OK %s\r\n", s->text);
		else
			buf_printf(out, "+OK\r\n");
		break;
	case EV_CHALLENGE:
		buf_printf(out, "+ \r\n");
		break;
	case EV_NONE:
		break;
	default:
		reply_err(s, out, ev);
		break;
	}
	s->text[0] = '\0';
}

/*
 * Message numbers.
 */

/*
 * Strict decimal: digits only (leading zeros are still decimal), no sign,
 * no space, no junk, at most max.  Returns 0, -1 for bad syntax, or -2
 * when the digits exceed max.
 */
static int
parse_number(const char *p, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;

	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		if (v > (max - (uint64_t)(*p - '0')) / 10)
			return -2;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	*out = v;
	return 0;
}

/*
 * The only conversion from a client's 1-based message number to an idx.
 * Returns EV_OK with *idx set, or the error event to reply with.
 */
static int
msn_to_idx(struct session *s, const char *arg, size_t *idx)
{
	uint64_t	msn = 0;
	int		r;

	if ((r = parse_number(arg, UINT64_MAX, &msn)) == -1)
		return EV_ERR_SYNTAX;
	if (r == -2 || msn == 0 || msn > s->count)
		return EV_ERR_NOMSG;
	*idx = (size_t)(msn - 1);
	if (s->flags[*idx] & F_DELETED)
		return EV_ERR_DELETED;
	return EV_OK;
}

/*
 * Input: lines, verbs, arguments.
 */

/*
 * Split the arguments after the verb.  rest is what follows "VERB "
 * (NULL when the line is the bare verb).  Returns argc, or -1 when they
 * don't match the row's rule.
 */
static int
split_args(const struct cmd *c, char *rest, char **argv)
{
	int	argc = 0, i;
	char	*sp;

	if (rest == NULL)
		return c->minargs == 0 ? 0 : -1;
	if (c->maxargs == ARGS_REST) {
		argv[0] = rest;
		return *rest != '\0' ? 1 : -1;
	}
	for (;;) {
		if (argc == c->maxargs)
			return -1;
		argv[argc++] = rest;
		if ((sp = strchr(rest, ' ')) == NULL)
			break;
		*sp = '\0';
		rest = sp + 1;
	}
	for (i = 0; i < argc; i++)
		if (argv[i][0] == '\0')
			return -1;
	return argc >= c->minargs ? argc : -1;
}

static const struct cmd *
find_cmd(const struct cmd *table, const char *verb)
{
	for (; table->verb != NULL; table++)
		if (strcasecmp(table->verb, verb) == 0)
			break;
	return table;
}

/*
 * Before a login, a command that is not a try at one (and not QUIT)
 * counts towards SESSION_MAX_PRELOGIN_COMMANDS: tries have their own
 * limit, talk must not keep a connection for ever.  Returns 1 when this
 * one is over the limit (the session ends), else 0.
 */
static int
too_much_talk(struct session *s, const struct cmd *c, int has_args)
{
	if (s->state != ST_AUTHORIZATION || c->fn == cmd_pass ||
	    c->fn == cmd_apop || (c->fn == cmd_auth && has_args) ||
	    c->fn == cmd_quit_auth)
		return 0;
	if (++s->talk <= SESSION_MAX_PRELOGIN_COMMANDS)
		return 0;
	log_info("%s: %d commands without a login, closing", s->peer,
	    s->talk);
	s->end = 1;
	return 1;
}

/* Run one command line (NUL-terminated, no CRLF) and reply to it. */
static void
dispatch(struct session *s, struct buf *out, char *line)
{
	const struct cmd	*c;
	char			*argv[ARGS_MAX], *rest;
	int			 argc;

	s->user_before = s->have_user;
	s->have_user = 0;
	if ((rest = strchr(line, ' ')) != NULL)
		*rest++ = '\0';
	c = find_cmd(tables[s->state], line);
	if (too_much_talk(s, c, rest != NULL)) {
		reply(s, out, EV_ERR_NOLOGIN);
		return;
	}
	if (c->verb == NULL) {
		/* The default row judges the whole line. */
		if (rest != NULL)
			rest[-1] = ' ';
		argv[0] = line;
		reply(s, out, c->fn(s, 1, argv));
		return;
	}
	if ((argc = split_args(c, rest, argv)) < 0) {
		reply(s, out, EV_ERR_SYNTAX);
		return;
	}
	reply(s, out, c->fn(s, argc, argv));
}

/* Forget n consumed input bytes, wiping them: they may be a password. */
static void
consume(struct session *s, size_t n)
{
	auth_wipe(s->in + s->inoff, n);
	s->inoff += n;
	if (s->inoff == s->inlen)
		s->inoff = s->inlen = 0;
}

/* A line was refused before dispatch: a SASL exchange in progress ends. */
static void
refuse_line(struct session *s, struct buf *out, enum ev ev)
{
	s->have_user = 0;
	if (s->state == ST_SASL)
		s->state = ST_AUTHORIZATION;
	reply(s, out, ev);
}

/*
 * Take the next line from the input and act on it.  Returns 1 when a line
 * (or a piece of an overlong one) was consumed, 0 when a whole line has
 * not arrived yet.
 */
static int
next_line(struct session *s, struct buf *out)
{
	char	*start = s->in + s->inoff, *lf;
	size_t	 avail = s->inlen - s->inoff, len, limit;

	limit = s->state == ST_SASL ? POP3_SASL_LINE_MAX : POP3_CMD_MAX;
	lf = memchr(start, '\n', avail);
	if (s->discarding) {
		/* The rest of a line already answered "line too long". */
		consume(s, lf ? (size_t)(lf - start) + 1 : avail);
		s->discarding = lf == NULL;
		return lf != NULL;
	}
	if (lf == NULL) {
		if (avail < limit)
			return 0;
		/* Even a CR as the last byte can't make this line fit. */
		consume(s, avail);
		s->discarding = 1;
		refuse_line(s, out, EV_ERR_TOOLONG);
		return 1;
	}
	len = (size_t)(lf - start);
	if (len > 0 && start[len - 1] == '\r')
		len--;
	if (len + 2 > limit)
		refuse_line(s, out, EV_ERR_TOOLONG);
	else if (memchr(start, '\0', len) != NULL)
		refuse_line(s, out, EV_ERR_NUL);
	else {
		memcpy(s->line, start, len);
		s->line[len] = '\0';
		dispatch(s, out, s->line);
		auth_wipe(s->line, len);
	}
	consume(s, (size_t)(lf - start) + 1);
	return 1;
}

/*
 * Multi-line replies, produced as room allows.
 */

/* LIST or UIDL lines from s->ml_next on.  Returns 1 when out is full. */
static int
ml_listing(struct session *s, struct buf *out)
{
	size_t	idx;
	int	r;

	for (idx = s->ml_next; idx < s->count; idx++) {
		if (s->flags[idx] & F_DELETED)
			continue;
		if (s->ml == ML_LIST)
			r = buf_printf(out, "%zu %llu\r\n", idx + 1,
			    (unsigned long long)s->ops->size(s->md, idx));
		else
			r = buf_printf(out, "%zu %s\r\n", idx + 1,
			    s->ops->uid(s->md, idx));
		if (r == -1) {
			s->ml_next = idx;
			return 1;
		}
	}
	s->ml = ML_END;
	return 0;
}

/*
 * Stream a message into out.  Returns 1 when out is full or holds the
 * part to send at once (ml_first), -1 on error.
 */
static int
ml_message(struct session *s, struct buf *out)
{
	ssize_t	n;
	size_t	room;

	while ((room = buf_room(out)) > 0) {
		if (s->ml_first > 0 && room > s->ml_first)
			room = s->ml_first;
		n = s->ops->msg_read(s->md, out->data + out->len, room);
		if (n < 0 || (size_t)n > room)
			return -1;
		if (n == 0) {
			s->ml = ML_END;
			return 0;
		}
		out->len += (size_t)n;
		if (s->ml_first > 0) {
			s->ml_first = 0;
			return 1;
		}
	}
	return 1;
}

/*
 * Continue the multi-line reply in progress.  Returns 0 when it is
 * complete, 1 when out is full, -1 when the message can't be read.
 */
static int
ml_continue(struct session *s, struct buf *out)
{
	int	r;

	switch (s->ml) {
	case ML_LINES:
		for (; s->ml_next < s->ml_nlines; s->ml_next++)
			if (buf_printf(out, "%s\r\n",
			    s->ml_lines[s->ml_next]) == -1)
				return 1;
		s->ml = ML_END;
		break;
	case ML_LIST:
	case ML_UIDL:
		if ((r = ml_listing(s, out)) != 0)
			return r;
		break;
	case ML_MSG:
		if ((r = ml_message(s, out)) != 0)
			return r;
		break;
	default:
		break;
	}
	if (buf_add(out, ".\r\n", 3) == -1)
		return 1;
	s->ml = ML_NONE;
	return 0;
}

int
session_work(struct session *s, struct buf *out)
{
	for (;;) {
		if (s->end)
			return SESSION_END;
		if (s->handoff)
			return SESSION_HANDOFF;
		if (s->tls_wanted) {
			s->tls_wanted = 0;
			discard_input(s);
			return SESSION_STARTTLS;
		}
		if (s->ml != ML_NONE) {
			switch (ml_continue(s, out)) {
			case -1:
				log_warnx("%s: message read failed, ending "
				    "session", s->user);
				s->end = 1;
				return SESSION_END;
			case 1:
				return SESSION_WRITE;
			}
			continue;
		}
		/* A failed login is answered alone, after session_delay. */
		if (s->pause) {
			s->pause = 0;
			return SESSION_WRITE;
		}
		if (buf_room(out) < POP3_REPLY_MAX)
			return SESSION_WRITE;
		if (!next_line(s, out))
			return SESSION_READ;
	}
}

/*
 * AUTHORIZATION.
 */

static void
start_lines(struct session *s, const char *const *lines, size_t n)
{
	size_t	i;

	for (i = 0; i < n && i < sizeof(s->ml_lines) / sizeof(s->ml_lines[0]);
	    i++)
		s->ml_lines[i] = lines[i];
	s->ml_nlines = i;
	s->ml_next = 0;
	s->ml = ML_LINES;
}

/*
 * RFC 2449 section 5: what AUTHORIZATION offers is listed in both states;
 * TOP and UIDL are the server's capabilities, so they are listed in both
 * as well.  IMPLEMENTATION only after login (section 6.9).  USER and SASL
 * PLAIN only where plaintext_auth lets a password through, STLS only
 * while it can be used (RFC 2595 section 4).
 */
static int
cmd_capa(struct session *s, int argc, char **argv)
{
	const char	*lines[12];
	size_t		 n = 0;
	int		 pw = plaintext_ok(s);

	(void)argc;
	(void)argv;
	lines[n++] = "TOP";
	if (pw)
		lines[n++] = "USER";
	lines[n++] = "UIDL";
	lines[n++] = "PIPELINING";
	lines[n++] = "RESP-CODES";
	lines[n++] = "AUTH-RESP-CODE";
	lines[n++] = s->expire;
	/* RFC 2449 section 6.5; the backend enforces it (MD_LOGIN_DELAY). */
	if (s->conf->login_delay > 0)
		lines[n++] = s->login_delay;
	if (pw)
		lines[n++] = "SASL PLAIN";
	if (s->can_stls && s->state != ST_TRANSACTION)
		lines[n++] = "STLS";
	if (s->state == ST_TRANSACTION)
		lines[n++] = "IMPLEMENTATION " POP3D_IMPLEMENTATION;
	start_lines(s, lines, n);
	snprintf(s->text, sizeof(s->text), "capability list follows");
	return EV_MULTI;
}

/*
 * RFC 2595 section 4.  The handshake happens outside (SESSION_STARTTLS);
 * without a certificate STLS is a command pop3d doesn't have.
 */
static int
cmd_stls(struct session *s, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	if (s->secure)
		return EV_ERR_TLSACTIVE;
	if (!s->can_stls)
		return EV_ERR_UNKNOWN;
	s->tls_wanted = 1;
	snprintf(s->text, sizeof(s->text), "begin TLS negotiation");
	return EV_OK;
}

/* The "(HOW)" of login lines: the command, then the TLS in use if any. */
static const char *
how_log(const struct session *s, const char *how, char h[HOW_LOG_MAX])
{
	snprintf(h, HOW_LOG_MAX, "%s%s%s", how, s->tls[0] != '\0' ? ", " : "",
	    s->tls);
	return h;
}

/*
 * A password refused by plaintext_auth before any check, as EV_ERR_PLAINTEXT.
 * name: the one the client gave, or NULL.  Not a failed login, since no
 * password was tried; logged once per connection, since the refusal
 * doesn't count towards any limit and a client may repeat it.
 */
static int
login_refused(struct session *s, const char *name, const char *how)
{
	char	h[HOW_LOG_MAX];

	if (!s->refused)
		log_info("login %s from %s (%s): refused, plaintext_auth "
		    "forbids passwords without TLS",
		    name != NULL ? log_name(name) : "(no name)", s->peer,
		    how_log(s, how, h));
	s->refused = 1;
	return EV_ERR_PLAINTEXT;
}

/* Remember the login name; one too long to keep becomes one that can't log in. */
static void
set_user(struct session *s, const char *name)
{
	size_t	len = strlen(name);

	if (len > AUTH_NAME_MAX) {
		name = "-";
		len = 1;
	}
	memmove(s->user, name, len);	/* name may be s->user */
	s->user[len] = '\0';
}

static int
cmd_user(struct session *s, int argc, char **argv)
{
	(void)argc;
	if (!plaintext_ok(s))
		return login_refused(s, argv[0], "USER");
	if (s->user_before)
		return EV_ERR_USERTWICE;
	/* Always +OK, so USER never tells which names exist. */
	set_user(s, argv[0]);
	s->have_user = 1;
	snprintf(s->text, sizeof(s->text), "send PASS");
	return EV_OK;
}

/*
 * Count a failed login; the last allowed one ends the session.  The why
 * of a failure after a verified password or from a server fault is
 * matched by its text in dist/fail2ban/filter.d/pop3d.conf, which must
 * not ban for it: change both together.
 */
static int
login_failed(struct session *s, int ev, const char *how, const char *why)
{
	char	h[HOW_LOG_MAX];

	log_info("login %s from %s (%s): failed, %s", log_name(s->user),
	    s->peer, how_log(s, how, h), why);
	if (ev == EV_ERR_AUTH || ev == EV_ERR_AUTHZID) {
		/* The base; the monitor adds the growth (peerlimit.c). */
		s->delay = SESSION_AUTH_FAIL_DELAY_MS;
		s->pause = 1;
	}
	if (++s->authfail >= SESSION_MAX_AUTH_FAILURES)
		s->end = 1;
	return ev;
}

static int
md_event(int status)
{
	switch (status) {
	case MD_INUSE:
		return EV_ERR_INUSE;
	case MD_PERM:
		return EV_ERR_SYSPERM;
	case MD_CHANGED:
		return EV_ERR_CHANGED;
	case MD_LOGIN_DELAY:
		return EV_ERR_LOGINDELAY;
	default:
		return EV_ERR_SYSTEMP;
	}
}

/* Count the maildrop and enter TRANSACTION. */
static int
enter_transaction(struct session *s, const char *how)
{
	char	h[HOW_LOG_MAX];
	size_t	idx;

	s->count = s->ops->count(s->md);
	if ((s->flags = calloc(s->count > 0 ? s->count : 1, 1)) == NULL) {
		drop_maildrop(s);
		return login_failed(s, EV_ERR_NOMEM, how, "out of memory");
	}
	s->live = s->count;
	s->live_octets = 0;
	for (idx = 0; idx < s->count; idx++)
		s->live_octets += s->ops->size(s->md, idx);
	s->state = ST_TRANSACTION;
	log_info("login %s from %s (%s): ok, %zu messages", s->user, s->peer,
	    how_log(s, how, h), s->count);
	snprintf(s->text, sizeof(s->text), "%s has %zu messages (%llu octets)",
	    s->user, s->live, (unsigned long long)s->live_octets);
	return EV_OK;
}

/*
 * Finish a login whose credentials check returned rc.  [IN-USE] and the
 * other maildrop errors can only come after verified credentials.  A
 * check that could not be made says why after its fixed text ("... (passwd
 * file unreadable)"), which the fail2ban filter must still know.
 */
static int
login_finish(struct session *s, int rc, struct auth_user *who,
    const char *how)
{
	const char	*why;
	char		 temp[128];
	int		 st;

	why = rc == AUTH_OK || s->be->why == NULL ? NULL :
	    s->be->why(s->be->ctx);
	if (why != NULL && why[0] == '\0')
		why = NULL;
	if (rc == AUTH_TEMPFAIL) {
		snprintf(temp, sizeof(temp), "%s%s%s%s",
		    "credentials could not be checked", why != NULL ? " (" : "",
		    why != NULL ? why : "", why != NULL ? ")" : "");
		return login_failed(s, EV_ERR_AUTHTEMP, how, temp);
	}
	if (rc != AUTH_OK)
		return login_failed(s, EV_ERR_AUTH, how,
		    why != NULL ? why : "bad credentials");
	st = s->be->open_maildrop(s->be->ctx, who, &s->ops, &s->md);
	auth_wipe(who, sizeof(*who));
	if (st == MD_HANDOFF) {
		s->md = NULL;
		s->handoff = 1;
		s->handoff_how = how;
		return EV_NONE;
	}
	if (st != MD_OK) {
		s->md = NULL;
		return login_failed(s, md_event(st), how,
		    st == MD_INUSE ? "maildrop in use" :
		    st == MD_LOGIN_DELAY ? "login_delay not over" :
		    "maildrop error");
	}
	return enter_transaction(s, how);
}

void
session_resume(struct session *s, struct auth_user *who, const char *how,
    struct buf *out)
{
	int	ev;

	set_user(s, who->name);
	ev = login_finish(s, AUTH_OK, who, how);
	/* A second handoff would lose the client: refuse it. */
	if (s->handoff) {
		s->handoff = 0;
		ev = EV_ERR_SYSTEMP;
	}
	if (s->state != ST_TRANSACTION)
		s->end = 1;
	reply(s, out, ev);
}

/* USER/PASS and SASL PLAIN end here with a name and a password. */
static int
login_password(struct session *s, const char *user, const char *pass,
    const char *how)
{
	struct auth_user	who;
	int			rc;

	set_user(s, user);
	/* Names that could never log in fail like a wrong password. */
	if (!auth_name_ok(s->user))
		return login_failed(s, EV_ERR_AUTH, how, "invalid user name");
	if (strlen(pass) > AUTH_PASS_MAX)
		return login_failed(s, EV_ERR_AUTH, how, "password too long");
	memset(&who, 0, sizeof(who));
	rc = s->be->check_password(s->be->ctx, s->user, pass, &who);
	return login_finish(s, rc, &who, how);
}

static int
cmd_pass(struct session *s, int argc, char **argv)
{
	(void)argc;
	if (!plaintext_ok(s))
		return login_refused(s, s->user_before ? s->user : NULL,
		    "USER");
	if (!s->user_before)
		return EV_ERR_NOUSER;
	return login_password(s, s->user, argv[0], "USER");
}

static int
digest_ok(const char *d)
{
	size_t	i;

	for (i = 0; d[i] != '\0'; i++)
		if (!((d[i] >= '0' && d[i] <= '9') ||
		    (d[i] >= 'a' && d[i] <= 'f')))
			return 0;
	return i == 32;
}

static int
cmd_apop(struct session *s, int argc, char **argv)
{
	struct auth_user	who;
	int			rc;

	(void)argc;
	/* Without APOP the greeting had no stamp: the verb doesn't exist. */
	if (!s->conf->apop)
		return EV_ERR_UNKNOWN;
	/* The digest guards the password, not the mail that follows. */
	if (!plaintext_ok(s))
		return login_refused(s, argv[0], "APOP");
	set_user(s, argv[0]);
	if (!auth_name_ok(argv[0]))
		return login_failed(s, EV_ERR_AUTH, "APOP",
		    "invalid user name");
	if (!digest_ok(argv[1]))
		return login_failed(s, EV_ERR_AUTH, "APOP",
		    "malformed APOP digest");
	memset(&who, 0, sizeof(who));
	rc = s->be->check_apop(s->be->ctx, argv[0], s->stamp, argv[1], &who);
	return login_finish(s, rc, &who, "APOP");
}

/*
 * RFC 4616 message: [authzid] NUL authcid NUL passwd.  An authzid other
 * than the authcid would mean acting for someone else, which pop3d does
 * not allow.
 */
static int
sasl_plain(struct session *s, const unsigned char *msg, size_t len)
{
	const char	*authzid = (const char *)msg, *authcid, *pass;
	const char	*end = authzid + len;

	if ((authcid = memchr(authzid, '\0', len)) == NULL)
		return login_failed(s, EV_ERR_AUTH, "AUTH PLAIN",
		    "malformed PLAIN message");
	authcid++;
	if ((pass = memchr(authcid, '\0', (size_t)(end - authcid))) == NULL)
		return login_failed(s, EV_ERR_AUTH, "AUTH PLAIN",
		    "malformed PLAIN message");
	pass++;
	/* A NUL inside the password would cut it short: refuse it. */
	if (memchr(pass, '\0', (size_t)(end - pass)) != NULL)
		return login_failed(s, EV_ERR_AUTH, "AUTH PLAIN",
		    "malformed PLAIN message");
	if (authzid[0] != '\0' && strcmp(authzid, authcid) != 0) {
		set_user(s, authcid);
		return login_failed(s, EV_ERR_AUTHZID, "AUTH PLAIN",
		    "authorization identity differs");
	}
	return login_password(s, authcid, pass, "AUTH PLAIN");
}

/* Decode a PLAIN response (the initial one or a continuation line). */
static int
sasl_plain_b64(struct session *s, const char *b64)
{
	/* One more byte than the decoded maximum keeps a terminating NUL. */
	unsigned char	msg[POP3_SASL_LINE_MAX / 4 * 3 + 1];
	ssize_t		n;
	int		ev;

	s->state = ST_AUTHORIZATION;
	if (strcmp(b64, "=") == 0)
		n = 0;		/* RFC 5034 section 4: "=" is an empty response */
	else if ((n = base64_decode(b64, strlen(b64), msg,
	    sizeof(msg) - 1)) < 0)
		return EV_ERR_BASE64;
	msg[n] = '\0';
	ev = sasl_plain(s, msg, (size_t)n);
	auth_wipe(msg, sizeof(msg));
	return ev;
}

/*
 * AUTH without a mechanism is not RFC 5034 syntax, but it was the RFC 1734
 * way to ask for the mechanisms and Cyrus and Dovecot still answer it with
 * the list: pop3d does the same, since answering costs nothing and a
 * client probing that way then works.
 */
static int
cmd_auth(struct session *s, int argc, char **argv)
{
	static const char *const	mechs[] = { "PLAIN" };

	if (argc == 0) {
		start_lines(s, mechs, plaintext_ok(s) ? 1 : 0);
		snprintf(s->text, sizeof(s->text), "SASL mechanisms follow");
		return EV_MULTI;
	}
	if (strcasecmp(argv[0], "PLAIN") != 0)
		return EV_ERR_MECH;
	if (!plaintext_ok(s))
		return login_refused(s, NULL, "AUTH PLAIN");
	if (argc == 2)
		return sasl_plain_b64(s, argv[1]);
	s->state = ST_SASL;
	return EV_CHALLENGE;
}

static int
cmd_sasl_response(struct session *s, int argc, char **argv)
{
	(void)argc;
	if (strcmp(argv[0], "*") == 0) {
		s->state = ST_AUTHORIZATION;
		return EV_ERR_CANCEL;
	}
	return sasl_plain_b64(s, argv[0]);
}

static int
cmd_quit_auth(struct session *s, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	/* RFC 1939 section 6: no UPDATE outside TRANSACTION. */
	s->end = 1;
	snprintf(s->text, sizeof(s->text), "pop3d signing off");
	return EV_OK;
}

static int
cmd_unknown(struct session *s, int argc, char **argv)
{
	char	verb[8];
	size_t	len = strcspn(argv[0], " ");
	int	st;

	(void)argc;
	/* Tell a misplaced command from one pop3d doesn't know at all. */
	if (len < sizeof(verb)) {
		memcpy(verb, argv[0], len);
		verb[len] = '\0';
		for (st = 0; st < ST_COUNT; st++)
			if (st != (int)s->state &&
			    find_cmd(tables[st], verb)->verb != NULL)
				return EV_ERR_STATE;
	}
	return EV_ERR_UNKNOWN;
}

/*
 * TRANSACTION.
 */

static int
cmd_stat(struct session *s, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	snprintf(s->text, sizeof(s->text), "%zu %llu", s->live,
	    (unsigned long long)s->live_octets);
	return EV_OK;
}

/* LIST and UIDL share the argument handling. */
static int
listing(struct session *s, int argc, char **argv, enum ml kind)
{
	size_t	idx;
	int	ev;

	if (argc == 0) {
		s->ml = kind;
		s->ml_next = 0;
		snprintf(s->text, sizeof(s->text), "%zu messages (%llu octets)",
		    s->live, (unsigned long long)s->live_octets);
		return EV_MULTI;
	}
	if ((ev = msn_to_idx(s, argv[0], &idx)) != EV_OK)
		return ev;
	if (kind == ML_LIST)
		snprintf(s->text, sizeof(s->text), "%zu %llu", idx + 1,
		    (unsigned long long)s->ops->size(s->md, idx));
	else
		snprintf(s->text, sizeof(s->text), "%zu %s", idx + 1,
		    s->ops->uid(s->md, idx));
	return EV_OK;
}

static int
cmd_list(struct session *s, int argc, char **argv)
{
	return listing(s, argc, argv, ML_LIST);
}

static int
cmd_uidl(struct session *s, int argc, char **argv)
{
	return listing(s, argc, argv, ML_UIDL);
}

/*
 * Start streaming idx; body_lines < 0 for RETR.  A RETR that needs more
 * than one write sends its start at once (SESSION_FIRST_WRITE).
 */
static int
start_message(struct session *s, size_t idx, long body_lines)
{
	uint64_t	size;
	int		st;

	if ((st = s->ops->msg_open(s->md, idx, body_lines)) != MD_OK)
		return md_event(st);
	s->ml = ML_MSG;
	s->ml_first = 0;
	if (body_lines < 0) {
		size = s->ops->size(s->md, idx);
		snprintf(s->text, sizeof(s->text), "%llu octets",
		    (unsigned long long)size);
		if (size > SESSION_OUTBUF_SIZE)
			s->ml_first = SESSION_FIRST_WRITE;
	} else {
		snprintf(s->text, sizeof(s->text), "top of message follows");
	}
	return EV_MULTI;
}

static int
cmd_retr(struct session *s, int argc, char **argv)
{
	size_t	idx;
	int	ev;

	(void)argc;
	if ((ev = msn_to_idx(s, argv[0], &idx)) != EV_OK)
		return ev;
	if ((ev = start_message(s, idx, -1)) == EV_MULTI) {
		s->flags[idx] |= F_RETRIEVED | F_EXPIRE;
		s->after_retr = idx + 1;
	}
	return ev;
}

static int
cmd_top(struct session *s, int argc, char **argv)
{
	uint64_t	lines;
	size_t		idx;
	int		ev;

	(void)argc;
	if ((ev = msn_to_idx(s, argv[0], &idx)) != EV_OK)
		return ev;
	/* more lines than any body has: the whole message (RFC 1939) */
	switch (parse_number(argv[1], LONG_MAX, &lines)) {
	case 0:
		break;
	case -2:
		lines = LONG_MAX;
		break;
	default:
		return EV_ERR_SYNTAX;
	}
	return start_message(s, idx, (long)lines);
}

static int
cmd_dele(struct session *s, int argc, char **argv)
{
	size_t	idx;
	int	ev;

	(void)argc;
	if ((ev = msn_to_idx(s, argv[0], &idx)) != EV_OK)
		return ev;
	s->flags[idx] |= F_DELETED;
	s->live--;
	s->live_octets -= s->ops->size(s->md, idx);
	snprintf(s->text, sizeof(s->text), "message %zu deleted", idx + 1);
	return EV_OK;
}

static int
cmd_noop(struct session *s, int argc, char **argv)
{
	(void)s;
	(void)argc;
	(void)argv;
	return EV_OK;
}

/*
 * RSET clears the retrieved marks as well as the deletions: under EXPIRE 0
 * a retrieved message is an implicit DELE, and a client saying RSET wants
 * nothing removed.
 */
static int
cmd_rset(struct session *s, int argc, char **argv)
{
	size_t	idx;

	(void)argc;
	(void)argv;
	for (idx = 0; idx < s->count; idx++)
		s->flags[idx] &= ~(F_DELETED | F_EXPIRE);
	s->live = s->count;
	s->live_octets = 0;
	for (idx = 0; idx < s->count; idx++)
		s->live_octets += s->ops->size(s->md, idx);
	snprintf(s->text, sizeof(s->text), "maildrop has %zu messages "
	    "(%llu octets)", s->live, (unsigned long long)s->live_octets);
	return EV_OK;
}

/* What QUIT removes, counted apart for the logout line. */
struct removal {
	size_t			nretr, ndele, nexp;
	unsigned long long	oretr, odele, oexp;
};

/*
 * Turn s->flags into update()'s del[] in place, counting what goes: by
 * DELE, or expired (EXPIRE 0's implicit DELE of a retrieved message).
 */
static void
plan_removal(struct session *s, struct removal *r)
{
	unsigned long long	sz;
	size_t			idx;
	int			del;

	memset(r, 0, sizeof(*r));
	for (idx = 0; idx < s->count; idx++) {
		sz = s->ops->size(s->md, idx);
		if (s->flags[idx] & F_RETRIEVED) {
			r->nretr++;
			r->oretr += sz;
		}
		del = 1;
		if (s->flags[idx] & F_DELETED) {
			r->ndele++;
			r->odele += sz;
		} else if ((s->flags[idx] & F_EXPIRE) && !s->conf->expire_never) {
			r->nexp++;
			r->oexp += sz;
		} else
			del = 0;
		s->flags[idx] = (unsigned char)del;
	}
}

/*
 * UPDATE (RFC 1939 section 6).  It runs as soon as QUIT is read, before
 * the reply is written, so a client that hangs up right after QUIT still
 * gets its deletions.
 */
static int
cmd_quit(struct session *s, int argc, char **argv)
{
	struct removal	r;
	int		st;

	(void)argc;
	(void)argv;
	plan_removal(s, &r);
	st = s->ops->update(s->md, s->flags);
	if (st == MD_OK)
		log_info("logout %s from %s: retrieved %zu messages (%llu "
		    "octets), deleted %zu (DELE, %llu octets), expired %zu "
		    "(retrieved, %llu octets)", s->user, s->peer, r.nretr,
		    r.oretr, r.ndele, r.odele, r.nexp, r.oexp);
	else
		log_info("logout %s from %s: retrieved %zu messages (%llu "
		    "octets), update failed, nothing deleted", s->user,
		    s->peer, r.nretr, r.oretr);
	drop_maildrop(s);
	s->end = 1;
	if (st != MD_OK)
		return st == MD_CHANGED ? EV_ERR_UPDCHANGED : EV_ERR_UPDATE;
	snprintf(s->text, sizeof(s->text), "pop3d signing off (%zu messages "
	    "deleted)", r.ndele + r.nexp);
	return EV_OK;
}
