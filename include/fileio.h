/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Whole-buffer file I/O: loops over short transfers and EINTR, so the
 * mailbox, journal, index cache and UID files each need no loop of their
 * own.
 */
#ifndef POP3D_FILEIO_H
#define POP3D_FILEIO_H

#include <stddef.h>
#include <stdint.h>

/*
 * Write, or read at offset off, exactly len bytes.  Return 0, or -1 with
 * errno set (EIO when the file ended or the write made no progress).
 */
int	fd_write_all(int fd, const void *buf, size_t len);
int	fd_pread_all(int fd, void *buf, size_t len, uint64_t off);
int	fd_pwrite_all(int fd, const void *buf, size_t len, uint64_t off);

/*
 * Replace the file path with len bytes at buf, durably and atomically:
 * write them to a new file of our own beside it (spool_tmpfile), fsync
 * it, rename it over path and fsync the directory.  Returns 0, or -1
 * with errno set and the new file removed; *what names the step that
 * failed, for the log.
 */
int	fd_replace(const char *path, const void *buf, size_t len,
	    const char **what);

#endif
