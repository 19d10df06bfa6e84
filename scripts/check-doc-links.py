#!/usr/bin/env python3
"""Checks that the repository's references to its own files resolve.

Two kinds of reference, in every file git tracks (or would track):
- markdown links and images, [text](target) in *.md files: a relative target must name an existing file or folder
  (resolved against the linking file's folder), and a #fragment must match a heading of the target markdown file
  (GitHub's anchors: lower case, punctuation dropped, spaces as hyphens, -1, -2 … for repeated headings);
- repository paths written out as text, docs/….md or docs/….png, in any text file (comments, messages, scripts,
  docs): each must exist relative to the repository root.
Fenced code blocks and `inline code` are not links, so only the second rule reads them.

Usage: python3 scripts/check-doc-links.py   (prints each broken reference; exit code 1 when there is one)
"""
import os
import re
import subprocess
import sys
import unicodedata

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
DOC_PATH = re.compile(r"(?<![\w./-])docs/[\w./-]*\w\.(?:md|png)\b")
TEXT_SUFFIXES = (".md", ".cs", ".sh", ".py", ".props", ".targets", ".csproj", ".json", ".config", ".yml", ".yaml", ".txt")


def tracked_files():
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                         check=True, capture_output=True, text=True).stdout
    return sorted({f for f in out.splitlines() if os.path.isfile(os.path.join(ROOT, f))})


def strip_code(text, inline=True):
    """Blanks fenced code blocks (and inline code spans unless inline=False), keeping line numbers."""
    lines, fenced = [], False
    for line in text.split("\n"):
        if re.match(r"^\s*(```|~~~)", line):
            fenced = not fenced
            lines.append("")
        else:
            lines.append("" if fenced else re.sub(r"`[^`]*`", "", line) if inline else line)
    return "\n".join(lines)


def slug(heading):
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = unicodedata.normalize("NFC", text.strip().lower())
    text = "".join(c for c in text if c.isalnum() or c in " -_")
    return text.replace(" ", "-")


def anchors(path, cache={}):
    if path not in cache:
        found, counts = set(), {}
        with open(path, encoding="utf-8") as f:
            for line in strip_code(f.read(), inline=False).split("\n"):
                m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
                if not m:
                    continue
                s = slug(m.group(1))
                n = counts.get(s, 0)
                counts[s] = n + 1
                found.add(s if n == 0 else f"{s}-{n}")
        cache[path] = found
    return cache[path]


def main():
    problems, links, paths = [], 0, 0
    for rel in tracked_files():
        if not rel.endswith(TEXT_SUFFIXES):
            continue
        full = os.path.join(ROOT, rel)
        try:
            with open(full, encoding="utf-8") as f:
                text = f.read()
        except UnicodeDecodeError:
            continue
        for number, line in enumerate(text.split("\n"), 1):
            for m in DOC_PATH.finditer(line):
                paths += 1
                if not os.path.exists(os.path.join(ROOT, m.group(0))):
                    problems.append(f"{rel}:{number}: {m.group(0)} does not exist")
        if not rel.endswith(".md"):
            continue
        for number, line in enumerate(strip_code(text).split("\n"), 1):
            for m in LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto: …
                    continue
                links += 1
                file_part, _, fragment = target.partition("#")
                dest = os.path.normpath(os.path.join(os.path.dirname(full), file_part)) if file_part else full
                if not os.path.exists(dest):
                    problems.append(f"{rel}:{number}: link {target}: {os.path.relpath(dest, ROOT)} does not exist")
                elif fragment and dest.endswith(".md") and fragment.lower() not in anchors(dest):
                    problems.append(f"{rel}:{number}: link {target}: no heading #{fragment} in {os.path.relpath(dest, ROOT)}")
    for p in problems:
        print(p)
    print(f"{links} markdown links and {paths} docs/ paths checked: {len(problems)} broken")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
