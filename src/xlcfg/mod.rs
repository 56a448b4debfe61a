//! xl domain configuration files, read exactly as xl 4.17 reads them.
//!
//! Two layers, both pure Rust:
//!
//! * [`Config::parse`] is libxlutil's config reader (the flex scanner and bison grammar of
//!   `tools/libs/util` in Xen 4.17): `key = value` and `key += value` statements ended by a
//!   newline or `;`, numbers, `"double"` and `'single'` quoted strings with libxlutil's escapes,
//!   nested `[ ... ]` lists spanning lines with an optional trailing comma, `#` comments. It
//!   reports the same diagnostics, on the same lines, with the same text, and recovers from
//!   errors where libxlutil recovers (so later errors are reported too), because users compare
//!   them with what xl printed.
//! * [`channels_from_config`] is xl's reading of `channel = [ "SPEC", ... ]`: the channels it
//!   builds, its warnings and its fatal errors with their exit status.
//!
//! Where xl 4.17 crashes (a NUL byte inside a quoted string, an empty channel SPEC) these
//! functions return an error instead. One deliberate difference: xl 4.17 gives channel *i* the
//! devid *i*, which makes channel 0 collide with the guest's primary console 0 (its xenstore
//! nodes are then silently never written). The channels returned here keep devid -1, libxl's
//! "pick one", so domain creation makes channel *i* console *i + 1*.
//!
//! Strings are bytes: xl copies config text into its messages and into libxl's structs
//! verbatim, whatever the encoding.

mod channel;
mod config;
mod diagnostic;
mod lexer;
mod parser;
#[cfg(test)]
mod tests;

pub use channel::{
    channel_from_xl_spec, channels_from_config, channels_from_xl_config, ChannelSpecError,
    XlChannel, XlChannels, XlError, XlFatal, XL_FATAL_EXIT_STATUS,
};
pub use config::{Config, Operation, ParseError, ParseFailure, Setting, Value};
pub use diagnostic::Diagnostic;
