#!/usr/bin/python3
"""The Linux kernel as sluice's TCP peer, for the end-to-end tests (run in the client
namespace). Each scenario prints a transcript of what it saw; the C++ test asserts on it.

    tcp_peer.py echo DST PORT BYTES     send BYTES, read them back, compare SHA-256
    tcp_peer.py halfclose DST PORT      shut our send side, watch FIN-WAIT-2 / CLOSE-WAIT,
                                        then the server's FIN and our TIME-WAIT
    tcp_peer.py http_close DST          one request with "Connection: close": the server
                                        closes first
    tcp_peer.py serve ADDR PORT         accept one connection, echo until EOF, close
    tcp_peer.py serve_close ADDR PORT MS  accept one connection, MS later send 4000 bytes and
                                        close; report the states the kernel's socket went
                                        through

Kernel states come from `ss`, sluice's from its telemetry socket (the file prefix
sluice-t). Every wait is bounded.
"""
import hashlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time

TELEMETRY = "/var/run/dpdk/sluice-t/dpdk_telemetry.v2"
NET = ipaddress.ip_network("198.18.0.0/15")


def check_addr(a):
    if ipaddress.ip_address(a) not in NET:
        sys.exit("tcp_peer.py: refusing an address outside 198.18.0.0/15")


def sluice_counters():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(TELEMETRY)
    s.recv(1024)
    s.send(b"/sluice/stats")
    reply = json.loads(s.recv(65536).decode())
    s.close()
    return reply["/sluice/stats"]


def kernel_state(local_port):
    """State of our socket with this local port, as ss prints it, or 'CLOSED'."""
    out = subprocess.run(["ss", "-tanH", f"sport = :{local_port}"], capture_output=True,
                         text=True).stdout.split()
    return out[0] if out else "CLOSED"


def wait_until(pred, limit=5.0):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.02)
    return pred()


def echo(dst, port, nbytes):
    data = os.urandom(nbytes)
    s = socket.create_connection((dst, port), timeout=10)
    got = bytearray()
    sent = 0
    s.setblocking(False)
    end = time.monotonic() + 30
    while len(got) < nbytes and time.monotonic() < end:
        if sent < nbytes:
            try:
                sent += s.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        try:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
        except BlockingIOError:
            time.sleep(0.0005)
    s.setblocking(True)
    print(f"sent {sent} received {len(got)}")
    print("sha256", "match" if hashlib.sha256(data).digest() == hashlib.sha256(got).digest()
          else "MISMATCH")
    s.shutdown(socket.SHUT_WR)
    s.settimeout(5)
    print("eof", s.recv(1) == b"")
    s.close()


def halfclose(dst, port):
    s = socket.create_connection((dst, port), timeout=5)
    lport = s.getsockname()[1]
    s.sendall(b"ping")
    print("echoed", s.recv(4) == b"ping")
    s.shutdown(socket.SHUT_WR)
    print("kernel:", wait_until(lambda: kernel_state(lport) == "FIN-WAIT-2" and "FIN-WAIT-2")
          or kernel_state(lport))
    c = wait_until(lambda: sluice_counters()["StateCloseWait"] == 1 and sluice_counters())
    print("sluice: CLOSE-WAIT", c["StateCloseWait"] if c else sluice_counters()["StateCloseWait"])
    s.settimeout(5)
    print("eof", s.recv(1) == b"")
    s.close()
    print("kernel after close:", kernel_state(lport))
    c = wait_until(lambda: (sluice_counters()["StateCloseWait"] == 0 and
                            sluice_counters()["StateLastAck"] == 0 and sluice_counters()))
    print("sluice: CLOSE-WAIT", c["StateCloseWait"] if c else "?",
          "LAST-ACK", c["StateLastAck"] if c else "?")


def http_close(dst):
    s = socket.create_connection((dst, 80), timeout=5)
    lport = s.getsockname()[1]
    before = sluice_counters()["TimeWaitEntries"]
    s.sendall(b"GET / HTTP/1.1\r\nHost: sluice\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    print("status", data.split(b"\r\n", 1)[0].decode())
    print("body", repr(data.split(b"\r\n\r\n", 1)[1].decode()))
    print("kernel after server FIN:", kernel_state(lport))
    s.close()
    print("kernel after close:", wait_until(lambda: kernel_state(lport) == "CLOSED" and "CLOSED")
          or kernel_state(lport))
    c = wait_until(lambda: sluice_counters()["TimeWaitEntries"] > before and sluice_counters())
    print("sluice: TIME-WAIT entries grew", bool(c))


def serve(addr, port):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(20)
    print("listening", flush=True)
    c, peer = ls.accept()
    c.settimeout(20)
    n = 0
    while True:
        chunk = c.recv(65536)
        if not chunk:
            break
        c.sendall(chunk)
        n += len(chunk)
    print("served", n, flush=True)
    c.close()
    lport = peer[1]
    time.sleep(0.2)
    out = subprocess.run(["ss", "-tanH", f"dport = :{lport}"], capture_output=True,
                         text=True).stdout.split()
    print("kernel server after close:", out[0] if out else "CLOSED", flush=True)


def serve_close(addr, port, ms):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(20)
    print("listening", flush=True)
    c, peer = ls.accept()
    time.sleep(ms / 1000.0)
    # 4 KB ahead of our FIN: behind a slow qdisc, the FIN leaves the host seconds later.
    c.sendall(b"z" * 4000)
    c.close()
    seen = []
    end = time.monotonic() + 8
    while time.monotonic() < end:
        out = subprocess.run(["ss", "-tanH", f"dport = :{peer[1]}"], capture_output=True,
                             text=True).stdout.split()
        state = out[0] if out else "CLOSED"
        if not seen or seen[-1] != state:
            seen.append(state)
        if state == "TIME-WAIT":
            break
        time.sleep(0.005)
    print("kernel states:", " ".join(seen), flush=True)


def main():
    kind = sys.argv[1]
    check_addr(sys.argv[2])
    if kind == "echo":
        echo(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif kind == "halfclose":
        halfclose(sys.argv[2], int(sys.argv[3]))
    elif kind == "http_close":
        http_close(sys.argv[2])
    elif kind == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    elif kind == "serve_close":
        serve_close(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        sys.exit("unknown scenario " + kind)


if __name__ == "__main__":
    main()
