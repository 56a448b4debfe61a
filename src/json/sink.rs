//! What writes JSON: the byte-exact [`JsonWriter`] of this library, or (in `ffi::yajl`) the
//! caller's own yajl generator, so that a channel written into libxl's generator (inside
//! `libxl_domain_config_to_json`) takes the same calls as libxl's generated code makes.

use super::writer::JsonWriter;
use std::convert::Infallible;

/// The generator calls libxl's IDL code makes; each may fail with the generator's status.
pub trait JsonSink {
    type Error;
    fn open_map(&mut self) -> Result<(), Self::Error>;
    fn close_map(&mut self) -> Result<(), Self::Error>;
    fn open_array(&mut self) -> Result<(), Self::Error>;
    fn close_array(&mut self) -> Result<(), Self::Error>;
    /// A map key (yajl writes keys as strings).
    fn key(&mut self, key: &[u8]) -> Result<(), Self::Error>;
    fn string(&mut self, value: &[u8]) -> Result<(), Self::Error>;
    fn integer(&mut self, value: i64) -> Result<(), Self::Error>;
    fn null(&mut self) -> Result<(), Self::Error>;
}

impl JsonSink for JsonWriter {
    type Error = Infallible;
    fn open_map(&mut self) -> Result<(), Infallible> {
        JsonWriter::open_map(self);
        Ok(())
    }
    fn close_map(&mut self) -> Result<(), Infallible> {
        JsonWriter::close_map(self);
        Ok(())
    }
    fn open_array(&mut self) -> Result<(), Infallible> {
        JsonWriter::open_array(self);
        Ok(())
    }
    fn close_array(&mut self) -> Result<(), Infallible> {
        JsonWriter::close_array(self);
        Ok(())
    }
    fn key(&mut self, key: &[u8]) -> Result<(), Infallible> {
        JsonWriter::key(self, key);
        Ok(())
    }
    fn string(&mut self, value: &[u8]) -> Result<(), Infallible> {
        JsonWriter::string(self, value);
        Ok(())
    }
    fn integer(&mut self, value: i64) -> Result<(), Infallible> {
        JsonWriter::integer(self, value);
        Ok(())
    }
    fn null(&mut self) -> Result<(), Infallible> {
        JsonWriter::null(self);
        Ok(())
    }
}
