/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The root side's password checks: the passwd file (auth.c), PAM and
 * checkpassword, on the privileged side of privilege separation.
 *
 * PAM is loaded with dlopen(3) in a throw-away child for each check, so
 * no lasting process maps libpam, its modules or the name-service
 * modules they load (the monitor becomes the session; account.c says
 * why that matters).  It is compiled in when the build finds
 * <security/pam_appl.h> (HAVE_PAM).
 *
 * checkpassword is qmail's interface: the program gets
 * "user\0password\0timestamp\0" on descriptor 3 and the name of a program
 * to run on success (/bin/true here); exit 0 means verified, 1 refused,
 * anything else (111) a temporary failure.  It runs as root, like under
 * qmail-popup, because programs that read /etc/shadow need that.
 */
#include <sys/types.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef HAVE_PAM
#include <dlfcn.h>
#include <security/pam_appl.h>
#endif

#include "account.h"
#include "auth.h"
#include "pwcheck.h"
#include "log.h"
#include "params.h"

/* What runs after a checkpassword program accepts: nothing to do. */
#define CHECKPW_NEXT	"/bin/true"

/*
 * The account behind a name verified by PAM or checkpassword, found (1),
 * missing (0) or not looked up (-1) by account.c into *a.  need: the
 * account must exist (PAM).  Returns AUTH_OK, AUTH_FAIL for root or a
 * missing account that was needed, or AUTH_TEMPFAIL.
 */
static int
account_ids(int found, const struct account *a, int need,
    struct auth_user *who, const char **why)
{
	if (found == -1) {
		*why = "account lookup failed";
		return AUTH_TEMPFAIL;
	}
	if (found == 0) {
		*why = "no system account";
		return need ? AUTH_FAIL : AUTH_OK;
	}
	if (a->uid == 0) {
		*why = "uid 0 refused";
		return AUTH_FAIL;
	}
	who->has_ids = 1;
	who->uid = a->uid;
	who->gid = a->gid;
	who->ngroups = a->ngroups;
	memcpy(who->groups, a->groups, (size_t)a->ngroups * sizeof(gid_t));
	return AUTH_OK;
}

/*
 * Name, mailbox and account of a user verified outside the passwd file;
 * found and a say what account.c found for the name.
 */
static int
fill_who(const struct conf *c, const char *user, int found,
    const struct account *a, int need_account, struct auth_user *who,
    const char **why)
{
	memset(who, 0, sizeof(*who));
	snprintf(who->name, sizeof(who->name), "%s", user);
	if (conf_mailbox_path(c->mailbox, user, who->mailbox,
	    sizeof(who->mailbox)) == -1) {
		*why = "bad mailbox path";
		return AUTH_TEMPFAIL;
	}
	*why = "ok";
	return account_ids(found, a, need_account, who, why);
}

#ifdef HAVE_PAM

struct pam_lib {
	void	*h;
	int	(*start)(const char *, const char *, const struct pam_conv *,
		    pam_handle_t **);
	int	(*authenticate)(pam_handle_t *, int);
	int	(*acct_mgmt)(pam_handle_t *, int);
	int	(*end)(pam_handle_t *, int);
	int	(*set_item)(pam_handle_t *, int, const void *);
};

/* Load libpam.  Returns 0, or -1 (logged). */
static int
pam_load(struct pam_lib *l)
{
	if (l->h != NULL)
		return 0;
	if ((l->h = dlopen("libpam.so.0", RTLD_NOW | RTLD_LOCAL)) == NULL) {
		log_warnx("auth pam: %s", dlerror());
		return -1;
	}
	*(void **)&l->start = dlsym(l->h, "pam_start");
	*(void **)&l->authenticate = dlsym(l->h, "pam_authenticate");
	*(void **)&l->acct_mgmt = dlsym(l->h, "pam_acct_mgmt");
	*(void **)&l->end = dlsym(l->h, "pam_end");
	*(void **)&l->set_item = dlsym(l->h, "pam_set_item");
	if (l->start == NULL || l->authenticate == NULL ||
	    l->acct_mgmt == NULL || l->end == NULL || l->set_item == NULL) {
		log_warnx("auth pam: libpam.so.0 lacks a pam_* function");
		dlclose(l->h);
		l->h = NULL;
		return -1;
	}
	return 0;
}

/* Answer every prompt for a secret with the password; nothing else. */
static int
pam_converse(int n, const struct pam_message **msg,
    struct pam_response **resp, void *arg)
{
	struct pam_response	*r;
	int			 i;

	if (n <= 0 || (r = calloc((size_t)n, sizeof(*r))) == NULL)
		return PAM_CONV_ERR;
	for (i = 0; i < n; i++) {
		if (msg[i]->msg_style != PAM_PROMPT_ECHO_OFF &&
		    msg[i]->msg_style != PAM_PROMPT_ECHO_ON)
			continue;
		if ((r[i].resp = strdup(arg)) == NULL)
			goto fail;
	}
	*resp = r;
	return PAM_SUCCESS;
fail:
	for (i = 0; i < n; i++)
		if (r[i].resp != NULL) {
			auth_wipe(r[i].resp, strlen(r[i].resp));
			free(r[i].resp);
		}
	free(r);
	return PAM_CONV_ERR;
}

/*
 * PAM_RHOST, for pam_access rules and auth.log: the client's address
 * without its port, from peer as the monitor named it ("192.0.2.7:1234",
 * "[2001:db8::7]:1234"); "" for none ("stdin").  That is the socket's
 * peer, never a PROXY header's client: the header is the pre-login
 * process's word, and an access rule must not rest on it.
 */
static void
rhost_of(const char *peer, char *out, size_t len)
{
	const char	*end;

	out[0] = '\0';
	if (peer == NULL)
		return;
	if (peer[0] == '[')
		end = strchr(++peer, ']');
	else
		end = strrchr(peer, ':');
	if (end == NULL || (size_t)(end - peer) >= len)
		return;
	memcpy(out, peer, (size_t)(end - peer));
	out[end - peer] = '\0';
}

static int
pam_check(const char *user, const char *pass, const char *peer,
    const char **why)
{
	struct pam_lib		 lib = { 0 };
	struct pam_conv		 conv = { pam_converse, (void *)(uintptr_t)pass };
	pam_handle_t		*ph = NULL;
	char			 rhost[NI_MAXHOST];
	int			 r;

	if (pam_load(&lib) == -1) {
		*why = "PAM unavailable";
		return AUTH_TEMPFAIL;
	}
	if (lib.start("pop3", user, &conv, &ph) != PAM_SUCCESS) {
		*why = "pam_start failed";
		return AUTH_TEMPFAIL;
	}
	rhost_of(peer, rhost, sizeof(rhost));
	if (rhost[0] != '\0' &&
	    lib.set_item(ph, PAM_RHOST, rhost) != PAM_SUCCESS) {
		lib.end(ph, PAM_SYSTEM_ERR);
		*why = "pam_set_item failed";
		return AUTH_TEMPFAIL;
	}
	r = lib.authenticate(ph, PAM_SILENT | PAM_DISALLOW_NULL_AUTHTOK);
	if (r == PAM_SUCCESS)
		r = lib.acct_mgmt(ph, PAM_SILENT);
	lib.end(ph, r);
	if (r == PAM_SUCCESS)
		return AUTH_OK;
	*why = r == PAM_AUTH_ERR || r == PAM_USER_UNKNOWN ? "wrong password" :
	    r == PAM_ACCT_EXPIRED || r == PAM_NEW_AUTHTOK_REQD ||
	    r == PAM_PERM_DENIED ? "account not usable" : "PAM failure";
	return r == PAM_AUTH_ERR || r == PAM_USER_UNKNOWN ||
	    r == PAM_ACCT_EXPIRED || r == PAM_NEW_AUTHTOK_REQD ||
	    r == PAM_PERM_DENIED || r == PAM_MAXTRIES ? AUTH_FAIL :
	    AUTH_TEMPFAIL;
}

/* A PAM check as the child runs it, and its answer. */
struct pam_question {
	const char	*user, *pass, *peer;
};
struct pam_answer {
	int	rc;
	char	why[64];
};

static void
pam_child(const void *in, void *out)
{
	const struct pam_question	*q = in;
	struct pam_answer		*a = out;
	const char			*why = "ok";

	a->rc = pam_check(q->user, q->pass, q->peer, &why);
	snprintf(a->why, sizeof(a->why), "%s", why);
}

/*
 * pam_check in a child of its own (account_isolated).  *why points into
 * a buffer the next call overwrites.
 */
static int
pam_isolated(const char *user, const char *pass, const char *peer,
    const char **why)
{
	static struct pam_answer	a;
	struct pam_question		q = { user, pass, peer };

	if (account_isolated(pam_child, &q, &a, sizeof(a)) == -1) {
		*why = "PAM check failed to run";
		return AUTH_TEMPFAIL;
	}
	*why = a.why;
	return a.rc;
}

int
pwcheck_have_pam(void)
{
	return 1;
}

#else

static int
pam_isolated(const char *user, const char *pass, const char *peer,
    const char **why)
{
	(void)user;
	(void)pass;
	(void)peer;
	log_warnx("auth pam: this pop3d was built without PAM");
	*why = "PAM not built in";
	return AUTH_TEMPFAIL;
}

int
pwcheck_have_pam(void)
{
	return 0;
}

#endif

/* The checkpassword child: fd 3 reads the pipe, no other descriptor. */
static void
checkpw_exec(const char *prog, int rfd)
{
	char	*argv[3];
	int	 null;

	if (dup2(rfd, 3) == -1 || (null = open("/dev/null", O_RDWR)) == -1)
		_exit(111);
	dup2(null, 0);
	dup2(null, 1);
	dup2(null, 2);
	close_range(4, ~0U, 0);
	signal(SIGPIPE, SIG_DFL);
	argv[0] = (char *)(uintptr_t)prog;
	argv[1] = (char *)(uintptr_t)CHECKPW_NEXT;
	argv[2] = NULL;
	execv(prog, argv);
	_exit(111);
}

/*
 * Wait up to CHECKPW_TIMEOUT seconds for pid through its pidfd, killing
 * it after that.  Returns its exit status, or -1.
 */
static int
checkpw_wait(pid_t pid)
{
	struct pollfd	pfd;
	int		st, r = 0;

	if ((pfd.fd = pidfd_open(pid, 0)) != -1) {
		pfd.events = POLLIN;
		do
			r = poll(&pfd, 1, CHECKPW_TIMEOUT * 1000);
		while (r == -1 && errno == EINTR);
		close(pfd.fd);
	}
	if (r == 0) {
		log_warnx("checkpassword: no verdict after %d s, killed",
		    CHECKPW_TIMEOUT);
		kill(pid, SIGKILL);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (r == 0 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

/* qmail's input on fd 3.  Returns its length, or 0 when it can't fit. */
static size_t
checkpw_input(char *in, const char *user, const char *pass,
    const char *stamp)
{
	size_t	u = strlen(user) + 1, p = strlen(pass) + 1;
	size_t	s = strlen(stamp) + 1;

	if (u + p + s > CHECKPW_INPUT_MAX)
		return 0;
	memcpy(in, user, u);
	memcpy(in + u, pass, p);
	memcpy(in + u + p, stamp, s);
	return u + p + s;
}

static int
checkpw_check(const struct conf *c, const char *user, const char *pass,
    const char *stamp, const char **why)
{
	char	in[CHECKPW_INPUT_MAX];
	size_t	len;
	pid_t	pid;
	int	p[2], st;
	ssize_t	n;

	*why = "checkpassword failed to run";
	if ((len = checkpw_input(in, user, pass, stamp)) == 0) {
		*why = "credentials too long for checkpassword";
		return AUTH_FAIL;
	}
	if (pipe2(p, O_CLOEXEC) == -1 || (pid = fork()) == -1) {
		log_warn("checkpassword");
		auth_wipe(in, sizeof(in));
		return AUTH_TEMPFAIL;
	}
	if (pid == 0)
		checkpw_exec(c->checkpassword, p[0]);
	close(p[0]);
	/* At most 512 bytes: below PIPE_BUF, so this never blocks. */
	n = write(p[1], in, len);
	auth_wipe(in, sizeof(in));
	close(p[1]);
	st = checkpw_wait(pid);
	if (n != (ssize_t)len || st == -1 || st > 1) {
		log_warnx("checkpassword %s: temporary failure (exit %d)",
		    c->checkpassword, st);
		return AUTH_TEMPFAIL;
	}
	*why = st == 0 ? "ok" : "wrong password";
	return st == 0 ? AUTH_OK : AUTH_FAIL;
}

int
pwcheck_password(const struct conf *c, const char *user, const char *pass,
    const char *stamp, const char *peer, struct auth_user *who,
    const char **why)
{
	struct account	a;
	int		rc;

	switch (c->auth) {
	case PWCHECK_PAM:
		if ((rc = pam_isolated(user, pass, peer, why)) != AUTH_OK)
			return rc;
		return fill_who(c, user, account_user(user, &a), &a, 1, who,
		    why);
	case PWCHECK_CHECKPASSWORD:
		if ((rc = checkpw_check(c, user, pass, stamp, why)) != AUTH_OK)
			return rc;
		return fill_who(c, user, account_user(user, &a), &a, 0, who,
		    why);
	default:
		rc = auth_passwd(c, user, pass, who);
		*why = auth_last_reason();
		return rc;
	}
}
