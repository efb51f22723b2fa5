# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Debian packages of the peer servers, for the tests that run them as
references (dovecot_ref, popa3d_ref): fetched with `apt-get download`
into CACHE/debs and unpacked with `dpkg-deb -x` into CACHE/root, once,
never installed (`make clean` removes CACHE)."""

import fcntl
import os
import shutil
import subprocess

UNPACK_TIMEOUT = 60.0		# dpkg-deb -x of one package


def run_step(what, argv, timeout, cwd=None):
    """Run argv; None when it succeeded, else a one-line reason that
    starts with what."""
    try:
        r = subprocess.run(argv, cwd=cwd, capture_output=True,
                           timeout=timeout, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "%s: %s" % (what, e)
    if r.returncode != 0:
        err = r.stderr.decode(errors="replace").strip().splitlines()
        return "%s failed: %s" % (what, err[-1] if err else r.returncode)
    return None


def cached_debs(cache, packages):
    """The cached .deb of each package (a missing one is None)."""
    d = os.path.join(cache, "debs")
    names = sorted(os.listdir(d)) if os.path.isdir(d) else []
    return [next((os.path.join(d, n) for n in names
                  if n.startswith(p + "_") and n.endswith(".deb")), None)
            for p in packages]


def _fetch(cache, packages, fetch_timeout):
    root = os.path.join(cache, "root")
    if os.path.exists(os.path.join(root, ".complete")):
        return None
    debs = os.path.join(cache, "debs")
    os.makedirs(debs, exist_ok=True)
    if None in cached_debs(cache, packages):
        if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
            return "apt-get and dpkg-deb are needed to fetch " + \
                " ".join(packages)
        # As root apt hands the download to its _apt user, which can't
        # write into a private tree; the sandbox user is told to stay.
        why = run_step("apt-get download",
                       ["apt-get", "-qq", "-o", "APT::Sandbox::User=root",
                        "download"] + list(packages), fetch_timeout,
                       cwd=debs)
        if why:
            return why
    # Unpack beside root, then rename: a half-unpacked tree is never used.
    part = root + ".part"
    shutil.rmtree(part, ignore_errors=True)
    for deb in cached_debs(cache, packages):
        if deb is None:
            return "apt-get download left no package in " + debs
        why = run_step("dpkg-deb -x", ["dpkg-deb", "-x", deb, part],
                       UNPACK_TIMEOUT)
        if why:
            return why
    open(os.path.join(part, ".complete"), "w").close()
    shutil.rmtree(root, ignore_errors=True)
    os.rename(part, root)
    return None


def fetch(cache, packages, fetch_timeout):
    """Download and unpack packages unless cache/root is complete.  None
    on success, else why not.  Runs under cache/lock, so parallel test
    processes unpack once."""
    try:
        os.makedirs(cache, exist_ok=True)
        with open(os.path.join(cache, "lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return _fetch(cache, packages, fetch_timeout)
    except OSError as e:
        return "cache %s: %s" % (cache, e)
