/*
 * MD5 through mbedTLS, hiding the 2.x/3.x API difference.  Used for APOP
 * (RFC 1939 section 7 fixes MD5) and for message fingerprints behind UIDs,
 * where no adversary gains from a collision (see DESIGN.md).
 */
#ifndef POP3D_MD5_H
#define POP3D_MD5_H

#include <stddef.h>

#define MD5_LEN	16

struct md5 {
	/* holds an mbedtls_md5_context, so aligned like one */
	_Alignas(8) unsigned char	ctx[128];
};

void	md5_init(struct md5 *);
void	md5_update(struct md5 *, const void *, size_t);
void	md5_final(struct md5 *, unsigned char out[MD5_LEN]);

/* One-shot digest of a buffer. */
void	md5_digest(const void *, size_t, unsigned char out[MD5_LEN]);

#endif
