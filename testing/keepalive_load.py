"""A plain keep-alive HTTP client for zero-downtime tests.

One http.client.HTTPConnection per worker thread, as a plain Python client
keeps it: requests go one after another on the same connection, and a
request that fails is never sent again (no retry hides a failure). A failed
request is counted as lost (no answer) and the worker opens a new
connection for its NEXT request.

usage: keepalive_load.py PORT WORKERS STOP_FILE [PATH] [HOST]
Runs until STOP_FILE exists, then prints one JSON line:
  {"total": N, "statuses": {"200": N, ...}, "variants": {"stable": N, ...},
   "versions": {"1.0.0": N, ...}, "lost": N, "lost_samples": ["..."]}
"""
import http.client
import json
import os
import sys
import threading

port = int(sys.argv[1])
workers = int(sys.argv[2])
stop_file = sys.argv[3]
path = sys.argv[4] if len(sys.argv) > 4 else "/"
host = sys.argv[5] if len(sys.argv) > 5 else "127.0.0.1"

lock = threading.Lock()
statuses = {}
variants = {}
versions = {}
lost = []
total = [0]


def count(table, key):
    table[key] = table.get(key, 0) + 1


def worker():
    conn = http.client.HTTPConnection(host, port, timeout=30)
    while not os.path.exists(stop_file):
        try:
            conn.request("GET", path)
            res = conn.getresponse()
            body = res.read()
            version = None
            try:
                version = json.loads(body).get("version")
            except ValueError:
                pass
            with lock:
                total[0] += 1
                count(statuses, str(res.status))
                count(variants, res.getheader("X-SwiftDeploy-Variant") or "-")
                count(versions, str(version))
        except (OSError, http.client.HTTPException) as error:
            with lock:
                total[0] += 1
                lost.append(f"{type(error).__name__}: {error}")
            conn.close()
            conn = http.client.HTTPConnection(host, port, timeout=30)
    conn.close()


threads = [threading.Thread(target=worker) for _ in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(json.dumps({
    "total": total[0],
    "statuses": statuses,
    "variants": variants,
    "versions": versions,
    "lost": len(lost),
    "lost_samples": lost[:5],
}))
