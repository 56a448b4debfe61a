"""Fixtures: the test bed's xenstored (testbed/with-xenstored.sh gives XENSTORED_PATH), a
context per test, and fresh guest domains registered as a toolstack would."""

import itertools
import logging
import os
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # tests/xenstore.py

REPO = HERE.parents[2]


def pytest_sessionstart(session):
    if not os.environ.get("XENSTORED_PATH"):
        pytest.exit("XENSTORED_PATH is not set: run the tests inside the test bed, e.g.\n"
                    "  testbed/with-xenstored.sh --no-preload /usr/bin/python3 -m pytest "
                    "bindings/python/tests -q", returncode=2)


@pytest.fixture(scope="session")
def xs():
    from xenstore import XenStore

    store = XenStore()
    yield store
    store.close()


_domids = itertools.count(100)


@pytest.fixture
def new_domain(xs):
    """new_domain(name=None) -> a fresh domid registered in xenstore (name guest<domid>)."""

    def make(name=None):
        domid = next(_domids)
        xs.register_domain(domid, name or "guest%d" % domid)
        return domid

    return make


@pytest.fixture
def domid(new_domain):
    return new_domain()


@pytest.fixture
def ctx():
    import xlchannel

    with xlchannel.Context(logger=logging.getLogger("xlchannel.test")) as c:
        yield c
