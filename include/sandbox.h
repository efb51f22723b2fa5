/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The syscall filters (seccomp-bpf) of the jailed pre-login process and
 * of the session process after login: the short lists of calls they may
 * make, and the start-up check that this kernel can enforce them.
 */
#ifndef POP3D_SANDBOX_H
#define POP3D_SANDBOX_H

/*
 * At start-up and for pop3d -t, when the configuration says sandbox yes:
 * show that the kernel enforces the filter, by installing it in a
 * throw-away child that then makes a forbidden call and must die of it.
 * Returns 0, or -1 with one line logged that names `sandbox no'.
 */
int	sandbox_check(void);

/* Which process a filter is for. */
enum sandbox_proc {
	SANDBOX_PRELOGIN,	/* the pre-login process and the TLS relay */
	SANDBOX_SESSION		/* the session process after login */
};

/*
 * SANDBOX_PRELOGIN: in the pre-login process, jailed and before it reads
 * a client byte.  SANDBOX_SESSION: in the session process after login,
 * jailed in the mailbox's directory as its owner and before it opens the
 * mailbox; that filter adds the file calls a session makes there.  From
 * here on no new privileges, and any call outside the filter's list
 * kills the process (SIGSYS), for the rest of its life.
 * Returns 0, or -1 (logged): the caller must end the connection rather
 * than serve it unfiltered.
 */
int	sandbox_enter(enum sandbox_proc which);

struct sock_fprog;

/*
 * Put the filter of `which' together for this process (its pid is in
 * it): sandbox_enter installs it, the unit tests read it.  The caller
 * frees prog->filter.  Returns 0, or -1 with errno set (ENOSYS: no
 * filter for this architecture).
 */
int	sandbox_program(enum sandbox_proc which, struct sock_fprog *prog);

#endif
