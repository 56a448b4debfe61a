"""add, list and info against the real xenstored, and their errors."""

import os

import pytest

import xlchannel
from xlchannel import Channel, ChannelInfo, Connection, XlError
from qemu import connect_unix

PTY, SOCKET = Connection.PTY, Connection.SOCKET


def test_add_pty_writes_libxl_layout(ctx, xs, domid):
    added = ctx.add(domid, Channel("org.example.pty", PTY))
    assert added == Channel("org.example.pty", PTY, devid=1, backend_domid=0)
    fe = "/local/domain/%d/device/console/1" % domid
    be = "/local/domain/0/backend/console/%d/1" % domid
    assert xs.read(fe + "/name") == b"org.example.pty"
    assert xs.read(fe + "/output") == b"pty"
    assert xs.perms(fe) == "n%d,r0" % domid
    assert xs.perms(fe + "/name") == "n0,r%d" % domid
    assert xs.read(be + "/connection") == b"pty"
    assert xs.read("/libxl/%d/device/console/1/connection" % domid) == b"pty"


def test_add_socket(ctx, xs, domid, device_model, socket_dir):
    path = os.path.join(socket_dir, "x y,z.sock")
    added = ctx.add(domid, Channel("org.example.sock", "socket", path=path))
    assert (added.devid, added.connection, added.path) == (1, SOCKET, path)
    assert xs.read("/local/domain/%d/device/console/1/output" % domid) \
        == b"chardev:libxl-channel1"
    assert xs.read("/local/domain/0/backend/console/%d/1/path" % domid) == path.encode()
    # hot-added: qemu listens on the path the moment add returns
    assert device_model.of[domid].chardevs()["libxl-channel1"] == \
        "disconnected:unix:%s,server=on" % path
    connect_unix(path).close()


def test_devid_choice(ctx, domid):
    assert ctx.add(domid, Channel("a", PTY)).devid == 1
    assert ctx.add(domid, Channel("b", PTY)).devid == 2
    assert ctx.add(domid, Channel("four", PTY, devid=4)).devid == 4  # a gap is kept
    assert ctx.add(domid, Channel("three", PTY)).devid == 3  # first free >= 1
    assert ctx.add(domid, Channel("five", PTY)).devid == 5
    with pytest.raises(xlchannel.DeviceExistsError) as e:
        ctx.add(domid, Channel("dup", PTY, devid=2))
    assert e.value.code == -17 == xlchannel.ERROR_DEVICE_EXISTS
    assert e.value.name == "ERROR_DEVICE_EXISTS"
    assert "already has console 2" in e.value.message
    assert e.value.message.endswith("Domain %d:Unable to add channel device" % domid)
    # list numbers them in xenstore (creation) order, not devid order, as libxl does
    assert [(c.name, c.devid) for c in ctx.list(domid)] == [
        ("a", 0), ("b", 1), ("four", 2), ("three", 3), ("five", 4)]


def test_backend_by_name_and_number(ctx, xs, new_domain):
    driver = new_domain("driver-dom-py", qemu=False)
    guest = new_domain(qemu=False)  # every channel is the driver domain's: no qemu needed
    added = ctx.add(guest, Channel("org.example.drv", PTY, backend_domname="driver-dom-py"))
    assert (added.devid, added.backend_domid) == (1, driver)  # resolved and written back
    assert added.backend_domname == "driver-dom-py"
    assert xs.read("/local/domain/%d/backend/console/%d/1/frontend-id" % (driver, guest)) \
        == str(guest).encode()
    assert xs.perms("/local/domain/%d/device/console/1" % guest) == "n%d,r%d" % (guest, driver)
    by_number = ctx.add(guest, Channel("org.example.num", PTY, backend_domname=str(driver)))
    assert (by_number.devid, by_number.backend_domid) == (2, driver)
    with pytest.raises(xlchannel.InvalidError) as e:
        ctx.add(guest, Channel("x", PTY, backend_domname="no-such-dom"))
    assert e.value.code == -6
    assert "unknown domain 'no-such-dom'" in str(e.value)
    info = ctx.info(guest, 0)
    assert info.backend == "/local/domain/%d/backend/console/%d/1" % (driver, guest)
    assert info.backend_id == driver


def test_list_and_info(ctx, xs, domid, device_model, socket_dir):
    path = os.path.join(socket_dir, "s.sock")
    ctx.add(domid, Channel("org.example.pty", PTY))
    ctx.add(domid, Channel("org.example.sock", SOCKET, path))
    listed = ctx.list(domid)
    assert listed == [Channel("org.example.pty", PTY, devid=0),
                      Channel("org.example.sock", SOCKET, path, devid=1)]
    info = ctx.info(domid, listed[0])
    # the pty qemu made for the hot-added channel, as the frontend's tty records it
    pty = device_model.of[domid].chardevs()["libxl-channel1"]
    assert pty.startswith("pty:/dev/pts/")
    assert xs.read("/local/domain/%d/device/console/1/tty" % domid) == pty[4:].encode()
    assert info == ChannelInfo(
        backend="/local/domain/0/backend/console/%d/1" % domid, backend_id=0,
        frontend="/local/domain/%d/device/console/1" % domid, frontend_id=domid, devid=0,
        state=1, evtch=-1, rref=-1, connection=PTY, path=pty[4:])
    sock = ctx.info(domid, 1)  # by number: looked up in the list
    assert (sock.connection, sock.path, sock.frontend) == \
        (SOCKET, None, "/local/domain/%d/device/console/2" % domid)
    assert ctx.info(domid, listed[1]) == sock


def test_list_of_a_domain_without_channels(ctx, domid):
    assert ctx.list(domid) == []
    assert ctx.list(4242) == []  # as libxl: an unknown domain lists nothing


def test_info_of_a_missing_channel(ctx, domid):
    ctx.add(domid, Channel("a", PTY))
    with pytest.raises(xlchannel.FailError) as e:
        ctx.info(domid, 41)
    assert e.value.code == -3


def test_add_without_a_name(ctx, domid):
    with pytest.raises(XlError) as e:
        ctx.add(domid, Channel(connection=PTY))
    err = e.value
    assert type(err) is xlchannel.InvalidError and isinstance(err, XlError)
    assert err.code == -6 == xlchannel.ERROR_INVAL and err.name == "ERROR_INVAL"
    assert "has no name" in err.message
    assert [m.context for m in err.messages] == ["libxl", "libxl"]
    assert err.messages[-1].text.endswith("Domain %d:Unable to add channel device" % domid)
    assert str(err).endswith("[ERROR_INVAL -6]")
    assert ctx.messages == list(err.messages)


def test_add_to_an_unknown_domain(ctx, xs):  # no device model: the domain is checked first
    with pytest.raises(xlchannel.DomainNotFoundError) as e:
        ctx.add(7777, Channel("n", PTY))
    assert e.value.code == -21
    assert "domain 7777 does not exist" in e.value.message
    assert xs.read("/libxl/7777") is None


@pytest.mark.parametrize("channel", [
    Channel("n", Connection.UNKNOWN),
    Channel("n", 7),  # any int goes through to C, as in C
    Channel("n", PTY, devid=0),  # console 0 is the primary console
    Channel("n", PTY, devid=-2),
], ids=["unknown-connection", "connection-7", "devid-0", "devid-minus-2"])
def test_add_refused(ctx, domid, xs, channel):
    with pytest.raises(xlchannel.InvalidError):
        ctx.add(domid, channel)
    assert xs.read("/libxl/%d/device/console" % domid) is None  # nothing written


def test_socket_without_path_refused(ctx, domid):
    with pytest.raises(xlchannel.InvalidError):
        ctx.add(domid, Channel("n", SOCKET))


def test_python_side_argument_checks(ctx, domid):
    with pytest.raises(ValueError):
        ctx.add(-1, Channel("n", PTY))
    with pytest.raises(ValueError):
        ctx.add(2 ** 32, Channel("n", PTY))  # would wrap to 0 in a C uint32_t
    with pytest.raises(TypeError):
        ctx.add(domid, "connection=pty,name=n")
    with pytest.raises(ValueError):
        Channel("a\0b", PTY)
    with pytest.raises(ValueError):
        Channel("n", PTY, path="/run/pty-has-no-path")
    with pytest.raises(ValueError):
        Channel("n", PTY, devid=2 ** 31)
    with pytest.raises(ValueError):
        Channel("n", "serial")
    assert Channel("n", "PTY").connection is PTY
    assert str(SOCKET) == "socket"
    assert Channel("n", 9).connection == 9


def test_channel_value_semantics():
    a = Channel("n", PTY)
    assert a == Channel("n", Connection.PTY) and hash(a) == hash(Channel("n", 1))
    with pytest.raises(AttributeError):
        a.name = "m"


def test_add_without_a_device_model(ctx, xs, new_domain):
    """A channel the local domain serves needs the domain's device model: without one the
    add fails and writes nothing; one a driver domain serves is added to xenstore alone."""
    guest = new_domain(qemu=False)
    with pytest.raises(XlError) as e:
        ctx.add(guest, Channel("org.example.nodm", PTY))
    assert e.value.code == -3
    socket = os.path.join(os.environ["XLCHANNEL_RUN_DIR"], "qmp-libxl-%d" % guest)
    assert ("domain %d has no running device model (no QMP socket at %s): "
            "channel 'org.example.nodm' would have no backend" % (guest, socket)) in e.value.message
    assert xs.read("/libxl/%d" % guest) is None
    assert xs.read("/local/domain/%d/device/console" % guest) is None
    assert xs.read("/local/domain/0/backend/console/%d" % guest) is None

    driver = new_domain("driver%d" % guest, qemu=False)
    added = ctx.add(guest, Channel("org.example.dd", PTY, backend_domid=driver))
    assert added.devid == 1
    assert xs.read("/libxl/%d/device/console/1/name" % guest) == b"org.example.dd"
