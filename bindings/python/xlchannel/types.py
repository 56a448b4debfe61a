"""Value types: `Connection`, `Channel`, `ChannelInfo`, and their conversion to and from the
C structs (every C allocation made here is released on every path)."""

from __future__ import annotations

import ctypes
import dataclasses
import enum
from typing import Optional, Union

from . import _native
from .errors import ERROR_FAIL, XlError

INT_MIN, INT_MAX = -(2 ** 31), 2 ** 31 - 1
UINT32_MAX = 2 ** 32 - 1
# Strings go to C as UTF-8; bytes that are not UTF-8 (a name written by someone else into
# xenstore) come back as lone surrogates and go out again unchanged.
ENCODING, ERRORS = "utf-8", "surrogateescape"


class Connection(enum.IntEnum):
    """`libxl_channel_connection`. C fields may hold any int; values outside the enum are
    kept as plain ints."""

    UNKNOWN = 0
    PTY = 1
    SOCKET = 2

    def __str__(self) -> str:
        return self.name.lower()

    @classmethod
    def coerce(cls, value: Union["Connection", int, str]) -> Union["Connection", int]:
        """A member for a member, its value or its name (any case, as libxl's
        `_from_string`); any other int as it is."""
        if isinstance(value, str):
            try:
                return cls[value.upper()]
            except KeyError:
                raise ValueError("unknown channel connection %r" % value) from None
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("connection must be a Connection, int or str, not %s"
                            % type(value).__name__)
        _check_int("connection", value, INT_MIN, INT_MAX)
        try:
            return cls(value)
        except ValueError:
            return int(value)


def _check_int(what: str, value, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("%s must be an int, not %s" % (what, type(value).__name__))
    if not lo <= value <= hi:
        raise ValueError("%s %d out of range [%d, %d]" % (what, value, lo, hi))
    return int(value)


def _check_str(what: str, value) -> Optional[str]:
    if value is None:
        return None
    if not isinstance(value, str):
        raise TypeError("%s must be a str or None, not %s" % (what, type(value).__name__))
    if "\0" in value:
        raise ValueError("%s contains a NUL character" % what)
    return value


def encode(value: Optional[str]) -> Optional[bytes]:
    return None if value is None else value.encode(ENCODING, ERRORS)


def decode(pointer: Optional[int]) -> Optional[str]:
    return None if not pointer else ctypes.string_at(pointer).decode(ENCODING, ERRORS)


def check_domid(domid) -> int:
    return _check_int("domid", domid, 0, UINT32_MAX)


def take_string(pointer: Optional[int]) -> str:
    """Read and free a `malloc`'d C string the library handed over."""
    try:
        return ctypes.string_at(pointer).decode(ENCODING, ERRORS)
    finally:
        _native.libc.free(pointer)


@dataclasses.dataclass(frozen=True)
class Channel:
    """`libxl_device_channel`. The defaults are `libxl_device_channel_init`'s. `path` is the
    socket's path: it exists only for `Connection.SOCKET` (libxl's union)."""

    name: Optional[str] = None
    connection: Union[Connection, int] = Connection.UNKNOWN
    path: Optional[str] = None
    devid: int = -1
    backend_domid: int = 0
    backend_domname: Optional[str] = None

    def __post_init__(self) -> None:
        conn = Connection.coerce(self.connection)
        object.__setattr__(self, "connection", conn)
        _check_str("name", self.name)
        _check_str("path", self.path)
        _check_str("backend_domname", self.backend_domname)
        _check_int("devid", self.devid, INT_MIN, INT_MAX)
        _check_int("backend_domid", self.backend_domid, 0, UINT32_MAX)
        if self.path is not None and conn != Connection.SOCKET:
            raise ValueError("path is for socket channels only (connection is %s)" % conn)

    # -- C conversions -------------------------------------------------------------

    def _to_c(self) -> _native.libxl_device_channel:
        """An initialised C struct owning `malloc`'d copies of the strings. The caller
        disposes it (`libxl_device_channel_dispose`)."""
        lib = _native.lib()
        c = _native.libxl_device_channel()
        lib.libxl_device_channel_init(ctypes.byref(c))
        try:
            c.backend_domid = self.backend_domid
            c.devid = self.devid
            c.connection = int(self.connection)
            c.name = _native.libc.dup(encode(self.name))
            c.backend_domname = _native.libc.dup(encode(self.backend_domname))
            if self.connection == Connection.SOCKET:
                c.u.socket.path = _native.libc.dup(encode(self.path))
        except BaseException:
            lib.libxl_device_channel_dispose(ctypes.byref(c))
            raise
        return c

    @classmethod
    def _from_c(cls, c: _native.libxl_device_channel) -> "Channel":
        conn = Connection.coerce(c.connection)
        return cls(
            name=decode(c.name),
            connection=conn,
            path=decode(c.u.socket.path) if conn == Connection.SOCKET else None,
            devid=c.devid,
            backend_domid=c.backend_domid,
            backend_domname=decode(c.backend_domname),
        )

    # -- JSON ----------------------------------------------------------------------

    def to_json(self) -> str:
        """libxl's JSON for the channel (`libxl_device_channel_to_json`), byte for byte."""
        lib = _native.lib()
        c = self._to_c()
        try:
            text = lib.libxl_device_channel_to_json(None, ctypes.byref(c))
            if not text:
                raise XlError.from_code(ERROR_FAIL, "libxl_device_channel_to_json failed")
            return take_string(text)
        finally:
            lib.libxl_device_channel_dispose(ctypes.byref(c))

    @classmethod
    def from_json(cls, text: Union[str, bytes], ctx=None) -> "Channel":
        """Parse libxl's JSON (`libxl_device_channel_from_json`, its quirks included).
        Raises XlError; with a `Context`, the error carries the library's messages."""
        return _from_json(cls, _native.libxl_device_channel, "libxl_device_channel",
                          text, ctx)


@dataclasses.dataclass(frozen=True)
class ChannelInfo:
    """`libxl_channelinfo`: a channel's state as `libxl_device_channel_getinfo` reports it.
    `path` is the pty's path: it exists only for `Connection.PTY` (libxl's union)."""

    backend: Optional[str] = None
    backend_id: int = 0
    frontend: Optional[str] = None
    frontend_id: int = 0
    devid: int = -1
    state: int = 0
    evtch: int = 0
    rref: int = 0
    connection: Union[Connection, int] = Connection.UNKNOWN
    path: Optional[str] = None

    def __post_init__(self) -> None:
        conn = Connection.coerce(self.connection)
        object.__setattr__(self, "connection", conn)
        for what in ("backend", "frontend", "path"):
            _check_str(what, getattr(self, what))
        for what in ("backend_id", "frontend_id"):
            _check_int(what, getattr(self, what), 0, UINT32_MAX)
        for what in ("devid", "state", "evtch", "rref"):
            _check_int(what, getattr(self, what), INT_MIN, INT_MAX)
        if self.path is not None and conn != Connection.PTY:
            raise ValueError("path is for pty channels only (connection is %s)" % conn)

    def _to_c(self) -> _native.libxl_channelinfo:
        lib = _native.lib()
        c = _native.libxl_channelinfo()
        lib.libxl_channelinfo_init(ctypes.byref(c))
        try:
            for what in ("backend_id", "frontend_id", "devid", "state", "evtch", "rref"):
                setattr(c, what, getattr(self, what))
            c.connection = int(self.connection)
            c.backend = _native.libc.dup(encode(self.backend))
            c.frontend = _native.libc.dup(encode(self.frontend))
            if self.connection == Connection.PTY:
                c.u.pty.path = _native.libc.dup(encode(self.path))
        except BaseException:
            lib.libxl_channelinfo_dispose(ctypes.byref(c))
            raise
        return c

    @classmethod
    def _from_c(cls, c: _native.libxl_channelinfo) -> "ChannelInfo":
        conn = Connection.coerce(c.connection)
        return cls(
            backend=decode(c.backend),
            backend_id=c.backend_id,
            frontend=decode(c.frontend),
            frontend_id=c.frontend_id,
            devid=c.devid,
            state=c.state,
            evtch=c.evtch,
            rref=c.rref,
            connection=conn,
            path=decode(c.u.pty.path) if conn == Connection.PTY else None,
        )

    def to_json(self) -> str:
        """libxl's JSON (`libxl_channelinfo_to_json`)."""
        lib = _native.lib()
        c = self._to_c()
        try:
            text = lib.libxl_channelinfo_to_json(None, ctypes.byref(c))
            if not text:
                raise XlError.from_code(ERROR_FAIL, "libxl_channelinfo_to_json failed")
            return take_string(text)
        finally:
            lib.libxl_channelinfo_dispose(ctypes.byref(c))

    @classmethod
    def from_json(cls, text: Union[str, bytes], ctx=None) -> "ChannelInfo":
        """Parse libxl's JSON (`libxl_channelinfo_from_json`)."""
        return _from_json(cls, _native.libxl_channelinfo, "libxl_channelinfo", text, ctx)


def _from_json(cls, struct, prefix: str, text, ctx):
    if isinstance(text, str):
        text = text.encode(ENCODING, ERRORS)
    if not isinstance(text, (bytes, bytearray)):
        raise TypeError("JSON text must be str or bytes, not %s" % type(text).__name__)
    if b"\0" in text:
        raise ValueError("JSON text contains a NUL byte")
    lib = _native.lib()
    c = struct()
    # _from_json initialises the struct itself (also on failure); init first anyway so that
    # dispose is always safe.
    getattr(lib, prefix + "_init")(ctypes.byref(c))
    try:
        parse = getattr(lib, prefix + "_from_json")
        if ctx is None:
            rc = parse(None, ctypes.byref(c), bytes(text))
            if rc:
                raise XlError.from_code(rc, "%s_from_json: invalid JSON" % prefix)
        else:
            ctx._call(lambda handle: parse(handle, ctypes.byref(c), bytes(text)))
        return cls._from_c(c)
    finally:
        getattr(lib, prefix + "_dispose")(ctypes.byref(c))
