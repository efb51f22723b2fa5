/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The PROXY protocol (HAProxy's, versions 1 and 2): a load balancer in
 * front of pop3d prefixes each connection with the real client's address.
 * Only connections from proxy_trusted networks may carry one.
 */
#ifndef POP3D_PROXY_H
#define POP3D_PROXY_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

#include "params.h"

/* One proxy_trusted network: an address and a prefix length. */
struct proxy_net {
	int		family;		/* AF_INET or AF_INET6 */
	unsigned char	addr[16];	/* network bytes, host bits zero */
	unsigned	prefix;		/* 0..32 or 0..128 */
};

/* What a PROXY header said. */
struct proxy_hdr {
	int			version;	/* 1 or 2 */
	int			local;		/* no address: keep the real peer */
	struct sockaddr_storage	src;		/* the client (unless local) */
	socklen_t		srclen;
};

/*
 * Parse a CIDR network ("192.0.2.0/24", "2001:db8::/32", or a bare
 * address for a single host).  Returns 0, or -1 when s is not one.
 */
int	proxy_net_parse(const char *s, struct proxy_net *net);

/*
 * Whether sa (an IPv4, IPv6 or IPv4-mapped IPv6 address) lies in one of
 * the n networks.  Returns 1 or 0.
 */
int	proxy_trusted(const struct proxy_net *nets, int n,
	    const struct sockaddr *sa);

/*
 * How many more bytes buf (len bytes read so far from the start of the
 * connection) needs before proxy_parse can decide, never reading past the
 * header.  Returns that count (>= 1), 0 when the header is complete, or -1
 * when buf can't be the start of a PROXY header.
 */
int	proxy_want(const unsigned char *buf, size_t len);

/*
 * Parse a complete PROXY v1 or v2 header of exactly len bytes into h.
 * Returns 0, or -1 when it is malformed.
 */
int	proxy_parse(const unsigned char *buf, size_t len,
	    struct proxy_hdr *h);

/* CRC-32C of len bytes at p, continuing from crc (0 to start). */
uint32_t proxy_crc32c(uint32_t crc, const unsigned char *p, size_t len);

/*
 * Whether buf (bytes a client sent first) starts like a PROXY header, so
 * one from an untrusted address can be refused.  Returns 1 or 0.
 */
int	proxy_looks_like(const unsigned char *buf, size_t len);

/*
 * Read a PROXY header from fd, byte-exact (the POP3 or TLS bytes behind it
 * stay unread), within timeout_s seconds.  Returns 0 with h filled in, or
 * -1 when the connection must be closed (malformed, timeout, EOF; logged
 * with peer).
 */
int	proxy_read(int fd, unsigned timeout_s, const char *peer,
	    struct proxy_hdr *h);

#endif
