"""The context: lifetime (with, close, garbage collection), failures, logging through a
xentoollog logger written in Python, threads."""

import ctypes
import ctypes.util
import gc
import logging
import os
import threading

import pytest

import xlchannel
from xlchannel import Channel, Connection


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def test_with_closes_the_context():
    before = open_fds()
    with xlchannel.Context() as ctx:
        assert not ctx.closed
        assert open_fds() > before  # the xenstore connection
        assert ctx.list(1) == []
    assert ctx.closed and repr(ctx) == "<xlchannel.Context closed>"
    assert open_fds() == before  # libxl_ctx_free closed it
    with pytest.raises(ValueError, match="closed"):
        ctx.list(1)
    ctx.close()  # idempotent


def test_close_on_exception():
    before = open_fds()
    with pytest.raises(RuntimeError):
        with xlchannel.Context() as ctx:
            raise RuntimeError("boom")
    assert ctx.closed and open_fds() == before


def test_forgotten_context_is_freed_by_the_garbage_collector():
    before = open_fds()
    ctx = xlchannel.Context()
    assert open_fds() > before
    del ctx
    gc.collect()
    assert open_fds() == before


def test_no_xenstored(monkeypatch):
    monkeypatch.setenv("XENSTORED_PATH", "/nonexistent/xenstored.sock")
    with pytest.raises(xlchannel.FailError) as e:
        xlchannel.Context(logger=None)
    assert e.value.code == -3
    assert "cannot connect to xenstore" in e.value.message


def test_messages_go_to_python_logging(caplog, domid):
    with caplog.at_level(logging.DEBUG, logger="xlchannel"):
        with xlchannel.Context() as ctx:  # default logger: "xlchannel"
            with pytest.raises(xlchannel.InvalidError):
                ctx.add(domid, Channel(connection=Connection.PTY))
    records = [r for r in caplog.records if r.name == "xlchannel"]
    assert [r.levelno for r in records] == [logging.ERROR, logging.ERROR]
    assert records[0].getMessage().startswith("libxl: ")
    assert records[0].getMessage().endswith("has no name")
    assert (records[0].xtl_level, records[0].xtl_context, records[0].xtl_errno) == \
        (8, "libxl", -1)


def test_logger_none_logs_nothing_but_errors_keep_messages(caplog, domid):
    with caplog.at_level(logging.DEBUG):
        with xlchannel.Context(logger=None) as ctx:
            with pytest.raises(xlchannel.InvalidError) as e:
                ctx.add(domid, Channel(connection=Connection.PTY))
    assert caplog.records == []
    assert "has no name" in e.value.message


def test_vmessage_formats_the_va_list(ctx):
    """Through the real xtl_log of libxentoollog: printf conversions of every kind read
    from the va_list, errno appended as xentoollog's stdio logger does, no length limit."""
    xtl = ctypes.CDLL(ctypes.util.find_library("xentoollog") or "libxentoollog.so.1")
    log = xtl.xtl_log
    log.restype = None
    sink = ctx._sink
    sink.capture = captured = []
    try:
        log(ctypes.c_void_p(sink.pointer), 8, 2, b"test",
            b"%s=%d %.2f %c %5s|%-3d|%lu|%%", b"x", 42, ctypes.c_double(3.14159), ord("Z"),
            b"ab", 7, ctypes.c_ulong(2 ** 40))
        log(ctypes.c_void_p(sink.pointer), 7, -1, None, b"%s", b"y" * 100000)
        log(ctypes.c_void_p(sink.pointer), 5, -1, b"c", b"\xe9 not utf-8 %d", 1)
    finally:
        sink.capture = None
    assert captured[0] == xlchannel.LogMessage(
        8, "test", 2, "x=42 3.14 Z    ab|7  |1099511627776|%: No such file or directory")
    assert captured[1] == xlchannel.LogMessage(7, "", -1, "y" * 100000)
    assert captured[2].text == "\udce9 not utf-8 1"


def test_threads_share_a_context(ctx, domid, device_model):
    """8 threads on one context, their calls running at once: every add gets its own devid
    (and its pty in the domain's qemu), and each call's messages (ctx.messages,
    XlError.messages) are its own thread's."""
    errors = []
    devids = []

    def work(t):
        try:
            for i in range(25):
                added = ctx.add(domid, Channel("t%d.c%d" % (t, i), Connection.PTY))
                assert ctx.messages == []
                devids.append(added.devid)
                try:
                    ctx.add(domid, Channel(connection=Connection.PTY))  # no name
                    raise AssertionError("a nameless channel was added")
                except xlchannel.InvalidError as e:
                    assert [m.text.endswith("has no name") for m in e.messages][:1] == [True]
                    assert all("has no name" in m.text or "Unable to add" in m.text
                               for m in e.messages), e.messages
                    assert tuple(ctx.messages) == tuple(e.messages)
                ctx.list(domid)
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert sorted(devids) == list(range(1, 201))
    listed = ctx.list(domid)
    assert len(listed) == 200 and len({c.name for c in listed}) == 200
    chardevs = device_model.of[domid].chardevs()
    assert sorted(int(c[len("libxl-channel"):]) for c in chardevs
                  if c.startswith("libxl-channel")) == list(range(1, 201))


def test_close_waits_for_the_calls_of_other_threads(domid):
    ctx = xlchannel.Context(logger=None)
    started, results = threading.Event(), []

    def work():
        started.set()
        for i in range(50):
            try:
                results.append(ctx.add(domid, Channel("w.c%d" % i, Connection.PTY)).devid)
            except ValueError:  # the context was closed between two calls
                break

    t = threading.Thread(target=work)
    t.start()
    started.wait()
    ctx.close()
    t.join(timeout=60)
    assert ctx.closed and not t.is_alive()
    assert results == list(range(1, len(results) + 1))
    with pytest.raises(ValueError):
        ctx.list(domid)
