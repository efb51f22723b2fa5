/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Process titles: what ps(1) shows for each process of pop3d.
 */
#ifndef POP3D_PROCTITLE_H
#define POP3D_PROCTITLE_H

/*
 * First thing in main: move argv's strings and the environment to the
 * heap (argv[i] and environ then point there, so options and getenv
 * work as before) and keep the memory they were in for the title.
 * On failure titles stay off and nothing else changes.
 */
void	proctitle_init(int argc, char *argv[]);

/*
 * Show "pop3d: " and the formatted text as this process's command line,
 * cut to the space proctitle_init found; control characters become '?'.
 * Makes no system call, so it works under the syscall filter.
 */
void	proctitle_set(const char *fmt, ...)
	    __attribute__((format(printf, 1, 2)));

#endif
