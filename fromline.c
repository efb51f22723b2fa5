/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The mbox From_ line (fromline.h): "From ", the sender, then a date in
 * asctime() form, each part checked in turn.  Written from RFC 4155
 * section 2 and the variants that the mail programs sharing a spool
 * write and accept; tests/integration/dovecot_ref.py holds the cases
 * compared with Dovecot.
 */
#include <string.h>
#include <strings.h>

#include "fromline.h"

static const char days[] = "SunMonTueWedThuFriSat";
static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* p after spaces and tabs, at most up to end. */
static const char *
skip_blanks(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * A three-letter word of list (any case), then at least one blank.
 * Returns where the next word starts, or NULL.
 */
static const char *
name3(const char *p, const char *end, const char *list)
{
	const char	*q;

	if (end - p < 4 || (p[3] != ' ' && p[3] != '\t'))
		return NULL;
	for (q = list; *q != '\0'; q += 3)
		if (strncasecmp(p, q, 3) == 0)
			return skip_blanks(p + 3, end);
	return NULL;
}

/*
 * min to max digits making a number no greater than top.  Returns the
 * byte after them, or NULL.
 */
static const char *
number(const char *p, const char *end, int min, int max, int top)
{
	int	n = 0, v = 0;

	while (p < end && n < max && *p >= '0' && *p <= '9') {
		v = v * 10 + (*p++ - '0');
		n++;
	}
	if (n < min || v > top || (p < end && *p >= '0' && *p <= '9'))
		return NULL;
	return p;
}

/* hh:mm, or hh:mm:ss.  Returns the byte after it, or NULL. */
static const char *
clock_time(const char *p, const char *end)
{
	if ((p = number(p, end, 1, 2, 23)) == NULL || p == end || *p != ':' ||
	    (p = number(p + 1, end, 2, 2, 59)) == NULL)
		return NULL;
	if (p < end && *p == ':')
		p = number(p + 1, end, 2, 2, 60);
	return p;
}

/*
 * A time zone: +hhmm or -hhmm, or a name of one to five letters (CET,
 * PST, UTC).  Returns the byte after it, or NULL.
 */
static const char *
zone(const char *p, const char *end)
{
	const char	*q = p;

	if (p < end && (*p == '+' || *p == '-'))
		return number(p + 1, end, 4, 4, 9999);
	while (q < end && q - p < 6 && ((*q >= 'A' && *q <= 'Z') ||
	    (*q >= 'a' && *q <= 'z')))
		q++;
	return q > p && q - p <= 5 && (q == end || *q == ' ' || *q == '\t') ?
	    q : NULL;
}

/* A four-digit year, alone.  Returns the byte after it, or NULL. */
static const char *
year(const char *p, const char *end)
{
	if ((p = number(p, end, 4, 4, 9999)) == NULL ||
	    (p < end && *p != ' ' && *p != '\t'))
		return NULL;
	return p;
}

/*
 * What may follow the year: a time zone, then "remote from" and a host
 * (UUCP's), then blanks.  Returns 1 when that is all there is.
 */
static int
date_tail(const char *p, const char *end)
{
	const char	*q;

	p = skip_blanks(p, end);
	if (p < end && (q = zone(p, end)) != NULL)
		p = skip_blanks(q, end);
	if (end - p >= 12 && strncasecmp(p, "remote from ", 12) == 0)
		return 1;
	return p == end;
}

/* Weekday, month, day, time, year as asctime() and its variants put them. */
static int
date_ok(const char *p, const char *end)
{
	const char	*q;

	if ((p = name3(p, end, days)) == NULL ||
	    (p = name3(p, end, months)) == NULL ||
	    (p = number(p, end, 1, 2, 31)) == NULL ||
	    (q = skip_blanks(p, end)) == p ||
	    (p = clock_time(q, end)) == NULL ||
	    (q = skip_blanks(p, end)) == p)
		return 0;
	/* the zone may come before the year */
	if ((p = year(q, end)) == NULL) {
		if ((p = zone(q, end)) == NULL || (q = skip_blanks(p, end)) == p ||
		    (p = year(q, end)) == NULL)
			return 0;
	}
	return date_tail(p, end);
}

/*
 * The sender: a quoted string (a local part may hold blanks that way)
 * or one word.  Returns where it ends, or NULL when there is none.
 */
static const char *
sender(const char *p, const char *end)
{
	const char	*q = p;

	if (q < end && *q == '"') {
		for (q++; q < end && *q != '"'; q++)
			if (*q == '\\' && q + 1 < end)
				q++;
		if (q == end)
			return NULL;
		q++;
	}
	while (q < end && *q != ' ' && *q != '\t')
		q++;
	return q > p ? q : NULL;
}

int
from_line_valid(const char *p, size_t len)
{
	const char	*end = p + len, *q;

	if (len > 0 && end[-1] == '\r')
		end--;
	if (len < 5 || len > FROM_LINE_MAX || strncmp(p, "From ", 5) != 0)
		return 0;
	if ((q = sender(p + 5, end)) == NULL || q == end)
		return 0;
	return date_ok(skip_blanks(q, end), end);
}
