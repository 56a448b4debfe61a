//! Inside libxenlight only: libxl's `libxl__<type>_parse_json` for the channel types, which
//! libxl's generated code calls with its own parsed JSON tree (the `channels` of a domain
//! config read back from JSON). The tree is read through the C glue's accessors
//! (libxl/glue/), turned into this library's [`Value`] and read by the same rules as
//! `_from_json`.

use super::boundary::ffi_boundary;
use super::idl::IdlStruct;
use super::types::*;
use crate::channel::json;
use crate::error::{code, Result};
use crate::json::Value;
use libc::{c_char, c_int};
use std::ffi::CStr;
use std::ptr;

/// libxl's `libxl__json_object`; only ever handled by pointer.
#[repr(C)]
pub struct libxl__json_object {
    _opaque: [u8; 0],
}

/// libxl's `libxl__gc`; the channel rules allocate nothing in it.
#[repr(C)]
pub struct libxl__gc {
    _opaque: [u8; 0],
}

/// `libxl__json_node_type` (the glue asserts these values at compile time).
const JSON_NULL: c_int = 1 << 0;
const JSON_BOOL: c_int = 1 << 1;
const JSON_INTEGER: c_int = 1 << 2;
const JSON_DOUBLE: c_int = 1 << 3;
const JSON_NUMBER: c_int = 1 << 4;
const JSON_STRING: c_int = 1 << 5;
const JSON_MAP: c_int = 1 << 6;
const JSON_ARRAY: c_int = 1 << 7;

extern "C" {
    fn xlchannel_glue_json_type(o: *const libxl__json_object) -> c_int;
    fn xlchannel_glue_json_bool(o: *const libxl__json_object) -> c_int;
    fn xlchannel_glue_json_integer(o: *const libxl__json_object) -> i64;
    fn xlchannel_glue_json_double(o: *const libxl__json_object) -> f64;
    /// The text of a string or number node.
    fn xlchannel_glue_json_string(o: *const libxl__json_object) -> *const c_char;
    /// Element `i` of an array, NULL past the end.
    fn xlchannel_glue_json_array_get(
        o: *const libxl__json_object,
        i: c_int,
    ) -> *const libxl__json_object;
    /// Entry `i` of a map (its key in `*key`), NULL past the end.
    fn xlchannel_glue_json_map_get(
        o: *const libxl__json_object,
        i: c_int,
        key: *mut *const c_char,
    ) -> *const libxl__json_object;
}

/// How deep the channel rules look: the fields of the struct (depth 1) and of the keyed
/// union's member (depth 2). A container found deeper keeps its kind but not its contents,
/// so hostile nesting costs nothing and recursion stays bounded.
const RULES_DEPTH: usize = 2;

fn bytes(p: *const c_char) -> Vec<u8> {
    if p.is_null() {
        return Vec::new();
    }
    // SAFETY: the glue returns libxl's NUL-terminated strings.
    unsafe { CStr::from_ptr(p) }.to_bytes().to_vec()
}

/// libxl's node `o` as a [`Value`], down to `RULES_DEPTH` levels below `depth`.
///
/// # Safety
/// `o` is a node of a live libxl JSON tree.
unsafe fn value_of(o: *const libxl__json_object, depth: usize) -> Value {
    let deeper = depth < RULES_DEPTH;
    // SAFETY: `o`, and every node reached from it, belongs to a live libxl tree (this
    // function's contract); the glue's accessors only read nodes.
    unsafe {
        match xlchannel_glue_json_type(o) {
            JSON_BOOL => Value::Bool(xlchannel_glue_json_bool(o) != 0),
            JSON_INTEGER => Value::Integer(xlchannel_glue_json_integer(o)),
            JSON_DOUBLE => Value::Double(xlchannel_glue_json_double(o)),
            JSON_NUMBER => Value::Number(bytes(xlchannel_glue_json_string(o))),
            JSON_STRING => Value::String(bytes(xlchannel_glue_json_string(o))),
            JSON_ARRAY => Value::Array(if deeper {
                (0..)
                    .map_while(|i| {
                        let item = xlchannel_glue_json_array_get(o, i);
                        (!item.is_null()).then(|| value_of(item, depth + 1))
                    })
                    .collect()
            } else {
                Vec::new()
            }),
            JSON_MAP => Value::Map(if deeper {
                (0..)
                    .map_while(|i| {
                        let mut key = ptr::null();
                        let item = xlchannel_glue_json_map_get(o, i, &mut key);
                        (!item.is_null()).then(|| (bytes(key), value_of(item, depth + 1)))
                    })
                    .collect()
            } else {
                Vec::new()
            }),
            JSON_NULL => Value::Null,
            // libxl builds no other kind of node.
            _ => Value::Null,
        }
    }
}

/// Apply the rules to `*p` as libxl's generated parse function does: the fields present in
/// `o` change (their old strings are freed), the others stay. On error `*p` is unchanged.
///
/// # Safety
/// `o` is NULL or a node of a live libxl JSON tree; `p` is NULL or initialised.
unsafe fn parse_onto<T: IdlStruct>(
    o: *const libxl__json_object,
    p: *mut T,
    apply: impl FnOnce(&Value, &mut T::Model) -> Result<()>,
) -> c_int {
    // SAFETY: `p` is NULL or initialised (this function's contract).
    let Some(target) = (unsafe { p.as_mut() }) else {
        return code::ERROR_INVAL;
    };
    if o.is_null() {
        return code::ERROR_INVAL;
    }
    // SAFETY: `target` is initialised; `o` is a node of a live tree (the contract).
    let (mut model, doc) = unsafe { (target.read(), value_of(o, 0)) };
    let stored = apply(&doc, &mut model).and_then(|()| {
        // SAFETY: the old contents are copied out before `store` overwrites them, and their
        // strings freed once afterwards.
        unsafe {
            let mut old = ptr::read(p);
            T::store(&model, p)?;
            old.free_strings();
        }
        Ok(())
    });
    match stored {
        Ok(()) => 0,
        Err(e) => e.code(),
    }
}

/// libxl's `libxl__device_channel_parse_json`.
///
/// # Safety
/// `o` is NULL or a node of a live libxl JSON tree; `p` is NULL or initialised.
#[no_mangle]
pub unsafe extern "C" fn libxl__device_channel_parse_json(
    _gc: *mut libxl__gc,
    o: *const libxl__json_object,
    p: *mut libxl_device_channel,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { parse_onto(o, p, json::apply_device_channel) }
    })
}

/// libxl's `libxl__channelinfo_parse_json`.
///
/// # Safety
/// As `libxl__device_channel_parse_json`.
#[no_mangle]
pub unsafe extern "C" fn libxl__channelinfo_parse_json(
    _gc: *mut libxl__gc,
    o: *const libxl__json_object,
    p: *mut libxl_channelinfo,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: the pointers are as this function's contract says.
        unsafe { parse_onto(o, p, json::apply_channel_info) }
    })
}

/// libxl's `libxl__channel_connection_parse_json`: a string naming a connection (any case);
/// -1 for a node that is not a string, ERROR_FAIL for an unknown name, as libxl returns.
///
/// # Safety
/// `o` is NULL or a node of a live libxl JSON tree; `p` is NULL or writable.
#[no_mangle]
pub unsafe extern "C" fn libxl__channel_connection_parse_json(
    _gc: *mut libxl__gc,
    o: *const libxl__json_object,
    p: *mut ChannelConnectionValue,
) -> c_int {
    ffi_boundary!(code::ERROR_FAIL, {
        // SAFETY: `p` is NULL or writable (this function's contract).
        let Some(p) = (unsafe { p.as_mut() }) else {
            return code::ERROR_INVAL;
        };
        // SAFETY: `o` is NULL or a node of a live libxl tree (this function's contract).
        if o.is_null() || unsafe { xlchannel_glue_json_type(o) } != JSON_STRING {
            return -1;
        }
        // SAFETY: as above.
        match json::connection_from_value(&unsafe { value_of(o, 0) }) {
            Ok(c) => {
                *p = c as c_int;
                0
            }
            Err(e) => e.code(),
        }
    })
}
