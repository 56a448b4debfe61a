"""The C side: finding and loading libxlchannel, the ctypes view of include/libxl_channel.h,
libc's allocator, and the check that the loaded library lays its structs out as declared here.

Nothing here is public API. Strings inside the structs are declared `c_void_p`, never
`c_char_p`: they are `malloc`'d and owned by the struct (freed by `_dispose` with `free()`),
so they are only ever set from libc's `strdup` and read with `ctypes.string_at`.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, Union, c_char_p, c_int, c_size_t,
                    c_uint, c_uint32, c_ulong, c_void_p)
from pathlib import Path
from typing import List, Optional

from .errors import LayoutMismatchError, LibraryNotFoundError

LIBXL_VERSION = 0  # the `version` libxl_ctx_alloc accepts
LIB_ENV = "XLCHANNEL_LIB"

# ---------------------------------------------------------------- the structs of the header


class libxl_device_channel_socket(Structure):
    _fields_ = [("path", c_void_p)]


class libxl_device_channel_u(Union):
    _fields_ = [("socket", libxl_device_channel_socket)]


class libxl_device_channel(Structure):
    _fields_ = [
        ("backend_domid", c_uint32),  # libxl_domid
        ("backend_domname", c_void_p),  # char *
        ("devid", c_int),  # libxl_devid
        ("name", c_void_p),  # char *
        ("connection", c_int),  # libxl_channel_connection (any int)
        ("u", libxl_device_channel_u),
    ]


class libxl_channelinfo_pty(Structure):
    _fields_ = [("path", c_void_p)]


class libxl_channelinfo_u(Union):
    _fields_ = [("pty", libxl_channelinfo_pty)]


class libxl_channelinfo(Structure):
    _fields_ = [
        ("backend", c_void_p),
        ("backend_id", c_uint32),
        ("frontend", c_void_p),
        ("frontend_id", c_uint32),
        ("devid", c_int),
        ("state", c_int),
        ("evtch", c_int),
        ("rref", c_int),
        ("connection", c_int),
        ("u", libxl_channelinfo_u),
    ]


class libxl_enum_string_table(Structure):
    _fields_ = [("s", c_char_p), ("v", c_int)]


# <xentoollog.h>. `va_list` as a parameter is a pointer on x86-64 (an array type decays) and
# on AArch64 (a 32-byte struct is passed by reference), so c_void_p carries it through to
# libc's vasprintf unchanged.
XTL_VMESSAGE = CFUNCTYPE(None, c_void_p, c_int, c_int, c_char_p, c_char_p, c_void_p)
XTL_PROGRESS = CFUNCTYPE(None, c_void_p, c_char_p, c_char_p, c_int, c_ulong, c_ulong)
XTL_DESTROY = CFUNCTYPE(None, c_void_p)


class xentoollog_logger(Structure):
    _fields_ = [("vmessage", XTL_VMESSAGE), ("progress", XTL_PROGRESS),
                ("destroy", XTL_DESTROY)]


#: What tests/test_layout.py compares with the C compiler's view of the header.
STRUCTS = {
    "libxl_device_channel": libxl_device_channel,
    "libxl_device_channel_socket": libxl_device_channel_socket,
    "libxl_channelinfo": libxl_channelinfo,
    "libxl_channelinfo_pty": libxl_channelinfo_pty,
    "libxl_enum_string_table": libxl_enum_string_table,
    "xentoollog_logger": xentoollog_logger,
}

P_CHANNEL = POINTER(libxl_device_channel)
P_INFO = POINTER(libxl_channelinfo)

# (name, restype, argtypes) of every function used.
_PROTOTYPES = [
    ("libxl_ctx_alloc", c_int, [POINTER(c_void_p), c_int, c_uint, c_void_p]),
    ("libxl_ctx_free", c_int, [c_void_p]),
    ("libxl_device_channel_init", None, [P_CHANNEL]),
    ("libxl_device_channel_dispose", None, [P_CHANNEL]),
    ("libxl_device_channel_to_json", c_void_p, [c_void_p, P_CHANNEL]),
    ("libxl_device_channel_from_json", c_int, [c_void_p, P_CHANNEL, c_char_p]),
    ("libxl_device_channel_list_free", None, [P_CHANNEL, c_int]),
    ("libxl_device_channel_add", c_int, [c_void_p, c_uint32, P_CHANNEL, c_void_p]),
    ("libxl_device_channel_remove", c_int, [c_void_p, c_uint32, P_CHANNEL, c_void_p]),
    ("libxl_device_channel_destroy", c_int, [c_void_p, c_uint32, P_CHANNEL, c_void_p]),
    ("libxl_device_channel_list", P_CHANNEL, [c_void_p, c_uint32, POINTER(c_int)]),
    ("libxl_device_channel_getinfo", c_int, [c_void_p, c_uint32, P_CHANNEL, P_INFO]),
    ("libxl_channelinfo_init", None, [P_INFO]),
    ("libxl_channelinfo_dispose", None, [P_INFO]),
    ("libxl_channelinfo_to_json", c_void_p, [c_void_p, P_INFO]),
    ("libxl_channelinfo_from_json", c_int, [c_void_p, P_INFO, c_char_p]),
    ("libxl_channel_connection_to_string", c_char_p, [c_int]),
    ("libxl_channel_connection_from_string", c_int, [c_char_p, POINTER(c_int)]),
    ("xlchannel_config_channels", c_int,
     [c_void_p, c_char_p, c_char_p, c_size_t, POINTER(P_CHANNEL), POINTER(c_int)]),
    ("xlchannel_channel_parse_spec", c_int, [c_void_p, c_char_p, P_CHANNEL]),
    ("xlchannel_guest_open_channel", c_int,
     [c_void_p, c_char_p, c_char_p, c_uint, POINTER(c_int)]),
]

# ---------------------------------------------------------------- libc


class _Libc:
    """`strdup`, `free` and `vasprintf` of the C library the process runs on, which is the
    allocator libxlchannel's strings come from and go back to."""

    def __init__(self) -> None:
        lib = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        self.strdup = lib.strdup
        self.strdup.restype = c_void_p
        self.strdup.argtypes = [c_char_p]
        self.free = lib.free
        self.free.restype = None
        self.free.argtypes = [c_void_p]
        self.vasprintf = lib.vasprintf
        self.vasprintf.restype = c_int
        self.vasprintf.argtypes = [POINTER(c_void_p), c_char_p, c_void_p]
        self.strerror = lib.strerror
        self.strerror.restype = c_char_p
        self.strerror.argtypes = [c_int]

    def dup(self, text: Optional[bytes]) -> Optional[int]:
        """A `malloc`'d copy of `text` (NULL for None); MemoryError when malloc fails."""
        if text is None:
            return None
        p = self.strdup(text)
        if not p:
            raise MemoryError("strdup failed")
        return p


libc = _Libc()

# ---------------------------------------------------------------- finding the library


def repo_root() -> Path:
    """The source tree this package sits in (bindings/python/xlchannel -> repo)."""
    return Path(__file__).resolve().parents[3]


# Where `make install` puts the library with its default PREFIX (/usr/local) and with
# PREFIX=/usr, for systems whose loader cache has not been refreshed (ldconfig) since.
INSTALLED = ("/usr/local/lib/libxlchannel.so.0", "/usr/lib/libxlchannel.so.0")


def _build_tree_library(start: Path) -> Optional[str]:
    """target/release/libxlchannel.so of the xlchannel tree holding `start`, if built."""
    for d in [start, *start.parents]:
        lib = d / "target" / "release" / "libxlchannel.so"
        if (d / "include" / "libxl_channel.h").is_file() and (d / "Cargo.toml").is_file():
            return str(lib) if lib.is_file() else None
    return None


def library_candidates() -> List[str]:
    """Where the library is looked for, in order: $XLCHANNEL_LIB (only it, when set); the
    build tree this package sits in, or else the one the current directory is in; then an
    installed one: ctypes.util.find_library("xlchannel"), the soname libxlchannel.so.0
    (LD_LIBRARY_PATH, the loader cache), and where `make install` puts it."""
    env = os.environ.get(LIB_ENV)
    if env:
        return [env]
    found = []
    for start in (Path(__file__).resolve().parent, Path.cwd()):
        build = _build_tree_library(start)
        if build and build not in found:
            found.append(build)
    system = ctypes.util.find_library("xlchannel")
    for candidate in (system, "libxlchannel.so.0", *INSTALLED):
        if candidate and candidate not in found:
            found.append(candidate)
    return found


class Library:
    """The loaded library with every prototype declared, its layout checked."""

    def __init__(self, path: Optional[str] = None) -> None:
        candidates = [path] if path else library_candidates()
        errors = []
        cdll = None
        for candidate in candidates:
            try:
                cdll = ctypes.CDLL(candidate)
                self.path = candidate
                break
            except OSError as e:
                errors.append("%s: %s" % (candidate, e))
        if cdll is None:
            raise LibraryNotFoundError(
                "cannot load libxlchannel (set %s, run `make` in the repository, or install "
                "it): %s" % (LIB_ENV, "; ".join(errors)))
        self.cdll = cdll
        for name, restype, argtypes in _PROTOTYPES:
            try:
                fn = getattr(cdll, name)
            except AttributeError:
                raise LibraryNotFoundError("%s lacks %s: not libxlchannel" % (self.path, name))
            fn.restype = restype
            fn.argtypes = argtypes
            setattr(self, name, fn)
        self.connection_table = (libxl_enum_string_table * 4).in_dll(
            cdll, "libxl_channel_connection_string_table")
        check_layout(self)


_lock = threading.Lock()
_library: Optional[Library] = None


def lib() -> Library:
    """The library, loaded and checked at first use."""
    global _library
    if _library is None:
        with _lock:
            if _library is None:
                _library = Library()
    return _library


# ---------------------------------------------------------------- the layout check

_GUARD = 0xA5


def _probe(library: "Library", prefix: str, struct, json_text: bytes, integers: dict,
           strings: dict) -> None:
    """Check the declared `struct` against what the library does with memory. `_init`
    writes every byte of the C struct (padding included, as libxl's memset) and nothing
    beyond, so the guard bytes it leaves give the C size. `_from_json` with a distinct value
    per field then puts each integer at its C offset and each string pointer at its own.
    Sizes, integers and padding are compared before any pointer is followed, so a wrong
    layout is reported instead of crashing."""
    name = struct.__name__
    size = ctypes.sizeof(struct)
    align = ctypes.alignment(struct)
    ptype = dict(_PTYPES)[prefix]
    buf = (ctypes.c_ubyte * (2 * size + 64))()
    ctypes.memset(buf, _GUARD, len(buf))
    p = ctypes.cast(buf, ptype)
    getattr(library, prefix + "_init")(p)
    written = max(i for i in range(len(buf)) if buf[i] != _GUARD) + 1
    c_size = -(-written // align) * align
    if c_size != size:
        raise LayoutMismatchError("sizeof(%s): the library uses %d bytes, these bindings "
                                  "declare %d" % (name, c_size, size))
    if getattr(library, prefix + "_from_json")(None, p, json_text) != 0:
        raise LayoutMismatchError("%s: the layout probe's JSON was refused" % name)
    try:
        raw = bytes(buf[:size])
        owned = set()  # the bytes of the fields checked below; the rest is padding
        for field, value in integers.items():
            ctype, offset = _field(struct, field)
            got = ctype.from_buffer_copy(raw, offset).value
            if got != value:
                raise LayoutMismatchError("%s.%s: the library has %r at offset %d, "
                                          "expected %r" % (name, field, got, offset, value))
            owned.update(range(offset, offset + ctypes.sizeof(ctype)))
        pointers = {}
        for field in strings:
            ctype, offset = _field(struct, field)
            owned.update(range(offset, offset + ctypes.sizeof(ctype)))
            pointers[field] = c_void_p.from_buffer_copy(raw, offset).value
        stray = [i for i in range(size) if i not in owned and raw[i] != 0]
        if stray:
            raise LayoutMismatchError("%s: the library wrote bytes %s that these bindings "
                                      "see as padding" % (name, stray))
        if not all(pointers.values()):
            raise LayoutMismatchError("%s: a string is not where the library puts one: %r"
                                      % (name, pointers))
        for field, value in strings.items():
            got = ctypes.string_at(pointers[field])
            if got != value:
                raise LayoutMismatchError("%s.%s: the library has %r there, expected %r"
                                          % (name, field, got, value))
    finally:
        getattr(library, prefix + "_dispose")(p)


_PTYPES = [("libxl_device_channel", P_CHANNEL), ("libxl_channelinfo", P_INFO)]


def _field(struct, dotted: str):
    """(ctype, offset) of a possibly nested field such as "u.socket.path"."""
    offset = 0
    ctype = struct
    for part in dotted.split("."):
        ftype = dict(ctype._fields_)[part]
        offset += getattr(ctype, part).offset
        ctype = ftype
    return ctype, offset


def check_layout(library: "Library", channel=libxl_device_channel,
                 info=libxl_channelinfo) -> None:
    """Raise LayoutMismatchError unless the library agrees with the declared structs and
    the connection enum. Tests pass deliberately wrong `channel`/`info` declarations."""
    from .types import Connection  # here: types imports this module

    table = [(row.s, row.v) for row in library.connection_table]
    expected = [(m.name.lower().encode(), m.value) for m in Connection] + [(None, -1)]
    if table != expected:
        raise LayoutMismatchError("libxl_channel_connection_string_table is %r, these "
                                  "bindings expect %r" % (table, expected))
    _probe(library, "libxl_device_channel", channel,
           b'{"backend_domid": 2864434397, "backend_domname": "probe-backend", '
           b'"devid": 1732584193, "name": "probe-name", '
           b'"connection.socket": {"path": "probe-path"}}',
           {"backend_domid": 2864434397, "devid": 1732584193, "connection": 2},
           {"backend_domname": b"probe-backend", "name": b"probe-name",
            "u.socket.path": b"probe-path"})
    _probe(library, "libxl_channelinfo", info,
           b'{"backend": "probe-be", "backend_id": 4009738510, "frontend": "probe-fe", '
           b'"frontend_id": 3405691582, "devid": 287454020, "state": 1432778632, '
           b'"evtch": 430619596, "rref": 1719020015, '
           b'"connection.pty": {"path": "probe-pty"}}',
           {"backend_id": 4009738510, "frontend_id": 3405691582, "devid": 287454020,
            "state": 1432778632, "evtch": 430619596, "rref": 1719020015, "connection": 1},
           {"backend": b"probe-be", "frontend": b"probe-fe", "u.pty.path": b"probe-pty"})
