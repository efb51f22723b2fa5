/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The configuration file: "key value" lines, '#' comments.  Unknown keys
 * and bad values are errors reported as "file:line: message".
 */
#ifndef POP3D_CONF_H
#define POP3D_CONF_H

#include <limits.h>
#include <stdio.h>

#include "params.h"
#include "proxy.h"

#define CONF_DEFAULT_PATH	"/etc/pop3d.conf"

enum mbox_format {
	MBOX_MBOXO,		/* ">From " left as stored (default) */
	MBOX_MBOXRD,		/* one '>' removed from "^>+From " lines */
	MBOX_MBOXCL2		/* bodies delimited by Content-Length: */
};

/*
 * Whose UIDLs a mailbox keeps serving after a move to pop3d (uids.c,
 * DESIGN.md "UIDs inherited from another server").
 */
enum uidl_compat {
	UIDL_COMPAT_NONE,	/* pop3d's own UIDs (default) */
	UIDL_COMPAT_DOVECOT,	/* X-UID and UIDVALIDITY as Dovecot serves them */
	UIDL_COMPAT_POPA3D	/* popa3d's header fingerprint */
};

enum mbox_lock {
	LOCK_FCNTL = 1,
	LOCK_DOTLOCK = 2,
	LOCK_FLOCK = 3
};

#define CONF_LOCKS_MAX	3

struct conf_listen {
	char	host[64];	/* numeric address (no brackets) or "*" */
	char	port[8];
};

/* When USER/PASS, APOP and AUTH PLAIN are allowed without TLS. */
enum plaintext_auth {
	PLAINTEXT_NO,		/* never */
	PLAINTEXT_LOCAL,	/* from loopback only (default) */
	PLAINTEXT_YES		/* always */
};

/* Who verifies passwords (USER/PASS, AUTH PLAIN); APOP always uses apop_file. */
enum auth_backend {
	PWCHECK_PASSWD,		/* passwd_file (default) */
	PWCHECK_PAM,		/* PAM service "pop3": system accounts */
	PWCHECK_CHECKPASSWORD	/* an external program, qmail's interface */
};

/* One certificate chain and its key, for a host name sent with SNI. */
struct conf_sni {
	char	name[256];	/* "mail.example.org" or "*.example.org" */
	char	cert[PATH_MAX];
	char	key[PATH_MAX];
};

struct conf {
	char			file[PATH_MAX];		/* where it was read from */
	struct conf_listen	listen[CONF_LISTEN_MAX];
	int			nlisten;
	char			passwd_file[PATH_MAX];
	char			mailbox[PATH_MAX];	/* template: %u user, %% '%' */
	int			expire_never;		/* 0: EXPIRE 0, 1: EXPIRE NEVER */
	unsigned		idle_timeout;		/* seconds */
	enum mbox_format	mbox_format;
	enum uidl_compat	uidl_compat;
	enum mbox_lock		mbox_locks[CONF_LOCKS_MAX];	/* in order */
	int			nlocks;
	unsigned		lock_timeout;		/* seconds */
	unsigned		max_sessions;
	char			user[AUTH_NAME_MAX + 1];	/* switch to it when root */
	char			chroot[PATH_MAX];	/* pre-login jail when root */
	char			mail_group[AUTH_NAME_MAX + 1];	/* kept by sessions */
	enum auth_backend	auth;
	char			checkpassword[PATH_MAX];	/* the program */
	int			apop;			/* APOP enabled */
	char			apop_file[PATH_MAX];

	/* TLS: no tls_cert means no TLS at all (no STLS, no listen_tls). */
	struct conf_listen	listen_tls[CONF_LISTEN_MAX];	/* implicit TLS */
	int			nlisten_tls;
	char			tls_cert[PATH_MAX];	/* "" without TLS */
	char			tls_key[PATH_MAX];
	struct conf_sni		sni[CONF_SNI_MAX];
	int			nsni;
	char			tls_ciphers[CONF_CIPHERS_MAX];	/* "default" */
	unsigned		tls_handshake_timeout;	/* seconds */
	enum plaintext_auth	plaintext_auth;

	/* Process model and limits (pop3d.c, peerlimit.c, proxy.c). */
	char			pidfile[PATH_MAX];	/* "" for none */
	unsigned		shutdown_timeout;	/* seconds, SIGTERM */
	unsigned		max_sessions_per_ip;	/* 0: no limit */
	unsigned		login_timeout;		/* seconds to a login */
	struct proxy_net	proxy_trusted[CONF_PROXY_NETS_MAX];
	int			nproxy_trusted;		/* 0: no PROXY */
	unsigned		login_delay;		/* seconds, 0: none */
	unsigned		auth_fail_delay_max;	/* seconds (peerlimit.c) */
	int			sandbox;	/* syscall filters (sandbox.c) */
};

/* Fill in every default (documented in pop3d.conf.example). */
void	conf_defaults(struct conf *);

/*
 * Read path into c (which conf_defaults has set).  Returns 0, or -1 with
 * "path:line: message" (or "path: reason") in err; on -1 c is unchanged.
 */
int	conf_load(struct conf *c, const char *path, char *err, size_t errlen);

/*
 * Read path over the defaults into a new struct conf of its own mapping,
 * of which only the pages holding set fields are ever written (the
 * daemon's copy, kept for its life and inherited by every session).
 * Returns it, or NULL with the message in err as for conf_load.
 */
struct conf	*conf_new(const char *path, char *err, size_t errlen);

/* Unmap a struct conf from conf_new.  NULL is allowed. */
void	conf_free(struct conf *c);

/*
 * Expand the mailbox template for user into out (%u the user, %% a '%').
 * Returns 0, or -1 when the result does not fit or the template has any
 * other '%' sequence (conf_load refuses such templates).
 */
int	conf_mailbox_path(const char *tmpl, const char *user, char *out,
	    size_t outlen);

/*
 * Print c to fp as configuration lines, every key with its value,
 * defaults included (pop3d -n): the output parses back to the same
 * settings.  A key without a value (tls_cert unset) is a comment line.
 */
void	conf_print(const struct conf *c, FILE *fp);

/*
 * The number of the last line of c->file that sets key, or 0 when none
 * does (the default applies) or the file can't be read again.
 */
unsigned long	conf_key_line(const struct conf *c, const char *key);

/* The i-th key the parser accepts, from 0; NULL past the last. */
const char	*conf_key_name(size_t i);

#endif
