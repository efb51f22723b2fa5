"""The idle listener's memory: what loading certificates leaves behind.

The listener runs mbedTLS and libcrypt only while it starts or reloads;
afterwards it takes their code out of its page tables (pop3d.c,
shed_startup_memory).  These tests read the listener's
/proc/PID/smaps: no page of that code may stay mapped after start-up,
after serving TLS sessions, or after a SIGHUP that loaded new
certificates, and TLS must work with the new certificate after it.
"""

import os
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Pop3dCase, make_cert, tls_conf, chown_tree,  # noqa: E402
                     IO_TIMEOUT)

STARTUP_LIBS = ("libmbedtls", "libmbedx509", "libmbedcrypto", "libcrypt")
WAIT = 5.0		# seconds for the listener to log or settle


def startup_code(pid):
    """The executable mappings of STARTUP_LIBS in pid: {library: Rss kB}."""
    found = {}
    lib = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            parts = line.split()
            if not parts[0].endswith(":"):
                path = parts[5] if len(parts) > 5 else ""
                name = os.path.basename(path)
                lib = None
                if "x" in parts[1] and name.startswith(STARTUP_LIBS):
                    lib = name.split(".so")[0]
                    found.setdefault(lib, 0)
            elif parts[0] == "Rss:" and lib is not None:
                found[lib] += int(parts[1])
    return found


def der(cert_path):
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class ListenerCodeTest(Pop3dCase):

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

    def assert_no_code(self, srv, when):
        # The drop follows the log line: give it a moment, bounded.
        self.wait_for("startup code unmapped %s: %r" %
                      (when, startup_code(srv.proc.pid)),
                      lambda: not any(startup_code(srv.proc.pid).values()))
        self.assertIn("libmbedcrypto", startup_code(srv.proc.pid))

    def tls_cert_of(self, srv, cafile):
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        ctx = ssl.create_default_context(cafile=cafile)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        self.assertTrue(s.recv(200).startswith(b"+OK"))
        s.sendall(b"QUIT\r\n")
        return s.getpeercert(True)

    def test_no_startup_code_after_start_sessions_and_reload(self):
        srv = self.server(start=False, tls=True)
        srv.cert = os.path.join(srv.dir, "server.crt")
        srv.key = os.path.join(srv.dir, "server.key")
        shutil.copy(self.cert, srv.cert)
        shutil.copy(self.key, srv.key)
        srv.extra.update(tls_conf(srv.cert, srv.key))
        chown_tree(srv.dir)
        srv.start()
        self.wait_for("ready", lambda: " ready, " in srv.log())
        self.assert_no_code(srv, "after start-up")

        # Sessions run mbedTLS in their own processes, not the listener.
        for _ in range(3):
            self.assertEqual(self.tls_cert_of(srv, self.cert),
                             der(self.cert))
        self.assert_no_code(srv, "after TLS sessions")

        shutil.copy(self.cert2, srv.cert)
        shutil.copy(self.key2, srv.key)
        os.kill(srv.proc.pid, signal.SIGHUP)
        self.wait_for("reload", lambda: "TLS certificates reloaded" in
                      srv.log())
        self.assert_no_code(srv, "after a reload")
        self.assertEqual(self.tls_cert_of(srv, self.cert2), der(self.cert2))
