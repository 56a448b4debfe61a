"""A real qemu as a domain's device model for the tests, as c-tests/qemu_helpers.h does it:
`qemu-system-x86_64 -machine none -nodefaults -display none` with libxl's QMP socket at
$XLCHANNEL_RUN_DIR/qmp-libxl-<domid> (the one the library uses) and a second QMP socket for
the test's own questions (a QMP socket serves one client at a time). qemu dies with the test
process (PR_SET_PDEATHSIG), every wait is bounded, and stop() always ends it: quit, then
TERM, then KILL."""

import ctypes
import json
import os
import signal
import socket
import subprocess
import time

QEMU = os.environ.get("XLCHANNEL_QEMU", "qemu-system-x86_64")
DEADLINE_S = 10
PR_SET_PDEATHSIG = 1


def _die_with_parent():
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def connect_unix(path, timeout=DEADLINE_S):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
    except OSError:
        s.close()
        raise
    return s


class QmpError(Exception):
    pass


class DeviceModel:
    """qemu for domain `domid`, its libxl QMP socket in `run_dir`; logs to `run_dir`."""

    def __init__(self, domid, run_dir):
        self.domid = domid
        self.libxl_qmp = os.path.join(run_dir, "qmp-libxl-%d" % domid)
        self.test_qmp = os.path.join(run_dir, "qmp-test-%d" % domid)
        self.log_path = os.path.join(run_dir, "qemu-%d.log" % domid)
        env = dict(os.environ)
        env.pop("LD_PRELOAD", None)
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                [QEMU, "-machine", "none", "-nodefaults", "-display", "none",
                 "-qmp", "unix:%s,server=on,wait=off" % self.libxl_qmp,
                 "-qmp", "unix:%s,server=on,wait=off" % self.test_qmp],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                preexec_fn=_die_with_parent)
        self._sock = None
        self._buf = b""
        try:
            self._open()
        except BaseException:
            self.stop()
            raise

    def _open(self):
        end = time.monotonic() + DEADLINE_S
        while True:
            if self.proc.poll() is not None:
                raise QmpError("qemu exited with %s: %s" % (self.proc.returncode, self.log()))
            try:
                self._sock = connect_unix(self.test_qmp)
                break
            except OSError:
                if time.monotonic() > end:
                    raise QmpError("no QMP socket from qemu after %d s: %s"
                                   % (DEADLINE_S, self.log()))
                time.sleep(0.02)
        greeting = self._message()
        if "QMP" not in greeting:
            raise QmpError("no QMP greeting: %r" % greeting)
        self.execute("qmp_capabilities")
        # libxl's socket exists too (qemu creates both before its main loop).
        if not os.path.exists(self.libxl_qmp):
            raise QmpError("qemu did not create %s" % self.libxl_qmp)

    def log(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def _message(self):
        end = time.monotonic() + DEADLINE_S
        while b"\n" not in self._buf:
            self._sock.settimeout(max(0.01, end - time.monotonic()))
            try:
                chunk = self._sock.recv(65536)
            except socket.timeout:
                raise QmpError("qemu said nothing for %d s" % DEADLINE_S)
            if not chunk:
                raise QmpError("qemu closed its QMP socket")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, **arguments):
        """The command's "return" value; QmpError with qemu's error otherwise."""
        request = {"execute": command}
        if arguments:
            request["arguments"] = arguments
        self._sock.sendall(json.dumps(request).encode() + b"\n")
        while True:
            reply = self._message()
            if "event" in reply:
                continue
            if "error" in reply:
                raise QmpError("%s: %s" % (command, reply["error"].get("desc")))
            return reply["return"]

    def chardevs(self):
        """query-chardev as {label: filename}."""
        return {c["label"]: c["filename"] for c in self.execute("query-chardev")}

    def stop(self):
        """quit over QMP, then TERM, then KILL; each wait bounded. Idempotent."""
        if self._sock is not None:
            try:
                self._sock.sendall(b'{"execute": "quit"}\n')
            except OSError:
                pass
        for sig in (None, signal.SIGTERM, signal.SIGKILL):
            if self.proc.poll() is not None:
                break
            if sig is not None:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                continue
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        for path in (self.libxl_qmp, self.test_qmp):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
