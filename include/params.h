/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * pop3d's hard limits and defaults, each with where its number comes from.
 * Every other file takes its limits from here.
 */
#ifndef POP3D_PARAMS_H
#define POP3D_PARAMS_H

#include <sys/types.h>

/*
 * Mailboxes and their offsets are 64-bit on every system: on i386 and
 * armhf that takes _FILE_OFFSET_BITS=64 (the Makefile sets it), or a
 * mailbox of 2 GiB fails to open and offsets past it are cut.
 */
_Static_assert(sizeof(off_t) == 8, "build with -D_FILE_OFFSET_BITS=64");

#define POP3D_VERSION		"0.2.0"
#define POP3D_IMPLEMENTATION	"pop3d-" POP3D_VERSION

/* RFC 2449 section 4: commands up to 255 octets including the CRLF. */
#define POP3_CMD_MAX		255

/*
 * RFC 5034 section 4: SASL continuation lines may be longer than a command.
 * PLAIN carries authzid, authcid and password of at most AUTH_NAME_MAX,
 * AUTH_NAME_MAX and AUTH_PASS_MAX octets, 4/3 larger in base64: 2048 is
 * ample and still small.
 */
#define POP3_SASL_LINE_MAX	2048

/* The session's input buffer holds one SASL line or several pipelined commands. */
#define SESSION_INBUF_SIZE	4096

/* RFC 1939 section 3 and RFC 2449 section 4: a reply line is at most 512 octets. */
#define POP3_REPLY_MAX		512

/*
 * Output is gathered up to this many bytes before one write: large enough
 * that RETR of big messages is not syscall bound (peer-figures.md: 64 KB
 * writes reach the loopback limit), small enough to keep a session lean.
 */
#define SESSION_OUTBUF_SIZE	(64 * 1024)

/*
 * A RETR reply that needs more than one write anyway sends its first
 * part at once: the "+OK" line and this much of the message, which the
 * client takes in while the rest is transformed.  2, 4 and 8 KB measured
 * alike, each 10-15% more RETR of 100 KB messages (`BENCH_ONLY=retr`).
 */
#define SESSION_FIRST_WRITE	(4 * 1024)

/* Bad commands (unknown, wrong state, bad arguments) before the connection is closed. */
#define SESSION_MAX_BAD_COMMANDS	10

/* Failed logins (USER/PASS, APOP, AUTH) before the connection is closed. */
#define SESSION_MAX_AUTH_FAILURES	3

/*
 * Delay before answering a failed login, in milliseconds (slows guessing),
 * counted from the request: the base, which the monitor holds with the
 * growth (peerlimit.c) and the session applies to failures it decides
 * itself (a malformed AUTH PLAIN).
 */
#define SESSION_AUTH_FAIL_DELAY_MS	1000

/* RFC 1939 section 3: an autologout timer MUST be at least 10 minutes. */
#define DEFAULT_IDLE_TIMEOUT	600

/* Longest user name and password accepted (a PASS line is 255 octets anyway). */
#define AUTH_NAME_MAX		64
#define AUTH_PASS_MAX		255

/*
 * Supplementary groups a system account's session gets (setgroups); more
 * are cut, with a log line.  Linux allows 65536, but mail access turns on
 * the mailbox's owner and mail_group, and each group is 4 bytes of every
 * login's lookup answer.
 */
#define ACCOUNT_GROUPS_MAX	256

/*
 * Largest answer a lookup child sends back (account_isolated): it goes
 * down a pipe in one write of at most PIPE_BUF (4096 on Linux), so the
 * child never blocks on it and the parent reads it whole.
 */
#define ACCOUNT_OUT_MAX		4096

/*
 * Longest line in the passwd and APOP files: a name, a crypt(3) hash (at
 * most CRYPT_OUTPUT_SIZE, 384), two ids and a PATH_MAX mailbox path.
 */
#define AUTH_LINE_MAX		(4096 + 512)

/* RFC 1939 section 7: a unique-id is 1 to 70 characters in 0x21..0x7E. */
#define UID_MAX			70

/* Sessions served at once by a standalone daemon unless max_sessions says otherwise. */
#define DEFAULT_MAX_SESSIONS	100

/*
 * Longest line in pop3d.conf: a key and a path of a few hundred bytes fit
 * with room to spare; a longer line is a mistake (or not a config file).
 */
#define CONF_LINE_MAX		1024

/* Addresses pop3d listens on at most (listen lines). */
#define CONF_LISTEN_MAX		16

/*
 * The largest mailbox served, 512 GiB: the index keeps offsets, lengths
 * and POP sizes (at most twice a length plus 2) in 40 bits, so that an
 * entry is 32 bytes (mbox_int.h).
 */
#define MBOX_FILE_MAX		((unsigned long long)1 << 39)

/*
 * The index cache (indexcache.c): kept for mailboxes of at least 8 MiB,
 * where a scan costs more than reading and checking the cache (about
 * 5 ms measured for 8 MiB; a 571 MB mailbox scans in about 400 ms of CPU
 * and loads from its cache in about 10).  Checked against the hash of
 * the last 4 KB it covered and the From_ lines of 64 sample messages.
 */
#define INDEXCACHE_MIN_BYTES	(8 * 1024 * 1024)
#define INDEXCACHE_TAIL	4096
#define INDEXCACHE_SAMPLE	64

/* Bytes read from the mailbox per read(2) while scanning or streaming. */
#define MBOX_READ_CHUNK		(128 * 1024)

/*
 * A dotlock older than this with no change to the mailbox is stale and is
 * broken (c-client uses 5 minutes; Dovecot 2); so is one dated this far
 * in the future, which no lock just taken is.
 */
#define DOTLOCK_STALE_AGE	300

/*
 * Largest UID sidecar file read (.NAME.pop3d-uids): it holds one line
 * per group of identical messages that lost a copy, some 50 bytes each;
 * 4 MB is tens of thousands of groups, far more than a real mailbox has.
 */
#define UIDS_FILE_MAX		(4 * 1024 * 1024)

/* Seconds to wait for the mailbox delivery locks before [SYS/TEMP]. */
#define DEFAULT_LOCK_TIMEOUT	30

/*
 * Seconds a TLS handshake may take, from accept (or the STLS reply) to the
 * first application byte.  A handshake is two round trips plus one ECDHE
 * and one signature: 30 s covers a slow mobile link many times over while
 * a client that stalls on purpose holds a session slot for no longer.
 */
#define DEFAULT_TLS_HANDSHAKE_TIMEOUT	30

/* Certificates selected by SNI (tls_sni lines), besides the default one. */
#define CONF_SNI_MAX		8

/* Longest tls_ciphers value: about 20 mbedTLS suite names. */
#define CONF_CIPHERS_MAX	1024

/*
 * Session-ticket keys (RFC 5077): the listener makes a new key this often
 * and keeps the previous one for parsing, so a ticket lives at most twice
 * as long.  RFC 8446 section 4.6.1 caps ticket lifetime at 7 days; a day
 * (the common practice of nginx and Mozilla's guidance) keeps the window
 * in which a stolen key decrypts old sessions short.
 */
#define TLS_TICKET_ROTATE	(12 * 3600)
#define TLS_TICKET_LIFETIME	(2 * TLS_TICKET_ROTATE)

/*
 * Tickets are pop3d's own (tls.c): a 4-byte key name, a 12-byte GCM
 * nonce, the sealed issue time (8 bytes) and session state, a 16-byte
 * tag.  The state is mbedtls_ssl_session_save's: about 120 bytes for a
 * TLS 1.2 session, a few hundred at most for TLS 1.3 (a host name); a
 * longer one gets no ticket.
 */
#define TLS_SESSION_MAX		1024
#define TLS_TICKET_OVERHEAD	(4 + 12 + 8 + 16)
#define TLS_TICKET_MAX		(TLS_SESSION_MAX + TLS_TICKET_OVERHEAD)

/* Longest signature: RSA-8192, mbedTLS's largest (MBEDTLS_MPI_MAX_SIZE). */
#define TLS_SIG_MAX		1024

/*
 * What a connection's monitor does with the keys for its pre-login
 * process, at most: one handshake per connection (renegotiation is off,
 * STLS comes once) makes one signature (TLS 1.2's ServerKeyExchange),
 * seals one ticket (the one NewSessionTicket) and opens the one the
 * client offers, twice for a TLS 1.3 client that sends it again after a
 * HelloRetryRequest.  Each open is a ticket decrypted for whoever holds
 * the jail: the bound is what keeps that oracle small.
 */
#define PRIVSEP_SIGNS_MAX	1
#define PRIVSEP_SEALS_MAX	1
#define PRIVSEP_OPENS_MAX	2

/* Seconds spent at most sending close_notify to a client that stalls. */
#define TLS_CLOSE_TIMEOUT	2

/*
 * UPDATE's journal (journal.c): a checkpoint may carry up to this many of
 * the next source bytes, so that a compaction whose gap is small (one
 * small message deleted early in a big mailbox) still advances about this
 * much per checkpoint (two fdatasyncs) instead of one gap's worth.  The
 * journal claims two slots of it.  Measured on the bench's half-deleted
 * 100,000 messages (bench/updbench.sh): 4 MiB saves two checkpoints but
 * its MD5 and journal write cost as much, 16 MiB is slower; 1 MiB keeps
 * the journal small.
 */
#define JOURNAL_WINDOW_MAX	(1024 * 1024)

/*
 * Bytes UPDATE moves per write: kept messages go from the mapped file in
 * one pwritev (or, while the gap is smaller than this, through a buffer
 * this big), so a compaction costs a write per MiB rather than a read and
 * a write per message (measured: 50,000 reads and 2,000 writes for
 * 100,000 messages with 128 KB and per-run reads).  Each write is followed
 * by a write-back hint, so this is also the grain at which the disk
 * starts on the copied bytes.
 */
#define JOURNAL_COPY_CHUNK	(1024 * 1024)

/*
 * Bytes past the compacted end whose hash tells, after a crash, whether
 * the final ftruncate happened: enough that new mail appended after the
 * cut can't match the old leftover bytes by chance.
 */
#define JOURNAL_TAIL_HASH	4096

/*
 * The PROXY protocol (proxy.c).  Version 1 headers are at most 107 bytes
 * with the CRLF (HAProxy's proxy-protocol.txt, section 2.1).  Version 2
 * headers carry TLVs after the addresses; HAProxy's largest (the SSL TLV
 * with a client certificate CN, the authority, a 128-byte unique id)
 * stay well under 1 kB, so 2048 bytes after the 16-byte prefix is ample
 * and anything longer is refused as malformed.
 */
#define PROXY_V1_MAX		107
#define PROXY_V2_BODY_MAX	2048

/*
 * Seconds a trusted balancer has to send its header: HAProxy sends it
 * together with the connect, so a few seconds is already generous.
 */
#define PROXY_HEADER_TIMEOUT	10

/* proxy_trusted networks at most (a few balancers, a subnet or two). */
#define CONF_PROXY_NETS_MAX	16

/*
 * SIGTERM: seconds open sessions get to finish before they are ended
 * without UPDATE (a typical POP3 session lasts seconds; systemd's own
 * stop timeout is 90 s, so 30 s leaves room for the rest).
 */
#define DEFAULT_SHUTDOWN_TIMEOUT	30

/*
 * After that, seconds the sessions ended with SIGTERM get to go: only one
 * in UPDATE (signals held until the mailbox is consistent) takes any.
 */
#define SHUTDOWN_KILL_WAIT	10

/*
 * Sessions from one client address (IPv6: one /64, what one site gets)
 * unless max_sessions_per_ip says otherwise: a tenth of
 * DEFAULT_MAX_SESSIONS, and never more than a quarter of max_sessions,
 * so that it takes at least four addresses to fill the table; a POP3
 * session lasts seconds, so an office behind one NAT address still
 * serves ten clients polling at the same instant.
 */
#define DEFAULT_MAX_SESSIONS_PER_IP	10

/*
 * Seconds from the connection to a login, TLS handshake included
 * (login_timeout): a client that talks without logging in (CAPA every
 * few seconds) would otherwise keep its slot for ever.  RFC 1939's
 * ten minutes bound an idle logged-in session; a mail client logs in
 * within a second or two, a person at telnet within a minute.
 */
#define DEFAULT_LOGIN_TIMEOUT		60

/*
 * Commands before a login that are not a try at it (CAPA, USER, STLS, a
 * mistake...): a client needs five or six; past this many the
 * connection is closed, so talk alone can't keep a slot.
 */
#define SESSION_MAX_PRELOGIN_COMMANDS	20

/*
 * Seconds the TLS relay waits past idle_timeout, in any one wait, before
 * it gives up on its own: the user process's idle timeout, which closes
 * the relay's other end, normally comes first and is what is logged.
 */
#define RELAY_GRACE			10

/* At most one "refused" log line per this many seconds (a flood logs once). */
#define PEERLIMIT_LOG_INTERVAL		10

/*
 * Failed logins per address (peerlimit.c).  A failed login is answered
 * after SESSION_AUTH_FAIL_DELAY_MS doubled once per failure remembered
 * from the address and per earlier one in the connection, up to
 * auth_fail_delay_max seconds: 30 by default, a guesser's waste of time
 * yet under the one-minute server timeout some clients default to
 * (Outlook), so a user who mistyped is slowed, not cut off.
 */
#define DEFAULT_AUTH_FAIL_DELAY_MAX	30

/*
 * Addresses whose failures the listener remembers, 40 bytes each: 1024
 * is 40 KB, more than the guessers at work on a site at one time; when it
 * is full the address that failed longest ago is forgotten first.
 */
#define PEERLIMIT_FAIL_ADDRS		1024

/*
 * An address's failure count halves every this many seconds: a guesser
 * back after a pause of minutes finds most of its penalty, a user who
 * mistyped three times is at a few seconds again after twenty minutes.
 */
#define PEERLIMIT_FAIL_HALF_LIFE	600

/*
 * The count stops growing here: 2^9 s already passes the longest
 * auth_fail_delay_max (300 s), and a cap keeps the time to forget
 * bounded (from 16 to 0 in five half-lives).
 */
#define PEERLIMIT_FAIL_COUNT_MAX	16

/*
 * Privilege separation.  The account pre-login processes run as when
 * pop3d starts as root (`user'), and the empty directory they are jailed
 * in (`chroot'): /var/empty is where OpenSSH and OpenSMTPD look too.
 */
#define DEFAULT_USER		"pop3d"
#define DEFAULT_CHROOT		"/var/empty"

/*
 * checkpassword: qmail's programs read at most 512 bytes from fd 3, and a
 * verdict that takes longer than this many seconds (an LDAP server gone)
 * is a temporary failure.
 */
#define CHECKPW_INPUT_MAX	512
#define CHECKPW_TIMEOUT		10

/*
 * The group Debian's MUAs and MDAs use to make dotlocks in /var/mail
 * (drwxrwsr-x root:mail): sessions keep it as a supplementary group.
 */
#define DEFAULT_MAIL_GROUP	"mail"

#endif
