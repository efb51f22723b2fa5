# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The PROXY protocol end to end: headers sent by hand (v1, v2, malformed,
untrusted), limits by the real address, and a real HAProxy (Debian's
haproxy package) in front of two pop3d instances sharing one spool."""

import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (wait_for, Pop3dCase, Client, message, free_port,  # noqa: E402
                     pop3d_path, PROC_TIMEOUT)

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
SIG2 = b"\r\n\r\n\x00\r\nQUIT\n"


def v2_tcp4(src, sport, dst="127.0.0.1", dport=110, tlvs=b""):
    body = socket.inet_aton(src) + socket.inet_aton(dst) + \
        struct.pack("!HH", sport, dport) + tlvs
    return SIG2 + bytes([0x21, 0x11]) + struct.pack("!H", len(body)) + body


class ProxyHeaderTest(Pop3dCase):

    def setUp(self):
        self.srv = self.server([message("a", "x\n")],
                               conf={"proxy_trusted": "127.0.0.0/8",
                                     "max_sessions_per_ip": 2})

    def proxied(self, header):
        c = self.client(self.srv)
        c.send(header)
        return c

    def test_v1_real_address_in_log(self):
        c = self.proxied(b"PROXY TCP4 203.0.113.5 127.0.0.1 50123 110\r\n")
        self.assertOK(c.line())
        # 203.0.113.5 is not loopback: plaintext_auth local refuses it.
        r = c.cmd("USER alice")
        self.assertTrue(r.startswith(b"-ERR [AUTH] plaintext"), r)
        c.close()
        self.assertTrue(wait_for(lambda: "203.0.113.5:50123" in
                                 self.srv.log()), self.srv.log())

    def test_v2_with_tlv_and_loopback_client(self):
        c = self.proxied(v2_tcp4("127.0.0.9", 40000,
                                 tlvs=b"\x05\x00\x03abc"))
        self.assertOK(c.login("alice", "secret"))
        self.assertOK(c.cmd("QUIT"))
        self.assertTrue(wait_for(lambda: "127.0.0.9:40000" in
                                 self.srv.log()))

    def test_v1_tcp6(self):
        c = self.proxied(b"PROXY TCP6 2001:db8::5 ::1 4444 110\r\n")
        self.assertOK(c.line())
        c.close()
        self.assertTrue(wait_for(lambda: "[2001:db8::5]:4444" in
                                 self.srv.log()))

    def test_malformed_or_missing_closes(self):
        for bad in (b"PROXY TCP4 203.0.113.5 127.0.0.1 50123\r\n",
                    b"PROXY TCP4 999.0.113.5 127.0.0.1 1 110\r\n",
                    SIG2 + b"\x21\x11\x00\x05abcde",
                    b"CAPA\r\n"):
            c = self.proxied(bad)
            self.assertEqual(c.read_until_eof(), b"", bad)
            c.close()
        self.assertIn("malformed PROXY header", self.srv.log())

    def test_limit_counts_the_real_address(self):
        hdr = b"PROXY TCP4 198.51.100.1 127.0.0.1 %d 110\r\n"
        a = self.proxied(hdr % 1)
        b = self.proxied(hdr % 2)
        self.assertOK(a.line())
        self.assertOK(b.line())
        third = self.proxied(hdr % 3)
        self.assertTrue(third.read_until_eof().startswith(
            b"-ERR [SYS/TEMP]"))
        # Another client behind the same balancer is not affected.
        d = self.proxied(b"PROXY TCP4 198.51.100.2 127.0.0.1 9 110\r\n")
        self.assertOK(d.line())


class UntrustedTest(Pop3dCase):

    def test_untrusted_header_closes_plain_client_served(self):
        """A header already waiting when the session starts, from an
        untrusted address, closes the connection.  The session is started
        as inetd would, on a TCP connection whose header was sent before
        it: a daemon's session may look before the client's bytes arrive
        (the check is a peek, best effort), which made this racy."""
        srv = self.server([message("a", "x\n")],
                          conf={"proxy_trusted": "192.0.2.0/24"})
        lsock = socket.create_server(("127.0.0.1", 0))
        self.addCleanup(lsock.close)
        c = socket.create_connection(lsock.getsockname(), timeout=10)
        self.addCleanup(c.close)
        c.sendall(b"PROXY TCP4 203.0.113.5 127.0.0.1 50123 110\r\n")
        conn, _ = lsock.accept()
        with open(srv.log_path, "ab") as log:
            p = subprocess.run([pop3d_path(), "-d", "-i", "-f",
                                srv.conf_path],
                               stdin=conn, stdout=conn, stderr=log,
                               timeout=PROC_TIMEOUT)
        conn.close()
        self.assertNotEqual(p.returncode, 0)
        try:
            got = c.recv(100)
        except ConnectionResetError:	# closed with the header unread
            got = b""
        self.assertEqual(got, b"", "closed without a reply")
        self.assertIn("untrusted address", srv.log())
        # The daemon still serves a normal client.
        c2 = self.client(srv)
        self.assertOK(c2.login("alice", "secret"))


@unittest.skipUnless(os.path.exists(HAPROXY), "haproxy not installed")
class HAProxyTest(Pop3dCase):
    """HAProxy on loopback balancing two pop3d over one spool directory;
    one server gets PROXY v1, the other v2."""

    def setUp(self):
        conf = {"proxy_trusted": "127.0.0.1/32", "plaintext_auth": "yes"}
        self.a = self.server([message("one", "1\n"), message("two", "2\n")],
                             conf=conf, start=False)
        self.b = self.server(conf=conf, start=False)
        # b serves a's spool: same passwd file, same mailbox template.
        self.b.passwd = self.a.passwd
        self.b.maildir = self.a.maildir
        self.a.start()
        self.b.start()
        self.port = free_port()
        d = tempfile.mkdtemp(prefix="pop3d-haproxy-")
        self.addCleanup(shutil.rmtree, d, True)
        cfg = os.path.join(d, "haproxy.cfg")
        with open(cfg, "w") as f:
            f.write("""global
    maxconn 100
defaults
    mode tcp
    timeout connect 5s
    timeout client 60s
    timeout server 60s
frontend pop3
    bind 127.0.0.1:%d
    default_backend pop3d
backend pop3d
    balance roundrobin
    server a 127.0.0.1:%d send-proxy
    server b 127.0.0.1:%d send-proxy-v2 proxy-v2-options crc32c
""" % (self.port, self.a.port, self.b.port))
        self.hlog = open(os.path.join(d, "haproxy.log"), "wb")
        self.addCleanup(self.hlog.close)
        self.hp = subprocess.Popen([HAPROXY, "-db", "-f", cfg],
                                   stdin=subprocess.DEVNULL,
                                   stdout=self.hlog, stderr=self.hlog,
                                   start_new_session=True)
        self.addCleanup(self._stop_haproxy)
        self.assertTrue(wait_for(lambda: self.port in
                                 harness._listening_ports()))

    def _stop_haproxy(self):
        try:
            os.killpg(self.hp.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.hp.wait(5)

    def connect(self):
        """A client from 127.0.0.2, so its address differs from HAProxy's."""
        c = Client(self.port, source="127.0.0.2")
        self.addCleanup(c.close)
        return c

    def test_sessions_through_the_balancer(self):
        ports = []
        for _ in range(4):
            c = self.connect()
            ports.append(c.sock.getsockname()[1])
            self.assertOK(c.login("alice", "secret"))
            self.assertTrue(c.cmd("STAT").startswith(b"+OK 2 "))
            self.assertOK(c.cmd("QUIT"))
            c.close()
        logs = self.a.log() + self.b.log()
        for p in ports:
            self.assertTrue(wait_for(lambda: "127.0.0.2:%d" % p in
                                     self.a.log() + self.b.log()),
                            logs)
        # Round robin: both servers served someone.
        self.assertIn("127.0.0.2:", self.a.log())
        self.assertIn("127.0.0.2:", self.b.log())

    def test_one_mailbox_two_servers(self):
        c1 = self.connect()
        self.assertOK(c1.login("alice", "secret"))
        c2 = self.connect()	# round robin: the other server
        r = c2.login("alice", "secret")
        self.assertTrue(r.startswith(b"-ERR [IN-USE]"), r)
        self.assertOK(c1.cmd("DELE 1"))
        self.assertOK(c1.cmd("QUIT"))
        c1.close()
        time.sleep(0.3)
        c3 = self.connect()
        self.assertOK(c3.login("alice", "secret"))
        self.assertTrue(c3.cmd("STAT").startswith(b"+OK 1 "))


if __name__ == "__main__":
    unittest.main()
