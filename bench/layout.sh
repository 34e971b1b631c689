#!/usr/bin/env bash
# The start-up code layout of the release `cofre` binary (cli/layout/cofre.order, used by
# cli/build.rs). Runs the server under `valgrind --tool=callgrind` twice, from an empty
# sled directory: (1) start, init, unseal, mount KV v2, idle; (2) the same, then a few KV
# writes, reads with the root token and with a policy's token (allowed and denied), token
# creates and lookups. Writes the functions the first run executed,
# then those only the second did, as link order: the code a server needs from start to
# serving requests ends up in a few contiguous MiB instead of spread over the text.
#
# The names are mangled with hashes that follow the crates' build metadata: regenerate
# after a dependency or toolchain change, from a binary built exactly as released
# (`cargo build --release --locked -p cofre`; building an example at the same time
# unifies dev-dependency features and changes the hashes). `check` says how many listed
# names a binary has; a stale list only loses the gain.
#   usage: bench/layout.sh [write|check] [COFRE_BIN]
set -euo pipefail
mode=${1:-write}
bin=$(realpath "${2:-$(dirname "$0")/../target/release/cofre}")
cd "$(dirname "$0")/.."
order=cli/layout/cofre.order
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT

if [ "$mode" = check ]; then
  # How many listed functions the binary has, and whether they sit together: their span
  # against their total size (a binary linked without the list spreads them over the text).
  # Two traces differ by a few functions that only timing reaches (lock slow paths).
  nm -S --defined-only "$bin" | python3 -c '
import sys
listed = [l.strip() for l in open(sys.argv[1]) if l.strip()]
want, found = set(listed), {}
for line in sys.stdin:
    f = line.split()
    if len(f) == 4 and f[2] in "tTwW" and f[3] in want:
        found[f[3]] = (int(f[0], 16), int(f[1], 16))
size = sum(s for _, s in found.values())
# The span of all but the 2% lowest and 2% highest: a list rewritten by another trace may
# name a few functions (slow paths hit by timing) that this binary has outside the block.
ends = sorted(found.values())
cut = len(ends) // 50
inner = ends[cut:len(ends) - cut]
span = inner[-1][0] + inner[-1][1] - inner[0][0] if inner else 0
together = bool(inner) and span <= 1.5 * size
print(f"{len(found)} of {len(listed)} names in {sys.argv[1]} are in {sys.argv[2]}; "
      f"they span {span / 2**20:.1f} MiB for {size / 2**20:.1f} MiB of code: "
      + ("laid out together" if together else "NOT laid out together"))
sys.exit(0 if together and len(found) >= 0.9 * len(listed) else 1)
' "$order" "$bin" || { echo "stale or not applied: rebuild, or run bench/layout.sh write" >&2; exit 1; }
  exit 0
fi
[ "$mode" = write ] || { echo "usage: bench/layout.sh [write|check] [COFRE_BIN]" >&2; exit 2; }
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install -y valgrind)" >&2; exit 1; }

# The binary's function symbols, sorted.
nm --defined-only "$bin" | awk '$2 ~ /^[tTwW]$/ {print $3}' | sort -u >"$work/symbols"

# trace NAME REQUESTS: the sorted function symbols one server run executed.
trace() {
  local name=$1 requests=$2 port=8497 dir="$work/$1"
  local api="http://127.0.0.1:$port/v1"
  # The harness's own start script: the same config as figure 5's server.
  mkdir -p "$dir"
  DATA_DIR="$dir" BENCH_PORT=$port COFRE_BIN="$bin" \
    COFRE_RUN_UNDER="valgrind --tool=callgrind --demangle=no --callgrind-out-file=$dir/callgrind.out" \
    bench/targets/cofre-start.sh sled >"$dir/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do curl -so /dev/null "$api/sys/health" && break; sleep 0.1; done
  local init key token
  init=$(curl -sf -X PUT -d '{"secret_shares":1,"secret_threshold":1}' "$api/sys/init")
  key=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["keys"][0])' <<<"$init")
  token=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["root_token"])' <<<"$init")
  curl -sfo /dev/null -X PUT -d "{\"key\":\"$key\"}" "$api/sys/unseal"
  local auth="X-Vault-Token: $token"
  curl -sfo /dev/null -H "$auth" -d '{"type":"kv","options":{"version":"2"}}' "$api/sys/mounts/secret"
  local reader=""
  if [ "$requests" -gt 0 ]; then
    # Most requests carry a token with policies, not the root token.
    curl -sfo /dev/null -H "$auth" -X PUT \
      -d '{"policy":"path \"secret/data/*\" { capabilities = [\"read\"] }"}' "$api/sys/policies/acl/reader"
    reader=$(curl -sf -H "$auth" -d '{"policies":["reader"],"ttl":"1h"}' "$api/auth/token/create" |
      python3 -c 'import json,sys; print(json.load(sys.stdin)["auth"]["client_token"])')
  fi
  for i in $(seq 1 "$requests"); do
    curl -sfo /dev/null -H "$auth" -d '{"data":{"user":"u","password":"p"}}' "$api/secret/data/app$i"
    curl -sfo /dev/null -H "$auth" "$api/secret/data/app$i"
    curl -sfo /dev/null -H "X-Vault-Token: $reader" "$api/secret/data/app$i"
    curl -so /dev/null -H "X-Vault-Token: $reader" "$api/secret/metadata/app$i"
    curl -sfo /dev/null -H "$auth" -d '{"ttl":"1h"}' "$api/auth/token/create"
    curl -sfo /dev/null -H "$auth" "$api/auth/token/lookup-self"
    curl -sfo /dev/null "$api/sys/health"
  done
  sleep 3
  kill -INT "$server"
  wait "$server" || true
  server=""
  grep -oE '^c?fn=\([0-9]+\) .*' "$dir/callgrind.out" | sed -E 's/^c?fn=\([0-9]+\) //' |
    sort -u | comm -12 - "$work/symbols" >"$work/$name.functions"
}

trace start 0
trace serve 3
mkdir -p "$(dirname "$order")"
{
  cat "$work/start.functions"
  comm -23 "$work/serve.functions" "$work/start.functions"
} >"$order"
echo "$(wc -l <"$order") functions written to $order ($(wc -l <"$work/start.functions") run at start)"
