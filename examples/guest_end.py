#!/usr/bin/env python3
"""guest_end.py QMP_SOCKET CHARDEV DIR [--reply]: a stand-in for the guest's agent, for
`make demo`.

No guest runs in the demo (there is no hypervisor; qemu has `-machine none`), so nothing
inside qemu would read or write a channel's chardev. This program puts something there,
with qemu's own objects, over its QMP socket:

  * a second socket chardev, `guest-CHARDEV` (DIR/guest-CHARDEV.sock), which this program
    connects to: it plays the guest's end of the channel;
  * qemu's only frontends that take a chardev without a guest are network filters: a
    filter-redirector reads the channel's chardev and a second one writes what it read to
    `guest-CHARDEV`, over two connected hub ports.

With --reply the stand-in also answers, over a second pair of filters and hub ports. A
chardev takes a single frontend, so then a mux sits in front of each of the two chardevs
and lets a reading and a writing filter share it (a mux hands what it reads to its first
frontend: the reading filters are attached first; it takes ctrl-a, 0x01, as its escape
key, so packets containing that byte are refused). qemu never lets go of a chardev once a
mux has had it, so --reply is for a channel that stays; without it, everything added is
removed at the end and the channel's chardev is free again (for its removal).

Filters carry packets: a 4-byte big-endian length, then the bytes. The stand-in prints the
one request it reads (and its answer), waits for the dom0 agent to disconnect, then removes
its filters and hub ports. It prints "guest: ready" once the path is set up. Every wait has
a deadline (10 s); any failure exits 1.
"""
import json
import os
import socket
import sys
import time

DEADLINE_S = 10


class Qmp:
    def __init__(self, path):
        end = time.monotonic() + DEADLINE_S
        while True:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(DEADLINE_S)  # also for connect, which waits while qemu's backlog is full
            try:
                self.sock.connect(path)
                break
            except OSError as e:
                self.sock.close()
                if time.monotonic() > end:
                    sys.exit("guest: no qemu on %s: %s" % (path, e))
                time.sleep(0.05)
        self.sock.settimeout(DEADLINE_S)
        self.buf = b""
        self.message()  # the greeting
        self.run("qmp_capabilities")

    def message(self):
        while b"\n" not in self.buf:
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                sys.exit("guest: qemu said nothing for %d s" % DEADLINE_S)
            if not chunk:
                sys.exit("guest: qemu closed its QMP socket")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def run(self, command, **arguments):
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self.sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            answer = self.message()
            if "event" in answer:
                continue
            if "return" not in answer:
                sys.exit("guest: %s refused: %s" % (command, answer.get("error")))
            return answer["return"]

    def connected(self, chardev):
        """Whether a client is connected to socket chardev `chardev`."""
        return any(c["label"] == chardev and not c["filename"].startswith("disconnected:")
                   for c in self.run("query-chardev"))


def read_exactly(sock, n):
    data = b""
    end = time.monotonic() + DEADLINE_S
    while len(data) < n:
        sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            chunk = sock.recv(n - len(data))
        except socket.timeout:
            sys.exit("guest: nothing arrived within %d s" % DEADLINE_S)
        if not chunk:
            sys.exit("guest: the guest end closed")
        data += chunk
    return data


def main():
    args = sys.argv[1:]
    reply = "--reply" in args
    args = [a for a in args if a != "--reply"]
    if len(args) != 3:
        sys.exit("usage: guest_end.py QMP_SOCKET CHARDEV DIR [--reply]")
    qmp_path, chardev, directory = args
    guest_id = "guest-" + chardev
    guest_sock = os.path.join(directory, guest_id + ".sock")
    qmp = Qmp(qmp_path)
    qmp.run("chardev-add", id=guest_id, backend={"type": "socket", "data": {
        "addr": {"type": "unix", "data": {"path": guest_sock}}, "server": True, "wait": False}})
    channel_end, guest_end = chardev, guest_id
    if reply:
        channel_end, guest_end = "mux-" + chardev, "mux-" + guest_id
        qmp.run("chardev-add", id=channel_end, backend={"type": "mux", "data": {"chardev": chardev}})
        qmp.run("chardev-add", id=guest_end, backend={"type": "mux", "data": {"chardev": guest_id}})
    # dom0 -> guest over hub ports to-guest0/1; guest -> dom0 over to-dom0-0/1.
    hubs = [("to-guest0-" + chardev, "to-guest1-" + chardev)]
    if reply:
        hubs.append(("to-dom0-0-" + chardev, "to-dom0-1-" + chardev))
    base = 10 * int("0" + "".join(ch for ch in chardev if ch.isdigit()))  # hubs of its own
    for i, (a, b) in enumerate(hubs):
        qmp.run("netdev_add", type="hubport", id=a, hubid=base + 2 * i)
        qmp.run("netdev_add", type="hubport", id=b, hubid=base + 2 * i + 1, netdev=a)
    filters = [("read-" + chardev, hubs[0][0], "indev", channel_end)]
    if reply:
        filters.append(("read-" + guest_id, hubs[1][0], "indev", guest_end))
    filters.append(("write-" + guest_id, hubs[0][0], "outdev", guest_end))
    if reply:
        filters.append(("write-" + chardev, hubs[1][0], "outdev", channel_end))
    for fid, netdev, end, dev in filters:
        qmp.run("object-add", **{"qom-type": "filter-redirector", "id": fid, "netdev": netdev,
                                 "queue": "tx", end: dev})
    guest = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    guest.connect(guest_sock)
    # qemu takes the connection in its main loop: wait for it before anything is sent.
    end = time.monotonic() + DEADLINE_S
    while not qmp.connected(guest_id):
        if time.monotonic() > end:
            sys.exit("guest: qemu did not take the stand-in's connection")
        time.sleep(0.02)
    print("guest: in qemu, filters now carry %s's bytes to %s%s, where this stand-in reads "
          "them" % (chardev, guest_id, " and its answers back" if reply else ""), flush=True)
    print("guest: ready", flush=True)

    length = int.from_bytes(read_exactly(guest, 4), "big")
    request = read_exactly(guest, length)
    print("guest <- %4d bytes: %s" % (4 + length, request.decode(errors="replace")), flush=True)
    if reply:
        answer = b"agent 1.0 in cloud-vm: got %d bytes" % length
        packet = len(answer).to_bytes(4, "big") + answer
        if b"\x01" in packet:
            sys.exit("guest: %r would contain the mux's escape byte 0x01" % answer)
        guest.sendall(packet)
        print("guest -> %4d bytes: %s" % (len(packet), answer.decode()), flush=True)
    # The answer is on its way while the agent is connected: take nothing away before it
    # has gone.
    end = time.monotonic() + DEADLINE_S
    while qmp.connected(chardev):
        if time.monotonic() > end:
            sys.exit("guest: the dom0 agent is still connected after %d s" % DEADLINE_S)
        time.sleep(0.02)
    guest.close()
    for fid, _, _, _ in reversed(filters):
        qmp.run("object-del", id=fid)
    for a, b in hubs:
        qmp.run("netdev_del", id=b)
        qmp.run("netdev_del", id=a)
    if reply:
        print("guest: its filters and hub ports removed; qemu keeps %s, %s and %s until it "
              "exits (a mux is never let go)" % (channel_end, guest_end, guest_id), flush=True)
    else:
        qmp.run("chardev-remove", id=guest_id)
        print("guest: the stand-in removed from qemu; %s is free again" % chardev, flush=True)


if __name__ == "__main__":
    main()
