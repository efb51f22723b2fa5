#!/usr/bin/env python3
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Side-by-side table of a bench run: table.py RESULTS.tsv

Reads the "server repeat metric value" lines bench/run collects, derives the
per-session and per-message memory figures, and prints a Markdown table of
median [min..max] over the repeats for each server.  "xN" is the server's
median against the best peer's (pop3d is never a peer): N times worse, so
below 1 is better than the best peer.  Then the libraries a session
process maps, by name; each server's share of the machine's ceilings
measured in the same run (RETR, sessions/s with the same crypt, TLS RETR
against its suite's AEAD in mbedTLS); and pop3d's targets against them.
"""

import statistics
import sys

SELF = "pop3d"

# Where a session's private memory is (procmem.py's priv_* metrics).
PRIV = [
    ("total", "all of it"),
    ("heap", "heap"),
    ("stack", "stack"),
    ("anon", "other anonymous (mmap'd malloc, .bss, TLS blocks)"),
    ("data", "written data of the binary and libraries"),
    ("text", "code no other process maps"),
    ("other", "other"),
]

# (label, metric, direction): +1 higher is better, -1 lower is better,
# 0 a check or a count (no ratio).
ROWS = [
    ("sessions/s, 4 clients (USER/PASS/STAT/QUIT)", "sessions_per_s", 1),
    ("session latency p50 ms", "session_p50_ms", -1),
    ("session latency p99 ms", "session_p99_ms", -1),
    ("session errors", "session_errors", 0),
    ("RETR MB/s (100 KB messages)", "retr_mb_per_s", 1),
    ("RETR msgs/s", "retr_msgs_per_s", 1),
    ("RETR size mismatches (octets - stuffing != LIST)",
     "retr_size_mismatches", 0),
    ("TLS sessions/s, 4 clients, full handshakes", "tls_sessions_per_s", 1),
    ("TLS session latency p50 ms", "tls_session_p50_ms", -1),
    ("TLS session latency p99 ms", "tls_session_p99_ms", -1),
    ("TLS session errors", "tls_session_errors", 0),
    ("TLS handshakes resumed without -r (must be 0)", "tls_tls_resumed", 0),
    ("TLS sessions/s, 4 clients, resumed (-r)", "tlsres_sessions_per_s", 1),
    ("TLS resumed: p50 ms", "tlsres_session_p50_ms", -1),
    ("TLS resumed: % of handshakes that resumed", "tlsres_resumed_pct", 0),
    ("TLS resumed: session errors", "tlsres_session_errors", 0),
    ("TLS RETR MB/s (100 KB messages)", "tls_retr_mb_per_s", 1),
    ("TLS RETR / plain RETR", "tls_retr_vs_plain", 0),
    ("TLS RETR size mismatches", "tls_retr_size_mismatches", 0),
]
for t in ("cold", "warm"):
    ROWS += [
        ("open big %s: PASS->+OK ms" % t, "%s_open_pass_ms" % t, -1),
        ("open big %s: STAT ms" % t, "%s_open_stat_ms" % t, -1),
        ("open big %s: PASS+STAT ms" % t, "%s_open_passstat_ms" % t, -1),
        ("open big %s: LIST ms" % t, "%s_open_list_ms" % t, -1),
        ("open big %s: UIDL ms" % t, "%s_open_uidl_ms" % t, -1),
        ("open big %s: QUIT ms (no DELE)" % t, "%s_open_quit_ms" % t, -1),
        ("open big %s: mailbox changed by a read-only session (0/1)" % t,
         "open_%s_modified" % t, 0),
        ("open big %s: anon memory delta kB (Pss_Anon)" % t,
         "%s_anon_delta_kb" % t, -1),
        ("open big %s: anon bytes per message (delta minus an idle session)"
         % t,
         "%s_anon_bytes_per_msg" % t, -1),
    ]
ROWS += [
    ("open big: messages (STAT)", "cold_open_messages", 0),
    ("open big: octets (STAT)", "cold_open_octets", 0),
    ("update: DELE every 2nd, pipelined, ms", "update_dele_ms", -1),
    ("update: QUIT->+OK ms", "update_quit_ok_ms", -1),
    ("update: QUIT->close ms", "update_quit_close_ms", -1),
    ("update: QUIT->+OK / machine floor", "update_vs_floor", -1),
    ("update: messages left", "update_messages_left", 0),
    ("update: messages expected", "update_expected_left", 0),
    ("update: DELE or QUIT errors", "update_errors", 0),
    ("idle: Pss per session kB", "idle_pss_per_session_kb", -1),
    ("idle: Pss_Anon per session kB", "idle_anon_per_session_kb", -1),
    ("idle: baseline Pss kB (0 sessions)", "idle0_pss_kb", -1),
    ("idle: baseline private kB (0 sessions)", "idle0_priv_kb", -1),
    ("idle: processes per session", "idle_procs_per_session", 0),
] + [
    ("idle: private kB per session, %s" % label,
     "idle_priv_%s_per_session_kb" % kind, -1) for kind, label in PRIV
] + [
    ("idle: sessions held", "idle_sessions", 0),
    ("idle: shared libraries mapped by a session process (besides ld.so)",
     "idleK_session_libs", -1),
    ("TLS idle: Pss per session kB", "tls_idle_pss_per_session_kb", -1),
    ("TLS idle: Pss_Anon per session kB",
     "tls_idle_anon_per_session_kb", -1),
    ("TLS idle: extra Pss per session over plain kB", "tls_extra_pss_kb", -1),
    ("TLS idle: baseline Pss kB (0 sessions)", "tls_idle0_pss_kb", -1),
    ("TLS idle: baseline private kB (0 sessions)", "tls_idle0_priv_kb", -1),
    ("TLS idle: processes per session", "tls_idle_procs_per_session", 0),
] + [
    ("TLS idle: private kB per session, %s" % label,
     "tls_idle_priv_%s_per_session_kb" % kind, -1) for kind, label in PRIV
] + [
    ("TLS idle: sessions held", "tls_idle_sessions", 0),
    ("TLS idle: shared libraries mapped by a session process (besides ld.so)",
     "tls_idleK_session_libs", -1),
    ("binary size, stripped, bytes", "bin_stripped_bytes", -1),
]

# What bench/run measures beside the servers, as server "ceiling": the
# RETR responder (bench/wire.c), the fork-per-connection server with the
# same crypt (bench/sessceil.c) and mbedTLS's AEADs on one core
# (bench/cipherspeed.c).
CEILING = "ceiling"

# The cipher-speed metric of a negotiated suite's AEAD (loadgen's
# tls_tls_suite names the suite).
AEADS = (("CHACHA20-POLY1305", "cipher_chachapoly_mb_per_s"),
         ("AES-128-GCM", "cipher_aes128gcm_mb_per_s"),
         ("AES-256-GCM", "cipher_aes256gcm_mb_per_s"))

# The targets against the machine's ceilings: (label, share, wanted).
TARGETS = (("sessions/s against the same-crypt ceiling", "sessions_share",
            0.85),
           ("TLS RETR against the negotiated cipher's speed",
            "tls_retr_cipher_share", 0.8))


def load(path):
    """The numbers, data[server][repeat][metric], and the words (suites,
    library lists), words[server][metric] = the values of the repeats."""
    data, words = {}, {}
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if len(f) != 4:
            continue
        s, r, m = f[0], f[1], f[2]
        try:
            data.setdefault(s, {}).setdefault(r, {})[m] = float(f[3])
        except ValueError:
            words.setdefault(s, {}).setdefault(m, []).append(f[3])
    return data, words


def per_session(m, mode, n):
    """The private memory an idle session adds, by kind (PRIV)."""
    base = ["%s0_priv_%s_kb" % (mode, kind) for kind, _ in PRIV[1:]]
    if all(k in m for k in base):
        m["%s0_priv_kb" % mode] = sum(m[k] for k in base)
    total = 0
    for kind, _ in PRIV[1:]:
        k, z = "%sK_priv_%s_kb" % (mode, kind), "%s0_priv_%s_kb" % (mode, kind)
        if k not in m or z not in m:
            return
        m["%s_priv_%s_per_session_kb" % (mode, kind)] = (m[k] - m[z]) / n
        total += m[k] - m[z]
    m["%s_priv_total_per_session_kb" % mode] = total / n


def derive(data):
    floor = [r["update_floor_ms"] for r in data.get("floor", {}).values()
             if "update_floor_ms" in r]
    floor_ms = statistics.median(floor) if floor else None
    for s, reps in data.items():
        for m in reps.values():
            n = m.get("idle_sessions")
            if n and "idleK_pss_kb" in m and "idle0_pss_kb" in m:
                m["idle_pss_per_session_kb"] = \
                    (m["idleK_pss_kb"] - m["idle0_pss_kb"]) / n
                m["idle_anon_per_session_kb"] = \
                    (m["idleK_pss_anon_kb"] - m["idle0_pss_anon_kb"]) / n
                m["idle_procs_per_session"] = \
                    (m["idleK_procs"] - m["idle0_procs"]) / n
                per_session(m, "idle", n)
            for t in ("cold", "warm"):
                k, z = "open%sK_pss_anon_kb" % t, "open%s0_pss_anon_kb" % t
                if k in m and z in m:
                    d = m[k] - m[z]
                    m["%s_anon_delta_kb" % t] = d
                    msgs = m.get("%s_open_messages" % t)
                    idle = m.get("idle_anon_per_session_kb")
                    if msgs and idle is not None:
                        m["%s_anon_bytes_per_msg" % t] = \
                            (d - idle) * 1024 / msgs
            n = m.get("tls_idle_sessions")
            if n and "tls_idleK_pss_kb" in m and "tls_idle0_pss_kb" in m:
                m["tls_idle_pss_per_session_kb"] = \
                    (m["tls_idleK_pss_kb"] - m["tls_idle0_pss_kb"]) / n
                m["tls_idle_anon_per_session_kb"] = \
                    (m["tls_idleK_pss_anon_kb"] -
                     m["tls_idle0_pss_anon_kb"]) / n
                m["tls_idle_procs_per_session"] = \
                    (m["tls_idleK_procs"] - m["tls_idle0_procs"]) / n
                per_session(m, "tls_idle", n)
                if "idle_pss_per_session_kb" in m:
                    m["tls_extra_pss_kb"] = \
                        m["tls_idle_pss_per_session_kb"] - \
                        m["idle_pss_per_session_kb"]
            if m.get("tls_retr_mb_per_s") and m.get("retr_mb_per_s"):
                m["tls_retr_vs_plain"] = \
                    m["tls_retr_mb_per_s"] / m["retr_mb_per_s"]
            if m.get("tlsres_tls_handshakes"):
                m["tlsres_resumed_pct"] = 100 * m["tlsres_tls_resumed"] / \
                    m["tlsres_tls_handshakes"]
            if floor_ms and "update_quit_ok_ms" in m:
                m["update_vs_floor"] = m["update_quit_ok_ms"] / floor_ms
            if "update_dele_errors" in m:
                m["update_errors"] = m["update_dele_errors"] + \
                    m.get("update_quit_errors", 0)
    return floor


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.3g" % v


def medians(reps):
    keys = set(k for r in reps.values() for k in r)
    return {k: statistics.median([r[k] for r in reps.values() if k in r])
            for k in keys}


def most_common(vals):
    return max(set(vals), key=vals.count) if vals else None


def aead_of(suite):
    """The cipherspeed metric of suite's AEAD, or None."""
    for name, metric in AEADS:
        if suite and name in suite:
            return metric
    return None


def share(data, s, key, top):
    """Server s's median of key over top, or None."""
    mine = [r[key] for r in data.get(s, {}).values() if key in r]
    if not mine or not top:
        return None
    return statistics.median(mine) / top


def ceiling_median(data, key):
    v = [r[key] for r in data.get(CEILING, {}).values() if key in r]
    return (statistics.median(v), min(v), max(v)) if v else None


def ceilings(data, words, servers):
    """Each server against what the machine allows in the same run: RETR
    against bench/wire.c, sessions/s against bench/sessceil.c, TLS RETR
    against its suite's AEAD in mbedTLS on one core; then the targets."""
    shares = {}
    print()
    print("| ceiling on this machine, this run | median [min..max] | " +
          " | ".join("%s's share" % s for s in servers) + " |")
    print("|---" * (len(servers) + 2) + "|")
    for label, key, mine in (
            ("RETR MB/s, canned replies from memory (bench/wire.c)",
             "retr_mb_per_s", "retr_mb_per_s"),
            ("sessions/s, fork per connection, same crypt, no privilege "
             "separation (bench/sessceil.c)", "sessions_per_s",
             "sessions_per_s")):
        m = ceiling_median(data, key)
        if m is None:
            continue
        cells = []
        for s in servers:
            x = share(data, s, mine, m[0])
            cells.append("n/a" if x is None else "%.2f" % x)
            if key == "sessions_per_s" and x is not None:
                shares.setdefault(s, {})["sessions_share"] = x
        print("| %s | %s [%s..%s] | %s |" % (label, fmt(m[0]), fmt(m[1]),
                                             fmt(m[2]), " | ".join(cells)))
    for name, metric in AEADS:
        m = ceiling_median(data, metric)
        if m is None:
            continue
        cells = []
        for s in servers:
            suite = most_common(words.get(s, {}).get("tls_tls_suite", []))
            x = share(data, s, "tls_retr_mb_per_s", m[0]) \
                if aead_of(suite) == metric else None
            cells.append("n/a" if x is None else "%.2f (TLS RETR)" % x)
            if x is not None:
                shares.setdefault(s, {})["tls_retr_cipher_share"] = x
        print("| %s MB/s, mbedTLS on one core, 16 KB records "
              "(bench/cipherspeed.c) | %s [%s..%s] | %s |" % (
                  name, fmt(m[0]), fmt(m[1]), fmt(m[2]), " | ".join(cells)))
    mine = shares.get(SELF, {})
    if not mine:
        return
    print()
    print("| target (pop3d, medians) | share | met? |")
    print("|---|---|---|")
    for label, key, want in TARGETS:
        if key in mine:
            print("| %s >= %.2f | %.2f | %s |" % (
                label, want, mine[key], "yes" if mine[key] >= want
                else "**no**"))


def libraries(words, servers):
    """The libraries a session process maps, by name (procmem.py)."""
    lines = []
    for s in servers:
        for mode, key in (("plain", "idleK_session_lib_names"),
                          ("TLS", "tls_idleK_session_lib_names")):
            names = most_common(words.get(s, {}).get(key, []))
            if names:
                nss = [n for n in names.split(",") if n.startswith("libnss_")]
                lines.append("- %s, idle %s session: %s%s" % (
                    s, mode, names.replace(",", ", "),
                    " (**name-service modules: %s**)" % ", ".join(nss)
                    if nss else ""))
    if lines:
        print()
        print("Libraries a session process maps (besides ld.so; the union "
              "over the sessions held):")
        print("\n".join(lines))


def main():
    data, words = load(sys.argv[1])
    floor = derive(data)
    servers = [s for s in ("pop3d", "dovecot", "popa3d") if s in data]
    servers += sorted(s for s in data
                      if s not in servers and s not in ("floor", CEILING))
    print("| metric | " + " | ".join(servers) + " |")
    print("|---" * (len(servers) + 1) + "|")
    for label, key, d in ROWS:
        med = {}
        cells = {}
        for s in servers:
            vals = [r[key] for r in data[s].values() if key in r]
            if not vals:
                cells[s] = "n/a"
                continue
            med[s] = statistics.median(vals)
            cells[s] = fmt(med[s])
            if len(vals) > 1:
                cells[s] += " [%s..%s]" % (fmt(min(vals)), fmt(max(vals)))
        peers = [med[s] for s in med if s != SELF]
        if d != 0 and peers:
            best = max(peers) if d > 0 else min(peers)
            for s in med:
                if best > 0 and med[s] > 0:
                    x = best / med[s] if d > 0 else med[s] / best
                    cells[s] += " x%.2f" % x
        if all(c == "n/a" for c in cells.values()):
            continue
        print("| %s%s | " % (label, " (higher better)" if d > 0 else "") +
              " | ".join(cells[s] for s in servers) + " |")
    libraries(words, servers)
    ceilings(data, words, servers)
    if floor:
        print()
        print("Machine floor for the update (write the surviving half of the "
              "big mailbox in place from the page cache, fdatasync, cut the "
              "file to that half, fsync): "
              "median %s ms [%s..%s]" % (fmt(statistics.median(floor)),
                                         fmt(min(floor)), fmt(max(floor))))
        for part, what in (("update_floor_write_ms", "the write"),
                           ("update_floor_cut_ms", "the cut")):
            v = [r[part] for r in data.get("floor", {}).values() if part in r]
            if v:
                print("  of which %s: median %s ms [%s..%s]" % (
                    what, fmt(statistics.median(v)), fmt(min(v)),
                    fmt(max(v))))


if __name__ == "__main__":
    main()
