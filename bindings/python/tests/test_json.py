"""libxl's JSON through the bindings: round trips, exact bytes, bad input."""

import pytest

import xlchannel
from xlchannel import Channel, ChannelInfo, Connection

SOCKET_JSON = """{
    "name": "org.my.cloud.software.agent.version1",
    "connection.socket": {
        "path": "/run/xen/cloud-agent.sock"
    }
}
"""


def test_exact_bytes():
    c = Channel("org.my.cloud.software.agent.version1", Connection.SOCKET,
                "/run/xen/cloud-agent.sock")
    assert c.to_json() == SOCKET_JSON
    assert Channel.from_json(SOCKET_JSON) == c


@pytest.mark.parametrize("channel", [
    Channel(),
    Channel("org.a", Connection.PTY),
    Channel("org.b", Connection.SOCKET, "/run/b \"quoted\" \\ \u00e9\n\t", devid=3,
            backend_domid=4294967295, backend_domname="driver"),
    Channel("", Connection.UNKNOWN, devid=-2147483648),
], ids=["defaults", "pty", "socket-everything", "odd-values"])
def test_channel_round_trip(channel):
    text = channel.to_json()
    assert Channel.from_json(text) == channel
    assert Channel.from_json(text.encode()) == channel


def test_connection_outside_the_enum():
    # libxl's JSON has no form for it: the union is left out
    text = Channel("n", 7).to_json()
    assert text == '{\n    "name": "n"\n}\n'
    assert Channel.from_json(text) == Channel("n", Connection.UNKNOWN)


def test_channelinfo_round_trip():
    info = ChannelInfo(backend="/local/domain/0/backend/console/5/1", backend_id=0,
                       frontend="/local/domain/5/device/console/1", frontend_id=5, devid=0,
                       state=1, evtch=-1, rref=-1, connection=Connection.PTY, path="/dev/pts/3")
    assert ChannelInfo.from_json(info.to_json()) == info
    assert '"path": "/dev/pts/3"' in info.to_json()
    sock = ChannelInfo(connection=Connection.SOCKET, devid=4, state=4)
    assert ChannelInfo.from_json(sock.to_json()) == sock


def test_libxl_quirks_are_kept():
    # text after the first complete value is ignored; 1e2 reads as the integer 1
    assert Channel.from_json('{"name": "a"} trailing junk').name == "a"
    assert Channel.from_json('{"devid": 1e2}').devid == 1
    # "connection" alone selects nothing: the union key does
    assert Channel.from_json('{"connection": "pty"}').connection == Connection.UNKNOWN
    assert Channel.from_json('{"connection.pty": {}}').connection == Connection.PTY


@pytest.mark.parametrize("text", [
    "", "garbage", "{", '{"devid": 99999999999}',
    '{"connection.socket": {"path": "a"}, "connection.pty": {}}',  # libxl asserts here
], ids=["empty", "garbage", "unterminated", "devid-overflow", "two-union-members"])
def test_bad_json_raises(text):
    with pytest.raises(xlchannel.XlError) as e:
        Channel.from_json(text)
    assert e.value.code == -3
    with pytest.raises(xlchannel.XlError):
        ChannelInfo.from_json(text)


def test_bad_json_with_a_context_carries_the_message(ctx):
    with pytest.raises(xlchannel.FailError) as e:
        Channel.from_json("{", ctx=ctx)
    assert e.value.messages and e.value.messages[-1].level == 8
    assert Channel.from_json(SOCKET_JSON, ctx=ctx).path == "/run/xen/cloud-agent.sock"


def test_json_argument_checks():
    with pytest.raises(ValueError):
        Channel.from_json('{"name": "a"}\0')
    with pytest.raises(TypeError):
        Channel.from_json(None)
