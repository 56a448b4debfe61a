//! A parsed xl config file and xl's ways of looking settings up.

use super::diagnostic::Diagnostic;
use super::parser;
use crate::error::Error;
use std::fmt;

/// How a setting was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// `key = value`
    Assign,
    /// `key += value`: the value already includes the previous setting's (see [`Setting`]).
    Append,
}

/// A value: a string (quoted strings and numbers alike; numbers keep their text) or a list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// `line` is the token's line.
    String { bytes: Vec<u8>, line: u32 },
    /// `line` is the first item's line; for an empty list, the line of the token after `[`.
    List { items: Vec<Value>, line: u32 },
}

impl Value {
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Value::String { bytes, .. } => Some(bytes),
            Value::List { .. } => None,
        }
    }

    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List { items, .. } => Some(items),
            Value::String { .. } => None,
        }
    }

    pub fn line(&self) -> u32 {
        match self {
            Value::String { line, .. } | Value::List { line, .. } => *line,
        }
    }
}

/// One statement. For `+=`, `value` is already the joined value (libxlutil joins at parse
/// time: the previous string followed by this one, or the previous list's items followed by
/// these, in which case the previous setting's list is left empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub name: String,
    pub operation: Operation,
    pub value: Value,
    /// The line where the value starts: what xl's warnings about the setting name.
    pub line: u32,
}

/// Why libxlutil rejected a file: the errno xl turns into its last message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseFailure {
    /// EINVAL: syntax, lexical or escape errors (each reported).
    Invalid,
    /// ERANGE: a list with more than 67108864 items (not reported by libxlutil).
    OutOfRange,
}

impl ParseFailure {
    /// glibc's `strerror` text, which xl prints.
    pub fn description(self) -> &'static str {
        match self {
            ParseFailure::Invalid => "Invalid argument",
            ParseFailure::OutOfRange => "Numerical result out of range",
        }
    }
}

/// A file libxlutil would not accept: its messages, each naming the file and line
/// (`guest.cfg:3: config parsing error near ...`), in the order xl prints them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseError {
    pub config_source: String,
    pub failure: ParseFailure,
    pub report: Vec<Diagnostic>,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.report.is_empty() {
            return write!(f, "{}: {}", self.config_source, self.failure.description());
        }
        for (i, line) in self.report.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{line}")?;
        }
        Ok(())
    }
}

/// The crate's error for an unreadable file is `Fail`, the crate's kind for input that could
/// not be parsed (as for libxl's JSON); `Invalid` is kept for well-formed but unusable values.
impl From<ParseError> for Error {
    fn from(e: ParseError) -> Error {
        Error::Fail(e.to_string())
    }
}

/// A parsed config file: its settings in file order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    source: String,
    settings: Vec<Setting>,
}

impl Config {
    /// Parses `data` as xl 4.17 does. `source` names the file in messages; xl uses the path
    /// as given on its command line.
    pub fn parse(source: &str, data: &[u8]) -> Result<Config, ParseError> {
        let settings = parser::parse(source, data)?;
        Ok(Config {
            source: source.to_owned(),
            settings,
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Every statement, in file order, repeated names included.
    pub fn settings(&self) -> &[Setting] {
        &self.settings
    }

    /// The setting xl uses for `name`: the last one.
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.settings.iter().rev().find(|s| s.name == name)
    }

    /// `name` as a list: `Ok(None)` when absent; a string gives the warning xl prints
    /// (`xlu_cfg_get_list`), after which xl goes on as if the setting were absent.
    pub fn get_list(&self, name: &str) -> Result<Option<&[Value]>, Diagnostic> {
        match self.get(name) {
            None => Ok(None),
            Some(setting) => setting
                .value
                .as_list()
                .map(Some)
                .ok_or_else(|| self.warning(setting, "is a single value but should be a list")),
        }
    }

    /// `name` as a string (`xlu_cfg_get_string`): `Ok(None)` when absent, a warning for a list.
    pub fn get_string(&self, name: &str) -> Result<Option<&[u8]>, Diagnostic> {
        match self.get(name) {
            None => Ok(None),
            Some(setting) => setting
                .value
                .as_bytes()
                .map(Some)
                .ok_or_else(|| self.warning(setting, "is a list but should be a single value")),
        }
    }

    fn warning(&self, setting: &Setting, problem: &str) -> Diagnostic {
        Diagnostic::from(format!(
            "{}:{}: warning: parameter `{}' {problem}",
            self.source, setting.line, setting.name
        ))
    }
}
