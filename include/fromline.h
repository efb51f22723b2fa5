/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The mbox From_ line (RFC 4155): what makes a line start a message, as
 * the mail readers that share the file (mutt, c-client, Dovecot) decide.
 */
#ifndef POP3D_FROMLINE_H
#define POP3D_FROMLINE_H

#include <stddef.h>

/*
 * Longest line taken for a From_ line: real ones are under 200 bytes (an
 * address and a date); a longer line starting with "From " is text.
 */
#define FROM_LINE_MAX	1024

/*
 * Whether the len bytes at p, a whole line without its LF (a CR before
 * it may stay), are a From_ line: "From ", a sender, and a date as
 * asctime() writes it ("Mon Jan  1 00:00:00 2024"), with the variants
 * mail programs write: no seconds, a time zone before or after the year,
 * "remote from HOST" after it.  A two-digit year is not one (Dovecot
 * does not take it either).  Returns 1 or 0.
 */
int	from_line_valid(const char *p, size_t len);

#endif
