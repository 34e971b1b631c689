#!/usr/bin/env python3
"""Checks .dockerignore against the Dockerfile without a Docker engine.

Applies .dockerignore the way Docker does (patterns in order, the last match wins, `!`
re-includes, a pattern matching a folder matches everything below it, `*` stays within
one path segment and `**` spans any number) and checks that every file the Dockerfile
COPYs from the build context is sent, and that build output, VCS data and key files are
not. Exits 1 and says what is wrong otherwise.

    python3 deploy/tools/check_dockerignore.py [REPO_ROOT]
"""

import os
import re
import sys
from pathlib import Path


def compile_pattern(pattern):
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out += "(?:.*/)?"
            i += 3
        elif pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def load_patterns(path):
    patterns = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        include = line.startswith("!")
        text = os.path.normpath(line[1:] if include else line).lstrip("/")
        patterns.append((include, compile_pattern(text)))
    return patterns


def excluded(path, patterns):
    parts = path.split("/")
    prefixes = ["/".join(parts[: n + 1]) for n in range(len(parts))]
    result = False
    for include, regex in patterns:
        if any(regex.match(p) for p in prefixes):
            result = not include
    return result


def copy_sources(dockerfile):
    sources = []
    text = dockerfile.read_text().replace("\\\n", " ")
    for line in text.splitlines():
        words = line.split()
        if not words or words[0].upper() not in ("COPY", "ADD"):
            continue
        args = [w for w in words[1:] if not w.startswith("--")]
        if any(w.startswith("--from") for w in words[1:]):
            continue
        sources.extend(args[:-1])
    return sources


def main(root):
    root = Path(root)
    patterns = load_patterns(root / ".dockerignore")
    problems = []
    for source in copy_sources(root / "Dockerfile"):
        target = root / source
        if not target.exists():
            problems.append(f"COPY source {source} does not exist")
            continue
        files = [target] if target.is_file() else [p for p in target.rglob("*") if p.is_file()]
        for f in files:
            rel = f.relative_to(root).as_posix()
            if excluded(rel, patterns) and not rel.endswith((".pem", ".key", ".crt")):
                problems.append(f"{rel} is COPYed by the Dockerfile but excluded by .dockerignore")
    for rel in (".git/HEAD", "target/release/cofre", "target-deploy/x", "bench/results/x.json",
                "server/src/tls.key", "tests/fixtures/ca.pem", ".env", "deploy/k8s/base/x.yaml"):
        if not excluded(rel, patterns):
            problems.append(f"{rel} would be sent to the Docker build context")
    for p in problems:
        print(f"check_dockerignore: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
