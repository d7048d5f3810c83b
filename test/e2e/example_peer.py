#!/usr/bin/python3
"""The kernel's side of the example end-to-end test (example_test.cpp), run in the client
namespace. Every wait is bounded.

    example_peer.py client DST PORT TEXT   send TEXT, half-close, print "reply: <what came back>"
    example_peer.py serve ADDR PORT        print "listening", accept one connection, read to
                                           EOF, answer "kernel got: <data>", close
"""
import ipaddress
import socket
import sys

NET = ipaddress.ip_network("198.18.0.0/15")


def check_addr(a):
    if ipaddress.ip_address(a) not in NET:
        sys.exit("example_peer.py: refusing an address outside 198.18.0.0/15")


def read_all(s):
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            return data
        data += chunk


def main():
    mode, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    check_addr(addr)
    if mode == "client":
        s = socket.create_connection((addr, port), timeout=10)
        s.sendall(sys.argv[4].encode())
        s.shutdown(socket.SHUT_WR)
        print("reply: " + read_all(s).decode(), flush=True)
        s.close()
    elif mode == "serve":
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        ls.bind((addr, port))
        ls.listen(1)
        ls.settimeout(30)
        print("listening", flush=True)
        c, _ = ls.accept()
        c.settimeout(10)
        data = read_all(c)
        c.sendall(b"kernel got: " + data)
        c.close()
        print("served " + data.decode(), flush=True)
    else:
        sys.exit("usage: example_peer.py client|serve ...")


if __name__ == "__main__":
    main()
