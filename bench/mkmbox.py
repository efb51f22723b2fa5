#!/usr/bin/env python3
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Deterministic mbox generator for `make bench`.

    mkmbox.py COUNT SIZE OUT [--jitter J] [--seed S]

Writes COUNT messages of about SIZE bytes each (plus or minus J) to OUT as an
MDA appends them (mboxo: From_ line, headers, blank line, body, blank line).
Headers are about 700 bytes, like real mail after a couple of relays; body
lines are 72 columns; about 0.5 % of body lines start with '.' (so RETR must
byte-stuff) and 0.2 % with '>From ' (quoted From_ lines).  The same
arguments always give the same bytes, so every server sees the same mail.
"""

import argparse
import random

WORDS = ("the of and to in is that for it as was with be by on not he this "
         "are or his from at which but have an they you were her she all "
         "there would their we him been has when who will more no if out so "
         "said what up its about into than them can only other new some "
         "could time these two may then do first any my now such like our "
         "over man me even most made after also did many before must through "
         "mailbox server message delivery session protocol octets").split()

POOL_LINES = 100003		# prime, so message slices don't repeat in step


def body_line(rng):
    """One 72-column line of words."""
    words = []
    n = 0
    while n < 72:
        w = rng.choice(WORDS)
        words.append(w)
        n += len(w) + 1
    return " ".join(words)[:72].rstrip().ljust(72, "x")


def make_pool(rng):
    pool = []
    for _ in range(POOL_LINES):
        r = rng.random()
        line = body_line(rng)
        if r < 0.005:
            line = "." + line[1:]
        elif r < 0.007:
            line = ">From " + line[6:]
        pool.append(line.encode() + b"\n")
    return pool


def headers(i, rng):
    """About 700 bytes of plausible relay and MIME headers."""
    user = "user%05d" % rng.randrange(100000)
    day = 1 + i % 28
    h = [
        "Return-Path: <%s@example.org>" % user,
        "Received: from mx%d.example.org (mx%d.example.org [192.0.2.%d])"
        % (i % 7, i % 7, i % 250 + 1),
        "\tby mail.example.net (Postfix) with ESMTPS id 4Xb%08X"
        % rng.randrange(1 << 32),
        "\tfor <alice@example.net>; Mon, %d Jan 2025 10:%02d:%02d +0000"
        % (day, i % 60, (i * 7) % 60),
        "Received: from [198.51.100.%d] (client.example.org)" % (i % 250 + 1),
        "\tby mx%d.example.org with ESMTPSA id %016x; Mon, %d Jan 2025"
        % (i % 7, rng.randrange(1 << 64), day),
        "From: %s <%s@example.org>" % (user.capitalize(), user),
        "To: Alice <alice@example.net>",
        "Subject: Benchmark message %d about the quarterly report" % i,
        "Date: Mon, %d Jan 2025 10:%02d:%02d +0000" % (day, i % 60, i % 60),
        "Message-ID: <%d.%08x@example.org>" % (i, rng.randrange(1 << 32)),
        "MIME-Version: 1.0",
        "Content-Type: text/plain; charset=utf-8; format=flowed",
        "Content-Transfer-Encoding: 8bit",
        "X-Mailer: bench-mkmbox 1.0",
        "X-Spam-Status: No, score=-1.%d required=5.0 tests=BAYES_00" % (i % 10),
    ]
    return ("\n".join(h) + "\n\n").encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("count", type=int)
    ap.add_argument("size", type=int)
    ap.add_argument("out")
    ap.add_argument("--jitter", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1939)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    pool = make_pool(rng)
    pos = 0
    with open(a.out + ".tmp", "wb") as f:
        for i in range(a.count):
            size = a.size + (rng.randint(-a.jitter, a.jitter)
                             if a.jitter else 0)
            fl = b"From user@example.org Mon Jan  6 10:00:00 2025\n"
            hd = headers(i, rng)
            nlines = max(1, (size - len(fl) - len(hd)) // 73)
            if pos + nlines > POOL_LINES:
                pos = rng.randrange(POOL_LINES - nlines)
            f.write(fl + hd + b"".join(pool[pos:pos + nlines]) + b"\n")
            pos += nlines
    import os
    os.rename(a.out + ".tmp", a.out)


if __name__ == "__main__":
    main()
