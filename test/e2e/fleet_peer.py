#!/usr/bin/python3
"""A client whose handshake crosses two sluice hosts (fleet_test.cpp; run in the client
namespace of scripts/netns.sh up-fleet). It writes its frames itself on AF_PACKET, so it can
send the SYN to host A and the final ACK to host B, as an ECMP path change would:

    fleet_peer.py IFACE_A MAC_A IFACE_B MAC_B DST PORT

SYN (MSS 1460) from 198.18.0.1 to DST:PORT on IFACE_A; the SYN-ACK must come back there. The
ACK of it, carrying the text "fleet", goes to IFACE_B. Prints key=value lines:
synack=1 iss=N, then what B answered: b_flags=0xNN (the flags of its segments ORed, or
b_flags=none) and b_text=... (its text, "-" for none); finally a RST on IFACE_B ends
whatever B made. Every wait is bounded (3 s).
"""
import ipaddress
import random
import select
import socket
import struct
import sys
import time

SRC = "198.18.0.1"
NET = ipaddress.ip_network("198.18.0.0/15")
SYN, RST, PSH, ACK = 0x02, 0x04, 0x08, 0x10


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def frame(src_mac, dst_mac, dst, sport, dport, seq, ack, flags, text=b"", mss=None):
    opts = struct.pack("!BBH", 2, 4, mss) if mss else b""
    off = (20 + len(opts)) // 4
    src_ip, dst_ip = socket.inet_aton(SRC), socket.inet_aton(dst)
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, off << 4, flags, 65535, 0, 0)
    tcp += opts + text
    pseudo = src_ip + dst_ip + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), random.randrange(65536), 0x4000,
                     64, 6, 0, src_ip, dst_ip)
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return dst_mac + src_mac + b"\x08\x00" + ip + tcp


def open_iface(name):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0003))
    s.bind((name, 0))
    return s


def wait_segment(s, dst, sport, dport, limit=3.0):
    """The next TCP segment dst:dport -> us:sport received on s: (seq, ack, flags, text)."""
    deadline = time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([s], [], [], left)[0]:
            return None
        data, addr = s.recvfrom(65535)
        if addr[2] == socket.PACKET_OUTGOING or len(data) < 54 or data[12:14] != b"\x08\x00":
            continue
        ip = data[14:]
        ihl = (ip[0] & 0x0F) * 4
        if ip[9] != 6 or socket.inet_ntoa(ip[12:16]) != dst:
            continue
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:total]
        sp, dp, seq, ack, off, flags = struct.unpack("!HHIIBB", tcp[:14])
        if sp != dport or dp != sport:
            continue
        return seq, ack, flags, tcp[(off >> 4) * 4:]


def main():
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    iface_a, mac_a, iface_b, mac_b, dst, port = sys.argv[1:]
    if ipaddress.ip_address(dst) not in NET:
        sys.exit("fleet_peer.py: refusing an address outside 198.18.0.0/15")
    port = int(port)
    a, b = open_iface(iface_a), open_iface(iface_b)
    own_a, own_b = a.getsockname()[4], b.getsockname()[4]
    sport = random.randrange(20000, 60000)
    isn = random.randrange(1 << 32)
    a.send(frame(own_a, mac(mac_a), dst, sport, port, isn, 0, SYN, mss=1460))
    got = wait_segment(a, dst, sport, port)
    if got is None or got[2] != SYN | ACK or got[1] != (isn + 1) & 0xFFFFFFFF:
        print("synack=0")
        return
    iss = got[0]
    print("synack=1 iss=%d" % iss)
    text = b"fleet"
    b.send(frame(own_b, mac(mac_b), dst, sport, port, (isn + 1) & 0xFFFFFFFF,
                 (iss + 1) & 0xFFFFFFFF, ACK | PSH, text))
    # B's answer: a RST, or its ACK and the echo (together or apart).
    flags, echoed = None, b""
    for _ in range(4):
        reply = wait_segment(b, dst, sport, port)
        if reply is None:
            break
        flags = reply[2] if flags is None else flags | reply[2]
        echoed += reply[3]
        if reply[2] & RST or echoed:
            break
    if flags is None:
        print("b_flags=none")
    else:
        print("b_flags=0x%02x b_text=%s" % (flags, echoed.decode(errors="replace") or "-"))
    b.send(frame(own_b, mac(mac_b), dst, sport, port, (isn + 1 + len(text)) & 0xFFFFFFFF, 0,
                 RST))


if __name__ == "__main__":
    main()
