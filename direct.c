/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The user's process after a verified login: the session goes on as the
 * mailbox's owner, never root (privsep.c has switched to the owner and
 * put the session's syscall filter on before direct_serve runs), its
 * maildrop opened here.
 */
#include "auth.h"
#include "conn.h"
#include "direct.h"
#include "logindelay.h"
#include "mbox.h"

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

int
direct_serve(const struct conf *c, struct transport *t,
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
