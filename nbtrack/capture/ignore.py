"""What the code snapshot never takes: a built-in deny list of secret files, and the files the
project's ``.gitignore`` files and ``.nbtrackignore`` exclude.

The deny list (:data:`DENY_FILES`, :data:`DENY_DIRS`) is applied to every file and directory
name, case-insensitively, whatever the ignore files say (a ``!.env`` line does not bring a
``.env`` back). ``.gitignore`` files are read from the notebook's directory, its
subdirectories and its parents up to the repository's top (the first one holding ``.git``),
plus ``.git/info/exclude``; ``.nbtrackignore`` from the notebook's directory. A path is ignored
when any of them ignores it (git's "last matching line wins" holds inside each file).
"""

from __future__ import annotations

import fnmatch
import functools
import os
import re
from collections.abc import Iterable

NBTRACK_IGNORE = ".nbtrackignore"
GIT_IGNORE = ".gitignore"

# Secret files: environment files, private keys and keystores, credential files.
DENY_FILES = (
    ".env",
    ".env.*",
    "*.env",
    ".envrc",
    "*.pem",
    "*.key",
    "*.ppk",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    "*.p12",
    "*.pfx",
    "*.jks",
    "*.keystore",
    "*.kdbx",
    "credentials",
    "credentials.*",
    ".netrc",
    "_netrc",
    ".pgpass",
    ".git-credentials",
    ".pypirc",
    ".npmrc",
    "secrets.*",
    ".htpasswd",
)
# Directories of keys and credentials, version control and nbtrack's own.
DENY_DIRS = (
    ".git",
    ".hg",
    ".svn",
    ".ssh",
    ".aws",
    ".azure",
    ".gnupg",
    ".kube",
    ".docker",
    ".nbtrack",
    ".ipynb_checkpoints",
    "__pycache__",
)

_DENY_FILE = re.compile("|".join(fnmatch.translate(p) for p in DENY_FILES))
_DENY_DIR = frozenset(DENY_DIRS)


def denied_file(name: str) -> bool:
    """Whether a file of this base name is on the deny list."""
    return _DENY_FILE.match(name.lower()) is not None


def denied_dir(name: str) -> bool:
    return name.lower() in _DENY_DIR


class Rules:
    """The ignore lines of one file, matched against paths relative to its directory: the
    file's patterns compiled into one regex per run of lines of the same sign, tried from
    the last run backwards (git's "last match wins"), so a name costs one or two regex
    matches however many lines the file has."""

    def __init__(self, lines: Iterable[str]) -> None:
        import pathspec

        groups: list[tuple[bool, list[str]]] = []
        for pattern in pathspec.GitIgnoreSpec.from_lines(list(lines)).patterns:
            include, regex = pattern.include, getattr(pattern, "regex", None)
            if include is None or regex is None:
                continue
            text = regex.pattern.replace("(?P<ps_d>", "(")
            if groups and groups[-1][0] == include:
                groups[-1][1].append(text)
            else:
                groups.append((include, [text]))
        self.groups = [
            (include, re.compile("|".join(f"(?:{t})" for t in texts)))
            for include, texts in reversed(groups)
        ]

    def ignores(self, rel: str, is_dir: bool) -> bool:
        """``rel``: a POSIX path relative to the ignore file's directory."""
        path = rel + "/" if is_dir else rel
        for include, regex in self.groups:
            if regex.match(path):
                return include
        return False


def read_rules(path: str) -> Rules | None:
    """The rules of one ignore file (None when it is missing or has no pattern); compiled once
    per content, as a session re-reads them at every run's end."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return _read_rules(path, st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=256)
def _read_rules(path: str, mtime_ns: int, size: int) -> Rules | None:
    del mtime_ns, size  # the cache key
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    rules = Rules(lines)
    return rules if rules.groups else None


def outer_rules(root: str) -> list[tuple[str, Rules]]:
    """``[(directory, rules)]`` that apply to ``root`` from the outside in: the ``.gitignore``
    files of its parents up to the repository's top and that repository's
    ``.git/info/exclude`` (none when ``root`` is not in a repository), then ``root``'s own
    ``.gitignore`` and ``.nbtrackignore``."""
    parents: list[str] = []
    top = None
    d = root
    while True:
        if os.path.exists(os.path.join(d, ".git")):
            top = d
            break
        up = os.path.dirname(d)
        if up == d or len(parents) >= 32:
            break
        d = up
        parents.append(d)
    found: list[tuple[str, Rules]] = []
    if top is not None:
        exclude = read_rules(os.path.join(top, ".git", "info", "exclude"))
        if exclude is not None:
            found.append((top, exclude))
        for d in reversed(parents):
            rules = read_rules(os.path.join(d, GIT_IGNORE))
            if rules is not None:
                found.append((d, rules))
    for name in (GIT_IGNORE, NBTRACK_IGNORE):
        rules = read_rules(os.path.join(root, name))
        if rules is not None:
            found.append((root, rules))
    return found


def ignored(rules: list[tuple[str, Rules]], path: str, is_dir: bool) -> bool:
    """Whether absolute ``path`` is ignored by any of ``rules`` (``[(directory, rules)]``)."""
    for base, r in rules:
        prefix = base if base.endswith(os.sep) else base + os.sep
        if not path.startswith(prefix):
            continue
        rel = path[len(prefix) :]
        if os.sep != "/":
            rel = rel.replace(os.sep, "/")
        if r.ignores(rel, is_dir):
            return True
    return False
