#!/usr/bin/env python3
"""dom0_agent.py SOCKET: the dom0 end of the cloud agent's channel, for `make demo`.

Connects to the channel's Unix socket (where qemu listens), reads what the other end says,
sends one request and prints the answer. In the demo no guest runs, so qemu's human monitor
sits at the guest's end of the channel: it greets, answers `info version`, and echoes what
it is sent with line-editing escapes, which are counted but not shown. Every read has a
deadline (10 s); a silent or closed channel exits 1.
"""
import socket
import sys
import time

DEADLINE_S = 10
PROMPT = b"(qemu) "


def read_until_prompt(sock):
    """Everything up to and including the next prompt."""
    data = b""
    end = time.monotonic() + DEADLINE_S
    while not data.endswith(PROMPT):
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(4096)
        except socket.timeout:
            sys.exit("agent: no prompt within %d s (got %r)" % (DEADLINE_S, data))
        if not chunk:
            sys.exit("agent: the channel closed")
        data += chunk
    return data


def show(direction, data, text):
    print("agent %s %4d bytes: %s" % (direction, len(data), text))


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: dom0_agent.py SOCKET")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(DEADLINE_S)
    try:
        sock.connect(sys.argv[1])
    except OSError as e:
        sys.exit("agent: cannot connect to %s: %s" % (sys.argv[1], e))
    print("agent: connected to %s" % sys.argv[1])

    greeting = read_until_prompt(sock)
    show("<-", greeting, greeting.split(b"\r\n")[0].decode(errors="replace"))

    request = b"info version\n"
    sock.sendall(request)
    show("->", request, request.decode().strip())

    # The echo of the request (one line), the answer, the next prompt.
    reply = read_until_prompt(sock)
    lines = reply.split(b"\r\n")[1:-1]
    if not lines:
        sys.exit("agent: no answer in %r" % reply)
    show("<-", reply, " / ".join(line.decode(errors="replace") for line in lines))
    print("         (most of those bytes are the monitor echoing the request as it edits the line)")
    sock.close()
    print("agent: disconnected")


if __name__ == "__main__":
    main()
