#!/usr/bin/python3
"""Kernel memory per ESTABLISHED connection and per TIME-WAIT entry (issue 9 item 6).

In a namespace of its own (sluice-r-mem, loopback only), N kernel TCP connections are opened
to 127.0.0.1 and held open, 9000 per process (both ends; the fd limit here is 20000, and
each process has a listener port of its own, so the client's ephemeral ports suffice);
the growth of the kernel's slab caches (/proc/slabinfo: objects x object size, per cache;
and Slab in /proc/meminfo, which adds the slabs' own overhead) is read before and after.
Each connection has two ends on this host, a client and a server socket, each with its
file, dentry and socket inode: per end is half of the per-connection growth. Then the
servers close first (each server end goes to TIME-WAIT, each client end is freed) and the
growth over the start is divided by the TIME-WAIT entries /proc/net/sockstat counts.
Other work on the machine allocates from the same caches: at 100k connections it is noise.

  kernel_mem.py --connections N --out FILE.json      (root; N at most 200000)
"""
import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import time

NS = "sluice-r-mem"


def slabs():
    out = {}
    with open("/proc/slabinfo") as f:
        for line in f.readlines()[2:]:
            p = line.split()
            out[p[0]] = (int(p[1]), int(p[3]))  # active objects, object size
    return out


def meminfo_slab():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1]) * 1024
    return 0


def sockstat():
    with open("/proc/net/sockstat") as f:
        for line in f:
            if line.startswith("TCP:"):
                p = line.split()
                return {p[i]: int(p[i + 1]) for i in range(1, len(p) - 1, 2)}
    return {}


def snapshot():
    return {"slabs": slabs(), "slab_total": meminfo_slab(), "sockstat": sockstat()}


# The objects a connection's end is made of (socket, its file, dentry and inode, LSM blobs),
# and a TIME-WAIT entry's: counted by name, so unrelated work on the machine (other caches,
# e.g. proc inodes) stays out of the headline figure; whole-slab growth is given beside it.
ESTABLISHED_CACHES = ["TCP", "sock_inode_cache", "dentry", "filp", "lsm_file_cache",
                      "lsm_inode_cache", "skbuff_head_cache", "request_sock_TCP"]
TIME_WAIT_CACHES = ["tw_sock_TCP", "TCP", "request_sock_TCP"]


def delta(a, b, divisor, named):
    caches = {}
    for name, (n, size) in b["slabs"].items():
        n0 = a["slabs"].get(name, (0, size))[0]
        d = (n - n0) * size
        if abs(d) >= divisor * 8:  # at least 8 bytes per connection: worth naming
            caches[name] = {"objects": n - n0, "object_size": size, "bytes_per": d / divisor}
    obj = sum((n - a["slabs"].get(name, (0, size))[0]) * size
              for name, (n, size) in b["slabs"].items())
    named_bytes = sum((b["slabs"].get(k, (0, 0))[0] - a["slabs"].get(k, (0, 0))[0]) *
                      b["slabs"].get(k, (0, 0))[1] for k in named)
    return {
        "named_caches": named, "named_bytes_per": named_bytes / divisor,
        "objects_bytes_per": obj / divisor,
        "meminfo_slab_bytes_per": (b["slab_total"] - a["slab_total"]) / divisor,
        "caches": dict(sorted(caches.items(), key=lambda kv: -kv[1]["bytes_per"])),
    }


def settle():
    time.sleep(1.0)  # RCU-freed objects and per-CPU slab batches


PER_WORKER = 9000  # connections per process: two descriptors each, under a 20000 fd limit


def worker(m, port):
    """Holds m connections to its own listener: both ends, in this process."""
    lim = min(resource.getrlimit(resource.RLIMIT_NOFILE)[1], 2 * m + 64)
    resource.setrlimit(resource.RLIMIT_NOFILE, (lim, lim))
    lst = socket.socket()
    lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lst.bind(("127.0.0.1", port))
    lst.listen(4096)
    say = lambda w: (sys.stdout.write(w + "\n"), sys.stdout.flush())
    say("ready")
    sys.stdin.readline()  # "open"
    clients, servers = [], []
    for _ in range(m):
        c = socket.socket()
        c.connect(("127.0.0.1", port))
        s, _ = lst.accept()
        clients.append(c)
        servers.append(s)
    say("opened")
    sys.stdin.readline()  # "close"
    # Servers close first: their ends go to TIME-WAIT once the clients' FINs arrive.
    for s in servers:
        s.close()
    for c in clients:
        c.recv(1)  # the server's FIN
        c.close()
    say("closed")
    sys.stdin.readline()  # "exit"


def inner(n):
    counts = [PER_WORKER] * (n // PER_WORKER) + ([n % PER_WORKER] if n % PER_WORKER else [])
    procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", str(m),
                              "--port", str(5001 + i)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for i, m in enumerate(counts)]

    def step(cmd, want):
        for p in procs:
            if cmd:
                p.stdin.write(cmd + "\n")
                p.stdin.flush()
        for p in procs:
            got = p.stdout.readline().strip()
            if got != want:
                raise RuntimeError(f"worker said {got!r}, wanted {want!r}")

    try:
        step(None, "ready")
        settle()
        base = snapshot()
        t0 = time.monotonic()
        step("open", "opened")
        open_s = time.monotonic() - t0
        settle()
        est = snapshot()
        estab = est["sockstat"].get("inuse", 0) - base["sockstat"].get("inuse", 0)
        step("close", "closed")
        settle()
        tw = snapshot()
        step("exit", "")
    finally:
        for p in procs:
            p.kill()
            p.wait()
    tw_n = tw["sockstat"].get("tw", 0) - base["sockstat"].get("tw", 0)
    return {
        "connections": n, "processes": len(procs), "open_seconds": open_s,
        "sockets_in_use": estab, "time_wait_entries": tw_n,
        "established": delta(base, est, n, ESTABLISHED_CACHES),
        "time_wait": delta(base, tw, max(tw_n, 1), TIME_WAIT_CACHES),
        "sockstat": {"base": base["sockstat"], "established": est["sockstat"],
                     "time_wait": tw["sockstat"]},
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=100000)
    ap.add_argument("--out")
    ap.add_argument("--inner", action="store_true")
    ap.add_argument("--worker", type=int)
    ap.add_argument("--port", type=int)
    a = ap.parse_args()
    if a.worker:
        worker(a.worker, a.port)
        return
    n = max(100, min(a.connections, 200000))
    if a.inner:
        json.dump(inner(n), sys.stdout)
        return
    if os.geteuid() != 0:
        sys.exit("kernel_mem.py: needs root (a network namespace, /proc/slabinfo)")
    subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    try:
        subprocess.run(["ip", "netns", "add", NS], check=True)
        ex = ["ip", "netns", "exec", NS]
        subprocess.run(ex + ["ip", "link", "set", "lo", "up"], check=True)
        for k, v in [("net.ipv4.ip_local_port_range", "1024 65000"),
                     ("net.ipv4.tcp_max_tw_buckets", "1000000")]:
            subprocess.run(ex + ["sysctl", "-qw", f"{k}={v}"], check=True)
        r = subprocess.run(ex + ["timeout", "300", "/usr/bin/python3", os.path.abspath(__file__),
                                 "--inner", "--connections", str(n)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"kernel_mem.py: {r.stderr}")
        res = json.loads(r.stdout)
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    est, tw = res["established"], res["time_wait"]
    res["per_connection_both_ends"] = est["named_bytes_per"]
    res["per_end"] = est["named_bytes_per"] / 2
    res["per_end_whole_slab"] = est["meminfo_slab_bytes_per"] / 2
    res["per_time_wait"] = tw["named_bytes_per"]
    res["per_time_wait_whole_slab"] = tw["meminfo_slab_bytes_per"]
    if a.out:
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
    print(f"kernel: {res['per_end']:.0f} bytes per ESTABLISHED end in socket caches "
          f"({res['per_end_whole_slab']:.0f} whole-slab growth), {res['per_time_wait']:.0f} "
          f"per TIME-WAIT entry ({res['per_time_wait_whole_slab']:.0f} whole slab; "
          f"{res['time_wait_entries']} entries)")


if __name__ == "__main__":
    main()
