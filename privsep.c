/*
 * Privilege separation for one connection, root's side first: the story
 * of a login as root sees it, in the order it happens, then the jailed
 * pre-login process's side and the messages between the two.
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
 *   its maildrop opened here); the pre-login process exits (plain) or
 *   relays TLS to it (socketpair).
 *
 * Every function that runs as root, in the order a connection meets
 * them, and what each reads:
 *
 *   privsep_init, privsep_check_setup, find_user, jail_ready, jail_ok
 *     (the listener, at start): the configuration, the passwd entry of
 *     `user', the group mail_group, the jail directory's mode and owner.
 *   session_id, privsep_serve up to the fork: nothing from the client.
 *   In the new child until it switches user, keys_to_monitor
 *     (tls_prelogin_keys unmaps, reads no key) and jail() with
 *     set_groups and switch_ids: nothing.
 *   monitor(): one PRIVSEP_MSG_SIZE message at a time (recv_msg,
 *     read_all), which privsep_decode (get32, get_str, msg_valid,
 *     keyop_valid, digest_ok) checks field by field (type, lengths,
 *     terminated strings, hex) before anything acts on it; answers go
 *     out through send_msg, privsep_encode (put32, put_str), write_all.
 *   rekey(): the decoded key (hex, turned into bytes by unhex); the
 *     shared per-address table through peerlimit_sess_rekey, the one slot
 *     it holds.
 *   keyop(): exactly the byte count privsep_decode allowed for the type,
 *     handed unparsed to tls_sign (a PKCS#1 v1.5 signature of the
 *     digest), tls_ticket_seal or tls_ticket_open (AES-256-GCM; open
 *     reads the 8-byte time inside, which only a seal wrote);
 *     keyop_allowed() and is_keyop() count them (PRIVSEP_SIGNS_MAX,
 *     _SEALS_MAX, _OPENS_MAX a connection, none after a login).  The
 *     keys the monitor never uses are unmapped at the fork
 *     (tls_monitor_keys), the private keys after the signature, the
 *     ticket keys after the seal, all of them at the handoff and when
 *     the pre-login process ends (tls_forget_*).
 *   verify(): user name and secret, to pwcheck_password or auth_apop (the
 *     passwd file, the APOP secrets, the system's shadow), at most
 *     SESSION_MAX_AUTH_FAILURES times; wait_turn() before the check and
 *     hold_back() after a failure wait on the clock and watch the client
 *     socket for a hang-up only (conn_wait_until reads no byte).
 *     Secrets are wiped as soon as they are checked.
 *   serve_user() on PS_HANDOFF after a verified login: reads the
 *     pipelined input bytes into the session's buffer unparsed (trim_heap
 *     first), gives up the keys and the per-address table
 *     (peerlimit_sess_detach), then become() and privsep_become_owner()
 *     (also recover.c's), with set_groups and add_group (the owner's
 *     groups, read before the chroot), jail_mailbox (chroot into the
 *     mailbox's directory) and switch_ids (to the owner, refusing
 *     uid 0).  The rest of serve_user() runs as the owner: the
 *     session's syscall filter goes on before serve_owner() parses the
 *     first of those bytes.
 *   reap_child(): the pre-login process's exit status.
 *
 * Not started as root, the same processes run as that user, unjailed.
 */
#include <sys/types.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <arpa/inet.h>

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "auth.h"
#include "buf.h"
#include "conn.h"
#include "log.h"
#include "logindelay.h"
#include "mbox.h"
#include "params.h"
#include "peerlimit.h"
#include "privsep.h"
#include "pwcheck.h"
#include "sandbox.h"
#include "spool.h"
#include "tls.h"
#include "tlskeys.h"
#include "transport.h"

/* Offsets of the string fields in an encoded message. */
#define OFF_USER	16
#define OFF_SECRET	(OFF_USER + AUTH_NAME_MAX + 1)
#define OFF_TEXT	(OFF_SECRET + AUTH_PASS_MAX + 1)
#define OFF_PEER	(OFF_TEXT + PRIVSEP_TEXT_MAX)
#define OFF_HOW		(OFF_PEER + PRIVSEP_PEER_MAX)

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

/*
 * The pre-login process's backend: every login goes to the monitor,
 * which verifies it and, once it is verified, serves the user itself.
 */
struct via_monitor {
	int		 ch;
	const char	*peer;
	char		 why[PRIVSEP_TEXT_MAX];	/* the monitor's */
};

static int	preauth(const struct conf *c, int fd_in, int fd_out,
	    struct conn_link *link, int ch,
	    int (*prepare)(struct conn_link *, int, void *), void *arg);
static int	monitor(struct monitor *mo);
static int	verify(struct monitor *mo, struct privsep_msg *m);
static int	rekey(struct monitor *mo, const struct privsep_msg *m);
static int	keyop(struct monitor *mo, const struct privsep_msg *m);
static int	serve_user(struct monitor *mo, const struct privsep_msg *m);
static int	become(struct monitor *mo);
static int	set_groups(uid_t uid, gid_t gid, const char *name,
	    gid_t extra);
static int	jail_mailbox(char *mailbox);
static int	switch_ids(uid_t uid, gid_t gid);
static int	serve_owner(const struct conf *c, struct transport *t,
	    const struct conn_link *link, struct auth_user *who,
	    const char *how, struct buf *in);
static int	vm_password(void *ctx, const char *user, const char *pass,
	    struct auth_user *who);
static int	vm_apop(void *ctx, const char *user, const char *stamp,
	    const char *digest, struct auth_user *who);
static const char	*vm_why(void *ctx);
static int	vm_open_maildrop(void *ctx, const struct auth_user *who,
	    const struct maildrop_ops **ops, void **md);
static int	vm_hand_on(void *ctx, struct transport *t, const char *how,
	    const char *a, size_t alen, const char *b, size_t blen);
static void	keys_to_monitor(struct tls_server *s, int fd);
static int	relay(struct transport *t, int fd, unsigned idle_s);
static int	write_all(int fd, const void *p, size_t n);
static int	read_all(int fd, void *p, size_t n);
static int	send_msg(int fd, const struct privsep_msg *m);
static int	recv_msg(int fd, struct privsep_msg *m);

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

/* When root: look up `user' (never uid 0) and the mail group. */
static int
find_user(const struct conf *c)
{
	struct passwd	*pw;
	struct group	*gr;

	if ((pw = getpwnam(c->user)) == NULL) {
		log_warnx("user %s: no such account (create it: useradd "
		    "--system --no-create-home --shell /usr/sbin/nologin %s)",
		    c->user, c->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		log_warnx("user %s has uid 0: refusing to run as root",
		    c->user);
		return -1;
	}
	ps_uid = pw->pw_uid;
	ps_gid = pw->pw_gid;
	ps_mail_gid = 0;
	if (c->mail_group[0] != '\0') {
		if ((gr = getgrnam(c->mail_group)) == NULL)
			log_warnx("mail_group %s: no such group; sessions "
			    "can make dotlocks only where their owner may",
			    c->mail_group);
		else
			ps_mail_gid = gr->gr_gid;
	}
	return 0;
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
		close(sp[0]);
		peerlimit_sess_detach(link->lim);
		link->lim = NULL;
		keys_to_monitor(link->tls, sp[1]);
		_exit(preauth(c, fd_in, fd_out, link, sp[1], prepare, arg) ==
		    0 ? 0 : 1);
	}
	close(sp[1]);
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
 * every client byte until a login is verified.
 */

/* The pre-login process: into the empty jail, as `user'. */
static int
jail(const struct conf *c)
{
	if (!ps_root)
		return 0;
	/* No supplementary groups: the jail has nothing a group could open. */
	if (set_groups(ps_uid, ps_gid, NULL, 0) == -1)
		return -1;
	if (chroot(c->chroot) == -1 || chdir("/") == -1) {
		log_warn("chroot %s", c->chroot);
		return -1;
	}
	return switch_ids(ps_uid, ps_gid);
}

/*
 * The pre-login process: jail, the syscall filter before any client
 * byte is read, then the protocol engine, its logins checked by the
 * monitor on ch; after a verified login over TLS it relays for the
 * user's process.
 */
static int
preauth(const struct conf *c, int fd_in, int fd_out, struct conn_link *link,
    int ch, int (*prepare)(struct conn_link *, int, void *), void *arg)
{
	struct via_monitor	vm = { .ch = ch };
	struct conn_backend	be = {
		.session = {
			.ctx = &vm,
			.check_password = vm_password,
			.check_apop = vm_apop,
			.open_maildrop = vm_open_maildrop,
			.why = vm_why,
		},
		.hand_on = vm_hand_on,
	};
	struct transport	t;
	int			rc;

	if (jail(c) == -1 ||
	    (c->sandbox && sandbox_enter(SANDBOX_PRELOGIN) == -1))
		return -1;
	if (prepare != NULL && prepare(link, ch, arg) == -1)
		return -1;
	vm.peer = link->peer;
	transport_plain(&t, fd_in, fd_out);
	rc = conn_serve(c, &t, link, &be, NULL);
	/* TLS after a handoff: this process relays for the user process. */
	if (rc == 1)
		rc = t.secure ? relay(&t, ch, c->idle_timeout) : 0;
	if (t.shutdown != NULL)
		t.shutdown(&t);
	return rc;
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
		if ((r = recv_msg(mo->ch, &m)) != 0) {
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
		    mo->link->stamp, &mo->who, &why);
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
	return send_msg(mo->ch, &v);
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
	return send_msg(mo->ch, &a);
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
	if (read_all(mo->ch, in, m->unread) == -1)
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
	rc = send_msg(mo->ch, &a) == -1 ||
	    write_all(mo->ch, out, a.unread) == -1 ? -1 : 0;
	explicit_bzero(in, sizeof(in));
	explicit_bzero(out, sizeof(out));
	return rc;
}

/*
 * Become the user: after a verified login, the monitor gives up what
 * root holds and switches to the mailbox owner for good.
 */

/*
 * Give the heap's free pages back to the system.  Logging in leaves them
 * written and free (crypt(3)'s 32 kB of scratch, lines of the passwd and
 * group files; over TLS the handshake's state), and a session that then
 * idles for minutes would keep them for nothing: the biggest part of an
 * idle session's memory (`BENCH_ONLY=footprint`, the heap row).
 */
static void
trim_heap(void)
{
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

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
	trim_heap();
	/* The pipelined bytes go straight into the session's input buffer. */
	if (buf_init(&in, PRIVSEP_UNREAD_MAX) == -1) {
		log_warn("%s: buffers", mo->link->peer);
		return -1;
	}
	if (!mo->verified || read_all(mo->ch, in.data, m->unread) == -1) {
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
	if (become(mo) == -1 ||
	    (mo->c->sandbox && sandbox_enter(SANDBOX_SESSION) == -1)) {
		(void)write_all(t.fd_out, fail, sizeof(fail) - 1);
		rc = -1;
	} else {
		ul.tls = NULL;
		ul.implicit_tls = 0;
		rc = serve_owner(mo->c, &t, &ul, &mo->who, how, &in);
	}
	/* The client may have pipelined a password. */
	explicit_bzero(in.data, in.cap);
	buf_free(&in);
	explicit_bzero(&mo->who, sizeof(mo->who));
	return rc;
}

/*
 * Become the verified user: the uid and gid from the passwd file or the
 * system account, with that account's groups; else `user''s uid and gid
 * alone (virtual users share its ids, not its groups, which saves a group
 * database lookup per login).  Not root: stay who we are.  Returns 0, or
 * -1.
 */
static int
become(struct monitor *mo)
{
	struct auth_user	*w = &mo->who;
	struct passwd		*pw;
	const char		*name = NULL;
	uid_t			 uid = ps_uid;
	gid_t			 gid = ps_gid;

	if (!ps_root)
		return 0;
	if (w->has_ids) {
		uid = w->uid;
		gid = w->gid;
		pw = getpwnam(w->name);
		name = pw != NULL && pw->pw_uid == uid ? w->name : NULL;
	}
	return privsep_become_owner(uid, gid, name, w->mailbox);
}

int
privsep_become_owner(uid_t uid, gid_t gid, const char *name, char *mailbox)
{
	if (!ps_root)
		return 0;
	if (set_groups(uid, gid, name, ps_mail_gid) == -1 ||
	    jail_mailbox(mailbox) == -1)
		return -1;
	return switch_ids(uid, gid);
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
 * Set the supplementary groups a session of uid/gid runs with: the
 * account's (initgroups, when name names a system account), else gid alone,
 * plus extra unless 0.  Done before any chroot: initgroups reads
 * /etc/group through the current root, and in a mailbox's directory
 * that would be a file whoever can write to the spool could plant.
 * Returns 0, or -1 (logged).
 */
static int
set_groups(uid_t uid, gid_t gid, const char *name, gid_t extra)
{
	if ((name != NULL ? initgroups(name, gid) : setgroups(1, &gid)) == -1 ||
	    add_group(extra) == -1) {
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

/*
 * Serve: the session goes on as the mailbox owner, its maildrop opened
 * here (no root left).
 */

/*
 * The backend of the user's process: credentials are checked here from
 * the passwd and APOP files (a session resumed after a verified login
 * asks for none), and the maildrop is opened as its owner, once
 * LOGIN-DELAY allows.
 */
struct direct {
	const struct conf	*c;
};

static int
direct_password(void *ctx, const char *user, const char *pass,
    struct auth_user *who)
{
	const struct direct	*d = ctx;

	return auth_passwd(d->c, user, pass, who);
}

static int
direct_apop(void *ctx, const char *user, const char *stamp,
    const char *digest, struct auth_user *who)
{
	const struct direct	*d = ctx;

	return auth_apop(d->c, user, stamp, digest, who);
}

static const char *
direct_why(void *ctx)
{
	(void)ctx;
	return auth_last_reason();
}

static int
direct_open_maildrop(void *ctx, const struct auth_user *who,
    const struct maildrop_ops **ops, void **md)
{
	const struct conf	*c = ((const struct direct *)ctx)->c;
	struct mbox		*mb;
	int			 rc;

	if (!logindelay_ok(who->mailbox, c->login_delay))
		return MD_LOGIN_DELAY;
	if ((rc = mbox_open(who->mailbox, c, &mb)) != MD_OK)
		return rc;
	if (c->login_delay > 0)
		logindelay_record(who->mailbox);
	*ops = &mbox_ops;
	*md = mb;
	return MD_OK;
}

/*
 * Serve a verified login as the mailbox's owner: the reply to the login
 * command (how) first, then what the client pipelined (in), then t.
 */
static int
serve_owner(const struct conf *c, struct transport *t,
    const struct conn_link *link, struct auth_user *who, const char *how,
    struct buf *in)
{
	struct direct			d = { c };
	const struct conn_backend	be = {
		.session = {
			.ctx = &d,
			.check_password = direct_password,
			.check_apop = direct_apop,
			.open_maildrop = direct_open_maildrop,
			.why = direct_why,
		},
	};
	const struct conn_resume	resume = { who, how, in };

	return conn_serve(c, t, link, &be, &resume) == 0 ? 0 : -1;
}

/*
 * The pre-login process's side, jailed: its backend asks the monitor,
 * and after a TLS login it relays.
 */

/*
 * In the pre-login process: ask the monitor on fd to verify a password
 * (PS_PASSWORD) or an APOP digest (PS_APOP).  why (PRIVSEP_TEXT_MAX
 * bytes) gets the monitor's reason.  Returns an enum auth_result;
 * AUTH_TEMPFAIL when the monitor can't be reached.
 */
static int
ask_verdict(int fd, int type, const char *user, const char *secret,
    char *why)
{
	struct privsep_msg	m;
	int			rc;

	memset(&m, 0, sizeof(m));
	m.type = (uint32_t)type;
	snprintf(m.user, sizeof(m.user), "%s", user);
	snprintf(m.secret, sizeof(m.secret), "%s", secret);
	snprintf(why, PRIVSEP_TEXT_MAX, "privileged side unreachable");
	rc = send_msg(fd, &m);
	explicit_bzero(&m, sizeof(m));
	if (rc == -1 || recv_msg(fd, &m) != 0 || m.type != PS_VERDICT)
		return AUTH_TEMPFAIL;
	snprintf(why, PRIVSEP_TEXT_MAX, "%s", m.text);
	return (int)m.result;
}

static int
vm_password(void *ctx, const char *user, const char *pass,
    struct auth_user *who)
{
	struct via_monitor	*vm = ctx;

	memset(who, 0, sizeof(*who));
	snprintf(who->name, sizeof(who->name), "%s", user);
	return ask_verdict(vm->ch, PS_PASSWORD, user, pass, vm->why);
}

/* The monitor checks against its own copy of the stamp. */
static int
vm_apop(void *ctx, const char *user, const char *stamp, const char *digest,
    struct auth_user *who)
{
	struct via_monitor	*vm = ctx;

	(void)stamp;
	memset(who, 0, sizeof(*who));
	snprintf(who->name, sizeof(who->name), "%s", user);
	return ask_verdict(vm->ch, PS_APOP, user, digest, vm->why);
}

static const char *
vm_why(void *ctx)
{
	struct via_monitor	*vm = ctx;

	return vm->why;
}

/* A verified login: the monitor opens the maildrop as its owner. */
static int
vm_open_maildrop(void *ctx, const struct auth_user *who,
    const struct maildrop_ops **ops, void **md)
{
	(void)ctx;
	(void)who;
	(void)ops;
	(void)md;
	return MD_HANDOFF;
}

/*
 * In the pre-login process, after a verified login: send the handoff
 * message and the unread input (two pieces) to the monitor on fd.
 * tlsinfo is "" without TLS; peer names the client; how is the login
 * command.  Returns 0, or -1 (logged).
 */
static int
send_handoff(int fd, int secure, const char *tlsinfo, const char *peer,
    const char *how, const char *a, size_t alen, const char *b, size_t blen)
{
	struct privsep_msg	m;

	memset(&m, 0, sizeof(m));
	m.type = PS_HANDOFF;
	m.secure = secure != 0;
	m.unread = (uint32_t)(alen + blen);
	snprintf(m.text, sizeof(m.text), "%s", tlsinfo);
	snprintf(m.peer, sizeof(m.peer), "%s", peer);
	snprintf(m.how, sizeof(m.how), "%s", how);
	if (alen + blen > PRIVSEP_UNREAD_MAX || send_msg(fd, &m) == -1 ||
	    write_all(fd, a, alen) == -1 || write_all(fd, b, blen) == -1) {
		log_warn("handing the session over");
		return -1;
	}
	return 0;
}

/* The handoff: the login command, the TLS in use, what was pipelined. */
static int
vm_hand_on(void *ctx, struct transport *t, const char *how, const char *a,
    size_t alen, const char *b, size_t blen)
{
	struct via_monitor	*vm = ctx;
	char			 tlsinfo[PRIVSEP_TEXT_MAX];

	tls_describe(t, tlsinfo, sizeof(tlsinfo));
	return send_handoff(vm->ch, t->secure, tlsinfo, vm->peer, how, a,
	    alen, b, blen);
}

int
privsep_rekey(int fd, const struct sockaddr *sa)
{
	static const char	hex[] = "0123456789abcdef";
	struct privsep_msg	m;
	unsigned char		key[PEERLIMIT_KEY_LEN];
	size_t			i;

	if (peerlimit_key(sa, key) == -1)
		return 0;
	memset(&m, 0, sizeof(m));
	m.type = PS_REKEY;
	for (i = 0; i < sizeof(key); i++) {
		m.secret[2 * i] = hex[key[i] >> 4];
		m.secret[2 * i + 1] = hex[key[i] & 15];
	}
	if (send_msg(fd, &m) == -1 || recv_msg(fd, &m) != 0 ||
	    m.type != PS_ADMIT)
		return -1;
	return (int)m.result;
}

/*
 * The pre-login side: ask on fd and wait for the answer.  The monitor's
 * bounds are kept here too, so that an honest process never meets them
 * (a third ticket in a TLS 1.3 ClientHello is refused here, and the
 * handshake goes on without it).
 */
static struct keyclient {
	int		fd;
	unsigned	signs, seals, opens;
} keyclient = { -1, 0, 0, 0 };

static int
keyop_ask(const struct keyclient *kc, const struct privsep_msg *req,
    const unsigned char *in, uint32_t answer, unsigned char *out,
    size_t cap, size_t *olen)
{
	struct privsep_msg	m;
	int			fd = kc->fd;

	*olen = 0;
	if (send_msg(fd, req) == -1 || write_all(fd, in, req->unread) == -1 ||
	    recv_msg(fd, &m) != 0 || m.type != answer || m.unread > cap ||
	    read_all(fd, out, m.unread) == -1) {
		log_warnx("the monitor did not answer a key operation");
		return -1;
	}
	*olen = m.unread;
	return m.result == 0 ? 0 : -1;
}

static int
ask_sign(void *ctx, unsigned cert, unsigned md, const unsigned char *hash,
    size_t hlen, unsigned char *sig, size_t cap, size_t *siglen)
{
	struct keyclient	*kc = ctx;
	struct privsep_msg	 m;

	if (kc->signs++ >= PRIVSEP_SIGNS_MAX)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PS_SIGN;
	m.result = md;
	m.secure = cert;
	m.unread = (uint32_t)hlen;
	return keyop_ask(kc, &m, hash, PS_SIGNED, sig, cap, siglen);
}

static int
ask_seal(void *ctx, const unsigned char *state, size_t len,
    unsigned char *ticket, size_t cap, size_t *tlen)
{
	struct keyclient	*kc = ctx;
	struct privsep_msg	 m;

	if (kc->seals++ >= PRIVSEP_SEALS_MAX)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PS_SEAL;
	m.unread = (uint32_t)len;
	return keyop_ask(kc, &m, state, PS_TICKET, ticket, cap, tlen);
}

static int
ask_open(void *ctx, const unsigned char *ticket, size_t len,
    unsigned char *state, size_t cap, size_t *slen)
{
	struct keyclient	*kc = ctx;
	struct privsep_msg	 m;

	/* What the decoder would refuse is no ticket of ours anyway. */
	if (len == 0 || len > TLS_TICKET_MAX ||
	    kc->opens++ >= PRIVSEP_OPENS_MAX)
		return -1;
	memset(&m, 0, sizeof(m));
	m.type = PS_OPEN;
	m.unread = (uint32_t)len;
	return keyop_ask(kc, &m, ticket, PS_TICKET, state, cap, slen);
}

static const struct tls_keyops	ask_monitor = {
	&keyclient, ask_sign, ask_seal, ask_open
};

/*
 * In the new pre-login process, before it is jailed: the keys the
 * monitor keeps go at once, and their operations go to it on fd.
 */
static void
keys_to_monitor(struct tls_server *s, int fd)
{
	keyclient.fd = fd;
	tls_prelogin_keys(s, &ask_monitor);
}

/* Move what is readable from the client to fd.  Returns 1, 0 at EOF, -1. */
static int
proxy_up(struct transport *t, int fd, char *buf, size_t len)
{
	ssize_t	n;

	n = t->read(t, buf, len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 1;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	return write_all(fd, buf, (size_t)n) == 0 ? 1 : -1;
}

/*
 * Move what the user process wrote to the client, which must take some
 * of it every wait_ms: one that stops reading is dropped, as the user
 * process drops it on its side.  Same returns.
 */
static int
proxy_down(struct transport *t, int fd, char *buf, size_t len, int wait_ms)
{
	struct pollfd	pfd = { t->fd_out, POLLOUT, 0 };
	ssize_t		n, w;
	size_t		off = 0;

	n = read(fd, buf, len);
	if (n == -1 && errno == EINTR)
		return 1;
	if (n <= 0)
		return n == 0 ? 0 : -1;
	while (off < (size_t)n) {
		w = t->write(t, buf + off, (size_t)n - off);
		if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
			if (poll(&pfd, 1, wait_ms) == 0) {
				log_info("TLS relay: the client took nothing "
				    "for %d s, closing", wait_ms / 1000);
				return -1;
			}
			continue;
		}
		if (w <= 0)
			return -1;
		off += (size_t)w;
	}
	return 1;
}

/*
 * In the pre-login process of a TLS session after the handoff: relay
 * bytes between the client (through t) and the user process on fd until
 * either side closes, or nothing moves for idle_s seconds and a grace.
 * Returns 0, or -1 on an error or that timeout.
 *
 * Every wait is bounded by the idle timeout and a grace: the user
 * process enforces idle_timeout itself and closes fd, which ends this
 * loop; the bound only makes sure that a client which stops reading, or
 * a user process that is gone, never keeps this process for good.
 */
static int
relay(struct transport *t, int fd, unsigned idle_s)
{
	struct pollfd	pfd[2];
	char		buf[SESSION_OUTBUF_SIZE];
	int		r = 1, n, wait_ms = (int)(idle_s + RELAY_GRACE) * 1000;

	trim_heap();
	while (r == 1) {
		pfd[0].fd = t->fd_in;
		pfd[0].events = POLLIN;
		pfd[1].fd = fd;
		pfd[1].events = POLLIN;
		pfd[0].revents = pfd[1].revents = 0;
		if (t->pending(t) == 0 &&
		    (n = poll(pfd, 2, wait_ms)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			if (n == 0)
				log_info("TLS relay: nothing moved for %d s, "
				    "closing", wait_ms / 1000);
			r = -1;
			break;
		}
		if (t->pending(t) > 0 || pfd[0].revents != 0)
			r = proxy_up(t, fd, buf, sizeof(buf));
		if (r == 1 && pfd[1].revents != 0)
			r = proxy_down(t, fd, buf, sizeof(buf), wait_ms);
	}
	explicit_bzero(buf, sizeof(buf));
	return r == 0 ? 0 : -1;
}

/*
 * The messages between the two processes.
 */

static void
put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
}

static uint32_t
get32(const unsigned char *p)
{
	uint32_t	v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/* Copy s into a NUL-padded field of size len.  Returns 0, or -1. */
static int
put_str(unsigned char *p, size_t len, const char *s)
{
	size_t	n = strnlen(s, len);

	if (n == len)
		return -1;
	memset(p, 0, len);
	memcpy(p, s, n);
	return 0;
}

/* A field is a string, then only NULs.  Returns 0 with dst set, or -1. */
static int
get_str(char *dst, const unsigned char *p, size_t len)
{
	const unsigned char	*nul = memchr(p, '\0', len);
	size_t			 i;

	if (nul == NULL)
		return -1;
	for (i = (size_t)(nul - p); i < len; i++)
		if (p[i] != '\0')
			return -1;
	memcpy(dst, p, len);
	return 0;
}

int
privsep_encode(const struct privsep_msg *m, unsigned char *out)
{
	memset(out, 0, PRIVSEP_MSG_SIZE);
	put32(out, m->type);
	put32(out + 4, m->result);
	put32(out + 8, m->secure);
	put32(out + 12, m->unread);
	if (put_str(out + OFF_USER, sizeof(m->user), m->user) == -1 ||
	    put_str(out + OFF_SECRET, sizeof(m->secret), m->secret) == -1 ||
	    put_str(out + OFF_TEXT, sizeof(m->text), m->text) == -1 ||
	    put_str(out + OFF_PEER, sizeof(m->peer), m->peer) == -1 ||
	    put_str(out + OFF_HOW, sizeof(m->how), m->how) == -1) {
		explicit_bzero(out, PRIVSEP_MSG_SIZE);
		return -1;
	}
	return 0;
}

/*
 * A key operation: no strings; the bytes that follow, a digest of
 * exactly its size, session state, a ticket, a signature, bounded; an
 * answer that refuses carries none.  Returns 1 or 0.
 */
static int
keyop_valid(const struct privsep_msg *m)
{
	if (m->user[0] != '\0' || m->secret[0] != '\0' || m->text[0] != '\0' ||
	    m->peer[0] != '\0' || m->how[0] != '\0')
		return 0;
	switch (m->type) {
	case PS_SIGN:
		return m->secure <= CONF_SNI_MAX && m->unread != 0 &&
		    m->unread == tls_md_size(m->result);
	case PS_SEAL:
	case PS_OPEN:
		return m->result == 0 && m->secure == 0 && m->unread != 0 &&
		    m->unread <= (m->type == PS_SEAL ? TLS_SESSION_MAX :
		    TLS_TICKET_MAX);
	case PS_SIGNED:
	case PS_TICKET:
		return m->secure == 0 && m->result <= 1 &&
		    (m->result == 0) == (m->unread != 0) &&
		    m->unread <= (m->type == PS_SIGNED ? TLS_SIG_MAX :
		    TLS_TICKET_MAX);
	default:
		return 0;
	}
}

/* 32 lower-case hex digits: an APOP digest, or an address key. */
static int
digest_ok(const char *d)
{
	return strlen(d) == 32 && strspn(d, "0123456789abcdef") == 32;
}

/* Does m make sense for its type?  Returns 1 or 0. */
static int
msg_valid(const struct privsep_msg *m)
{
	switch (m->type) {
	case PS_PASSWORD:
	case PS_APOP:
		return m->result == 0 && m->secure == 0 && m->unread == 0 &&
		    auth_name_ok(m->user) && m->text[0] == '\0' &&
		    m->peer[0] == '\0' && m->how[0] == '\0' &&
		    (m->type == PS_PASSWORD || digest_ok(m->secret));
	case PS_VERDICT:
		return m->result <= AUTH_TEMPFAIL && m->secure == 0 &&
		    m->unread == 0 && m->user[0] == '\0' &&
		    m->secret[0] == '\0' && m->peer[0] == '\0' &&
		    m->how[0] == '\0';
	case PS_HANDOFF:
		return m->result == 0 && m->secure <= 1 &&
		    m->unread <= PRIVSEP_UNREAD_MAX && m->user[0] == '\0' &&
		    m->secret[0] == '\0';
	case PS_REKEY:
	case PS_ADMIT:
		return m->secure == 0 && m->unread == 0 &&
		    m->user[0] == '\0' && m->text[0] == '\0' &&
		    m->peer[0] == '\0' && m->how[0] == '\0' &&
		    (m->type == PS_REKEY ? m->result == 0 &&
		    digest_ok(m->secret) : m->result <= 1 &&
		    m->secret[0] == '\0');
	default:
		return keyop_valid(m);
	}
}

int
privsep_decode(const unsigned char *in, struct privsep_msg *m)
{
	memset(m, 0, sizeof(*m));
	m->type = get32(in);
	m->result = get32(in + 4);
	m->secure = get32(in + 8);
	m->unread = get32(in + 12);
	if (get_str(m->user, in + OFF_USER, sizeof(m->user)) == -1 ||
	    get_str(m->secret, in + OFF_SECRET, sizeof(m->secret)) == -1 ||
	    get_str(m->text, in + OFF_TEXT, sizeof(m->text)) == -1 ||
	    get_str(m->peer, in + OFF_PEER, sizeof(m->peer)) == -1 ||
	    get_str(m->how, in + OFF_HOW, sizeof(m->how)) == -1 ||
	    !msg_valid(m)) {
		explicit_bzero(m, sizeof(*m));
		return -1;
	}
	return 0;
}

/* Write all of p.  Returns 0, or -1 with errno set. */
static int
write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN) {
				struct pollfd	pfd = { fd, POLLOUT, 0 };

				(void)poll(&pfd, 1, -1);
				continue;
			}
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read exactly n bytes.  Returns 0, or -1 (errno 0 at end of file). */
static int
read_all(int fd, void *p, size_t n)
{
	char	*c = p;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, c, n)) == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = 0;
			return -1;
		}
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

static int
send_msg(int fd, const struct privsep_msg *m)
{
	unsigned char	buf[PRIVSEP_MSG_SIZE];
	int		rc;

	if (privsep_encode(m, buf) == -1) {
		errno = EINVAL;
		return -1;
	}
	rc = write_all(fd, buf, sizeof(buf));
	explicit_bzero(buf, sizeof(buf));
	return rc;
}

/* Returns 0, -1 at end of file or error (errno 0 at EOF), -2 malformed. */
static int
recv_msg(int fd, struct privsep_msg *m)
{
	unsigned char	buf[PRIVSEP_MSG_SIZE];
	int		rc;

	if (read_all(fd, buf, sizeof(buf)) == -1)
		return -1;
	rc = privsep_decode(buf, m) == 0 ? 0 : -2;
	explicit_bzero(buf, sizeof(buf));
	return rc;
}
