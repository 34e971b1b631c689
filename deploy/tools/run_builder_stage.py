#!/usr/bin/env python3
"""Runs the Dockerfile's `builder` stage on this machine, without Docker.

No Docker engine runs on our machines, so this replays the stage's instructions in a
scratch folder: WORKDIR becomes the folder, COPY copies from the repository (the build
context), ENV is exported, RUN runs with the stage's SHELL (bash -o pipefail), and the
absolute destinations (COPY to /usr/local/bin, the /out the stage installs into) are
redirected into the scratch folder. The
host's Rust toolchain stands in for the rust image's. `target/` is a link to
$CARGO_TARGET_DIR when that is set, so repeated runs reuse compiled dependencies.

    CARGO_TARGET_DIR=/work/target-deploy python3 deploy/tools/run_builder_stage.py [REPO]

Exits with the first failing instruction's status; prints each instruction as it runs.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def instructions(dockerfile: Path, stage: str):
    """The (keyword, argument) pairs of one stage, continuation lines joined."""
    lines, current = [], ""
    for raw in dockerfile.read_text().splitlines():
        if raw.lstrip().startswith("#") and not current:
            continue
        if raw.endswith("\\"):
            current += raw[:-1] + " "
            continue
        current += raw
        if current.strip():
            lines.append(current.strip())
        current = ""
    inside, out = False, []
    for line in lines:
        keyword, _, arg = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = arg.split()
            inside = len(words) >= 3 and words[-2].upper() == "AS" and words[-1] == stage
            continue
        if inside:
            out.append((keyword, arg.strip()))
    if not out:
        raise SystemExit(f"no stage {stage!r} in {dockerfile}")
    return out


def main(repo: Path) -> int:
    scratch = Path(tempfile.mkdtemp(prefix="cofre-builder-"))
    out_dir = scratch / "out"
    workdir = scratch / "src"
    env = dict(os.environ)
    # Absolute COPY destinations land under the scratch folder; its bin is on PATH.
    env["PATH"] = f"{scratch}/usr/local/bin:{env.get('PATH', '')}"
    shell = ["/bin/sh", "-c"]
    try:
        for keyword, arg in instructions(repo / "Dockerfile", "builder"):
            print(f"--> {keyword} {arg}", flush=True)
            if keyword == "WORKDIR":
                workdir = scratch / arg.lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
                target_dir = env.get("CARGO_TARGET_DIR")
                if target_dir:
                    Path(target_dir).mkdir(parents=True, exist_ok=True)
                    (workdir / "target").symlink_to(target_dir)
            elif keyword == "SHELL":
                shell = json.loads(arg)
            elif keyword == "ENV":
                for pair in shlex.split(arg):
                    key, _, value = pair.partition("=")
                    env[key] = value
            elif keyword == "COPY":
                words = arg.split()
                if any(w.startswith("--from") for w in words):
                    raise SystemExit("COPY --from is not supported in the builder stage")
                *sources, dest = [w for w in words if not w.startswith("--")]
                base = scratch / dest.lstrip("/") if dest.startswith("/") else workdir / dest
                for source in sources:
                    src = repo / source
                    dst = base
                    if dest.endswith("/") or dest == "./" or len(sources) > 1:
                        dst = dst / src.name
                    dst.parent.mkdir(parents=True, exist_ok=True)
                    if src.is_dir():
                        shutil.copytree(src, dst, dirs_exist_ok=True)
                    else:
                        shutil.copy2(src, dst)
            elif keyword == "RUN":
                command = arg.replace("/out/", f"{out_dir}/").replace("/out ", f"{out_dir} ")
                status = subprocess.run(shell + [command], cwd=workdir, env=env).returncode
                if status != 0:
                    print(f"FAILED ({status}): RUN {arg}", file=sys.stderr)
                    return status
            elif keyword in ("ARG", "LABEL", "EXPOSE", "USER", "VOLUME"):
                continue
            else:
                raise SystemExit(f"instruction {keyword} is not supported by this runner")
        print(f"builder stage OK; its output is in {out_dir}")
        return 0
    finally:
        if os.environ.get("KEEP_SCRATCH") != "1":
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ".").resolve()))
