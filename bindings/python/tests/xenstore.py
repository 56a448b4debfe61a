"""Test helpers over the real libxenstore (ctypes), as c-tests/xs_helpers.h: register a guest
the way a toolstack does at domain creation, read and write nodes, read permissions in
xenstore-ls -p's notation ("n5,r0")."""

import ctypes
import ctypes.util
from ctypes import POINTER, c_bool, c_char_p, c_uint, c_void_p

XBT_NULL = 0
XS_PERM_NONE, XS_PERM_READ, XS_PERM_WRITE = 0, 1, 2


class xs_permissions(ctypes.Structure):
    _fields_ = [("id", c_uint), ("perms", c_uint)]


_xs = ctypes.CDLL(ctypes.util.find_library("xenstore") or "libxenstore.so.4")
_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
_libc.free.argtypes = [c_void_p]
_libc.free.restype = None
for _name, _res, _args in [
    ("xs_open", c_void_p, [ctypes.c_ulong]),
    ("xs_close", None, [c_void_p]),
    ("xs_read", c_void_p, [c_void_p, c_uint, c_char_p, POINTER(c_uint)]),
    ("xs_write", c_bool, [c_void_p, c_uint, c_char_p, c_char_p, c_uint]),
    ("xs_mkdir", c_bool, [c_void_p, c_uint, c_char_p]),
    ("xs_rm", c_bool, [c_void_p, c_uint, c_char_p]),
    ("xs_get_permissions", c_void_p, [c_void_p, c_uint, c_char_p, POINTER(c_uint)]),
    ("xs_set_permissions", c_bool, [c_void_p, c_uint, c_char_p, POINTER(xs_permissions),
                                    c_uint]),
]:
    _fn = getattr(_xs, _name)
    _fn.restype, _fn.argtypes = _res, _args


def _b(text):
    return text if isinstance(text, bytes) else text.encode()


class XenStore:
    def __init__(self):
        self.h = _xs.xs_open(0)
        if not self.h:
            raise OSError("no xenstored: run inside testbed/with-xenstored.sh")

    def close(self):
        if self.h:
            _xs.xs_close(self.h)
            self.h = None

    def write(self, path, value):
        value = _b(value)
        if not _xs.xs_write(self.h, XBT_NULL, _b(path), value, len(value)):
            raise OSError(ctypes.get_errno(), "xs_write %s" % path)

    def read(self, path):
        """The value (bytes), or None when the node does not exist."""
        n = c_uint(0)
        p = _xs.xs_read(self.h, XBT_NULL, _b(path), ctypes.byref(n))
        if not p:
            return None
        try:
            return ctypes.string_at(p, n.value)
        finally:
            _libc.free(p)

    def mkdir(self, path):
        if not _xs.xs_mkdir(self.h, XBT_NULL, _b(path)):
            raise OSError("xs_mkdir %s" % path)

    def rm(self, path):
        _xs.xs_rm(self.h, XBT_NULL, _b(path))

    def set_perms(self, path, owner, reader):
        """Owner `owner` (no access for others), `reader` may read."""
        perms = (xs_permissions * 2)(xs_permissions(owner, XS_PERM_NONE),
                                     xs_permissions(reader, XS_PERM_READ))
        if not _xs.xs_set_permissions(self.h, XBT_NULL, _b(path), perms, 2):
            raise OSError("xs_set_permissions %s" % path)

    def perms(self, path):
        n = c_uint(0)
        p = _xs.xs_get_permissions(self.h, XBT_NULL, _b(path), ctypes.byref(n))
        if not p:
            return None
        try:
            arr = ctypes.cast(p, POINTER(xs_permissions))
            out = []
            for i in range(n.value):
                r, w = arr[i].perms & XS_PERM_READ, arr[i].perms & XS_PERM_WRITE
                out.append("%s%d" % ("b" if r and w else "r" if r else "w" if w else "n",
                                     arr[i].id))
            return ",".join(out)
        finally:
            _libc.free(p)

    def register_domain(self, domid, name):
        """/local/domain/<domid> owned by dom0 and readable by the guest, with its name,
        domid and a read-only device directory, as libxl's domain creation leaves them."""
        base = "/local/domain/%d" % domid
        self.write(base, "")
        self.set_perms(base, 0, domid)
        self.write(base + "/name", name)
        self.write(base + "/domid", str(domid))
        self.mkdir(base + "/device")
        self.set_perms(base + "/device", 0, domid)

    def remove_consoles(self, domid, backend_domid=0):
        """Forget every console of a domain (frontend, backend and libxl's copy)."""
        self.rm("/local/domain/%d/device/console" % domid)
        self.rm("/local/domain/%d/backend/console/%d" % (backend_domid, domid))
        self.rm("/libxl/%d/device/console" % domid)
