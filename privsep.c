/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Privilege separation for one connection, root's side alone: the story
 * of a login as root sees it, in the order it happens.  The pre-login
 * process's side (the backend that asks the monitor, the key stand-in,
 * the TLS relay) is prelogin.c, the user's process's backend direct.c,
 * the messages between the two privmsg.c.
 *
 *   listener (root, pop3d.c)  accept --fork--> this connection's process
 *   monitor (root)  --fork-->  pre-login process (`user', chroot jail,
 *                              syscall filter): PROXY header, TLS
 *                              handshake, greeting, the protocol engine
 *   monitor  <-- PS_REKEY (32 hex digits) --  pre-login, first if at all
 *   monitor  --> PS_ADMIT -->  pre-login
 *   monitor  <-- PS_SIGN / PS_SEAL / PS_OPEN + their bytes --  pre-login
 *   monitor  --> PS_SIGNED / PS_TICKET + their bytes -->  pre-login
 *   monitor  <-- PS_PASSWORD / PS_APOP (fixed size) --  pre-login
 *   monitor  --> PS_VERDICT -->  pre-login
 *   monitor  <-- PS_HANDOFF + pipelined input --  pre-login
 *   monitor becomes the mailbox owner and serves the session (conn.c,
 *   its maildrop opened by direct.c); the pre-login process exits
 *   (plain) or relays TLS to it (socketpair).
 *
 * Every function here runs as root, and each is named below, in the
 * order a connection meets them, with what each reads.  The other names
 * are what they call in other files: privmsg.c's (the messages, shared
 * with the pre-login process), prelogin.c's, direct.c's, and those of
 * tlskeys.c, peerlimit.c, pwcheck.c, account.c, auth.c and conn.c.
 *
 *   privsep_init, privsep_check_setup, find_user, find_mail_group,
 *     jail_ready, jail_ok (the listener, at start; privsep_reload and
 *     find_mail_group at SIGHUP): the configuration, the account `user'
 *     and the group mail_group (account.c's lookups, each in a child),
 *     the jail directory's mode and owner.
 *   session_id, privsep_serve up to the fork: nothing from the client.
 *   In the new child until it switches user, keys_to_monitor
 *     (tlskeys.c's tls_prelogin_keys unmaps, reads no key; prelogin.c's
 *     prelogin_keyops only notes the channel) and jail() with
 *     set_groups and switch_ids: nothing.  Then prelogin.c, jailed.
 *   monitor(): one PRIVSEP_MSG_SIZE message at a time (privmsg.c's
 *     privsep_recv_msg, privsep_read_all), which privsep_decode checks
 *     field by field (type, lengths, terminated strings, hex) before
 *     anything acts on it; answers go out through privsep_send_msg
 *     (privsep_encode) and privsep_write_all; is_keyop() sorts them.
 *   rekey(): the decoded key (hex, turned into bytes by unhex); the
 *     shared per-address table through peerlimit_sess_rekey, the one slot
 *     it holds.
 *   keyop(): exactly the byte count privsep_decode allowed for the type,
 *     handed unparsed to tlskeys.c's tls_sign (a PKCS#1 v1.5 signature
 *     of the digest), tls_ticket_seal or tls_ticket_open (AES-256-GCM;
 *     open reads the 8-byte time inside, which only a seal wrote);
 *     keyop_allowed() counts them (PRIVSEP_SIGNS_MAX, _SEALS_MAX,
 *     _OPENS_MAX a connection, none after a login).  The keys the
 *     monitor never uses are unmapped at the fork (tls_monitor_keys),
 *     the private keys after the signature, the ticket keys after the
 *     seal, all of them at the handoff and when the pre-login process
 *     ends (tls_forget_*).
 *   verify(): user name and secret, to pwcheck_password or auth_apop (the
 *     passwd file, the APOP secrets, the system's shadow), at most
 *     SESSION_MAX_AUTH_FAILURES times; wait_turn() before the check and
 *     hold_back() after a failure wait on the clock and watch the client
 *     socket for a hang-up only (conn_wait_until reads no byte).
 *     Secrets are wiped as soon as they are checked.
 *   serve_user() on PS_HANDOFF after a verified login: reads the
 *     pipelined input bytes into the session's buffer unparsed
 *     (privmsg.c's privsep_trim_heap first), gives up the keys and the
 *     per-address table (peerlimit_sess_detach), then become(), with
 *     set_groups and add_group (the groups verify() found, no lookup),
 *     settle(), jail_mailbox (chroot into the mailbox's directory) and
 *     switch_ids (to the owner, refusing uid 0); recover.c's processes
 *     take privsep_become_owner() there instead.  The rest of
 *     serve_user() runs as the owner: the session's syscall filter goes
 *     on before direct.c's direct_serve() parses the first of those
 *     bytes.
 *   reap_child(): the pre-login process's exit status.
 *
 * Not started as root, the same processes run as that user, unjailed.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "account.h"
#include "auth.h"
#include "buf.h"
#include "conn.h"
#include "direct.h"
#include "log.h"
#include "params.h"
#include "peerlimit.h"
#include "prelogin.h"
#include "privmsg.h"
#include "privsep.h"
#include "proctitle.h"
#include "pwcheck.h"
#include "sandbox.h"
#include "spool.h"
#include "tlskeys.h"
#include "transport.h"

/* Who pre-login processes (and virtual users without ids) run as. */
static int	ps_root;
static uid_t	ps_uid;
static gid_t	ps_gid;
static gid_t	ps_mail_gid;	/* mail_group, or 0 for none */

/* One connection's privileged side. */
struct monitor {
	const struct conf	*c;
	struct conn_link	*link;
	int			 fd_in, fd_out;
	int			 ch;		/* to the pre-login process */
	pid_t			 child;		/* -1 once reaped */
	int			 tries;
	int			 verified;
	int			 rekeyed;
	struct auth_user	 who;		/* the verified login */
	const char		*how;
	unsigned		 signs, seals, opens;	/* key operations */
	time_t			 born;	/* of the session a ticket opened */
};

static int	monitor(struct monitor *mo);
static int	verify(struct monitor *mo, struct privsep_msg *m);
static int	rekey(struct monitor *mo, const struct privsep_msg *m);
static int	keyop(struct monitor *mo, const struct privsep_msg *m);
static int	serve_user(struct monitor *mo, const struct privsep_msg *m);
static int	become(struct monitor *mo);
static int	set_groups(uid_t uid, gid_t gid, int n, const gid_t *groups,
	    gid_t extra);
static int	add_group(gid_t extra);
static int	settle(uid_t uid, gid_t gid, char *mailbox);
static int	jail_mailbox(char *mailbox);
static int	switch_ids(uid_t uid, gid_t gid);
static void	keys_to_monitor(struct tls_server *s, int fd);
static int	jail(const struct conf *c);

/*
 * Start-up, as root in the listener: who the processes run as, and the
 * jail they run in.
 */

/*
 * The jail must belong to root alone: a jail the jailed user can write
 * to is a place to plant files.
 */
static int
jail_ok(const char *dir)
{
	struct stat	st;

	if (stat(dir, &st) == -1) {
		log_warn("chroot %s", dir);
		return -1;
	}
	if (!S_ISDIR(st.st_mode) || st.st_uid != 0 ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		log_warnx("chroot %s: must be a directory owned by root and "
		    "writable by root alone", dir);
		return -1;
	}
	return 0;
}

/*
 * The jail exists, else is made (empty), or with check set only shown
 * to be makeable: pop3d -t makes it and takes it away again, which is
 * the one sure test (a read-only file system, systemd's
 * ProtectSystem=strict, a missing parent all fail it there and not only
 * at the start).
 */
static int
jail_ready(const char *dir, int check)
{
	if (mkdir(dir, 0755) == 0) {
		if (check)
			(void)rmdir(dir);
		return 0;
	}
	if (errno != EEXIST) {
		log_warn("chroot %s: mkdir", dir);
		return -1;
	}
	return jail_ok(dir);
}

/*
 * Look up c's mail_group into *gid (0 for none, or when there is no such
 * group).  Returns 0, or -1 when the lookup failed (logged).
 */
static int
find_mail_group(const struct conf *c, gid_t *gid)
{
	int	r;

	*gid = 0;
	if (c->mail_group[0] == '\0')
		return 0;
	if ((r = account_group(c->mail_group, gid)) == 0)
		log_warnx("mail_group %s: no such group; sessions can make "
		    "dotlocks only where their owner may", c->mail_group);
	return r == -1 ? -1 : 0;
}

/*
 * When root: look up `user' (never uid 0) and the mail group, once, in
 * the listener, so no connection's process has to (account.c says why
 * each lookup runs in a child of its own).
 */
static int
find_user(const struct conf *c)
{
	struct account	a;
	int		r;

	if ((r = account_user(c->user, &a)) != 1) {
		if (r == 0)
			log_warnx("user %s: no such account (create it: "
			    "useradd --system --no-create-home --shell "
			    "/usr/sbin/nologin %s)", c->user, c->user);
		return -1;
	}
	if (a.uid == 0) {
		log_warnx("user %s has uid 0: refusing to run as root",
		    c->user);
		return -1;
	}
	ps_uid = a.uid;
	ps_gid = a.gid;
	return find_mail_group(c, &ps_mail_gid);
}

int
privsep_init(const struct conf *c)
{
	if (geteuid() != 0)
		return 0;
	if (find_user(c) == -1)
		return -1;
	ps_root = 1;
	return jail_ready(c->chroot, 0);
}

void
privsep_reload(const struct conf *c)
{
	gid_t	gid;

	if (!ps_root)
		return;
	if (find_mail_group(c, &gid) == -1)
		log_warnx("SIGHUP: mail_group %s not looked up; sessions keep "
		    "the old one", c->mail_group);
	else
		ps_mail_gid = gid;
}

int
privsep_check_setup(const struct conf *c)
{
	if (geteuid() != 0)
		return 0;
	return find_user(c) == -1 ? -1 : jail_ready(c->chroot, 1);
}

/*
 * Fork: one connection becomes two processes, the monitor (root) and
 * the pre-login process.
 */

/* One id for every log line of this session, in all its processes. */
static void
session_id(void)
{
	unsigned char	r[4] = { 0 };
	char		id[16];

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		memcpy(r, &(pid_t){ getpid() }, sizeof(r));
	snprintf(id, sizeof(id), "%02x%02x%02x%02x", r[0], r[1], r[2], r[3]);
	log_session(id);
}

/*
 * Reap the pre-login process, saying how it ended if that was abnormal
 * and not by the signal sent (0: none) to end it.
 */
static int
reap_child(pid_t pid, int sent)
{
	int	st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == sent)
		return -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS) {
		log_warnx("pre-login process killed by the syscall filter "
		    "(SIGSYS): see the kernel's audit log for the call");
		return -1;
	}
	if (WIFSIGNALED(st)) {
		log_warnx("pre-login process killed by signal %d",
		    WTERMSIG(st));
		return -1;
	}
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int
privsep_serve(const struct conf *c, int fd_in, int fd_out,
    struct conn_link *link,
    int (*prepare)(struct conn_link *, int monitor, void *), void *arg)
{
	struct monitor	mo;
	char		stamp[128];
	int		sp[2], rc, crc = 0, sent;

	session_id();
	conn_make_stamp(stamp, sizeof(stamp));
	link->stamp = stamp;
	memset(&mo, 0, sizeof(mo));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1 ||
	    (mo.child = fork()) == -1) {
		log_warn("%s: privilege separation", link->peer);
		return -1;
	}
	if (mo.child == 0) {
		proctitle_set("pre-login %s", link->peer);
		close(sp[0]);
		peerlimit_sess_detach(link->lim);
		link->lim = NULL;
		keys_to_monitor(link->tls, sp[1]);
		_exit(jail(c) == 0 && prelogin_serve(c, fd_in, fd_out, link,
		    sp[1], prepare, arg) == 0 ? 0 : 1);
	}
	close(sp[1]);
	proctitle_set("[priv] %s", link->peer);
	/* Only the pre-login process uses the keys it keeps. */
	tls_monitor_keys(link->tls);
	mo.c = c;
	mo.link = link;
	mo.fd_in = fd_in;
	mo.fd_out = fd_out;
	mo.ch = sp[0];
	rc = monitor(&mo);
	tls_forget_secrets(link->tls);
	close(sp[0]);
	if (mo.child != -1) {
		sent = rc == -1 && !mo.verified ? SIGTERM : 0;
		if (sent != 0)
			kill(mo.child, sent);
		crc = reap_child(mo.child, sent);
	}
	return rc == 0 && crc == 0 ? 0 : -1;
}

/*
 * Jail: the pre-login process, `user' in the empty chroot, which reads
 * every client byte until a login is verified (prelogin.c, from then on).
 */

/*
 * In the new pre-login process, before it is jailed: the keys the
 * monitor keeps go at once, and their operations go to it on fd.
 */
static void
keys_to_monitor(struct tls_server *s, int fd)
{
	tls_prelogin_keys(s, prelogin_keyops(fd));
}

/* The pre-login process: into the empty jail, as `user'. */
static int
jail(const struct conf *c)
{
	if (!ps_root)
		return 0;
	/* No supplementary groups: the jail has nothing a group could open. */
	if (set_groups(ps_uid, ps_gid, 1, &ps_gid, 0) == -1)
		return -1;
	if (chroot(c->chroot) == -1 || chdir("/") == -1) {
		log_warn("chroot %s", c->chroot);
		return -1;
	}
	return switch_ids(ps_uid, ps_gid);
}

/*
 * Check credentials: the monitor answers the pre-login process, one
 * fixed-size message at a time.
 */

static int
is_keyop(uint32_t type)
{
	return type == PS_SIGN || type == PS_SEAL || type == PS_OPEN;
}

/*
 * Serve the pre-login process until it ends or hands the session over.
 * The user's session runs below this frame, so the handlers with
 * message and key buffers (verify, rekey, keyop) are never inlined into
 * it: their 3 KB would lie above every plain session's stack.
 */
static int
monitor(struct monitor *mo)
{
	struct privsep_msg	m;
	int			r;

	for (;;) {
		if ((r = privsep_recv_msg(mo->ch, &m)) != 0) {
			if (r == -2)
				log_warnx("malformed message from the "
				    "pre-login process: ending");
			else if (errno != 0)
				log_warn("privsep channel");
			return r == -1 && errno == 0 ? 0 : -1;
		}
		if (m.type == PS_HANDOFF)
			return serve_user(mo, &m);
		if (is_keyop(m.type))
			r = keyop(mo, &m);
		else if (m.type == PS_REKEY)
			r = rekey(mo, &m);
		else if (m.type == PS_PASSWORD || m.type == PS_APOP)
			r = verify(mo, &m);
		else
			r = -1;
		if (r == -1) {
			explicit_bzero(&m, sizeof(m));
			return -1;
		}
	}
}

/*
 * Before a check: wait as peerlimit.c says for the failures that came
 * before it (in this connection, and remembered from the address).  The
 * wait comes before the check, not after its failure, so that a guesser
 * who hangs up as soon as a quick "+OK" fails to come learns nothing
 * sooner: its next guess waits all the same.  The client leaving ends
 * the connection at once (nothing was checked).  Returns 0, or -1 when
 * it left.
 */
static int
wait_turn(struct monitor *mo)
{
	struct conn_link	*l = mo->link;
	unsigned		 ms;

	ms = peerlimit_fail_wait_ms(l->fail_penalty, l->failures,
	    mo->c->auth_fail_delay_max);
	if (ms == 0)
		return 0;
	log_info("%s: %u failed logins here, %u remembered from the address: "
	    "this one checked after %u ms", l->peer, l->failures,
	    l->fail_penalty, ms);
	if (conn_wait_until(mo->fd_in, l->sock, conn_now_ms() + ms) == -1) {
		log_info("%s: client left while its login waited", l->peer);
		return -1;
	}
	return 0;
}

/*
 * After a failed check that began at t0: count it and answer at t0 and
 * the base delay, whatever the check cost (an unknown user, a cheap
 * hash, an expensive one), so the time tells no user name apart.  The
 * wait is here, on the root side, so a pre-login process can't skip
 * it; the client leaving ends the connection at once.  Returns 0, or -1
 * when it left.
 */
static int
hold_back(struct monitor *mo, long long t0)
{
	mo->link->failures++;
	if (conn_wait_until(mo->fd_in, mo->link->sock,
	    t0 + SESSION_AUTH_FAIL_DELAY_MS) == -1) {
		log_info("%s: client left during the failed-login delay",
		    mo->link->peer);
		return -1;
	}
	return 0;
}

/* Answer one PS_PASSWORD or PS_APOP.  Returns 0, or -1 to end. */
static __attribute__((noinline)) int
verify(struct monitor *mo, struct privsep_msg *m)
{
	struct privsep_msg	 v;
	const char		*why;
	long long		 t0;
	int			 rc;

	if (mo->verified || ++mo->tries > SESSION_MAX_AUTH_FAILURES) {
		log_warnx("pre-login process asked once too often: ending");
		return -1;
	}
	if (wait_turn(mo) == -1) {
		explicit_bzero(m->secret, sizeof(m->secret));
		return -1;
	}
	t0 = conn_now_ms();
	memset(&mo->who, 0, sizeof(mo->who));
	if (m->type == PS_PASSWORD) {
		rc = pwcheck_password(mo->c, m->user, m->secret,
		    mo->link->stamp, mo->link->peer, &mo->who, &why);
		mo->how = "password";
	} else {
		rc = auth_apop(mo->c, m->user, mo->link->stamp, m->secret,
		    &mo->who);
		why = auth_last_reason();
		mo->how = "APOP";
	}
	explicit_bzero(m->secret, sizeof(m->secret));
	mo->verified = rc == AUTH_OK;
	if (rc == AUTH_FAIL && hold_back(mo, t0) == -1)
		return -1;
	memset(&v, 0, sizeof(v));
	v.type = PS_VERDICT;
	v.result = (uint32_t)rc;
	snprintf(v.text, sizeof(v.text), "%s", why);
	return privsep_send_msg(mo->ch, &v);
}

/* One lower-case hex digit's value (privsep_decode let only those by). */
static unsigned
unhex(char c)
{
	return c >= '0' && c <= '9' ? (unsigned)(c - '0') :
	    c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10) : 0;
}

/*
 * Answer PS_REKEY: the pre-login process read a PROXY header, so this
 * session now counts under the real client's address (the key, checked
 * by privsep_decode as 32 hex digits: no client byte is parsed here).
 * Only as the first message: before it, the connection had no say.
 * Over max_sessions_per_ip, the refusal is logged here and the
 * pre-login process turns the client away.  Returns 0, or -1 to end.
 */
static __attribute__((noinline)) int
rekey(struct monitor *mo, const struct privsep_msg *m)
{
	struct conn_link	*l = mo->link;
	struct privsep_msg	 a;
	unsigned char		 key[PEERLIMIT_KEY_LEN];
	size_t			 i;

	if (mo->rekeyed || mo->tries > 0 ||
	    mo->signs + mo->seals + mo->opens > 0) {
		log_warnx("pre-login process asked for a rekey out of turn: "
		    "ending");
		return -1;
	}
	mo->rekeyed = 1;
	for (i = 0; i < sizeof(key); i++)
		key[i] = (unsigned char)(unhex(m->secret[2 * i]) << 4 |
		    unhex(m->secret[2 * i + 1]));
	memset(&a, 0, sizeof(a));
	a.type = PS_ADMIT;
	if (l->lim != NULL && mo->c->max_sessions_per_ip > 0 &&
	    peerlimit_sess_rekey(l->lim, l->lim_slot, key) >
	    mo->c->max_sessions_per_ip) {
		peerlimit_sess_log_refusal(l->lim,
		    "max_sessions_per_ip reached");
		a.result = 1;
	}
	return privsep_send_msg(mo->ch, &a);
}

/*
 * Key operations: the pre-login process's handshake asks for what the
 * keys it does not hold would do.  One request and its bytes, one
 * answer and its bytes.
 */

/* Is one more operation of this type within what a handshake needs? */
static int
keyop_allowed(struct monitor *mo, uint32_t type)
{
	if (mo->link->tls == NULL || mo->verified)
		return 0;
	switch (type) {
	case PS_SIGN:
		return mo->signs++ < PRIVSEP_SIGNS_MAX;
	case PS_SEAL:
		return mo->seals++ < PRIVSEP_SEALS_MAX;
	default:
		return mo->opens++ < PRIVSEP_OPENS_MAX;
	}
}

/*
 * Root's side of PS_SIGN, PS_SEAL, PS_OPEN: read their bytes, let tls.c
 * sign, seal or open them, answer, and give up what is used up (a
 * handshake signs once and seals last).  One operation more than a
 * handshake needs ends the connection: no honest pre-login process
 * asks for it.  Returns 0, or -1 to end.
 */
static __attribute__((noinline)) int
keyop(struct monitor *mo, const struct privsep_msg *m)
{
	struct tls_server	*s = mo->link->tls;
	struct privsep_msg	 a;
	unsigned char		 in[TLS_TICKET_MAX], out[TLS_TICKET_MAX];
	size_t			 n = 0;
	int			 rc;

	if (!keyop_allowed(mo, m->type)) {
		log_warnx("pre-login process asked for more key operations "
		    "than a handshake needs: ending");
		return -1;
	}
	if (privsep_read_all(mo->ch, in, m->unread) == -1)
		return -1;
	if (m->type == PS_SIGN) {
		rc = tls_sign(s, m->secure, m->result, in, m->unread, out,
		    TLS_SIG_MAX, &n);
		tls_forget_keys(s);
	} else if (m->type == PS_SEAL) {
		rc = tls_ticket_seal(s, &mo->born, in, m->unread, out,
		    sizeof(out), &n);
		tls_forget_tickets(s);
	} else
		rc = tls_ticket_open(s, &mo->born, in, m->unread, out,
		    sizeof(out), &n);
	memset(&a, 0, sizeof(a));
	a.type = m->type == PS_SIGN ? PS_SIGNED : PS_TICKET;
	a.result = rc == 0 ? 0 : 1;
	a.unread = rc == 0 ? (uint32_t)n : 0;
	rc = privsep_send_msg(mo->ch, &a) == -1 ||
	    privsep_write_all(mo->ch, out, a.unread) == -1 ? -1 : 0;
	explicit_bzero(in, sizeof(in));
	explicit_bzero(out, sizeof(out));
	return rc;
}

/*
 * Become the user: after a verified login, the monitor gives up what
 * root holds and switches to the mailbox owner for good.
 */


/*
 * The user's side of a verified login: take the pipelined input, become
 * the user, then serve the session on the client's descriptors (plain:
 * the pre-login process has gone) or on ch (TLS: it relays).
 */
static int
serve_user(struct monitor *mo, const struct privsep_msg *m)
{
	static const char	 fail[] = "-ERR [SYS/TEMP] cannot open the "
				    "maildrop now\r\n";
	struct transport	 t;
	struct conn_link	 ul = *mo->link;
	struct buf		 in;
	char			 how[PRIVSEP_HOW_MAX + PRIVSEP_TEXT_MAX + 2];
	int			 rc;

	/* Login is over: what it left free goes before the session allocates. */
	privsep_trim_heap();
	/* The pipelined bytes go straight into the session's input buffer. */
	if (buf_init(&in, PRIVSEP_UNREAD_MAX) == -1) {
		log_warn("%s: buffers", mo->link->peer);
		return -1;
	}
	if (!mo->verified || privsep_read_all(mo->ch, in.data, m->unread) == -1) {
		log_warnx("pre-login process broke the handoff: ending");
		buf_free(&in);
		return -1;
	}
	in.len = m->unread;
	/* A user's process holds no TLS key. */
	tls_forget_secrets(mo->link->tls);
	if (!m->secure && waitpid(mo->child, NULL, 0) == mo->child)
		mo->child = -1;
	/* The pre-login process may have learnt it from a PROXY header. */
	if (m->peer[0] != '\0')
		ul.peer = m->peer;
	/* The session's login line names the command and the TLS in use. */
	snprintf(how, sizeof(how), "%s%s%s", m->how[0] != '\0' ? m->how :
	    mo->how, m->text[0] != '\0' ? ", " : "", m->text);
	log_debug("%s: session as uid %lu", mo->who.name,
	    (unsigned long)(!ps_root ? geteuid() :
	    mo->who.has_ids ? mo->who.uid : ps_uid));
	if (m->secure)
		transport_plain(&t, mo->ch, mo->ch);
	else
		transport_plain(&t, mo->fd_in, mo->fd_out);
	t.secure = (int)m->secure;
	/* The user's process must not be able to change what root counts. */
	peerlimit_sess_detach(mo->link->lim);
	mo->link->lim = NULL;
	if (conn_catch_term() == -1 || become(mo) == -1 ||
	    (mo->c->sandbox && sandbox_enter(SANDBOX_SESSION) == -1)) {
		(void)privsep_write_all(t.fd_out, fail, sizeof(fail) - 1);
		rc = -1;
	} else {
		ul.tls = NULL;
		ul.implicit_tls = 0;
		proctitle_set("%s %s", mo->who.name, ul.peer);
		rc = direct_serve(mo->c, &t, &ul, &mo->who, how, &in);
	}
	/* The client may have pipelined a password. */
	explicit_bzero(in.data, in.cap);
	buf_free(&in);
	explicit_bzero(&mo->who, sizeof(mo->who));
	return rc;
}

/*
 * Become the verified user: the uid, gid and groups pwcheck.c found (a
 * system account's, looked up in a child of their own, so this process
 * loads no name-service module), or the passwd file's uid and gid alone;
 * else `user''s uid and gid alone (virtual users share its ids, not its
 * groups).  Not root: stay who we are.  Returns 0, or -1.
 */
static int
become(struct monitor *mo)
{
	struct auth_user	*w = &mo->who;
	const gid_t		*groups = &ps_gid;
	uid_t			 uid = ps_uid;
	gid_t			 gid = ps_gid;
	int			 n = 1;

	if (!ps_root)
		return 0;
	if (w->has_ids) {
		uid = w->uid;
		gid = w->gid;
		groups = w->ngroups > 0 ? w->groups : &w->gid;
		n = w->ngroups > 0 ? w->ngroups : 1;
	}
	if (set_groups(uid, gid, n, groups, ps_mail_gid) == -1)
		return -1;
	return settle(uid, gid, w->mailbox);
}

/*
 * recover.c's: the account's groups by initgroups when name names one.
 * Its process is no session, and is forked for one journal, so the
 * name service may load what it likes there.
 */
int
privsep_become_owner(uid_t uid, gid_t gid, const char *name, char *mailbox)
{
	if (!ps_root)
		return 0;
	if (name == NULL)
		return set_groups(uid, gid, 1, &gid, ps_mail_gid) == -1 ? -1 :
		    settle(uid, gid, mailbox);
	if (initgroups(name, gid) == -1 || add_group(ps_mail_gid) == -1) {
		log_warn("groups of %s", name);
		return -1;
	}
	return settle(uid, gid, mailbox);
}

/*
 * The rest of becoming uid/gid once the groups are set: into the
 * mailbox's directory, then the ids for good.  Returns 0, or -1.
 */
static int
settle(uid_t uid, gid_t gid, char *mailbox)
{
	return jail_mailbox(mailbox) == -1 ? -1 : switch_ids(uid, gid);
}

/*
 * Add extra (unless 0) to the supplementary groups: a session keeps the
 * mail group so it can make dotlocks in a root:mail 2775 spool, as
 * Debian's setgid-mail MUAs do.  Returns 0 or -1.
 */
static int
add_group(gid_t extra)
{
	gid_t	*groups;
	int	 n, i, rc = 0;

	if (extra == 0)
		return 0;
	/*
	 * Sized by what the process has (a few groups), not NGROUPS_MAX:
	 * 65536 of them on the stack would be 256 kB of it.
	 */
	if ((n = getgroups(0, NULL)) == -1 ||
	    (groups = calloc((size_t)n + 1, sizeof(*groups))) == NULL)
		return -1;
	if ((n = getgroups(n, groups)) == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < n; i++)
		if (groups[i] == extra)
			break;
	if (rc == 0 && i == n) {
		groups[n++] = extra;
		rc = setgroups((size_t)n, groups);
	}
	free(groups);
	return rc;
}

/*
 * Set the supplementary groups a session of uid/gid runs with: the n
 * groups given (an account's, or gid alone), plus extra unless 0.
 * Nothing is looked up here: a lookup would load name-service modules
 * into this process, and in a mailbox's directory read a /etc/group
 * whoever can write to the spool could plant.  Returns 0, or -1
 * (logged).
 */
static int
set_groups(uid_t uid, gid_t gid, int n, const gid_t *groups, gid_t extra)
{
	if (setgroups((size_t)n, groups) == -1 || add_group(extra) == -1) {
		log_warn("groups for uid %lu gid %lu", (unsigned long)uid,
		    (unsigned long)gid);
		return -1;
	}
	return 0;
}

/*
 * Jail the user process in its mailbox's directory, so no other path
 * is reachable, and rewrite mailbox to match.  Returns 0, or -1.
 */
static int
jail_mailbox(char *mailbox)
{
	const char	*dir;
	char		*slash;
	int		 rc;

	if ((slash = strrchr(mailbox, '/')) == NULL || slash[1] == '\0') {
		log_warnx("mailbox %s: not a file path", mailbox);
		return -1;
	}
	/* Cut at the slash in place: a PATH_MAX copy would deepen the stack. */
	*slash = '\0';
	dir = slash == mailbox ? "/" : mailbox;
	rc = chroot(dir) == -1 || chdir("/") == -1 ? -1 : 0;
	if (rc == -1)
		log_warn("chroot %s", dir);
	else
		spool_jailed(dir);
	*slash = '/';
	if (rc == -1)
		return -1;
	memmove(mailbox, slash, strlen(slash) + 1);
	return 0;
}

/*
 * Switch for good to uid/gid (never 0), keeping the groups set_groups
 * set.  Returns 0, or -1 (logged).
 */
static int
switch_ids(uid_t uid, gid_t gid)
{
	if (uid == 0) {
		log_warnx("refusing to run a session as uid 0");
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1 || setresuid(uid, uid, uid) == -1) {
		log_warn("switching to uid %lu gid %lu", (unsigned long)uid,
		    (unsigned long)gid);
		return -1;
	}
	if (setuid(0) == 0) {
		log_warnx("could regain root after switching to uid %lu",
		    (unsigned long)uid);
		return -1;
	}
	return 0;
}

