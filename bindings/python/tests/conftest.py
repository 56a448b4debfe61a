"""Fixtures: the test bed's xenstored (testbed/with-xenstored.sh gives XENSTORED_PATH), a
context per test, and fresh guest domains registered as a toolstack would, each with a real
qemu as its device model (a hot add of a channel the local domain serves needs one)."""

import itertools
import logging
import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # tests/xenstore.py

REPO = HERE.parents[2]

# Where the library looks for a domain's device model (qmp-libxl-<domid>), for the whole
# session; short, so socket paths under it fit sun_path. Removed at the end.
RUN_DIR = tempfile.mkdtemp(prefix="xlchannel-py.")
os.environ["XLCHANNEL_RUN_DIR"] = RUN_DIR


def pytest_sessionstart(session):
    if not os.environ.get("XENSTORED_PATH"):
        pytest.exit("XENSTORED_PATH is not set: run the tests inside the test bed, e.g.\n"
                    "  testbed/with-xenstored.sh --no-preload /usr/bin/python3 -m pytest "
                    "bindings/python/tests -q", returncode=2)


def pytest_sessionfinish(session, exitstatus):
    shutil.rmtree(RUN_DIR, ignore_errors=True)


@pytest.fixture(scope="session")
def xs():
    from xenstore import XenStore

    store = XenStore()
    yield store
    store.close()


_domids = itertools.count(100)


@pytest.fixture
def device_model():
    """device_model(domid) -> a running qemu (tests/qemu.py) whose libxl QMP socket is
    $XLCHANNEL_RUN_DIR/qmp-libxl-<domid>; `device_model.of[domid]` is the one started for a
    domain. Every one is stopped after the test."""
    from qemu import DeviceModel

    def start(domid):
        dm = DeviceModel(domid, RUN_DIR)
        start.of[domid] = dm
        return dm

    start.of = {}
    yield start
    for dm in start.of.values():
        dm.stop()


@pytest.fixture
def new_domain(xs, device_model):
    """new_domain(name=None, qemu=True) -> a fresh domid registered in xenstore (name
    guest<domid>), with a qemu as its device model unless qemu=False (a driver domain, or
    a domain nothing is hot-added to)."""

    def make(name=None, qemu=True):
        domid = next(_domids)
        xs.register_domain(domid, name or "guest%d" % domid)
        if qemu:
            device_model(domid)
        return domid

    return make


@pytest.fixture
def socket_dir():
    """A fresh directory for the tests' channel sockets (qemu creates them there)."""
    path = tempfile.mkdtemp(prefix="s.", dir=RUN_DIR)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def domid(new_domain):
    return new_domain()


@pytest.fixture
def ctx():
    import xlchannel

    with xlchannel.Context(logger=logging.getLogger("xlchannel.test")) as c:
        yield c
