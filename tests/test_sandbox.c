/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the syscall filters (sandbox.c), each in a child process
 * that installs one: the calls the pre-login process makes go through
 * (memory, time, I/O on descriptors it holds, the log's time stamp),
 * every call that would get it out of its jail kills it with SIGSYS; the
 * session's filter lets through the mailbox's file calls and kills the
 * rest, a thread too; the start-up check passes on this kernel.  And
 * the programs themselves, run here instruction by instruction: every
 * call number they allow outright finds its way there, in few steps.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include "sandbox.h"

/* As sandbox.c decides: AddressSanitizer's builds allow more. */
#if defined(__SANITIZE_ADDRESS__)
#define SANITIZED	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANITIZED	1
#endif
#endif

/* The test's own pid, for calls aimed outside the child. */
static pid_t	parent;

/*
 * Run fn in a child under the filter of `which'.  Returns its wait
 * status; fn's return value is the child's exit code.
 */
static int
filtered_by(enum sandbox_proc which, int (*fn)(void))
{
	pid_t	pid;
	int	st;

	parent = getpid();
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		if (sandbox_enter(which) == -1)
			_exit(100);
		_exit(fn());
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	return st;
}

static int
filtered(int (*fn)(void))
{
	return filtered_by(SANDBOX_PRELOGIN, fn);
}

static void
assert_exit(int st, int code)
{
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), code);
}

static void
assert_killed(int st)
{
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGSYS);
}

/* What the pre-login process does, in small: returns 0 if all worked. */
static int
allowed_calls(void)
{
	struct pollfd	 pfd;
	struct timespec	 ts = { 0, 1000000 };
	struct tm	 tm;
	unsigned char	 r[16];
	char		*big, c = 'x';
	time_t		 now = time(NULL);
	int		 sp[2] = { 3, 4 }, fl;

	/* A socketpair can't be made in here: use the one the parent made. */
	if ((big = malloc(4 << 20)) == NULL)
		return 1;
	memset(big, 1, 4 << 20);
	free(big);
	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return 2;
	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1 ||
	    nanosleep(&(struct timespec){ 0, 1000000 }, NULL) == -1)
		return 3;
	if (localtime_r(&now, &tm) == NULL)
		return 4;
	if ((fl = fcntl(sp[1], F_GETFL)) == -1 ||
	    fcntl(sp[1], F_SETFL, fl | O_NONBLOCK) == -1)
		return 5;
	if (send(sp[0], &c, 1, MSG_DONTWAIT | MSG_NOSIGNAL) != 1 ||
	    write(sp[0], &c, 1) != 1)
		return 6;
	pfd.fd = sp[1];
	pfd.events = POLLIN;
	if (poll(&pfd, 1, 1000) != 1 || recv(sp[1], r, 2, 0) != 2 ||
	    read(sp[1], r, 1) != -1 || errno != EAGAIN)
		return 7;
	if (getpid() <= 0 || close(sp[1]) == -1)
		return 8;
	return 0;
}

static void
test_allowed(void **state)
{
	int	sp[2];

	(void)state;
	/* As log_init does: localtime_r must not read /etc/localtime. */
	tzset();
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	/* allowed_calls expects them at 3 and 4. */
	assert_int_equal(dup2(sp[0], 3), 3);
	assert_int_equal(dup2(sp[1], 4), 4);
	assert_exit(filtered(allowed_calls), 0);
	close(3);
	close(4);
	if (sp[0] > 4)
		close(sp[0]);
	if (sp[1] > 4)
		close(sp[1]);
}

static int
do_open(void)
{
	return open("/etc/passwd", O_RDONLY) == -1 ? 1 : 0;
}

static int
do_socket(void)
{
	return socket(AF_INET, SOCK_STREAM, 0) == -1 ? 1 : 0;
}

static int
do_execve(void)
{
	char	*argv[] = { "true", NULL };

	execve("/bin/true", argv, argv + 1);
	return 1;
}

static int
do_fork(void)
{
	pid_t	pid = fork();

	if (pid == 0)
		_exit(0);
	return 1;
}

/* A real signal: signal 0 only asks whether a dotlock's owner lives. */
static int
do_kill(void)
{
	return kill(parent, SIGCONT) == -1 ? 1 : 0;
}

static int
do_exec_memory(void)
{
	void	*p = mmap(NULL, 4096, PROT_READ | PROT_EXEC,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	return p == MAP_FAILED ? 1 : 0;
}

static int
do_mprotect_exec(void)
{
	static char	page[8192] __attribute__((aligned(4096)));

	return mprotect(page, 4096, PROT_READ | PROT_EXEC) == -1 ? 1 : 0;
}

static int
do_fcntl_dup(void)
{
	return fcntl(0, F_DUPFD, 10) == -1 ? 1 : 0;
}

static int
do_sendto_address(void)
{
	struct sockaddr	sa = { .sa_family = AF_UNIX };
	char		c = 'x';

	return sendto(0, &c, 1, 0, &sa, sizeof(sa)) == -1 ? 1 : 0;
}

static int
do_prctl(void)
{
	return prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) == -1 ? 1 : 0;
}

static int
do_ptrace(void)
{
	return syscall(SYS_ptrace, 0, 0, 0, 0) == -1 ? 1 : 0;
}

#ifndef SANITIZED
/* Harmless advice, but not on the list (sanitizer builds allow any). */
static int
do_madvise_other(void)
{
	static char	page[8192] __attribute__((aligned(4096)));

	return madvise(page, 4096, MADV_RANDOM) == -1 ? 1 : 0;
}
#endif

#ifdef __x86_64__
/* getpid's number through the x32 convention: another table, refused. */
static int
do_x32(void)
{
	return syscall(0x40000000 | SYS_getpid) == -1 ? 1 : 0;
}
#endif

static void
test_forbidden(void **state)
{
	static int	(*const calls[])(void) = {
		do_open, do_socket, do_execve, do_fork, do_kill,
		do_exec_memory, do_mprotect_exec, do_fcntl_dup,
		do_sendto_address, do_prctl, do_ptrace,
#ifndef SANITIZED
		do_madvise_other,
#endif
#ifdef __x86_64__
		do_x32,
#endif
	};
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		print_message("forbidden call %zu\n", i);
		assert_killed(filtered(calls[i]));
	}
}

static int
do_abort(void)
{
	abort();
}

/* tgkill is allowed at the process itself, so abort(3) is SIGABRT. */
static void
test_abort_is_sigabrt(void **state)
{
	int	st;

	(void)state;
	st = filtered(do_abort);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

static int
do_tgkill_parent(void)
{
	return syscall(SYS_tgkill, parent, parent, 0) == -1 ? 1 : 0;
}

static void
test_tgkill_elsewhere(void **state)
{
	(void)state;
	assert_killed(filtered(do_tgkill_parent));
}

/* The session's directory (the parent makes it; the child works in it). */
static char	sdir[] = "/tmp/pop3d-sandbox-XXXXXX";

static void *
idle(void *arg)
{
	return arg;
}

/*
 * A thread, on a stack of its own: a session has none (its scan runs on
 * one), so neither clone3 nor clone gets through, whatever the flags.
 */
static int
do_thread(void)
{
	static char	stack[256 * 1024] __attribute__((aligned(4096)));
	pthread_attr_t	attr;
	pthread_t	t;
	void		*r;

	pthread_attr_init(&attr);
	pthread_attr_setstack(&attr, stack, sizeof(stack));
	if (pthread_create(&t, &attr, idle, NULL) != 0)
		return 1;
	(void)pthread_join(t, &r);
	return 0;
}

/* What a session does to its mailbox's directory, in small. */
static int
session_calls(void)
{
	struct flock	fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	struct stat	st;
	struct utsname	u;
	char		buf[8], box[64], lock[64], tmp[64];
	int		fd;

	snprintf(box, sizeof(box), "%s/box", sdir);
	snprintf(lock, sizeof(lock), "%s/box.lock", sdir);
	snprintf(tmp, sizeof(tmp), "%s/box.tmp", sdir);
	if ((fd = open(box, O_RDWR | O_CREAT | O_NOFOLLOW, 0600)) == -1)
		return 1;
	if (pwrite(fd, "From x\n", 7, 0) != 7 || pread(fd, buf, 7, 0) != 7 ||
	    fstat(fd, &st) == -1 || lstat(box, &st) == -1 ||
	    st.st_uid != geteuid())
		return 2;
	if (fcntl(fd, F_SETLK, &fl) == -1)
		return 3;
	fl.l_type = F_UNLCK;
	if (fcntl(fd, F_SETLK, &fl) == -1)
		return 3;
	fl.l_type = F_WRLCK;
	if (fcntl(fd, F_OFD_SETLK, &fl) == -1 ||
	    flock(fd, LOCK_EX | LOCK_NB) == -1)
		return 3;
	if (fsync(fd) == -1 || fdatasync(fd) == -1 || ftruncate(fd, 3) == -1 ||
	    posix_fallocate(fd, 0, 4096) != 0 || futimens(fd, NULL) == -1 ||
	    sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE) == -1)
		return 4;
	if (uname(&u) == -1 || link(box, lock) == -1 ||
	    rename(lock, tmp) == -1 || unlink(tmp) == -1 || unlink(box) == -1)
		return 5;
	/* Is the pid in a dotlock alive? */
	if (kill(parent, 0) == -1 || (kill(INT_MAX, 0) == 0 || errno != ESRCH))
		return 8;
	return close(fd) == -1 ? 7 : 0;
}

static void
test_session_allowed(void **state)
{
	(void)state;
	assert_non_null(mkdtemp(sdir));
	assert_exit(filtered_by(SANDBOX_SESSION, session_calls), 0);
	assert_int_equal(rmdir(sdir), 0);
}

static int
do_setuid(void)
{
	return setuid(0) == -1 ? 1 : 0;
}

static int
do_chroot(void)
{
	return chroot("/") == -1 ? 1 : 0;
}

static void
test_session_forbidden(void **state)
{
	static int	(*const calls[])(void) = {
		do_socket, do_execve, do_fork, do_kill, do_ptrace,
		do_exec_memory, do_sendto_address, do_prctl, do_setuid,
		do_chroot, do_thread,
	};
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(calls) / sizeof(calls[0]); i++) {
		print_message("forbidden call %zu\n", i);
		assert_killed(filtered_by(SANDBOX_SESSION, calls[i]));
	}
}

/* Not a return value of a filter: the verdict needs an argument. */
#define BY_ARGS		1U
/*
 * What the kernel's cache of a new filter can afford to run for every
 * call number (it runs the program once for each at install); a list
 * tested in turn took over a hundred.
 */
#define MAX_STEPS	40

/*
 * Run prog for call nr of architecture arch, as the kernel does at
 * install to learn which calls the number alone lets through: the
 * return value, or BY_ARGS where an argument is read.  *steps counts the
 * instructions run; fails the test on any instruction the kernel's run
 * would not take or on running off the end.
 */
static uint32_t
verdict(const struct sock_fprog *prog, uint32_t arch, uint32_t nr,
    int *steps)
{
	const struct sock_filter	*in;
	uint32_t			 acc = 0;
	unsigned			 pc;

	*steps = 0;
	for (pc = 0; pc < prog->len; pc++) {
		in = &prog->filter[pc];
		++*steps;
		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			if (in->k == offsetof(struct seccomp_data, arch))
				acc = arch;
			else if (in->k == offsetof(struct seccomp_data, nr))
				acc = nr;
			else
				return BY_ARGS;
			break;
		case BPF_RET | BPF_K:
			return in->k;
		case BPF_JMP | BPF_JA:
			pc += in->k;
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += acc == in->k ? in->jt : in->jf;
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += acc >= in->k ? in->jt : in->jf;
			break;
		default:
			fail_msg("instruction %u: code %#x", pc, in->code);
		}
	}
	fail_msg("call %u ran off the end", nr);
	return 0;
}

/*
 * Where prog first loads an argument: the tests before the block that
 * does are of call numbers only.
 */
static unsigned
first_argument(const struct sock_fprog *prog)
{
	const struct sock_filter	*in;
	unsigned			 pc;

	for (pc = 0; pc < prog->len; pc++) {
		in = &prog->filter[pc];
		if (in->code == (BPF_LD | BPF_W | BPF_ABS) &&
		    in->k != offsetof(struct seccomp_data, arch) &&
		    in->k != offsetof(struct seccomp_data, nr))
			return pc;
	}
	return pc;
}

/*
 * Every number the programs allow outright (an equality test, before the
 * argument checks, whose jump lands on an allow) is allowed when the
 * program runs from its start,
 * so the search routes each to its test; every number ends in a few
 * steps; another architecture is killed; and the session's program
 * allows all that the pre-login one does.
 */
static void
test_search(void **state)
{
	struct sock_fprog		 prog[2];
	const struct sock_filter	*in;
	uint32_t			 arch, nr, v;
	unsigned			 pc, end, listed = 0;
	int				 steps, w;

	(void)state;
	assert_int_equal(sandbox_program(SANDBOX_PRELOGIN, &prog[0]), 0);
	assert_int_equal(sandbox_program(SANDBOX_SESSION, &prog[1]), 0);
	/* the head: load the architecture, test it */
	assert_int_equal(prog[0].filter[1].code, BPF_JMP | BPF_JEQ | BPF_K);
	arch = prog[0].filter[1].k;
	for (w = 0; w < 2; w++) {
		/* the block that loads it starts with its number's test */
		end = first_argument(&prog[w]) - 1;
		for (pc = 0; pc < end; pc++) {
			in = &prog[w].filter[pc];
			if (in->code != (BPF_JMP | BPF_JEQ | BPF_K) ||
			    pc + 1 + in->jt >= prog[w].len ||
			    prog[w].filter[pc + 1 + in->jt].code !=
			    (BPF_RET | BPF_K) ||
			    prog[w].filter[pc + 1 + in->jt].k !=
			    SECCOMP_RET_ALLOW || in->k == arch)
				continue;
			listed++;
			if (verdict(&prog[w], arch, in->k, &steps) !=
			    SECCOMP_RET_ALLOW)
				fail_msg("call %u, listed, is refused", in->k);
		}
		for (nr = 0; nr < 1024; nr++) {
			v = verdict(&prog[w], arch, nr, &steps);
			if (steps > MAX_STEPS)
				fail_msg("call %u: %d steps", nr, steps);
			if (w == 0 && v == SECCOMP_RET_ALLOW &&
			    verdict(&prog[1], arch, nr, &steps) != v)
				fail_msg("call %u: pre-login only", nr);
		}
		assert_int_equal(verdict(&prog[w], arch ^ 1, 0, &steps),
		    SECCOMP_RET_KILL_PROCESS);
		free(prog[w].filter);
	}
	assert_true(listed > 40);
}

static void
test_check(void **state)
{
	(void)state;
	assert_int_equal(sandbox_check(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_allowed),
		cmocka_unit_test(test_forbidden),
		cmocka_unit_test(test_abort_is_sigabrt),
		cmocka_unit_test(test_tgkill_elsewhere),
		cmocka_unit_test(test_session_allowed),
		cmocka_unit_test(test_session_forbidden),
		cmocka_unit_test(test_search),
		cmocka_unit_test(test_check),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
