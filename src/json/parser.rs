//! A JSON parser that accepts exactly what yajl 2 accepts as libxl configures it (no comments,
//! UTF-8 checked, and anything after the first complete value ignored), and builds the tree
//! libxl would build from it.
//!
//! It is iterative, so hostile nesting depth costs heap, never stack, and it refuses nesting
//! deeper than [`MAX_DEPTH`], so that heap stays proportional to the input with a small
//! factor (each open container costs far more than its one byte).

use super::value::Value;

/// The deepest nesting of arrays and maps accepted (a top-level container is depth 1).
/// libxl 4.17's yajl has no limit and reads any depth in time quadratic in it (Debian's
/// libxenlight: 131072 levels in 23 s, 262144 in 381 s); libxl's own JSON nests 3 levels.
/// A listed divergence (c-tests/compare/divergences).
pub const MAX_DEPTH: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub message: &'static str,
}

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

/// A container being filled.
enum Open {
    Array(Vec<Value>),
    /// Entries so far and the key waiting for its value.
    Map(Vec<(Vec<u8>, Value)>, Option<Vec<u8>>),
}

struct Lexer<'a> {
    s: &'a [u8],
    pos: usize,
    /// libxl converts numbers with strtoll/strtod and tests `errno == ERANGE` without
    /// clearing errno first: once a conversion has hit ERANGE, later exact LLONG_MAX or
    /// LLONG_MIN literals are taken for overflows too.
    erange: bool,
}

impl<'a> Lexer<'a> {
    fn err<T>(&self, message: &'static str) -> Result<T, ParseError> {
        Err(ParseError {
            offset: self.pos,
            message,
        })
    }

    /// yajl's whitespace includes vertical tab and form feed.
    fn skip_ws(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) = self.s.get(self.pos) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn literal(&mut self, word: &'static [u8], value: Value) -> Result<Value, ParseError> {
        for &expected in word {
            match self.peek() {
                Some(c) if c == expected => self.pos += 1,
                Some(_) => return self.err("invalid string in json text"),
                None => return self.err("premature EOF"),
            }
        }
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<Value, ParseError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            Some(_) => {
                return self.err("malformed number, a digit is required after the minus sign")
            }
            None => return self.err("premature EOF"),
        }
        if self.peek() == Some(b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return self.err("malformed number, a digit is required after the decimal point");
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return self.err("malformed number, a digit is required after the exponent");
            }
        }
        Ok(classify_number(&self.s[start..self.pos], &mut self.erange))
    }

    /// One UTF-8 sequence as yajl checks it: the lead byte's shape decides the length and
    /// each continuation byte must be 10xxxxxx (no overlong or range checks, like yajl).
    fn utf8_sequence(&mut self) -> Result<(), ParseError> {
        let lead = self.s[self.pos];
        let continuation = match lead {
            _ if lead >> 5 == 0b110 => 1,
            _ if lead >> 4 == 0b1110 => 2,
            _ if lead >> 3 == 0b11110 => 3,
            _ => return self.err("invalid bytes in UTF8 string."),
        };
        self.pos += 1;
        for _ in 0..continuation {
            match self.peek() {
                Some(c) if c >> 6 == 0b10 => self.pos += 1,
                Some(_) => return self.err("invalid bytes in UTF8 string."),
                None => return self.err("premature EOF"),
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, ParseError> {
        let mut value = 0;
        for _ in 0..4 {
            let digit = match self.peek() {
                Some(c) => (c as char).to_digit(16),
                None => return self.err("premature EOF"),
            };
            let Some(d) = digit else {
                return self.err("invalid (non-hex) character occurs after '\\u' inside string.");
            };
            value = value * 16 + d;
            self.pos += 1;
        }
        Ok(value)
    }

    /// A string token (the opening quote already consumed), decoded as yajl decodes it.
    fn string(&mut self) -> Result<Vec<u8>, ParseError> {
        let mut out = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return self.err("premature EOF");
            };
            match c {
                b'"' => {
                    self.pos += 1;
                    // libxl stores every string, keys included, as a C string.
                    if let Some(nul) = out.iter().position(|&b| b == 0) {
                        out.truncate(nul);
                    }
                    return Ok(out);
                }
                b'\\' => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                0x00..=0x1f => return self.err("invalid character inside string."),
                0x80..=0xff => {
                    let start = self.pos;
                    self.utf8_sequence()?;
                    out.extend_from_slice(&self.s[start..self.pos]);
                }
                _ => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }

    fn escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let Some(c) = self.peek() else {
            return self.err("premature EOF");
        };
        self.pos += 1;
        let byte = match c {
            b'"' | b'\\' | b'/' => c,
            b'b' => 0x08,
            b'f' => 0x0c,
            b'n' => b'\n',
            b'r' => b'\r',
            b't' => b'\t',
            b'u' => return self.unicode_escape(out),
            _ => {
                self.pos -= 1;
                return self
                    .err("inside a string, '\\' occurs before a character which it may not.");
            }
        };
        out.push(byte);
        Ok(())
    }

    /// `\uXXXX`, combined with a following `\uXXXX` when the first is a high surrogate.
    /// yajl writes `?` for a high surrogate with no escape after it; the pair formula is
    /// yajl's, used even for a bad low half.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> Result<(), ParseError> {
        let mut codepoint = self.hex4()?;
        if codepoint & 0xfc00 == 0xd800 {
            if self.s.get(self.pos..self.pos + 2) == Some(b"\\u") {
                self.pos += 2;
                let low = self.hex4()?;
                codepoint = ((codepoint & 0x3f) << 10)
                    | ((((codepoint >> 6) & 0xf) + 1) << 16)
                    | (low & 0x3ff);
            } else {
                out.push(b'?');
                return Ok(());
            }
        }
        push_utf8(out, codepoint);
        Ok(())
    }
}

/// yajl's UTF-32 to UTF-8 conversion, `?` beyond 21 bits.
fn push_utf8(out: &mut Vec<u8>, cp: u32) {
    match cp {
        0..=0x7f => out.push(cp as u8),
        0x80..=0x7ff => out.extend_from_slice(&[0xc0 | (cp >> 6) as u8, 0x80 | (cp & 0x3f) as u8]),
        0x800..=0xffff => out.extend_from_slice(&[
            0xe0 | (cp >> 12) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]),
        0x10000..=0x1fffff => out.extend_from_slice(&[
            0xf0 | (cp >> 18) as u8,
            0x80 | ((cp >> 12) & 0x3f) as u8,
            0x80 | ((cp >> 6) & 0x3f) as u8,
            0x80 | (cp & 0x3f) as u8,
        ]),
        _ => out.push(b'?'),
    }
}

/// libxl's classification of a number token (checked against the real library): a `.` makes
/// a double (kept as text when it overflows to +inf); anything else is read by `strtoll`,
/// which stops at the exponent (so `1e2` is the integer 1) and is kept as text when out of
/// range. `erange` is the sticky errno described at [`Lexer::erange`].
fn classify_number(text: &[u8], erange: &mut bool) -> Value {
    let s = std::str::from_utf8(text).expect("number tokens are ASCII");
    if text.contains(&b'.') {
        let d: f64 = s.parse().expect("a lexed number token parses as f64");
        let nonzero_digits = text
            .iter()
            .take_while(|b| !matches!(b, b'e' | b'E'))
            .any(|b| matches!(b, b'1'..=b'9'));
        // strtod reports ERANGE on overflow, and on underflow to zero or a subnormal.
        *erange |= d.is_infinite() || (nonzero_digits && d.abs() < f64::MIN_POSITIVE);
        return if d == f64::INFINITY && *erange {
            Value::Number(text.to_vec())
        } else {
            Value::Double(d)
        };
    }
    let integer = s
        .split(['e', 'E'])
        .next()
        .expect("split yields at least one piece");
    match integer.parse::<i64>() {
        Ok(i) if *erange && (i == i64::MAX || i == i64::MIN) => Value::Number(text.to_vec()),
        Ok(i) => Value::Integer(i),
        Err(_) => {
            *erange = true;
            Value::Number(text.to_vec())
        }
    }
}

/// Parse a whole document.
pub fn parse(s: &[u8]) -> Result<Value, ParseError> {
    let mut lx = Lexer {
        s,
        pos: 0,
        erange: false,
    };
    let mut stack: Vec<Open> = Vec::new();
    loop {
        lx.skip_ws();
        // A value, or the end of the container that was just opened.
        let Some(c) = lx.peek() else {
            return lx.err("premature EOF");
        };
        let mut value = match c {
            b'{' | b'[' => {
                if stack.len() >= MAX_DEPTH {
                    return lx.err("nesting too deep");
                }
                lx.pos += 1;
                lx.skip_ws();
                let close = if c == b'{' { b'}' } else { b']' };
                if lx.peek() == Some(close) {
                    lx.pos += 1;
                    if c == b'{' {
                        Value::Map(Vec::new())
                    } else {
                        Value::Array(Vec::new())
                    }
                } else if c == b'{' {
                    let key = map_key(&mut lx)?;
                    // Capacity 1: a deep chain of one-child containers costs one slot a level.
                    stack.push(Open::Map(Vec::with_capacity(1), Some(key)));
                    continue;
                } else {
                    stack.push(Open::Array(Vec::with_capacity(1)));
                    continue;
                }
            }
            b'"' => {
                lx.pos += 1;
                Value::String(lx.string()?)
            }
            b't' => lx.literal(b"true", Value::Bool(true))?,
            b'f' => lx.literal(b"false", Value::Bool(false))?,
            b'n' => lx.literal(b"null", Value::Null)?,
            b'-' | b'0'..=b'9' => lx.number()?,
            b'}' | b']' | b',' | b':' => {
                return lx.err("unallowed token at this point in JSON text")
            }
            _ => return lx.err("invalid char in json text."),
        };
        // Attach the value, closing every container it completes.
        loop {
            match stack.last_mut() {
                None => return Ok(value),
                Some(Open::Array(items)) => {
                    items.push(value);
                    lx.skip_ws();
                    match lx.peek() {
                        Some(b',') => {
                            lx.pos += 1;
                            break;
                        }
                        Some(b']') => lx.pos += 1,
                        Some(_) => return lx.err("after array element, I expect ',' or ']'"),
                        None => return lx.err("premature EOF"),
                    }
                }
                Some(Open::Map(entries, key)) => {
                    entries.push((key.take().expect("a key precedes every value"), value));
                    lx.skip_ws();
                    match lx.peek() {
                        Some(b',') => {
                            lx.pos += 1;
                            *key = Some(map_key(&mut lx)?);
                            break;
                        }
                        Some(b'}') => lx.pos += 1,
                        Some(_) => {
                            return lx.err("after key and value, inside map, I expect ',' or '}'")
                        }
                        None => return lx.err("premature EOF"),
                    }
                }
            }
            value = match stack.pop().expect("matched a container above") {
                Open::Array(items) => Value::Array(items),
                Open::Map(entries, _) => Value::Map(entries),
            };
        }
    }
}

/// A map key and the colon after it.
fn map_key(lx: &mut Lexer<'_>) -> Result<Vec<u8>, ParseError> {
    lx.skip_ws();
    match lx.peek() {
        Some(b'"') => lx.pos += 1,
        Some(_) => return lx.err("invalid object key (must be a string)"),
        None => return lx.err("premature EOF"),
    }
    let key = lx.string()?;
    lx.skip_ws();
    match lx.peek() {
        Some(b':') => {
            lx.pos += 1;
            Ok(key)
        }
        Some(_) => lx.err("object key and value must be separated by a colon (':')"),
        None => lx.err("premature EOF"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Value {
        parse(s.as_bytes()).unwrap_or_else(|e| panic!("{s:?}: {e}"))
    }

    fn bad(s: &[u8]) -> &'static str {
        parse(s).expect_err("must fail").message
    }

    #[test]
    fn scalars_and_containers() {
        assert_eq!(ok(" null "), Value::Null);
        assert_eq!(ok("-0"), Value::Integer(0));
        assert_eq!(ok("1.5e1"), Value::Double(15.0));
        assert_eq!(
            ok("99999999999999999999"),
            Value::Number(b"99999999999999999999".to_vec())
        );
        assert_eq!(ok("1e999"), Value::Integer(1));
        assert_eq!(ok("1.0e999"), Value::Number(b"1.0e999".to_vec()));
        assert_eq!(ok("1E400"), Value::Integer(1));
        assert_eq!(ok("-2E+1"), Value::Integer(-2));
        assert_eq!(ok("1.5E1"), Value::Double(15.0));
        assert_eq!(
            ok("[9223372036854775807, 1e-400, 9223372036854775807]"),
            Value::Array(vec![
                Value::Integer(i64::MAX),
                Value::Integer(1),
                Value::Integer(i64::MAX)
            ])
        );
        assert_eq!(
            ok("[1.0e-400, -9223372036854775808]"),
            Value::Array(vec![
                Value::Double(0.0),
                Value::Number(b"-9223372036854775808".to_vec())
            ])
        );
        assert_eq!(ok("\"a\\u0000b\""), Value::String(b"a".to_vec()));
        assert_eq!(ok("{} } [ junk \u{1}"), Value::Map(vec![]));
        assert_eq!(ok("[]"), Value::Array(vec![]));
        assert_eq!(
            ok("{\"a\": [1, {}], \"a\": true}"),
            Value::Map(vec![
                (
                    b"a".to_vec(),
                    Value::Array(vec![Value::Integer(1), Value::Map(vec![])])
                ),
                (b"a".to_vec(), Value::Bool(true)),
            ])
        );
        assert_eq!(ok("\t\x0b\x0c\r\n{}"), Value::Map(vec![]));
    }

    #[test]
    fn strings_decode_like_yajl() {
        assert_eq!(
            ok(r#""\u00e9\/\"""#),
            Value::String("é/\"".as_bytes().to_vec())
        );
        assert_eq!(
            ok(r#""\ud83d\ude00""#),
            Value::String("😀".as_bytes().to_vec())
        );
        assert_eq!(ok(r#""\ud800xy""#), Value::String(b"?xy".to_vec()));
        assert_eq!(ok(r#""\udc00""#), Value::String(vec![0xed, 0xb0, 0x80]));
        assert_eq!(parse(b"\"\xc0\x80\""), Ok(Value::String(vec![0xc0, 0x80])));
    }

    #[test]
    fn rejects_what_yajl_rejects() {
        assert_eq!(bad(b""), "premature EOF");
        assert_eq!(bad(b"[1,]"), "unallowed token at this point in JSON text");
        assert_eq!(
            bad(b"{\"a\" 1}"),
            "object key and value must be separated by a colon (':')"
        );
        assert_eq!(bad(b"{1: 2}"), "invalid object key (must be a string)");
        assert_eq!(bad(b"\"a\x01\""), "invalid character inside string.");
        assert_eq!(bad(b"\"\xff\""), "invalid bytes in UTF8 string.");
        assert_eq!(
            bad(b"\"\\x\""),
            "inside a string, '\\' occurs before a character which it may not."
        );
        assert_eq!(bad(b"/* c */ {}"), "invalid char in json text.");
        assert_eq!(
            bad(b"1."),
            "malformed number, a digit is required after the decimal point"
        );
        assert_eq!(bad(b"nul"), "premature EOF");
    }

    /// `depth` nested containers, alternating arrays and maps, around `inner`.
    fn nested(depth: usize, inner: &str) -> String {
        let open: String = (0..depth).map(|i| if i % 2 == 0 { "[" } else { "{\"k\": " }).collect();
        let close: String = (0..depth).rev().map(|i| if i % 2 == 0 { "]" } else { "}" }).collect();
        open + inner + &close
    }

    #[test]
    fn nesting_is_bounded_and_uses_no_stack() {
        assert!(matches!(ok(&nested(MAX_DEPTH, "1")), Value::Array(_)));
        assert!(matches!(ok(&nested(MAX_DEPTH - 1, "[]")), Value::Array(_)));
        assert!(matches!(ok(&nested(MAX_DEPTH - 1, "{}")), Value::Array(_)));
        // The container deeper than MAX_DEPTH is refused where it opens.
        let too_deep = nested(MAX_DEPTH, "{}");
        let error = parse(too_deep.as_bytes()).expect_err("too deep");
        assert_eq!(error.message, "nesting too deep");
        assert_eq!(&too_deep.as_bytes()[error.offset..error.offset + 1], b"{");
        let error = parse("[".repeat(MAX_DEPTH + 1).as_bytes()).expect_err("too deep");
        assert_eq!((error.message, error.offset), ("nesting too deep", MAX_DEPTH));
        assert_eq!(bad("[".repeat(MAX_DEPTH).as_bytes()), "premature EOF");
        // A refused document of any size costs no more than the limit's worth of nesting.
        assert_eq!(
            bad("[".repeat(5_000_000).as_bytes()),
            "nesting too deep"
        );
    }
}
