"""The ctypes view against the C compiler's view of include/libxl_channel.h.

A C program is generated from the bindings' own declarations (every struct, every field,
the enum values and error codes, each function's arity and return kind), compiled with the
real header and run; its facts must equal ctypes'. A field renamed in the header fails the
compile, a moved or resized one the comparison. The run-time probe (done by the package at
first use, without a compiler) is also shown to catch wrong declarations."""

import ctypes
import os
import shutil
import subprocess

import pytest

import xlchannel
from xlchannel import _native, errors
from conftest import REPO

INCLUDE = os.environ.get("XLCHANNEL_INCLUDE", str(REPO / "include"))
CC = os.environ.get("CC", "cc")

RESTYPE_KIND = {None: "void", ctypes.c_int: "int", ctypes.c_char_p: "pointer",
                ctypes.c_void_p: "pointer"}


def _fields(struct, prefix=""):
    """(dotted field, ctype) of every leaf field, unions and nested structs expanded."""
    for name, ctype in struct._fields_:
        if isinstance(ctype, type) and issubclass(ctype, (ctypes.Structure, ctypes.Union)):
            yield prefix + name, ctype
            yield from _fields(ctype, prefix + name + ".")
        else:
            yield prefix + name, ctype


def _c_program():
    lines = [
        "#include <stddef.h>",
        "#include <stdio.h>",
        '#include "libxl_channel.h"',
        "#define KIND(e) (__builtin_classify_type(e) == 5 ? \"pointer\" : \"int\")",
        "int main(void) {",
    ]
    for tname, struct in _native.STRUCTS.items():
        lines.append('printf("size %s %%zu\\n", sizeof(%s));' % (tname, tname))
        lines.append('printf("align %s %%zu\\n", _Alignof(%s));' % (tname, tname))
        for field, _ in _fields(struct):
            lines.append('printf("offset %s.%s %%zu\\n", offsetof(%s, %s));'
                         % (tname, field, tname, field))
            lines.append('printf("fsize %s.%s %%zu\\n", sizeof(((%s *)0)->%s));'
                         % (tname, field, tname, field))
    lines.append('printf("size libxl_channel_connection %zu\\n", '
                 'sizeof(libxl_channel_connection));')
    for member in xlchannel.Connection:
        c = "LIBXL_CHANNEL_CONNECTION_" + member.name
        lines.append('printf("value %s %%lld\\n", (long long)%s);' % (c, c))
    for code, name in errors.ERROR_CODES.items():
        lines.append('printf("value %s %%lld\\n", (long long)%s);' % (name, name))
    lines.append('printf("value LIBXL_VERSION %lld\\n", (long long)LIBXL_VERSION);')
    for name, restype, argtypes in _native._PROTOTYPES:
        # A call with one 0 per declared argument compiles only with that many parameters.
        call = "%s(%s)" % (name, ", ".join("0" for _ in argtypes))
        if restype is None:
            lines.append("(void)sizeof((%s, 0));" % call)
            lines.append('printf("returns %s void\\n");' % name)
        else:
            lines.append('printf("returns %s %%s\\n", KIND(%s));' % (name, call))
    lines += ["return 0;", "}"]
    return "\n".join(lines) + "\n"


def _python_facts():
    facts = {}
    for tname, struct in _native.STRUCTS.items():
        facts["size " + tname] = ctypes.sizeof(struct)
        facts["align " + tname] = ctypes.alignment(struct)
        for field, ctype in _fields(struct):
            _, offset = _native._field(struct, field)
            facts["offset %s.%s" % (tname, field)] = offset
            facts["fsize %s.%s" % (tname, field)] = ctypes.sizeof(ctype)
    facts["size libxl_channel_connection"] = ctypes.sizeof(ctypes.c_int)
    for member in xlchannel.Connection:
        facts["value LIBXL_CHANNEL_CONNECTION_" + member.name] = member.value
    for code, name in errors.ERROR_CODES.items():
        facts["value " + name] = code
    facts["value LIBXL_VERSION"] = _native.LIBXL_VERSION
    for name, restype, _ in _native._PROTOTYPES:
        facts["returns " + name] = RESTYPE_KIND.get(restype, "pointer")
    return facts


@pytest.fixture(scope="module")
def c_facts(tmp_path_factory):
    assert shutil.which(CC), "no C compiler (%s): the layout check needs one" % CC
    d = tmp_path_factory.mktemp("layout")
    src, exe = d / "layout_facts.c", d / "layout_facts"
    src.write_text(_c_program())
    build = subprocess.run([CC, "-std=gnu11", "-Wall", "-Werror", "-I", INCLUDE, str(src),
                            "-o", str(exe)], capture_output=True, text=True, timeout=60)
    assert build.returncode == 0, "the header disagrees with the bindings:\n" + build.stderr
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True, timeout=30)
    facts = {}
    for line in out.stdout.splitlines():
        key, value = line.rsplit(" ", 1)
        facts[key] = int(value) if value.lstrip("-").isdigit() else value
    return facts


def test_every_fact_matches_the_header(c_facts):
    ours = _python_facts()
    assert set(c_facts) == set(ours)
    mismatches = {k: (c_facts[k], ours[k]) for k in ours if c_facts[k] != ours[k]}
    assert not mismatches, "C header vs ctypes (C, ours): %r" % mismatches
    # Not vacuous: the known libxl 4.17 x86-64 facts.
    assert c_facts["size libxl_device_channel"] == 48
    assert c_facts["offset libxl_device_channel.u.socket.path"] == 40
    assert c_facts["size libxl_channelinfo"] == 56
    assert c_facts["value ERROR_DEVICE_EXISTS"] == -17


def test_the_library_passes_the_runtime_probe():
    _native.check_layout(_native.lib())
    assert xlchannel.library_path()


class swapped_channel(ctypes.Structure):
    """name and backend_domname exchanged: same size, same padding."""

    _fields_ = [("backend_domid", ctypes.c_uint32), ("name", ctypes.c_void_p),
                ("devid", ctypes.c_int), ("backend_domname", ctypes.c_void_p),
                ("connection", ctypes.c_int), ("u", _native.libxl_device_channel_u)]


class short_channel(ctypes.Structure):
    """The union forgotten."""

    _fields_ = [f for f in _native.libxl_device_channel._fields_ if f[0] != "u"]


class packed_info(ctypes.Structure):
    """`devid` taken for a 64-bit field."""

    _fields_ = [("backend", ctypes.c_void_p), ("backend_id", ctypes.c_uint32),
                ("frontend", ctypes.c_void_p), ("frontend_id", ctypes.c_uint32),
                ("devid", ctypes.c_int64), ("evtch", ctypes.c_int), ("rref", ctypes.c_int),
                ("connection", ctypes.c_int), ("u", _native.libxl_channelinfo_u)]


class moved_int_info(ctypes.Structure):
    """state and evtch exchanged."""

    _fields_ = [(n, t) for n, t in _native.libxl_channelinfo._fields_]
    _fields_[5], _fields_[6] = _fields_[6], _fields_[5]


@pytest.mark.parametrize("channel,info,reason", [
    (swapped_channel, _native.libxl_channelinfo, "swapped_channel.backend_domname: the library has"),
    (short_channel, _native.libxl_channelinfo, "sizeof(short_channel): the library uses 48"),
    (_native.libxl_device_channel, packed_info, "sizeof(packed_info): the library uses 56"),
    (_native.libxl_device_channel, moved_int_info, "moved_int_info.state: the library has"),
], ids=["swapped-strings", "missing-union", "wide-int", "swapped-ints"])
def test_the_runtime_probe_catches_a_wrong_view(channel, info, reason):
    with pytest.raises(xlchannel.LayoutMismatchError) as e:
        _native.check_layout(_native.lib(), channel=channel, info=info)
    assert reason in str(e.value)
