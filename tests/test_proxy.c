/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Unit tests of the PROXY protocol parser (v1 and v2 as HAProxy sends
 * them), its byte-exact reader, and the proxy_trusted network match.
 */
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "proxy.h"

static const unsigned char sig2[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

/* The source address h holds, as text ("a.b.c.d" or "x::y"). */
static const char *
src_text(const struct proxy_hdr *h, char *out, size_t len, unsigned *port)
{
	const struct sockaddr_in	*sin = (const void *)&h->src;
	const struct sockaddr_in6	*sin6 = (const void *)&h->src;

	if (h->src.ss_family == AF_INET) {
		*port = ntohs(sin->sin_port);
		return inet_ntop(AF_INET, &sin->sin_addr, out, (socklen_t)len);
	}
	*port = ntohs(sin6->sin6_port);
	return inet_ntop(AF_INET6, &sin6->sin6_addr, out, (socklen_t)len);
}

/* Feed s through proxy_want as the reader would; return its final verdict. */
static int
want_all(const unsigned char *s, size_t len, size_t *used)
{
	size_t	got = 0;
	int	w;

	while ((w = proxy_want(s, got)) > 0) {
		if (got + (size_t)w > len)
			return -2;	/* would need bytes we don't have */
		got += (size_t)w;
	}
	*used = got;
	return w;
}

static int
parse_str(const char *s, struct proxy_hdr *h)
{
	size_t	used;

	if (want_all((const unsigned char *)s, strlen(s), &used) != 0 ||
	    used != strlen(s))
		return -1;
	return proxy_parse((const unsigned char *)s, used, h);
}

static void
test_v1_tcp4(void **state)
{
	struct proxy_hdr	h;
	char			a[64];
	unsigned		port;

	(void)state;
	assert_int_equal(parse_str("PROXY TCP4 198.51.100.7 192.0.2.1 "
	    "56324 110\r\n", &h), 0);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.local, 0);
	assert_string_equal(src_text(&h, a, sizeof(a), &port),
	    "198.51.100.7");
	assert_int_equal(port, 56324);
}

static void
test_v1_tcp6_and_unknown(void **state)
{
	struct proxy_hdr	h;
	char			a[64];
	unsigned		port;

	(void)state;
	assert_int_equal(parse_str("PROXY TCP6 2001:db8::7 2001:db8::1 "
	    "65535 995\r\n", &h), 0);
	assert_string_equal(src_text(&h, a, sizeof(a), &port), "2001:db8::7");
	assert_int_equal(port, 65535);
	assert_int_equal(parse_str("PROXY UNKNOWN\r\n", &h), 0);
	assert_int_equal(h.local, 1);
	assert_int_equal(parse_str("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n",
	    &h), 0);
	assert_int_equal(h.local, 1);
}

static void
test_v1_malformed(void **state)
{
	static const char	*bad[] = {
		"PROXY TCP4 198.51.100.7 192.0.2.1 56324\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 56324 110 9\r\n",
		"PROXY TCP4 198.51.100.7  192.0.2.1 56324 110\r\n",
		"PROXY TCP4 2001:db8::7 192.0.2.1 56324 110\r\n",
		"PROXY TCP6 198.51.100.7 2001:db8::1 56324 110\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 65536 110\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 -1 110\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 0110 110\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 1 110\n",
		"PROXY UDP4 198.51.100.7 192.0.2.1 1 110\r\n",
		"PROXY TCP4 198.051.100.7 192.0.2.1 1 110\r\n",
		"PROXY TCP4 198.51.100.7 192.0.2.1 1 1\r10\r\n",
		"PROXY UNKNOWNX\r\n",
		"PROXY \r\n",
	};
	struct proxy_hdr	h;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_str(bad[i], &h) != -1)
			fail_msg("accepted: %s", bad[i]);
}

static void
test_v1_oversized_and_foreign(void **state)
{
	char		line[256];
	size_t		used;

	(void)state;
	/* 108 bytes with no LF: the reader gives up at the v1 maximum. */
	memset(line, 'x', sizeof(line));
	memcpy(line, "PROXY ", 6);
	assert_int_equal(want_all((unsigned char *)line, sizeof(line), &used),
	    -1);
	assert_int_equal(used, PROXY_V1_MAX);
	/* A POP3 command is not a PROXY header, from the first byte. */
	assert_int_equal(proxy_want((const unsigned char *)"U", 1), -1);
	assert_int_equal(proxy_want((const unsigned char *)"PROXX", 5), -1);
	assert_int_equal(proxy_want((const unsigned char *)"", 0), 6);
	/* v1 stops right after the LF: POP3 bytes behind it stay unread. */
	assert_int_equal(want_all((const unsigned char *)
	    "PROXY UNKNOWN\r\nUSER a\r\n", 23, &used), 0);
	assert_int_equal(used, 15);
}

/* A v2 header: cmd, family byte, then body bytes. */
static size_t
v2(unsigned char *out, int cmd, int fam, const void *body, size_t blen)
{
	memcpy(out, sig2, 12);
	out[12] = (unsigned char)(0x20 | cmd);
	out[13] = (unsigned char)fam;
	out[14] = (unsigned char)(blen >> 8);
	out[15] = (unsigned char)blen;
	memcpy(out + 16, body, blen);
	return 16 + blen;
}

static void
test_v2_tcp4_with_tlvs(void **state)
{
	unsigned char		 body[64], hdr[128];
	struct proxy_hdr	 h;
	char			 a[64];
	unsigned		 port;
	size_t			 n, used;

	(void)state;
	/* 203.0.113.9:40000 -> 192.0.2.1:110, then ALPN and UNIQUE_ID TLVs. */
	memcpy(body, "\xcb\x00\x71\x09\xc0\x00\x02\x01\x9c\x40\x00\x6e", 12);
	memcpy(body + 12, "\x01\x00\x04pop3", 7);
	memcpy(body + 19, "\x05\x00\x03" "abc", 6);
	n = v2(hdr, 1, 0x11, body, 25);
	memcpy(hdr + n, "USER", 4);	/* must stay unread */
	assert_int_equal(want_all(hdr, n + 4, &used), 0);
	assert_int_equal(used, n);
	assert_int_equal(proxy_parse(hdr, n, &h), 0);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.local, 0);
	assert_string_equal(src_text(&h, a, sizeof(a), &port), "203.0.113.9");
	assert_int_equal(port, 40000);
}

/* HAProxy's send-proxy-v2-options crc32c: the TLV must match. */
static void
test_v2_crc32c(void **state)
{
	unsigned char		 body[64], hdr[128];
	struct proxy_hdr	 h;
	uint32_t		 crc;
	size_t			 n;

	(void)state;
	assert_int_equal(proxy_crc32c(0, (const unsigned char *)"123456789",
	    9), 0xe3069283U);
	memcpy(body, "\xcb\x00\x71\x09\xc0\x00\x02\x01\x9c\x40\x00\x6e", 12);
	memcpy(body + 12, "\x03\x00\x04\x00\x00\x00\x00", 7);
	n = v2(hdr, 1, 0x11, body, 19);
	crc = proxy_crc32c(0, hdr, n);
	hdr[n - 4] = (unsigned char)(crc >> 24);
	hdr[n - 3] = (unsigned char)(crc >> 16);
	hdr[n - 2] = (unsigned char)(crc >> 8);
	hdr[n - 1] = (unsigned char)crc;
	assert_int_equal(proxy_parse(hdr, n, &h), 0);
	/* any byte changed, the address's included, fails it */
	hdr[16] ^= 1;
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	hdr[16] ^= 1;
	hdr[n - 1] ^= 0x80;
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	hdr[n - 1] ^= 0x80;
	/* not four bytes long */
	memcpy(body + 12, "\x03\x00\x03\x00\x00\x00", 6);
	n = v2(hdr, 1, 0x11, body, 18);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
}

static void
test_v2_tcp6_local_unspec(void **state)
{
	unsigned char		 body[36], hdr[128];
	struct proxy_hdr	 h;
	char			 a[64];
	unsigned		 port;
	size_t			 n;

	(void)state;
	memset(body, 0, sizeof(body));
	inet_pton(AF_INET6, "2001:db8::42", body);
	inet_pton(AF_INET6, "2001:db8::1", body + 16);
	body[32] = 0x12;
	body[33] = 0x34;
	body[35] = 110;
	n = v2(hdr, 1, 0x21, body, 36);
	assert_int_equal(proxy_parse(hdr, n, &h), 0);
	assert_string_equal(src_text(&h, a, sizeof(a), &port), "2001:db8::42");
	assert_int_equal(port, 0x1234);
	/* LOCAL (a health check): no address, keep the real peer. */
	n = v2(hdr, 0, 0x00, "", 0);
	assert_int_equal(proxy_parse(hdr, n, &h), 0);
	assert_int_equal(h.local, 1);
	n = v2(hdr, 1, 0x00, "", 0);
	assert_int_equal(proxy_parse(hdr, n, &h), 0);
	assert_int_equal(h.local, 1);
}

static void
test_v2_malformed(void **state)
{
	unsigned char		 body[64], hdr[128];
	struct proxy_hdr	 h;
	size_t			 n;

	(void)state;
	memset(body, 7, sizeof(body));
	/* Addresses cut short: 11 of TCP4's 12 bytes. */
	n = v2(hdr, 1, 0x11, body, 11);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	/* A TLV whose length runs past the end. */
	memcpy(body + 12, "\x01\x00\x09pop3", 7);
	n = v2(hdr, 1, 0x11, body, 19);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	/* Two stray bytes after the last TLV. */
	memcpy(body + 12, "\x01\x00\x00\x01\x00", 5);
	n = v2(hdr, 1, 0x11, body, 17);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	/* Version 1 in the binary format, command 2, UDP, unix sockets. */
	n = v2(hdr, 1, 0x11, body, 12);
	hdr[12] = 0x11;
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	n = v2(hdr, 2, 0x11, body, 12);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	n = v2(hdr, 1, 0x12, body, 12);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	n = v2(hdr, 1, 0x31, body, 12);
	assert_int_equal(proxy_parse(hdr, n, &h), -1);
	/* A length that disagrees with the bytes given. */
	n = v2(hdr, 1, 0x11, body, 12);
	assert_int_equal(proxy_parse(hdr, n - 1, &h), -1);
	assert_int_equal(proxy_parse(hdr, 15, &h), -1);
}

static void
test_v2_bad_signature_and_oversized(void **state)
{
	unsigned char	hdr[32];
	size_t		used;

	(void)state;
	v2(hdr, 1, 0x11, "012345678901", 12);
	hdr[7] = 'X';
	assert_int_equal(want_all(hdr, 28, &used), -1);
	v2(hdr, 1, 0x11, "012345678901", 12);
	hdr[14] = 0x08;		/* 2049 bytes claimed */
	hdr[15] = 0x01;
	assert_int_equal(proxy_want(hdr, 16), -1);
	hdr[15] = 0x00;		/* exactly the maximum is fine */
	assert_int_equal(proxy_want(hdr, 16), PROXY_V2_BODY_MAX);
	assert_true(proxy_looks_like(hdr, 16));
	assert_false(proxy_looks_like((const unsigned char *)"USER x", 6));
}

/* proxy_read over a socketpair: exact bytes, malformed, truncated. */
static void
test_read_socketpair(void **state)
{
	struct proxy_hdr	h;
	char			rest[16];
	int			sv[2];
	static const char	msg[] = "PROXY TCP4 1.2.3.4 5.6.7.8 9 10\r\nCAPA\r\n";

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], msg, sizeof(msg) - 1),
	    (ssize_t)sizeof(msg) - 1);
	assert_int_equal(proxy_read(sv[0], 2, "test", &h), 0);
	assert_int_equal(read(sv[0], rest, sizeof(rest)), 6);
	assert_memory_equal(rest, "CAPA\r\n", 6);
	/* A truncated header, then EOF. */
	assert_int_equal(write(sv[1], "PROXY TCP4 1.2", 14), 14);
	close(sv[1]);
	assert_int_equal(proxy_read(sv[0], 2, "test", &h), -1);
	close(sv[0]);
	/* A POP3 client that is not a balancer. */
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "CAPA\r\n", 6), 6);
	assert_int_equal(proxy_read(sv[0], 2, "test", &h), -1);
	close(sv[0]);
	close(sv[1]);
}

static void
test_read_timeout(void **state)
{
	struct proxy_hdr	h;
	int			sv[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], "PROXY ", 6), 6);
	assert_int_equal(proxy_read(sv[0], 1, "test", &h), -1);
	close(sv[0]);
	close(sv[1]);
}

static int
match(const char *net, const char *addr)
{
	struct proxy_net	n;
	struct sockaddr_storage	ss;
	struct sockaddr_in	*sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&ss;

	assert_int_equal(proxy_net_parse(net, &n), 0);
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, addr, &sin->sin_addr) == 1)
		ss.ss_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, addr, &sin6->sin6_addr),
		    1);
		ss.ss_family = AF_INET6;
	}
	return proxy_trusted(&n, 1, (struct sockaddr *)&ss);
}

static void
test_trusted_networks(void **state)
{
	struct proxy_net	n;

	(void)state;
	assert_true(match("127.0.0.0/8", "127.1.2.3"));
	assert_false(match("127.0.0.0/8", "128.0.0.1"));
	assert_true(match("10.0.0.5", "10.0.0.5"));
	assert_false(match("10.0.0.5", "10.0.0.6"));
	assert_true(match("192.0.2.128/25", "192.0.2.200"));
	assert_false(match("192.0.2.128/25", "192.0.2.127"));
	assert_true(match("0.0.0.0/0", "203.0.113.1"));
	assert_true(match("2001:db8::/32", "2001:db8:ffff::1"));
	assert_false(match("2001:db8::/32", "2001:db9::1"));
	/* An IPv4 client on a dual-stack socket matches the IPv4 network. */
	assert_true(match("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_false(match("::/0", "::ffff:127.0.0.1"));
	assert_false(match("127.0.0.0/8", "::1"));
	assert_int_equal(proxy_net_parse("10.1.2.3/8", &n), -1);
	assert_int_equal(proxy_net_parse("10.0.0.0/33", &n), -1);
	assert_int_equal(proxy_net_parse("10.0.0.0/", &n), -1);
	assert_int_equal(proxy_net_parse("10.0.0.0/08", &n), -1);
	assert_int_equal(proxy_net_parse("10.0.0.0/+8", &n), -1);
	assert_int_equal(proxy_net_parse("::/129", &n), -1);
	assert_int_equal(proxy_net_parse("example.org", &n), -1);
	assert_int_equal(proxy_net_parse("/8", &n), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_tcp4),
		cmocka_unit_test(test_v1_tcp6_and_unknown),
		cmocka_unit_test(test_v1_malformed),
		cmocka_unit_test(test_v1_oversized_and_foreign),
		cmocka_unit_test(test_v2_tcp4_with_tlvs),
		cmocka_unit_test(test_v2_tcp6_local_unspec),
		cmocka_unit_test(test_v2_crc32c),
		cmocka_unit_test(test_v2_malformed),
		cmocka_unit_test(test_v2_bad_signature_and_oversized),
		cmocka_unit_test(test_read_socketpair),
		cmocka_unit_test(test_read_timeout),
		cmocka_unit_test(test_trusted_networks),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
