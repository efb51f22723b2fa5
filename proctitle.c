/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Process titles for ps(1): "pop3d: listener", "pop3d: alice 192.0.2.7".
 *
 * Linux has no setproctitle(3).  What ps shows as a command line is read
 * from the process's memory: the block where the kernel laid out argv's
 * strings, each NUL-terminated, followed at once by the environment's.
 * Rewriting that block changes the title, and the kernel lets a title
 * run past argv's end into the environment's part.  So proctitle_init
 * copies argv and the environment to the heap, points argv[] and environ
 * at the copies, and from then on the block is only the title's.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proctitle.h"

extern char	**environ;

static char	*title;		/* the start of the block; NULL: titles off */
static size_t	 title_size;
/*
 * The environment's copy, held here too: glibc's clean-up at exit (run by
 * valgrind) clears environ, and the copy would then show as a leak.
 * volatile, or the compiler drops a store it sees no read of.
 */
static char	**volatile env_copy;

/*
 * Where the block of strings starting at first ends: after each string
 * of v (n of them) that follows the one before it directly.
 */
static char *
block_end(char *first, char **v, size_t n)
{
	char	*end = first;
	size_t	 i;

	for (i = 0; i < n && v[i] == end; i++)
		end += strlen(v[i]) + 1;
	return end;
}

/* A heap copy of the n strings of v, NULL-terminated; NULL on failure. */
static char **
copy_strings(char **v, size_t n)
{
	char	**c;
	size_t	  i;

	if ((c = calloc(n + 1, sizeof(*c))) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((c[i] = strdup(v[i])) == NULL) {
			while (i > 0)
				free(c[--i]);
			free(c);
			return NULL;
		}
	return c;
}

void
proctitle_init(int argc, char *argv[])
{
	char	**args, **env, *start, *end;
	size_t	  nenv, i;

	if (argc <= 0 || argv[0] == NULL)
		return;
	for (nenv = 0; environ[nenv] != NULL; nenv++)
		;
	start = argv[0];
	end = block_end(start, argv, (size_t)argc);
	/* The environment counts only where it follows argv directly. */
	if (nenv > 0 && environ[0] == end)
		end = block_end(end, environ, nenv);
	if ((args = copy_strings(argv, (size_t)argc)) == NULL)
		return;
	if ((env = copy_strings(environ, nenv)) == NULL) {
		for (i = 0; i < (size_t)argc; i++)
			free(args[i]);
		free(args);
		return;
	}
	/* argv[] itself is not in the block: only what it points to moves. */
	for (i = 0; i < (size_t)argc; i++)
		argv[i] = args[i];
	free(args);
	environ = env_copy = env;
	/* glibc's messages (getopt's among them) name the program by it. */
	program_invocation_name = argv[0];
	title = start;
	title_size = (size_t)(end - start);
}

void
proctitle_set(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 n;

	if (title == NULL || title_size < 2)
		return;
	n = snprintf(title, title_size, "pop3d: ");
	if (n > 0 && (size_t)n < title_size) {
		va_start(ap, fmt);
		(void)vsnprintf(title + n, title_size - (size_t)n, fmt, ap);
		va_end(ap);
	}
	for (p = title; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p == 0x7f)
			*p = '?';
	/* The rest NUL: ps must not show an older, longer title's tail. */
	memset(p, 0, title_size - (size_t)(p - title));
}
