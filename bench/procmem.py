#!/usr/bin/env python3
"""Memory of a server's process tree, for `make bench`.

    procmem.py PREFIX ROOTPID [ROOTPID ...]

Prints METRIC lines PREFIX_pss_kb, PREFIX_pss_anon_kb and PREFIX_procs: the
sums of Pss and Pss_Anon (from /proc/PID/smaps_rollup) over every process
descended from the given root pids, the roots included, and their count.
"""

import os
import sys


def children():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(roots):
    kids = children()
    seen = set()
    todo = list(roots)
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        todo.extend(kids.get(p, []))
    return seen


def rollup(pid):
    vals = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                parts = line.split()
                if len(parts) >= 2 and parts[0].endswith(":"):
                    vals[parts[0][:-1]] = int(parts[1])
    except (OSError, ValueError):
        return None
    return vals


def main():
    prefix = sys.argv[1]
    pss = anon = n = 0
    for pid in tree(int(p) for p in sys.argv[2:]):
        v = rollup(pid)
        if v is None or "Pss" not in v:
            continue	# a kernel thread or a process that just ended
        pss += v["Pss"]
        anon += v.get("Pss_Anon", 0)
        n += 1
    print("METRIC %s_pss_kb %d" % (prefix, pss))
    print("METRIC %s_pss_anon_kb %d" % (prefix, anon))
    print("METRIC %s_procs %d" % (prefix, n))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
