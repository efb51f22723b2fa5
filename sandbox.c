/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The syscall filters: seccomp-bpf programs, put together here from
 * blocks, that let through the calls that reading a client, TLS, the
 * protocol engine before login and the TLS relay make (and, for the
 * session after login, its mailbox's files), and kill the process on any
 * other.
 *
 * Allowed, and what for:
 *   read, write, recvfrom, sendto without an address (send and recv, or
 *     socketcall's, where 32-bit glibc uses those), poll, close, fcntl
 *     F_GETFL/F_SETFL: I/O on the descriptors the process holds already
 *     (the client, the monitor's socketpair, the log socket).  No call
 *     that makes a descriptor is allowed (open, socket, accept, dup,
 *     pipe, recvmsg), so it never gets another.
 *   brk, mmap and mprotect without PROT_EXEC, munmap, mremap, madvise
 *     with advice that only gives memory back: malloc, malloc_trim.
 *   clock_gettime, gettimeofday, time, nanosleep, clock_nanosleep:
 *     deadlines, the failed-login delay, the log's time stamps (the vDSO
 *     answers most of these without a call, but not always).
 *   getrandom: the DRBG's reseed before a handshake.
 *   getpid, gettid, exit, exit_group, rt_sigreturn, rt_sigprocmask,
 *     restart_syscall; tgkill aimed at this process only, so abort(3)
 *     (a failed heap check) still ends it with SIGABRT.
 * Anything else, open, socket, connect, execve, clone, kill, ptrace and
 * prctl among them, kills the process (SECCOMP_RET_KILL_PROCESS; before
 * Linux 4.14 the thread, which in this single-threaded process is the
 * same): its monitor sees the SIGSYS and logs it (privsep.c).
 *
 * The session process after login gets a filter of its own, the same
 * list plus the file calls it makes in the mailbox's directory
 * (sb_session_* below); the listener logs its SIGSYS (pop3d.c).
 *
 * The blocks name calls by their __NR_ names, each under #ifdef, so they
 * serve the architectures below; any other builds without a filter and
 * refuses to start with sandbox yes.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#ifdef __i386__
#include <linux/net.h>
#endif

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox.h"

/*
 * The architecture whose calls the filter expects: a call made through
 * another calling convention (a 32-bit int 0x80 from a 64-bit process)
 * has other numbers and is killed whatever its number.
 */
#if defined(__x86_64__) && !defined(__ILP32__)
#define SB_ARCH		AUDIT_ARCH_X86_64
/* x32 calls share the arch value; they carry this bit in the number. */
#define SB_X32_BIT	0x40000000U
#elif defined(__i386__)
#define SB_ARCH		AUDIT_ARCH_I386
#elif defined(__aarch64__) && defined(__AARCH64EL__)
#define SB_ARCH		AUDIT_ARCH_AARCH64
#elif defined(__arm__) && defined(__ARM_EABI__) && defined(__ARMEL__)
#define SB_ARCH		AUDIT_ARCH_ARM
#endif

/*
 * A build with AddressSanitizer (make check-asan, the fuzz targets) runs
 * its runtime in every process, and that makes calls of its own (at exit
 * too): the filter lets those through there, and only there.  The test
 * is the compiler's own, which no production build can set by accident.
 */
#if defined(__SANITIZE_ADDRESS__)
#define SB_SANITIZER	1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SB_SANITIZER	1
#endif
#endif

/* The one line pop3d refuses to start with, saying why. */
#define SB_REFUSE	"syscall filter: %s: refusing to start; `sandbox no' " \
			"runs without it"

/* The 32-bit halves of a 64-bit argument in struct seccomp_data. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(a)	(offsetof(struct seccomp_data, args[a]))
#define ARG_HI(a)	(offsetof(struct seccomp_data, args[a]) + 4)
#else
#define ARG_LO(a)	(offsetof(struct seccomp_data, args[a]) + 4)
#define ARG_HI(a)	(offsetof(struct seccomp_data, args[a]))
#endif

/*
 * Linux 4.14 and later kill the whole process; older kernels keep only
 * the action bits of a return value, which leaves this the kill of the
 * calling thread: in these single-threaded processes, the same.
 */
#ifndef SECCOMP_RET_KILL_PROCESS
#define SECCOMP_RET_KILL_PROCESS	0x80000000U
#endif
#define SB_KILL		SECCOMP_RET_KILL_PROCESS

/*
 * The programs are made of blocks that each start with a test of the
 * call's number (left in the accumulator) and end every path through
 * them in a return, so blocks can follow each other in any order: a
 * program is a head, blocks and a final kill.  Calls allowed whatever
 * their arguments are kept as lists of numbers, made one binary search
 * when the program is put together (append_search).
 */
#define JEQ(k, jt, jf)	{ BPF_JMP | BPF_JEQ | BPF_K, (jt), (jf), (k) }
#define LD(off)		{ BPF_LD | BPF_W | BPF_ABS, 0, 0, (off) }
#define AND(k)		{ BPF_ALU | BPF_AND | BPF_K, 0, 0, (k) }
#define RET(k)		{ BPF_RET | BPF_K, 0, 0, (k) }
#define JGE(k, jt)	{ BPF_JMP | BPF_JGE | BPF_K, (jt), 0, (k) }
#define JA(k)		{ BPF_JMP | BPF_JA, 0, 0, (k) }

/*
 * The call nr when its argument a passes one of the n tests that follow
 * (IS, or the two of ONLY), then ARG_END: a value with a high
 * word is killed, every checked value being 32-bit.
 */
#define ARG(nr, a, n)	JEQ((nr), 0, 5 + (n)), LD(ARG_HI(a)), \
			JEQ(0, 0, 1 + (n)), LD(ARG_LO(a))
#define ARG_END		RET(SB_KILL), RET(SECCOMP_RET_ALLOW)
/* Test i (from 1) of n: the argument is v. */
#define IS(v, i, n)	JEQ((v), (n) - (i) + 1, 0)
/* The argument sets no bit outside m (two tests). */
#define ONLY(m)		AND(~(uint32_t)(m)), JEQ(0, 1, 0)

#ifdef SB_ARCH
/* Memory may be readable and writable, never executable. */
#define SB_PROT		(PROT_READ | PROT_WRITE)

/*
 * The architecture, then the call's number into the accumulator: a call
 * of another calling convention would be read with the wrong numbers.
 */
static const struct sock_filter sb_head[] = {
	LD(offsetof(struct seccomp_data, arch)),
	JEQ(SB_ARCH, 1, 0),
	RET(SB_KILL),
	LD(offsetof(struct seccomp_data, nr)),
#ifdef SB_X32_BIT
	{ BPF_JMP | BPF_JGE | BPF_K, 0, 1, SB_X32_BIT },
	RET(SB_KILL),
#endif
};

/*
 * What both processes make, whatever the arguments: the pre-login
 * process's list, but for the calls checked below and fcntl.  The most
 * frequent come first: the program tries the rules in order.
 */
static const uint16_t sb_common_any[] = {
	/* The descriptors it holds. */
	__NR_read,
	__NR_write,
#ifdef __NR_poll
	__NR_poll,
#endif
#ifdef __NR_ppoll
	__NR_ppoll,
#endif
#ifdef __NR_ppoll_time64
	__NR_ppoll_time64,
#endif
#ifdef __NR_recvfrom
	__NR_recvfrom,
#endif
	/* armhf's glibc sends and receives through these. */
#ifdef __NR_send
	__NR_send,
#endif
#ifdef __NR_recv
	__NR_recv,
#endif
	__NR_close,

	/* Memory. */
	__NR_brk,
	__NR_munmap,
	__NR_mremap,

	/* Time. */
#ifdef __NR_clock_gettime
	__NR_clock_gettime,
#endif
#ifdef __NR_clock_gettime64
	__NR_clock_gettime64,
#endif
#ifdef __NR_gettimeofday
	__NR_gettimeofday,
#endif
#ifdef __NR_time
	__NR_time,
#endif
#ifdef __NR_nanosleep
	__NR_nanosleep,
#endif
#ifdef __NR_clock_nanosleep
	__NR_clock_nanosleep,
#endif
#ifdef __NR_clock_nanosleep_time64
	__NR_clock_nanosleep_time64,
#endif
	__NR_getrandom,

	/* The process itself. */
	__NR_getpid,
	__NR_gettid,
	__NR_exit_group,
	__NR_exit,
	__NR_rt_sigreturn,
#ifdef __NR_sigreturn
	__NR_sigreturn,
#endif
	__NR_rt_sigprocmask,
	__NR_restart_syscall,
#ifdef SB_SANITIZER
	/* Its exit hook takes down the alternate signal stack... */
	__NR_sigaltstack,
	/* ...and it gives its shadow memory other advice too. */
	__NR_madvise,
#endif
};

/* What both make, with these arguments only. */
static const struct sock_filter sb_common_args[] = {
#ifdef __NR_sendto
	/* Without an address: it could reach an abstract-namespace socket. */
	ARG(__NR_sendto, 4, 1), IS(0, 1, 1), ARG_END,
#endif
#if defined(__i386__) && defined(__NR_socketcall)
	/* i386's glibc sends and receives through socketcall: only those. */
	ARG(__NR_socketcall, 0, 4), IS(SYS_SEND, 1, 4), IS(SYS_RECV, 2, 4),
	    IS(SYS_SENDTO, 3, 4), IS(SYS_RECVFROM, 4, 4), ARG_END,
#endif
#ifdef __NR_mmap
	ARG(__NR_mmap, 2, 2), ONLY(SB_PROT), ARG_END,
#endif
#ifdef __NR_mmap2
	ARG(__NR_mmap2, 2, 2), ONLY(SB_PROT), ARG_END,
#endif
	ARG(__NR_mprotect, 2, 2), ONLY(SB_PROT), ARG_END,
#ifndef SB_SANITIZER
	/* Advice that only gives memory back (malloc_trim). */
	ARG(__NR_madvise, 2, 3), IS(MADV_DONTNEED, 1, 3), IS(MADV_FREE, 2, 3),
	    IS(MADV_DONTDUMP, 3, 3), ARG_END,
#endif
};

/*
 * abort(3) raises SIGABRT with tgkill: allowed at this process only.
 * Its pid goes into the test at SB_SELF_AT when the filter is installed.
 */
static const struct sock_filter sb_self[] = {
	ARG(__NR_tgkill, 0, 1), IS(0, 1, 1), ARG_END
};
#define SB_SELF_AT	4

/* The pre-login process: non-blocking I/O for TLS, nothing else. */
static const struct sock_filter sb_prelogin_args[] = {
	ARG(__NR_fcntl, 1, 2), IS(F_GETFL, 1, 2), IS(F_SETFL, 2, 2), ARG_END,
#ifdef __NR_fcntl64
	ARG(__NR_fcntl64, 1, 2), IS(F_GETFL, 1, 2), IS(F_SETFL, 2, 2),
	    ARG_END,
#endif
};

/*
 * The session process after login, jailed in the mailbox's directory as
 * the mailbox owner: the file system calls it makes there (open, stat,
 * read and write at offsets, locks, links and renames for dotlocks and
 * the journal, syncs, truncation) and more of their kind, since the
 * chroot and the owner's rights already bound what they reach.  Not:
 * sockets, other processes or threads, programs, signals to others, any
 * change of ids or root.
 */
static const uint16_t sb_session_any[] = {
	__NR_openat,
#ifdef __NR_open
	__NR_open,
#endif
#ifdef __NR_newfstatat
	__NR_newfstatat,
#endif
#ifdef __NR_fstatat64
	__NR_fstatat64,
#endif
#ifdef __NR_fstat
	__NR_fstat,
#endif
#ifdef __NR_fstat64
	__NR_fstat64,
#endif
#ifdef __NR_stat
	__NR_stat,
#endif
#ifdef __NR_stat64
	__NR_stat64,
#endif
#ifdef __NR_lstat
	__NR_lstat,
#endif
#ifdef __NR_lstat64
	__NR_lstat64,
#endif
#ifdef __NR_statx
	__NR_statx,
#endif
	__NR_pread64,
	__NR_pwrite64,
	__NR_preadv,
	__NR_pwritev,
	__NR_readv,
	__NR_writev,
	__NR_lseek,
#ifdef __NR__llseek
	__NR__llseek,
#endif
	__NR_flock,
	__NR_fsync,
	__NR_fdatasync,
	__NR_ftruncate,
#ifdef __NR_ftruncate64
	__NR_ftruncate64,
#endif
	__NR_fallocate,
#ifdef __NR_sync_file_range
	__NR_sync_file_range,
#endif
#ifdef __NR_sync_file_range2
	__NR_sync_file_range2,
#endif
#ifdef __NR_fadvise64
	__NR_fadvise64,
#endif
#ifdef __NR_fadvise64_64
	__NR_fadvise64_64,
#endif
#ifdef __NR_arm_fadvise64_64
	__NR_arm_fadvise64_64,
#endif
#ifdef __NR_link
	__NR_link,
#endif
	__NR_linkat,
#ifdef __NR_unlink
	__NR_unlink,
#endif
	__NR_unlinkat,
#ifdef __NR_rename
	__NR_rename,
#endif
#ifdef __NR_renameat
	__NR_renameat,
#endif
	__NR_renameat2,
#ifdef __NR_mkdir
	__NR_mkdir,
#endif
	__NR_mkdirat,
#ifdef __NR_rmdir
	__NR_rmdir,
#endif
#ifdef __NR_readlink
	__NR_readlink,
#endif
	__NR_readlinkat,
	__NR_getdents64,
#ifdef __NR_access
	__NR_access,
#endif
	__NR_faccessat,
	__NR_fchmod,
	__NR_utimensat,
#ifdef __NR_utimensat_time64
	__NR_utimensat_time64,
#endif
	__NR_fstatfs,
#ifdef __NR_fstatfs64
	__NR_fstatfs64,
#endif
	/* Who it runs as (files it trusts are its own), a dotlock's host. */
	__NR_uname,
	__NR_getuid,
	__NR_geteuid,
	__NR_getgid,
	__NR_getegid,
#ifdef __NR_getuid32
	__NR_getuid32,
	__NR_geteuid32,
	__NR_getgid32,
	__NR_getegid32,
#endif
	/* Over TLS, the relay is its child: reaped at the end. */
	__NR_wait4,
};

/* fcntl in a session: TLS's flags, the mailbox's locks, close-on-exec. */
#define SESSION_FCNTL(nr) \
	ARG((nr), 1, 10), IS(F_GETFD, 1, 10), IS(F_SETFD, 2, 10), \
	IS(F_GETFL, 3, 10), IS(F_SETFL, 4, 10), IS(F_GETLK, 5, 10), \
	IS(F_SETLK, 6, 10), IS(F_SETLKW, 7, 10), IS(F_OFD_GETLK, 8, 10), \
	IS(F_OFD_SETLK, 9, 10), IS(F_OFD_SETLKW, 10, 10), ARG_END

static const struct sock_filter sb_session_args[] = {
	/* Whether a dotlock's process lives: signal 0, which sends none. */
	ARG(__NR_kill, 1, 1), IS(0, 1, 1), ARG_END,
	SESSION_FCNTL(__NR_fcntl),
#ifdef __NR_fcntl64
	SESSION_FCNTL(__NR_fcntl64),
#endif
};

static const struct sock_filter sb_tail[] = {
	RET(SB_KILL)
};

#define SB_COUNT(t)	(sizeof(t) / sizeof((t)[0]))

/* The calls a search holds at most: the session's. */
#define SB_ANY		(SB_COUNT(sb_common_any) + SB_COUNT(sb_session_any))
/* Its leaves test up to this many numbers in turn. */
#define SB_LEAF		4

/*
 * The longest program, the session's, whose search takes at most an
 * instruction a number and two a leaf (with the inner nodes, fewer than
 * three a number).
 */
#define SB_INSNS	(SB_COUNT(sb_head) + 3 * SB_ANY + \
			    SB_COUNT(sb_common_args) + SB_COUNT(sb_self) + \
			    SB_COUNT(sb_session_args) + SB_COUNT(sb_tail))

/* Append the n instructions at t to the program p. */
static void
append(struct sock_fprog *p, const struct sock_filter *t, size_t n)
{
	memcpy(p->filter + p->len, t, n * sizeof(*t));
	p->len += (unsigned short)n;
}

/*
 * Append the search for the n numbers at nr (sorted, each once) whose
 * calls are allowed: a leaf tests its few numbers in turn, an inner node
 * sends the higher half on.  A number it doesn't hold leaves by a jump
 * that append_search patches to its end.  Every allow is reached only
 * through an equality test of a listed number, so a wrong turn can only
 * refuse a call, never allow one.  Returns -1 if a jump is too long for
 * its eight bits.
 */
static int
append_half(struct sock_fprog *p, const uint16_t *nr, size_t n)
{
	struct sock_filter	 eq[] = { JEQ(0, 0, 0) }, out[] = { JA(0),
				    RET(SECCOMP_RET_ALLOW) }, ge[] = { JGE(0, 0) };
	size_t			 i, node, half = n / 2;

	if (n <= SB_LEAF) {
		for (i = 0; i < n; i++) {
			eq[0].k = nr[i];
			eq[0].jt = (uint8_t)(n - i);	/* to the allow */
			append(p, eq, 1);
		}
		append(p, out, SB_COUNT(out));
		return 0;
	}
	node = p->len;
	ge[0].k = nr[half];
	append(p, ge, 1);
	if (append_half(p, nr, half) == -1 || p->len - node - 1 > UINT8_MAX)
		return -1;
	p->filter[node].jt = (uint8_t)(p->len - node - 1);
	return append_half(p, nr + half, n - half);
}

static int
cmp_nr(const void *a, const void *b)
{
	return (int)*(const uint16_t *)a - (int)*(const uint16_t *)b;
}

/*
 * Allow the calls numbered in the lists a (na of them) and b (nb): as one
 * binary search, not tests in turn, because the kernel runs a new filter
 * once for every call number to learn which it may let through without
 * running it, and a number that goes down a list of tests costs each
 * install a step per test (DESIGN.md, "The syscall filter").  Returns 0,
 * or -1 with errno set.
 */
static int
append_search(struct sock_fprog *p, const uint16_t *a, size_t na,
    const uint16_t *b, size_t nb)
{
	uint16_t	nr[SB_ANY];
	size_t		i, n, start = p->len;

	memcpy(nr, a, na * sizeof(*nr));
	memcpy(nr + na, b, nb * sizeof(*nr));
	qsort(nr, na + nb, sizeof(*nr), cmp_nr);
	for (i = n = 0; i < na + nb; i++)
		if (n == 0 || nr[i] != nr[n - 1])
			nr[n++] = nr[i];
	if (append_half(p, nr, n) == -1) {
		errno = E2BIG;
		return -1;
	}
	for (i = start; i < p->len; i++)
		if (p->filter[i].code == (BPF_JMP | BPF_JA))
			p->filter[i].k = (uint32_t)(p->len - i - 1);
	return 0;
}

int
sandbox_program(enum sandbox_proc which, struct sock_fprog *prog)
{
	size_t	self;

	if ((prog->filter = calloc(SB_INSNS, sizeof(*prog->filter))) == NULL)
		return -1;
	prog->len = 0;
	append(prog, sb_head, SB_COUNT(sb_head));
	if (append_search(prog, sb_common_any, SB_COUNT(sb_common_any),
	    sb_session_any, which == SANDBOX_SESSION ?
	    SB_COUNT(sb_session_any) : 0) == -1) {
		free(prog->filter);	/* glibc's free keeps errno */
		return -1;
	}
	append(prog, sb_common_args, SB_COUNT(sb_common_args));
	self = prog->len + SB_SELF_AT;
	append(prog, sb_self, SB_COUNT(sb_self));
	prog->filter[self].k = (uint32_t)getpid();
	if (which == SANDBOX_SESSION)
		append(prog, sb_session_args, SB_COUNT(sb_session_args));
	else
		append(prog, sb_prelogin_args, SB_COUNT(sb_prelogin_args));
	append(prog, sb_tail, SB_COUNT(sb_tail));
	return 0;
}

/* Install the filter of `which' here.  Returns 0, or -1 with errno set. */
static int
install(enum sandbox_proc which)
{
	struct sock_fprog	prog;
	int			rc = -1;

	if (sandbox_program(which, &prog) == -1)
		return -1;
	/* Without it an unprivileged process may not install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		rc = 0;
	free(prog.filter);	/* glibc's free keeps errno */
	return rc;
}

/*
 * Show that this kernel enforces the filter: a child installs it and
 * must then die of a forbidden call.  Returns 0 if so, else -1 with why
 * not in *why, or the errno of the kernel's refusal in *err.
 */
static int
probe(const char **why, int *err)
{
	pid_t	pid;
	int	st;

	*why = "the kernel refused it";
	*err = 0;
	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == -1 && errno == EINVAL) {
		*why = "this kernel has no seccomp";
		return -1;
	}
	if ((pid = fork()) == -1) {
		*err = errno;
		return -1;
	}
	if (pid == 0) {
		if (install(SANDBOX_PRELOGIN) == -1)
			_exit(errno > 0 && errno < 256 ? errno : EINVAL);
		/* Not on the list: the filter must end the process here. */
		(void)geteuid();
		_exit(0);
	}
	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			*err = errno;
			return -1;
		}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return 0;
	if (!WIFEXITED(st) || WEXITSTATUS(st) == 0)
		*why = "a forbidden call was not stopped";
	else
		*err = WEXITSTATUS(st);
	return -1;
}

int
sandbox_check(void)
{
	const char	*why;
	int		 err;

	if (probe(&why, &err) == 0)
		return 0;
	if (err != 0)
		log_warnx("syscall filter: %s (%s): refusing to start; "
		    "`sandbox no' runs without it", why, strerror(err));
	else
		log_warnx(SB_REFUSE, why);
	return -1;
}

int
sandbox_enter(enum sandbox_proc which)
{
	if (install(which) == -1) {
		log_warn("syscall filter not installed, closing the "
		    "connection (`sandbox no' runs without it)");
		return -1;
	}
	return 0;
}

#else	/* no SB_ARCH */

int
sandbox_program(enum sandbox_proc which, struct sock_fprog *prog)
{
	(void)which;
	(void)prog;
	errno = ENOSYS;
	return -1;
}

int
sandbox_check(void)
{
	log_warnx(SB_REFUSE, "pop3d has none for this architecture");
	return -1;
}

int
sandbox_enter(enum sandbox_proc which)
{
	(void)which;
	log_warnx("syscall filter: none for this architecture, closing the "
	    "connection");
	return -1;
}

#endif
