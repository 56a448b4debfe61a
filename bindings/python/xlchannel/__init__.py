"""Python bindings for xlchannel: Xen channels through libxl 4.17's C ABI.

    import xlchannel
    with xlchannel.Context() as ctx:
        ch = ctx.add(7, xlchannel.Channel("org.example.agent", xlchannel.Connection.SOCKET,
                                          path="/run/agent.sock"))
        for c in ctx.list(7):
            print(c.name, ctx.info(7, c).state)

The library is found through $XLCHANNEL_LIB, then the build tree (the one this package sits
in, or else the current directory's), then an installed one (soname, then where `make
install` puts it); it is loaded (and its struct layout checked) at first use, not at import.
"""

from .context import ConfigChannels, Context
from .errors import (ERROR_CODES, DeviceExistsError, DomainNotFoundError, FailError,
                     InvalidError, LayoutMismatchError, LibraryNotFoundError, LogMessage,
                     NoMemoryError, NotFoundError, NotSupportedError, TimedOutError, VersionError,
                     XlError)
from .errors import (ERROR_DEVICE_EXISTS, ERROR_DOMAIN_NOTFOUND, ERROR_FAIL, ERROR_INVAL,
                     ERROR_NI, ERROR_NOTFOUND, ERROR_TIMEDOUT, ERROR_VERSION)
from .guest import open_channel
from .types import Channel, ChannelInfo, Connection

__version__ = "0.1.0"


def library_path() -> str:
    """The path (or soname) of the loaded libxlchannel, loading it if needed."""
    from . import _native

    return _native.lib().path


__all__ = [
    "Channel", "ChannelInfo", "ConfigChannels", "Connection", "Context", "DeviceExistsError",
    "DomainNotFoundError", "ERROR_CODES", "ERROR_DEVICE_EXISTS", "ERROR_DOMAIN_NOTFOUND",
    "ERROR_FAIL", "ERROR_INVAL", "ERROR_NI", "ERROR_NOTFOUND", "ERROR_TIMEDOUT", "ERROR_VERSION",
    "FailError",
    "InvalidError", "LayoutMismatchError", "LibraryNotFoundError", "LogMessage",
    "NoMemoryError", "NotFoundError", "NotSupportedError", "TimedOutError", "VersionError",
    "XlError", "library_path", "open_channel",
]
