/*
 * MD5 through mbedTLS: the 2.x functions are named *_ret, the 3.x ones
 * are not, and both return an int that cannot fail for MD5 in practice.
 */
#include <string.h>

#include <mbedtls/md5.h>
#include <mbedtls/version.h>

#include "md5.h"

_Static_assert(sizeof(mbedtls_md5_context) <= sizeof(((struct md5 *)0)->ctx),
    "struct md5 is too small for an mbedtls_md5_context");
_Static_assert(_Alignof(mbedtls_md5_context) <= 8,
    "struct md5 is not aligned enough for an mbedtls_md5_context");

#if MBEDTLS_VERSION_NUMBER >= 0x03000000
#define MD5_STARTS	mbedtls_md5_starts
#define MD5_UPDATE	mbedtls_md5_update
#define MD5_FINISH	mbedtls_md5_finish
#else
#define MD5_STARTS	mbedtls_md5_starts_ret
#define MD5_UPDATE	mbedtls_md5_update_ret
#define MD5_FINISH	mbedtls_md5_finish_ret
#endif

/*
 * md5_init hands this the not yet initialised context to initialise;
 * cppcheck's whole-program pass takes that for a read of it.
 */
static mbedtls_md5_context *
md5_ctx(struct md5 *m)
{
	/* cppcheck-suppress ctuuninitvar */
	return (mbedtls_md5_context *)(void *)m->ctx;
}

void
md5_init(struct md5 *m)
{
	mbedtls_md5_init(md5_ctx(m));
	(void)MD5_STARTS(md5_ctx(m));
}

void
md5_update(struct md5 *m, const void *p, size_t len)
{
	(void)MD5_UPDATE(md5_ctx(m), p, len);
}

void
md5_final(struct md5 *m, unsigned char out[MD5_LEN])
{
	(void)MD5_FINISH(md5_ctx(m), out);
	mbedtls_md5_free(md5_ctx(m));
}

void
md5_digest(const void *p, size_t len, unsigned char out[MD5_LEN])
{
	struct md5	m;

	md5_init(&m);
	md5_update(&m, p, len);
	md5_final(&m, out);
}
