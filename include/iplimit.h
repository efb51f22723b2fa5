/*
 * Sessions per client address (max_sessions_per_ip): the listener's own
 * list of its session processes, and a table of the address each serves,
 * shared with their root monitors only, so that a monitor whose
 * pre-login process read a PROXY header can move its session to the real
 * client's address.  No process that reads client bytes or runs as a
 * user keeps the table: they drop it (iplimit_detach) before.
 */
#ifndef POP3D_IPLIMIT_H
#define POP3D_IPLIMIT_H

#include <sys/types.h>
#include <sys/socket.h>

/* The key of one client: see iplimit_addr_key. */
#define IPLIMIT_KEY_LEN	16

struct iplimit;

/*
 * The 16-byte key that stands for sa's client: IPv4 as an IPv4-mapped
 * IPv6 address, IPv6 cut to its /64, an IPv4-mapped IPv6 address as the
 * IPv4 one.  Also the key of peerlimit.c's table.  Returns 0, or -1 for
 * other families (unix sockets: no address).
 */
int		 iplimit_addr_key(const struct sockaddr *sa,
		    unsigned char key[IPLIMIT_KEY_LEN]);

/*
 * Make a table for at most slots sessions, shared with the processes
 * forked afterwards.  Returns NULL (errno set) on failure.
 */
struct iplimit	*iplimit_new(unsigned slots);

/* Free the table (the listener, at exit).  NULL is allowed. */
void		 iplimit_free(struct iplimit *);

/*
 * In a forked process about to read client bytes or become a user: give
 * the shared table up for good, so nothing it does later can change what
 * the listener counts.  NULL is allowed.
 */
void		 iplimit_detach(struct iplimit *);

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

/*
 * The listener, after fork: slot belongs to pid (0: the fork failed,
 * the slot is free again).  The pid goes in the listener's own list,
 * never in shared memory.
 */
void		 iplimit_set_pid(struct iplimit *, int slot, pid_t pid);

/* Free the slot of pid, once reaped.  Unknown pids are ignored. */
void		 iplimit_release(struct iplimit *, pid_t pid);

/*
 * In a connection's monitor: its client is really the one of key (from a
 * PROXY header).  Returns how many sessions, this one included, now come
 * from that address.
 */
unsigned	 iplimit_rekey(struct iplimit *, int slot,
		    const unsigned char key[IPLIMIT_KEY_LEN]);

/* Send sig to every session process the listener forked and still has. */
void		 iplimit_signal_all(const struct iplimit *, int sig);

/*
 * Log "refused a connection: why", at most once per IPLIMIT_LOG_INTERVAL
 * seconds across the listener and the monitors, saying how many were
 * left out since.  l may be NULL (inetd: every refusal is logged).
 */
void		 iplimit_log_refusal(struct iplimit *l, const char *why);

#endif
