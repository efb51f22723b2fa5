# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""dist/fail2ban: the filter matches every failed login pop3d logs (USER/PASS,
AUTH PLAIN, APOP; plain and TLS; 127.0.0.1 and ::1) and nothing else:
not a login that worked, not [IN-USE] after a good password, not a
plaintext_auth refusal.  Checked with fail2ban-regex on the daemon's own
log, laid out as rsyslog writes /var/log/mail.log."""

import base64
import hashlib
import os
import re
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import (CertMixin, Pop3dCase, Client, REPO,  # noqa: E402
                     PROC_TIMEOUT, have_ipv6_loopback, message, tls_conf,
                     chown_tree)

FILTER = os.path.join(REPO, "dist", "fail2ban", "filter.d", "pop3d.conf")
JAIL = os.path.join(REPO, "dist", "fail2ban", "jail.d", "pop3d.conf")
# The filter includes fail2ban's common.conf, as installed filters do.
COMMON = "/etc/fail2ban/filter.d/common.conf"
PASSWORD = "alice pw"
APOP_SECRET = "dave apop secret"


def plain(user, password):
    return base64.b64encode(("\0%s\0%s" % (user, password)).encode()).decode()


def as_syslog(log):
    """pop3d -d's lines ("pop3d[PID]: ...") as rsyslog writes them to
    mail.log: Debian 12's RFC 3339 stamps and the traditional ones."""
    out = []
    for i, line in enumerate(log.splitlines()):
        if i % 2:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000000+00:00",
                                  time.gmtime())
        else:
            stamp = time.strftime("%b %e %H:%M:%S")
        out.append("%s mx %s\n" % (stamp, line))
    return "".join(out)


class Fail2banTest(CertMixin, Pop3dCase):

    def setUp(self):
        exe = shutil.which("fail2ban-regex")
        if exe is None:
            self.skipTest("fail2ban-regex not installed (apt-get install "
                          "fail2ban, or sh tools/deps.sh test)")
        if not os.path.exists(COMMON):
            self.skipTest(COMMON + " missing: fail2ban-regex can't load "
                          "the filter")
        r = subprocess.run([exe, "--version"], capture_output=True,
                           timeout=PROC_TIMEOUT)
        if r.returncode != 0:
            self.skipTest("fail2ban-regex does not run: %r" % r.stderr[-300:])
        self.exe = exe
        self.work = tempfile.mkdtemp(prefix="pop3d-f2b-")
        self.addCleanup(shutil.rmtree, self.work, True)
        # fail2ban-regex resolves "before = common.conf" next to the filter.
        os.mkdir(os.path.join(self.work, "filter.d"))
        shutil.copy(COMMON, os.path.join(self.work, "filter.d"))
        self.filter = os.path.join(self.work, "filter.d", "pop3d.conf")
        shutil.copy(FILTER, self.filter)

    def matched_ips(self, text):
        """The address of every line of text the filter matches."""
        path = os.path.join(self.work, "mail.log")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([self.exe, "-o", "ip", path, self.filter],
                           capture_output=True, timeout=PROC_TIMEOUT)
        self.assertEqual(r.returncode, 0, r.stderr.decode()[-2000:])
        return r.stdout.decode().split()

    def start(self, **conf):
        ipv6 = have_ipv6_loopback()
        srv = self.server([message("a", "hello\n")], start=False,
                          ipv6=ipv6, tls=True,
                          users={"alice": PASSWORD, "dave": "unused"})
        crt, key = (os.path.join(srv.dir, n) for n in ("s.crt", "s.key"))
        shutil.copy(self.cert, crt)
        shutil.copy(self.key, key)
        apop = os.path.join(srv.dir, "apop")
        with open(apop, "w") as f:
            f.write("dave:%s\n" % APOP_SECRET)
        os.chmod(apop, 0o600)
        srv.extra.update(tls_conf(crt, key, apop="yes", apop_file=apop,
                                  auth_fail_delay_max=1, **conf))
        srv.write_mbox([message("d", "for dave\n")], user="dave")
        chown_tree(srv.dir)
        return srv.start(), ipv6

    def connect(self, srv, host, tls):
        """A Client with the greeting read: over implicit TLS (127.0.0.1),
        STLS (::1, which has no TLS port here) or plain."""
        ctx = ssl.create_default_context(cafile=self.cert)
        if tls and ":" not in host:
            c = Client(srv.tls_port, host)
            c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        else:
            c = srv.client(host)
        self.addCleanup(c.close)
        c.greeting = c.line()
        if tls and ":" in host:
            self.assertOK(c.cmd("STLS"))
            c.sock = ctx.wrap_socket(c.sock, server_hostname="localhost")
        return c

    def wait_count(self, srv, pattern, n):
        deadline = time.monotonic() + 5
        while len(re.findall(pattern, srv.log(), re.M)) < n and \
                time.monotonic() < deadline:
            time.sleep(0.05)

    def test_filter_matches_each_failed_login_only(self):
        srv, ipv6 = self.start()
        hosts = ["127.0.0.1"] + (["::1"] if ipv6 else [])
        fails = logouts = 0
        for host in hosts:
            for tls in (False, True):
                # Two failures and a good login on one connection, then
                # a wrong APOP digest and a good one on another.
                c = self.connect(srv, host, tls)
                self.assertOK(c.cmd("USER alice"))
                self.assertERR(c.cmd("PASS wrong"))
                self.assertERR(c.cmd("AUTH PLAIN " + plain("alice", "no")))
                self.assertOK(c.cmd("AUTH PLAIN " + plain("alice",
                                                          PASSWORD)))
                self.assertOK(c.cmd("QUIT"))
                c = self.connect(srv, host, tls)
                stamp = re.search(rb"<[\x21-\x7e]+>", c.greeting).group(0)
                self.assertERR(c.cmd("APOP dave " + "0" * 32))
                digest = hashlib.md5(stamp + APOP_SECRET.encode())
                self.assertOK(c.cmd("APOP dave " + digest.hexdigest()))
                self.assertOK(c.cmd("QUIT"))
                fails += 3
                logouts += 2
                self.wait_count(srv, r"\] logout ", logouts)
        # A good password for a maildrop in use: not a guess.
        a = self.connect(srv, "127.0.0.1", False)
        self.assertOK(a.cmd("USER alice"))
        self.assertOK(a.cmd("PASS " + PASSWORD))
        b = self.connect(srv, "127.0.0.1", False)
        self.assertOK(b.cmd("USER alice"))
        self.assertTrue(b.cmd("PASS " + PASSWORD).startswith(
            b"-ERR [IN-USE]"))
        self.wait_count(srv, r"failed, maildrop in use$", 1)
        self.wait_count(srv, r"\): failed, ", fails + 1)
        log = srv.log()
        failed = re.findall(r"^.*\): failed, .*$", log, re.M)
        ok = re.findall(r"^.*\): ok, \d+ messages$", log, re.M)
        self.assertEqual(len(failed), fails + 1, log)
        self.assertEqual(len(ok), 2 * len(hosts) * 2 + 1, log)

        ips = self.matched_ips(as_syslog(log))
        self.assertEqual(len(ips), fails, log)
        want = {"127.0.0.1": 3 * 2, "::1": 3 * 2 if ipv6 else 0}
        self.assertEqual({h: ips.count(h) for h in want}, want)
        # Over TLS the lines name the protocol and suite, and match too.
        tls_failed = [l for l in failed if re.search(
            r"\((USER|APOP|AUTH PLAIN), TLSv1\.[23] [A-Z0-9-]+\): failed, ",
            l) and "maildrop in use" not in l]
        self.assertEqual(len(tls_failed), fails // 2, log)
        self.assertEqual(len(self.matched_ips(as_syslog(
            "\n".join(tls_failed)))), fails // 2)
        self.assertEqual(self.matched_ips(as_syslog("\n".join(ok))), [])
        self.assertEqual(self.matched_ips(as_syslog(
            "\n".join(l for l in failed if "maildrop in use" in l))), [])
        if not ipv6:
            self.skipTest("no ::1 here: only 127.0.0.1 was checked")

    def test_plaintext_refusal_does_not_match(self):
        srv, _ = self.start(plaintext_auth="no")
        c = self.connect(srv, "127.0.0.1", False)
        self.assertERR(c.cmd("USER alice"))
        c = self.connect(srv, "127.0.0.1", False)
        self.assertERR(c.cmd("AUTH PLAIN " + plain("alice", "guess")))
        self.wait_count(srv, r": refused, ", 2)
        log = srv.log()
        self.assertEqual(len(re.findall(r": refused, ", log)), 2, log)
        self.assertEqual(self.matched_ips(as_syslog(log)), [])

    def test_server_fault_does_not_match(self):
        """A password that could not be checked (here the passwd file has
        gone) is the server's fault, whatever the reason after it."""
        srv, _ = self.start()
        os.unlink(srv.passwd)
        c = self.connect(srv, "127.0.0.1", True)
        self.assertOK(c.cmd("USER alice"))
        self.assertTrue(c.cmd("PASS " + PASSWORD).startswith(
            b"-ERR [SYS/TEMP]"))
        self.wait_count(srv, r"\): failed, credentials could not be checked "
                        r"\(passwd file unreadable\)$", 1)
        log = srv.log()
        self.assertIn("(passwd file unreadable)", log)
        self.assertEqual(self.matched_ips(as_syslog(log)), [])


class Fail2banFilesTest(unittest.TestCase):
    """What needs no fail2ban: the files agree with session.c and say
    what the README and pop3d.8 promise."""

    def test_reasons_skipped_are_session_c_texts(self):
        """The failed-login reasons the filter skips are spelled as in
        session.c (a reason renamed there would start bans)."""
        with open(FILTER) as f:
            m = re.search(r"(?m)^_not_a_guess = \(\?:(.*)\)\(\?:\$\| "
                          r"\\\(\)$", f.read())
        self.assertIsNotNone(m)
        with open(os.path.join(REPO, "session.c")) as f:
            src = f.read()
        for why in m.group(1).split("|"):
            self.assertIn('"%s"' % why, src)

    def test_jail_names_the_filter_and_ports(self):
        with open(JAIL) as f:
            jail = f.read()
        self.assertRegex(jail, r"(?m)^\[pop3d\]$")
        self.assertRegex(jail, r"(?m)^filter\s*=\s*pop3d$")
        self.assertRegex(jail, r"(?m)^port\s*=\s*pop3,\s*pop3s$")
        self.assertRegex(jail, r"(?m)^logpath\s*=\s*/var/log/mail\.log$")


if __name__ == "__main__":
    unittest.main()
