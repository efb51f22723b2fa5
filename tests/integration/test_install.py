# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""`make install` and `make uninstall` into a DESTDIR, and what the docs
say about the installed paths and the version.

Each test installs into a fresh temporary DESTDIR with the Makefile's
default PREFIX (/usr/local) unless it says otherwise, and reads the tree
install left there: modes, the binary's ELF section headers (stripped:
no .symtab), the paths README, pop3d.8 and pop3d.conf.5 name.
"""

import os
import re
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import REPO, IS_ROOT, pop3d_path  # noqa: E402

PREFIX = "usr/local"		# the Makefile's default, without its "/"
UNITS = ("pop3d.socket", "pop3s.socket", "pop3d.service",
         "pop3d@.service")
MAKE_TIMEOUT = 300		# make install may relink pop3d first


def make(*args):
    """Run make in the checkout; the CompletedProcess."""
    return subprocess.run(["make", "-s", "-C", REPO] + list(args),
                          capture_output=True, timeout=MAKE_TIMEOUT)


def section_names(path):
    """The names of an ELF file's sections, from its section headers."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF":
        raise ValueError("%s: not ELF" % path)
    wide = data[4] == 2			# ELFCLASS64
    end = "<" if data[5] == 1 else ">"	# ELFDATA2LSB
    if wide:
        shoff, = struct.unpack_from(end + "Q", data, 0x28)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data,
                                                        0x3a)
        off_at, fmt = 0x18, "QQ"
    else:
        shoff, = struct.unpack_from(end + "I", data, 0x20)
        shentsize, shnum, shstrndx = struct.unpack_from(end + "HHH", data,
                                                        0x2e)
        off_at, fmt = 0x10, "II"

    def header(i):
        base = shoff + i * shentsize
        name, = struct.unpack_from(end + "I", data, base)
        off, size = struct.unpack_from(end + fmt, data, base + off_at)
        return name, off, size

    _, stroff, _ = header(shstrndx)
    names = []
    for i in range(shnum):
        name = header(i)[0]
        names.append(data[stroff + name:data.index(b"\0", stroff + name)]
                     .decode())
    return names


def tree(root):
    """Every path under root (relative), directories with a trailing /."""
    got = set()
    for d, dirs, files in os.walk(root):
        rel = os.path.relpath(d, root)
        for n in dirs:
            got.add(os.path.normpath(os.path.join(rel, n)) + "/")
        for n in files:
            got.add(os.path.normpath(os.path.join(rel, n)))
    return got


def mode(path):
    return stat.S_IMODE(os.lstat(path).st_mode)


class InstallCase(unittest.TestCase):

    def setUp(self):
        self.dest = tempfile.mkdtemp(prefix="pop3d-install-")
        self.addCleanup(shutil.rmtree, self.dest, True)

    def path(self, rel):
        return os.path.join(self.dest, rel)

    def make(self, target, *args):
        r = make(target, "DESTDIR=" + self.dest, *args)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        return r


class InstallTest(InstallCase):

    def test_what_install_puts_where_and_its_modes(self):
        self.make("install")
        sbin = self.path(PREFIX + "/sbin/pop3d")
        self.assertEqual(mode(sbin), 0o755)
        names = section_names(sbin)
        self.assertIn(".text", names)
        self.assertNotIn(".symtab", names, "install -s strips it")
        self.assertFalse([n for n in names if n.startswith(".debug")])
        # The stripped binary still runs, and is the one built.
        r = subprocess.run([sbin, "-V"], capture_output=True, timeout=10)
        built = subprocess.run([pop3d_path(), "-V"], capture_output=True,
                               timeout=10)
        self.assertEqual((r.returncode, r.stdout), (0, built.stdout))
        files = ["share/man/man8/pop3d.8", "share/man/man5/pop3d.conf.5"]
        files += ["lib/systemd/system/" + u for u in UNITS]
        files += ["share/doc/pop3d/" + n for n in (
            "README", "NEWS", "LICENSE", "DESIGN.md", "pop3d.conf.example",
            "inetd.conf", "pam.pop3", "fail2ban/filter.d/pop3d.conf",
            "fail2ban/jail.d/pop3d.conf")]
        for rel in files:
            self.assertEqual(mode(self.path(PREFIX + "/" + rel)), 0o644,
                             rel)
        with open(self.path(PREFIX + "/share/doc/pop3d/LICENSE")) as f:
            self.assertIn("The pop3d authors", f.read())
        # /etc/pop3d: keys and passwords, read by root alone.
        etc = self.path("etc/pop3d")
        self.assertTrue(os.path.isdir(etc))
        self.assertEqual(mode(etc), 0o750)
        if IS_ROOT:
            st = os.stat(etc)
            self.assertEqual((st.st_uid, st.st_gid), (0, 0))
        self.assertEqual(os.listdir(etc), [])
        self.assertFalse(os.path.exists(self.path("etc/pop3d.conf")),
                         "the administrator's file, not install's")
        self.assertEqual(mode(self.path("var/empty")), 0o755)
        self.assertEqual(os.listdir(self.path("var/empty")), [])

    def test_install_strip_empty_keeps_the_symbols(self):
        self.make("install", "INSTALL_STRIP=")
        names = section_names(self.path(PREFIX + "/sbin/pop3d"))
        self.assertIn(".symtab", names)

    def test_existing_etc_dir_keeps_its_mode(self):
        os.makedirs(self.path("etc/pop3d"))
        os.chmod(self.path("etc/pop3d"), 0o700)
        self.make("install")
        self.assertEqual(mode(self.path("etc/pop3d")), 0o700)

    def test_packaging_prefix(self):
        # As a Debian package calls it.
        self.make("install", "PREFIX=/usr")
        self.assertTrue(os.access(self.path("usr/sbin/pop3d"), os.X_OK))
        for u in UNITS:
            with open(self.path("usr/lib/systemd/system/" + u)) as f:
                text = f.read()
            self.assertNotIn("@SBINDIR@", text)
            if u.endswith(".service"):
                self.assertRegex(text, r"(?m)^ExecStart=/usr/sbin/pop3d ")
        self.assertTrue(os.path.isfile(self.path(
            "usr/share/doc/pop3d/NEWS")))
        self.assertFalse(os.path.exists(self.path("usr/local")))


class UninstallTest(InstallCase):

    # The hierarchy's directories, which uninstall leaves (they may hold
    # other programs' files).
    HIERARCHY = {p + "/" for p in (
        "usr", "usr/local", "usr/local/sbin", "usr/local/share",
        "usr/local/share/man", "usr/local/share/man/man5",
        "usr/local/share/man/man8", "usr/local/share/doc", "usr/local/lib",
        "usr/local/lib/systemd", "usr/local/lib/systemd/system", "etc",
        "var")}

    def test_uninstall_removes_what_install_made(self):
        self.make("install")
        made = tree(self.dest)
        self.assertLessEqual(self.HIERARCHY, made)
        r = self.make("uninstall")
        self.assertEqual(tree(self.dest), self.HIERARCHY,
                         r.stdout + r.stderr)

    def test_uninstall_keeps_the_administrators_files(self):
        self.make("install")
        admin = {"etc/pop3d.conf": "listen 127.0.0.1:110\n",
                 "etc/pop3d/passwd": "alice:*\n"}
        for rel, text in admin.items():
            with open(self.path(rel), "w") as f:
                f.write(text)
        r = self.make("uninstall")
        self.assertEqual(tree(self.dest),
                         self.HIERARCHY | set(admin) | {"etc/pop3d/"})
        for rel, text in admin.items():
            with open(self.path(rel)) as f:
                self.assertEqual(f.read(), text)
        self.assertIn(b"etc/pop3d is not empty: kept", r.stdout)


class DocumentedPathsTest(InstallCase):
    """The paths README and pop3d.8 give are where the default install
    puts things."""

    def setUp(self):
        super().setUp()
        self.make("install")

    def read(self, name):
        with open(os.path.join(REPO, name)) as f:
            return f.read()

    def test_readme_inetd_lines_are_the_installed_ones(self):
        with open(self.path(PREFIX + "/share/doc/pop3d/inetd.conf")) as f:
            installed = [l.split() for l in f
                         if l.strip() and not l.startswith("#")]
        readme = [l.split() for l in self.read("README").splitlines()
                  if re.match(r"\s+pop3s?\s+stream\s", l)]
        self.assertEqual(readme, installed)
        for fields in installed:
            self.assertTrue(os.path.isfile(self.path(fields[5].lstrip("/"))),
                            fields)
        servers = re.findall(r"(?m)^\s+server\s+=\s+(\S+)",
                             self.read("README"))
        self.assertTrue(servers, "the xinetd example")
        # pop3d.conf.5's inetd example too.
        servers += re.findall(r"pop3\s+stream\s+tcp\s+nowait\s+root\s+(\S+)",
                              self.read("pop3d.conf.5"))
        self.assertEqual(len(servers), 2)
        for s in servers:
            self.assertTrue(os.path.isfile(self.path(s.lstrip("/"))), s)

    def test_documented_prefix_paths_exist(self):
        # Every /usr/local path README and pop3d.8 name (PREFIX/ spelled
        # out or not) is something install made.
        text = self.read("README") + self.read("pop3d.8")
        paths = set(re.findall(r"(?<![\w/])/usr/local/[\w@./-]*\w", text))
        paths |= {"/usr/local/" + p for p in
                  re.findall(r"PREFIX/([\w@./-]*\w)", text)}
        self.assertTrue(paths)
        for p in sorted(paths):
            self.assertTrue(os.path.exists(self.path(p.lstrip("/"))), p)


class VersionTest(unittest.TestCase):

    def test_version_is_news_first_heading(self):
        with open(os.path.join(REPO, "NEWS")) as f:
            heads = re.findall(r"(?m)^(\d+\.\d+\.\d+) \(.*\)\n=+$", f.read())
        self.assertTrue(heads, "NEWS has version headings")
        r = subprocess.run([pop3d_path(), "-V"], capture_output=True,
                           timeout=10)
        self.assertEqual(r.returncode, 0)
        self.assertEqual(r.stdout.decode(), "pop3d %s\n" % heads[0])


if __name__ == "__main__":
    unittest.main()
