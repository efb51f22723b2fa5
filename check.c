/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * pop3d -t's checks of what the configuration points at: the passwd
 * file and its hashes, the mailbox directories, the checkpassword
 * program, the pidfile's directory, the PAM service file.  Each is a
 * mistake that `pop3d -t' used to pass and every login then failed on,
 * far from its cause ("wrong password", "[SYS/TEMP]", a chroot path in
 * the log).
 *
 * -t runs before any privilege drop, usually as root, and nothing here
 * runs a program, calls PAM or writes a file: the checks only stat,
 * access(2) and read.  Which identity each check stands for:
 * - the passwd file is read by the monitor, as root (privsep.c), and
 *   the checkpassword program is run by it, as root (pwcheck.c): read
 *   and access(2) as the caller, that is root;
 * - a mailbox's directory is where the session chroots, still as root,
 *   before it becomes the owner: its existence is what fails a login
 *   with the wrong path, so it is stat'ed as root.  Its permissions for
 *   the owner are the MDA's business and vary per user;
 * - the pidfile is created by the listener before it leaves root:
 *   access(2) with the caller's ids, the daemon's own.
 * The `chroot' setting is the pre-login jail, which never sees a
 * mailbox: mailbox paths are real paths, checked as written.
 */
#include <sys/stat.h>

#include <crypt.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth.h"
#include "check.h"
#include "conf.h"
#include "pwcheck.h"

/* PAM's service directory and the service it falls back to. */
#define CHECK_PAM_SERVICE	"/etc/pam.d/pop3"
#define CHECK_PAM_OTHER		"/etc/pam.d/other"

/* What the checks read and report to, and how many errors so far. */
struct check {
	const struct conf	*c;
	FILE			*out;
	int			 errors;
	int			 per_user;	/* a %u in the template's directory */
};

/* One passwd file being walked. */
struct check_pw {
	struct check	*k;
	unsigned long	 usable;	/* accounts that can log in */
};

static void	check_say(struct check *, int, const char *, unsigned long,
		    const char *, ...) __attribute__((format(printf, 5, 6)));
static void	check_setting(struct check *, int, const char *, const char *,
		    const char *, ...) __attribute__((format(printf, 5, 6)));

/*
 * One finding: "file:line: message" (line 0: "file: message"), with
 * "warning: " before the message when error is 0.
 */
static void
check_say(struct check *k, int error, const char *file, unsigned long line,
    const char *fmt, ...)
{
	va_list	ap;

	if (line > 0)
		fprintf(k->out, "%s:%lu: ", file, line);
	else
		fprintf(k->out, "%s: ", file);
	if (!error)
		fprintf(k->out, "warning: ");
	va_start(ap, fmt);
	vfprintf(k->out, fmt, ap);
	va_end(ap);
	fputc('\n', k->out);
	if (error)
		k->errors++;
}

/*
 * A finding about the setting key of the configuration file, at the
 * line that sets it: "file:line: key value: message", or, for a default,
 * "file: key value (the default): message".
 */
static void
check_setting(struct check *k, int error, const char *key, const char *val,
    const char *fmt, ...)
{
	unsigned long	line = conf_key_line(k->c, key);
	char		msg[PATH_MAX + 512];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	check_say(k, error, k->c->file, line, "%s %s%s: %s", key, val,
	    line == 0 ? " (the default)" : "", msg);
}

/*
 * The first directory on the way to dir (an absolute path) that is
 * missing or not a directory, into bad.  Returns 0 when dir is a
 * directory, else the errno to report (ENOTDIR for a non-directory).
 */
static int
check_dir(const char *dir, char *bad, size_t badlen)
{
	struct stat	st;
	size_t		len = 0;

	do {
		len += 1 + strcspn(dir + len + 1, "/");
		snprintf(bad, badlen, "%.*s", (int)len, dir);
		if (stat(bad, &st) == -1)
			return errno;
		if (!S_ISDIR(st.st_mode))
			return ENOTDIR;
	} while (dir[len] != '\0');
	return 0;
}

/*
 * The directory part of a mailbox path or template that holds no '%':
 * up to the last '/' before the first '%' (/var/mail of /var/mail/%u,
 * /home of /home/%u/mbox), as a session's chroot would need it.
 */
static void
check_mailbox_dir(const char *path, char *dir, size_t dirlen)
{
	snprintf(dir, dirlen, "%.*s", (int)strcspn(path, "%"), path);
	*strrchr(dir, '/') = '\0';
	if (dir[0] == '\0')
		snprintf(dir, dirlen, "/");
}

/*
 * The mailbox template's directory: it must exist for anyone to log in.
 * When it does and the template has a '%' before its last '/'
 * (/home/%u/mbox), each passwd account's own directory is checked too.
 */
static void
check_template(struct check *k)
{
	const char	*t = k->c->mailbox;
	char		 dir[PATH_MAX], bad[PATH_MAX];
	int		 e;

	check_mailbox_dir(t, dir, sizeof(dir));
	if ((e = check_dir(dir, bad, sizeof(bad))) == 0) {
		k->per_user = strcspn(t, "%") < (size_t)(strrchr(t, '/') - t);
		return;
	}
	check_setting(k, 1, "mailbox", k->c->mailbox, "directory %s: %s, so "
	    "no login can open a mailbox: correct the path in mailbox, or "
	    "create %s", bad, strerror(e), dir);
}

/*
 * How crypt(3) sees a hash: NULL when logins can use it, else why not,
 * with *refused set when crypt(3) refuses it outright (a login then
 * fails with [SYS/TEMP], not as a wrong password).  *weak is set for a
 * method libcrypt calls legacy (crypt_checksalt).  Runs crypt once, as
 * a login does: a complete hash comes back whole, the same length, from
 * crypt("", hash); a cut or plain-text one comes back longer or shorter,
 * an unknown or damaged one not at all.
 */
static const char *
check_hash(const char *hash, int *weak, int *refused)
{
	struct crypt_data	*cd;
	const char		*out, *why = NULL;
	int			 cs = crypt_checksalt(hash);

	*weak = cs != CRYPT_SALT_OK;
	*refused = 1;
	if (cs == CRYPT_SALT_INVALID)
		return "is not a hash of any method crypt(3) knows "
		    "(plain text, or an unknown scheme)";
	if ((cd = calloc(1, sizeof(*cd))) == NULL)
		return NULL;
	out = crypt_rn("", hash, cd, sizeof(*cd));
	if (out == NULL)
		why = "is refused by crypt(3) (damaged, or a method this "
		    "libcrypt lacks)";
	else if (strlen(out) != strlen(hash)) {
		why = "is not a complete crypt(3) hash (cut short, or plain "
		    "text)";
		*refused = 0;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return why;
}

/* The name of a weak hash's method, for the warning. */
static const char *
check_weak_name(const char *hash)
{
	if (strncmp(hash, "$1$", 3) == 0)
		return "MD5-crypt ($1$)";
	if (hash[0] == '_')
		return "BSDi extended DES";
	if (hash[0] != '$')
		return "traditional DES";
	return "a legacy method";
}

/*
 * A passwd account's mailbox directory: from the line's own mailbox, or
 * from the template when the user's name is in its directory part.
 */
static void
check_pw_mailbox(struct check *k, unsigned long lineno,
    const struct auth_line *l)
{
	char		 path[PATH_MAX], dir[PATH_MAX], bad[PATH_MAX];
	const char	*mailbox = l->mailbox;
	int		 e;

	if (mailbox == NULL || mailbox[0] == '\0') {
		if (!k->per_user || conf_mailbox_path(k->c->mailbox, l->name,
		    path, sizeof(path)) == -1)
			return;
		mailbox = path;
	}
	check_mailbox_dir(mailbox, dir, sizeof(dir));
	if ((e = check_dir(dir, bad, sizeof(bad))) == 0)
		return;
	check_say(k, 1, k->c->passwd_file, lineno, "mailbox %s of %s: "
	    "directory %s: %s, so %s's logins fail: correct the path or "
	    "create %s", mailbox, l->name, bad, strerror(e), l->name, dir);
}

/* auth_passwd_walk's callback: one line of the passwd file. */
static void
check_pw_line(unsigned long lineno, const char *bad,
    const struct auth_line *l, void *arg)
{
	struct check_pw	*pw = arg;
	struct check	*k = pw->k;
	const char	*why;
	int		 weak, refused;

	if (bad != NULL) {
		check_say(k, 1, k->c->passwd_file, lineno, "%s: logins skip "
		    "this line, so its user can't log in: correct it", bad);
		return;
	}
	if (l->locked)
		return;		/* "*" or "!": locked on purpose */
	check_pw_mailbox(k, lineno, l);
	if ((why = check_hash(l->hash, &weak, &refused)) != NULL) {
		check_say(k, 1, k->c->passwd_file, lineno, "the hash of %s %s; "
		    "every login of %s fails %s: put a new hash there "
		    "(mkpasswd -m yescrypt)", l->name, why, l->name,
		    refused ? "with [SYS/TEMP]" : "as \"wrong password\"");
		return;
	}
	pw->usable++;
	if (weak)
		check_say(k, 0, k->c->passwd_file, lineno, "the hash of %s "
		    "is %s, which is weak: put a new hash there "
		    "(mkpasswd -m yescrypt)", l->name,
		    check_weak_name(l->hash));
}

/*
 * The passwd file, read with the login's own parser: USER/PASS and
 * AUTH PLAIN need it with auth passwd, APOP always (ids and mailbox).
 */
static void
check_passwd(struct check *k)
{
	const struct conf	*c = k->c;
	struct check_pw		 pw = { k, 0 };

	if (c->auth != PWCHECK_PASSWD && !c->apop)
		return;
	if (auth_passwd_walk(c->passwd_file, check_pw_line, &pw) == -1) {
		check_setting(k, 1, "passwd_file", c->passwd_file, "%s; every "
		    "login would get \"[SYS/TEMP] cannot check credentials "
		    "now\": create it (lines user:hash[:uid:gid[:mailbox]], "
		    "pop3d.conf.5) or correct passwd_file", strerror(errno));
		return;
	}
	if (pw.usable == 0 && c->auth == PWCHECK_PASSWD)
		check_setting(k, 0, "passwd_file", c->passwd_file, "no account "
		    "in it can log in with a password");
}

/* auth checkpassword: the program, run as root by each login. */
static void
check_checkpassword(struct check *k)
{
	const char	*prog = k->c->checkpassword;
	struct stat	 st;

	if (k->c->auth != PWCHECK_CHECKPASSWORD)
		return;
	if (stat(prog, &st) == -1)
		check_setting(k, 1, "checkpassword", prog, "%s; every login "
		    "would fail with [SYS/TEMP]: install the program or "
		    "correct checkpassword", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		check_setting(k, 1, "checkpassword", prog, "not a regular "
		    "file: name the program itself");
	else if (access(prog, X_OK) == -1)
		check_setting(k, 1, "checkpassword", prog, "not executable "
		    "(%s); every login would fail with [SYS/TEMP]: chmod 755 "
		    "it", strerror(errno));
}

/* The pidfile's directory: the listener creates the file there. */
static void
check_pidfile(struct check *k)
{
	const char	*pidfile = k->c->pidfile;
	char		 dir[PATH_MAX], bad[PATH_MAX];
	int		 e;

	if (pidfile[0] == '\0')
		return;
	snprintf(dir, sizeof(dir), "%s", pidfile);
	*strrchr(dir, '/') = '\0';
	if (dir[0] == '\0')
		snprintf(dir, sizeof(dir), "/");
	if ((e = check_dir(dir, bad, sizeof(bad))) != 0)
		check_setting(k, 1, "pidfile", pidfile, "directory %s: %s, so "
		    "pop3d won't start: create %s or choose another pidfile "
		    "(or none)", bad, strerror(e), dir);
	else if (access(dir, W_OK | X_OK) == -1)
		check_setting(k, 1, "pidfile", pidfile, "directory %s is not "
		    "writable (%s), so pop3d won't start: choose a directory "
		    "it can write, such as /run", dir, strerror(errno));
}

/*
 * The first line of a PAM service file that denies with pam_deny in the
 * auth stack, or 0.  Only the module name is looked for: PAM's own
 * parsing is libpam's, and -t calls no PAM.
 */
static unsigned long
check_pam_denies(FILE *fp)
{
	char		 line[1024];
	unsigned long	 n = 0;
	const char	*s;

	while (fgets(line, sizeof(line), fp) != NULL) {
		n++;
		s = line + strspn(line, " \t");
		if (strncmp(s, "auth", 4) == 0 && strstr(s, "pam_deny") != NULL)
			return n;
	}
	return 0;
}

/*
 * auth pam: without /etc/pam.d/pop3, libpam uses the service "other"
 * (/etc/pam.d/other).  Debian's "other" includes the common-* stacks,
 * which check the passwords of system accounts: logins work, by rules
 * that are not pop3's own.  An "other" that denies fails every login.
 */
static void
check_pam(struct check *k)
{
	FILE		*fp;
	unsigned long	 deny;

	if (k->c->auth != PWCHECK_PAM)
		return;
	if (!pwcheck_have_pam()) {
		check_setting(k, 1, "auth", "pam", "this pop3d was built "
		    "without PAM: install libpam0g-dev and rebuild it");
		return;
	}
	if (access(CHECK_PAM_SERVICE, F_OK) == 0)
		return;
	if ((fp = fopen(CHECK_PAM_OTHER, "r")) == NULL) {
		check_setting(k, 1, "auth", "pam", "no %s and no %s (%s): PAM "
		    "refuses every login; copy dist/pam.d/pop3 (installed as "
		    "share/doc/pop3d/pam.pop3) to %s", CHECK_PAM_SERVICE,
		    CHECK_PAM_OTHER, strerror(errno), CHECK_PAM_SERVICE);
		return;
	}
	deny = check_pam_denies(fp);
	fclose(fp);
	if (deny > 0)
		check_setting(k, 1, "auth", "pam", "no %s, so PAM uses %s, "
		    "which denies every login (pam_deny, line %lu): copy "
		    "dist/pam.d/pop3 (installed as share/doc/pop3d/pam.pop3) "
		    "to %s", CHECK_PAM_SERVICE, CHECK_PAM_OTHER, deny,
		    CHECK_PAM_SERVICE);
	else
		check_setting(k, 0, "auth", "pam", "no %s, so PAM uses the "
		    "service \"other\" (%s), the system's default rules: copy "
		    "dist/pam.d/pop3 (installed as share/doc/pop3d/pam.pop3) "
		    "to %s to give pop3 its own", CHECK_PAM_SERVICE,
		    CHECK_PAM_OTHER, CHECK_PAM_SERVICE);
}

int
check_files(const struct conf *c, FILE *out)
{
	struct check	k = { c, out, 0, 0 };

	check_template(&k);
	check_passwd(&k);
	check_checkpassword(&k);
	check_pidfile(&k);
	check_pam(&k);
	return k.errors;
}
