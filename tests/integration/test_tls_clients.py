# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Real clients on other TLS stacks against pop3d's TLS: curl (OpenSSL),
openssl s_client, mpop (GnuTLS) and fetchmail (OpenSSL), each fetching
mail over implicit TLS and over STLS and checking the bytes."""

import glob
import os
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (ClientTlsCase, pop_form, default_messages,  # noqa: E402
                     curl, stuff, lf, pop3d_tls13, PROC_TIMEOUT)


class ClientCase(ClientTlsCase):

    def setUp(self):
        super().setUp()
        self.msgs = default_messages()
        # plaintext_auth no: a client that skipped TLS could not log in.
        self.srv = self.tls_server(self.msgs, plaintext_auth="no",
                                   expire="never")

    def check_delivered(self, outdir, strip_received=False):
        """Every message arrived once, byte for byte (LF line ends)."""
        files = sorted(glob.glob(os.path.join(outdir, "m.*")),
                       key=os.path.getmtime)
        got = []
        for f in files:
            with open(f, "rb") as fh:
                data = fh.read()
            if strip_received:
                # fetchmail prepends its own Received: header (folded).
                while data.startswith(b"Received:") or \
                        data[:1] in (b" ", b"\t"):
                    data = data[data.index(b"\n") + 1:]
            got.append(data)
        want = [lf(pop_form(m)) for m in self.msgs]
        self.assertEqual(sorted(got), sorted(want))


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class CurlTlsTest(ClientCase):

    def curl(self, url):
        r = curl(["--cacert", self.cert, "-u", "alice:secret", url])
        if r.returncode != 0:
            self.fail("curl %s: exit %d %s\n%s" % (
                url, r.returncode, r.stderr.decode(), self.srv.log()))
        return r.stdout

    def test_pop3s(self):
        base = "pop3s://localhost:%d/" % self.srv.tls_port
        for n, m in enumerate(self.msgs, 1):
            self.assertEqual(self.curl(base + str(n)), pop_form(m))
        self.assertTlsLogged(len(self.msgs))

    def test_pop3_ssl_reqd(self):
        base = "pop3://localhost:%d/" % self.srv.port
        out = curl(["--ssl-reqd", "--cacert", self.cert, "-u",
                    "alice:secret", base + "6"])
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, pop_form(self.msgs[5]))
        self.assertTlsLogged()


class OpensslTest(ClientCase):

    def s_client(self, extra):
        script = b"USER alice\nPASS secret\nRETR 2\nRETR 6\nQUIT\n"
        r = subprocess.run(
            ["openssl", "s_client", "-quiet", "-crlf", "-ign_eof",
             "-verify_return_error", "-CAfile", self.cert,
             "-verify_hostname", "localhost"] + extra,
            input=script, capture_output=True, timeout=PROC_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def check(self, out):
        for i in (1, 5):
            # The reply line, then the byte-stuffed message and ".".
            want = b"+OK %d octets\r\n" % len(pop_form(self.msgs[i])) + \
                stuff(pop_form(self.msgs[i])) + b".\r\n"
            self.assertTrue(want in out, "message %d differs" % (i + 1))
        self.assertTrue(out.endswith(b"signing off (0 messages "
                                     b"deleted)\r\n"), out[-200:])

    def test_connect_tls_port(self):
        self.check(self.s_client(
            ["-connect", "127.0.0.1:%d" % self.srv.tls_port]))

    def test_starttls_pop3(self):
        self.check(self.s_client(
            ["-starttls", "pop3", "-connect",
             "127.0.0.1:%d" % self.srv.port]))
        self.assertTlsLogged()


def assert_rsa_key_separated(case):
    """The start-up line for an RSA key: the monitor signs, except on
    mbedTLS 3 with TLS 1.3 allowed (RSA-PSS)."""
    want = "): not separated" if pop3d_tls13() else "): separated"
    case.assertIn("TLS key %s (RSA 2048 bits%s" % (case.srv.extra["tls_key"],
                                                   want), case.srv.log())


@unittest.skipUnless(shutil.which("curl"), "curl not installed")
class RsaCurlTlsTest(CurlTlsTest):
    """curl with an RSA certificate, whose key the monitor keeps."""

    RSA = True

    def test_key_separated(self):
        assert_rsa_key_separated(self)


class RsaOpensslTest(OpensslTest):
    """openssl s_client with an RSA certificate, whose key the monitor
    keeps."""

    RSA = True

    def test_key_separated(self):
        assert_rsa_key_separated(self)


@unittest.skipUnless(shutil.which("mpop"), "mpop not installed")
class MpopTest(ClientCase):
    """mpop is built on GnuTLS."""

    def mpop(self, port, starttls):
        out = os.path.join(self.work, "out")
        os.mkdir(out)
        rc = os.path.join(self.work, "mpoprc")
        with open(rc, "w") as f:
            f.write("account test\n"
                    "host 127.0.0.1\n"
                    "port %d\n"
                    "user alice\n"
                    "password secret\n"
                    "auth user\n"
                    "tls on\n"
                    "tls_starttls %s\n"
                    "tls_trust_file %s\n"
                    "tls_host_override localhost\n"
                    "keep on\n"
                    "received_header off\n"
                    "uidls_file %s/uidls\n"
                    "delivery mda \"cat > $(mktemp %s/m.XXXXXX)\"\n" % (
                        port, "on" if starttls else "off", self.cert,
                        self.work, out))
        os.chmod(rc, 0o600)
        self.run_client(["mpop", "-C", rc, "-q", "test"])
        self.check_delivered(out)
        self.assertTlsLogged()

    def test_mpop_implicit_tls(self):
        self.mpop(self.srv.tls_port, False)

    def test_mpop_stls(self):
        self.mpop(self.srv.port, True)


@unittest.skipUnless(shutil.which("fetchmail"), "fetchmail not installed")
class FetchmailTest(ClientCase):
    """fetchmail is built on OpenSSL."""

    def fetchmail(self, port, implicit):
        out = os.path.join(self.work, "out")
        os.mkdir(out)
        rc = os.path.join(self.work, "fetchmailrc")
        with open(rc, "w") as f:
            f.write("set no bouncemail\n"
                    "poll 127.0.0.1 proto POP3 port %d auth password\n"
                    "  user alice there with password secret is root here\n"
                    "  options keep fetchall %s sslcertck\n"
                    "  sslcertfile %s sslcommonname localhost\n"
                    "  mda \"/bin/sh -c 'cat > $(mktemp %s/m.XXXXXX)'\"\n" % (
                        port, "ssl" if implicit else "sslproto tls1.2+",
                        self.cert, out))
        os.chmod(rc, 0o600)
        self.run_client(["fetchmail", "-f", rc, "-N", "--nosyslog",
                         "-i", os.path.join(self.work, "ids")])
        self.check_delivered(out, strip_received=True)
        self.assertTlsLogged()

    def test_fetchmail_implicit_tls(self):
        self.fetchmail(self.srv.tls_port, True)

    def test_fetchmail_stls(self):
        self.fetchmail(self.srv.port, False)


if __name__ == "__main__":
    unittest.main()
