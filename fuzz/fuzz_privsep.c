/*
 * Fuzz target for the privilege-separation message decoder, the only
 * parser the root monitor runs on bytes from the jailed pre-login
 * process (privsep.c).  The input, zero-padded or cut to
 * PRIVSEP_MSG_SIZE, is decoded.  Checked: a message that is refused
 * leaves nothing behind (the struct wiped: it may hold a password); one
 * that is accepted has a known type, every string terminated inside its
 * field, and is canonical, so encoding it again gives back exactly the
 * input's bytes (nothing after a string's NUL, no second reading).  See
 * fuzz/README.
 */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "privsep.h"

/* Whether the string field f ends inside it. */
#define ENDS(f)		(memchr((f), '\0', sizeof(f)) != NULL)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct privsep_msg	zero;
	unsigned char	in[PRIVSEP_MSG_SIZE], out[PRIVSEP_MSG_SIZE];
	struct privsep_msg	m;

	fuzz_quiet();
	memset(in, 0, sizeof(in));
	memcpy(in, data, size < sizeof(in) ? size : sizeof(in));
	memset(&m, 0x5a, sizeof(m));
	if (privsep_decode(in, &m) == -1) {
		FUZZ_ASSERT(memcmp(&m, &zero, sizeof(m)) == 0,
		    "a refused message left bytes behind");
		return 0;
	}
	FUZZ_ASSERT(m.type >= PS_PASSWORD && m.type <= PS_ADMIT,
	    "accepted an unknown type");
	FUZZ_ASSERT(ENDS(m.user) && ENDS(m.secret) && ENDS(m.text) &&
	    ENDS(m.peer) && ENDS(m.how), "a string runs past its field");
	FUZZ_ASSERT(privsep_encode(&m, out) == 0, "cannot encode it again");
	FUZZ_ASSERT(memcmp(in, out, sizeof(in)) == 0,
	    "accepted a message that is not canonical");
	return 0;
}
