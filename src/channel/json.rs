//! libxl's JSON form of the channel types, as its IDL generator writes and reads it.
//!
//! Writing: fields equal to their `_init` value are left out (integers at their default,
//! NULL strings); the keyed union is one key `connection.<name>` holding the member's fields,
//! and is left out altogether when the connection value is out of range.

use super::model::{ChannelInfo, Connection, DeviceChannel};
use crate::json::writer::JsonWriter;
use crate::json::JsonSink;
use std::ffi::CString;

fn opt_string<S: JsonSink>(
    w: &mut S,
    key: &str,
    value: &Option<CString>,
) -> std::result::Result<(), S::Error> {
    if let Some(s) = value {
        w.key(key.as_bytes())?;
        w.string(s.as_bytes())?;
    }
    Ok(())
}

fn int_unless<S: JsonSink>(
    w: &mut S,
    key: &str,
    value: i64,
    default: i64,
) -> std::result::Result<(), S::Error> {
    if value != default {
        w.key(key.as_bytes())?;
        w.integer(value)?;
    }
    Ok(())
}

/// The `connection.<name>` key and its map; `path` is the member's one field, if it has one.
fn keyed_union<S: JsonSink>(
    w: &mut S,
    connection: i32,
    path: Option<&Option<CString>>,
) -> std::result::Result<(), S::Error> {
    let Some(connection) = Connection::from_raw(connection) else {
        return Ok(());
    };
    w.key(format!("connection.{}", connection.name()).as_bytes())?;
    w.open_map()?;
    if let Some(path) = path {
        opt_string(w, "path", path)?;
    }
    w.close_map()
}

/// A channel as libxl's generated `libxl_device_channel_gen_json` writes it into `w`.
pub fn write_device_channel<S: JsonSink>(
    w: &mut S,
    c: &DeviceChannel,
) -> std::result::Result<(), S::Error> {
    w.open_map()?;
    int_unless(w, "backend_domid", c.backend_domid.into(), 0)?;
    opt_string(w, "backend_domname", &c.backend_domname)?;
    int_unless(w, "devid", c.devid.into(), -1)?;
    opt_string(w, "name", &c.name)?;
    let path = (c.connection() == Some(Connection::Socket)).then_some(&c.socket_path);
    keyed_union(w, c.connection, path)?;
    w.close_map()
}

/// Channel information as libxl's generated `libxl_channelinfo_gen_json` writes it.
pub fn write_channel_info<S: JsonSink>(
    w: &mut S,
    i: &ChannelInfo,
) -> std::result::Result<(), S::Error> {
    w.open_map()?;
    opt_string(w, "backend", &i.backend)?;
    int_unless(w, "backend_id", i.backend_id.into(), 0)?;
    opt_string(w, "frontend", &i.frontend)?;
    int_unless(w, "frontend_id", i.frontend_id.into(), 0)?;
    int_unless(w, "devid", i.devid.into(), -1)?;
    int_unless(w, "state", i.state.into(), 0)?;
    int_unless(w, "evtch", i.evtch.into(), 0)?;
    int_unless(w, "rref", i.rref.into(), 0)?;
    let path = (i.connection() == Some(Connection::Pty)).then_some(&i.pty_path);
    keyed_union(w, i.connection, path)?;
    w.close_map()
}

/// An enum value alone: its name as a JSON string, or `null` when out of range.
pub fn write_connection<S: JsonSink>(
    w: &mut S,
    connection: i32,
) -> std::result::Result<(), S::Error> {
    match Connection::from_raw(connection) {
        Some(c) => w.string(c.name().as_bytes()),
        None => w.null(),
    }
}

/// Run `write` into a fresh [`JsonWriter`] (which cannot fail) and return its bytes.
fn written(
    write: impl FnOnce(&mut JsonWriter) -> std::result::Result<(), std::convert::Infallible>,
) -> Vec<u8> {
    let mut w = JsonWriter::new();
    let Ok(()) = write(&mut w);
    w.finish()
}

pub fn device_channel_to_json(c: &DeviceChannel) -> Vec<u8> {
    written(|w| write_device_channel(w, c))
}

/// A JSON array of channels, laid out as libxl's generator lays out the `channels` array of
/// a domain config (yajl's beautified form, here at the top level: an empty array is
/// `[`, a blank line, `]`).
pub fn device_channels_to_json(channels: &[DeviceChannel]) -> Vec<u8> {
    written(|w| {
        JsonSink::open_array(w)?;
        for c in channels {
            write_device_channel(w, c)?;
        }
        JsonSink::close_array(w)
    })
}

pub fn channel_info_to_json(i: &ChannelInfo) -> Vec<u8> {
    written(|w| write_channel_info(w, i))
}

pub fn connection_to_json(connection: i32) -> Vec<u8> {
    written(|w| write_connection(w, connection))
}

// ---- reading ----
//
// libxl initialises the struct, parses the text into a tree, then for each field takes the
// first entry with its key:
// an entry of the wrong JSON type is ignored, an integer outside the field's range fails the
// whole parse, `null` leaves a string NULL. The keyed union is looked up member by member in
// enum order as `connection.<name>` (a map); selecting a second member fails, where libxl
// aborts on an assertion.

use crate::error::{Error, Result};
use crate::json::{self, Value};

fn parse_document(text: &[u8], type_name: &str) -> Result<Value> {
    json::parse(text).map_err(|e| Error::Fail(format!("unable to parse JSON for {type_name}: {e}")))
}

fn int_field(doc: &Value, key: &str, range: std::ops::RangeInclusive<i64>) -> Result<Option<i64>> {
    match doc.get(key.as_bytes()) {
        Some(Value::Integer(i)) if range.contains(i) => Ok(Some(*i)),
        Some(Value::Integer(i)) => Err(Error::Fail(format!("{key}: {i} is out of range"))),
        _ => Ok(None),
    }
}

/// A string field: `Some(None)` for JSON null.
fn string_field(doc: &Value, key: &str) -> Option<Option<CString>> {
    match doc.get(key.as_bytes()) {
        Some(Value::String(s)) => Some(Some(
            CString::new(s.as_slice()).expect("the parser cuts strings at NUL"),
        )),
        Some(Value::Null) => Some(None),
        _ => None,
    }
}

fn set_string(doc: &Value, key: &str, slot: &mut Option<CString>) {
    if let Some(value) = string_field(doc, key) {
        *slot = value;
    }
}

const INT_RANGE: std::ops::RangeInclusive<i64> = (i32::MIN as i64)..=(i32::MAX as i64);
const UINT32_RANGE: std::ops::RangeInclusive<i64> = 0..=(u32::MAX as i64);

/// Select union members found in `doc`; returns the member map of the last one selected.
fn keyed_union_from<'a>(doc: &'a Value, connection: &mut i32) -> Result<Option<&'a Value>> {
    let mut member = None;
    for c in Connection::ALL {
        let key = format!("connection.{}", c.name());
        let Some(map @ Value::Map(_)) = doc.get(key.as_bytes()) else {
            continue;
        };
        if *connection != Connection::Unknown as i32 {
            return Err(Error::Fail(format!(
                "{key}: the connection is already {}",
                Connection::from_raw(*connection).map_or("out of range", Connection::name)
            )));
        }
        *connection = c as i32;
        member = Some(map);
    }
    Ok(member)
}

/// A channel from libxl's JSON, starting from `_init`'s defaults.
pub fn device_channel_from_json(text: &[u8]) -> Result<DeviceChannel> {
    let doc = parse_document(text, "libxl_device_channel")?;
    let mut c = DeviceChannel::default();
    apply_device_channel(&doc, &mut c)?;
    Ok(c)
}

/// Read a parsed JSON value onto `c` as libxl's `libxl__device_channel_parse_json` does:
/// only the fields present change. A value that is not a map changes nothing. On error `c`
/// is unchanged.
pub fn apply_device_channel(doc: &Value, target: &mut DeviceChannel) -> Result<()> {
    let mut c = target.clone();
    if let Some(v) = int_field(doc, "backend_domid", UINT32_RANGE)? {
        c.backend_domid = v as u32;
    }
    set_string(doc, "backend_domname", &mut c.backend_domname);
    if let Some(v) = int_field(doc, "devid", INT_RANGE)? {
        c.devid = v as i32;
    }
    set_string(doc, "name", &mut c.name);
    if let Some(member) = keyed_union_from(doc, &mut c.connection)? {
        if c.connection() == Some(Connection::Socket) {
            set_string(member, "path", &mut c.socket_path);
        }
    }
    *target = c;
    Ok(())
}

/// Channel information from libxl's JSON, starting from `_init`'s defaults.
pub fn channel_info_from_json(text: &[u8]) -> Result<ChannelInfo> {
    let doc = parse_document(text, "libxl_channelinfo")?;
    let mut i = ChannelInfo::default();
    apply_channel_info(&doc, &mut i)?;
    Ok(i)
}

/// Read a parsed JSON value onto `i` as libxl's `libxl__channelinfo_parse_json` does (see
/// [`apply_device_channel`]).
pub fn apply_channel_info(doc: &Value, target: &mut ChannelInfo) -> Result<()> {
    let mut i = target.clone();
    set_string(doc, "backend", &mut i.backend);
    if let Some(v) = int_field(doc, "backend_id", UINT32_RANGE)? {
        i.backend_id = v as u32;
    }
    set_string(doc, "frontend", &mut i.frontend);
    if let Some(v) = int_field(doc, "frontend_id", UINT32_RANGE)? {
        i.frontend_id = v as u32;
    }
    for (key, slot) in [
        ("devid", &mut i.devid),
        ("state", &mut i.state),
        ("evtch", &mut i.evtch),
        ("rref", &mut i.rref),
    ] {
        if let Some(v) = int_field(doc, key, INT_RANGE)? {
            *slot = v as i32;
        }
    }
    if let Some(member) = keyed_union_from(doc, &mut i.connection)? {
        if i.connection() == Some(Connection::Pty) {
            set_string(member, "path", &mut i.pty_path);
        }
    }
    *target = i;
    Ok(())
}

/// An enum value alone: a JSON string naming it (any case).
pub fn connection_from_json(text: &[u8]) -> Result<Connection> {
    connection_from_value(&parse_document(text, "libxl_channel_connection")?)
}

/// An enum value from a parsed JSON value: a string naming it (any case).
pub fn connection_from_value(doc: &Value) -> Result<Connection> {
    match doc {
        Value::String(s) => Connection::from_name(s).ok_or_else(|| {
            Error::Fail(format!(
                "unknown channel connection {:?}",
                String::from_utf8_lossy(s)
            ))
        }),
        _ => Err(Error::Fail(
            "libxl_channel_connection JSON must be a string".into(),
        )),
    }
}
