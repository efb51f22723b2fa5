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

/*
 * In the pre-login process, jailed and before it reads a client byte:
 * no new privileges from here on, and any call outside the filter's list
 * kills the process (SIGSYS).  It holds for the rest of the process's
 * life, the TLS relay included.  Returns 0, or -1 (logged): the caller
 * must end the connection rather than serve it unfiltered.
 */
int	sandbox_enter(void);

/*
 * In the session process after login, jailed in the mailbox's directory
 * as its owner and before it opens the mailbox: the same, with the file
 * calls a session makes there and one scan thread, still no socket, no
 * other process or program, no signal to another.  Returns as
 * sandbox_enter.
 */
int	sandbox_enter_session(void);

#endif
