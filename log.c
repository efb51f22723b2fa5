/*
 * Logging: one line per call, to syslog (facility mail) or to stderr.
 *
 * Messages often carry what a client sent (a user name, a command), so
 * every control character is replaced before the line leaves: a client
 * can't start a new log line or hide text with escapes.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* Long enough for a reply line plus context; longer messages are cut. */
#define LOG_LINE_MAX	1024
#define LOG_PREFIX_MAX	64
#define LOG_IDENT_MAX	32

/* Before log_init (unit tests, early start-up) lines go to stderr. */
static int	log_foreground = 1;
static int	log_debug_on;
static char	log_ident[LOG_IDENT_MAX] = "pop3d";
static char	log_prefix[LOG_PREFIX_MAX];

static void	log_sanitize(char *);
static void	log_emit(int, int, const char *, va_list)
		    __attribute__((format(printf, 3, 0)));

void
log_init(int foreground, const char *ident)
{
	if (ident == NULL)
		ident = "pop3d";
	snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_sanitize(log_ident);
	log_foreground = foreground;
	/* LOG_NDELAY: connect now, before a chroot hides /dev/log. */
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
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
}

/* Replace every control byte so one call can only ever make one line. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			*s = '?';
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
	if (log_foreground)
		fprintf(stderr, "%s[%ld]: %s%s\n", log_ident, (long)getpid(),
		    log_prefix, line);
	else
		syslog(pri, "%s%s", log_prefix, line);
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
