"""The package as users get it: pip-installed from the repository (offline), finding the
library through $XLCHANNEL_LIB, the build tree or the system; errors that pickle."""

import os
import pickle
import shutil
import subprocess
import sys

import pytest

import xlchannel
from xlchannel import _native
from conftest import REPO

PACKAGE = REPO / "bindings" / "python"


def run_python(code, env_extra, cwd):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "XLCHANNEL_LIB")}
    env.update(env_extra)
    return subprocess.run([sys.executable, "-c", code], env=env, cwd=cwd,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """`pip install` of bindings/python into a fresh directory: no index, no build
    isolation (setuptools of the running interpreter), so no network."""
    target = tmp_path_factory.mktemp("site")
    # from a copy: setuptools writes build/ and *.egg-info next to the sources
    source = tmp_path_factory.mktemp("src") / "python"
    shutil.copytree(PACKAGE, source, ignore=shutil.ignore_patterns("__pycache__", "tests"))
    pip = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-index",
         "--no-build-isolation", "--no-deps", "--target", str(target), str(source)],
        capture_output=True, text=True, timeout=120)
    assert pip.returncode == 0, pip.stdout + pip.stderr
    return target


def test_pip_installed_copy_works(installed, tmp_path, domid):
    assert (installed / "xlchannel" / "__init__.py").is_file()
    lib = str(REPO / "target" / "release" / "libxlchannel.so")
    out = run_python(
        "import xlchannel, sys\n"
        "assert xlchannel.__file__.startswith(%r), xlchannel.__file__\n"
        "with xlchannel.Context(logger=None) as ctx:\n"
        "    c = ctx.add(%d, xlchannel.Channel('org.installed', 'pty'))\n"
        "    print(c.devid, xlchannel.library_path())\n" % (str(installed), domid),
        {"PYTHONPATH": str(installed), "XLCHANNEL_LIB": lib}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1 %s\n" % lib


def test_a_bad_XLCHANNEL_LIB_is_reported_at_first_use(tmp_path):
    out = run_python(
        "import xlchannel\n"  # the import itself needs no library
        "try:\n"
        "    xlchannel.Context()\n"
        "except xlchannel.LibraryNotFoundError as e:\n"
        "    print('not found:', e)\n",
        {"PYTHONPATH": str(PACKAGE), "XLCHANNEL_LIB": "/nonexistent/libxlchannel.so"},
        cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("not found: cannot load libxlchannel (set XLCHANNEL_LIB")
    assert "/nonexistent/libxlchannel.so" in out.stdout


def test_a_library_that_is_not_xlchannel_is_refused(tmp_path):
    out = run_python(
        "import xlchannel\n"
        "try:\n"
        "    xlchannel.Context()\n"
        "except xlchannel.LibraryNotFoundError as e:\n"
        "    print(e)\n",
        {"PYTHONPATH": str(PACKAGE), "XLCHANNEL_LIB": "libxenstore.so.4"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "lacks libxl_ctx_alloc: not libxlchannel" in out.stdout


def test_search_order(monkeypatch):
    monkeypatch.setenv("XLCHANNEL_LIB", "/opt/x/libxlchannel.so")
    assert _native.library_candidates() == ["/opt/x/libxlchannel.so"]  # only it
    monkeypatch.delenv("XLCHANNEL_LIB")
    candidates = _native.library_candidates()
    assert candidates[0] == str(REPO / "target" / "release" / "libxlchannel.so")
    # then the system's: find_library (when it finds one), the soname, make install's places
    assert candidates[-3:] == ["libxlchannel.so.0", "/usr/local/lib/libxlchannel.so.0",
                               "/usr/lib/libxlchannel.so.0"]
    assert len(candidates) in (4, 5)


def test_pip_installed_copy_run_from_the_build_tree_uses_it(installed):
    """No XLCHANNEL_LIB, the package outside the repository, run from inside it."""
    out = run_python(
        "import xlchannel\n"
        "with xlchannel.Context(logger=None):\n"
        "    print(xlchannel.library_path())\n",
        {"PYTHONPATH": str(installed)}, cwd=REPO / "examples")
    assert out.returncode == 0, out.stderr
    assert out.stdout == "%s\n" % (REPO / "target" / "release" / "libxlchannel.so")


def test_pip_installed_copy_finds_an_installed_library(installed, tmp_path, domid):
    """`make install` into a staging directory; the package finds the library by its soname
    where the loader looks (here LD_LIBRARY_PATH stands for the installed lib directory)."""
    stage = tmp_path / "stage"
    make = subprocess.run(["make", "--no-print-directory", "-C", str(REPO), "install",
                           "DESTDIR=%s" % stage, "PREFIX=/usr/local"],
                          capture_output=True, text=True, timeout=600)
    assert make.returncode == 0, make.stdout + make.stderr
    libdir = stage / "usr" / "local" / "lib"
    out = run_python(
        "import os, xlchannel\n"
        "with xlchannel.Context(logger=None) as ctx:\n"
        "    c = ctx.add(%d, xlchannel.Channel('org.installed.lib', 'pty'))\n"
        "    print(c.devid, xlchannel.library_path())\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(%r in maps)\n" % (domid, str(libdir / "libxlchannel.so.0.")),
        {"PYTHONPATH": str(installed), "LD_LIBRARY_PATH": str(libdir)}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout == "1 libxlchannel.so.0\nTrue\n"


def test_errors_pickle():
    e = xlchannel.XlError.from_code(-17, messages=[xlchannel.LogMessage(8, "libxl", -1, "m")])
    again = pickle.loads(pickle.dumps(e))
    assert type(again) is xlchannel.DeviceExistsError
    assert (again.code, again.message, again.messages) == (e.code, e.message, e.messages)
    unknown = pickle.loads(pickle.dumps(xlchannel.XlError.from_code(-99)))
    assert type(unknown) is xlchannel.XlError and unknown.name == "ERROR_-99"
