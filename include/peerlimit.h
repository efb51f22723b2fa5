/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Limits per client address (IPv6: each /64), kept by the standalone
 * listener in two tables.
 *
 * Sessions per address (max_sessions_per_ip, peerlimit_sess_*): the
 * listener's own list of its session processes, and a table of the
 * address each serves, shared with their root monitors only, so that a
 * monitor whose pre-login process read a PROXY header can move its
 * session to the real client's address.  No process that reads client
 * bytes or runs as a user keeps the table: they drop it
 * (peerlimit_sess_detach) before.
 *
 * Failed logins per address (peerlimit_fail_*): the listener remembers
 * how many logins from each address failed lately, hands the count to
 * the connection's process at fork, and learns that connection's
 * failures from its exit status at reap.  The monitor turns the counts
 * into the wait before it checks the next login.
 */
#ifndef POP3D_PEERLIMIT_H
#define POP3D_PEERLIMIT_H

#include <sys/types.h>
#include <sys/socket.h>

#include <time.h>

/* The key of one client: see peerlimit_key. */
#define PEERLIMIT_KEY_LEN	16

/*
 * The 16-byte key that stands for sa's client: IPv4 as an IPv4-mapped
 * IPv6 address, IPv6 cut to its /64, an IPv4-mapped IPv6 address as the
 * IPv4 one: one client for both tables.  Returns 0, or -1 for other
 * families (unix sockets: no address).
 */
int		 peerlimit_key(const struct sockaddr *sa,
		    unsigned char key[PEERLIMIT_KEY_LEN]);

struct peerlimit_sess;

/*
 * Make a table for at most slots sessions, shared with the processes
 * forked afterwards.  Returns NULL (errno set) on failure.
 */
struct peerlimit_sess	*peerlimit_sess_new(unsigned slots);

/* Free the table (the listener, at exit).  NULL is allowed. */
void		 peerlimit_sess_free(struct peerlimit_sess *);

/*
 * In a forked process about to read client bytes or become a user: give
 * the shared table up for good, so nothing it does later can change what
 * the listener counts.  NULL is allowed.
 */
void		 peerlimit_sess_detach(struct peerlimit_sess *);

/*
 * Sessions in the table from sa's address: IPv4 by address, IPv6 by /64,
 * an IPv4-mapped IPv6 address as the IPv4 one.  Returns the count.
 */
unsigned	 peerlimit_sess_count(const struct peerlimit_sess *,
		    const struct sockaddr *sa);

/*
 * Claim a free slot for a session about to be forked for sa.  Returns
 * the slot number, or -1 when the table is full.
 */
int		 peerlimit_sess_claim(struct peerlimit_sess *,
		    const struct sockaddr *sa);

/*
 * The listener, after fork: slot belongs to pid (0: the fork failed,
 * the slot is free again).  The pid goes in the listener's own list,
 * never in shared memory.
 */
void		 peerlimit_sess_set_pid(struct peerlimit_sess *, int slot,
		    pid_t pid);

/* Free the slot of pid, once reaped.  Unknown pids are ignored. */
void		 peerlimit_sess_release(struct peerlimit_sess *, pid_t pid);

/*
 * In a connection's monitor: its client is really the one of key (from a
 * PROXY header).  Returns how many sessions, this one included, now come
 * from that address.
 */
unsigned	 peerlimit_sess_rekey(struct peerlimit_sess *, int slot,
		    const unsigned char key[PEERLIMIT_KEY_LEN]);

/* Send sig to every session process the listener forked and still has. */
void		 peerlimit_sess_signal_all(const struct peerlimit_sess *,
		    int sig);

/*
 * Log "refused a connection: why", at most once per
 * PEERLIMIT_LOG_INTERVAL seconds across the listener and the monitors,
 * saying how many were left out since.  l may be NULL (inetd: every
 * refusal is logged).
 */
void		 peerlimit_sess_log_refusal(struct peerlimit_sess *l,
		    const char *why);

struct peerlimit_fail;

/*
 * A table remembering up to naddrs addresses, and the address of up to
 * nchild session processes until they are reaped.  From its first
 * peerlimit_fail_penalty or peerlimit_fail_track on, processes forked
 * after do not get the table (a fork before, to daemonize, does).
 * Returns NULL (errno set) when out of memory.
 */
struct peerlimit_fail	*peerlimit_fail_new(unsigned naddrs,
			    unsigned nchild);

/* Free the table.  NULL is allowed. */
void		 peerlimit_fail_free(struct peerlimit_fail *);

/*
 * The failures remembered for sa's address at now (seconds on any clock
 * that never goes back), after halving the count once per
 * PEERLIMIT_FAIL_HALF_LIFE since it last halved.  Returns the count, 0
 * for an address never seen or forgotten.
 */
unsigned	 peerlimit_fail_penalty(struct peerlimit_fail *,
		    const struct sockaddr *sa, time_t now);

/*
 * Add n failures at now to sa's address (the count stops at
 * PEERLIMIT_FAIL_COUNT_MAX).  When the table is full, the address whose
 * last failure is oldest makes room.
 */
void		 peerlimit_fail_record(struct peerlimit_fail *,
		    const struct sockaddr *sa, unsigned n, time_t now);

/*
 * The listener, after fork: pid serves a client at sa.  Returns 0, or -1
 * when nchild processes are tracked already (pid's failures will not
 * count).
 */
int		 peerlimit_fail_track(struct peerlimit_fail *, pid_t pid,
		    const struct sockaddr *sa);

/*
 * The listener, after waitpid gave status for pid: record the failures
 * that status carries (peerlimit_fail_exit_code) against pid's address
 * and forget pid.  Untracked pids are ignored.
 */
void		 peerlimit_fail_reaped(struct peerlimit_fail *, pid_t pid,
		    int status, time_t now);

/*
 * Milliseconds the monitor waits before it checks a login, after earlier
 * failed logins in the connection and penalty remembered from the
 * address: none for the first try from a clean address, else
 * SESSION_AUTH_FAIL_DELAY_MS * 2^(penalty + earlier - 1), at most max_s
 * seconds.  (A failure is then answered SESSION_AUTH_FAIL_DELAY_MS
 * after its check began.)
 */
unsigned	 peerlimit_fail_wait_ms(unsigned penalty, unsigned earlier,
		    unsigned max_s);

/*
 * The exit code of a connection's process: ok (0 or 1, as before) and
 * the failed logins its monitor counted.  Returns a value for _exit().
 */
int		 peerlimit_fail_exit_code(int ok, unsigned failures);

/*
 * The failed logins a waitpid status carries: 0 unless the process
 * exited with a code peerlimit_fail_exit_code made.
 */
unsigned	 peerlimit_fail_exit_count(int status);

#endif
