#!/usr/bin/env python3
"""Cofre HA on PostgreSQL: read and write throughput with 1, 2 and 3 nodes sharing one
PostgreSQL table, and leader failover time.

    cargo build --release -p cofre
    cd bench && COFRE_BIN=../target/release/cofre python3 ha.py [--duration 10]

Every node serves reads and writes, so a figure with N nodes runs one wrk per node at the
same time (connections split evenly) and sums their rates. On this 2-core machine the
nodes, PostgreSQL and wrk share the same two cores, so this measures the cost of the
shared store more than scaling; the README explains the model. Stdlib + wrk only.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
LUA = os.path.join(BENCH_DIR, "lua")
PG_URL = "postgres://postgres@127.0.0.1:5432/postgres"


def req(addr, method, path, body=None, token=None, timeout=10):
    data = json.dumps(body).encode() if body is not None else None
    r = urllib.request.Request(f"{addr}/v1/{path}", data=data, method=method)
    if token:
        r.add_header("X-Vault-Token", token)
    try:
        with urllib.request.urlopen(r, timeout=timeout) as resp:
            text = resp.read()
            return resp.status, (json.loads(text) if text else None)
    except urllib.error.HTTPError as e:
        text = e.read()
        return e.code, (json.loads(text) if text else None)


class Node:
    def __init__(self, cofre, workdir, table, index):
        self.port = 8600 + index
        self.addr = f"http://127.0.0.1:{self.port}"
        self.config = os.path.join(workdir, f"node{index}.hcl")
        with open(self.config, "w") as f:
            f.write(f"""api_addr = "{self.addr}"
listener "tcp" {{
  address     = "127.0.0.1:{self.port}"
  tls_disable = true
}}
storage "postgresql" {{
  connection_url = "{PG_URL}"
  table          = "{table}"
  max_parallel   = 32
  ha_enabled     = true
}}
log_level = "warn"
""")
        self.proc = subprocess.Popen([cofre, "server", "-config", self.config],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(400):
            try:
                req(self.addr, "GET", "sys/seal-status")
                return
            except OSError:
                time.sleep(0.025)
        raise RuntimeError(f"node {index} did not start")

    def unseal(self, key):
        status, body = req(self.addr, "PUT", "sys/unseal", {"key": key})
        if status != 200 or body["sealed"]:
            raise RuntimeError(f"unseal {self.addr}: {status} {body}")

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()


def wrk(addr, script, args, conns, duration):
    cmd = ["wrk", "-t1", f"-c{conns}", f"-d{duration}s", "--latency", "-s",
           os.path.join(LUA, script), addr, "--"] + [str(a) for a in args]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            cwd=LUA, env=dict(os.environ, LUA_PATH=os.path.join(LUA, "?.lua")))


def rate(output):
    for line in output.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"no rate in wrk output: {output}")


def figure(nodes, script, args, conns, duration):
    """One wrk per node at once; the summed rate."""
    per = max(1, conns // len(nodes))
    procs = [wrk(n.addr, script, args, per, duration) for n in nodes]
    return sum(rate(p.communicate()[0]) for p in procs)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--keys", type=int, default=1000)
    cfg = ap.parse_args()
    cofre = os.environ.get("COFRE_BIN", shutil.which("cofre") or "cofre")
    table = f"cofre_bench_ha_{os.getpid()}"
    workdir = tempfile.mkdtemp(prefix="cofre-ha-bench-")
    nodes = []
    try:
        nodes.append(Node(cofre, workdir, table, 1))
        status, init = req(nodes[0].addr, "PUT", "sys/init", {"secret_shares": 1, "secret_threshold": 1})
        key, token = init["keys"][0], init["root_token"]
        nodes[0].unseal(key)
        for i in (2, 3):
            nodes.append(Node(cofre, workdir, table, i))
            nodes[-1].unseal(key)
        req(nodes[0].addr, "POST", "sys/mounts/secret", {"type": "kv", "options": {"version": "2"}}, token)
        payload = {"data": {"value": "x" * 180}}
        for i in range(1, cfg.keys + 1):
            req(nodes[0].addr, "POST", f"secret/data/k{i}", payload, token)
        results = {}
        for n in (1, 2, 3):
            figure(nodes[:n], "read.lua", [token, cfg.keys], cfg.connections, 2)  # warm-up
            results[f"read_{n}"] = figure(nodes[:n], "read.lua", [token, cfg.keys], cfg.connections, cfg.duration)
            print(f"KV v2 read, {n} node(s): {results[f'read_{n}']:.0f} req/s", flush=True)
        for n in (1, 3):
            results[f"write_{n}"] = figure(nodes[:n], "write.lua", [token, 1000000], cfg.connections, cfg.duration)
            print(f"KV v2 write, {n} node(s): {results[f'write_{n}']:.0f} req/s", flush=True)
        # Policy propagation: write on node 1, poll node 2 until the new rule denies.
        a, b = nodes[0].addr, nodes[1].addr
        req(a, "PUT", "sys/policies/acl/probe", {"policy": 'path "secret/data/k1" { capabilities = ["read"] }'}, token)
        _, created = req(a, "POST", "auth/token/create", {"policies": ["probe"], "ttl": "1h"}, token)
        probe = created["auth"]["client_token"]
        delays = []
        for i in range(20):
            allow = i % 2 == 1
            rule = 'path "secret/data/k1" { capabilities = ["read"] }' if allow else 'path "secret/data/k2" { capabilities = ["read"] }'
            t0 = time.monotonic()
            req(a, "PUT", "sys/policies/acl/probe", {"policy": rule}, token)
            want = 200 if allow else 403
            while req(b, "GET", "secret/data/k1", token=probe)[0] != want:
                time.sleep(0.001)
            delays.append(time.monotonic() - t0)
        delays.sort()
        results["policy_propagation_ms_median"] = delays[len(delays) // 2] * 1000
        results["policy_propagation_ms_max"] = delays[-1] * 1000
        print("policy change on node 1 enforced on node 2: median %.1f ms, max %.1f ms (20 changes, "
              "including the write itself)" % (results["policy_propagation_ms_median"], results["policy_propagation_ms_max"]))
        leader = next(n for n in nodes if req(n.addr, "GET", "sys/leader")[1]["is_self"])
        others = [n for n in nodes if n is not leader]
        t0 = time.monotonic()
        leader.kill9()
        while True:
            if any(req(n.addr, "GET", "sys/leader")[1]["is_self"] for n in others):
                break
            if time.monotonic() - t0 > 60:
                raise RuntimeError("no node took over within 60 s")
            time.sleep(0.01)
        results["failover_s"] = time.monotonic() - t0
        print(f"leader failover (kill -9 to another node holding the lock): {results['failover_s']:.2f} s")
        print(json.dumps(results))
    finally:
        for n in nodes:
            if n.proc.poll() is None:
                n.kill9()
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                        f"DROP TABLE IF EXISTS {table}, {table}_schema, {table}_nodes"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
