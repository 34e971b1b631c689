#!/usr/bin/env bash
# Instruction profile of one KV v2 read, the figure issue 9 compares with the hello
# ceiling. Runs the release server under `valgrind --tool=callgrind` (dev mode: in-memory
# storage, root token), writes one secret, drives GETs of it with wrk for a fixed time,
# and prints instructions per request and the inclusive top functions. Instruction counts
# do not depend on what else the machine is doing, so two builds can be compared here.
#   usage: bench/profile.sh [COFRE_BIN] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-target/release/cofre}")
seconds=${2:-20}
port=8498
out=$(mktemp -d)
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; true' EXIT
(cd "$out" && HOME="$out" exec valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.out" \
  "$bin" server -dev -dev-root-token-id=root -dev-listen-address="127.0.0.1:$port") \
  >"$out/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/v1/sys/health" >/dev/null && break; sleep 0.2; done
curl -sf -H 'X-Vault-Token: root' -X POST "http://127.0.0.1:$port/v1/secret/data/k1" \
  -d '{"data":{"username":"app","password":"s3cret-value-of-some-length","host":"db.internal:5432"}}' >/dev/null
# Zero the counters after start-up, so only the reads are counted.
callgrind_control -z "$pid" >/dev/null
requests=$(wrk -t1 -c4 -d"${seconds}s" -H 'X-Vault-Token: root' "http://127.0.0.1:$port/v1/secret/data/k1" \
  | awk '/requests in/ {print $1}')
callgrind_control -d "$pid" >/dev/null
sleep 1
dump=$(ls -t "$out"/callgrind.out* | head -1)
total=$(callgrind_annotate "$dump" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "requests: $requests   instructions/request: $((total / requests))"
callgrind_annotate --inclusive=yes "$dump" 2>/dev/null | sed -n '1,60p' | grep -v '^--' | cut -c1-160
echo "profile: $dump"
