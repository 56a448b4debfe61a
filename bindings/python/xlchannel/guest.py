"""Inside a guest: open a channel by its name once the guest helper (`xlchannel-guest`, run
by udev) has linked it as /dev/xen-channel/NAME."""

from __future__ import annotations

import ctypes
import logging
import math
import os
from typing import Optional, Union

from . import _native
from .context import _DEFAULT, _Sink
from .errors import XlError
from .types import ENCODING, ERRORS

_UINT_MAX = 2**32 - 1


def _path_bytes(what: str, value: Union[str, bytes, os.PathLike]) -> bytes:
    value = os.fspath(value)
    if isinstance(value, str):
        value = value.encode(ENCODING, ERRORS)
    if not isinstance(value, bytes):
        raise TypeError("%s must be str, bytes or a path, not %s" % (what, type(value).__name__))
    if b"\0" in value:
        raise ValueError("%s contains a NUL character" % what)
    return value


def open_channel(name: Union[str, bytes], timeout: float,
                 dev_dir: Union[str, bytes, os.PathLike, None] = None,
                 logger: Union[logging.Logger, None, object] = _DEFAULT):
    """Wait up to `timeout` seconds for the channel `name` to appear as
    `<dev_dir>/xen-channel/<name>` (inotify; `dev_dir` defaults to /dev) and open it for
    reading and writing (`xlchannel_guest_open_channel`). Returns an unbuffered binary file
    (`io.FileIO`, mode 'rb+'), which the caller closes. A timeout of 0 tries once.

    Raises `TimedOutError` (ERROR_TIMEDOUT) when the channel did not appear in time,
    `InvalidError` for a name that is not one safe file name, `FailError` when the dev dir is
    missing or the open fails; each carries the library's messages, which also go to
    `logger` (default: the `xlchannel` logger; None for none).

    The wait happens in C without the GIL, and signals do not end it early: for a long or
    open-ended wait, call this in a loop with a timeout of a few seconds."""
    if isinstance(name, str):
        name_b = name.encode(ENCODING, ERRORS)
    elif isinstance(name, bytes):
        name_b = name
    else:
        raise TypeError("name must be str or bytes, not %s" % type(name).__name__)
    if b"\0" in name_b:
        raise ValueError("name contains a NUL character")
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError("timeout must be a number of seconds, not %s" % type(timeout).__name__)
    if not math.isfinite(timeout) or timeout < 0:
        raise ValueError("timeout must be a finite number of seconds >= 0, not %r" % timeout)
    ms = math.ceil(timeout * 1000)
    if ms > _UINT_MAX:
        raise ValueError("timeout %r is too long (at most %d ms)" % (timeout, _UINT_MAX))
    dev_b = None if dev_dir is None else _path_bytes("dev_dir", dev_dir)
    if logger is _DEFAULT:
        logger = logging.getLogger("xlchannel")
    sink = _Sink(logger)  # type: ignore[arg-type]
    sink.capture = captured = []
    fd = ctypes.c_int(-1)
    rc = _native.lib().xlchannel_guest_open_channel(sink.pointer, name_b, dev_b, ms,
                                                    ctypes.byref(fd))
    sink.capture = None
    if rc < 0:
        raise XlError.from_code(rc, messages=captured)
    return os.fdopen(fd.value, "rb+", buffering=0)
