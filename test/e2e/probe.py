#!/usr/bin/python3
"""Crafted packets for the end-to-end tests, sent from the client namespace with scapy.

    probe.py syn DST PORT [--bad-tcp-csum] [--bad-ip-csum] [--ttl N] [--flags S]
        prints "answer FLAGS" (e.g. "answer RA") or "no answer"
    probe.py udp DST PORT      sends one UDP datagram, prints "sent"

Each probe waits at most --wait seconds for an answer. Destinations must be test-bed
addresses (198.18.0.0/15).
"""
import argparse
import ipaddress
import logging
import sys

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)
from scapy.all import IP, TCP, UDP, conf, send, sr1  # noqa: E402

conf.verb = 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("kind", choices=["syn", "udp"])
    ap.add_argument("dst")
    ap.add_argument("port", type=int)
    ap.add_argument("--bad-tcp-csum", action="store_true")
    ap.add_argument("--bad-ip-csum", action="store_true")
    ap.add_argument("--flags", default="S")
    ap.add_argument("--ttl", type=int, default=64)
    ap.add_argument("--wait", type=float, default=1.0)
    a = ap.parse_args()
    if ipaddress.ip_address(a.dst) not in ipaddress.ip_network("198.18.0.0/15"):
        sys.exit("probe.py: refusing a destination outside 198.18.0.0/15")

    ip = IP(dst=a.dst, ttl=a.ttl)
    if a.bad_ip_csum:
        ip.chksum = 0x1234
    if a.kind == "udp":
        send(ip / UDP(sport=40000, dport=a.port) / b"x")
        print("sent")
        return
    tcp = TCP(sport=40001, dport=a.port, flags=a.flags, seq=1000)
    if a.bad_tcp_csum:
        tcp.chksum = 0xBAD
    ans = sr1(ip / tcp, timeout=a.wait)
    if ans is None or TCP not in ans:
        print("no answer")
    else:
        print("answer", ans[TCP].sprintf("%TCP.flags%"), "ack", ans[TCP].ack, "seq", ans[TCP].seq)


if __name__ == "__main__":
    main()
