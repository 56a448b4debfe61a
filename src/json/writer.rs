//! A JSON writer that produces exactly the bytes of yajl's beautifying generator as libxl
//! configures it (4-space indent, `": "` after keys, a newline after the top-level value,
//! solidus and non-ASCII bytes written as they are).

/// Where the writer is inside the current container.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Slot {
    /// Nothing written yet at this level (top level, or just after `{` / `[`).
    First,
    /// At least one element (or key/value pair) already written.
    Next,
    /// A key was written; its value comes next.
    Value,
}

pub struct JsonWriter {
    out: Vec<u8>,
    /// One entry per open container, plus the top level.
    slots: Vec<Slot>,
}

impl Default for JsonWriter {
    fn default() -> Self {
        JsonWriter {
            out: Vec::new(),
            slots: vec![Slot::First],
        }
    }
}

const INDENT: &[u8] = b"    ";

impl JsonWriter {
    pub fn new() -> Self {
        Self::default()
    }

    fn depth(&self) -> usize {
        self.slots.len() - 1
    }

    fn indent(&mut self, depth: usize) {
        for _ in 0..depth {
            self.out.extend_from_slice(INDENT);
        }
    }

    /// Separator and indentation before a value or key.
    fn before_item(&mut self) {
        let depth = self.depth();
        let slot = self.slots.last_mut().expect("top level is never popped");
        match *slot {
            Slot::Value => {
                *slot = Slot::Next;
                return;
            }
            Slot::Next => self.out.extend_from_slice(b",\n"),
            Slot::First => *slot = Slot::Next,
        }
        self.indent(depth);
    }

    /// Newline that ends the document after a complete top-level value.
    fn after_value(&mut self) {
        if self.slots.len() == 1 {
            self.out.push(b'\n');
        }
    }

    pub fn key(&mut self, key: &[u8]) {
        self.before_item();
        self.string_body(key);
        self.out.extend_from_slice(b": ");
        *self.slots.last_mut().expect("inside a map") = Slot::Value;
    }

    pub fn string(&mut self, value: &[u8]) {
        self.before_item();
        self.string_body(value);
        self.after_value();
    }

    pub fn integer(&mut self, value: i64) {
        self.before_item();
        self.out.extend_from_slice(value.to_string().as_bytes());
        self.after_value();
    }

    pub fn null(&mut self) {
        self.before_item();
        self.out.extend_from_slice(b"null");
        self.after_value();
    }

    pub fn open_map(&mut self) {
        self.open(b'{');
    }

    pub fn close_map(&mut self) {
        self.close(b'}');
    }

    pub fn open_array(&mut self) {
        self.open(b'[');
    }

    pub fn close_array(&mut self) {
        self.close(b']');
    }

    fn open(&mut self, bracket: u8) {
        self.before_item();
        self.out.push(bracket);
        self.out.push(b'\n');
        self.slots.push(Slot::First);
    }

    fn close(&mut self, bracket: u8) {
        self.slots.pop();
        self.out.push(b'\n');
        let depth = self.depth();
        self.indent(depth);
        self.out.push(bracket);
        self.after_value();
    }

    /// A quoted string with yajl's escapes: the short forms for `"` `\` and five control
    /// characters, `\u00XX` for the other bytes below 0x20, every other byte unchanged.
    fn string_body(&mut self, value: &[u8]) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        self.out.push(b'"');
        for &byte in value {
            match byte {
                b'"' => self.out.extend_from_slice(b"\\\""),
                b'\\' => self.out.extend_from_slice(b"\\\\"),
                b'\n' => self.out.extend_from_slice(b"\\n"),
                b'\r' => self.out.extend_from_slice(b"\\r"),
                b'\t' => self.out.extend_from_slice(b"\\t"),
                0x08 => self.out.extend_from_slice(b"\\b"),
                0x0c => self.out.extend_from_slice(b"\\f"),
                0x00..=0x1f => {
                    self.out.extend_from_slice(b"\\u00");
                    self.out.push(HEX[usize::from(byte >> 4)]);
                    self.out.push(HEX[usize::from(byte & 0xf)]);
                }
                _ => self.out.push(byte),
            }
        }
        self.out.push(b'"');
    }

    pub fn finish(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_nested_map_has_blank_line() {
        let mut w = JsonWriter::new();
        w.open_map();
        w.key(b"a");
        w.open_map();
        w.close_map();
        w.close_map();
        assert_eq!(w.finish(), b"{\n    \"a\": {\n\n    }\n}\n");
    }

    #[test]
    fn pairs_are_separated_and_indented() {
        let mut w = JsonWriter::new();
        w.open_map();
        w.key(b"x");
        w.integer(-1);
        w.key(b"y");
        w.open_map();
        w.key(b"p");
        w.string(b"/a");
        w.close_map();
        w.close_map();
        assert_eq!(
            w.finish(),
            b"{\n    \"x\": -1,\n    \"y\": {\n        \"p\": \"/a\"\n    }\n}\n"
        );
    }

    #[test]
    fn arrays_are_laid_out_like_maps() {
        let mut w = JsonWriter::new();
        w.open_array();
        w.open_map();
        w.key(b"a");
        w.integer(1);
        w.close_map();
        w.open_map();
        w.close_map();
        w.close_array();
        assert_eq!(
            w.finish(),
            b"[\n    {\n        \"a\": 1\n    },\n    {\n\n    }\n]\n"
        );
        let mut w = JsonWriter::new();
        w.open_array();
        w.close_array();
        assert_eq!(w.finish(), b"[\n\n]\n");
    }

    #[test]
    fn top_level_scalars_end_with_newline() {
        let mut w = JsonWriter::new();
        w.null();
        assert_eq!(w.finish(), b"null\n");
        let mut w = JsonWriter::new();
        w.string(b"pty");
        assert_eq!(w.finish(), b"\"pty\"\n");
    }

    #[test]
    fn escapes_match_yajl() {
        let mut w = JsonWriter::new();
        w.string(b"\"\\/\n\r\t\x08\x0c\x01\x1f\x7f\xc3\xa9\xff");
        assert_eq!(
            w.finish(),
            b"\"\\\"\\\\/\\n\\r\\t\\b\\f\\u0001\\u001F\x7f\xc3\xa9\xff\"\n".to_vec()
        );
    }
}
