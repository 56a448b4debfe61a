//! One line of what xl writes to stderr.

use std::borrow::Cow;
use std::fmt;

/// A message line as xl prints it, without its newline. Bytes rather than `str`: xl quotes
/// config text verbatim, so a message can carry any byte but NUL.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic(Vec<u8>);

impl Diagnostic {
    pub(crate) fn new(bytes: Vec<u8>) -> Diagnostic {
        Diagnostic(bytes)
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn to_string_lossy(&self) -> Cow<'_, str> {
        String::from_utf8_lossy(&self.0)
    }
}

impl From<String> for Diagnostic {
    fn from(text: String) -> Diagnostic {
        Diagnostic(text.into_bytes())
    }
}

impl PartialEq<str> for Diagnostic {
    fn eq(&self, other: &str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl PartialEq<&str> for Diagnostic {
    fn eq(&self, other: &&str) -> bool {
        self.0 == other.as_bytes()
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_string_lossy())
    }
}

impl fmt::Debug for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.to_string_lossy(), f)
    }
}

/// Joins lines the way they reach stderr: each followed by a newline.
pub(crate) fn write_lines(out: &mut Vec<u8>, lines: &[Diagnostic]) {
    for line in lines {
        out.extend_from_slice(line.as_bytes());
        out.push(b'\n');
    }
}
