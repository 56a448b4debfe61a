"""No leaks: every path through the bindings (successes and failures of add, remove,
destroy, list, info, config and SPEC parsing, JSON, contexts opened and closed) run 2000
times must leave the C heap where it was. The guest's local channels are hot-added to a real
qemu and unplugged from it again.

The C heap is measured with glibc's mallinfo2() (bytes in use from malloc, exact, not
pages), Python objects with the collector's count. The detector is shown to catch a leak of
one 64-byte string per iteration, so a leak of any C allocation the bindings make (every
struct string is a separate malloc) cannot pass."""

import ctypes
import ctypes.util
import gc

import pytest

import xlchannel
from xlchannel import Channel, ChannelInfo, Connection

ITERATIONS = 2000
WARMUP = 100
C_HEAP_BOUND = 64 * 1024  # a 64-byte leak per iteration alone is ~156 KiB (2000 x 80)
OBJECT_BOUND = 200


class mallinfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
        "fordblks", "keepcost")]


_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
if not hasattr(_libc, "mallinfo2"):  # pragma: no cover - glibc < 2.33
    pytest.skip("glibc's mallinfo2 is needed", allow_module_level=True)
_libc.mallinfo2.restype = mallinfo2
_libc.strdup.restype = ctypes.c_void_p
_libc.strdup.argtypes = [ctypes.c_char_p]


def c_heap():
    m = _libc.mallinfo2()
    return m.uordblks + m.hblkhd


def growth(step):
    """(C heap bytes, Python objects) gained over ITERATIONS calls of step(i), after a
    warm-up that fills caches and free lists."""
    for i in range(WARMUP):
        step(i)
    gc.collect()
    heap0, objects0 = c_heap(), len(gc.get_objects())
    for i in range(WARMUP, WARMUP + ITERATIONS):
        step(i)
    gc.collect()
    return c_heap() - heap0, len(gc.get_objects()) - objects0


GUEST_CFG = ('name = "leak"\nchannel = [ "connection=pty,name=org.a,speed=1",\n'
             '  "connection=socket,name=org.b,path=/run/b" ]\n')


def test_every_path_2000_times(xs, new_domain):
    guest = new_domain()
    driver = new_domain("leak-driver", qemu=False)
    long_name = "org.example." + "n" * 1000
    state = {"ctx": xlchannel.Context(logger=None)}

    def step(i):
        if i % 50 == 0:  # contexts opened and closed, by close() and by the collector
            if i % 100 == 0:
                state["ctx"].close()
            state["ctx"] = xlchannel.Context(logger=None)
        ctx = state["ctx"]
        # a pty with a long name, or a socket on a backend named by the caller, in turn
        if i % 2:
            ctx.add(guest, Channel(long_name, Connection.PTY))
        else:
            ctx.add(guest, Channel("org.s", Connection.SOCKET, "/run/s" * 20, devid=1,
                                   backend_domname="leak-driver"))
        listed = ctx.list(guest)
        infos = [ctx.info(guest, c) for c in listed]
        assert len(infos) == 1 and infos[0].backend_id == (0 if i % 2 else driver)
        for bad in (Channel(connection=Connection.PTY),  # no name
                    Channel("dup", Connection.PTY, devid=1),  # devid exists
                    Channel("x", Connection.PTY, backend_domname="no-such-domain")):
            with pytest.raises(xlchannel.XlError):
                ctx.add(guest, bad)
        with pytest.raises(xlchannel.DomainNotFoundError):
            ctx.add(999999, Channel("x", Connection.PTY))
        with pytest.raises(xlchannel.FailError):
            ctx.info(guest, 40)  # getinfo fails after list
        with pytest.raises(xlchannel.FailError):
            ctx.info(guest, Channel(devid=40))  # without list
        assert len(ctx.config_channels(GUEST_CFG).channels) == 2
        with pytest.raises(xlchannel.InvalidError):
            ctx.config_channels("channel = [ 'connection=socket,name=a' ]\n")
        with pytest.raises(xlchannel.FailError):
            ctx.config_channels("channel = [ \n")
        ctx.parse_spec("connection=socket,name=a,path=/p,backend=x,y=z")
        with pytest.raises(xlchannel.InvalidError):
            ctx.parse_spec("connection=tcp")
        for c in listed:
            assert Channel.from_json(c.to_json()) == c
        for info in infos:
            assert ChannelInfo.from_json(info.to_json()) == info
        with pytest.raises(xlchannel.XlError):
            Channel.from_json('{"connection.socket": {"path": "a"}, "connection.pty": {}}')
        with pytest.raises(xlchannel.XlError):
            ChannelInfo.from_json('{"backend": "a", "frontend": "b", "devid": 99999999999}', ctx=ctx)
        with pytest.raises(xlchannel.NotFoundError):
            ctx.remove(guest, 2)
        with pytest.raises(xlchannel.NotFoundError):
            ctx.destroy(guest, 2)
        (ctx.remove if i % 4 < 2 else ctx.destroy)(guest, 1)
        assert ctx.list(guest) == []

    heap, objects = growth(step)
    state["ctx"].close()
    assert heap < C_HEAP_BOUND, "C heap grew by %d bytes over %d iterations" % (
        heap, ITERATIONS)
    assert objects < OBJECT_BOUND, "%d Python objects more" % objects


def test_the_detector_catches_a_small_leak():
    leaked = []

    def step(i):
        leaked.append(_libc.strdup(b"x" * 63))  # 64 bytes never freed

    heap, _ = growth(step)
    for p in leaked:
        _libc.free(ctypes.c_void_p(p))
    assert heap >= C_HEAP_BOUND
