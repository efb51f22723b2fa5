/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the From_ line rule: the lines Dovecot takes for the
 * start of a message, and those it takes for text (the cases of
 * tests/integration/dovecot_ref.py, where Dovecot itself is asked).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fromline.h"

static int
valid(const char *line)
{
	return from_line_valid(line, strlen(line));
}

static void
test_valid(void **state)
{
	static const char	*ok[] = {
		"From a@b Mon Jan  1 00:00:00 2024",
		"From a@b Mon Jan 1 00:00:00 2024",
		"From a@b Mon Jan  1 00:00:00 2024\r",
		"From MAILER-DAEMON Fri Dec 31 23:59:60 1999",
		"From a@b mon jan  1 00:00:00 2024",
		"From a@b Mon Jan  1 00:00:00 2024 +0100",
		"From a@b Mon Jan  1 00:00:00 CET 2024",
		"From a@b Mon Jan  1 00:00:00 -0800 2024",
		"From a@b Mon Jan  1 00:00:00 2024 remote from host",
		"From a@b Mon Jan  1 00:00 2024",
		"From a@b  Mon Jan  1 00:00:00 2024  ",
		"From \"a b\"@c Mon Jan  1 00:00:00 2024",
		"From - Mon Jan  1 00:00:00 2024",
	};
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (!valid(ok[i]))
			fail_msg("not taken: \"%s\"", ok[i]);
}

static void
test_invalid(void **state)
{
	static const char	*bad[] = {
		"From here on, we go",
		"From a@b not a date",
		"From a@b",
		"From ",
		"From a@b Mon Jan  1 00:00:00 24",
		"From a@b Mon Jan 32 00:00:00 2024",
		"From a@b Mon Jan  1 24:00:00 2024",
		"From a@b Mon Jan  1 00:00:00 2024 and then some",
		"From a@b Mon Foo  1 00:00:00 2024",
		"From a@b Monday Jan  1 00:00:00 2024",
		"From Mon Jan  1 00:00:00 2024",
		"from a@b Mon Jan  1 00:00:00 2024",
		">From a@b Mon Jan  1 00:00:00 2024",
		"From a@b Mon Jan  1 00:00:00 12024",
		"From \"a b Mon Jan  1 00:00:00 2024",
	};
	char			 longline[FROM_LINE_MAX + 64];
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (valid(bad[i]))
			fail_msg("taken: \"%s\"", bad[i]);
	/* too long to be one, whatever it ends with */
	memset(longline, 'x', sizeof(longline));
	memcpy(longline, "From ", 5);
	memcpy(longline + sizeof(longline) - 33,
	    " Mon Jan  1 00:00:00 2024", 25);
	assert_false(from_line_valid(longline, sizeof(longline) - 8));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
