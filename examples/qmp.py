#!/usr/bin/env python3
"""qmp.py SOCKET COMMAND...: run QMP commands on qemu's control socket, for `make demo`.

Waits (at most 10 s) for qemu to create the socket, negotiates capabilities, then sends each
COMMAND (e.g. query-chardev) and prints qemu's answer; a list answer is printed one element
per line. Every read has a deadline; any failure exits 1. `quit` may also end with qemu
closing the socket.
"""
import json
import socket
import sys
import time

DEADLINE_S = 10


def connect(path):
    end = time.monotonic() + DEADLINE_S
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            s.settimeout(DEADLINE_S)
            return s
        except OSError as e:
            s.close()
            if time.monotonic() > end:
                sys.exit("qmp: no qemu on %s after %d s: %s" % (path, DEADLINE_S, e))
            time.sleep(0.05)


def replies(sock):
    """QMP messages, one per line; events are skipped."""
    buf = b""
    while True:
        while b"\n" not in buf:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                sys.exit("qmp: qemu said nothing for %d s" % DEADLINE_S)
            if not chunk:
                return
            buf += chunk
        line, buf = buf.split(b"\n", 1)
        message = json.loads(line)
        if "event" not in message:
            yield message


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: qmp.py SOCKET COMMAND...")
    sock = connect(sys.argv[1])
    answers = replies(sock)
    greeting = next(answers, None)
    if not greeting or "QMP" not in greeting:
        sys.exit("qmp: no greeting from qemu: %s" % greeting)
    greeting = greeting["QMP"]["version"]["qemu"]
    print("qmp: connected to qemu %(major)d.%(minor)d.%(micro)d" % greeting)
    for command in ["qmp_capabilities"] + sys.argv[2:]:
        sock.sendall(json.dumps({"execute": command}).encode() + b"\n")
        answer = next(answers, None)
        if answer is None and command == "quit":
            print("qmp: quit -> qemu closed the socket")
            continue
        if answer is None or "return" not in answer:
            sys.exit("qmp: %s failed: %s" % (command, answer))
        if command == "qmp_capabilities":
            continue
        print("qmp: %s ->" % command)
        result = answer["return"]
        for item in result if isinstance(result, list) else [result]:
            print("    " + json.dumps(item))


if __name__ == "__main__":
    main()
