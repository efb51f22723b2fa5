# Copyright (c) 2026 The pop3d authors.  SPDX-License-Identifier: ISC
# (the licence's text is in LICENSE).
"""The documentation agrees with the code: every config key conf.c accepts
is documented in pop3d.conf.example and pop3d.conf.5 (and nothing else is),
every command-line option pop3d takes is in pop3d.8 and the README, and
both man pages pass `mandoc -T lint` without warnings, and every source
file carries the licence's notice.

These read files only; they need no daemon."""

import os
import re
import shutil
import subprocess
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))


def read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as f:
        return f.read()


def code_keys():
    """The keys in conf.c's table: { "name", handler, repeatable }."""
    src = read("conf.c")
    table = re.search(r"conf_keys\[\]\s*=\s*\{(.*?)\n\};", src, re.S)
    assert table, "conf.c: conf_keys[] table not found"
    return set(re.findall(r'\{\s*"([a-z_0-9]+)"\s*,', table.group(1)))


def example_keys(indented=True):
    """Keys pop3d.conf.example sets or shows: "#key value" lines (the
    defaults) and, with indented, "#   key value" lines (the examples of
    keys without a default; prose examples such as a useradd command are
    indented the same way, so these count only as documentation of keys
    the code has)."""
    keys = set()
    for line in read("pop3d.conf.example").splitlines():
        m = re.match(r"#(?: {3})?([a-z][a-z_0-9]*) \S", line)
        if m and (indented or not line.startswith("#   ")):
            keys.add(m.group(1))
    return keys


def man5_keys():
    """The keys pop3d.conf.5 describes: its ".It Cm KEY" list items."""
    return set(re.findall(r"^\.It Cm ([a-z_0-9]+)", read("pop3d.conf.5"),
                          re.M))


def getopt_flags():
    """The option letters pop3d.c passes to getopt."""
    m = re.search(r'getopt\(argc, argv, "([^"]+)"\)', read("pop3d.c"))
    assert m, "pop3d.c: getopt call not found"
    return set(m.group(1).replace(":", ""))


class ConfigKeysTest(unittest.TestCase):

    def test_code_keys_found(self):
        # A broken regex must not make the comparisons below vacuous.
        keys = code_keys()
        self.assertIn("listen", keys)
        self.assertIn("plaintext_auth", keys)
        self.assertGreater(len(keys), 20)

    def test_example_matches_code(self):
        code = code_keys()
        self.assertEqual(sorted(code - example_keys()), [],
                         "keys in conf.c missing from pop3d.conf.example")
        self.assertEqual(sorted(example_keys(False) - code), [],
                         "keys in pop3d.conf.example that conf.c rejects")

    def test_man5_matches_code(self):
        code, man = code_keys(), man5_keys()
        self.assertEqual(sorted(code - man), [],
                         "keys in conf.c missing from pop3d.conf.5")
        self.assertEqual(sorted(man - code), [],
                         "keys in pop3d.conf.5 that conf.c rejects")

    def test_man5_states_defaults(self):
        """Each key's item in pop3d.conf.5 says its default (or that it
        has none)."""
        text = read("pop3d.conf.5")
        items = re.split(r"^\.It Cm ", text, flags=re.M)[1:]
        missing = []
        for item in items:
            key = item.split()[0]
            body = item.split("\n.El", 1)[0]
            if not re.search(r"[Dd]efault|[Nn]o default|[Uu]nset", body):
                missing.append(key)
        self.assertEqual(missing, [], "pop3d.conf.5 items without a default")

    def test_example_parses(self):
        """pop3d -t accepts the example with every default line enabled
        (-t checks only, it starts nothing)."""
        pop3d = os.environ.get("POP3D") or os.path.join(REPO, "pop3d")
        if not os.access(pop3d, os.X_OK):
            self.skipTest("pop3d not built")
        import tempfile
        d = tempfile.mkdtemp(prefix="pop3d-docs-")
        self.addCleanup(shutil.rmtree, d, True)
        lines = []
        for line in read("pop3d.conf.example").splitlines():
            m = re.match(r"#([a-z][a-z_0-9]*) (.*)", line)
            if not m:
                continue
            k, v = m.groups()
            # Paths of this machine's install stand in for the real ones.
            if k == "passwd_file":
                v = os.path.join(d, "passwd")
                open(v, "w").close()
            elif k in ("user",):
                v = "nobody"
            elif k == "chroot":
                v = d
            elif k == "mail_group":
                v = "none"
            lines.append("%s %s" % (k, v))
        conf = os.path.join(d, "pop3d.conf")
        with open(conf, "w") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([pop3d, "-t", "-f", conf], capture_output=True,
                           timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr.decode())


class OptionsTest(unittest.TestCase):

    def test_man8_lists_every_option(self):
        flags = getopt_flags()
        man = read("pop3d.8")
        documented = set(re.findall(r"^\.It Fl ([A-Za-z])", man, re.M))
        self.assertEqual(flags, documented)
        synopsis = man.split(".Sh SYNOPSIS", 1)[1].split(".Sh ", 1)[0]
        self.assertEqual(set("".join(re.findall(r"Fl ([A-Za-z]+)",
                                                synopsis))), flags)

    def test_readme_mentions_every_option(self):
        readme = read("README")
        for f in sorted(getopt_flags()):
            self.assertRegex(readme, r"(?m)^ +-%s\b" % f,
                             "README never shows pop3d -%s" % f)

    def test_readme_keys_exist(self):
        """Config keys the README quotes as `key value` are real keys."""
        keys = code_keys()
        readme = read("README")
        quoted = re.findall(r"`([a-z][a-z_]*_[a-z_]+|[a-z]+) [^`]*`",
                            readme)
        unknown = sorted({q for q in quoted if "_" in q and q not in keys})
        self.assertEqual(unknown, [], "README quotes unknown config keys")


@unittest.skipUnless(shutil.which("mandoc"), "mandoc not installed")
class ManLintTest(unittest.TestCase):

    def lint(self, page):
        r = subprocess.run(["mandoc", "-T", "lint", "-W", "warning",
                            os.path.join(REPO, page)],
                           capture_output=True, timeout=20)
        out = (r.stdout + r.stderr).decode()
        self.assertEqual(r.returncode, 0, out)
        self.assertEqual(out, "")

    def test_pop3d_8(self):
        self.lint("pop3d.8")

    def test_pop3d_conf_5(self):
        self.lint("pop3d.conf.5")


class LicenceTest(unittest.TestCase):
    """LICENSE is the ISC licence, and every source file git tracks (C,
    Python, shell, the Makefile) names it at its top, so a file copied
    out of the tree still says under what terms."""

    NOTICE = "SPDX-License-Identifier: ISC"

    def test_every_source_file_has_the_notice(self):
        if not os.path.isdir(os.path.join(REPO, ".git")) and \
                not os.path.isfile(os.path.join(REPO, ".git")):
            self.skipTest("not a git checkout: no list of tracked files")
        files = subprocess.run(["git", "-C", REPO, "ls-files"],
                               capture_output=True, text=True, timeout=20,
                               check=True).stdout.split()
        missing = []
        for name in files:
            path = os.path.join(REPO, name)
            if name.startswith("debian/") or not os.path.isfile(path):
                continue
            with open(path, "rb") as f:
                head = f.read(400)
            source = name.endswith((".c", ".h", ".py", ".sh")) or \
                name == "Makefile" or head.startswith(b"#!")
            if source and self.NOTICE.encode() not in head:
                missing.append(name)
        self.assertEqual(missing, [], "files without the licence notice")

    def test_license_is_isc(self):
        text = read("LICENSE")
        self.assertIn("Copyright (c) 2026 The pop3d authors", text)
        self.assertIn("Permission to use, copy, modify, and distribute this "
                      "software for any\npurpose with or without fee is "
                      "hereby granted", text)


if __name__ == "__main__":
    unittest.main()
