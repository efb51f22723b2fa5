/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The PROXY protocol, versions 1 (text) and 2 (binary), as HAProxy sends
 * it: the parser, the trusted-network check, and a byte-exact reader.
 * The format is HAProxy's proxy-protocol.txt.  A CRC32C TLV, which
 * HAProxy sends with "send-proxy-v2-options crc32c", must match the
 * header; the other TLVs are checked for shape only (the header comes
 * from a trusted balancer; what matters is the address).
 */
#include <sys/types.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "proxy.h"

static const unsigned char v2sig[12] = {
	0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a
};

#define V1SIG		"PROXY "
#define V1SIGLEN	6
#define V2HDR		16	/* signature, ver/cmd, family, length */
#define PP2_TYPE_CRC32C	0x03

int
proxy_net_parse(const char *s, struct proxy_net *net)
{
	char		 host[INET6_ADDRSTRLEN];
	const char	*slash = strchr(s, '/');
	size_t		 hl = slash != NULL ? (size_t)(slash - s) : strlen(s);
	unsigned long	 bits, i;
	char		*end;

	memset(net, 0, sizeof(*net));
	if (hl == 0 || hl >= sizeof(host))
		return -1;
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (inet_pton(AF_INET, host, net->addr) == 1)
		net->family = AF_INET;
	else if (inet_pton(AF_INET6, host, net->addr) == 1)
		net->family = AF_INET6;
	else
		return -1;
	bits = net->family == AF_INET ? 32 : 128;
	if (slash != NULL) {
		if (slash[1] < '0' || slash[1] > '9' ||
		    (slash[1] == '0' && slash[2] != '\0'))
			return -1;
		errno = 0;
		i = strtoul(slash + 1, &end, 10);
		if (*end != '\0' || errno != 0 || i > bits)
			return -1;
		bits = i;
	}
	net->prefix = (unsigned)bits;
	/* Host bits set ("10.1.2.3/8") are a typo: refuse, don't guess. */
	for (i = 0; i < 16; i++) {
		unsigned	have = i * 8 >= bits ? 0 :
		    bits - i * 8 >= 8 ? 8 : (unsigned)(bits - i * 8);
		unsigned char	mask = (unsigned char)(0xff00 >> have);

		if (net->addr[i] & ~mask)
			return -1;
	}
	return 0;
}

/* The first bits bits of a and b agree. */
static int
prefix_eq(const unsigned char *a, const unsigned char *b, unsigned bits)
{
	unsigned char	mask;

	if (memcmp(a, b, bits / 8) != 0)
		return 0;
	if (bits % 8 == 0)
		return 1;
	mask = (unsigned char)(0xff00 >> (bits % 8));
	return (a[bits / 8] & mask) == (b[bits / 8] & mask);
}

int
proxy_trusted(const struct proxy_net *nets, int n, const struct sockaddr *sa)
{
	const struct sockaddr_in	*sin = (const void *)sa;
	const struct sockaddr_in6	*sin6 = (const void *)sa;
	const unsigned char		*a;
	int				 fam, i;

	if (sa->sa_family == AF_INET) {
		fam = AF_INET;
		a = (const unsigned char *)&sin->sin_addr;
	} else if (sa->sa_family == AF_INET6) {
		fam = AF_INET6;
		a = sin6->sin6_addr.s6_addr;
		/* A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d. */
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
			fam = AF_INET;
			a += 12;
		}
	} else
		return 0;
	for (i = 0; i < n; i++)
		if (nets[i].family == fam &&
		    prefix_eq(a, nets[i].addr, nets[i].prefix))
			return 1;
	return 0;
}

int
proxy_looks_like(const unsigned char *buf, size_t len)
{
	size_t	n;

	n = len < V1SIGLEN ? len : V1SIGLEN;
	if (len > 0 && memcmp(buf, V1SIG, n) == 0)
		return 1;
	n = len < sizeof(v2sig) ? len : sizeof(v2sig);
	return len > 0 && memcmp(buf, v2sig, n) == 0;
}

int
proxy_want(const unsigned char *buf, size_t len)
{
	size_t	body;

	if (len < V1SIGLEN)
		return proxy_looks_like(buf, len) || len == 0 ?
		    (int)(V1SIGLEN - len) : -1;
	if (memcmp(buf, V1SIG, V1SIGLEN) == 0) {
		/* Text: one byte at a time, so nothing past the LF is read. */
		if (buf[len - 1] == '\n')
			return 0;
		return len < PROXY_V1_MAX ? 1 : -1;
	}
	if (len < V2HDR)
		return memcmp(buf, v2sig, len < 12 ? len : 12) == 0 ?
		    (int)(V2HDR - len) : -1;
	if (memcmp(buf, v2sig, sizeof(v2sig)) != 0)
		return -1;
	body = (size_t)buf[14] << 8 | buf[15];
	if (body > PROXY_V2_BODY_MAX)
		return -1;
	return len >= V2HDR + body ? 0 : (int)(V2HDR + body - len);
}

/* A decimal port: 1 to 5 digits, no sign, no leading zero, <= 65535. */
static int
v1_port(const char *s, uint16_t *port)
{
	unsigned long	v = 0;
	size_t		i;

	if (s[0] == '\0' || strlen(s) > 5 || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static void
set_src4(struct proxy_hdr *h, const void *addr, uint16_t port)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&h->src;

	memset(&h->src, 0, sizeof(h->src));
	sin->sin_family = AF_INET;
	memcpy(&sin->sin_addr, addr, 4);
	sin->sin_port = htons(port);
	h->srclen = sizeof(*sin);
}

static void
set_src6(struct proxy_hdr *h, const void *addr, uint16_t port)
{
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&h->src;

	memset(&h->src, 0, sizeof(h->src));
	sin6->sin6_family = AF_INET6;
	memcpy(&sin6->sin6_addr, addr, 16);
	sin6->sin6_port = htons(port);
	h->srclen = sizeof(*sin6);
}

/*
 * "PROXY TCP4 src dst sport dport\r\n", TCP6 alike, or "PROXY UNKNOWN"
 * followed by anything up to the CRLF.  Fields are separated by exactly
 * one space, as HAProxy writes them.
 */
static int
parse_v1(const unsigned char *buf, size_t len, struct proxy_hdr *h)
{
	char		 line[PROXY_V1_MAX + 1], *f[6], *p;
	unsigned char	 a[16];
	uint16_t	 sport, dport;
	int		 n = 0, fam;

	if (len < 8 || len > PROXY_V1_MAX || buf[len - 2] != '\r' ||
	    buf[len - 1] != '\n' || memchr(buf, '\0', len) != NULL ||
	    memchr(buf, '\r', len - 2) != NULL)
		return -1;
	memcpy(line, buf, len - 2);
	line[len - 2] = '\0';
	h->version = 1;
	if (strncmp(line, "PROXY UNKNOWN", 13) == 0 &&
	    (line[13] == '\0' || line[13] == ' ')) {
		h->local = 1;
		return 0;
	}
	for (p = line; n < 6; n++) {
		f[n] = p;
		if ((p = strchr(p, ' ')) == NULL)
			break;
		*p++ = '\0';
	}
	if (n != 5)
		return -1;
	if (strcmp(f[1], "TCP4") == 0)
		fam = AF_INET;
	else if (strcmp(f[1], "TCP6") == 0)
		fam = AF_INET6;
	else
		return -1;
	if (inet_pton(fam, f[3], a) != 1 || inet_pton(fam, f[2], a) != 1 ||
	    v1_port(f[4], &sport) == -1 || v1_port(f[5], &dport) == -1)
		return -1;
	if (fam == AF_INET)
		set_src4(h, a, sport);
	else
		set_src6(h, a, sport);
	return 0;
}

/*
 * CRC-32C (Castagnoli; reflected polynomial 0x82f63b78) of len bytes,
 * continuing from crc (0 to start).  Bit by bit: a header is at most a
 * few hundred bytes and comes once per connection.
 */
uint32_t
proxy_crc32c(uint32_t crc, const unsigned char *p, size_t len)
{
	int	k;

	crc = ~crc;
	while (len-- > 0) {
		crc ^= *p++;
		for (k = 0; k < 8; k++)
			crc = crc >> 1 ^ (0x82f63b78U & (0U - (crc & 1)));
	}
	return ~crc;
}

/*
 * Whether the CRC32C TLV whose value is at buf + off matches the header
 * buf[0..len): computed with its own four bytes taken as zeros.
 */
static int
v2_crc_ok(const unsigned char *buf, size_t len, size_t off)
{
	static const unsigned char	zero[4];
	uint32_t			crc, want;

	crc = proxy_crc32c(0, buf, off);
	crc = proxy_crc32c(crc, zero, sizeof(zero));
	crc = proxy_crc32c(crc, buf + off + 4, len - off - 4);
	want = (uint32_t)buf[off] << 24 | (uint32_t)buf[off + 1] << 16 |
	    (uint32_t)buf[off + 2] << 8 | buf[off + 3];
	return crc == want;
}

/*
 * The TLVs of the header buf[0..len) from off on: each must fit exactly,
 * nothing left over, and a CRC32C (at most one) must match.
 */
static int
v2_tlvs_ok(const unsigned char *buf, size_t len, size_t off)
{
	size_t	l;
	int	crcs = 0;

	while (off < len) {
		if (len - off < 3)
			return 0;
		l = (size_t)buf[off + 1] << 8 | buf[off + 2];
		if (l > len - off - 3)
			return 0;
		if (buf[off] == PP2_TYPE_CRC32C && (l != 4 || crcs++ > 0 ||
		    !v2_crc_ok(buf, len, off + 3)))
			return 0;
		off += 3 + l;
	}
	return 1;
}

static int
parse_v2(const unsigned char *buf, size_t len, struct proxy_hdr *h)
{
	size_t			 body, alen;
	const unsigned char	*a = buf + V2HDR;

	if (len < V2HDR || memcmp(buf, v2sig, sizeof(v2sig)) != 0 ||
	    (buf[12] & 0xf0) != 0x20)
		return -1;
	body = (size_t)buf[14] << 8 | buf[15];
	if (body > PROXY_V2_BODY_MAX || len != V2HDR + body)
		return -1;
	h->version = 2;
	switch (buf[12] & 0x0f) {
	case 0:		/* LOCAL: the balancer's own check, no client */
		h->local = 1;
		return 0;
	case 1:		/* PROXY */
		break;
	default:
		return -1;
	}
	switch (buf[13]) {
	case 0x11:	/* TCP over IPv4 */
		alen = 12;
		break;
	case 0x21:	/* TCP over IPv6 */
		alen = 36;
		break;
	case 0x00:	/* UNSPEC: the spec says use the real peer */
		h->local = 1;
		return 0;
	default:	/* UDP, unix sockets: not a POP3 client */
		return -1;
	}
	if (body < alen || !v2_tlvs_ok(buf, len, V2HDR + alen))
		return -1;
	if (alen == 12)
		set_src4(h, a, (uint16_t)(a[8] << 8 | a[9]));
	else
		set_src6(h, a, (uint16_t)(a[32] << 8 | a[33]));
	return 0;
}

int
proxy_parse(const unsigned char *buf, size_t len, struct proxy_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (len >= V1SIGLEN && memcmp(buf, V1SIG, V1SIGLEN) == 0)
		return parse_v1(buf, len, h);
	return parse_v2(buf, len, h);
}

/* Milliseconds left until deadline (CLOCK_MONOTONIC), at least 0. */
static int
ms_left(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return ms < 0 ? 0 : (int)ms;
}

int
proxy_read(int fd, unsigned timeout_s, const char *peer, struct proxy_hdr *h)
{
	unsigned char	buf[V2HDR + PROXY_V2_BODY_MAX];
	struct timespec	deadline;
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	size_t		len = 0;
	ssize_t		n;
	int		want, r;

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += timeout_s;
	while ((want = proxy_want(buf, len)) > 0) {
		r = poll(&pfd, 1, ms_left(&deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			log_warnx("%s: no PROXY header within %u s", peer,
			    timeout_s);
			return -1;
		}
		n = read(fd, buf + len, (size_t)want);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0) {
			log_warnx("%s: closed before its PROXY header", peer);
			return -1;
		}
		len += (size_t)n;
	}
	if (want == -1 || proxy_parse(buf, len, h) == -1) {
		log_warnx("%s: malformed PROXY header, closing", peer);
		return -1;
	}
	return 0;
}
