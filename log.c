/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Logging: one line per call, to syslog (facility mail) or to stderr.
 *
 * Messages often carry what a client sent (a user name, a command), so
 * every control character is replaced before the line leaves: a client
 * can't start a new log line or hide text with escapes.
 *
 * Syslog is spoken here, not through syslog(3): the jailed pre-login
 * process runs under a syscall filter (sandbox.c) that kills it on
 * socket() or open(), and glibc's syslog() makes both on its own (it
 * reconnects after a failed send, and reads /etc/localtime for its first
 * time stamp).  So the socket to /dev/log is made before any chroot, the
 * time zone is read once at log_init, and a process that serves a
 * connection never reconnects: it is, or soon will be, in a chroot where
 * "/dev/log" is not the system's log socket but a path anyone able to
 * write there could plant; its failed send drops the line.
 *
 * On stderr, a line goes out as "ident[pid]: line" for a person at a
 * terminal, or, when stderr is journald's stream (systemd's -d service),
 * as "<N>line": sd-daemon(3)'s priority prefix, and no ident or pid,
 * which journald records itself.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

/* Long enough for a reply line plus context; longer messages are cut. */
#define LOG_LINE_MAX	1024
#define LOG_PREFIX_MAX	64
#define LOG_IDENT_MAX	32

/* Where the system's syslog daemon (or journald) takes datagrams. */
#define LOG_SOCKET	"/dev/log"

/* "<PRI>Mmm dd hh:mm:ss ident[pid]: " ahead of the line (RFC 3164). */
#define LOG_HEAD_MAX	(LOG_IDENT_MAX + 48)

/* Before log_init (unit tests, early start-up) lines go to stderr. */
static int	log_foreground = 1;
static int	log_tee;		/* syslog mode, not detached yet */
static int	log_journal;		/* stderr is journald's stream */
static int	log_debug_on;
static char	log_ident[LOG_IDENT_MAX] = "pop3d";
static char	log_prefix[LOG_PREFIX_MAX];
static int	log_fd = -1;		/* the socket to LOG_SOCKET */
static int	log_may_reconnect;	/* this process is not a connection's */

static void	log_sanitize(char *);
static void	log_emit(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

/*
 * (Re)connect to LOG_SOCKET.  Without one (no syslog daemon yet) lines
 * are dropped, as syslog(3) drops them.
 */
static void
log_connect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path, LOG_SOCKET, sizeof(LOG_SOCKET));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return;
	}
	if (log_fd != -1)
		close(log_fd);
	log_fd = fd;
}

/*
 * Whether stderr is the stream systemd connected to journald: it says so
 * in JOURNAL_STREAM as "device:inode" (systemd.exec(5)).  Compared with
 * stderr itself, so a variable inherited by a process whose stderr was
 * redirected elsewhere is not believed.
 */
static int
stderr_is_journal(void)
{
	const char		*v = getenv("JOURNAL_STREAM");
	struct stat		 st;
	unsigned long long	 dev, ino;
	int			 used = 0;

	if (v == NULL || fstat(STDERR_FILENO, &st) == -1 ||
	    sscanf(v, "%llu:%llu%n", &dev, &ino, &used) != 2 ||
	    v[used] != '\0')
		return 0;
	return dev == (unsigned long long)st.st_dev &&
	    ino == (unsigned long long)st.st_ino;
}

void
log_init(int foreground, const char *ident)
{
	if (ident == NULL)
		ident = "pop3d";
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_sanitize(log_ident);
	log_foreground = foreground;
	log_journal = stderr_is_journal();
	if (foreground)
		return;
	/* localtime_r reads the zone only the first time: do it here. */
	tzset();
	log_may_reconnect = 1;
	log_connect();
}

void
log_tee_stderr(int on)
{
	/* journald has the syslog line already: no second copy. */
	log_tee = on && !log_foreground && !log_journal;
}

void
log_verbose(int on)
{
	log_debug_on = on;
}

void
log_session(const char *id)
{
	if (id == NULL) {
		log_prefix[0] = '\0';
		return;
	}
	snprintf(log_prefix, sizeof(log_prefix), "[%s] ", id);
	log_sanitize(log_prefix);
	/*
	 * A connection of its own, made while not yet jailed: the one
	 * inherited may have died with a restarted syslog daemon, and from
	 * here on this process's family never reconnects.
	 */
	if (!log_foreground) {
		log_connect();
		log_may_reconnect = 0;
	}
}

/* Replace every control byte so one call can only ever make one line. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
}

/*
 * Send one line to syslog as syslog(3) would: "<PRI>Mmm dd hh:mm:ss
 * ident[pid]: line", the time stamp in local time and in the C locale.
 * Never inlined: its buffer in log_emit's frame would lie above the
 * stderr path's fprintf too, itself deep (8 KB for an unbuffered file).
 */
static __attribute__((noinline)) void
log_send(int pri, const char *line)
{
	static const char	months[] = "JanFebMarAprMayJunJulAugSepOct"
				    "NovDec";
	char			msg[LOG_HEAD_MAX + LOG_PREFIX_MAX +
				    LOG_LINE_MAX];
	struct tm		tm;
	time_t			now = time(NULL);
	int			n;

	if (localtime_r(&now, &tm) == NULL)
		memset(&tm, 0, sizeof(tm));
	n = snprintf(msg, sizeof(msg), "<%d>%.3s %2d %02d:%02d:%02d %s[%ld]: "
	    "%s%s", LOG_MAIL | pri, months + 3 * (tm.tm_mon % 12), tm.tm_mday,
	    tm.tm_hour, tm.tm_min, tm.tm_sec, log_ident, (long)getpid(),
	    log_prefix, line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	if (log_fd != -1 && send(log_fd, msg, (size_t)n, MSG_NOSIGNAL) != -1)
		return;
	/* Once: a syslog daemon still away loses the line, as with syslog(3). */
	if (log_may_reconnect) {
		log_connect();
		if (log_fd != -1)
			(void)send(log_fd, msg, (size_t)n, MSG_NOSIGNAL);
	}
}

static void
log_emit(int pri, int with_errno, const char *fmt, va_list ap)
{
	char	line[LOG_LINE_MAX];
	int	saved = errno, n;
	size_t	len;

	n = vsnprintf(line, sizeof(line), fmt, ap);
	if (n < 0)
		snprintf(line, sizeof(line), "(unprintable log message)");
	else if ((size_t)n >= sizeof(line))
		memcpy(line + sizeof(line) - 4, "...", 4);
	if (with_errno) {
		len = strlen(line);
		snprintf(line + len, sizeof(line) - len, ": %s",
		    strerror(saved));
	}
	log_sanitize(line);
	if (!log_foreground)
		log_send(pri, line);
	if (log_foreground && log_journal)
		fprintf(stderr, "<%d>%s%s\n", pri, log_prefix, line);
	else if (log_foreground || log_tee)
		fprintf(stderr, "%s[%ld]: %s%s\n", log_ident, (long)getpid(),
		    log_prefix, line);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, 1, fmt, ap);
	va_end(ap);
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_emit(LOG_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, 0, fmt, ap);
	va_end(ap);
}
