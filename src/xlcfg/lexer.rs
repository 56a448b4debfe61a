//! The scanner of xl config files: libxlutil 4.17's flex rules, reproduced rule for rule.
//!
//! flex takes the longest match and, on a tie, the earliest rule. The rules, in order:
//! identifiers `[a-z][._0-9a-z]*` (dots serve xl.conf's `vif.default.bridge`); numbers `[0-9][0-9a-fx]*`; blanks (space, tab) skipped;
//! `,` `[` `]` `+=` `=` `;`; a newline, or `#` up to and including the next newline;
//! single- and double-quoted strings (no raw newline inside, a backslash escapes any other
//! byte); then any other byte starts a lexical error (`+ - . ( ) :` also mark the file as
//! probably Python). In the error state the bad byte is kept and the following run of
//! non-blank bytes (or one blank, or the newline) is added to it before the error is reported.
//!
//! Quirks kept on purpose, since they decide what xl accepts and prints: uppercase letters
//! and `\r` are lexical errors; a `#` comment on the last line without a newline is a lexical
//! error; an unexpected byte right before end of file is never reported.

use super::parser::Report;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    End,
    Ident,
    String,
    Number,
    Newline,
    PlusEquals,
    Equals,
    Semicolon,
    OpenBracket,
    CloseBracket,
    Comma,
}

impl TokenKind {
    /// The name bison's messages give the token.
    pub(super) fn grammar_name(self) -> &'static str {
        match self {
            TokenKind::End => "$end",
            TokenKind::Ident => "IDENT",
            TokenKind::String => "STRING",
            TokenKind::Number => "NUMBER",
            TokenKind::Newline => "NEWLINE",
            TokenKind::PlusEquals => "+=",
            TokenKind::Equals => "'='",
            TokenKind::Semicolon => "';'",
            TokenKind::OpenBracket => "'['",
            TokenKind::CloseBracket => "']'",
            TokenKind::Comma => "','",
        }
    }
}

pub(super) struct Token {
    pub kind: TokenKind,
    /// The identifier, the number's text or the unquoted string. `None` once the parse has
    /// failed: libxlutil stops building values then.
    pub value: Option<Vec<u8>>,
}

pub(super) struct Scanner<'a> {
    input: &'a [u8],
    pos: usize,
    /// flex's `yylineno`: 1 + the newlines consumed so far.
    line: u32,
    /// flex's `yytext`: what libxlutil's messages quote.
    text: Vec<u8>,
    /// In the lexical error state: the bytes matched so far, which the next match extends.
    unexpected: Option<Vec<u8>>,
    /// The line of the last token returned (bison's `yylloc`); end of file leaves it alone.
    token_line: u32,
    /// Where the last newline is: a `#` after it starts no comment, and knowing that without
    /// searching keeps a last line full of `#` linear.
    last_newline: Option<usize>,
}

const HEX_ESCAPE_ERROR: &str =
    "invalid digit after backslash hexnumerical character escape in quoted string";
const OCTAL_ESCAPE_ERROR: &str =
    "invalid digit after backslash octalnumerical character escape in quoted string";
const BAD_ESCAPE_ERROR: &str = "invalid character after backlash in quoted string";
/// Our own message: xl 4.17 aborts on an assertion here.
const NUL_IN_STRING_ERROR: &str = "NUL byte in quoted string";
const LEXICAL_ERROR: &str = "lexical error";

impl<'a> Scanner<'a> {
    pub(super) fn new(input: &'a [u8]) -> Scanner<'a> {
        Scanner {
            input,
            pos: 0,
            line: 1,
            text: Vec::new(),
            unexpected: None,
            token_line: 1,
            last_newline: input.iter().rposition(|&b| b == b'\n'),
        }
    }

    pub(super) fn text(&self) -> &[u8] {
        &self.text
    }

    pub(super) fn line(&self) -> u32 {
        self.line
    }

    pub(super) fn token_line(&self) -> u32 {
        self.token_line
    }

    /// Consumes `len` bytes as the current match; `carried` is what the error state kept.
    fn take(&mut self, len: usize, carried: Vec<u8>) -> &[u8] {
        let end = self.pos.saturating_add(len).min(self.input.len());
        let matched = &self.input[self.pos..end];
        self.pos = end;
        self.line = self
            .line
            .saturating_add(matched.iter().filter(|&&b| b == b'\n').count() as u32);
        self.text = carried;
        self.text.extend_from_slice(matched);
        matched
    }

    fn token(&mut self, kind: TokenKind, value: Option<Vec<u8>>) -> Token {
        self.token_line = self.line;
        Token { kind, value }
    }

    /// A newline token is located on the line it ends.
    fn newline(&mut self) -> Token {
        self.token_line = self.line.saturating_sub(1);
        Token {
            kind: TokenKind::Newline,
            value: None,
        }
    }

    fn run_len(&self, from: usize, accept: impl Fn(u8) -> bool) -> usize {
        self.input
            .get(from..)
            .map_or(0, |rest| rest.iter().take_while(|&&b| accept(b)).count())
    }

    pub(super) fn next(&mut self, report: &mut Report) -> Token {
        loop {
            if self.unexpected.is_some() {
                if let Some(token) = self.continue_lexical_error(report) {
                    return token;
                }
                continue;
            }
            let Some(&byte) = self.input.get(self.pos) else {
                return self.end(Vec::new());
            };
            let single = |kind| (1, kind);
            let (len, kind) = match byte {
                b'a'..=b'z' => {
                    let len = 1 + self.run_len(self.pos + 1, |b| {
                        matches!(b, b'.' | b'_') || b.is_ascii_digit() || b.is_ascii_lowercase()
                    });
                    (len, TokenKind::Ident)
                }
                b'0'..=b'9' => {
                    let len = 1 + self.run_len(self.pos + 1, |b| {
                        b.is_ascii_digit() || (b'a'..=b'f').contains(&b) || b == b'x'
                    });
                    (len, TokenKind::Number)
                }
                b' ' | b'\t' => {
                    self.take(1, Vec::new());
                    continue;
                }
                b',' => single(TokenKind::Comma),
                b'[' => single(TokenKind::OpenBracket),
                b']' => single(TokenKind::CloseBracket),
                b'=' => single(TokenKind::Equals),
                b';' => single(TokenKind::Semicolon),
                b'+' if self.input.get(self.pos + 1) == Some(&b'=') => (2, TokenKind::PlusEquals),
                b'\n' => {
                    self.take(1, Vec::new());
                    return self.newline();
                }
                b'#' if self.last_newline.is_some_and(|n| n > self.pos) => {
                    let rest = self.input.get(self.pos..).unwrap_or_default();
                    let len = rest
                        .iter()
                        .position(|&b| b == b'\n')
                        .map_or(rest.len(), |n| n + 1);
                    self.take(len, Vec::new());
                    return self.newline();
                }
                b'\'' | b'"' => match self.quoted_len(byte) {
                    Some(len) => return self.string(len, report),
                    None => {
                        self.start_lexical_error(report, false);
                        continue;
                    }
                },
                b'+' | b'-' | b'.' | b'(' | b')' | b':' => {
                    self.start_lexical_error(report, true);
                    continue;
                }
                _ => {
                    self.start_lexical_error(report, false);
                    continue;
                }
            };
            let matched = self.take(len, Vec::new()).to_vec();
            let value = match kind {
                TokenKind::Ident | TokenKind::Number if !report.has_failed() => Some(matched),
                _ => None,
            };
            return self.token(kind, value);
        }
    }

    fn end(&mut self, carried: Vec<u8>) -> Token {
        // At end of input flex's text is the carried bytes plus the buffer's NUL terminator,
        // which is why messages then quote an empty or truncated text.
        self.text = carried;
        self.text.push(0);
        Token {
            kind: TokenKind::End,
            value: None,
        }
    }

    /// An unexpected byte: remember it; the error is reported once the rest of the word is
    /// read.
    fn start_lexical_error(&mut self, report: &mut Report, looks_like_python: bool) {
        if looks_like_python {
            report.likely_python = true;
        }
        let carried = self.take(1, Vec::new()).to_vec();
        self.unexpected = Some(carried);
    }

    /// The error state: returns a token only for the newline that ends it.
    fn continue_lexical_error(&mut self, report: &mut Report) -> Option<Token> {
        let Some(&byte) = self.input.get(self.pos) else {
            // End of input: flex just stops; nothing is reported.
            let carried = self.unexpected.clone().unwrap_or_default();
            return Some(self.end(carried));
        };
        let carried = self.unexpected.take().unwrap_or_default();
        let len = match byte {
            b'\n' => {
                self.take(1, carried);
                report.lexical_error(self.line, &self.text, LEXICAL_ERROR);
                // This newline token is located on the following line.
                return Some(self.token(TokenKind::Newline, None));
            }
            b' ' | b'\t' => 1,
            _ => self.run_len(self.pos, |b| !matches!(b, b' ' | b'\t' | b'\n')),
        };
        self.take(len, carried);
        report.lexical_error(self.line, &self.text, LEXICAL_ERROR);
        None
    }

    /// Length of the quoted string starting at `pos`, if it is closed on this line.
    fn quoted_len(&self, quote: u8) -> Option<usize> {
        let mut i = self.pos + 1;
        loop {
            match *self.input.get(i)? {
                b if b == quote => return Some(i + 1 - self.pos),
                b'\n' => return None,
                b'\\' => match self.input.get(i + 1) {
                    Some(&b'\n') | None => return None,
                    Some(_) => i += 2,
                },
                _ => i += 1,
            }
        }
    }

    fn string(&mut self, len: usize, report: &mut Report) -> Token {
        let raw = self.take(len, Vec::new()).to_vec();
        let value = if report.has_failed() {
            None
        } else {
            match unquote(&raw) {
                Ok(value) => Some(value),
                Err(message) => {
                    report.lexical_error(self.line, &self.text, message);
                    report.fail_invalid();
                    None
                }
            }
        };
        self.token(TokenKind::String, value)
    }
}

/// The value of a quoted string token (quotes included), with libxlutil 4.17's escapes:
/// `\" \' \\ \a \b \f \n \r \t \v`. `\x` is always rejected, and `\` followed by an octal
/// digit swallows the next bytes that `strtoul` reads as a decimal number (at least two bytes,
/// blanks and a sign included) and produces no character at all: 4.17 behaves so.
fn unquote(raw: &[u8]) -> Result<Vec<u8>, &'static str> {
    if raw.contains(&0) {
        return Err(NUL_IN_STRING_ERROR);
    }
    let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or_default();
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while let Some(&byte) = body.get(i) {
        i += 1;
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let Some(&escaped) = body.get(i) else {
            return Err(BAD_ESCAPE_ERROR);
        };
        i += 1;
        match escaped {
            b'"' | b'\'' | b'\\' => out.push(escaped),
            b'a' => out.push(0x07),
            b'b' => out.push(0x08),
            b'f' => out.push(0x0c),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'v' => out.push(0x0b),
            b'x' => return Err(HEX_ESCAPE_ERROR),
            b'0'..=b'7' => {
                // The window may include the closing quote (raw index i + 1), never beyond.
                let window = raw.get(i + 1..).unwrap_or_default();
                let window = &window[..window.len().min(3)];
                let consumed = strtoul_decimal_len(window);
                if consumed < 2 {
                    return Err(OCTAL_ESCAPE_ERROR);
                }
                i += consumed;
            }
            _ => return Err(BAD_ESCAPE_ERROR),
        }
    }
    Ok(out)
}

/// How many bytes C's `strtoul(s, &end, 10)` consumes: blanks, a sign, digits; 0 if no digit.
fn strtoul_decimal_len(s: &[u8]) -> usize {
    let blanks = s
        .iter()
        .take_while(|&&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .count();
    let sign = usize::from(matches!(s.get(blanks), Some(b'+' | b'-')));
    let digits = s
        .get(blanks + sign..)
        .unwrap_or_default()
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        0
    } else {
        blanks + sign + digits
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unquote(br#""a\tb\"c\\""#).unwrap(), b"a\tb\"c\\");
        assert_eq!(unquote(br"'it\'s'").unwrap(), b"it's");
        assert_eq!(
            unquote(br#""\a\b\f\n\r\v""#).unwrap(),
            b"\x07\x08\x0c\n\r\x0b"
        );
        assert_eq!(unquote(br#""x\x41""#), Err(HEX_ESCAPE_ERROR));
        assert_eq!(unquote(br#""x\q""#), Err(BAD_ESCAPE_ERROR));
        assert_eq!(unquote(br#""x\8""#), Err(BAD_ESCAPE_ERROR));
    }

    #[test]
    fn numeric_escapes_swallow_digits_and_produce_nothing() {
        assert_eq!(unquote(br#""x\123y""#).unwrap(), b"xy");
        assert_eq!(unquote(br#""x\1234y""#).unwrap(), b"xy");
        assert_eq!(unquote(br#""x\1 2y""#).unwrap(), b"xy");
        assert_eq!(unquote(br#""x\1+2""#).unwrap(), b"x");
        // One digit is not enough; the closing quote stops strtoul.
        assert_eq!(unquote(br#""x\12""#), Err(OCTAL_ESCAPE_ERROR));
        assert_eq!(unquote(br#""x\0""#), Err(OCTAL_ESCAPE_ERROR));
        assert_eq!(unquote(br#""x\1-""#), Err(OCTAL_ESCAPE_ERROR));
    }

    #[test]
    fn strtoul_prefix() {
        assert_eq!(strtoul_decimal_len(b" 12"), 3);
        assert_eq!(strtoul_decimal_len(b"-1\""), 2);
        assert_eq!(strtoul_decimal_len(b"  +"), 0);
        assert_eq!(strtoul_decimal_len(b""), 0);
    }
}
