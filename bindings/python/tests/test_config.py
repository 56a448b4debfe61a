"""xl configuration: xlchannel_config_channels and xlchannel_channel_parse_spec."""

import logging

import pytest

import xlchannel
from xlchannel import Channel, Connection

GUEST = 'name = "cfg-guest"\nmemory = 512\n'


def test_config_channels_with_a_warning(ctx, caplog):
    text = GUEST + (
        'channel = [ "connection=socket,name=org.my.cloud.agent,path=/run/xen/agent.sock",\n'
        '            "connection=pty,name=org.my.console,speed=fast" ]\n')
    with caplog.at_level(logging.WARNING, logger="xlchannel.test"):
        result = ctx.config_channels(text, "cloud-vm.cfg")
    assert result.channels == [
        Channel("org.my.cloud.agent", Connection.SOCKET, "/run/xen/agent.sock", devid=-1),
        Channel("org.my.console", Connection.PTY, devid=-1),
    ]
    assert result.warnings == ["unknown channel parameter 'speed', ignoring"]
    assert [(r.levelname, r.getMessage()) for r in caplog.records] == [
        ("WARNING", "xl: unknown channel parameter 'speed', ignoring")]
    channels, warnings = result  # a NamedTuple
    assert len(channels) == 2 and len(warnings) == 1


def test_config_without_channels(ctx):
    assert ctx.config_channels(GUEST) == ([], [])
    assert ctx.config_channels(b"") == ([], [])


def test_single_string_channel_warns(ctx):
    result = ctx.config_channels(GUEST + 'channel = "connection=pty,name=a"\n')
    assert result.warnings  # xl's warning about a string where a list belongs
    assert all(isinstance(w, str) for w in result.warnings)


def test_refused_spec_is_fatal(ctx):
    with pytest.raises(xlchannel.InvalidError) as e:
        ctx.config_channels(GUEST + "channel = [ 'connection=socket,name=a' ]\n", "bad.cfg")
    assert e.value.code == -6
    assert e.value.message == "channel connection 'socket' requires path=.."
    assert [(m.level, m.context) for m in e.value.messages] == [(8, "xl")]


def test_unparsable_file_is_fatal(ctx):
    with pytest.raises(xlchannel.FailError) as e:
        ctx.config_channels(GUEST + "channel = [ 'connection=pty\n", "broken.cfg")
    assert e.value.code == -3
    assert e.value.message.startswith("broken.cfg:")
    assert "Failed to parse config" in e.value.message


def test_nul_byte_inside_a_quoted_string(ctx):
    data = GUEST.encode() + b'channel = [ "connection=pty,name=a\0b" ]\n'
    with pytest.raises(xlchannel.FailError) as e:
        ctx.config_channels(data, "guest.cfg")
    assert "NUL byte in quoted string" in e.value.message


def test_config_file(ctx, tmp_path):
    cfg = tmp_path / "vm.cfg"
    cfg.write_text(GUEST + "channel = [ 'connection=pty,name=org.a,x=y' ]\n")
    result = ctx.config_file(cfg)
    assert [c.name for c in result.channels] == ["org.a"]
    assert result.warnings == ["unknown channel parameter 'x', ignoring"]
    with pytest.raises(FileNotFoundError):
        ctx.config_file(tmp_path / "missing.cfg")


def test_parse_spec(ctx):
    c = ctx.parse_spec(" path=/run/a,,connection=socket,name=org.a,x=y")
    assert c == Channel("org.a", Connection.SOCKET, "/run/a", devid=-1)
    assert ctx.warnings == ["unknown channel parameter 'x', ignoring"]
    c = ctx.parse_spec("backend=3,path=/p,connection=pty")  # path dropped for a pty
    assert c == Channel(None, Connection.PTY, backend_domname="3")
    assert ctx.warnings == []


@pytest.mark.parametrize("spec,message", [
    ("", "failed to parse channel configuration: "),
    ("name=n", "channel has unknown 'connection'"),
    ("connection=tcp", "unknown channel connection 'tcp'"),
    ("connection=socket", "channel connection 'socket' requires path=.."),
    ("=x,connection=pty", "failed to parse channel configuration: =x"),
])
def test_parse_spec_refused(ctx, spec, message):
    with pytest.raises(xlchannel.InvalidError) as e:
        ctx.parse_spec(spec)
    assert e.value.code == -6
    assert e.value.message == message


def test_parse_spec_argument_checks(ctx):
    with pytest.raises(ValueError):
        ctx.parse_spec("connection=pty,name=a\0b")
    with pytest.raises(TypeError):
        ctx.parse_spec(b"connection=pty")


def test_config_then_add(ctx, xs, new_domain):
    guest, driver = new_domain("cfg-guest-py"), new_domain("cfg-driver-py", qemu=False)
    result = ctx.config_channels(
        GUEST + "channel = [ 'connection=pty,name=org.a',"
                " 'backend=cfg-driver-py,connection=socket,path=/run/s,name=org.b' ]\n")
    added = [ctx.add(guest, c) for c in result.channels]
    assert [(c.devid, c.backend_domid) for c in added] == [(1, 0), (2, driver)]
    assert xs.read("/local/domain/%d/device/console/2/backend" % guest) == \
        ("/local/domain/%d/backend/console/%d/2" % (driver, guest)).encode()
