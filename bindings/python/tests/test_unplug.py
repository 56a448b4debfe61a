"""remove (graceful) and destroy (forced) against the real xenstored and a real qemu: after
either, the frontend, backend and /libxl nodes are gone and qemu no longer has the chardev
(nor its socket); errors carry the library's code and messages."""

import os
import stat

import pytest

import xlchannel
from xlchannel import Channel, Connection
from qemu import connect_unix

PTY, SOCKET = Connection.PTY, Connection.SOCKET


def node_dirs(domid, devid):
    return ["/local/domain/%d/device/console/%d" % (domid, devid),
            "/local/domain/0/backend/console/%d/%d" % (domid, devid),
            "/libxl/%d/device/console/%d" % (domid, devid)]


def present(xs, domid, devid):
    return [p for p in node_dirs(domid, devid) if xs.read(p) is not None]


@pytest.fixture
def guest(new_domain, device_model):
    domid = new_domain(qemu=False)
    return domid, device_model(domid)


def add_socket_and_pty(ctx, xs, domid, dm, socket_dir):
    path = os.path.join(socket_dir, "agent.sock")
    sock = ctx.add(domid, Channel("org.example.sock", SOCKET, path))
    pty = ctx.add(domid, Channel("org.example.pty", PTY))
    assert (sock.devid, pty.devid) == (1, 2)
    chardevs = dm.chardevs()
    assert chardevs["libxl-channel1"] == "disconnected:unix:%s,server=on" % path
    assert chardevs["libxl-channel2"].startswith("pty:/dev/pts/")
    assert stat.S_ISSOCK(os.stat(path).st_mode)
    assert len(present(xs, domid, 1)) == len(present(xs, domid, 2)) == 3
    return sock, pty, path


@pytest.mark.parametrize("how", ["remove", "destroy"])
def test_unplug_leaves_nothing(ctx, xs, guest, socket_dir, how):
    domid, dm = guest
    sock, pty, path = add_socket_and_pty(ctx, xs, domid, dm, socket_dir)
    connect_unix(path).close()  # it listens
    unplug = getattr(ctx, how)
    assert unplug(domid, sock) is None  # the Channel add returned
    assert present(xs, domid, 1) == []
    assert "libxl-channel1" not in dm.chardevs()
    assert not os.path.exists(path)
    with pytest.raises(OSError):
        connect_unix(path)
    assert ctx.warnings == []
    # the other channel is untouched until it goes too, by its console devid
    assert len(present(xs, domid, 2)) == 3 and "libxl-channel2" in dm.chardevs()
    unplug(domid, pty.devid)
    assert present(xs, domid, 2) == []
    assert [c for c in dm.chardevs() if c.startswith("libxl-channel")] == []
    assert ctx.list(domid) == []


@pytest.mark.parametrize("how", ["remove", "destroy"])
def test_unplug_of_a_console_the_domain_does_not_have(ctx, xs, guest, how):
    domid, dm = guest
    ctx.add(domid, Channel("org.example.pty", PTY))
    unplug = getattr(ctx, how)
    with pytest.raises(xlchannel.NotFoundError) as e:
        unplug(domid, 5)
    err = e.value
    assert err.code == -23 == xlchannel.ERROR_NOTFOUND and err.name == "ERROR_NOTFOUND"
    assert err.messages[0].text.endswith("Domain %d:domain %d has no console 5"
                                         % (domid, domid))
    assert err.messages[-1].text.endswith("Domain %d:Unable to remove channel device" % domid)
    assert str(err).endswith("[ERROR_NOTFOUND -23]")
    assert ctx.messages == list(err.messages)
    assert len(present(xs, domid, 1)) == 3 and "libxl-channel1" in dm.chardevs()


@pytest.mark.parametrize("how", ["remove", "destroy"])
def test_unplug_from_an_unknown_domain(ctx, how):
    with pytest.raises(xlchannel.NotFoundError) as e:
        getattr(ctx, how)(7777, 1)
    assert e.value.code == -23
    assert "domain 7777 has no console 1" in e.value.message


@pytest.mark.parametrize("devid", [0, -1])
def test_unplug_of_console_0_or_below_is_refused(ctx, xs, guest, devid):
    domid, _ = guest
    ctx.add(domid, Channel("org.example.pty", PTY))
    for unplug in (ctx.remove, ctx.destroy):
        with pytest.raises(xlchannel.InvalidError) as e:
            unplug(domid, devid)
        assert e.value.code == -6
    assert len(present(xs, domid, 1)) == 3


def test_graceful_removal_qemu_refuses_changes_nothing(ctx, xs, guest, socket_dir):
    """A chardev qemu still uses (here by a filter-redirector) cannot be removed: remove
    fails with qemu's error and puts the backend back online; destroy removes the nodes
    anyway, with a warning."""
    domid, dm = guest
    sock, _, path = add_socket_and_pty(ctx, xs, domid, dm, socket_dir)
    dm.execute("netdev_add", type="hubport", id="h0", hubid=0)
    dm.execute("object-add", **{"qom-type": "filter-redirector", "id": "r0", "netdev": "h0",
                                "queue": "tx", "indev": "libxl-channel1"})
    be = node_dirs(domid, 1)[1]
    with pytest.raises(xlchannel.XlError) as e:
        ctx.remove(domid, sock)
    assert e.value.code == -28  # ERROR_QMP_GENERIC_ERROR
    assert "Chardev 'libxl-channel1' is busy" in e.value.message
    assert len(present(xs, domid, 1)) == 3
    assert (xs.read(be + "/online"), xs.read(be + "/state")) == (b"1", b"1")
    assert "libxl-channel1" in dm.chardevs() and os.path.exists(path)
    ctx.destroy(domid, sock)
    assert present(xs, domid, 1) == []
    assert len(ctx.warnings) == 1 and "is busy" in ctx.warnings[0]


def test_destroy_when_qemu_is_gone(ctx, xs, guest, socket_dir):
    """qemu killed: remove refuses (nothing changed), destroy removes the nodes and the
    socket file nobody listens on any more."""
    domid, dm = guest
    sock, pty, path = add_socket_and_pty(ctx, xs, domid, dm, socket_dir)
    dm.proc.kill()
    dm.proc.wait(timeout=10)
    with pytest.raises(xlchannel.XlError) as e:
        ctx.remove(domid, sock)
    assert "nothing was changed" in e.value.message
    assert len(present(xs, domid, 1)) == 3
    ctx.destroy(domid, sock)
    assert present(xs, domid, 1) == []
    assert not os.path.exists(path)
    assert len(ctx.warnings) == 1 and "removing the xenstore nodes anyway" in ctx.warnings[0]


def test_unplug_of_a_driver_domain_channel(ctx, xs, new_domain):
    """A channel another domain serves is xenstore only: no device model needed."""
    driver = new_domain("unplug-driver", qemu=False)
    guest = new_domain(qemu=False)
    added = ctx.add(guest, Channel("org.example.drv", PTY, backend_domname="unplug-driver"))
    be = "/local/domain/%d/backend/console/%d/1" % (driver, guest)
    assert xs.read(be + "/frontend-id") == str(guest).encode()
    ctx.remove(guest, added)
    assert xs.read(be) is None
    assert xs.read("/libxl/%d/device/console/1" % guest) is None
    assert xs.read("/local/domain/%d/device/console/1" % guest) is None


def test_unplug_argument_checks(ctx, guest):
    domid, _ = guest
    with pytest.raises(ValueError):
        ctx.remove(-1, 1)
    with pytest.raises(ValueError):
        ctx.destroy(domid, 2 ** 31)
    with pytest.raises(TypeError):
        ctx.remove(domid, "1")
    with pytest.raises(TypeError):
        ctx.destroy(domid, True)
