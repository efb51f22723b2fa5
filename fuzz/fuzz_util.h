/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * What the fuzz targets share: a failed invariant aborts (libFuzzer then
 * saves the input), a small deterministic PRNG seeded from the input, and
 * temporary files on tmpfs for the parsers that read files.
 */
#ifndef POP3D_FUZZ_UTIL_H
#define POP3D_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>

/* The libFuzzer entry point each target defines: returns 0. */
int	LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with the message when cond is false: the fuzzer records a crash. */
#define FUZZ_ASSERT(cond, msg) do {					\
	if (!(cond))							\
		fuzz_fail(__FILE__, __LINE__, (msg));			\
} while (0)

/* Print "file:line: msg" to the real stderr and abort(). */
void	fuzz_fail(const char *file, int line, const char *msg)
	    __attribute__((noreturn));

/*
 * Check POP's wire form of a message (RETR or TOP as sent): CRLF lines,
 * the last one ended, and with stuff every line starting with '.'
 * stuffed.  Returns the size before stuffing.
 */
uint64_t	fuzz_check_wire(const char *p, size_t len, int stuff);

/* The next number of a xorshift32 sequence; *state must not stay 0. */
uint32_t	fuzz_rand(uint32_t *state);

/*
 * Send pop3d's log lines (stdio stderr) to /dev/null unless FUZZ_VERBOSE
 * is set: the sanitizers and libFuzzer write to descriptor 2 directly and
 * are not affected.  Idempotent.
 */
void	fuzz_quiet(void);

/*
 * Write len bytes to the file name in this process's scratch directory
 * (under /dev/shm when it exists, for speed) and put its path in path
 * (PATH_MAX bytes).  Returns 0 or -1.
 */
int	fuzz_tmpfile(const char *name, const void *data, size_t len,
	    char *path);

/* Remove every file in the scratch directory (lock files, journals). */
void	fuzz_tmpclean(void);

#endif
