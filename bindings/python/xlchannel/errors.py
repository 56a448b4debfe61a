"""Exceptions: libxl's `libxl_error` codes as a Python hierarchy.

Every failing call raises an `XlError` (or the subclass its code maps to) carrying the
negative libxl code, its name, and the messages the library logged during the call.
"""

from __future__ import annotations

from typing import Dict, NamedTuple, Optional, Sequence, Tuple, Type

# `enum libxl_error` of include/libxl_channel.h (libxl 4.17). Checked against the header by
# tests/test_layout.py.
ERROR_NONSPECIFIC = -1
ERROR_VERSION = -2
ERROR_FAIL = -3
ERROR_NI = -4
ERROR_NOMEM = -5
ERROR_INVAL = -6
ERROR_BADFAIL = -7
ERROR_GUEST_TIMEDOUT = -8
ERROR_TIMEDOUT = -9
ERROR_NOPARAVIRT = -10
ERROR_NOT_READY = -11
ERROR_OSEVENT_REG_FAIL = -12
ERROR_BUFFERFULL = -13
ERROR_UNKNOWN_CHILD = -14
ERROR_LOCK_FAIL = -15
ERROR_JSON_CONFIG_EMPTY = -16
ERROR_DEVICE_EXISTS = -17
ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH = -18
ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED = -19
ERROR_VNUMA_CONFIG_INVALID = -20
ERROR_DOMAIN_NOTFOUND = -21
ERROR_ABORTED = -22
ERROR_NOTFOUND = -23
ERROR_DOMAIN_DESTROYED = -24
ERROR_FEATURE_REMOVED = -25
ERROR_PROTOCOL_ERROR_QMP = -26
ERROR_UNKNOWN_QMP_ERROR = -27
ERROR_QMP_GENERIC_ERROR = -28
ERROR_QMP_COMMAND_NOT_FOUND = -29
ERROR_QMP_DEVICE_NOT_ACTIVE = -30
ERROR_QMP_DEVICE_NOT_FOUND = -31
ERROR_QEMU_API = -32

#: code -> name, e.g. ERROR_CODES[-6] == "ERROR_INVAL".
ERROR_CODES: Dict[int, str] = {
    ERROR_NONSPECIFIC: "ERROR_NONSPECIFIC",
    ERROR_VERSION: "ERROR_VERSION",
    ERROR_FAIL: "ERROR_FAIL",
    ERROR_NI: "ERROR_NI",
    ERROR_NOMEM: "ERROR_NOMEM",
    ERROR_INVAL: "ERROR_INVAL",
    ERROR_BADFAIL: "ERROR_BADFAIL",
    ERROR_GUEST_TIMEDOUT: "ERROR_GUEST_TIMEDOUT",
    ERROR_TIMEDOUT: "ERROR_TIMEDOUT",
    ERROR_NOPARAVIRT: "ERROR_NOPARAVIRT",
    ERROR_NOT_READY: "ERROR_NOT_READY",
    ERROR_OSEVENT_REG_FAIL: "ERROR_OSEVENT_REG_FAIL",
    ERROR_BUFFERFULL: "ERROR_BUFFERFULL",
    ERROR_UNKNOWN_CHILD: "ERROR_UNKNOWN_CHILD",
    ERROR_LOCK_FAIL: "ERROR_LOCK_FAIL",
    ERROR_JSON_CONFIG_EMPTY: "ERROR_JSON_CONFIG_EMPTY",
    ERROR_DEVICE_EXISTS: "ERROR_DEVICE_EXISTS",
    ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH: "ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH",
    ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED: "ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED",
    ERROR_VNUMA_CONFIG_INVALID: "ERROR_VNUMA_CONFIG_INVALID",
    ERROR_DOMAIN_NOTFOUND: "ERROR_DOMAIN_NOTFOUND",
    ERROR_ABORTED: "ERROR_ABORTED",
    ERROR_NOTFOUND: "ERROR_NOTFOUND",
    ERROR_DOMAIN_DESTROYED: "ERROR_DOMAIN_DESTROYED",
    ERROR_FEATURE_REMOVED: "ERROR_FEATURE_REMOVED",
    ERROR_PROTOCOL_ERROR_QMP: "ERROR_PROTOCOL_ERROR_QMP",
    ERROR_UNKNOWN_QMP_ERROR: "ERROR_UNKNOWN_QMP_ERROR",
    ERROR_QMP_GENERIC_ERROR: "ERROR_QMP_GENERIC_ERROR",
    ERROR_QMP_COMMAND_NOT_FOUND: "ERROR_QMP_COMMAND_NOT_FOUND",
    ERROR_QMP_DEVICE_NOT_ACTIVE: "ERROR_QMP_DEVICE_NOT_ACTIVE",
    ERROR_QMP_DEVICE_NOT_FOUND: "ERROR_QMP_DEVICE_NOT_FOUND",
    ERROR_QEMU_API: "ERROR_QEMU_API",
}

# xentoollog levels (`xentoollog_level`).
XTL_DEBUG, XTL_VERBOSE, XTL_DETAIL, XTL_PROGRESS, XTL_INFO, XTL_NOTICE = range(1, 7)
XTL_WARN, XTL_ERROR, XTL_CRITICAL = 7, 8, 9


class LogMessage(NamedTuple):
    """One message the library logged through the context's xentoollog logger."""

    level: int  # xentoollog level: XTL_WARN (7), XTL_ERROR (8), ...
    context: str  # "libxl", or "xl" for xl's own messages
    errnoval: int  # an errno the message is about, or -1
    text: str  # the formatted message (with ": <strerror>" appended when errnoval >= 0)

    def __str__(self) -> str:
        return self.text


class XlError(Exception):
    """A libxl call failed: `code` is the negative `libxl_error`, `name` its name,
    `messages` what the library logged during the call (oldest first)."""

    code: int = ERROR_NONSPECIFIC

    def __init__(self, code: Optional[int] = None, message: str = "",
                 messages: Sequence[LogMessage] = ()):
        if code is None:
            code = type(self).code
        self.code = int(code)
        self.name = ERROR_CODES.get(self.code, "ERROR_%d" % self.code)
        self.messages: Tuple[LogMessage, ...] = tuple(messages)
        self.message = message or _summary(self.messages) or self.name
        super().__init__(self.message)

    def __str__(self) -> str:
        return "%s [%s %d]" % (self.message, self.name, self.code)

    def __repr__(self) -> str:
        return "%s(%d, %r)" % (type(self).__name__, self.code, self.message)

    def __reduce__(self):  # pickling (e.g. across multiprocessing) keeps code and messages
        return (type(self), (self.code, self.message, self.messages))

    @staticmethod
    def from_code(code: int, message: str = "",
                  messages: Sequence[LogMessage] = ()) -> "XlError":
        """The exception for `code`: its subclass when there is one, else `XlError`."""
        cls = _BY_CODE.get(int(code), XlError)
        return cls(code, message, messages)


def _summary(messages: Sequence[LogMessage]) -> str:
    """The error messages of a call (its warnings when there are none), one per line."""
    for least in (XTL_ERROR, XTL_WARN):
        picked = [m.text for m in messages if m.level >= least]
        if picked:
            return "\n".join(picked)
    return ""


class VersionError(XlError):
    code = ERROR_VERSION


class FailError(XlError):
    code = ERROR_FAIL


class NotSupportedError(XlError):
    """ERROR_NI: not implemented (e.g. completion by libxl event)."""

    code = ERROR_NI


class NoMemoryError(XlError):
    code = ERROR_NOMEM


class InvalidError(XlError):
    """ERROR_INVAL: the library refused an argument (or xl refused a channel SPEC)."""

    code = ERROR_INVAL


class DeviceExistsError(XlError):
    code = ERROR_DEVICE_EXISTS


class DomainNotFoundError(XlError):
    code = ERROR_DOMAIN_NOTFOUND


class NotFoundError(XlError):
    code = ERROR_NOTFOUND


class TimedOutError(XlError):
    """ERROR_TIMEDOUT: what was waited for did not happen in time (`open_channel`)."""

    code = ERROR_TIMEDOUT


_BY_CODE: Dict[int, Type[XlError]] = {
    cls.code: cls
    for cls in (VersionError, FailError, NotSupportedError, NoMemoryError, InvalidError,
                DeviceExistsError, DomainNotFoundError, NotFoundError, TimedOutError)
}


class LibraryNotFoundError(ImportError):
    """libxlchannel.so could not be found or loaded."""


class LayoutMismatchError(RuntimeError):
    """The library's structs are not laid out as these bindings declare them."""
