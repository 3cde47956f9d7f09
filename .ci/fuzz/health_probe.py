#!/usr/bin/env python3
"""GET /health every INTERVAL seconds until SIGTERM; then write a JSON summary to OUT.

Runs as its own process (started by fuzz.py), so the fuzzer's CPU work and GIL never delay a
probe: what it measures is the server's answer time.
"""
import http.client
import json
import os
import signal
import sys
import time

host, port, out, interval = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
max_seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 3600.0
parent = os.getppid()
stop = False


def on_term(_sig, _frame):
    global stop
    stop = True


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGINT, on_term)

latencies = []
failures = []  # [wall-clock time, what happened]
slow = []  # [wall-clock time, seconds] for answers of 1 s or more
started = time.time()
while not stop:
    # Never outlive the fuzzer: stop when it is gone or after the longest run it can have.
    if os.getppid() != parent or time.time() - started > max_seconds:
        break
    t0 = time.perf_counter()
    try:
        conn = http.client.HTTPConnection(host, port, timeout=5)
        conn.request("GET", "/health")
        resp = conn.getresponse()
        body = resp.read()
        conn.close()
        dt = time.perf_counter() - t0
        latencies.append(dt)
        if resp.status != 200 or b"ok" not in body:
            failures.append([round(time.time() - started, 3), f"HTTP {resp.status}: {body[:200]!r}"])
        elif dt >= 1.0:
            slow.append([round(time.time() - started, 3), round(dt, 3)])
    except Exception as e:  # refused, reset, timeout: all failures
        dt = time.perf_counter() - t0
        latencies.append(dt)
        failures.append([round(time.time() - started, 3), f"{type(e).__name__}: {e}"])
    rest = interval - (time.perf_counter() - t0)
    if rest > 0 and not stop:
        time.sleep(rest)

lat = sorted(latencies)
summary = {
    "probes": len(lat),
    "max_seconds": lat[-1] if lat else None,
    "p50_seconds": lat[len(lat) // 2] if lat else None,
    "p99_seconds": lat[min(len(lat) - 1, int(len(lat) * 0.99))] if lat else None,
    "slow": slow,
    "failures": failures,
    "duration_seconds": round(time.time() - started, 1),
}
with open(out, "w") as f:
    json.dump(summary, f)
