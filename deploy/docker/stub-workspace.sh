#!/bin/sh
# Creates stub sources for the given workspace members so that `cargo build` can compile
# the dependencies from the real Cargo.toml/Cargo.lock alone (the Dockerfile's cached
# dependency layer). Every target a manifest declares gets an empty file at its path
# ([lib], [[bin]] with `fn main() {}`, [[test]], [[bench]], [[example]], with cargo's
# default paths when `path` is not set); a member without [lib] or [[bin]] gets an empty
# src/lib.rs. Usage: stub-workspace.sh MEMBER_DIR...   (POSIX sh and awk only)
set -eu
for dir in "$@"; do
  awk '
    function flush() {
      if (kind == "") return
      p = path
      if (p == "") {
        if (kind == "lib") p = "src/lib.rs"
        else if (kind == "bin") p = "src/bin/" name ".rs"
        else if (kind == "bench") p = "benches/" name ".rs"
        else if (kind == "test") p = "tests/" name ".rs"
        else p = "examples/" name ".rs"
      }
      print kind " " p
      kind = ""
    }
    function value(line) { sub(/^[^"]*"/, "", line); sub(/".*$/, "", line); return line }
    /^\[\[(bin|bench|test|example)\]\]/ {
      flush(); kind = $0; sub(/^\[\[/, "", kind); sub(/\]\].*$/, "", kind); name = ""; path = ""; next
    }
    /^\[lib\]/ { flush(); kind = "lib"; name = ""; path = ""; next }
    /^\[/ { flush(); next }
    kind != "" && /^name[ \t]*=/ { name = value($0) }
    kind != "" && /^path[ \t]*=/ { path = value($0) }
    END { flush() }
  ' "$dir/Cargo.toml" > "$dir/.stub-targets"
  while read -r kind file; do
    mkdir -p "$(dirname "$dir/$file")"
    if [ "$kind" = bin ]; then echo 'fn main() {}' > "$dir/$file"; else : > "$dir/$file"; fi
  done < "$dir/.stub-targets"
  if ! grep -q '^lib \|^bin ' "$dir/.stub-targets"; then
    mkdir -p "$dir/src" && : > "$dir/src/lib.rs"
  fi
  rm -f "$dir/.stub-targets"
done
