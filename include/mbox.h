/*
 * Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
 * (the licence's text is in LICENSE).
 */
/*
 * The mbox maildrop: one streaming scan builds an index (offsets, sizes,
 * UIDs); messages are streamed from the file; locks are held only while
 * scanning and updating, plus a session lock for [IN-USE].
 */
#ifndef POP3D_MBOX_H
#define POP3D_MBOX_H

#include <stdint.h>

#include "conf.h"
#include "maildrop.h"

struct mbox;

extern const struct maildrop_ops mbox_ops;

/*
 * Open, lock and scan the mbox at path.  A missing or empty file is an
 * empty maildrop.  Returns an enum md_status; on MD_OK *out is the
 * maildrop to use with mbox_ops.  Failures are logged with the reason.
 */
int	mbox_open(const char *path, const struct conf *, struct mbox **out);

/*
 * Finish an UPDATE of the mbox at path that a crash interrupted, if it
 * has a journal, under the delivery locks, without reading the mail.
 * Returns an enum md_status (MD_OK also when there is no mailbox).
 */
int	mbox_recover(const char *path, const struct conf *);

#endif
