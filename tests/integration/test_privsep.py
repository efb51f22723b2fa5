# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""Privilege separation and the password backends, seen from /proc.

Before login a connection has two processes: the monitor (root) and the
pre-login process (`user', chrooted into the empty jail).  After login one
process (plain) or two (TLS: the pre-login process relays) remain, the one
serving the session running as the mailbox owner in the mailbox's directory.
"""

import os
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import unittest

import harness
from harness import (IS_ROOT, RUN_AS, CertMixin, Pop3dCase, make_cert,
                     make_jail, message, pop_form, stuff, tls_conf, wait_for)

WAIT = 5.0


def children(pid):
    return harness.session_pids(pid)


def root_dir(pid):
    return os.readlink("/proc/%d/root" % pid)


@unittest.skipUnless(IS_ROOT, "privilege separation needs root: run the "
                     "tests as root (CI does)")
class PrivsepTest(Pop3dCase):

    def setUp(self):
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)
        self.nobody = pwd.getpwnam(RUN_AS).pw_uid

    def srv_with(self, conf=None, users=None, tls=False):
        c = {"chroot": self.jail, "expire": "never"}
        c.update(conf or {})
        return self.server([message("a", "x\n")], conf=c, users=users,
                           tls=tls)

    def one_session(self, srv):
        """(monitor pid, pre-login pid) of the one open connection."""
        mon = wait_for(lambda: children(srv.proc.pid))
        self.assertEqual(len(mon), 1, mon)
        pre = wait_for(lambda: children(mon[0]))
        self.assertEqual(len(pre), 1, pre)
        return mon[0], pre[0]

    def assert_prelogin(self, mon, pre):
        self.assertEqual(harness.proc_ids(mon), [0] * 4)
        self.assertEqual(harness.proc_ids(pre), [self.nobody] * 4)
        self.assertEqual(root_dir(pre), self.jail)
        self.assertEqual(root_dir(mon), "/")

    def test_plain_before_and_after_login(self):
        srv = self.srv_with()
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.one_session(srv)
        self.assert_prelogin(mon, pre)
        self.assertOK(c.cmd("USER alice"))
        self.assertOK(c.cmd("PASS secret"))
        # One process now: the monitor became alice's session.
        self.assertTrue(wait_for(lambda: not os.path.exists(
            "/proc/%d" % pre) or children(mon) == []))
        self.assertEqual(children(srv.proc.pid), [mon])
        self.assertEqual(harness.proc_ids(mon), [self.nobody] * 4)
        self.assertEqual(root_dir(mon), srv.maildir)
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assertOK(c.cmd("QUIT"))

    def test_passwd_ids_pipelined_and_logged(self):
        # A virtual user with uid:gid fields runs as those ids, and the
        # commands pipelined behind PASS are answered by the new process.
        srv = self.srv_with(users={"alice": "secret"})
        srv.write_passwd(["bob:%s:4242:4243" % harness.make_hash("bobpw")])
        srv.write_mbox([message("b", "y\n"), message("c", "z\n")], "bob")
        os.chown(srv.mbox_path("bob"), 4242, 4243)
        os.chmod(srv.maildir, 0o777)
        c = self.client(srv)
        self.assertOK(c.line())
        c.send(b"CAPA\r\nUSER bob\r\nPASS bobpw\r\nSTAT\r\nLIST 2\r\n")
        self.assertOK(c.line())
        c.multi()
        self.assertOK(c.line())
        self.assertOK(c.line())
        self.assertTrue(c.line().startswith(b"+OK 2 "))
        self.assertTrue(c.line().startswith(b"+OK 2 "))
        mon = children(srv.proc.pid)[0]
        self.assertEqual(harness.proc_ids(mon), [4242] * 4)
        with open("/proc/%d/status" % mon) as f:
            self.assertIn("\nGid:\t4243\t4243\t4243\t4243", f.read())
        self.assertOK(c.cmd("QUIT"))
        c.read_until_eof(5)
        log = srv.log()
        ids = {l.split("[")[2].split("]")[0] for l in log.splitlines()
               if "bob" in l}
        self.assertEqual(len(ids), 1, log)
        self.assertIn("login bob from 127.0.0.1:", log)
        self.assertIn("(USER): ok, 2 messages", log)
        self.assertNotIn("bobpw", log)

    def test_session_keeps_mail_group_prelogin_does_not(self):
        # Sessions keep mail_group (dotlocks in a root:mail 2775 spool);
        # the jailed pre-login process gets no supplementary group.
        import grp
        try:
            mail = grp.getgrnam("mail").gr_gid
        except KeyError:
            self.skipTest("no group mail on this machine")

        def groups(pid):
            with open("/proc/%d/status" % pid) as f:
                line = [l for l in f if l.startswith("Groups:")][0]
            return [int(g) for g in line.split()[1:]]

        for conf, want in (({}, True), ({"mail_group": "none"}, False)):
            srv = self.srv_with(conf)
            c = self.client(srv)
            self.assertOK(c.line())
            mon, pre = self.one_session(srv)
            self.assertNotIn(mail, groups(pre))
            self.assertOK(c.cmd("USER alice"))
            self.assertOK(c.cmd("PASS secret"))
            self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
            self.assertEqual(mail in groups(mon), want, conf)
            self.assertOK(c.cmd("QUIT"))
            c.read_until_eof(5)

    def test_mail_group_follows_sighup(self):
        # mail_group is looked up again at SIGHUP: `none' there drops it
        # from the sessions that start afterwards.
        import grp
        try:
            mail = grp.getgrnam("mail").gr_gid
        except KeyError:
            self.skipTest("no group mail on this machine")
        srv = self.srv_with()
        for want in (True, False):
            c = self.client(srv)
            self.assertOK(c.line())
            self.assertOK(c.cmd("USER alice"))
            self.assertOK(c.cmd("PASS secret"))
            self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
            mon = children(srv.proc.pid)[0]
            with open("/proc/%d/status" % mon) as f:
                line = [l for l in f if l.startswith("Groups:")][0]
            self.assertEqual(mail in [int(g) for g in line.split()[1:]],
                             want)
            self.assertOK(c.cmd("QUIT"))
            c.read_until_eof(5)
            if want:
                with open(srv.conf_path, "a") as f:
                    f.write("mail_group none\n")
                srv.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_for(lambda: "configuration reloaded"
                                         in srv.log()))

    def test_groups_not_read_inside_the_spool(self):
        # A system account's groups are read before the session is jailed
        # in the mailbox's directory: an etc/group planted there (anyone
        # in the spool's group can write one) must not add groups to it.
        # Virtual users get `user''s gid alone, with no lookup at all.
        pw = pwd.getpwnam(RUN_AS)
        srv = self.srv_with(users={"alice": "secret"})
        srv.write_passwd(["%s:%s:%d:%d" % (RUN_AS, harness.make_hash("pw"),
                                           pw.pw_uid, pw.pw_gid)])
        srv.write_mbox([message("b", "y\n")], RUN_AS)
        os.chown(srv.mbox_path(RUN_AS), pw.pw_uid, pw.pw_gid)
        os.makedirs(os.path.join(srv.maildir, "etc"))
        with open(os.path.join(srv.maildir, "etc", "group"), "w") as f:
            f.write("planted:x:4711:%s\n" % RUN_AS)
        for user, pw_ in ((RUN_AS, "pw"), ("alice", "secret")):
            c = self.client(srv)
            self.assertOK(c.line())
            self.assertOK(c.cmd("USER " + user))
            self.assertOK(c.cmd("PASS " + pw_))
            self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
            mon = children(srv.proc.pid)[0]
            self.assertEqual(root_dir(mon), srv.maildir)
            with open("/proc/%d/status" % mon) as f:
                line = [l for l in f if l.startswith("Groups:")][0]
            groups = [int(g) for g in line.split()[1:]]
            self.assertNotIn(4711, groups, user)
            if user == "alice":
                self.assertEqual(sorted(set(groups) - {pw.pw_gid}),
                                 sorted(set(self.mail_gids())), groups)
            self.assertOK(c.cmd("QUIT"))
            c.read_until_eof(5)

    def mail_gids(self):
        import grp
        try:
            return [grp.getgrnam("mail").gr_gid]
        except KeyError:
            return []

    def test_tls_relay(self):
        d = tempfile.mkdtemp(prefix="pop3d-cert-")
        self.addCleanup(shutil.rmtree, d, True)
        cert, key = make_cert(d)
        srv = self.srv_with(tls_conf(cert, key), tls=True)
        ctx = ssl.create_default_context(cafile=cert)
        raw = socket.create_connection(("127.0.0.1", srv.tls_port),
                                       timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="localhost")
        self.addCleanup(s.close)
        f = s.makefile("rwb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        mon, pre = self.one_session(srv)
        self.assert_prelogin(mon, pre)
        f.write(b"USER alice\r\nPASS secret\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"+OK"))
        self.assertTrue(f.readline().startswith(b"+OK"))
        # Two processes: the relay (still jailed, unprivileged) and the
        # session; neither holds the private key.
        self.assertEqual(children(mon), [pre])
        self.assertEqual(harness.proc_ids(pre), [self.nobody] * 4)
        self.assertEqual(root_dir(pre), self.jail)
        self.assertEqual(harness.proc_ids(mon), [self.nobody] * 4)
        self.assertEqual(root_dir(mon), srv.maildir)
        f.write(b"STAT\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"+OK 1 "))
        log = wait_for(lambda: "TLSv1" in srv.log() and srv.log())
        self.assertRegex(log, r"login alice from 127\.0\.0\.1:\d+ \(USER, "
                         r"TLSv1\.[23] \S+\): ok")
        f.write(b"QUIT\r\n")
        f.flush()
        self.assertTrue(f.readline().startswith(b"+OK"))

    def test_prelogin_killed_changes_nothing(self):
        srv = self.srv_with()
        held = self.login_client(srv)		# a session that must go on
        c = self.client(srv)
        self.assertOK(c.line())
        mons = children(srv.proc.pid)
        self.assertEqual(len(mons), 2)
        pres = [p for m in mons for p in children(m)]
        self.assertEqual(len(pres), 1, pres)
        os.kill(pres[0], signal.SIGKILL)
        c.read_until_eof(5)
        self.assertTrue(wait_for(lambda: len(children(srv.proc.pid)) == 1))
        self.assertIn("pre-login process killed by signal 9", srv.log())
        self.assertIsNone(srv.proc.poll())
        self.assertOK(held.cmd("NOOP"))
        self.assertOK(held.cmd("QUIT"))
        held.read_until_eof(5)
        self.assertFalse(srv.lock_file_exists())
        self.assertOK(self.login_client(srv).cmd("STAT"))

    def shared_maps(self, pid):
        """(start, end) of pid's shared writable mappings."""
        out = []
        with open("/proc/%d/maps" % pid) as f:
            for line in f:
                fields = line.split()
                if fields[1] == "rw-s":
                    a, b = fields[0].split("-")
                    out.append((int(a, 16), int(b, 16)))
        return out

    def fill_with(self, pid, value):
        """Do what a process taken over could: write value (a pid) as
        every 32-bit word of each shared table it maps."""
        word = value.to_bytes(4, "little")
        with open("/proc/%d/mem" % pid, "r+b", buffering=0) as mem:
            for a, b in self.shared_maps(pid):
                mem.seek(a)
                mem.write(word * ((b - a) // 4))

    def test_no_process_facing_the_client_can_steer_signals(self):
        # The session table is the listener's: a pre-login process or a
        # user's session that writes pids anywhere it can must not make
        # root signal them at shutdown (here another user's process).
        srv = self.srv_with({"shutdown_timeout": "1"})
        bystander = subprocess.Popen(
            ["sleep", "60"], preexec_fn=lambda: os.setuid(4321))
        self.addCleanup(bystander.wait)
        self.addCleanup(bystander.kill)
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.one_session(srv)
        self.assertEqual(self.shared_maps(pre), [])
        self.fill_with(pre, bystander.pid)
        user = self.login_client(srv)
        mons = [m for m in children(srv.proc.pid) if m != mon]
        self.assertEqual(len(mons), 1)
        self.assertEqual(self.shared_maps(mons[0]), [])
        self.fill_with(mons[0], bystander.pid)
        # the monitor (root) keeps the table; even garbage there is no pid
        self.fill_with(mon, bystander.pid)
        srv.proc.send_signal(signal.SIGTERM)
        srv.proc.wait(10)
        self.assertIsNone(bystander.poll())
        self.assertIn("ending 2 sessions without update", srv.log())

    def fds(self, pid):
        """{fd: what it is} of pid, from /proc."""
        d = "/proc/%d/fd" % pid
        return {int(n): os.readlink(os.path.join(d, n))
                for n in os.listdir(d)}

    def test_jail_holds_only_its_descriptors(self):
        # Nothing the listener holds (the pidfile, open for writing as
        # root) and nothing a careless parent left open reaches the
        # processes of a connection.
        pidfile = os.path.join(self.jail + ".pid")
        self.addCleanup(lambda: os.path.exists(pidfile) and
                        os.unlink(pidfile))
        leak_path = tempfile.mktemp(prefix="pop3d-leak-")
        leak = open(leak_path, "w")
        self.addCleanup(os.unlink, leak_path)
        self.addCleanup(leak.close)
        srv = self.server([message("a", "x\n")], start=False,
                          conf={"chroot": self.jail, "pidfile": pidfile})
        srv.start(pass_fds=(leak.fileno(),))
        self.assertNotIn(leak_path, self.fds(srv.proc.pid).values())
        self.assertIn(pidfile, self.fds(srv.proc.pid).values())
        c = self.client(srv)
        self.assertOK(c.line())
        mon, pre = self.one_session(srv)
        for pid in (mon, pre):
            kinds = sorted("socket" if t.startswith("socket:") else t
                           for n, t in self.fds(pid).items() if n > 2)
            # the client and the channel between the two, nothing else
            self.assertEqual(kinds, ["socket", "socket"], self.fds(pid))
        self.assertEqual(self.fds(pre)[0], "/dev/null")

    def test_monitor_refuses_garbage(self):
        # A pre-login process taken over can't talk its way in: the
        # monitor answers at most three checks, then ends the session.
        srv = self.srv_with()
        c = self.client(srv)
        self.assertOK(c.line())
        for _ in range(3):
            self.assertOK(c.cmd("USER alice"))
            self.assertERR(c.cmd("PASS wrong"))
        c.read_until_eof(5)
        self.assertTrue(wait_for(lambda: children(srv.proc.pid) == []))

    def test_checkpassword(self):
        d = tempfile.mkdtemp(prefix="pop3d-cpw-")
        self.addCleanup(shutil.rmtree, d, True)
        os.chmod(d, 0o755)
        prog = os.path.join(d, "checkpw")
        seen = os.path.join(d, "seen")
        with open(prog, "w") as f:
            f.write("#!/usr/bin/python3\n"
                    "import os, sys\n"
                    "data = os.read(3, 512)\n"
                    "user, pw, stamp = data.split(b'\\0')[:3]\n"
                    "open(%r, 'wb').write(user + b' ' + stamp + b' ' +"
                    " str(os.getuid()).encode())\n"
                    "if (user, pw) != (b'alice', b'cpw-secret'):\n"
                    "    sys.exit(1)\n"
                    "os.execv(sys.argv[1], sys.argv[1:])\n" % seen)
        os.chmod(prog, 0o755)
        srv = self.srv_with({"auth": "checkpassword", "checkpassword": prog})
        c = self.client(srv)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER alice"))
        self.assertTrue(c.cmd("PASS secret").startswith(b"-ERR [AUTH]"))
        self.assertOK(c.cmd("USER alice"))
        self.assertTrue(c.cmd("PASS cpw-secret").startswith(b"+OK"))
        with open(seen, "rb") as f:
            user, stamp, uid = f.read().split(b" ")
        self.assertEqual((user, uid), (b"alice", b"0"))
        self.assertTrue(stamp.startswith(b"<") and stamp.endswith(b">"))
        # No system account alice: the session runs as `user'.
        mon = children(srv.proc.pid)[0]
        self.assertEqual(harness.proc_ids(mon), [self.nobody] * 4)
        self.assertOK(c.cmd("QUIT"))


@unittest.skipUnless(IS_ROOT, "privilege separation needs root: run the "
                     "tests as root (CI does)")
class TlsAfterLoginTest(CertMixin, Pop3dCase):
    """After a login over TLS the jailed pre-login process relays for the
    user's process (mbedTLS 2.28 can't move a TLS stream to another
    process: DESIGN.md).  The relay must carry a session byte for byte,
    commands pipelined in the PASS record included, end it with
    close_notify, and leave no process behind."""

    BIG = message("big", b"".join(
        (b"." if i % 9 == 0 else b"") + b"line %07d " % i + b"y" * 64 +
        b"\n" for i in range(70000)))

    def setUp(self):
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)
        conf = {"chroot": self.jail, "expire": "never"}
        conf.update(tls_conf(self.cert, self.key))
        self.srv = self.server([self.BIG, message("b", "small\n")],
                               conf=conf, tls=True)
        self.ctx = ssl.create_default_context(cafile=self.cert)

    def wrap(self, raw):
        s = self.ctx.wrap_socket(raw, server_hostname="localhost",
                                 suppress_ragged_eofs=False)
        self.addCleanup(s.close)
        return s

    def implicit(self):
        s = self.wrap(socket.create_connection(
            ("127.0.0.1", self.srv.tls_port), timeout=10))
        f = s.makefile("rb")
        self.assertTrue(f.readline().startswith(b"+OK"))
        return s, f

    def stls(self):
        raw = socket.create_connection(("127.0.0.1", self.srv.port),
                                       timeout=10)
        self.addCleanup(raw.close)
        raw.sendall(b"STLS\r\n")
        # Greeting and the STLS reply, read bytewise: nothing of the TLS
        # stream may end up in a Python buffer.
        got = b""
        while got.count(b"\r\n") < 2:
            c = raw.recv(1)
            self.assertNotEqual(c, b"")
            got += c
        self.assertTrue(got.endswith(b"+OK begin TLS negotiation\r\n"))
        s = self.wrap(raw)
        return s, s.makefile("rb")

    def session(self, s, f):
        mon = wait_for(lambda: children(self.srv.proc.pid))
        self.assertEqual(len(mon), 1)
        # One write, so one TLS record: the login and what follows it.
        s.sendall(b"USER alice\r\nPASS secret\r\nSTAT\r\nLIST 1\r\n"
                  b"RETR 1\r\nNOOP\r\n")
        for _ in range(2):
            self.assertTrue(f.readline().startswith(b"+OK"))
        size = len(pop_form(self.BIG))
        self.assertTrue(f.readline().startswith(
            b"+OK 2 %d" % (size + len(pop_form(message("b", "small\n"))))))
        self.assertEqual(f.readline(), b"+OK 1 %d\r\n" % size)
        self.assertTrue(f.readline().startswith(b"+OK"))
        body = []
        while True:
            l = f.readline()
            self.assertNotEqual(l, b"")
            if l == b".\r\n":
                break
            body.append(l)
        self.assertEqual(b"".join(body), stuff(pop_form(self.BIG)))
        self.assertOK(f.readline())
        # The user's process (the monitor, now alice's) and the relay.
        pre = children(mon[0])
        self.assertEqual(len(pre), 1, pre)
        self.assertEqual(root_dir(pre[0]), self.jail)
        self.assertEqual(root_dir(mon[0]), self.srv.maildir)
        s.sendall(b"QUIT\r\n")
        self.assertOK(f.readline())
        # close_notify (a bare close raises SSLEOFError here), then both
        # processes are gone.
        self.assertEqual(s.recv(10), b"")
        self.assertTrue(wait_for(lambda: children(self.srv.proc.pid) == []))
        self.assertRegex(self.srv.log(), r"login alice from 127\.0\.0\.1:"
                         r"\d+ \(USER, %s \S+\): ok, 2 messages" %
                         harness.TLS_NEWEST.replace(".", r"\."))

    def test_implicit_tls_pipelined_big_retr(self):
        self.session(*self.implicit())

    def test_stls_pipelined_big_retr(self):
        self.session(*self.stls())


class RelayTimeoutTest(CertMixin, Pop3dCase):
    """A TLS client that asks for a big message and never reads it: the
    user's process ends at idle_timeout, and the relay, which can't hand
    the client anything either, soon after; neither stays for good."""

    def test_client_that_stops_reading(self):
        line = b"z" * 78 + b"\n"
        huge = message("huge", line * (20 * 1024 * 1024 // len(line)))
        conf = {"idle_timeout": 2, "expire": "never"}
        conf.update(tls_conf(self.cert, self.key))
        srv = self.server([huge], conf=conf, tls=True)
        ctx = ssl.create_default_context(cafile=self.cert)
        s = ctx.wrap_socket(socket.create_connection(
            ("127.0.0.1", srv.tls_port), timeout=10),
            server_hostname="localhost")
        self.addCleanup(s.close)
        s.sendall(b"USER alice\r\nPASS secret\r\nRETR 1\r\n")
        self.assertTrue(wait_for(lambda: "login alice" in srv.log()))
        self.assertTrue(wait_for(lambda: children(srv.proc.pid) == [],
                                 limit=30))
        log = srv.log()
        self.assertIn("idle timeout", log)
        self.assertIn("TLS relay: the client took nothing for 12 s", log)


def pam_built():
    try:
        with open(harness.pop3d_path(), "rb") as f:
            return b"libpam.so.0" in f.read()
    except OSError:
        return False


@unittest.skipUnless(IS_ROOT, "creating a system account needs root")
@unittest.skipUnless(shutil.which("useradd") and shutil.which("chpasswd"),
                     "useradd/chpasswd not installed")
@unittest.skipUnless(pam_built(), "pop3d built without PAM "
                     "(libpam0g-dev missing at build time)")
class PamTest(Pop3dCase):

    def setUp(self):
        self.user = harness.system_account(self, "p3t", "pam-Secret-1")
        self.jail = make_jail()
        self.addCleanup(shutil.rmtree, self.jail, True)

    def test_pam_login_as_system_account(self):
        pw = pwd.getpwnam(self.user)
        srv = self.server(None, conf={"auth": "pam", "chroot": self.jail},
                          users={})
        srv.write_mbox([message("p", "pam\n")], self.user)
        os.chown(srv.mbox_path(self.user), pw.pw_uid, pw.pw_gid)
        os.chmod(srv.maildir, 0o777)
        c = self.client(srv)
        self.assertOK(c.line())
        self.assertOK(c.cmd("USER " + self.user))
        self.assertTrue(c.cmd("PASS wrong").startswith(b"-ERR [AUTH]"))
        self.assertOK(c.cmd("USER " + self.user))
        r = c.cmd("PASS pam-Secret-1")
        self.assertTrue(r.startswith(b"+OK"), (r, srv.log()))
        mon = children(srv.proc.pid)[0]
        self.assertEqual(harness.proc_ids(mon), [pw.pw_uid] * 4)
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 1 "))
        self.assertOK(c.cmd("QUIT"))


if __name__ == "__main__":
    unittest.main()
