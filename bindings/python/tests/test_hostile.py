"""A guest owns its frontend directory and may rewrite or delete anything there except the
read-only keys' values (XSA-175). The bindings must pass libxl's results through: no crash,
no hang, no exception other than XlError, no leak."""

import ctypes

import pytest

import xlchannel
from xlchannel import Channel, Connection, _native


@pytest.fixture
def vandalised(ctx, xs, domid, socket_dir):
    ctx.add(domid, Channel("org.example.pty", Connection.PTY))
    ctx.add(domid, Channel("org.example.sock", Connection.SOCKET, socket_dir + "/s"))
    fe = "/local/domain/%d/device/console/1" % domid
    xs.write(fe + "/state", "4294967301junk")
    xs.write(fe + "/ring-ref", "-2")
    xs.write(fe + "/port", "9" * 3000)  # xenstored takes up to 4096 bytes
    xs.write(fe + "/backend", "/local/domain/7/backend/console/%d/1" % domid)
    xs.write(fe + "/backend-id", "7")
    xs.rm(fe + "/name")
    xs.write(fe + "/connection", "socket")
    xs.write(fe + "/path", "/etc/shadow")
    return domid, fe


def test_vandalised_frontend_values_give_libxls_results(ctx, vandalised, device_model):
    domid, _ = vandalised
    listed = ctx.list(domid)  # only libxl's dom0 copy is read
    assert [(c.name, c.connection) for c in listed] == [
        ("org.example.pty", Connection.PTY), ("org.example.sock", Connection.SOCKET)]
    info = ctx.info(domid, listed[0])
    assert info.backend == "/local/domain/0/backend/console/%d/1" % domid  # dom0's copy
    assert info.backend_id == 0
    assert info.state == 5  # strtoul: 4294967301 truncated to int
    assert info.rref == -2
    assert info.evtch == -1  # saturated
    # tty is read-only for the guest: still the pty qemu made for the hot-added channel
    pty = device_model.of[domid].chardevs()["libxl-channel1"]
    assert pty.startswith("pty:/dev/pts/") and info.path == pty[4:]


def test_deleted_frontend_gives_libxls_fallbacks(ctx, xs, vandalised):
    domid, fe = vandalised
    xs.rm(fe)
    info = ctx.info(domid, 0)
    assert (info.state, info.rref, info.evtch, info.path) == (-1, -1, -1, "/NO-SUCH-PATH")


def test_bad_connection_in_libxls_copy_fails_the_list(ctx, xs, domid):
    ctx.add(domid, Channel("ok", Connection.PTY))
    xs.write("/libxl/%d/device/console/2/name" % domid, "bad")
    xs.write("/libxl/%d/device/console/2/connection" % domid, "serial")
    with pytest.raises(xlchannel.FailError) as e:
        ctx.list(domid)
    assert e.value.code == -3
    assert e.value.message.endswith("Domain %d:Unable to list channels" % domid)
    xs.rm("/libxl/%d/device/console/2" % domid)
    assert [c.name for c in ctx.list(domid)] == ["ok"]


def test_bytes_that_are_not_utf8_survive(ctx, xs, domid, socket_dir):
    """What C gives is read without loss (surrogateescape) and given back to C unchanged."""
    ctx.add(domid, Channel("placeholder", Connection.SOCKET, socket_dir + "/p"))
    xs.write("/libxl/%d/device/console/1/name" % domid, b"org.\xff\xfe")
    xs.write("/libxl/%d/device/console/1/path" % domid, b"/run/\xe9")
    [c] = ctx.list(domid)
    assert c.name == "org.\udcff\udcfe" and c.path == "/run/\udce9"
    c_struct = c._to_c()
    try:
        assert ctypes.string_at(c_struct.name) == b"org.\xff\xfe"
        assert ctypes.string_at(c_struct.u.socket.path) == b"/run/\xe9"
    finally:
        _native.lib().libxl_device_channel_dispose(ctypes.byref(c_struct))
    assert '"name": "org.\udcff\udcfe"' in c.to_json()  # the raw bytes, as C wrote them
    with pytest.raises(xlchannel.XlError):  # and the JSON parser refuses them: no crash
        Channel.from_json(c.to_json())


def test_huge_and_odd_values_from_the_guest(ctx, xs, domid):
    ctx.add(domid, Channel("org.example.pty", Connection.PTY))
    fe = "/local/domain/%d/device/console/1" % domid
    for state, expected in [("", 0), ("-1", -1), ("0x10", 0), ("   7", 7), ("\t", 0)]:
        xs.write(fe + "/state", state)
        assert ctx.info(domid, 0).state == expected, state
