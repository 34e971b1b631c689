#!/usr/bin/env bash
# The physical ceiling: requests/s of a bare axum "hello" endpoint (server/examples/hello.rs)
# on the same core and with the same load generator settings as the harness's KV read
# figure (server pinned to CPU 0, wrk -t1 -c32 on CPU 1, 2 s warm-up, 10 s, median of 3).
#   usage: bench/ceiling.sh [HELLO_BIN]   (default: target/release/examples/hello)
set -euo pipefail
cd "$(dirname "$0")/.."
hello=${1:-target/release/examples/hello}
[ -x "$hello" ] || cargo build --release -p cofre-server --example hello
port=8499
taskset -c 0 "$hello" "127.0.0.1:$port" &
pid=$!
trap 'kill $pid 2>/dev/null' EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.1; done
rates=()
for run in 1 2 3; do
  taskset -c 1 wrk -t1 -c32 -d2s "http://127.0.0.1:$port/v1/secret/data/k1" >/dev/null
  rate=$(taskset -c 1 wrk -t1 -c32 -d10s "http://127.0.0.1:$port/v1/secret/data/k1" | awk '/Requests\/sec/ {print $2}')
  echo "run $run: $rate req/s"
  rates+=("$rate")
done
median=$(printf '%s\n' "${rates[@]}" | sort -n | sed -n 2p)
echo "hello ceiling (median of 3): $median req/s"
