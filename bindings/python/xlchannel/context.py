"""`Context`: a `libxl_ctx` with a xentoollog logger that feeds Python's `logging` and the
exceptions, and the channel operations."""

from __future__ import annotations

import ctypes
import logging
import os
import threading
import weakref
from typing import Callable, List, NamedTuple, Optional, Sequence, Union

from . import _native
from .errors import (ERROR_FAIL, XTL_CRITICAL, XTL_ERROR, XTL_INFO, XTL_NOTICE,
                     XTL_PROGRESS, XTL_WARN, LogMessage, XlError)
from .types import Channel, ChannelInfo, ENCODING, ERRORS, check_domid

#: xentoollog level -> logging level.
_LEVELS = {XTL_WARN: logging.WARNING, XTL_ERROR: logging.ERROR,
           XTL_CRITICAL: logging.CRITICAL}
for _lv in (XTL_PROGRESS, XTL_INFO, XTL_NOTICE):
    _LEVELS[_lv] = logging.INFO

_DEFAULT = object()


def _python_level(level: int) -> int:
    return _LEVELS.get(level, logging.DEBUG if level < XTL_PROGRESS else logging.CRITICAL)


class _Sink:
    """A `xentoollog_logger` whose callbacks are Python functions. It records the messages of
    the call in progress and passes each one to a `logging.Logger`.

    It holds no reference to its Context, so a forgotten Context can be collected; the
    Context's finalizer keeps the sink (the C struct and its callbacks) alive until
    `libxl_ctx_free` has returned."""

    def __init__(self, logger: Optional[logging.Logger]) -> None:
        self.logger = logger
        # The library logs from the thread that made the call: each thread records its own.
        self._local = threading.local()
        self._vmessage = _native.XTL_VMESSAGE(self._on_vmessage)
        self._progress = _native.XTL_PROGRESS(self._on_progress)
        self._destroy = _native.XTL_DESTROY(self._on_destroy)
        self.struct = _native.xentoollog_logger(self._vmessage, self._progress, self._destroy)

    @property
    def capture(self) -> Optional[List[LogMessage]]:
        """Where this thread's call in progress records its messages (None: no call)."""
        return getattr(self._local, "capture", None)

    @capture.setter
    def capture(self, value: Optional[List[LogMessage]]) -> None:
        self._local.capture = value

    @property
    def pointer(self) -> int:
        return ctypes.addressof(self.struct)

    @staticmethod
    def format(fmt: Optional[bytes], args: Optional[int]) -> str:
        """printf `fmt` over the va_list `args`, once, with libc's vasprintf (a va_list can be
        consumed only once, so no size-then-fill second pass), freeing the result."""
        if fmt is None:
            return ""
        out = ctypes.c_void_p()
        n = _native.libc.vasprintf(ctypes.byref(out), fmt, args)
        if n < 0:
            return fmt.decode(ENCODING, ERRORS)
        try:
            return ctypes.string_at(out, n).decode(ENCODING, ERRORS)
        finally:
            _native.libc.free(out)

    def _on_vmessage(self, _lg, level, errnoval, context, fmt, args) -> None:
        # Nothing may escape into C: an exception here would only be printed by ctypes.
        try:
            text = self.format(fmt, args)
            if errnoval >= 0:  # as xentoollog's stdiostream logger appends it
                text += ": " + os.strerror(errnoval)
            msg = LogMessage(level, (context or b"").decode(ENCODING, ERRORS), errnoval, text)
            if self.capture is not None:
                self.capture.append(msg)
            if self.logger is not None:
                self.logger.log(_python_level(level), "%s: %s", msg.context, text,
                                extra={"xtl_level": level, "xtl_context": msg.context,
                                       "xtl_errno": errnoval})
        except BaseException:  # noqa: B902 -- e.g. KeyboardInterrupt inside the callback
            pass

    def _on_progress(self, _lg, context, doing_what, percent, done, total) -> None:
        try:
            if self.logger is not None:
                self.logger.debug("%s: %s: %d%% (%d/%d)", (context or b"").decode(),
                                  (doing_what or b"").decode(ENCODING, ERRORS), percent,
                                  done, total)
        except BaseException:  # noqa: B902
            pass

    def _on_destroy(self, _lg) -> None:
        pass  # the struct is owned by Python


def _free_context(library: _native.Library, handle: int, sink: _Sink) -> None:
    """Finalizer: free the libxl context; `sink` is an argument only to outlive it."""
    library.libxl_ctx_free(handle)
    del sink


class ConfigChannels(NamedTuple):
    """The channels of an xl config, with the warnings xl prints while reading them."""

    channels: List[Channel]
    warnings: List[str]


class Context:
    """A libxl context (`libxl_ctx_alloc`), connected to xenstore (`XENSTORED_PATH` is
    honoured). Use it with `with`, or call `close()`; a forgotten context is freed when it
    is garbage collected.

    Every message the library logs goes to `logger` (default: the `xlchannel` logger; None
    for none) and into the XlError a failing call raises. As libxl's, a context may be shared
    by threads and their calls run at once (ctypes releases the GIL around C calls);
    `messages` is per thread: what this thread's last call logged.
    """

    def __init__(self, logger: Union[logging.Logger, None, object] = _DEFAULT) -> None:
        if logger is _DEFAULT:
            logger = logging.getLogger("xlchannel")
        self._lib = _native.lib()
        self._sink = _Sink(logger)  # type: ignore[arg-type]
        # Guards the handle against close() while calls of other threads are running.
        self._calls_done = threading.Condition()
        self._calls = 0
        self._local = threading.local()
        handle = ctypes.c_void_p()
        self._sink.capture = captured = []
        try:
            rc = self._lib.libxl_ctx_alloc(ctypes.byref(handle), _native.LIBXL_VERSION, 0,
                                           self._sink.pointer)
        finally:
            self._sink.capture = None
        self.messages = captured
        if rc != 0 or not handle.value:
            raise XlError.from_code(rc or ERROR_FAIL, messages=captured)
        self._handle: Optional[int] = handle.value
        self._finalizer = weakref.finalize(self, _free_context, self._lib, handle.value,
                                           self._sink)

    # -- lifetime ------------------------------------------------------------------

    @property
    def messages(self) -> List[LogMessage]:
        """What this thread's last call on the context logged."""
        return getattr(self._local, "messages", [])

    @messages.setter
    def messages(self, value: List[LogMessage]) -> None:
        self._local.messages = value

    def close(self) -> None:
        """Free the context (`libxl_ctx_free`), once the calls other threads are making on it
        have returned; later calls raise ValueError. Idempotent."""
        with self._calls_done:
            self._handle = None
            while self._calls:
                self._calls_done.wait()
            self._finalizer()

    @property
    def closed(self) -> bool:
        return self._handle is None

    def __enter__(self) -> "Context":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return "<xlchannel.Context %s>" % ("closed" if self.closed else "open")

    # -- calling the library -------------------------------------------------------

    def _run(self, fn: Callable[[int], object]):
        """Call fn(handle) with the messages it logs recorded in `self.messages`."""
        with self._calls_done:
            handle = self._handle
            if handle is None:
                raise ValueError("operation on a closed xlchannel.Context")
            self._calls += 1
        self._sink.capture = captured = []
        try:
            return fn(handle)
        finally:
            self._sink.capture = None
            self.messages = captured
            with self._calls_done:
                self._calls -= 1
                self._calls_done.notify_all()

    def _call(self, fn: Callable[[int], int]) -> int:
        """As `_run` for a function returning 0 or a libxl_error; raises XlError."""
        rc = self._run(fn)
        if rc < 0:
            raise XlError.from_code(rc, messages=self.messages)
        return rc

    # -- channels ------------------------------------------------------------------

    def add(self, domid: int, channel: Channel) -> Channel:
        """Add a channel to a domain (`libxl_device_channel_add`) and return it as added:
        with the console devid it got (devid -1 picks the first free one >= 1) and its
        backend domain resolved (`backend_domname`, a name or a number)."""
        domid = check_domid(domid)
        if not isinstance(channel, Channel):
            raise TypeError("channel must be a Channel, not %s" % type(channel).__name__)
        c = channel._to_c()
        try:
            self._call(lambda h: self._lib.libxl_device_channel_add(
                h, domid, ctypes.byref(c), None))
            return Channel._from_c(c)
        finally:
            self._lib.libxl_device_channel_dispose(ctypes.byref(c))

    def remove(self, domid: int, channel: Union[Channel, int]) -> None:
        """Unplug a channel from a domain, gracefully (`libxl_device_channel_remove`):
        libxl's removal protocol (the backend goes offline and Closing; a bounded wait for
        the frontend to close), then the chardev in the domain's device model and the
        frontend, backend and /libxl nodes go. All or nothing: when the device model does
        not answer or refuses, XlError is raised and nothing is changed.

        `channel` is the console devid, or the Channel `add` returned (its devid is used),
        not an entry of `list()`, which numbers channels 0, 1, ... . A console the domain
        does not have raises NotFoundError (ERROR_NOTFOUND); devid 0 or below InvalidError."""
        self._unplug(self._lib.libxl_device_channel_remove, domid, channel)

    def destroy(self, domid: int, channel: Union[Channel, int]) -> None:
        """Remove a channel by force (`libxl_device_channel_destroy`): no waiting for the
        frontend; the chardev is removed from the device model when it answers (otherwise a
        warning, in `warnings`), and the nodes go in any case. `channel` and the errors are
        as for `remove`."""
        self._unplug(self._lib.libxl_device_channel_destroy, domid, channel)

    def _unplug(self, fn, domid: int, channel: Union[Channel, int]) -> None:
        domid = check_domid(domid)
        if isinstance(channel, int) and not isinstance(channel, bool):
            channel = Channel(devid=channel)  # Channel checks the devid's range
        if not isinstance(channel, Channel):
            raise TypeError("channel must be a Channel or int, not %s" % type(channel).__name__)
        c = channel._to_c()
        try:
            self._call(lambda h: fn(h, domid, ctypes.byref(c), None))
        finally:
            self._lib.libxl_device_channel_dispose(ctypes.byref(c))

    def list(self, domid: int) -> List[Channel]:
        """The channels of a domain as libxl 4.17 lists them (`libxl_device_channel_list`):
        numbered 0, 1, ... in xenstore order. A domain without channels (or an unknown one,
        as in libxl) gives []. libxl returns no error code: when the library logs an error
        the list failed, and XlError(ERROR_FAIL) is raised with its messages."""
        domid = check_domid(domid)
        num = ctypes.c_int(0)
        array = self._run(lambda h: self._lib.libxl_device_channel_list(
            h, domid, ctypes.byref(num)))
        try:
            channels = [Channel._from_c(array[i]) for i in range(num.value)] if array else []
        finally:
            self._lib.libxl_device_channel_list_free(array, num.value)
        if not array and any(m.level >= XTL_ERROR for m in self.messages):
            raise XlError.from_code(ERROR_FAIL, messages=self.messages)
        return channels

    def info(self, domid: int, channel: Union[Channel, int]) -> ChannelInfo:
        """The state of a channel (`libxl_device_channel_getinfo`): `channel` is an entry of
        `list(domid)`, or its number there (its devid), which is looked up in `list(domid)`
        first, since libxl copies the connection from the entry it is given."""
        domid = check_domid(domid)
        if isinstance(channel, int) and not isinstance(channel, bool):
            number = channel
            channel = next((c for c in self.list(domid) if c.devid == number),
                           Channel(devid=number))
        if not isinstance(channel, Channel):
            raise TypeError("channel must be a Channel or int, not %s" % type(channel).__name__)
        c = channel._to_c()
        info = _native.libxl_channelinfo()
        self._lib.libxl_channelinfo_init(ctypes.byref(info))
        try:
            self._call(lambda h: self._lib.libxl_device_channel_getinfo(
                h, domid, ctypes.byref(c), ctypes.byref(info)))
            return ChannelInfo._from_c(info)
        finally:
            # getinfo may have filled some fields before failing: dispose on every path.
            self._lib.libxl_channelinfo_dispose(ctypes.byref(info))
            self._lib.libxl_device_channel_dispose(ctypes.byref(c))

    # -- xl configuration ----------------------------------------------------------

    def config_channels(self, data: Union[bytes, str],
                        source_name: str = "config") -> ConfigChannels:
        """The channels of an xl config file's text, exactly as `xl create` 4.17 reads them
        (`xlchannel_config_channels`), each with devid -1. xl's warnings are returned (and
        logged); where xl would exit, XlError carries xl's messages (ERROR_FAIL for a file
        that does not parse, ERROR_INVAL for a channel SPEC xl refuses)."""
        if isinstance(data, str):
            data = data.encode(ENCODING, ERRORS)
        if not isinstance(data, (bytes, bytearray)):
            raise TypeError("data must be bytes or str, not %s" % type(data).__name__)
        data = bytes(data)
        source = _c_text("source_name", source_name)
        array = _native.P_CHANNEL()
        num = ctypes.c_int(0)
        try:
            self._call(lambda h: self._lib.xlchannel_config_channels(
                h, source, data, len(data), ctypes.byref(array), ctypes.byref(num)))
            channels = [Channel._from_c(array[i]) for i in range(num.value)] if array else []
        finally:
            self._lib.libxl_device_channel_list_free(array, num.value)
        return ConfigChannels(channels, _warnings(self.messages))

    def config_file(self, path: Union[str, os.PathLike]) -> ConfigChannels:
        """`config_channels` over a file, named in messages as given (as xl does)."""
        with open(path, "rb") as f:
            data = f.read()
        return self.config_channels(data, os.fspath(path))

    def parse_spec(self, spec: str) -> Channel:
        """One channel SPEC (`"connection=socket,name=org.example,path=/run/s"`) as xl 4.17
        reads a string of a config's `channel` list (`xlchannel_channel_parse_spec`).
        Warnings are logged and left in `messages`; a refused SPEC raises XlError
        (ERROR_INVAL) with xl's message."""
        text = _c_text("spec", spec)
        c = _native.libxl_device_channel()
        self._lib.libxl_device_channel_init(ctypes.byref(c))
        try:
            self._call(lambda h: self._lib.xlchannel_channel_parse_spec(
                h, text, ctypes.byref(c)))
            return Channel._from_c(c)
        finally:
            self._lib.libxl_device_channel_dispose(ctypes.byref(c))

    @property
    def warnings(self) -> List[str]:
        """The warnings the last call logged."""
        return _warnings(self.messages)


def _warnings(messages: Sequence[LogMessage]) -> List[str]:
    return [m.text for m in messages if m.level == XTL_WARN]


def _c_text(what: str, value) -> bytes:
    if not isinstance(value, str):
        raise TypeError("%s must be a str, not %s" % (what, type(value).__name__))
    if "\0" in value:
        raise ValueError("%s contains a NUL character" % what)
    return value.encode(ENCODING, ERRORS)
