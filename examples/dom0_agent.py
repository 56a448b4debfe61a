#!/usr/bin/env python3
"""dom0_agent.py SOCKET [--one-way] [MESSAGE]: the dom0 end of the cloud agent's channel,
for `make demo`.

Connects to the channel's Unix socket (where qemu listens), sends one message and prints
the answer from the other end (with --one-way: sends only). In the demo no guest runs:
examples/guest_end.py stands in for the guest's agent inside qemu, and qemu's filters carry
the bytes as packets (a 4-byte big-endian length, then the bytes), so the agent frames its
message so and reads the answer so. Every read has a deadline (10 s); a silent or closed
channel exits 1.
"""
import socket
import sys
import time

DEADLINE_S = 10


def read_exactly(sock, n):
    data = b""
    end = time.monotonic() + DEADLINE_S
    while len(data) < n:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(n - len(data))
        except socket.timeout:
            sys.exit("agent: no answer within %d s (got %r)" % (DEADLINE_S, data))
        if not chunk:
            sys.exit("agent: the channel closed")
        data += chunk
    return data


def main():
    args = sys.argv[1:]
    one_way = "--one-way" in args
    args = [a for a in args if a != "--one-way"]
    if len(args) not in (1, 2):
        sys.exit("usage: dom0_agent.py SOCKET [--one-way] [MESSAGE]")
    request = (args[1] if len(args) == 2 else "version?").encode()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(DEADLINE_S)
    try:
        sock.connect(args[0])
    except OSError as e:
        sys.exit("agent: cannot connect to %s: %s" % (args[0], e))
    print("agent: connected to %s" % args[0])
    packet = len(request).to_bytes(4, "big") + request
    if b"\x01" in packet:  # the demo's mux in qemu reads ctrl-a as its escape key
        sys.exit("agent: %r would contain the byte 0x01" % request)
    sock.sendall(packet)
    print("agent -> %4d bytes: %s" % (4 + len(request), request.decode()))
    if one_way:
        sock.close()
        print("agent: disconnected")
        return
    length = int.from_bytes(read_exactly(sock, 4), "big")
    answer = read_exactly(sock, length)
    print("agent <- %4d bytes: %s" % (4 + length, answer.decode(errors="replace")))
    sock.close()
    print("agent: disconnected")


if __name__ == "__main__":
    main()
