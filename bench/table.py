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
    ("idle: processes per session", "idle_procs_per_session", 0),
    ("idle: sessions held", "idle_sessions", 0),
]


def load(path):
    data = {}
    for line in open(path):
        f = line.split("\t")
        if len(f) != 4:
            continue
        s, r, m, v = f[0], f[1], f[2], float(f[3])
        data.setdefault(s, {}).setdefault(r, {})[m] = v
    return data


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


def main():
    data = load(sys.argv[1])
    floor = derive(data)
    servers = [s for s in ("pop3d", "dovecot", "popa3d") if s in data]
    servers += sorted(s for s in data if s not in servers and s != "floor")
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
    if floor:
        print()
        print("Machine floor for the update (write the surviving half of the "
              "big mailbox from the page cache, plus fdatasync): "
              "median %s ms [%s..%s]" % (fmt(statistics.median(floor)),
                                         fmt(min(floor)), fmt(max(floor))))


if __name__ == "__main__":
    main()
