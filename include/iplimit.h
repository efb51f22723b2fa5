/*
 * Sessions per client address (max_sessions_per_ip): a table of the
 * listener's session processes and the address each serves, in memory
 * shared with them so a session behind a PROXY header can move itself to
 * the real client's address.
 */
#ifndef POP3D_IPLIMIT_H
#define POP3D_IPLIMIT_H

#include <sys/types.h>
#include <sys/socket.h>

struct iplimit;

/*
 * The 16-byte key that stands for sa's client: IPv4 as an IPv4-mapped
 * IPv6 address, IPv6 cut to its /64, an IPv4-mapped IPv6 address as the
 * IPv4 one.  Also the key of faildelay.c's table.  Returns 0, or -1 for
 * other families (unix sockets: no address).
 */
int		 iplimit_addr_key(const struct sockaddr *sa,
		    unsigned char key[16]);

/*
 * Make a table for at most slots sessions, shared with the processes
 * forked afterwards.  Returns NULL (errno set) on failure.
 */
struct iplimit	*iplimit_new(unsigned slots);

/* Unmap the table (the listener, at exit).  NULL is allowed. */
void		 iplimit_free(struct iplimit *);

/*
 * Sessions in the table from sa's address: IPv4 by address, IPv6 by /64,
 * an IPv4-mapped IPv6 address as the IPv4 one.  Returns the count.
 */
unsigned	 iplimit_count(const struct iplimit *, const struct sockaddr *sa);

/*
 * Claim a free slot for a session about to be forked for sa.  Returns
 * the slot number, or -1 when the table is full.
 */
int		 iplimit_claim(struct iplimit *, const struct sockaddr *sa);

/* The listener, after fork: slot belongs to pid (found again at reap). */
void		 iplimit_set_pid(struct iplimit *, int slot, pid_t pid);

/* Free the slot of pid, once reaped.  Unknown pids are ignored. */
void		 iplimit_release(struct iplimit *, pid_t pid);

/*
 * In a session process: its client is really sa (from a PROXY header).
 * Returns how many sessions, this one included, now come from sa's
 * address.
 */
unsigned	 iplimit_rekey(struct iplimit *, int slot,
		    const struct sockaddr *sa);

/* Send sig to every session process in the table. */
void		 iplimit_signal_all(const struct iplimit *, int sig);

/*
 * Whether a "refused" log line may go out now: at most one per
 * IPLIMIT_LOG_INTERVAL seconds across the listener and its sessions.
 * Returns the number of refusals not logged before it (>= 0), or -1 when
 * this one must stay quiet.
 */
long		 iplimit_may_log(struct iplimit *);

#endif
