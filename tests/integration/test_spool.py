# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""A hostile local user in a Debian-style spool, against the real daemon.

The spool is root:mail 2775, as Debian's /var/mail; the victim's mailbox is
0600 and the victim's session runs as the victim's uid (passwd file
uid:gid) with group mail, as it must to make dotlocks there.  The attacker
is another uid in group mail, so it can create any name in the spool (the
files below are made by root and given to it, which is the same).  Whatever
it plants beside the victim's mailbox (an UPDATE journal that would empty
it, FIFOs, symbolic and hard links, a session lock it holds, a LOGIN-DELAY
stamp), no victim mail is read, changed or lost and the victim's login is
never refused.
"""

import fcntl
import grp
import hashlib
import os
import struct
import unittest

import harness
from harness import IS_ROOT, Pop3dCase, message, pop_form

VICTIM, ATTACKER = 4242, 4343
SIBLINGS = ("journal", "index", "uids", "session", "login")


def journal_that_empties(mbox):
    """An UPDATE journal in pop3d's format whose plan cuts mbox to 0 bytes:
    no kept runs, everything from offset 0 deleted."""
    st = os.stat(mbox)
    h = bytearray(128)
    h[0:8] = b"POP3DJNL"
    h[8] = 2
    struct.pack_into("<QQQQQQQ", h, 16, st.st_dev, st.st_ino, st.st_size,
                     0, st.st_size, 0, 0)
    h[72:88] = hashlib.md5(b"").digest()
    struct.pack_into("<Q", h, 88, 0)
    h[96:112] = hashlib.md5(bytes(h[:96])).digest()
    return bytes(h) + bytes(2 * 4096)


@unittest.skipUnless(IS_ROOT, "needs root: other uids own the planted files")
class HostileLocalUserTest(Pop3dCase):

    def setUp(self):
        try:
            self.mail_gid = grp.getgrnam("mail").gr_gid
        except KeyError:
            self.skipTest("no group mail on this machine")
        self.msgs = [message("one", "1\n"), message("two", "2\n"),
                     message("three", "3\n")]

    def spool(self, conf=None):
        c = {"expire": "never"}
        c.update(conf or {})
        srv = self.server(None, conf=c)
        srv.write_passwd(["victim:%s:%d:%d" % (harness.make_hash("vpw"),
                                               VICTIM, VICTIM)])
        data = srv.write_mbox(self.msgs, "victim")
        self.debian_modes(srv)
        return srv, data

    def debian_modes(self, srv):
        os.chown(srv.maildir, 0, self.mail_gid)
        os.chmod(srv.maildir, 0o2775)
        os.chown(srv.mbox_path("victim"), VICTIM, self.mail_gid)
        os.chmod(srv.mbox_path("victim"), 0o600)

    def sibling(self, srv, what):
        return os.path.join(srv.maildir, ".victim.pop3d-" + what)

    def as_attacker(self, path):
        os.lchown(path, ATTACKER, self.mail_gid)

    def set_aside(self, srv, what):
        return [n for n in os.listdir(srv.maildir)
                if n.startswith(".victim.pop3d-%s.foreign-" % what)]

    def victim_session(self, srv, dele=()):
        """Log in as the victim, check every message, DELE some, QUIT."""
        c = self.client(srv)
        self.assertOK(c.login("victim", "vpw"))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 3 "))
        for i, m in enumerate(self.msgs, 1):
            self.assertOK(c.cmd("RETR %d" % i))
            self.assertEqual(c.multi(), pop_form(m))
        for i in dele:
            self.assertOK(c.cmd("DELE %d" % i))
        self.assertOK(c.cmd("QUIT"))
        c.read_until_eof()

    def test_planted_journal_is_not_obeyed(self):
        # The attack the journal format allowed: a plan that empties the
        # mailbox at the victim's next login.
        srv, data = self.spool()
        j = self.sibling(srv, "journal")
        with open(j, "wb") as f:
            f.write(journal_that_empties(srv.mbox_path("victim")))
        self.as_attacker(j)
        os.chmod(j, 0o666)		# so that the victim's session may write it
        self.victim_session(srv)
        self.assertEqual(srv.read_mbox("victim"), data)
        self.assertFalse(os.path.exists(j))
        self.assertEqual(len(self.set_aside(srv, "journal")), 1)
        self.assertIn("owned by uid %d, not %d" % (ATTACKER, VICTIM),
                      srv.log())
        self.assertIn(srv.maildir + "/.victim.pop3d-journal", srv.log())

    def test_fifos_everywhere(self):
        # A FIFO would hang an open; each is set aside or passed over.
        srv, data = self.spool({"login_delay": "60"})
        for what in SIBLINGS:
            os.mkfifo(self.sibling(srv, what), 0o666)
            self.as_attacker(self.sibling(srv, what))
        self.victim_session(srv, dele=(2,))
        want = data.replace(self.msgs[1] + b"\n", b"")
        self.assertEqual(srv.read_mbox("victim"), want)

    def test_symlinks_to_the_mailbox(self):
        # Followed, any of them would have pop3d write the mailbox through
        # another name (a journal or an index cache written over it).
        srv, data = self.spool({"login_delay": "60"})
        for what in SIBLINGS:
            os.symlink("victim", self.sibling(srv, what))
            self.as_attacker(self.sibling(srv, what))
        self.victim_session(srv, dele=(1,))
        self.assertEqual(srv.read_mbox("victim"),
                         data.replace(self.msgs[0] + b"\n", b""))
        for what in ("journal", "uids", "session", "login"):
            self.assertEqual(len(self.set_aside(srv, what)), 1, what)
            self.assertTrue(os.path.islink(os.path.join(
                srv.maildir, self.set_aside(srv, what)[0])))

    def test_hard_link_to_the_mailbox(self):
        # The victim's own file under the journal's name: owned by the
        # victim, so only its second name gives it away.
        srv, data = self.spool()
        os.link(srv.mbox_path("victim"), self.sibling(srv, "journal"))
        c = self.client(srv)
        self.assertOK(c.login("victim", "vpw"))
        self.assertTrue(c.cmd("STAT").startswith(b"+OK 0 "))
        self.assertOK(c.cmd("QUIT"))
        c.read_until_eof()
        self.assertEqual(srv.read_mbox("victim"), data)
        self.assertIn("2 hard links to it", srv.log())

    def test_login_stamp_can_not_keep_the_victim_out(self):
        srv, data = self.spool({"login_delay": "3600"})
        stamp = self.sibling(srv, "login")
        open(stamp, "w").close()
        self.as_attacker(stamp)
        self.victim_session(srv)
        self.assertEqual(len(self.set_aside(srv, "login")), 1)
        # the victim's own stamp now says when the victim logged in
        st = os.lstat(stamp)
        self.assertEqual((st.st_uid, st.st_nlink), (VICTIM, 1))

    def test_held_session_lock_can_not_keep_the_victim_out(self):
        # With flock among the delivery locks there is no flock on the
        # mailbox to fall back to: a planted lock file held for ever
        # would refuse every login [SYS/TEMP].
        srv, data = self.spool({"mbox_locks": "fcntl dotlock flock"})
        lock = self.sibling(srv, "session")
        with open(lock, "w") as f:
            self.as_attacker(lock)
            fcntl.fcntl(f, 37, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0,
                                           0))	# F_OFD_SETLK
            self.victim_session(srv)
        self.assertEqual(srv.read_mbox("victim"), data)
        self.assertEqual(len(self.set_aside(srv, "session")), 1)

    def test_planted_uid_file_does_not_take_uids_over(self):
        # A valid UID file of the attacker's making would give the
        # victim's messages UIDs of its choice.
        srv, data = self.spool()
        c = self.client(srv)
        self.assertOK(c.login("victim", "vpw"))
        self.assertOK(c.cmd("UIDL"))
        before = c.multi()
        self.assertOK(c.cmd("QUIT"))
        c.read_until_eof()
        side = self.sibling(srv, "uids")
        with open(side, "w") as f:
            f.write("pop3d-uids 1\n")
        self.as_attacker(side)
        c = self.client(srv)
        self.assertOK(c.login("victim", "vpw"))
        self.assertOK(c.cmd("UIDL"))
        self.assertEqual(c.multi(), before)
        self.assertOK(c.cmd("QUIT"))
        self.assertEqual(len(self.set_aside(srv, "uids")), 1)


if __name__ == "__main__":
    unittest.main()
