/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Strict base64 decoding for SASL (RFC 5034 section 4, RFC 4648):
 * any character outside the alphabet, or '=' anywhere but at the end, is an error.
 */
#ifndef POP3D_BASE64_H
#define POP3D_BASE64_H

#include <stddef.h>
#include <sys/types.h>

/* Decode len characters into out.  Returns the decoded length, or -1. */
ssize_t	base64_decode(const char *in, size_t len, unsigned char *out,
	    size_t outlen);

#endif
