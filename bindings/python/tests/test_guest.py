"""xlchannel.open_channel: an in-guest agent waiting for its channel. The link is made by the
real xlchannel-guest helper (as udev runs it) from a console name in the test bed's real
xenstored: dom0's relative path device/console/<N>/name is /local/domain/0/device/console/<N>."""

import subprocess
import threading
import time

import pytest

import xlchannel
from conftest import REPO

HELPER = REPO / "target" / "release" / "xlchannel-guest"


def run_helper(action, console, dev_dir):
    return subprocess.run([str(HELPER), action, "/devices/console-%d" % console,
                           "--dev-dir", str(dev_dir)], capture_output=True, text=True,
                          timeout=60)


def test_waits_for_the_helpers_link_then_opens(xs, tmp_path):
    xs.write("/local/domain/0/device/console/181/name", "org.py.agent")
    results = []

    def udev():
        time.sleep(0.3)
        (tmp_path / "hvc181").write_bytes(b"")
        results.append(run_helper("add", 181, tmp_path))

    worker = threading.Thread(target=udev)
    worker.start()
    try:
        with xlchannel.open_channel("org.py.agent", 30, dev_dir=tmp_path) as f:
            assert f.mode == "rb+"
            assert f.write(b"hello dom0") == 10
    finally:
        worker.join()
        xs.rm("/local/domain/0/device/console/181")
    assert (results[0].returncode, results[0].stderr) == (0, "")
    assert (tmp_path / "xen-channel" / "org.py.agent").readlink().as_posix() == "../hvc181"
    assert (tmp_path / "hvc181").read_bytes() == b"hello dom0"
    # Now there: opens at once, with no time to wait; bytes name it as well.
    with xlchannel.open_channel(b"org.py.agent", 0, dev_dir=str(tmp_path)) as f:
        assert f.read() == b"hello dom0"
    # After the helper's remove, it is gone again.
    assert run_helper("remove", 181, tmp_path).returncode == 0
    with pytest.raises(xlchannel.TimedOutError):
        xlchannel.open_channel("org.py.agent", 0, dev_dir=tmp_path, logger=None)


def test_timeout(tmp_path):
    start = time.monotonic()
    with pytest.raises(xlchannel.TimedOutError) as e:
        xlchannel.open_channel("org.py.never", 0.25, dev_dir=tmp_path, logger=None)
    assert time.monotonic() - start >= 0.25
    assert e.value.code == xlchannel.ERROR_TIMEDOUT == -9
    assert e.value.name == "ERROR_TIMEDOUT"
    assert e.value.message.endswith(
        "xlchannel_guest_open_channel: channel \"org.py.never\" did not appear as "
        "%s/xen-channel/org.py.never within 250 ms" % tmp_path)


@pytest.mark.parametrize("name, why", [
    ("", "it is empty"),
    ("..", "'..' is not a file name"),
    ("org/agent", "it contains '/'"),
    ("a\x1b", "it contains the control byte 0x1b"),
    ("n" * 256, "it is 256 bytes long; a file name has at most 255"),
])
def test_unsafe_names_are_refused(tmp_path, name, why):
    with pytest.raises(xlchannel.InvalidError) as e:
        xlchannel.open_channel(name, 1, dev_dir=tmp_path, logger=None)
    assert e.value.message.endswith(": " + why)


def test_bad_arguments(tmp_path):
    with pytest.raises(xlchannel.FailError) as e:
        xlchannel.open_channel("org.x", 0, dev_dir=tmp_path / "missing", logger=None)
    assert "No such file or directory" in e.value.message
    for bad, exc in [(-1, ValueError), (float("nan"), ValueError), (float("inf"), ValueError),
                     ("1", TypeError), (True, TypeError), (5e6, ValueError)]:
        with pytest.raises(exc):
            xlchannel.open_channel("org.x", bad, dev_dir=tmp_path)
    with pytest.raises(ValueError):
        xlchannel.open_channel("a\0b", 0, dev_dir=tmp_path)
    with pytest.raises(TypeError):
        xlchannel.open_channel(7, 0, dev_dir=tmp_path)
