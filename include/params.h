/*
 * pop3d's hard limits and defaults, each with where its number comes from.
 * Every other file takes its limits from here.
 */
#ifndef POP3D_PARAMS_H
#define POP3D_PARAMS_H

#define POP3D_VERSION		"0.1.0"
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

/* Bad commands (unknown, wrong state, bad arguments) before the connection is closed. */
#define SESSION_MAX_BAD_COMMANDS	10

/* Failed logins (USER/PASS, APOP, AUTH) before the connection is closed. */
#define SESSION_MAX_AUTH_FAILURES	3

/* Delay before answering a failed login, in milliseconds (slows guessing). */
#define SESSION_AUTH_FAIL_DELAY_MS	1000

/* RFC 1939 section 3: an autologout timer MUST be at least 10 minutes. */
#define DEFAULT_IDLE_TIMEOUT	600

/* Longest user name and password accepted (a PASS line is 255 octets anyway). */
#define AUTH_NAME_MAX		64
#define AUTH_PASS_MAX		255

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

/* Bytes read from the mailbox per read(2) while scanning or streaming. */
#define MBOX_READ_CHUNK		(128 * 1024)

/*
 * A dotlock older than this with no change to the mailbox is stale and is
 * broken (c-client uses 5 minutes; Dovecot 2).
 */
#define DOTLOCK_STALE_AGE	300

/* Seconds to wait for the mailbox delivery locks before [SYS/TEMP]. */
#define DEFAULT_LOCK_TIMEOUT	30

#endif
