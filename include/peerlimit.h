/*
 * Failed logins per client address: the standalone listener remembers
 * how many logins from each address (IPv6: each /64) failed lately, hands
 * the count to the connection's process at fork, and learns that
 * connection's failures from its exit status at reap.  The monitor turns
 * the counts into the wait before it checks the next login.
 */
#ifndef POP3D_PEERLIMIT_H
#define POP3D_PEERLIMIT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <time.h>

struct faildelay;

/*
 * A table remembering up to naddrs addresses, and the address of up to
 * nchild session processes until they are reaped.  From its first
 * faildelay_penalty or faildelay_track on, processes forked after do not
 * get the table (a fork before, to daemonize, does).  Returns NULL
 * (errno set) when out of memory.
 */
struct faildelay	*faildelay_new(unsigned naddrs, unsigned nchild);

/* Free the table.  NULL is allowed. */
void		 faildelay_free(struct faildelay *);

/*
 * The failures remembered for sa's address at now (seconds on any clock
 * that never goes back), after halving the count once per
 * FAILDELAY_HALF_LIFE since it last halved.  Returns the count, 0 for an
 * address never seen or forgotten.
 */
unsigned	 faildelay_penalty(struct faildelay *, const struct sockaddr *sa,
		    time_t now);

/*
 * Add n failures at now to sa's address (the count stops at
 * FAILDELAY_COUNT_MAX).  When the table is full, the address whose last
 * failure is oldest makes room.
 */
void		 faildelay_record(struct faildelay *, const struct sockaddr *sa,
		    unsigned n, time_t now);

/*
 * The listener, after fork: pid serves a client at sa.  Returns 0, or -1
 * when nchild processes are tracked already (pid's failures will not
 * count).
 */
int		 faildelay_track(struct faildelay *, pid_t pid,
		    const struct sockaddr *sa);

/*
 * The listener, after waitpid gave status for pid: record the failures
 * that status carries (faildelay_exit_code) against pid's address and
 * forget pid.  Untracked pids are ignored.
 */
void		 faildelay_reaped(struct faildelay *, pid_t pid, int status,
		    time_t now);

/*
 * Milliseconds the monitor waits before it checks a login, after earlier
 * failed logins in the connection and penalty remembered from the
 * address: none for the first try from a clean address, else
 * SESSION_AUTH_FAIL_DELAY_MS * 2^(penalty + earlier - 1), at most max_s
 * seconds.  (A failure is then answered SESSION_AUTH_FAIL_DELAY_MS
 * after its check began.)
 */
unsigned	 faildelay_wait_ms(unsigned penalty, unsigned earlier,
		    unsigned max_s);

/*
 * The exit code of a connection's process: ok (0 or 1, as before) and
 * the failed logins its monitor counted.  Returns a value for _exit().
 */
int		 faildelay_exit_code(int ok, unsigned failures);

/*
 * The failed logins a waitpid status carries: 0 unless the process
 * exited with a code faildelay_exit_code made.
 */
unsigned	 faildelay_exit_failures(int status);

#endif
