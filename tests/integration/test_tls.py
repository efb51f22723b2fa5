# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""TLS: implicit TLS on a listen_tls port, STLS, plaintext_auth, reload.

Python's ssl module (OpenSSL) is the client here; test_tls_clients.py
drives curl, openssl s_client, mpop (GnuTLS) and fetchmail.
"""

import os
import poplib
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (Pop3dCase, pop_form, default_messages,  # noqa: E402
                     make_cert, tls_conf, chown_tree, session_pids, stuff,
                     pop3d_path, pop3d_tls13, wait_for, IO_TIMEOUT,
                     IS_ROOT, PROC_TIMEOUT, RUN_AS, TLS_NEWEST)

# Built on mbedTLS 3 pop3d speaks TLS 1.3 too (make check-mbedtls3).
NEEDS_TLS13 = unittest.skipUnless(pop3d_tls13(),
                                  "pop3d built on mbedTLS 2.28: TLS 1.2 only")


def joined(lines):
    return b"".join(l + b"\r\n" for l in lines)


def der(cert_path):
    with open(cert_path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


class TlsCase(Pop3dCase):
    """Certificates made once per class; each server gets copies in its
    own directory (readable by the user pop3d becomes, for SIGHUP)."""

    @classmethod
    def setUpClass(cls):
        cls.certdir = tempfile.mkdtemp(prefix="pop3d-certs-")
        cls.cert, cls.key = make_cert(cls.certdir)
        cls.cert2, cls.key2 = make_cert(cls.certdir, "second")
        cls.other, cls.other_key = make_cert(
            cls.certdir, "other", cn="other.test", sans=("DNS:other.test",))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.certdir, ignore_errors=True)

    def tls_server(self, msgs=None, tls=True, start=True, **conf):
        srv = self.server(msgs, start=False, tls=tls)
        srv.cert = os.path.join(srv.dir, "server.crt")
        srv.key = os.path.join(srv.dir, "server.key")
        shutil.copy(self.cert, srv.cert)
        shutil.copy(self.key, srv.key)
        srv.extra.update(tls_conf(srv.cert, srv.key, **conf))
        chown_tree(srv.dir)
        if start:
            srv.start()
        return srv

    def ctx(self, cafile=None):
        c = ssl.create_default_context(cafile=cafile or self.cert)
        return c

    def tls_sock(self, srv, hostname="localhost", cafile=None,
                 session=None, ctx=None):
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        ctx = ctx or self.ctx(cafile)
        s = ctx.wrap_socket(raw, server_hostname=hostname, session=session)
        self.addCleanup(s.close)
        return s

    def wait_log(self, srv, text, limit=5.0):
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            if text in srv.log():
                return
            time.sleep(0.05)
        self.fail("log never said %r:\n%s" % (text, srv.log()[-2000:]))


def capa(p):
    return [l.split()[0] if l else l for l in p._longcmd("CAPA")[1]]


class ImplicitTlsTest(TlsCase):

    def test_pop3_ssl_retrieves_every_message(self):
        msgs = default_messages()
        srv = self.tls_server(msgs)
        p = poplib.POP3_SSL("127.0.0.1", srv.tls_port, context=self.ctx(),
                            timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        self.assertNotIn(b"STLS", capa(p))
        p.user("alice")
        p.pass_("secret")
        for i, m in enumerate(msgs):
            resp, lines, octets = p.retr(i + 1)
            self.assertEqual(joined(lines), pop_form(m), "message %d" % i)
            self.assertEqual(octets, len(pop_form(m)))
        p.quit()
        log = srv.log()
        # TLS 1.3's suites leave the key exchange (ECDHE) out of the name.
        suite = (r"TLS1-3-(AES-256-GCM-SHA384|CHACHA20-POLY1305-SHA256|"
                 r"AES-128-GCM-SHA256)" if TLS_NEWEST == "TLSv1.3" else
                 r"TLS-ECDHE-ECDSA-WITH-[A-Z0-9-]+")
        self.assertRegex(log, r"127\.0\.0\.1:\d+: TLS %s %s" %
                         (TLS_NEWEST.replace(".", r"\."), suite))

    def test_stls_inside_tls_is_refused(self):
        srv = self.tls_server()
        p = poplib.POP3_SSL("127.0.0.1", srv.tls_port, context=self.ctx(),
                            timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        with self.assertRaises(poplib.error_proto) as e:
            p._shortcmd("STLS")
        self.assertIn(b"TLS is already active", e.exception.args[0])

    def test_plaintext_to_tls_port(self):
        srv = self.tls_server()
        c = self.client(srv)
        c.sock.close()
        c.sock = socket.create_connection(("127.0.0.1", srv.tls_port),
                                          timeout=IO_TIMEOUT)
        c.send(b"USER alice\r\nPASS secret\r\n")
        data = c.read_until_eof()
        self.assertNotIn(b"+OK", data)
        self.wait_log(srv, "TLS handshake failed")
        self.assertRegex(srv.log(), r"127\.0\.0\.1:\d+: TLS handshake "
                         r"failed \(.+, -0x[0-9a-f]{4}\)")
        # The listener is unharmed.
        p = poplib.POP3_SSL("127.0.0.1", srv.tls_port, context=self.ctx(),
                            timeout=IO_TIMEOUT)
        p.close()

    def test_stalled_handshake_times_out(self):
        srv = self.tls_server(tls_handshake_timeout="1")
        s = socket.create_connection(("127.0.0.1", srv.tls_port),
                                     timeout=IO_TIMEOUT)
        self.addCleanup(s.close)
        # The first bytes of a ClientHello record, then nothing.
        s.sendall(b"\x16\x03\x01\x00\x80\x01\x00")
        t0 = time.monotonic()
        s.settimeout(6)
        self.assertEqual(s.recv(100), b"")
        took = time.monotonic() - t0
        self.assertGreater(took, 0.8)
        self.assertLess(took, 4)
        self.wait_log(srv, "TLS handshake timed out after 1 s")

    def test_close_notify_at_quit(self):
        srv = self.tls_server()
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        s = self.ctx().wrap_socket(raw, server_hostname="localhost",
                                   suppress_ragged_eofs=False)
        self.addCleanup(s.close)
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"QUIT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        # A close without close_notify raises SSLEOFError here.
        self.assertEqual(s.recv(10), b"")

    def test_secure_defaults_and_tls_ciphers(self):
        srv = self.tls_server()
        c = self.ctx()
        c.maximum_version = ssl.TLSVersion.TLSv1_2
        c.set_ciphers("ECDHE-ECDSA-AES128-SHA256")	# CBC: not by default
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        self.addCleanup(raw.close)
        with self.assertRaises(ssl.SSLError):
            c.wrap_socket(raw, server_hostname="localhost")
        # A site that must serve it lists it after the defaults.
        srv2 = self.tls_server(
            tls_ciphers="default TLS-ECDHE-ECDSA-WITH-AES-128-CBC-SHA256")
        raw = socket.create_connection(("127.0.0.1", srv2.tls_port),
                                       timeout=IO_TIMEOUT)
        s = c.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        self.assertEqual(s.cipher()[0], "ECDHE-ECDSA-AES128-SHA256")
        # TLS 1.1 is refused whatever the suites.
        c = self.ctx()
        c.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            c.maximum_version = ssl.TLSVersion.TLSv1_1
        c.set_ciphers("ALL:@SECLEVEL=0")
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        self.addCleanup(raw.close)
        with self.assertRaises(ssl.SSLError):
            c.wrap_socket(raw, server_hostname="localhost")

    def test_ecdhe_group_preference(self):
        """In TLS 1.2 the server's order picks the group: x25519, then
        P-256, before the costlier P-384 that mbedTLS's own list puts
        first.  (In TLS 1.3 the client's first key share does.)"""
        srv = self.tls_server()

        def temp_key(groups):
            r = subprocess.run(
                ["openssl", "s_client", "-connect",
                 "127.0.0.1:%d" % srv.tls_port, "-tls1_2", "-groups",
                 groups],
                input=b"QUIT\r\n", capture_output=True, timeout=IO_TIMEOUT)
            m = re.search(rb"Server Temp Key: ([^\n]*)", r.stdout)
            return m.group(1).decode() if m else r.stdout.decode()

        self.assertIn("X25519", temp_key("P-384:P-256:X25519"))
        self.assertIn("prime256v1", temp_key("P-384:P-256"))

    def test_session_ticket_resumption(self):
        srv = self.tls_server()
        ctx = self.ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.resume(srv, ctx)

    def resume(self, srv, ctx):
        """A session, then another resuming it with its ticket: taken by
        another session process, forked later.  Returns the second."""
        s1 = self.tls_sock(srv, ctx=ctx)
        # In TLS 1.3 the ticket comes after the handshake, before the
        # greeting.
        self.assertTrue(s1.recv(100).startswith(b"+OK"))
        sess = s1.session
        self.assertTrue(sess.has_ticket)
        s1.close()
        s2 = self.tls_sock(srv, session=sess, ctx=ctx)
        self.assertTrue(s2.recv(100).startswith(b"+OK"))
        self.assertTrue(s2.session_reused)
        return s2

    @NEEDS_TLS13
    def test_session_ticket_resumption_tls13(self):
        srv = self.tls_server()
        ctx = self.ctx()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_3
        self.assertEqual(self.resume(srv, ctx).version(), "TLSv1.3")

    @NEEDS_TLS13
    def test_tls_ciphers_choose_the_versions(self):
        """A tls_ciphers without TLS 1.3 suites keeps to TLS 1.2 (mbedTLS
        would take 1.3 and find no suite); one with only those refuses
        a TLS 1.2 client by its version."""
        srv = self.tls_server(
            tls_ciphers="TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256")
        s = self.tls_sock(srv)
        self.assertEqual(s.version(), "TLSv1.2")
        self.assertTrue(s.recv(100).startswith(b"+OK"))
        srv = self.tls_server(tls_ciphers="TLS1-3-AES-128-GCM-SHA256")
        s = self.tls_sock(srv)
        self.assertEqual(s.cipher()[:2], ("TLS_AES_128_GCM_SHA256",
                                          "TLSv1.3"))
        ctx = self.ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        with self.assertRaisesRegex(ssl.SSLError, "PROTOCOL_VERSION"):
            self.tls_sock(srv, ctx=ctx)

    def test_sni_selects_certificate(self):
        srv = self.tls_server(start=False)
        o_crt = os.path.join(srv.dir, "other.crt")
        o_key = os.path.join(srv.dir, "other.key")
        shutil.copy(self.other, o_crt)
        shutil.copy(self.other_key, o_key)
        srv.extra["tls_sni"] = "*.test %s %s" % (o_crt, o_key)
        chown_tree(srv.dir)
        srv.start()
        s = self.tls_sock(srv, "other.test", cafile=self.other)
        self.assertEqual(s.getpeercert(True), der(self.other))
        s = self.tls_sock(srv, "localhost")
        self.assertEqual(s.getpeercert(True), der(self.cert))
        # The session's TLS line says which certificate the name got.
        self.wait_log(srv, "(SNI other.test: certificate of tls_sni *.test)")
        self.wait_log(srv, "(SNI localhost: default certificate)")

    def test_sighup_reloads_certificates(self):
        srv = self.tls_server(msgs=default_messages())
        s = self.tls_sock(srv)
        self.assertEqual(s.getpeercert(True), der(self.cert))
        f = s.makefile("rb")
        f.readline()
        s.sendall(b"USER alice\r\nPASS secret\r\n")
        f.readline()
        self.assertTrue(f.readline().startswith(b"+OK"))
        # New files, then SIGHUP: new connections see them.
        shutil.copy(self.cert2, srv.cert)
        shutil.copy(self.key2, srv.key)
        os.kill(srv.proc.pid, signal.SIGHUP)
        self.wait_log(srv, "TLS certificates reloaded")
        n = self.tls_sock(srv, cafile=self.cert2)
        self.assertEqual(n.getpeercert(True), der(self.cert2))
        # The session opened before the reload goes on.
        s.sendall(b"STAT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        # A broken certificate keeps the previous one and says why.
        with open(srv.cert, "w") as fh:
            fh.write("-----BEGIN CERTIFICATE-----\nnot base64\n"
                     "-----END CERTIFICATE-----\n")
        os.kill(srv.proc.pid, signal.SIGHUP)
        self.wait_log(srv, "TLS reload failed, keeping the old")
        self.assertRegex(srv.log(), r"TLS reload failed.*server\.crt: ")
        n = self.tls_sock(srv, cafile=self.cert2)
        self.assertEqual(n.getpeercert(True), der(self.cert2))

    def test_greeting_stamps_and_server_randoms_differ(self):
        """Two sessions forked from one listener never share DRBG state."""
        srv = self.tls_server(apop="yes")
        greetings = []
        for _ in range(2):
            s = self.tls_sock(srv)
            greetings.append(s.recv(200))
        self.assertNotEqual(greetings[0], greetings[1])
        randoms = [server_random(srv.tls_port, self.cert) for _ in range(3)]
        # The first 4 bytes may be the time: compare the 28 random ones.
        tails = {r[4:] for r in randoms}
        self.assertEqual(len(tails), 3, randoms)

    @NEEDS_TLS13
    def test_tls13_key_shares_differ(self):
        """TLS 1.3's ECDHE keys come from PSA's generator, not from
        pop3d's DRBG: no two sessions may share one.  Every session process
        restarts PSA (tls_child_init); mbedTLS 3.6.6 also reseeds it after
        a fork by itself, older 3.x releases don't."""
        srv = self.tls_server()
        shares = [key_share(server_hello(srv.tls_port, self.cert, "1.3"))
                  for _ in range(3)]
        self.assertEqual(len(set(shares)), 3, shares)

    def test_inetd_implicit_tls(self):
        msgs = default_messages()
        srv = self.tls_server(msgs, tls=False, start=False)
        srv.write_conf()
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        with open(srv.log_path, "ab") as log:
            p = subprocess.Popen([pop3d_path(), "-i", "-s", "-f",
                                  srv.conf_path], stdin=b, stdout=b,
                                 stderr=log)
        b.close()
        self.addCleanup(p.kill)
        a.settimeout(IO_TIMEOUT)
        s = self.ctx().wrap_socket(a, server_hostname="localhost")
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        s.sendall(b"USER alice\r\nPASS secret\r\nRETR 2\r\nQUIT\r\n")
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(f.readline().startswith(b"+OK"))
        body = b""
        while True:
            l = f.readline()
            if l == b".\r\n":
                break
            body += l
        self.assertEqual(body, stuff(pop_form(msgs[1])))
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertEqual(p.wait(PROC_TIMEOUT), 0)

def server_hello(port, cafile, version="1.2"):
    """The ServerHello of a TLS `version' handshake, read off openssl
    -msg: type(1) length(3) version(2) random(32) and the rest."""
    r = subprocess.run(
        ["openssl", "s_client", "-connect", "127.0.0.1:%d" % port,
         "-CAfile", cafile, "-tls" + version.replace(".", "_"), "-msg",
         "-no_ticket"],
        input=b"QUIT\r\n", capture_output=True, timeout=PROC_TIMEOUT)
    out = r.stdout.decode("latin-1")
    m = re.search(r"<<< TLS %s, Handshake \[length [0-9a-f]+\], "
                  r"ServerHello\n((?:    [0-9a-f ]+\n)+)" %
                  re.escape(version), out)
    if m is None:
        raise AssertionError("no ServerHello in:\n" + out[-2000:])
    return bytes(int(h, 16) for h in m.group(1).split())


def server_random(port, cafile):
    """The 32-byte random of a TLS 1.2 ServerHello."""
    return server_hello(port, cafile)[6:38]


def key_share(hello):
    """The server's key_share extension data in a TLS 1.3 ServerHello."""
    # session id after the random, then suite(2) compression(1) and the
    # extensions, each type(2) length(2) data.
    p = 39 + hello[38] + 3
    end = p + 2 + int.from_bytes(hello[p:p + 2], "big")
    p += 2
    while p + 4 <= end:
        typ = int.from_bytes(hello[p:p + 2], "big")
        n = int.from_bytes(hello[p + 2:p + 4], "big")
        if typ == 0x0033:
            return hello[p + 4:p + 4 + n]
        p += 4 + n
    raise AssertionError("no key_share in %r" % hello)


class SuiteOrderTest(TlsCase):
    """The default suites' order comes from the AEAD speeds the listener
    measured at start-up, and its log line says so; an admin's
    tls_ciphers is served in its own order.  TLS 1.2 clients: in TLS 1.3
    mbedTLS takes the client's order."""

    # OpenSSL's names for the default suites with this ECDSA certificate.
    OPENSSL = {"AES-256-GCM": "ECDHE-ECDSA-AES256-GCM-SHA384",
               "ChaCha20-Poly1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
               "AES-128-GCM": "ECDHE-ECDSA-AES128-GCM-SHA256"}
    LINE = re.compile(
        r"TLS suites: (\S+) first, then (\S+), ([A-Z0-9-]+).*: mbedTLS "
        r"seals here AES-128-GCM \d+ MB/s, AES-256-GCM \d+ MB/s, "
        r"ChaCha20-Poly1305 \d+ MB/s \((\d+\.\d+)x the faster AES-GCM; "
        r"first from 1\.2x\)")

    def suite(self, srv, offer):
        ctx = self.ctx()
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        ctx.set_ciphers(":".join(offer))
        s = self.tls_sock(srv, ctx=ctx)
        self.assertTrue(s.recv(100).startswith(b"+OK"))
        return s.cipher()[0]

    def test_measured_order_picks_the_suite(self):
        srv = self.tls_server()
        self.wait_log(srv, "TLS suites: ")
        m = self.LINE.search(srv.log())
        self.assertIsNotNone(m, srv.log())
        first, second, third = m.group(1, 2, 3)
        ratio = float(m.group(4))
        # The line's figures and its order agree (but for rounding).
        if abs(ratio - 1.2) > 0.005:
            self.assertEqual(first == "ChaCha20-Poly1305", ratio >= 1.2,
                             m.group(0))
        self.assertEqual(third, "AES-128-GCM")
        both = [self.OPENSSL["AES-256-GCM"],
                self.OPENSSL["ChaCha20-Poly1305"]]
        # Whichever the client lists first, the server's first wins.
        self.assertEqual(self.suite(srv, both), self.OPENSSL[first])
        self.assertEqual(self.suite(srv, both[::-1]), self.OPENSSL[first])
        # Without the first, the second.
        rest = [self.OPENSSL[n] for n in (third, second)]
        self.assertEqual(self.suite(srv, rest), self.OPENSSL[second])
        # SIGHUP measures again, and says so.
        os.kill(srv.proc.pid, signal.SIGHUP)
        self.assertTrue(wait_for(
            lambda: len(self.LINE.findall(srv.log())) == 2), srv.log())

    def test_admin_order_is_kept_and_not_measured(self):
        aes = "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256"
        chacha = "TLS-ECDHE-ECDSA-WITH-CHACHA20-POLY1305-SHA256"
        offer = [self.OPENSSL["ChaCha20-Poly1305"],
                 self.OPENSSL["AES-128-GCM"]]
        for order, want in (((aes, chacha), "AES-128-GCM"),
                            ((chacha, aes), "ChaCha20-Poly1305")):
            srv = self.tls_server(tls_ciphers=" ".join(order))
            self.wait_log(srv, "TLS suites: tls_ciphers's order, "
                          "%s first" % order[0])
            self.assertNotIn("MB/s", srv.log())
            self.assertEqual(self.suite(srv, offer), self.OPENSSL[want])
            self.assertEqual(self.suite(srv, offer[::-1]),
                             self.OPENSSL[want])
            srv.stop()


class StlsTest(TlsCase):

    def test_stls_capabilities_and_retrieval(self):
        msgs = default_messages()
        srv = self.tls_server(msgs, plaintext_auth="no")
        p = poplib.POP3("127.0.0.1", srv.port, timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        before = capa(p)
        self.assertIn(b"STLS", before)
        self.assertNotIn(b"USER", before)
        self.assertNotIn(b"SASL", before)
        p.stls(context=self.ctx())
        after = capa(p)
        self.assertNotIn(b"STLS", after)
        self.assertIn(b"USER", after)
        self.assertIn(b"SASL", after)
        p.user("alice")
        p.pass_("secret")
        resp, lines, _ = p.retr(6)
        self.assertEqual(joined(lines), pop_form(msgs[5]))
        p.quit()

    def test_plaintext_refused_names_stls_and_995(self):
        srv = self.tls_server(plaintext_auth="no")
        c = self.client(srv)
        c.line()
        r = c.cmd("USER alice")
        self.assertERR(r)
        self.assertIn(b"STLS", r)
        self.assertIn(b"995", r)
        self.assertERR(c.cmd("AUTH PLAIN AGFsaWNlAHNlY3JldA=="))
        self.assertIn(b"STLS", c.cmd("PASS secret"))

    def test_plaintext_policy_on_loopback(self):
        # local (the default) and yes let loopback in; no refuses it.
        for policy, ok in (("local", True), ("yes", True), ("no", False)):
            srv = self.tls_server(plaintext_auth=policy)
            c = self.client(srv)
            r = c.login("alice", "secret")
            self.assertEqual(r.startswith(b"+OK"), ok, (policy, r))
            p = poplib.POP3("127.0.0.1", srv.port, timeout=IO_TIMEOUT)
            self.addCleanup(p.close)
            self.assertEqual(b"USER" in capa(p), ok, policy)
            self.assertIn(b"STLS", capa(p))

    def test_no_tls_configured_no_stls(self):
        srv = self.server()
        p = poplib.POP3("127.0.0.1", srv.port, timeout=IO_TIMEOUT)
        self.addCleanup(p.close)
        self.assertNotIn(b"STLS", capa(p))
        self.assertIn(b"USER", capa(p))
        with self.assertRaises(poplib.error_proto):
            p._shortcmd("STLS")

    def test_injection_after_stls_is_discarded(self):
        srv = self.tls_server()
        raw = socket.create_connection(("127.0.0.1", srv.port),
                                       timeout=IO_TIMEOUT)
        self.addCleanup(raw.close)
        f = raw.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        raw.sendall(b"STLS\r\nUSER alice\r\n")
        self.assertEqual(f.readline(), b"+OK begin TLS negotiation\r\n")
        s = self.ctx().wrap_socket(raw, server_hostname="localhost")
        s.settimeout(0.5)
        with self.assertRaises(socket.timeout):
            got = s.recv(100)
            raise AssertionError("reply inside TLS to USER: %r" % got)
        s.settimeout(IO_TIMEOUT)
        # Had USER been taken, PASS would be checked; it is not.
        s.sendall(b"PASS secret\r\n")
        self.assertEqual(s.recv(200), b"-ERR PASS must follow USER\r\n")

    def test_plaintext_after_stls_reply_fails_handshake(self):
        srv = self.tls_server()
        c = self.client(srv)
        c.line()
        c.send(b"STLS\r\n")
        self.assertOK(c.line())
        c.send(b"USER alice\r\n")
        self.assertNotIn(b"+OK", c.read_until_eof())
        self.wait_log(srv, "TLS handshake failed")


class MemoryScan:
    """Searches the memory of a process (root reads /proc/PID/mem)."""

    # Memory is read a MiB at a time, at most SCAN_LIMIT bytes a process.
    CHUNK = 1 << 20
    SCAN_LIMIT = 4 << 30
    # x86-64 ASan (make check-asan) reserves [0x7fff8000, 0x10007fff8000)
    # for its shadow: one byte per 8 bytes of memory saying which are
    # addressable, never the program's data, and 15 TiB of mapping.  A
    # process is taken to be one of those when it has the shadow gap
    # mapping (inaccessible, exactly these bounds) between its two halves.
    ASAN_SHADOW = (0x7fff8000, 0x10007fff8000)
    ASAN_GAP = (0x8fff7000, 0x2008fff7000)

    def regions(self, pid):
        """The readable anonymous mappings of pid, (lo, hi) each, less
        the sanitizer shadow when pid is an ASan process."""
        out, asan = [], False
        with open("/proc/%d/maps" % pid) as maps:
            for line in maps:
                f = line.split()
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                if (lo, hi) == self.ASAN_GAP and f[1].startswith("---"):
                    asan = True
                if "r" in f[1] and not (len(f) > 5 and
                                        f[5].startswith("/")):
                    out.append((lo, hi))
        lo_s, hi_s = self.ASAN_SHADOW
        return [r for r in out
                if not (asan and lo_s <= r[0] and r[1] <= hi_s)]

    def scan(self, mem, lo, hi, patterns, chunk):
        """Whether bytes lo..hi of the open file mem hold a pattern; reads
        chunk bytes at a time, each joined to the end of the one before so
        a pattern across two reads is found.  Returns (found, bytes read)."""
        keep = max(len(p) for p in patterns) - 1
        tail, pos = b"", lo
        while pos < hi:
            try:
                mem.seek(pos)
                data = mem.read(min(chunk, hi - pos))
            except (OSError, ValueError, OverflowError):
                break
            if not data:
                break
            buf = tail + data
            if any(p in buf for p in patterns):
                return True, pos + len(data) - lo
            tail = buf[-keep:] if keep else b""
            pos += len(data)
        return False, pos - lo

    def holds(self, pid, patterns):
        total = 0
        with open("/proc/%d/mem" % pid, "rb", 0) as mem:
            for lo, hi in self.regions(pid):
                found, n = self.scan(mem, lo, hi, patterns, self.CHUNK)
                if found:
                    return True
                total += n
                self.assertLess(total, self.SCAN_LIMIT,
                                "%x-%x too much memory to search" % (lo, hi))
        return False


def ec_secrets(key):
    """The private scalar of an EC key file, as the file has it and as
    mbedTLS keeps it."""
    out = subprocess.run(["openssl", "ec", "-in", key, "-text", "-noout"],
                         capture_output=True, check=True,
                         timeout=PROC_TIMEOUT).stdout.decode()
    hexes = re.search(r"priv:\n((?:\s+[0-9a-f:]+\n)+)", out).group(1)
    d = bytes.fromhex(re.sub(r"[\s:]", "", hexes))[-32:]
    # mbedTLS keeps the scalar as little-endian limbs.
    return [d, d[::-1]]


def rsa_secrets(key):
    """32 bytes from inside each secret number of an RSA key file (the
    primes, the private exponent), big-endian as its DER has them and
    little-endian as mbedTLS's limbs keep them."""
    out = subprocess.run(["openssl", "rsa", "-in", key, "-text", "-noout"],
                         capture_output=True, check=True,
                         timeout=PROC_TIMEOUT).stdout.decode()
    pats = []
    for name in ("privateExponent", "prime1", "prime2"):
        hexes = re.search(name + r":\n((?:\s+[0-9a-f:]+\n)+)", out).group(1)
        v = bytes.fromhex(re.sub(r"[\s:]", "", hexes)).lstrip(b"\0")
        pats += [v[8:40], v[::-1][8:40]]
    return pats


def secret_pages(pid):
    """The pages of pid's small anonymous mappings that are kept out of
    core dumps (VmFlags "dd"): tlskeys.c's secret mappings, which hold the
    keys as DER and the ticket keys' seeds, each in pages of its own
    (the kernel may join neighbours into one mapping).  A sanitizer's
    shadow is marked so too, in mappings far bigger."""
    found, cur = [], None
    with open("/proc/%d/smaps" % pid) as smaps:
        for line in smaps:
            f = line.split()
            if re.match(r"^[0-9a-f]+-[0-9a-f]+$", f[0]):
                lo, hi = (int(x, 16) for x in f[0].split("-"))
                ok = len(f) == 5 and hi - lo <= (64 << 10) and "r" in f[1]
                cur = (lo, hi) if ok else None
            elif f[0] == "VmFlags:" and cur is not None and "dd" in f[1:]:
                found.append(cur)
    pages = []
    with open("/proc/%d/mem" % pid, "rb", 0) as mem:
        for lo, hi in found:
            mem.seek(lo)
            data = mem.read(hi - lo)
            pages += [data[i:i + 4096] for i in range(0, len(data), 4096)]
    return pages


class SecretsTest(MemoryScan, TlsCase):
    """No process serving a logged-in user holds the private key."""

    def private_patterns(self, key):
        return ec_secrets(key)

    def test_scanner_finds_planted_bytes(self):
        """The search finds bytes known to be in a process's heap, and
        bytes across the boundary of two reads."""
        secret, absent = os.urandom(32), os.urandom(32)
        p = subprocess.Popen(
            [sys.executable, "-c", "import sys; held = sys.stdin.buffer."
             "read(32); sys.stdout.write('r\\n'); sys.stdout.flush(); "
             "sys.stdin.read()"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE)
        self.addCleanup(p.wait, PROC_TIMEOUT)
        self.addCleanup(p.stdin.close)
        self.addCleanup(p.stdout.close)
        p.stdin.write(secret)
        p.stdin.flush()
        self.assertEqual(p.stdout.readline(), b"r\n")
        self.assertTrue(self.holds(p.pid, [secret]))
        self.assertFalse(self.holds(p.pid, [absent]))
        with tempfile.TemporaryFile() as f:
            f.write(bytes(4093) + secret + bytes(4000))
            f.flush()
            self.assertTrue(self.scan(f, 0, 8125, [secret], 4096)[0])
            self.assertFalse(self.scan(f, 0, 8125, [absent], 4096)[0])

    def check(self, srv, login):
        pats = self.private_patterns(srv.key)
        # The listener keeps the key: proves the search finds it.
        self.assertTrue(self.holds(srv.proc.pid, pats))
        conn = login(srv)
        deadline = time.monotonic() + 5
        kids = []
        while not kids and time.monotonic() < deadline:
            kids = session_pids(srv.proc.pid)
            time.sleep(0.05)
        self.assertEqual(len(kids), 1)
        self.assertFalse(self.holds(kids[0], pats))
        conn.close()

    def test_key_gone_after_implicit_tls_login(self):
        srv = self.tls_server(default_messages())

        def login(srv):
            p = poplib.POP3_SSL("127.0.0.1", srv.tls_port,
                                context=self.ctx(), timeout=IO_TIMEOUT)
            p.user("alice")
            p.pass_("secret")
            return p
        self.check(srv, login)

    def test_key_gone_after_plaintext_login(self):
        srv = self.tls_server(default_messages())
        self.check(srv, lambda srv: self.login_client(srv))


# TLS 1.2 suites for an RSA key: mbedTLS 3 signs TLS 1.3 with RSA-PSS,
# which only a key in the handshake's own process can make.
RSA_TLS12 = ("TLS-ECDHE-RSA-WITH-AES-256-GCM-SHA384 "
             "TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256")


@unittest.skipUnless(IS_ROOT, "privilege separation needs root: run the "
                     "tests as root (CI does)")
class KeySeparationTest(MemoryScan, TlsCase):
    """The jailed pre-login process parses every client byte, so it holds
    no ticket key, and with an RSA certificate no private key: the root
    monitor signs for it (once) and seals and opens its tickets.  An
    ECDSA key mbedTLS can only use in the handshake's own process: the
    start-up line says so."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.rsa_cert, cls.rsa_key = make_cert(cls.certdir, "rsa", rsa=True)

    def rsa_server(self, **conf):
        if pop3d_tls13():
            conf.setdefault("tls_ciphers", RSA_TLS12)
        srv = self.tls_server(default_messages(), start=False, **conf)
        shutil.copy(self.rsa_cert, srv.cert)
        shutil.copy(self.rsa_key, srv.key)
        return srv.start()

    def processes(self, srv):
        """(monitor, pre-login process) of the one connection."""
        mon = wait_for(lambda: session_pids(srv.proc.pid))
        self.assertEqual(len(mon), 1, mon)
        pre = wait_for(lambda: session_pids(mon[0]))
        self.assertEqual(len(pre), 1, pre)
        return mon[0], pre[0]

    def ticket_seeds(self, srv, key_pats):
        """Pieces of the ticket keys' seeds: the listener's secret mapping
        that does not hold the private key."""
        pages = [p for p in secret_pages(srv.proc.pid)
                 if not any(k in p for k in key_pats)]
        self.assertEqual(len(pages), 1)
        self.assertNotEqual(pages[0][:32], bytes(32))
        return [pages[0][0:32], pages[0][4:36]]

    def secrets(self, srv, key_pats):
        pats = key_pats + self.ticket_seeds(srv, key_pats)
        # The listener keeps both: proves the search finds them.
        self.assertTrue(self.holds(srv.proc.pid, key_pats))
        self.assertTrue(self.holds(srv.proc.pid, pats[-2:]))
        return pats[:-2], pats[-2:]

    def login(self, f, write):
        write(b"USER alice\r\nPASS secret\r\nSTAT\r\n")
        self.assertOK(f.readline())
        self.assertOK(f.readline())
        self.assertTrue(f.readline().startswith(
            b"+OK %d " % len(default_messages())))
        write(b"QUIT\r\n")
        self.assertOK(f.readline())

    def test_rsa_key_and_ticket_keys_not_in_prelogin_before_stls(self):
        srv = self.rsa_server()
        key, seeds = self.secrets(srv, rsa_secrets(srv.key))
        self.assertRegex(srv.log(), re.escape("TLS key " + srv.key) +
                         r" \(RSA[^)]*\): separated")
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.processes(srv)
        self.assertFalse(self.holds(pre, key))
        self.assertFalse(self.holds(pre, seeds))
        # The monitor keeps them for the handshake STLS may start.
        self.assertTrue(self.holds(mon, key))
        self.assertTrue(self.holds(mon, seeds))
        # And gives them up with the login.
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        self.assertTrue(c.cmd("STAT").startswith(
            b"+OK %d " % len(default_messages())))
        self.assertFalse(self.holds(mon, key + seeds))

    def after_handshake(self, srv, connect):
        """connect() makes a TLS connection and reads a line through it;
        then neither process holds a key: the monitor has made its one
        signature and sealed the one ticket.  The session still logs in."""
        key, seeds = self.secrets(srv, rsa_secrets(srv.key))
        s, f = connect()
        mon, pre = self.processes(srv)
        self.assertFalse(self.holds(pre, key + seeds))
        self.assertFalse(self.holds(mon, key + seeds))
        self.login(f, s.sendall)
        return s

    def test_rsa_implicit_tls_keys_gone_after_handshake(self):
        srv = self.rsa_server()

        def implicit():
            s = self.tls_sock(srv, ctx=self.ctx(self.rsa_cert))
            f = s.makefile("rb")
            self.assertOK(f.readline())
            return s, f
        self.after_handshake(srv, implicit)
        self.assertIn("TLS-ECDHE-RSA-WITH-", srv.log())

    def test_rsa_stls_keys_gone_after_handshake(self):
        srv = self.rsa_server()

        def stls():
            raw = socket.create_connection(("127.0.0.1", srv.port),
                                           timeout=IO_TIMEOUT)
            self.addCleanup(raw.close)
            raw.sendall(b"STLS\r\n")
            got = b""
            while got.count(b"\r\n") < 2:
                got += raw.recv(1)
            self.assertTrue(got.endswith(b"+OK begin TLS negotiation\r\n"))
            s = self.ctx(self.rsa_cert).wrap_socket(
                raw, server_hostname="localhost")
            self.addCleanup(s.close)
            s.sendall(b"NOOP\r\n")
            f = s.makefile("rb")
            self.assertERR(f.readline())	# not before a login
            return s, f
        self.after_handshake(srv, stls)

    def test_rsa_key_not_in_prelogin_mid_handshake(self):
        """While a handshake waits for the client's second flight, the
        server has signed (ServerKeyExchange): the pre-login process never
        held the key for that."""
        srv = self.rsa_server()
        key, seeds = self.secrets(srv, rsa_secrets(srv.key))
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=IO_TIMEOUT)
        self.addCleanup(raw.close)
        inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = self.ctx(self.rsa_cert).wrap_bio(inc, out,
                                               server_hostname="localhost")
        with self.assertRaises(ssl.SSLWantReadError):
            tls.do_handshake()
        raw.sendall(out.read())
        # The server's flight up to ServerHelloDone, which ends it.
        got = b""
        while not got.endswith(bytes.fromhex("0e000000")):
            data = raw.recv(65536)
            self.assertNotEqual(data, b"")
            got += data
        mon, pre = self.processes(srv)
        self.assertFalse(self.holds(pre, key + seeds))
        self.assertFalse(self.holds(mon, key))

    def test_rsa_ticket_resumes(self):
        srv = self.rsa_server()
        ctx = self.ctx(self.rsa_cert)
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        s1 = self.tls_sock(srv, ctx=ctx)
        self.assertOK(s1.recv(100))
        sess = s1.session
        self.assertTrue(sess.has_ticket)
        s1.close()
        s2 = self.tls_sock(srv, session=sess, ctx=ctx)
        f = s2.makefile("rb")
        self.assertOK(f.readline())
        self.assertTrue(s2.session_reused)
        self.login(f, s2.sendall)

    def test_rsa_sni_certificate_signed_by_monitor(self):
        """The monitor signs with the key of the certificate SNI chose
        (a tls_sni RSA one, beside an ECDSA default)."""
        kw = {"tls_ciphers": "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 " +
              RSA_TLS12} if pop3d_tls13() else {}
        srv = self.tls_server(default_messages(), start=False, **kw)
        o_crt, o_key = make_cert(srv.dir, "o", cn="other.test",
                                 sans=("DNS:other.test",), rsa=True)
        srv.extra["tls_sni"] = "other.test %s %s" % (o_crt, o_key)
        chown_tree(srv.dir)
        srv.start()
        self.assertRegex(srv.log(), re.escape("TLS key " + o_key) +
                         r" \(RSA[^)]*\): separated")
        s = self.tls_sock(srv, "other.test", cafile=o_crt)
        self.assertEqual(s.getpeercert(True), der(o_crt))
        f = s.makefile("rb")
        self.assertOK(f.readline())
        self.login(f, s.sendall)
        self.wait_log(srv, "TLS-ECDHE-RSA-WITH-")
        self.wait_log(srv, "(SNI other.test: certificate of tls_sni "
                      "other.test)")

    def test_ecdsa_key_not_separated_and_said_so(self):
        srv = self.tls_server(default_messages())
        key, seeds = self.secrets(srv, ec_secrets(srv.key))
        self.assertRegex(srv.log(), re.escape("TLS key " + srv.key) +
                         r" \(EC[^)]*\): not separated")
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.processes(srv)
        # What the line says: the pre-login process has the key for the
        # handshake STLS may start; the ticket keys it never has.
        self.assertTrue(self.holds(pre, key))
        self.assertFalse(self.holds(pre, seeds))
        self.assertFalse(self.holds(mon, key))
        s = self.tls_sock(srv)
        f = s.makefile("rb")
        self.assertOK(f.readline())
        self.login(f, s.sendall)

    @NEEDS_TLS13
    def test_rsa_with_tls13_not_separated_but_works(self):
        """On mbedTLS 3, TLS 1.3 with an RSA key needs RSA-PSS from the
        handshake's process: with TLS 1.3 suites allowed (the default)
        the key stays there, as the start-up line says, and resumes."""
        srv = self.rsa_server(tls_ciphers="default")
        self.assertRegex(srv.log(), re.escape("TLS key " + srv.key) +
                         r" \(RSA[^)]*\): not separated")
        ctx = self.ctx(self.rsa_cert)
        s1 = self.tls_sock(srv, ctx=ctx)
        self.assertEqual(s1.version(), "TLSv1.3")
        self.assertOK(s1.recv(100))
        sess = s1.session
        s1.close()
        s2 = self.tls_sock(srv, session=sess, ctx=ctx)
        self.assertOK(s2.recv(100))
        self.assertTrue(s2.session_reused)


class ConfigTest(TlsCase):

    def run_t(self, srv):
        srv.write_conf(srv.port or 1, None)
        return srv.run(["-t", "-f", srv.conf_path])

    def test_t_says_which_keys_are_separated(self):
        srv = self.tls_server(start=False)
        rsa_cert, rsa_key = make_cert(srv.dir, "rsa", cn="other.test",
                                      sans=("DNS:other.test",), rsa=True)
        chown_tree(srv.dir)
        srv.extra["tls_sni"] = "other.test %s %s" % (rsa_cert, rsa_key)
        if pop3d_tls13():
            srv.extra["tls_ciphers"] = "TLS-ECDHE-ECDSA-WITH-AES-128-" \
                "GCM-SHA256 TLS-ECDHE-RSA-WITH-AES-128-GCM-SHA256"
        r = self.run_t(srv)
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("TLS key %s (EC 256 bits): not separated: " %
                      srv.key, out)
        self.assertIn("TLS key %s (RSA 2048 bits): separated: " % rsa_key,
                      out)
        if pop3d_tls13():
            self.assertIn("TLS suites: tls_ciphers's order, "
                          "TLS-ECDHE-ECDSA-WITH-AES-128-GCM-SHA256 first\n",
                          out)
        else:
            self.assertRegex(out, r"TLS suites: \S+ first, then .*: "
                             r"mbedTLS seals here AES-128-GCM \d+ MB/s")

    def t_fails(self, srv, *texts):
        """pop3d -t refuses srv's configuration, saying every one of
        texts on stderr; returns stderr."""
        r = self.run_t(srv)
        err = r.stderr.decode()
        self.assertNotEqual(r.returncode, 0, err)
        for t in texts:
            self.assertIn(t, err)
        return err

    def put(self, srv, name, data):
        path = os.path.join(srv.dir, name)
        with open(path, "w") as fh:
            fh.write(data)
        os.chmod(path, 0o600)
        return path

    def test_bad_tls_files_are_reported(self):
        srv = self.tls_server(start=False)
        shutil.copy(self.key2, srv.key)	# not the certificate's key
        self.t_fails(srv, "tls_key %s: the private key does not match the "
                     "certificate %s (" % (srv.key, srv.cert))
        srv.extra["tls_key"] = os.path.join(srv.dir, "missing.key")
        self.t_fails(srv, "tls_key %s/missing.key: no such file (No such "
                     "file or directory)" % srv.dir)
        shutil.copy(self.key, srv.key)
        srv.extra["tls_key"] = srv.key
        srv.extra["tls_ciphers"] = "TLS-RSA-WITH-NOTHING"
        r = self.run_t(srv)
        self.assertIn(b"TLS-RSA-WITH-NOTHING", r.stderr)
        del srv.extra["tls_ciphers"]
        self.assertEqual(self.run_t(srv).returncode, 0)
        srv.extra["tls_cert"] = srv.cert
        del srv.extra["tls_key"]
        r = self.run_t(srv)
        self.assertIn(b"tls_cert and tls_key go together", r.stderr)

    def test_missing_certificate(self):
        srv = self.tls_server(start=False)
        srv.extra["tls_cert"] = os.path.join(srv.dir, "missing.crt")
        self.t_fails(srv, "tls_cert %s/missing.crt: no such file (PK - "
                     "Read/write of file failed, -0x3e00)" % srv.dir)

    def test_directory_given_as_files(self):
        srv = self.tls_server(start=False)
        srv.extra["tls_key"] = srv.dir
        self.t_fails(srv, "tls_key %s: a directory, not a file (" % srv.dir)
        srv.extra.update(tls_cert=srv.dir, tls_key=srv.key)
        self.t_fails(srv, "tls_cert %s: a directory, not a file (" %
                     srv.dir)
        # a FIFO would have blocked mbedTLS's read for ever
        fifo = os.path.join(srv.dir, "cert.fifo")
        os.mkfifo(fifo)
        srv.extra.update(tls_cert=fifo)
        self.t_fails(srv, "tls_cert %s: not a regular file (" % fifo)
        srv.extra.update(tls_cert=srv.cert, tls_key=fifo)
        self.t_fails(srv, "tls_key %s: not a regular file (" % fifo)

    def test_unreadable_key(self):
        # Root reads a file of any mode (and searches any directory), so
        # pop3d -t runs as RUN_AS here when the tests run as root.
        srv = self.tls_server(start=False)
        os.chmod(srv.key, 0)
        srv.write_conf(srv.port or 1, None)
        os.chmod(srv.conf_path, 0o644)

        def drop():
            if IS_ROOT:
                import pwd
                pw = pwd.getpwnam(RUN_AS)
                os.setgroups([])
                os.setgid(pw.pw_gid)
                os.setuid(pw.pw_uid)

        r = subprocess.run([pop3d_path(), "-t", "-f", srv.conf_path],
                           capture_output=True, timeout=PROC_TIMEOUT,
                           preexec_fn=drop)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("tls_key %s: pop3d may not read it: check the modes "
                      "and owners of the file and of the directories above "
                      "it (Permission denied)" % srv.key, r.stderr.decode())

    def test_certificate_and_key_swapped(self):
        srv = self.tls_server(start=False)
        srv.extra["tls_key"] = srv.cert
        self.t_fails(srv, "tls_key %s: a certificate, not a private key: "
                     "tls_cert and tls_key swapped? (PK - " % srv.cert)
        srv.extra.update(tls_cert=srv.key, tls_key=srv.key)
        self.t_fails(srv, "tls_cert %s: a private key, not a certificate: "
                     "tls_cert and tls_key swapped? (X509 - " % srv.key)

    def test_garbage_files(self):
        srv = self.tls_server(start=False)
        junk = self.put(srv, "junk", "not PEM, not DER\n")
        srv.extra["tls_key"] = junk
        self.t_fails(srv, "tls_key %s: not a private key in PEM or DER (PK "
                     "- Invalid key tag or value, -0x3d00)" % junk)
        srv.extra.update(tls_cert=junk, tls_key=srv.key)
        self.t_fails(srv, "tls_cert %s: not a certificate in PEM or DER "
                     "(X509 - " % junk)

    def test_encrypted_key(self):
        srv = self.tls_server(start=False)
        enc = os.path.join(srv.dir, "enc.key")
        subprocess.run(["openssl", "pkey", "-in", srv.key, "-aes256",
                        "-passout", "pass:secret", "-out", enc],
                       check=True, capture_output=True, timeout=PROC_TIMEOUT)
        srv.extra["tls_key"] = enc
        self.t_fails(srv, "tls_key %s: an encrypted private key, and pop3d "
                     "can't ask for its passphrase: " % enc, "-0x3c00)")

    def test_sni_files_are_named(self):
        srv = self.tls_server(start=False)
        srv.extra["tls_sni"] = "other.test %s %s" % (srv.cert, srv.cert)
        self.t_fails(srv, "tls_sni other.test key %s: a certificate, not a "
                     "private key" % srv.cert)

    def test_key_mode_warning(self):
        srv = self.tls_server(start=False)
        os.chmod(srv.key, 0o600)
        r = self.run_t(srv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertNotIn(b"chmod", r.stderr)
        os.chmod(srv.key, 0o640)
        r = self.run_t(srv)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("tls_key %s: mode 0640 lets its group read the "
                      "private key; make it the owner's alone: chmod 600 %s"
                      % (srv.key, srv.key), r.stderr.decode())
        os.chmod(srv.key, 0o666)
        r = self.run_t(srv)
        self.assertIn("tls_key %s: mode 0666 lets its group and others read "
                      "and change the private key" % srv.key,
                      r.stderr.decode())

    def test_certificate_dates_warning(self):
        try:
            from cryptography import x509
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import ec
            from cryptography.x509.oid import NameOID
        except ImportError:
            self.skipTest("no Python cryptography to date a certificate")
        import datetime
        srv = self.tls_server(start=False)
        with open(srv.key, "rb") as fh:
            key = serialization.load_pem_private_key(fh.read(), None)
        self.assertIsInstance(key, ec.EllipticCurvePrivateKey)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                             "localhost")])
        day = datetime.timedelta(days=1)
        now = datetime.datetime.now(datetime.timezone.utc).replace(
            microsecond=0)
        for start, end, text in (
                (now - 3 * day, now - day, "the certificate expired on "),
                (now + day, now + 3 * day,
                 "the certificate is not valid before ")):
            crt = (x509.CertificateBuilder().subject_name(name)
                   .issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(start).not_valid_after(end)
                   .sign(key, hashes.SHA256()))
            with open(srv.cert, "wb") as fh:
                fh.write(crt.public_bytes(serialization.Encoding.PEM))
            r = self.run_t(srv)
            self.assertEqual(r.returncode, 0, r.stderr)
            when = (end if "expired" in text else start).strftime(
                "%Y-%m-%d %H:%M:%S UTC")
            self.assertIn("tls_cert %s: %s%s; clients will refuse it" %
                          (srv.cert, text, when), r.stderr.decode())

    def test_sighup_says_what_is_wrong(self):
        srv = self.tls_server()
        shutil.copy(self.cert, srv.key)
        os.kill(srv.proc.pid, signal.SIGHUP)
        self.wait_log(srv, "TLS reload failed, keeping the old")
        self.assertIn("tls_key %s: a certificate, not a private key" %
                      srv.key, srv.log())

if __name__ == "__main__":
    unittest.main()
