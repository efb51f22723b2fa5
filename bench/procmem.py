#!/usr/bin/env python3
# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Memory of a server's process tree, for `make bench`.

    procmem.py PREFIX ROOTPID [ROOTPID ...]

Prints METRIC lines PREFIX_pss_kb, PREFIX_pss_anon_kb and PREFIX_procs: the
sums of Pss and Pss_Anon (from /proc/PID/smaps_rollup) over every process
descended from the given root pids, the roots included, and their count.

It also prints where the processes' private memory (pages mapped by one
process only: Private_Clean + Private_Dirty from /proc/PID/smaps) is, summed
over the same processes: PREFIX_priv_heap_kb ([heap]), PREFIX_priv_stack_kb
([stack]), PREFIX_priv_anon_kb (other anonymous mappings: malloc's mmaps,
.bss past the file, thread-local storage), PREFIX_priv_data_kb (written
pages of the binary and the libraries: .data, .got, relocated relro),
PREFIX_priv_text_kb (their unwritten pages no other process maps: code
and constants) and PREFIX_priv_other_kb (the rest).  A page that a forked
child and its parent still share counts for neither.

With sessions open it also prints PREFIX_session_libs: the most shared
libraries (distinct mapped *.so files, not counting the dynamic loader
ld-linux*.so, which every dynamic program maps) mapped by one session
process, and PREFIX_session_lib_names: the file names of the libraries
any session process maps, sorted and joined by commas (a name-service
module such as libnss_systemd.so.2 shows here).  Session processes are
told from the server's other helpers (Dovecot's auth, log, config...) by
number: they are the processes, roots excluded, whose command name at
least MIN_SAME others share.

    procmem.py --maps PID

prints one process's memory by mapping instead, for finding where an
idle daemon's memory is: a line per mapping with its kB of Rss, Pss,
Private_Clean, Private_Dirty and Anonymous (from /proc/PID/smaps), named
by its file (or [heap], [stack], [anon]) and permissions, then the sums.
"""

import collections
import os
import re
import sys

MIN_SAME = 10
KINDS = ("heap", "stack", "anon", "data", "text", "other")
SO = re.compile(r"/[^/]*\.so(\.[0-9.]+)?$")


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


def private(pid):
    """Private kB of one process by kind of mapping, or None."""
    kinds = collections.Counter()
    kind = None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                parts = line.split()
                if not parts[0].endswith(":"):
                    kind = kind_of(parts[5] if len(parts) > 5 else "")
                elif parts[0] == "Private_Dirty:":
                    kinds[kind] += int(parts[1])
                elif parts[0] == "Private_Clean:":
                    kinds["text" if kind == "data" else kind] += \
                        int(parts[1])
    except (OSError, ValueError, IndexError):
        return None
    return kinds


def kind_of(name):
    if name in ("[heap]", "[stack]"):
        return name[1:-1]
    if name == "":
        return "anon"
    if name.startswith("/") and not name.startswith("/dev/"):
        return "data"
    return "other"


def comm(pid):
    try:
        with open("/proc/%d/comm" % pid) as f:
            return f.read().strip()
    except OSError:
        return None


def libs(pid):
    """The shared libraries pid maps but ld.so, by path, or None."""
    found = set()
    try:
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                parts = line.split(None, 5)
                path = parts[5].strip() if len(parts) == 6 else ""
                if SO.search(path) and \
                        not os.path.basename(path).startswith("ld-linux"):
                    found.add(path)
    except OSError:
        return None
    return found


def session_libs(pids, roots):
    """The most libraries one session process maps, and the names of
    those any maps; (None, None) without sessions."""
    names = {p: comm(p) for p in pids if p not in roots}
    count = collections.Counter(n for n in names.values() if n)
    each = [libs(p) for p, n in names.items() if n and count[n] >= MIN_SAME]
    each = [m for m in each if m is not None]
    if not each:
        return None, None
    return max(len(m) for m in each), \
        sorted({os.path.basename(path) for m in each for path in m})


MAP_FIELDS = ("Rss", "Pss", "Private_Clean", "Private_Dirty", "Anonymous")


def maps(pid):
    """The --maps table of one process."""
    rows = []
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):
                name = parts[5] if len(parts) > 5 else "[anon]"
                rows.append([os.path.basename(name), parts[1]] +
                            [0] * len(MAP_FIELDS))
            elif parts[0][:-1] in MAP_FIELDS:
                rows[-1][2 + MAP_FIELDS.index(parts[0][:-1])] += \
                    int(parts[1])
    fmt = "%-28s %-4s" + " %7s" * len(MAP_FIELDS)
    print(fmt % (("mapping", "perm") + MAP_FIELDS))
    for r in rows:
        if r[2] > 0:
            print(fmt % (r[0][:28], r[1], *r[2:]))
    print(fmt % ("total", "", *[sum(r[2 + i] for r in rows)
                               for i in range(len(MAP_FIELDS))]))


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--maps":
        maps(int(sys.argv[2]))
        return
    prefix = sys.argv[1]
    roots = set(int(p) for p in sys.argv[2:])
    pss = anon = n = 0
    priv = collections.Counter()
    pids = tree(roots)
    for pid in pids:
        v = rollup(pid)
        if v is None or "Pss" not in v:
            continue	# a kernel thread or a process that just ended
        pss += v["Pss"]
        anon += v.get("Pss_Anon", 0)
        n += 1
        priv.update(private(pid) or {})
    print("METRIC %s_pss_kb %d" % (prefix, pss))
    print("METRIC %s_pss_anon_kb %d" % (prefix, anon))
    print("METRIC %s_procs %d" % (prefix, n))
    for kind in KINDS:
        print("METRIC %s_priv_%s_kb %d" % (prefix, kind, priv[kind]))
    most, names = session_libs(pids, roots)
    if most is not None:
        print("METRIC %s_session_libs %d" % (prefix, most))
        print("METRIC %s_session_lib_names %s" % (prefix, ",".join(names)))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
