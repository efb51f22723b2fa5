/*
 * The syscall filter (seccomp-bpf) of the jailed pre-login process: the
 * short list of calls it may make, and the start-up check that this
 * kernel can enforce it.
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

#endif
