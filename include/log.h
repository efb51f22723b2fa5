/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Logging: syslog (facility mail) in production, stderr in the foreground.
 * Every line of a session carries that session's id.
 */
#ifndef POP3D_LOG_H
#define POP3D_LOG_H

/*
 * Log to stderr when foreground is non-zero, else to syslog as ident:
 * connect to /dev/log and read the time zone now, before any chroot.
 * On a stderr that JOURNAL_STREAM names, lines carry sd-daemon(3)
 * priority prefixes ("<4>") instead of "ident[pid]: ".
 */
void	log_init(int foreground, const char *ident);

/*
 * In syslog mode, also copy each line to stderr while on is non-zero: a
 * daemon's start-up errors reach whoever started it until it detaches.
 * Nothing is copied when stderr is journald's (it has the syslog line).
 */
void	log_tee_stderr(int on);

/* Emit log_debug lines when on is non-zero (they are dropped by default). */
void	log_verbose(int on);

/*
 * Prefix every later line of this process with "[id] "; NULL clears it.
 * With an id, in syslog mode: this process now serves one connection, so
 * it takes a fresh connection to /dev/log (call it before any chroot) and
 * it and its children never reconnect: a failed send drops the line.
 */
void	log_session(const char *id);

/*
 * log_warn appends ": " and strerror(errno); the x variants don't.  Control
 * characters in the message become '?', so client text can't forge lines.
 * errno is preserved.
 */
void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));

#endif
