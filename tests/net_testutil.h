/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * For unit tests that need socket addresses (include after cmocka.h).
 */
#ifndef POP3D_NET_TESTUTIL_H
#define POP3D_NET_TESTUTIL_H

#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <string.h>

/* The IPv4 or IPv6 address written as text, in ss. */
static struct sockaddr *
addr(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1)
		ss->ss_family = AF_INET;
	else {
		assert_int_equal(inet_pton(AF_INET6, text, &sin6->sin6_addr),
		    1);
		ss->ss_family = AF_INET6;
	}
	return (struct sockaddr *)ss;
}

#endif
