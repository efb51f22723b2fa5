# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The idle listener's memory: what loading certificates leaves behind.

The listener runs mbedTLS and the configuration parsers only while it
starts or reloads, and gives their free heap back afterwards (pop3d.c,
trim_heap).  These tests read the listener's /proc/PID/smaps_rollup:
its anonymous memory must not grow with the sessions it forks or with
SIGHUPs that load new certificates, and TLS must work with the new
certificate after a reload.
"""

import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Pop3dCase, make_cert, tls_conf, chown_tree,  # noqa: E402
                     IO_TIMEOUT, pop3d_sanitized)

WAIT = 5.0		# seconds for the listener to log or settle
# What a reload may leave of a page or two of heap, rounded up: a leak of
# the old configuration's TLS state (certificates, keys) is hundreds.
SLACK_KB = 48


def anon_kb(pid):
    """The anonymous memory of pid (heap, stack, mmap'd malloc), in kB."""
    with open("/proc/%d/smaps_rollup" % pid) as f:
        for line in f:
            if line.startswith("Anonymous:"):
                return int(line.split()[1])
    raise AssertionError("no Anonymous: line for %d" % pid)


def der(cert_path):
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class ListenerMemoryTest(Pop3dCase):

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="pop3d-certs-")
        cls.cert, cls.key = make_cert(cls.certdir)
        cls.cert2, cls.key2 = make_cert(cls.certdir, "second")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def wait_for(self, what, cond):
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            if cond():
                return
            time.sleep(0.05)
        self.fail("never: %s" % what)

    def tls_cert_of(self, srv, cafile):
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        ctx = ssl.create_default_context(cafile=cafile)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        self.assertTrue(s.recv(200).startswith(b"+OK"))
        s.sendall(b"QUIT\r\n")
        return s.getpeercert(True)

    def reload(self, srv, n):
        os.kill(srv.proc.pid, signal.SIGHUP)
        self.wait_for("reload %d" % n, lambda: srv.log().count(
            "TLS certificates reloaded") >= n)

    @unittest.skipIf(pop3d_sanitized(), "AddressSanitizer keeps freed "
                     "memory in quarantine (make check-asan); make test "
                     "runs this")
    def test_anon_memory_flat_over_sessions_and_reloads(self):
        srv = self.server(start=False, tls=True)
        srv.cert = os.path.join(srv.dir, "server.crt")
        srv.key = os.path.join(srv.dir, "server.key")
        shutil.copy(self.cert, srv.cert)
        shutil.copy(self.key, srv.key)
        srv.extra.update(tls_conf(srv.cert, srv.key))
        chown_tree(srv.dir)
        srv.start()
        self.wait_for("ready", lambda: " ready, " in srv.log())
        # one reload first: the heap's high-water mark after a reload is
        # the baseline (the first load ran before the listener's own setup)
        self.reload(srv, 1)
        # a session accepted: the listener is done with the reload
        self.assertEqual(self.tls_cert_of(srv, self.cert), der(self.cert))
        base = anon_kb(srv.proc.pid)

        # Sessions run mbedTLS in their own processes, not the listener.
        for _ in range(3):
            self.assertEqual(self.tls_cert_of(srv, self.cert),
                             der(self.cert))
        for n, (cert, key) in enumerate([(self.cert2, self.key2),
                                         (self.cert, self.key),
                                         (self.cert2, self.key2)], 2):
            shutil.copy(cert, srv.cert)
            shutil.copy(key, srv.key)
            self.reload(srv, n)
            self.assertEqual(self.tls_cert_of(srv, cert), der(cert))
        after = anon_kb(srv.proc.pid)
        sys.stderr.write("listener anonymous kB: %d after a reload, %d after "
                         "3 sessions and 3 more reloads\n" % (base, after))
        self.assertLessEqual(after, base + SLACK_KB,
                             "listener grew from %d to %d kB" % (base, after))
