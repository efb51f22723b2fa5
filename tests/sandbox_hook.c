/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Test hooks for the syscall filter, linked into tests/pop3d-sandbox-hook
 * only (never into pop3d) through the linker's --wrap=read and
 * --wrap=prctl (Makefile).
 *
 * read: a client line "XSANDBOX call" makes the process that reads it
 * attempt that call, as a parser taken over by its input would: open,
 * socket, execve, fork, kill or ptrace.  Under the filter the process
 * dies of it; without (sandbox no) the call is made, fails or not, and
 * the line goes on to the session, which answers "-ERR unknown command".
 *
 * prctl: POP3D_TEST_SANDBOX in the environment makes the kernel look
 * unable: "nokernel", PR_GET_SECCOMP fails with EINVAL (no seccomp at
 * all); "nofilter", PR_SET_SECCOMP fails with EINVAL (no filter mode);
 * "childfail", PR_SET_SECCOMP fails only where the effective uid is not
 * 0, i.e. in a jailed pre-login process and not in the start-up check.
 */
#include <linux/prctl.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#define HOOK_WORD	"XSANDBOX "

ssize_t	__real_read(int, void *, size_t);
ssize_t	__wrap_read(int, void *, size_t);
int	__real_prctl(int, ...);
int	__wrap_prctl(int, unsigned long, unsigned long, unsigned long,
	    unsigned long);

static int
is(const char *p, size_t n, const char *word)
{
	size_t	len = strlen(word);

	return n >= len && memcmp(p, word, len) == 0 &&
	    (n == len || p[len] == '\r' || p[len] == '\n');
}

/* The call named at p (n bytes); returns whatever it returned. */
static long
attempt(const char *p, size_t n)
{
	char	*argv[] = { "sh", "-c", "exit 0", NULL };
	pid_t	 pid;
	int	 fd;

	if (is(p, n, "open")) {
		if ((fd = open("/etc/passwd", O_RDONLY)) != -1)
			close(fd);
		return fd;
	}
	if (is(p, n, "socket")) {
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1)
			close(fd);
		return fd;
	}
	if (is(p, n, "execve"))
		return execve("/bin/sh", argv, argv + 3);
	if (is(p, n, "fork")) {
		if ((pid = fork()) == 0)
			_exit(0);
		return pid;
	}
	if (is(p, n, "kill"))
		return kill(1, SIGCONT);
	if (is(p, n, "ptrace"))
		return ptrace(PTRACE_TRACEME, 0, NULL, NULL);
	return 0;
}

ssize_t
__wrap_read(int fd, void *buf, size_t len)
{
	ssize_t	r = __real_read(fd, buf, len);
	int	saved = errno;

	if (r > (ssize_t)strlen(HOOK_WORD) &&
	    memcmp(buf, HOOK_WORD, strlen(HOOK_WORD)) == 0)
		(void)attempt((const char *)buf + strlen(HOOK_WORD),
		    (size_t)r - strlen(HOOK_WORD));
	errno = saved;
	return r;
}

int
__wrap_prctl(int option, unsigned long a2, unsigned long a3,
    unsigned long a4, unsigned long a5)
{
	const char	*knob = getenv("POP3D_TEST_SANDBOX");

	if (knob != NULL && ((option == PR_GET_SECCOMP &&
	    strcmp(knob, "nokernel") == 0) || (option == PR_SET_SECCOMP &&
	    (strcmp(knob, "nofilter") == 0 ||
	    (strcmp(knob, "childfail") == 0 && geteuid() != 0))))) {
		errno = EINVAL;
		return -1;
	}
	return __real_prctl(option, a2, a3, a4, a5);
}
