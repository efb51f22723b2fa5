/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fuzz target for the PROXY protocol header parser, driven the way
 * proxy_read drives it: bytes are handed over only as far as proxy_want
 * asks, so it must never ask for bytes past the header, and a complete
 * header goes to proxy_parse.  The proxy_trusted network syntax is fuzzed
 * too.  See fuzz/README.
 *
 * Input: byte 0 selects the part (even: header, odd: network), the rest
 * is the connection's first bytes or the network text.
 */
#include <sys/socket.h>
#include <netinet/in.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "params.h"
#include "proxy.h"

/* The most a header can be: the v2 fixed part and its largest body. */
#define HEADER_MAX	(16 + PROXY_V2_BODY_MAX)

static void
check_header(const uint8_t *data, size_t size)
{
	struct proxy_hdr	h;
	uint8_t			*buf;
	size_t			 len = 0;
	int			 want;

	/* Exactly the bytes given so far, so ASan sees a read past them. */
	for (;;) {
		FUZZ_ASSERT((buf = malloc(len + 1)) != NULL, "malloc");
		memcpy(buf, data, len);
		want = proxy_want(buf, len);
		if (want != 0 || len == 0) {
			free(buf);
			if (want <= 0 || (size_t)want > size - len)
				break;
			FUZZ_ASSERT(len + (size_t)want <= HEADER_MAX,
			    "asks for more than a header can hold");
			len += (size_t)want;
			continue;
		}
		(void)proxy_looks_like(buf, len);
		memset(&h, 0xa5, sizeof(h));
		if (proxy_parse(buf, len, &h) == 0) {
			FUZZ_ASSERT(h.version == 1 || h.version == 2,
			    "version");
			FUZZ_ASSERT(h.local ||
			    (h.src.ss_family == AF_INET &&
			    h.srclen == sizeof(struct sockaddr_in)) ||
			    (h.src.ss_family == AF_INET6 &&
			    h.srclen == sizeof(struct sockaddr_in6)),
			    "source address");
		}
		free(buf);
		break;
	}
	FUZZ_ASSERT(want >= -1, "proxy_want result");
}

static void
check_net(const uint8_t *data, size_t size)
{
	struct proxy_net	net;
	struct sockaddr_in6	sa;
	char			*s;
	unsigned		i;

	FUZZ_ASSERT((s = malloc(size + 1)) != NULL, "malloc");
	memcpy(s, data, size);
	s[size] = '\0';
	if (proxy_net_parse(s, &net) == 0) {
		FUZZ_ASSERT((net.family == AF_INET && net.prefix <= 32) ||
		    (net.family == AF_INET6 && net.prefix <= 128),
		    "network prefix");
		/* The host bits are zero: the network matches itself. */
		for (i = net.prefix; i < (net.family == AF_INET ? 32u : 128u);
		    i++)
			FUZZ_ASSERT(!(net.addr[i / 8] & (0x80 >> (i % 8))),
			    "host bits set");
		memset(&sa, 0, sizeof(sa));
		sa.sin6_family = AF_INET6;
		memcpy(&sa.sin6_addr, data, size < 16 ? size : 16);
		(void)proxy_trusted(&net, 1, (struct sockaddr *)&sa);
	}
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	fuzz_quiet();
	if (data[0] & 1)
		check_net(data + 1, size - 1);
	else
		check_header(data + 1, size - 1);
	return 0;
}
