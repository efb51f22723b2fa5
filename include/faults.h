/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * Fault injection for the crash tests: journal.c's write boundaries call
 * these hooks, which crash, fail or record there on the tests' orders.
 * Only the crash tests' objects (built with -DPOP3D_FAULTS in
 * build/faults/, linked with tests/faults.c) have them; in the daemon
 * they compile to nothing.
 */
#ifndef POP3D_FAULTS_H
#define POP3D_FAULTS_H

#include <stdint.h>

#ifdef POP3D_FAULTS
/*
 * The write boundary called what is reached.  Following
 * POP3D_FAULT_AT=N (exit 99 there), POP3D_FAULT_EIO=N or
 * POP3D_FAULT_ENOSPC=N (fail there), or POP3D_FAULT_APPEND=N (append
 * POP3D_FAULT_APPEND_DATA to POP3D_FAULT_APPEND_PATH there, as an MDA
 * that takes no lock would), counting boundaries from 1 in this
 * process.  Returns 0 to go on, -1 with errno set to fail the operation,
 * or 1 when POP3D_FAULT_TORN is also set and the caller is to write only
 * part of its bytes and then crash (FAULT_CRASH), a torn write.
 */
int	fault_point(const char *what);

/*
 * With POP3D_POWERLOG=FILE set, write to FILE what a power cut at this
 * instant could still undo (every page written or cut since its file's
 * last sync, with the bytes it had then, and the journal's creations and
 * unlinks since the directory's last fsync; see tests/faults.c).  Called at
 * every crash point; a test calls it to cut the power after a run that
 * completed.
 */
void	fault_power_dump(void);

/*
 * The power-loss records' hooks: bytes [off, off + len) of fd are about
 * to be written; fd is about to be cut to size; fd was synced; fd was
 * created as path; path is about to be unlinked.  And the crash itself
 * (the records written, then _exit(99)).
 */
void	power_touch(int fd, uint64_t off, uint64_t len);
void	power_truncate(int fd, uint64_t size);
void	power_synced(int fd);
void	power_created(int fd, const char *path);
void	power_unlink(const char *path);
void	fault_crash(void) __attribute__((noreturn));

#define FAULT(what)			fault_point(what)
#define POWER_TOUCH(fd, off, len)	power_touch(fd, off, len)
#define POWER_TRUNCATE(fd, size)	power_truncate(fd, size)
#define POWER_SYNCED(fd)		power_synced(fd)
#define POWER_CREATED(fd, path)		power_created(fd, path)
#define POWER_UNLINK(path)		power_unlink(path)
#define FAULT_CRASH()			fault_crash()
#else
#define FAULT(what)			0
#define POWER_TOUCH(fd, off, len)	((void)0)
#define POWER_TRUNCATE(fd, size)	((void)0)
#define POWER_SYNCED(fd)		((void)0)
#define POWER_CREATED(fd, path)		((void)0)
#define POWER_UNLINK(path)		((void)0)
#define FAULT_CRASH()			_exit(99)
#endif

#endif
