#!/usr/bin/env python3
"""Side-by-side table of a bench run: table.py RESULTS.tsv

Reads the "server repeat metric value" lines bench/run collects, derives the
per-session and per-message memory figures, and prints a Markdown table of
median [min..max] over the repeats for each server.  "xN" is the server's
median against the best peer's (pop3d is never a peer): N times worse, so
below 1 is better than the best peer.
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

# The footprint and session-rate goals: (label, test on the
# medians of pop3d and the best peer); a test returns (met, evidence).
GOALS = []


def goal(label):
    def add(f):
        GOALS.append((label, f))
        return f
    return add


@goal("sessions/s plain >= 2x the best peer")
def g_rate(me, best):
    a, b = me.get("sessions_per_s"), best.get("sessions_per_s")
    if a is None or b is None:
        return None
    return a >= 2 * b, "%s vs %s: %.2fx" % (fmt(a), fmt(b), a / b)


@goal("sessions/s over implicit TLS >= 4x the best peer")
def g_tls_rate(me, best):
    a, b = me.get("tls_sessions_per_s"), best.get("tls_sessions_per_s")
    if a is None or b is None:
        return None
    return a >= 4 * b, "%s vs %s: %.2fx" % (fmt(a), fmt(b), a / b)


@goal("Pss per idle plain session <= 150 kB")
def g_pss(me, best):
    a = me.get("idle_pss_per_session_kb")
    return None if a is None else (a <= 150, "%s kB" % fmt(a))


@goal("Pss per idle TLS session the least of the servers")
def g_tls_pss(me, best):
    a, b = me.get("tls_idle_pss_per_session_kb"), \
        best.get("tls_idle_pss_per_session_kb")
    if a is None or b is None:
        return None
    return a < b, "%s vs %s kB" % (fmt(a), fmt(b))


@goal("stripped binary < 150 kB")
def g_bin(me, best):
    a = me.get("bin_stripped_bytes")
    return None if a is None else (a < 150 * 1024, "%.1f kB (KiB)" % (a / 1024))


@goal("<= 5 shared libraries mapped by a session process")
def g_libs(me, best):
    a = [me.get(k) for k in ("idleK_session_libs", "tls_idleK_session_libs")]
    a = [v for v in a if v is not None]
    if not a:
        return None
    return max(a) <= 5, "%d (mapped *.so files besides ld-linux)" % max(a)


def load(path):
    data = {}
    for line in open(path):
        f = line.split("\t")
        if len(f) != 4:
            continue
        s, r, m, v = f[0], f[1], f[2], float(f[3])
        data.setdefault(s, {}).setdefault(r, {})[m] = v
    return data


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


def goals(data, servers):
    """Issue 5's goals: pop3d's medians against the best peer's."""
    if SELF not in data:
        return
    me = medians(data[SELF])
    peers = [medians(data[s]) for s in servers if s != SELF]
    best = {}
    for label, key, d in ROWS:
        vals = [p[key] for p in peers if key in p]
        if vals and d != 0:
            best[key] = max(vals) if d > 0 else min(vals)
    print()
    print("| goal (medians) | pop3d | met? |")
    print("|---|---|---|")
    for label, f in GOALS:
        r = f(me, best)
        if r is not None:
            print("| %s | %s | %s |" % (label, r[1],
                                        "yes" if r[0] else "**no**"))


def ceiling(data, servers):
    """RETR against bench/wire.c, and each server's share of it."""
    v = [r["retr_mb_per_s"] for r in data.get("ceiling", {}).values()
         if "retr_mb_per_s" in r]
    if not v:
        return
    top = statistics.median(v)
    shares = []
    for s in servers:
        mine = [r["retr_mb_per_s"] for r in data[s].values()
                if "retr_mb_per_s" in r]
        if mine and top > 0:
            shares.append("%s %.0f%%" % (s, 100 * statistics.median(mine) /
                                         top))
    print()
    print("RETR ceiling (bench/wire.c: canned replies of the same size from "
          "memory, no mailbox): median %s MB/s [%s..%s]%s" % (
              fmt(top), fmt(min(v)), fmt(max(v)),
              "; share of it: " + ", ".join(shares) if shares else ""))


def main():
    data = load(sys.argv[1])
    floor = derive(data)
    servers = [s for s in ("pop3d", "dovecot", "popa3d") if s in data]
    servers += sorted(s for s in data
                      if s not in servers and s not in ("floor", "ceiling"))
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
    goals(data, servers)
    ceiling(data, servers)
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
