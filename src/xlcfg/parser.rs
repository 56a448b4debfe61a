//! libxlutil 4.17's config grammar as an LALR(1) automaton, driven the way bison drives it.
//!
//! The grammar (the last statement of a file may omit its terminator):
//!
//! ```text
//! file       : stmts | stmts assignment
//! stmts      : (empty) | stmts stmt
//! stmt       : assignment endstmt | endstmt | error NEWLINE
//! assignment : IDENT '=' value | IDENT "+=" value
//! endstmt    : NEWLINE | ';'
//! value      : atom | '[' nlok valuelist ']'
//! atom       : STRING | NUMBER
//! valuelist  : (empty) | values | values ',' nlok
//! values     : value nlok | values ',' nlok value nlok
//! nlok       : (empty) | nlok NEWLINE
//! ```
//!
//! Which error message is printed, and whether parsing goes on after it, depends on the exact
//! automaton bison built for this grammar: states that reduce by default without looking at
//! the next token detect an error only later, in another state, with another list of expected
//! tokens; and recovery (`error NEWLINE`) is only possible from the statement-list state. The
//! states below are that automaton; the driver follows bison's skeleton: a token is read only
//! by states that need one, three tokens must be shifted after an error before the next one is
//! reported, and a stack of 10000 entries is "memory exhausted".

use super::config::{Operation, ParseError, ParseFailure, Setting, Value};
use super::diagnostic::Diagnostic;
use super::lexer::{Scanner, Token, TokenKind};

/// bison's default stack limit (YYMAXDEPTH): about 5000 nested lists.
const MAX_STACK_DEPTH: usize = 10_000;

/// libxlutil refuses to grow a list past this many items (ERANGE, without a message).
const MAX_LIST_ITEMS: usize = 67_108_864;

const PYTHON_WARNING: [&str; 3] = [
    "warning: Config file looks like it contains Python code.",
    "warning:  Arbitrary Python is no longer supported.",
    "warning:  See https://wiki.xen.org/wiki/PythonInXlConfig",
];

/// Where messages go, and the state that decides whether one is printed (libxlutil's parse
/// context).
pub(super) struct Report {
    source: String,
    lines: Vec<Diagnostic>,
    failure: Option<ParseFailure>,
    /// Errors located on or before the line of the last lexical error are not reported, so
    /// one bad byte gives one message rather than a cascade.
    lexical_error_line: Option<u32>,
    pub(super) likely_python: bool,
}

impl Report {
    fn new(source: &str) -> Report {
        Report {
            source: source.to_owned(),
            lines: Vec::new(),
            failure: None,
            lexical_error_line: None,
            likely_python: false,
        }
    }

    pub(super) fn has_failed(&self) -> bool {
        self.failure.is_some()
    }

    pub(super) fn fail_invalid(&mut self) {
        self.failure.get_or_insert(ParseFailure::Invalid);
    }

    /// An error at `line` while the scanner's current text is `text`. The message quotes the
    /// text (without a final newline and trailing blanks, and only up to a NUL byte); when the
    /// text ends with a newline the line number is decreased, even if the location was
    /// already that newline's line (so errors at a newline are reported one line early).
    pub(super) fn error(&mut self, line: u32, text: &[u8], message: &str) {
        if self.lexical_error_line.is_some_and(|l| line <= l) {
            return;
        }
        let mut shown_line = line;
        let mut len = text.len();
        let mut newline_marker = "";
        if text.last() == Some(&b'\n') {
            len -= 1;
            shown_line = shown_line.saturating_sub(1);
            if len == 0 {
                newline_marker = "<newline>";
            }
        }
        while len > 0 && matches!(text[len - 1], b' ' | b'\t') {
            len -= 1;
        }
        let mut out =
            format!("{}:{}: config parsing error near ", self.source, shown_line).into_bytes();
        if len > 0 {
            let quoted = &text[..len];
            let quoted = quoted.split(|&b| b == 0).next().unwrap_or_default();
            out.push(b'`');
            out.extend_from_slice(quoted);
            out.push(b'\'');
        }
        out.extend_from_slice(newline_marker.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(message.as_bytes());
        self.lines.push(Diagnostic::new(out));
        self.fail_invalid();
    }

    /// An error found while scanning (or while combining values): located at the scanner's
    /// current line, and it silences later errors located up to that line.
    pub(super) fn lexical_error(&mut self, line: u32, text: &[u8], message: &str) {
        self.error(line, text, message);
        self.lexical_error_line = Some(line);
    }
}

/// The automaton's states, named after what has just been recognised.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Start,
    /// `file`, waiting for end of input.
    File,
    /// `stmts`: between statements; the only state that recovers from errors.
    Statements,
    Accepted,
    /// `error`, discarding tokens up to a newline.
    Recovering,
    Ident,
    Newline,
    Semicolon,
    Statement,
    /// A complete assignment: a terminator follows, or it ends the file.
    Assignment,
    BareTerminator,
    RecoveredNewline,
    PlusEquals,
    Equals,
    TerminatedAssignment,
    String,
    Number,
    OpenBracket,
    AppendedValue,
    Atom,
    AssignedValue,
    /// `'[' nlok`: a list's first item, a newline or the closing bracket follows.
    ListStart,
    ListNewline,
    FirstItem,
    FirstItemNewlines,
    /// `'[' nlok valuelist`: only `]` may follow.
    ListBody,
    Items,
    CloseBracket,
    Comma,
    /// `values ',' nlok`: another item, a newline or the closing bracket follows.
    AfterComma,
    NextItem,
    NextItemNewlines,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Nonterminal {
    File,
    Statements,
    Statement,
    Assignment,
    Terminator,
    Value,
    Atom,
    ValueList,
    Items,
    Newlines,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rule {
    FileOfStatements,
    FileEndingInAssignment,
    NoStatements,
    MoreStatements,
    TerminatedAssignment,
    EmptyStatement,
    RecoveredStatement,
    Assign,
    Append,
    NewlineTerminator,
    SemicolonTerminator,
    AtomValue,
    ListValue,
    StringAtom,
    NumberAtom,
    EmptyList,
    ItemList,
    ItemListWithComma,
    FirstItem,
    NextItem,
    NoNewlines,
    MoreNewlines,
}

impl Rule {
    /// The symbols on the rule's right-hand side.
    fn len(self) -> usize {
        use Rule::*;
        match self {
            NoStatements | EmptyList | NoNewlines => 0,
            FileOfStatements | EmptyStatement | NewlineTerminator | SemicolonTerminator
            | AtomValue | StringAtom | NumberAtom | ItemList => 1,
            FileEndingInAssignment
            | MoreStatements
            | TerminatedAssignment
            | RecoveredStatement
            | FirstItem
            | MoreNewlines => 2,
            Assign | Append | ItemListWithComma => 3,
            ListValue => 4,
            NextItem => 5,
        }
    }

    fn lhs(self) -> Nonterminal {
        use Rule::*;
        match self {
            FileOfStatements | FileEndingInAssignment => Nonterminal::File,
            NoStatements | MoreStatements => Nonterminal::Statements,
            TerminatedAssignment | EmptyStatement | RecoveredStatement => Nonterminal::Statement,
            Assign | Append => Nonterminal::Assignment,
            NewlineTerminator | SemicolonTerminator => Nonterminal::Terminator,
            AtomValue | ListValue => Nonterminal::Value,
            StringAtom | NumberAtom => Nonterminal::Atom,
            EmptyList | ItemList | ItemListWithComma => Nonterminal::ValueList,
            FirstItem | NextItem => Nonterminal::Items,
            NoNewlines | MoreNewlines => Nonterminal::Newlines,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Action {
    Shift(State),
    Reduce(Rule),
    Error,
}

/// What a state does with the next token, for the states that look at it.
fn token_action(state: State, token: TokenKind) -> Option<Action> {
    use Action::{Reduce, Shift};
    use TokenKind as T;
    let value_start = |token| match token {
        T::String => Some(Shift(State::String)),
        T::Number => Some(Shift(State::Number)),
        T::OpenBracket => Some(Shift(State::OpenBracket)),
        _ => None,
    };
    match (state, token) {
        (State::File, T::End) => Some(Shift(State::Accepted)),
        (State::Statements, T::End) => Some(Reduce(Rule::FileOfStatements)),
        (State::Statements, T::Ident) => Some(Shift(State::Ident)),
        (State::Statements | State::Assignment, T::Newline) => Some(Shift(State::Newline)),
        (State::Statements | State::Assignment, T::Semicolon) => Some(Shift(State::Semicolon)),
        (State::Recovering, T::Newline) => Some(Shift(State::RecoveredNewline)),
        (State::Ident, T::PlusEquals) => Some(Shift(State::PlusEquals)),
        (State::Ident, T::Equals) => Some(Shift(State::Equals)),
        (State::PlusEquals | State::Equals, token) => value_start(token),
        (State::ListStart | State::AfterComma, T::Newline) => Some(Shift(State::ListNewline)),
        (State::ListStart | State::AfterComma, token) => value_start(token),
        (State::ListBody, T::CloseBracket) => Some(Shift(State::CloseBracket)),
        (State::Items, T::Comma) => Some(Shift(State::Comma)),
        (State::FirstItemNewlines | State::NextItemNewlines, T::Newline) => {
            Some(Shift(State::ListNewline))
        }
        _ => None,
    }
}

/// Whether the state reads the next token before acting; the others act by default.
fn reads_token(state: State) -> bool {
    matches!(
        state,
        State::File
            | State::Statements
            | State::Recovering
            | State::Ident
            | State::Assignment
            | State::PlusEquals
            | State::Equals
            | State::ListStart
            | State::ListBody
            | State::Items
            | State::FirstItemNewlines
            | State::AfterComma
            | State::NextItemNewlines
    )
}

/// What a state does when the next token has no action of its own (or is not needed).
fn default_action(state: State) -> Action {
    use Action::{Error, Reduce};
    match state {
        State::Start => Reduce(Rule::NoStatements),
        State::Newline => Reduce(Rule::NewlineTerminator),
        State::Semicolon => Reduce(Rule::SemicolonTerminator),
        State::Statement => Reduce(Rule::MoreStatements),
        State::Assignment => Reduce(Rule::FileEndingInAssignment),
        State::BareTerminator => Reduce(Rule::EmptyStatement),
        State::RecoveredNewline => Reduce(Rule::RecoveredStatement),
        State::TerminatedAssignment => Reduce(Rule::TerminatedAssignment),
        State::String => Reduce(Rule::StringAtom),
        State::Number => Reduce(Rule::NumberAtom),
        State::AppendedValue => Reduce(Rule::Append),
        State::Atom => Reduce(Rule::AtomValue),
        State::AssignedValue => Reduce(Rule::Assign),
        State::ListStart => Reduce(Rule::EmptyList),
        State::ListNewline => Reduce(Rule::MoreNewlines),
        State::OpenBracket | State::FirstItem | State::Comma | State::NextItem => {
            Reduce(Rule::NoNewlines)
        }
        State::Items => Reduce(Rule::ItemList),
        State::FirstItemNewlines => Reduce(Rule::FirstItem),
        State::CloseBracket => Reduce(Rule::ListValue),
        State::AfterComma => Reduce(Rule::ItemListWithComma),
        State::NextItemNewlines => Reduce(Rule::NextItem),
        State::File
        | State::Statements
        | State::Accepted
        | State::Recovering
        | State::Ident
        | State::PlusEquals
        | State::Equals
        | State::ListBody => Error,
    }
}

/// The state after recognising `symbol` on top of `below`.
fn goto(below: State, symbol: Nonterminal) -> State {
    match (symbol, below) {
        (Nonterminal::File, _) => State::File,
        (Nonterminal::Statements, _) => State::Statements,
        (Nonterminal::Statement, _) => State::Statement,
        (Nonterminal::Assignment, _) => State::Assignment,
        (Nonterminal::Terminator, State::Assignment) => State::TerminatedAssignment,
        (Nonterminal::Terminator, _) => State::BareTerminator,
        (Nonterminal::Value, State::Equals) => State::AssignedValue,
        (Nonterminal::Value, State::ListStart) => State::FirstItem,
        (Nonterminal::Value, State::AfterComma) => State::NextItem,
        (Nonterminal::Value, _) => State::AppendedValue,
        (Nonterminal::Atom, _) => State::Atom,
        (Nonterminal::ValueList, _) => State::ListBody,
        (Nonterminal::Items, _) => State::Items,
        (Nonterminal::Newlines, State::FirstItem) => State::FirstItemNewlines,
        (Nonterminal::Newlines, State::Comma) => State::AfterComma,
        (Nonterminal::Newlines, State::NextItem) => State::NextItemNewlines,
        (Nonterminal::Newlines, _) => State::ListStart,
    }
}

/// The tokens bison lists as expected when a state meets a token it cannot handle.
fn expected_tokens(state: State) -> &'static [TokenKind] {
    use TokenKind as T;
    match state {
        State::File => &[T::End],
        State::Statements => &[T::End, T::Ident, T::Newline, T::Semicolon],
        State::Recovering => &[T::Newline],
        State::Ident => &[T::PlusEquals, T::Equals],
        State::PlusEquals | State::Equals => &[T::String, T::Number, T::OpenBracket],
        State::ListBody => &[T::CloseBracket],
        _ => &[],
    }
}

fn syntax_error_message(unexpected: TokenKind, expected: &[TokenKind]) -> String {
    let mut message = format!("syntax error, unexpected {}", unexpected.grammar_name());
    for (i, token) in expected.iter().enumerate() {
        message.push_str(if i == 0 { ", expecting " } else { " or " });
        message.push_str(token.grammar_name());
    }
    message
}

/// A symbol's semantic value: the token text of IDENT, STRING, NUMBER and atom, the value of
/// value, values and valuelist. `None` once the parse has failed, as in libxlutil.
enum Semantic {
    Nothing,
    Text(Option<Vec<u8>>),
    Value(Option<Value>),
}

struct Entry {
    state: State,
    /// The line of the symbol's first token.
    line: u32,
    semantic: Semantic,
}

/// Why the driver stopped before accepting.
enum Stop {
    Aborted,
    Exhausted,
}

struct Parser<'a> {
    scanner: Scanner<'a>,
    report: Report,
    stack: Vec<Entry>,
    lookahead: Option<Token>,
    /// Tokens still to shift before errors are reported again (bison's `yyerrstatus`).
    quiet_tokens: u8,
    settings: Vec<Setting>,
    /// A bound on the driver's steps, linear in the input, so no input can make it spin.
    steps_left: usize,
}

pub(super) fn parse(source: &str, input: &[u8]) -> Result<Vec<Setting>, ParseError> {
    let mut parser = Parser {
        scanner: Scanner::new(input),
        report: Report::new(source),
        stack: Vec::new(),
        lookahead: None,
        quiet_tokens: 0,
        settings: Vec::new(),
        steps_left: input.len().saturating_mul(64).saturating_add(1024),
    };
    if parser.run().is_err() {
        // bison has reported why, except when input ran out during recovery.
        parser.report.fail_invalid();
    }
    let mut report = parser.report;
    match report.failure {
        None => Ok(parser.settings),
        Some(failure) => {
            if report.likely_python {
                report
                    .lines
                    .extend(PYTHON_WARNING.map(|line| Diagnostic::from(line.to_owned())));
            }
            Err(ParseError {
                config_source: report.source,
                failure,
                report: report.lines,
            })
        }
    }
}

impl Parser<'_> {
    fn run(&mut self) -> Result<(), Stop> {
        self.push(State::Start, 1, Semantic::Nothing)?;
        loop {
            self.steps_left = match self.steps_left.checked_sub(1) {
                Some(left) => left,
                None => {
                    self.report.lines.push(Diagnostic::from(format!(
                        "{}: internal error: the config parser made no progress",
                        self.report.source
                    )));
                    return Err(Stop::Aborted);
                }
            };
            let state = self.stack.last().map_or(State::Start, |e| e.state);
            if state == State::Accepted {
                return Ok(());
            }
            let action = if reads_token(state) {
                let token = self.lookahead_kind();
                token_action(state, token).unwrap_or_else(|| default_action(state))
            } else {
                default_action(state)
            };
            match action {
                Action::Shift(next) => self.shift(next)?,
                Action::Reduce(rule) => self.reduce(rule)?,
                Action::Error => self.recover(state)?,
            }
        }
    }

    fn lookahead_kind(&mut self) -> TokenKind {
        if self.lookahead.is_none() {
            self.lookahead = Some(self.scanner.next(&mut self.report));
        }
        self.lookahead.as_ref().map_or(TokenKind::End, |t| t.kind)
    }

    fn push(&mut self, state: State, line: u32, semantic: Semantic) -> Result<(), Stop> {
        self.stack.push(Entry {
            state,
            line,
            semantic,
        });
        if self.stack.len() >= MAX_STACK_DEPTH {
            self.report.error(
                self.scanner.token_line(),
                self.scanner.text(),
                "memory exhausted",
            );
            return Err(Stop::Exhausted);
        }
        Ok(())
    }

    fn shift(&mut self, next: State) -> Result<(), Stop> {
        self.quiet_tokens = self.quiet_tokens.saturating_sub(1);
        let value = self.lookahead.take().and_then(|t| t.value);
        // The lookahead is the last token scanned, so the scanner still holds its line.
        self.push(next, self.scanner.token_line(), Semantic::Text(value))
    }

    fn reduce(&mut self, rule: Rule) -> Result<(), Stop> {
        let split = self.stack.len().saturating_sub(rule.len());
        let rhs = self.stack.split_off(split);
        // An empty rule's location comes from an end line nothing ever sets: 1.
        let line = rhs.first().map_or(1, |e| e.line);
        let semantic = self.act(rule, rhs);
        let below = self.stack.last().map_or(State::Start, |e| e.state);
        self.push(goto(below, rule.lhs()), line, semantic)
    }

    /// yyerrlab: report (unless still quiet after the last error), then discard tokens and
    /// states until a statement can be skipped up to the next newline.
    fn recover(&mut self, state: State) -> Result<(), Stop> {
        let unexpected = self.lookahead_kind();
        if self.quiet_tokens == 0 {
            let message = syntax_error_message(unexpected, expected_tokens(state));
            self.report
                .error(self.scanner.token_line(), self.scanner.text(), &message);
        }
        if self.quiet_tokens == 3 {
            if unexpected == TokenKind::End {
                return Err(Stop::Aborted);
            }
            self.lookahead = None;
        }
        self.quiet_tokens = 3;
        while self.stack.last().map(|e| e.state) != Some(State::Statements) {
            if self.stack.len() <= 1 {
                return Err(Stop::Aborted);
            }
            self.stack.pop();
        }
        self.push(
            State::Recovering,
            self.scanner.token_line(),
            Semantic::Nothing,
        )
    }

    /// The rule's semantic action; values are only built while the parse has not failed.
    fn act(&mut self, rule: Rule, rhs: Vec<Entry>) -> Semantic {
        let failed = self.report.has_failed();
        let mut rhs = rhs.into_iter();
        let mut next = || {
            rhs.next().unwrap_or(Entry {
                state: State::Start,
                line: 1,
                semantic: Semantic::Nothing,
            })
        };
        match rule {
            Rule::Assign | Rule::Append => {
                let name = next();
                next();
                let value = next();
                let operation = if rule == Rule::Assign {
                    Operation::Assign
                } else {
                    Operation::Append
                };
                if let (Semantic::Text(Some(name)), Semantic::Value(Some(v))) =
                    (name.semantic, value.semantic)
                {
                    self.store(name, operation, v, value.line);
                }
                Semantic::Nothing
            }
            Rule::AtomValue => {
                let atom = next();
                match atom.semantic {
                    Semantic::Text(Some(text)) if !failed => Semantic::Value(Some(Value::String {
                        bytes: text,
                        line: atom.line,
                    })),
                    _ => Semantic::Value(None),
                }
            }
            Rule::ListValue => {
                next();
                next();
                next().semantic
            }
            Rule::StringAtom | Rule::NumberAtom | Rule::ItemList | Rule::ItemListWithComma => {
                next().semantic
            }
            // The line of the token after `[` (bison's current lookahead location).
            Rule::EmptyList if !failed => Semantic::Value(Some(Value::List {
                items: Vec::new(),
                line: self.scanner.token_line(),
            })),
            Rule::FirstItem => {
                let item = next();
                match item.semantic {
                    Semantic::Value(Some(v)) if !failed => Semantic::Value(Some(Value::List {
                        items: vec![v],
                        line: item.line,
                    })),
                    _ => Semantic::Value(None),
                }
            }
            Rule::NextItem => {
                let list = next();
                next();
                next();
                let item = next();
                let mut list = list.semantic;
                if let (
                    Semantic::Value(Some(Value::List { items, .. })),
                    Semantic::Value(Some(v)),
                ) = (&mut list, item.semantic)
                {
                    if !failed {
                        if items.len() >= MAX_LIST_ITEMS {
                            self.report.failure.get_or_insert(ParseFailure::OutOfRange);
                        } else {
                            items.push(v);
                        }
                    }
                }
                list
            }
            Rule::EmptyList => Semantic::Value(None),
            Rule::FileOfStatements
            | Rule::FileEndingInAssignment
            | Rule::NoStatements
            | Rule::MoreStatements
            | Rule::TerminatedAssignment
            | Rule::EmptyStatement
            | Rule::RecoveredStatement
            | Rule::NewlineTerminator
            | Rule::SemicolonTerminator
            | Rule::NoNewlines
            | Rule::MoreNewlines => Semantic::Nothing,
        }
    }

    /// Records a setting; `+=` first joins the value to the latest setting of that name
    /// (strings are concatenated, lists joined, and the older list is left empty).
    fn store(&mut self, name: Vec<u8>, operation: Operation, mut value: Value, line: u32) {
        if self.report.has_failed() {
            return;
        }
        let name = String::from_utf8_lossy(&name).into_owned();
        if operation == Operation::Append {
            if let Some(previous) = self.settings.iter_mut().rev().find(|s| s.name == name) {
                match (&mut previous.value, &mut value) {
                    (Value::String { bytes: old, .. }, Value::String { bytes: new, .. }) => {
                        let mut joined = old.clone();
                        joined.append(new);
                        *new = joined;
                    }
                    (Value::List { items: old, .. }, Value::List { items: new, .. }) => {
                        let mut joined = std::mem::take(old);
                        joined.append(new);
                        *new = joined;
                    }
                    _ => {
                        self.report.lexical_error(
                            self.scanner.line(),
                            self.scanner.text(),
                            "can't add [list] to \"string\" or vice versa",
                        );
                        self.report.fail_invalid();
                        return;
                    }
                }
            }
        }
        self.settings.push(Setting {
            name,
            operation,
            value,
            line,
        });
    }
}
