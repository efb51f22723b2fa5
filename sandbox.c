/*
 * The syscall filters: seccomp-bpf programs, built here from tables, that
 * let through the calls that reading a client, TLS, the protocol engine
 * before login and the TLS relay make (and, for the session after login,
 * its mailbox's files), and kill the process on any other.
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
 * list plus the file calls it makes in the mailbox's directory and one
 * thread (sb_session below); the listener logs its SIGSYS (pop3d.c).
 *
 * The tables name calls by their __NR_ names, each under #ifdef, so they
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
#include <linux/sched.h>
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

/* The 32-bit halves of a 64-bit argument in struct seccomp_data. */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define ARG_LO(a)	(offsetof(struct seccomp_data, args[a]))
#define ARG_HI(a)	(offsetof(struct seccomp_data, args[a]) + 4)
#else
#define ARG_LO(a)	(offsetof(struct seccomp_data, args[a]) + 4)
#define ARG_HI(a)	(offsetof(struct seccomp_data, args[a]))
#endif

/* What a rule checks besides the call's number. */
enum sb_check {
	SB_ANY,		/* nothing: any arguments */
	SB_ONE_OF,	/* argument arg is one of v[0 .. n-1] */
	SB_BITS,	/* argument arg sets no bit outside v[0] */
	SB_HAS,		/* argument arg sets every bit of v[0] */
	SB_SELF,	/* argument arg is this process's pid */
	SB_FAILS	/* not run: fails with errno v[0] */
};

#define SB_VALUES_MAX	10

struct sb_rule {
	long		nr;
	unsigned char	check;		/* enum sb_check */
	unsigned char	arg;
	unsigned char	n;
	uint32_t	v[SB_VALUES_MAX];
};

#define ANY(nr)			{ (nr), SB_ANY, 0, 0, { 0 } }
#define ONE_OF(nr, a, n, ...)	{ (nr), SB_ONE_OF, (a), (n), { __VA_ARGS__ } }
#define BITS(nr, a, mask)	{ (nr), SB_BITS, (a), 1, { (mask) } }
#define HAS(nr, a, bits)	{ (nr), SB_HAS, (a), 1, { (bits) } }
#define SELF(nr, a)		{ (nr), SB_SELF, (a), 1, { 0 } }
#define FAILS(nr, err)		{ (nr), SB_FAILS, 0, 1, { (err) } }

#ifdef SB_ARCH
/* Memory may be readable and writable, never executable. */
#define SB_PROT		(PROT_READ | PROT_WRITE)

/* What both processes make: the pre-login process's list but for fcntl. */
static const struct sb_rule sb_common[] = {
	/* The descriptors it holds, most frequent first. */
	ANY(__NR_read),
	ANY(__NR_write),
#ifdef __NR_poll
	ANY(__NR_poll),
#endif
#ifdef __NR_ppoll
	ANY(__NR_ppoll),
#endif
#ifdef __NR_ppoll_time64
	ANY(__NR_ppoll_time64),
#endif
#ifdef __NR_sendto
	/* Without an address: it could reach an abstract-namespace socket. */
	ONE_OF(__NR_sendto, 4, 1, 0),
#endif
#ifdef __NR_recvfrom
	ANY(__NR_recvfrom),
#endif
#ifdef __NR_send
	/* armhf's glibc sends and receives through these. */
	ANY(__NR_send),
#endif
#ifdef __NR_recv
	ANY(__NR_recv),
#endif
#if defined(__i386__) && defined(__NR_socketcall)
	/* i386's glibc sends and receives through socketcall: only those. */
	ONE_OF(__NR_socketcall, 0, 4, SYS_SEND, SYS_RECV, SYS_SENDTO,
	    SYS_RECVFROM),
#endif
	ANY(__NR_close),

	/* Memory. */
	ANY(__NR_brk),
#ifdef __NR_mmap
	BITS(__NR_mmap, 2, SB_PROT),
#endif
#ifdef __NR_mmap2
	BITS(__NR_mmap2, 2, SB_PROT),
#endif
	BITS(__NR_mprotect, 2, SB_PROT),
	ANY(__NR_munmap),
	ANY(__NR_mremap),
#ifdef SB_SANITIZER
	/* The sanitizer gives its shadow memory other advice too. */
	ANY(__NR_madvise),
#else
	ONE_OF(__NR_madvise, 2, 3, MADV_DONTNEED, MADV_FREE, MADV_DONTDUMP),
#endif

	/* Time. */
#ifdef __NR_clock_gettime
	ANY(__NR_clock_gettime),
#endif
#ifdef __NR_clock_gettime64
	ANY(__NR_clock_gettime64),
#endif
#ifdef __NR_gettimeofday
	ANY(__NR_gettimeofday),
#endif
#ifdef __NR_time
	ANY(__NR_time),
#endif
#ifdef __NR_nanosleep
	ANY(__NR_nanosleep),
#endif
#ifdef __NR_clock_nanosleep
	ANY(__NR_clock_nanosleep),
#endif
#ifdef __NR_clock_nanosleep_time64
	ANY(__NR_clock_nanosleep_time64),
#endif
	ANY(__NR_getrandom),

	/* The process itself. */
	ANY(__NR_getpid),
	ANY(__NR_gettid),
	ANY(__NR_exit_group),
	ANY(__NR_exit),
	ANY(__NR_rt_sigreturn),
#ifdef __NR_sigreturn
	ANY(__NR_sigreturn),
#endif
	ANY(__NR_rt_sigprocmask),
	ANY(__NR_restart_syscall),
	SELF(__NR_tgkill, 0),
#ifdef SB_SANITIZER
	/* Its exit hook takes down the alternate signal stack. */
	ANY(__NR_sigaltstack),
#endif
};

/* The pre-login process: non-blocking I/O for TLS, nothing else. */
static const struct sb_rule sb_prelogin[] = {
	ONE_OF(__NR_fcntl, 1, 2, F_GETFL, F_SETFL),
#ifdef __NR_fcntl64
	ONE_OF(__NR_fcntl64, 1, 2, F_GETFL, F_SETFL),
#endif
};

/* fcntl in a session: TLS's flags, the mailbox's locks, close-on-exec. */
#define SESSION_FCNTL(nr)	ONE_OF((nr), 1, 10, F_GETFD, F_SETFD, \
				    F_GETFL, F_SETFL, F_GETLK, F_SETLK, \
				    F_SETLKW, F_OFD_GETLK, F_OFD_SETLK, \
				    F_OFD_SETLKW)

/*
 * The session process after login, jailed in the mailbox's directory as
 * the mailbox owner: what the file system calls it makes there (open,
 * stat, read and write at offsets, locks, links and renames for dotlocks
 * and the journal, syncs, truncation) and more of their kind, since the
 * chroot and the owner's rights already bound what they reach; one
 * thread for a big mailbox's scan.  Not: sockets, other processes,
 * programs, signals to others, any change of ids or root.
 */
static const struct sb_rule sb_session[] = {
	ANY(__NR_openat),
#ifdef __NR_open
	ANY(__NR_open),
#endif
#ifdef __NR_newfstatat
	ANY(__NR_newfstatat),
#endif
#ifdef __NR_fstatat64
	ANY(__NR_fstatat64),
#endif
#ifdef __NR_fstat
	ANY(__NR_fstat),
#endif
#ifdef __NR_fstat64
	ANY(__NR_fstat64),
#endif
#ifdef __NR_stat
	ANY(__NR_stat),
#endif
#ifdef __NR_stat64
	ANY(__NR_stat64),
#endif
#ifdef __NR_lstat
	ANY(__NR_lstat),
#endif
#ifdef __NR_lstat64
	ANY(__NR_lstat64),
#endif
#ifdef __NR_statx
	ANY(__NR_statx),
#endif
	ANY(__NR_pread64),
	ANY(__NR_pwrite64),
	ANY(__NR_preadv),
	ANY(__NR_pwritev),
	ANY(__NR_readv),
	ANY(__NR_writev),
	ANY(__NR_lseek),
#ifdef __NR__llseek
	ANY(__NR__llseek),
#endif
	SESSION_FCNTL(__NR_fcntl),
#ifdef __NR_fcntl64
	SESSION_FCNTL(__NR_fcntl64),
#endif
	ANY(__NR_flock),
	ANY(__NR_fsync),
	ANY(__NR_fdatasync),
	ANY(__NR_ftruncate),
#ifdef __NR_ftruncate64
	ANY(__NR_ftruncate64),
#endif
	ANY(__NR_fallocate),
#ifdef __NR_sync_file_range
	ANY(__NR_sync_file_range),
#endif
#ifdef __NR_sync_file_range2
	ANY(__NR_sync_file_range2),
#endif
#ifdef __NR_fadvise64
	ANY(__NR_fadvise64),
#endif
#ifdef __NR_fadvise64_64
	ANY(__NR_fadvise64_64),
#endif
#ifdef __NR_arm_fadvise64_64
	ANY(__NR_arm_fadvise64_64),
#endif
#ifdef __NR_link
	ANY(__NR_link),
#endif
	ANY(__NR_linkat),
#ifdef __NR_unlink
	ANY(__NR_unlink),
#endif
	ANY(__NR_unlinkat),
#ifdef __NR_rename
	ANY(__NR_rename),
#endif
#ifdef __NR_renameat
	ANY(__NR_renameat),
#endif
	ANY(__NR_renameat2),
#ifdef __NR_mkdir
	ANY(__NR_mkdir),
#endif
	ANY(__NR_mkdirat),
#ifdef __NR_rmdir
	ANY(__NR_rmdir),
#endif
#ifdef __NR_readlink
	ANY(__NR_readlink),
#endif
	ANY(__NR_readlinkat),
	ANY(__NR_getdents64),
#ifdef __NR_access
	ANY(__NR_access),
#endif
	ANY(__NR_faccessat),
	ANY(__NR_fchmod),
	ANY(__NR_utimensat),
#ifdef __NR_utimensat_time64
	ANY(__NR_utimensat_time64),
#endif
	ANY(__NR_fstatfs),
#ifdef __NR_fstatfs64
	ANY(__NR_fstatfs64),
#endif
	/* Who it runs as (files it trusts are its own), a dotlock's host. */
	ANY(__NR_uname),
	ANY(__NR_getuid),
	ANY(__NR_geteuid),
	ANY(__NR_getgid),
	ANY(__NR_getegid),
#ifdef __NR_getuid32
	ANY(__NR_getuid32),
	ANY(__NR_geteuid32),
	ANY(__NR_getgid32),
	ANY(__NR_getegid32),
#endif
	/* Over TLS, the relay is its child: reaped at the end. */
	ANY(__NR_wait4),
	/*
	 * One thread for a big mailbox's scan: clone only with CLONE_THREAD
	 * (a thread, never a process).  clone3 keeps its flags in memory
	 * the filter can't read: it fails as if unknown, and glibc falls
	 * back to clone.
	 */
	HAS(__NR_clone, 0, CLONE_THREAD),
#ifdef __NR_clone3
	FAILS(__NR_clone3, ENOSYS),
#endif
	ANY(__NR_futex),
#ifdef __NR_futex_time64
	ANY(__NR_futex_time64),
#endif
	ANY(__NR_set_robust_list),
	/* glibc's first thread sets its internal signals' handlers. */
	ANY(__NR_rt_sigaction),
#ifdef __NR_rseq
	ANY(__NR_rseq),
#endif
	ANY(__NR_sched_yield),
	/* malloc's first call in a second thread counts the CPUs. */
	ANY(__NR_sched_getaffinity),
};

#define SB_COUNT(t)	(sizeof(t) / sizeof((t)[0]))

/* Which filter: the pre-login process's, or the session's. */
enum sb_which {
	SB_PRELOGIN,
	SB_SESSION
};

/* A program being written; past cap, instructions are only counted. */
struct sb_prog {
	struct sock_filter	*ins;
	size_t			 n, cap;
};

static uint32_t	sb_kill;
static int	sb_kill_known;

static void
put(struct sb_prog *p, uint16_t code, uint32_t k, uint8_t jt, uint8_t jf)
{
	if (p->n < p->cap) {
		p->ins[p->n].code = code;
		p->ins[p->n].jt = jt;
		p->ins[p->n].jf = jf;
		p->ins[p->n].k = k;
	}
	p->n++;
}

/*
 * One rule's block.  The accumulator holds the call's number on the
 * way in, and every path into the block ends in it with a return, so
 * the next block finds the number still there.  With an argument check:
 *   number? no: past the block
 *   high word 0? no: kill       (every value checked is 32-bit)
 *   low word: tests jumping to allow, else kill
 */
static void
put_rule(struct sb_prog *p, const struct sb_rule *r, uint32_t self,
    uint32_t kill)
{
	uint8_t	tests, i;

	if (r->check == SB_ANY || r->check == SB_FAILS) {
		put(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 1);
		put(p, BPF_RET | BPF_K, r->check == SB_ANY ? SECCOMP_RET_ALLOW :
		    SECCOMP_RET_ERRNO | (r->v[0] & SECCOMP_RET_DATA), 0, 0);
		return;
	}
	tests = r->check == SB_BITS || r->check == SB_HAS ? 2 :
	    r->check == SB_SELF ? 1 : r->n;
	put(p, BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)r->nr, 0, 5 + tests);
	put(p, BPF_LD | BPF_W | BPF_ABS, ARG_HI(r->arg), 0, 0);
	put(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1 + tests);
	put(p, BPF_LD | BPF_W | BPF_ABS, ARG_LO(r->arg), 0, 0);
	if (r->check == SB_BITS) {
		put(p, BPF_ALU | BPF_AND | BPF_K, ~r->v[0], 0, 0);
		put(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0);
	} else if (r->check == SB_HAS) {
		put(p, BPF_ALU | BPF_AND | BPF_K, r->v[0], 0, 0);
		put(p, BPF_JMP | BPF_JEQ | BPF_K, r->v[0], 1, 0);
	} else
		for (i = 0; i < tests; i++)
			put(p, BPF_JMP | BPF_JEQ | BPF_K,
			    r->check == SB_SELF ? self : r->v[i], tests - i, 0);
	put(p, BPF_RET | BPF_K, kill, 0, 0);
	put(p, BPF_RET | BPF_K, SECCOMP_RET_ALLOW, 0, 0);
}

/* Every rule of the table t (n rows). */
static void
put_table(struct sb_prog *p, const struct sb_rule *t, size_t n,
    uint32_t self, uint32_t kill)
{
	size_t	i;

	for (i = 0; i < n; i++)
		put_rule(p, &t[i], self, kill);
}

/*
 * Write filter `which' into ins (cap instructions) for the process self.
 * Returns its length, which may be more than cap: then only counted.
 */
static size_t
build(enum sb_which which, struct sock_filter *ins, size_t cap,
    uint32_t self, uint32_t kill)
{
	struct sb_prog	p = { ins, 0, cap };

	put(&p, BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, arch), 0, 0);
	put(&p, BPF_JMP | BPF_JEQ | BPF_K, SB_ARCH, 1, 0);
	put(&p, BPF_RET | BPF_K, kill, 0, 0);
	put(&p, BPF_LD | BPF_W | BPF_ABS,
	    offsetof(struct seccomp_data, nr), 0, 0);
#ifdef SB_X32_BIT
	put(&p, BPF_JMP | BPF_JGE | BPF_K, SB_X32_BIT, 0, 1);
	put(&p, BPF_RET | BPF_K, kill, 0, 0);
#endif
	put_table(&p, sb_common, SB_COUNT(sb_common), self, kill);
	if (which == SB_PRELOGIN)
		put_table(&p, sb_prelogin, SB_COUNT(sb_prelogin), self, kill);
	else
		put_table(&p, sb_session, SB_COUNT(sb_session), self, kill);
	put(&p, BPF_RET | BPF_K, kill, 0, 0);
	return p.n;
}

/*
 * The strongest kill the kernel has: the whole process (Linux 4.14 and
 * later), else the calling thread.  Asked once; a fork inherits it.
 */
static uint32_t
kill_action(void)
{
	if (sb_kill_known)
		return sb_kill;
	sb_kill = SECCOMP_RET_KILL_THREAD;
#if defined(SECCOMP_RET_KILL_PROCESS) && defined(__NR_seccomp)
	{
		uint32_t	a = SECCOMP_RET_KILL_PROCESS;

		if (syscall(__NR_seccomp, SECCOMP_GET_ACTION_AVAIL, 0, &a) ==
		    0)
			sb_kill = a;
	}
#endif
	sb_kill_known = 1;
	return sb_kill;
}

/*
 * Install filter `which' here.  The program is counted, then written on
 * the heap (a few kB; on the stack of a long-lived session its pages
 * would stay written).  Returns 0, or -1 with errno set.
 */
static int
install(enum sb_which which)
{
	struct sock_fprog	prog;
	uint32_t		self = (uint32_t)getpid(), kill = kill_action();
	size_t			n;
	int			rc = -1, saved;

	n = build(which, NULL, 0, self, kill);
	if (n > BPF_MAXINSNS) {
		errno = E2BIG;
		return -1;
	}
	if ((prog.filter = calloc(n, sizeof(*prog.filter))) == NULL)
		return -1;
	prog.len = (unsigned short)build(which, prog.filter, n, self, kill);
	/* Without it an unprivileged process may not install a filter. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0)
		rc = 0;
	saved = errno;
	free(prog.filter);
	errno = saved;
	return rc;
}

/* Wait for the check's child.  Returns 0 if SIGSYS ended it, else -1. */
static int
probe_result(pid_t pid)
{
	int	st;

	while (waitpid(pid, &st, 0) == -1)
		if (errno != EINTR) {
			log_warn("syscall filter check: waitpid");
			return -1;
		}
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return 0;
	if (WIFEXITED(st) && WEXITSTATUS(st) != 0)
		log_warnx("syscall filter: the kernel refused it (%s): "
		    "refusing to start; `sandbox no' runs without it",
		    strerror(WEXITSTATUS(st)));
	else
		log_warnx("syscall filter: a forbidden call was not stopped: "
		    "refusing to start; `sandbox no' runs without it");
	return -1;
}

int
sandbox_check(void)
{
	pid_t	pid;

	if (prctl(PR_GET_SECCOMP, 0, 0, 0, 0) == -1 && errno == EINVAL) {
		log_warnx("syscall filter: this kernel has no seccomp: "
		    "refusing to start; `sandbox no' runs without it");
		return -1;
	}
	if ((pid = fork()) == -1) {
		log_warn("syscall filter check: fork");
		return -1;
	}
	if (pid == 0) {
		if (install(SB_PRELOGIN) == -1)
			_exit(errno > 0 && errno < 256 ? errno : EINVAL);
		/* Not on the list: the filter must end the process here. */
		(void)getppid();
		_exit(0);
	}
	return probe_result(pid);
}

int
sandbox_enter(void)
{
	if (install(SB_PRELOGIN) == -1) {
		log_warn("syscall filter not installed, closing the connection "
		    "(`sandbox no' runs without it)");
		return -1;
	}
	return 0;
}

int
sandbox_enter_session(void)
{
	if (install(SB_SESSION) == -1) {
		log_warn("session syscall filter not installed, closing the "
		    "connection (`sandbox no' runs without it)");
		return -1;
	}
	return 0;
}

#else	/* no SB_ARCH */

int
sandbox_check(void)
{
	log_warnx("syscall filter: pop3d has none for this architecture: "
	    "refusing to start; `sandbox no' runs without it");
	return -1;
}

int
sandbox_enter(void)
{
	log_warnx("syscall filter: none for this architecture, closing the "
	    "connection");
	return -1;
}

int
sandbox_enter_session(void)
{
	return sandbox_enter();
}

#endif
