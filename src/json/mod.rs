//! JSON as libxl reads and writes it through yajl: a byte-exact writer and a parser with
//! yajl's acceptance rules and libxl's value classification.

pub mod parser;
pub mod sink;
pub mod value;
pub mod writer;

pub use parser::{parse, ParseError};
pub use sink::JsonSink;
pub use value::Value;
pub use writer::JsonWriter;
