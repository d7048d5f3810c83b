#!/usr/bin/python3
"""What one SYN costs the Linux kernel with SYN cookies on, on one core (issue 9 item 3).

A differential measurement on the netns veth test bed (namespaces sluice-r-client and
sluice-r-server, addresses in 198.18.0.0/15 only):

  run "syn":  test/e2e/syn_flood, pinned to core 0, floods a kernel listener on
              198.18.0.2:80 (net.ipv4.tcp_syncookies = 2: a cookie for every SYN, as sluice's
              `always` listener in bench/syn) for SECONDS. Every SYN-ACK goes to the
              flooder's MAC (a permanent neighbour entry), which nobody owns: the client
              kernel drops it on arrival.
  run "drop": the same flood with a destination MAC nobody owns: the server namespace's
              kernel drops each frame at once (not for this host), before IP and TCP.

veth delivers a frame in the sender's context (the flooder's system call runs the receive
softirq on its way out), so the kernel's whole work for a SYN -- the flooder's send, IP,
the listener lookup, the cookie, the SYN-ACK and its delivery to the client namespace -- is
charged to the flooder's CPU time, or to ksoftirqd when softirqs are deferred. Both are read
per task (wait4 rusage; /proc/PID/stat of ksoftirqd/N), so other work on the machine does
not enter the figure. cycles per SYN = (syn CPU / syn frames - drop CPU / drop frames) x TSC.

  kernel_syn.py --build DIR --seconds S --tsc-ghz G --out FILE.json   (root)
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time

NS_C, NS_S = "sluice-r-client", "sluice-r-server"
IF_C, IF_S = "sluice-r-cli", "sluice-r-srv"
FLOOD_MAC = "02:00:00:00:f1:00"   # syn_flood's default source MAC, nobody owns it
NOBODY_MAC = "02:00:00:00:ee:01"  # the "drop" run's destination
HERE = os.path.dirname(os.path.abspath(__file__))
NETNS = os.path.join(HERE, "..", "..", "scripts", "netns.sh")


def sh(cmd, check=True, timeout=30):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.stdout}{r.stderr}")
    return r.stdout


def ns(name, cmd, **kw):
    return sh(f"ip netns exec {name} {cmd}", **kw)


def task_seconds(pid):
    """utime + stime of a task, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        rest = f.read().rsplit(")", 1)[1].split()
    return (int(rest[11]) + int(rest[12])) / os.sysconf("SC_CLK_TCK")


def ksoftirqd_pids():
    out = sh("pgrep -x 'ksoftirqd/[0-9]+'", check=False)
    return [int(p) for p in out.split()]


def nstat(names):
    out = ns(NS_S, "nstat -az " + " ".join(names))
    vals = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0] in names:
            vals[parts[0]] = int(parts[1])
    return vals


def flood(build, dst_mac, seconds):
    counters = ["TcpExtSyncookiesSent", "IpInReceives", "TcpExtListenDrops", "TcpOutSegs"]
    before = nstat(counters)
    soft = {p: task_seconds(p) for p in ksoftirqd_pids()}
    cmd = ["taskset", "-c", "0", "ip", "netns", "exec", NS_C,
           os.path.join(build, "test/e2e/syn_flood"), "--iface", IF_C, "--dst-mac", dst_mac,
           "--dst", "198.18.0.2", "--port", "80", "--src-prefix", "198.18.0.0/15",
           "--exclude", "198.18.0.1,198.18.0.2,198.18.0.254,198.18.0.255",
           "--seconds", str(seconds), "--max-packets", str(3_000_000 * seconds)]
    with tempfile.TemporaryFile("w+") as out:
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
        try:
            _, status, ru = os.wait4(p.pid, 0)
        except BaseException:
            p.kill()
            raise
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.monotonic() - t0
        out.seek(0)
        text = out.read()
    soft_s = sum(task_seconds(pid) - s for pid, s in soft.items() if os.path.exists(f"/proc/{pid}"))
    time.sleep(0.2)  # let the last softirq batch finish before reading the counters
    after = nstat(counters)
    m = re.search(r"flood sent=(\d+) seconds=([\d.]+) pps=(\d+)", text)
    if p.returncode != 0 or not m:
        raise RuntimeError(f"syn_flood failed ({p.returncode}): {text}")
    sent = int(m.group(1))
    cpu = ru.ru_utime + ru.ru_stime
    return {
        "sent": sent, "seconds": float(m.group(2)), "pps": int(m.group(3)), "wall_s": wall,
        "flooder_cpu_s": cpu, "flooder_user_s": ru.ru_utime, "flooder_sys_s": ru.ru_stime,
        "ksoftirqd_cpu_s": soft_s,
        "counters": {k: after.get(k, 0) - before.get(k, 0) for k in counters},
        "ns_per_frame": (cpu + soft_s) * 1e9 / max(sent, 1),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--tsc-ghz", type=float, default=0.0)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("kernel_syn.py: needs root (network namespaces, raw sockets)")
    a.seconds = max(1, min(a.seconds, 30))
    ghz = a.tsc_ghz
    if ghz <= 0:
        ghz = float(re.search(r"cpu MHz\s*:\s*([\d.]+)", open("/proc/cpuinfo").read()).group(1)) / 1e3
    listener = None
    try:
        sh(f"{NETNS} up r-")
        mac = ns(NS_S, f"cat /sys/class/net/{IF_S}/address").strip()
        ns(NS_S, f"ip addr replace 198.18.0.2/32 dev {IF_S}")
        ns(NS_S, f"ip route replace 198.18.0.1/32 dev {IF_S}")
        ns(NS_S, f"ip route replace 198.18.0.254/32 dev {IF_S}")
        ns(NS_S, f"ip neigh replace 198.18.0.254 lladdr {FLOOD_MAC} dev {IF_S} nud permanent")
        ns(NS_S, "ip route replace 198.18.0.0/15 via 198.18.0.254")
        ns(NS_S, "sysctl -qw net.ipv4.tcp_syncookies=2")
        # A listener that never accepts: with cookies for every SYN it keeps no state.
        listener = subprocess.Popen(
            ["timeout", str(4 * a.seconds + 30), "ip", "netns", "exec", NS_S, "/usr/bin/python3",
             "-c", "import socket,time\n"
             "s=socket.socket(); s.bind(('198.18.0.2',80)); s.listen(1024)\n"
             "print('listening',flush=True); time.sleep(600)"],
            stdout=subprocess.PIPE, text=True)
        if listener.stdout.readline().strip() != "listening":
            raise RuntimeError("kernel listener did not start")
        syn = flood(a.build, mac, a.seconds)
        drop = flood(a.build, NOBODY_MAC, a.seconds)
        per_syn_ns = syn["ns_per_frame"] - drop["ns_per_frame"]
        answered = syn["counters"]["TcpExtSyncookiesSent"]
        res = {
            "method": "differential: flooder (pinned to core 0) CPU time from wait4 rusage + "
                      "ksoftirqd CPU time, per frame, SYNs to a listener minus frames dropped "
                      "on arrival (wrong destination MAC); net.ipv4.tcp_syncookies=2",
            "tsc_ghz": ghz, "seconds": a.seconds, "syn": syn, "drop": drop,
            "answered_fraction": answered / max(syn["sent"], 1),
            "cycles_per_syn": per_syn_ns * ghz,
            "cycles_per_syn_whole": syn["ns_per_frame"] * ghz,
            "cycles_per_dropped_frame": drop["ns_per_frame"] * ghz,
        }
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1)
        print(f"kernel SYN: {res['cycles_per_syn']:.0f} cycles/SYN beyond a dropped frame "
              f"({res['cycles_per_syn_whole']:.0f} in all, a dropped frame "
              f"{res['cycles_per_dropped_frame']:.0f}); {answered}/{syn['sent']} answered")
    finally:
        if listener is not None:
            listener.terminate()  # timeout forwards it to the listener
            listener.wait()
        sh(f"{NETNS} down r-", check=False)


if __name__ == "__main__":
    main()
