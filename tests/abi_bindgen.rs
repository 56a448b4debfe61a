//! ABI proof against the REAL libxl 4.17 headers (Debian libxen-dev, `/usr/include/libxl.h`).
//!
//! bindgen runs at test time over three inputs:
//!
//! * the real `<libxl.h>` (the reference),
//! * our `include/libxl_channel.h` (the header C users compile against),
//! * a small deliberately wrong header (self-test: the comparisons must be able to fail).
//!
//! From bindgen's output we read the facts clang computed: the generated layout assertions
//! (`["Size of T"][size_of::<T>() - 48usize]`, `"Alignment of T"`, `"Offset of field: T::f"`),
//! struct/union field lists and types, enum constants (`pub const X: E = v;`), macro constants,
//! typedefs, `extern "C"` function declarations and `extern` statics. These facts are compared
//!
//! 1. real header  vs  `xlchannel::ffi::types` (sizes, alignments, absolute field offsets
//!    including union members, enum discriminants, constants, typedef primitives);
//! 2. real header  vs  our header (all of the above plus field types, field order, struct vs
//!    union, enum underlying types, typedef spellings, the string table's element type);
//! 3. function signatures of every `libxl_*` function our header declares vs the real one.
//!
//! Nested anonymous types are named differently by the two headers (`libxl_device_channel__
//! bindgen_ty_1` vs `libxl_device_channel_u`), so layout facts are keyed by *path* from the
//! top-level typedef (`offset_of libxl_device_channel.u.socket.path`, absolute offset, the same
//! number C's `offsetof(libxl_device_channel, u.socket.path)` gives).
//!
//! bindgen's output is read as a token list (`tokenize`), so the comparisons do not depend on
//! rustfmt/prettyplease formatting. Every fact the test expects is looked up with a function that
//! panics with the missing key, so a parser that silently finds nothing cannot pass.

use std::collections::{BTreeMap, BTreeSet};
use std::mem::{align_of, size_of, MaybeUninit};
use std::ptr::addr_of;
use std::sync::{Mutex, OnceLock};

use xlchannel::ffi::types;

// ------------------------------------------------------------------------------------------
// What is compared
// ------------------------------------------------------------------------------------------

/// Structs/unions whose full layout (recursively through nested unions/structs) is compared.
const LAYOUT_TYPES: &[&str] = &[
    "libxl_device_channel",
    "libxl_channelinfo",
    "libxl_enum_string_table",
    "libxl_asyncop_how",
];
/// Enums: underlying type, size, alignment and the value of every constant.
const ENUMS: &[&str] = &[
    "libxl_channel_connection",
    "libxl_domain_type",
    "libxl_error",
];
/// Typedefs of primitive types: spelling (headers), size, alignment and Rust primitive.
const PRIMITIVE_TYPEDEFS: &[&str] = &["libxl_domid", "libxl_devid", "libxl_ev_user"];
/// Other typedefs compared by spelling only (headers).
const OTHER_TYPEDEFS: &[&str] = &["libxl_ctx"];
/// Macro constants.
const MACROS: &[&str] = &["LIBXL_VERSION", "LIBXL_HAVE_DEVICE_CHANNEL"];

/// Functions our header declares that real libxl 4.17 does not. Any other `libxl_*` function in
/// `include/libxl_channel.h` that is missing from `<libxl.h>` fails the test.
const KNOWN_ADDITIONS: &[&str] = &[
    "libxl_device_channel_list_free",
    "libxl_device_channel_add",
    "libxl_device_channel_remove",
    "libxl_device_channel_destroy",
];

/// The channel API of the real header (reported, not required, when our header lacks one).
const REAL_CHANNEL_API: &str = "libxl_(device_channel|channelinfo|channel_connection)_.*";

/// Sentinel facts that must be found in the real header's output (guards the parser itself).
const SENTINELS: &[&str] = &[
    "size_of libxl_device_channel",
    "offset_of libxl_device_channel.u.socket.path",
    "offset_of libxl_channelinfo.u.pty.path",
    "offset_of libxl_asyncop_how.u.for_callback",
    "offset_of libxl_enum_string_table.v",
    "value_of libxl_channel_connection::LIBXL_CHANNEL_CONNECTION_SOCKET",
    "value_of libxl_domain_type::LIBXL_DOMAIN_TYPE_INVALID",
    "value_of libxl_error::ERROR_NONSPECIFIC",
    "value_of libxl_error::ERROR_QEMU_API",
    "value_of LIBXL_VERSION",
    "value_of LIBXL_HAVE_DEVICE_CHANNEL",
    "prim_of libxl_domid",
];

/// Fact kinds (key prefixes) that have a Rust-side value in `rust_facts()`; the others
/// (`type_of`, `kind_of`, `fields_of`, `alias_of`, `underlying_of`) are C spellings, compared
/// between the two headers only.
const RUST_COMPARABLE: &[&str] = &[
    "size_of ",
    "align_of ",
    "offset_of ",
    "value_of ",
    "prim_of ",
];

// ------------------------------------------------------------------------------------------
// Running bindgen
// ------------------------------------------------------------------------------------------

/// `_libxl_types_json.h` (which Debian installs beside `libxl.h`) declares the `_gen_json`
/// functions over yajl's generator.
const REAL_WRAPPER: &str =
    "#include <libxl.h>\n#include <yajl/yajl_gen.h>\n#include <_libxl_types_json.h>\n";
const OUR_WRAPPER: &str = "#include \"libxl_channel.h\"\n";

/// libclang is loaded per process by bindgen; tests run on several threads, so bindgen runs are
/// serialised.
static BINDGEN_LOCK: Mutex<()> = Mutex::new(());

/// Runs bindgen over `contents` (a wrapper header) with the given allowlists; returns its output.
/// Clang errors make bindgen fail, which fails the test with clang's diagnostic.
fn run_bindgen(label: &str, contents: &str, types: &[&str], vars: &[&str], fns: &[&str]) -> String {
    let _guard = BINDGEN_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let mut b = bindgen::Builder::default()
        .header_contents("abi_wrapper.h", contents)
        .clang_arg(format!("-I{}/include", env!("CARGO_MANIFEST_DIR")))
        // Deterministic token output: no rustfmt/prettyplease, no doc attributes.
        .formatter(bindgen::Formatter::None)
        .generate_comments(false)
        .layout_tests(true)
        // `pub const ERROR_FAIL: libxl_error = -3;` and `pub type libxl_error = c_int;`
        .default_enum_style(bindgen::EnumVariation::Consts)
        .prepend_enum_name(false)
        .derive_debug(false);
    for t in types {
        b = b.allowlist_type(t);
    }
    for v in vars {
        b = b.allowlist_var(v);
    }
    for f in fns {
        b = b.allowlist_function(f);
    }
    match b.generate() {
        Ok(out) => out.to_string(),
        Err(e) => panic!("bindgen failed on the {label} ({contents:?}): {e}"),
    }
}

fn layout_allowlist() -> Vec<&'static str> {
    let mut v: Vec<&str> = LAYOUT_TYPES.to_vec();
    v.extend_from_slice(ENUMS);
    v.extend_from_slice(PRIMITIVE_TYPEDEFS);
    v.extend_from_slice(OTHER_TYPEDEFS);
    v
}

/// Our header: the layout types, macros, every `libxl_*` function and every `libxl_*` global.
fn ours() -> &'static Bindings {
    static OURS: OnceLock<Bindings> = OnceLock::new();
    OURS.get_or_init(|| {
        let mut vars = MACROS.to_vec();
        vars.push("libxl_.*");
        let out = run_bindgen(
            "our include/libxl_channel.h",
            OUR_WRAPPER,
            &layout_allowlist(),
            &vars,
            &["libxl_.*"],
        );
        Bindings::parse("our header", &out)
    })
}

/// The real header: the same types and macros, every function and global our header declares
/// (by exact name) plus the real channel API.
fn real() -> &'static Bindings {
    static REAL: OnceLock<Bindings> = OnceLock::new();
    REAL.get_or_init(|| {
        let ours = ours();
        let mut fns: Vec<&str> = ours.functions.keys().map(String::as_str).collect();
        fns.extend_from_slice(KNOWN_ADDITIONS);
        fns.push(REAL_CHANNEL_API);
        let mut vars = MACROS.to_vec();
        vars.extend(ours.statics.keys().map(String::as_str));
        vars.push("libxl_channel_connection_string_table");
        let out = run_bindgen(
            "real <libxl.h>",
            REAL_WRAPPER,
            &layout_allowlist(),
            &vars,
            &fns,
        );
        Bindings::parse("real libxl.h", &out)
    })
}

// ------------------------------------------------------------------------------------------
// Reading bindgen's output
// ------------------------------------------------------------------------------------------

/// Splits Rust source into tokens: identifiers/numbers (`[A-Za-z0-9_]+`, so `48usize` is one
/// token), string literals (with quotes), `::` and `->`, and single punctuation characters.
fn tokenize(src: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = src.char_indices().peekable();
    while let Some(&(i, c)) = it.peek() {
        if c.is_whitespace() {
            it.next();
        } else if c == '"' {
            // String literal; a backslash escapes the next character.
            it.next();
            let mut end = None;
            while let Some((j, d)) = it.next() {
                if d == '\\' {
                    it.next();
                } else if d == '"' {
                    end = Some(j + 1);
                    break;
                }
            }
            let end = end.unwrap_or_else(|| panic!("unterminated string literal at byte {i}"));
            out.push(src[i..end].to_string());
        } else if c.is_ascii_alphanumeric() || c == '_' {
            let mut end = i;
            while let Some(&(j, d)) = it.peek() {
                if d.is_ascii_alphanumeric() || d == '_' {
                    end = j + d.len_utf8();
                    it.next();
                } else {
                    break;
                }
            }
            out.push(src[i..end].to_string());
        } else if src[i..].starts_with("::") || src[i..].starts_with("->") {
            out.push(src[i..i + 2].to_string());
            it.next();
            it.next();
        } else {
            out.push(c.to_string());
            it.next();
        }
    }
    out
}

/// Joins tokens with single spaces: the canonical spelling of a type in the facts.
fn join(toks: &[String]) -> String {
    toks.join(" ")
}

/// A shorter spelling for messages: `* mut :: std :: os :: raw :: c_char` -> `*mut c_char`.
fn pretty(s: &str) -> String {
    s.replace(":: std :: os :: raw :: ", "")
        .replace(":: std :: option :: Option", "Option")
        .replace("* mut ", "*mut ")
        .replace("* const ", "*const ")
        .replace(" ,", ",")
        .replace("( ", "(")
        .replace(" )", ")")
        .replace("< ", "<")
        .replace(" >", ">")
}

fn is_ident(t: &str) -> bool {
    t.chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && t.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Index of the token closing the bracket opened at `toks[open]` (`(`, `[`, `{` or `<`).
fn matching(toks: &[String], open: usize) -> usize {
    let (o, c) = match toks[open].as_str() {
        "(" => ("(", ")"),
        "[" => ("[", "]"),
        "{" => ("{", "}"),
        "<" => ("<", ">"),
        t => panic!("matching() called on `{t}`"),
    };
    let mut depth = 0usize;
    for (k, t) in toks.iter().enumerate().skip(open) {
        if t == o {
            depth += 1;
        } else if t == c {
            depth -= 1;
            if depth == 0 {
                return k;
            }
        }
    }
    panic!(
        "unbalanced `{o}` in bindgen output near {:?}",
        &toks[open..(open + 12).min(toks.len())]
    );
}

/// Index of the first `stop` token at bracket depth 0 at or after `from`.
fn find_top_level(toks: &[String], from: usize, stops: &[&str]) -> usize {
    let mut depth = 0i32;
    for (k, t) in toks.iter().enumerate().skip(from) {
        if depth == 0 && stops.contains(&t.as_str()) {
            return k;
        }
        match t.as_str() {
            "(" | "[" | "{" | "<" => depth += 1,
            ")" | "]" | "}" | ">" => depth -= 1,
            _ => {}
        }
    }
    panic!(
        "no {stops:?} after {:?}",
        &toks[from..(from + 12).min(toks.len())]
    );
}

/// Removes parameter names (`IDENT :` where `:` is a single colon; paths use the `::` token) so
/// that signatures compare by types only: `(ctx : * mut libxl_ctx)` -> `(* mut libxl_ctx)`.
fn strip_param_names(toks: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let mut k = 0;
    while k < toks.len() {
        if k + 1 < toks.len() && toks[k + 1] == ":" && is_ident(&toks[k]) {
            k += 2;
        } else {
            out.push(toks[k].clone());
            k += 1;
        }
    }
    out
}

#[derive(Debug)]
struct Compound {
    kind: &'static str, // "struct" or "union"
    fields: Vec<(String, Vec<String>)>,
}

/// What bindgen said about one header.
#[derive(Debug, Default)]
struct Bindings {
    label: String,
    /// Layout assertions: "Size of T", "Alignment of T", "Offset of field: T::f" -> value.
    layout: BTreeMap<String, u64>,
    compounds: BTreeMap<String, Compound>,
    /// `pub type NAME = TYPE;`
    aliases: BTreeMap<String, Vec<String>>,
    /// `pub const NAME: TYPE = VALUE;` -> (TYPE, VALUE)
    consts: BTreeMap<String, (Vec<String>, i128)>,
    /// `pub fn NAME(...) -> R;` -> signature tokens from `(` on, parameter names removed.
    functions: BTreeMap<String, Vec<String>>,
    /// `pub static [mut] NAME: TYPE;` -> (is mut, TYPE)
    statics: BTreeMap<String, (bool, Vec<String>)>,
}

impl Bindings {
    fn parse(label: &str, src: &str) -> Bindings {
        let t = tokenize(src);
        let mut b = Bindings {
            label: label.to_string(),
            ..Default::default()
        };
        let mut i = 0;
        while i < t.len() {
            let tok = t[i].as_str();
            // Layout assertion: `["Size of T"] [ :: std :: mem :: size_of :: < T > () - 48usize ] ;`
            if tok.starts_with("\"Size of ")
                || tok.starts_with("\"Alignment of ")
                || tok.starts_with("\"Offset of field: ")
            {
                let key = tok.trim_matches('"').to_string();
                assert!(
                    t.get(i + 1).map(String::as_str) == Some("]")
                        && t.get(i + 2).map(String::as_str) == Some("["),
                    "{label}: unexpected layout assertion shape after {tok}: {:?}",
                    &t[i..(i + 6).min(t.len())]
                );
                let close = matching(&t, i + 2);
                let (minus, num) = (&t[close - 2], &t[close - 1]);
                let value = num
                    .strip_suffix("usize")
                    .and_then(|n| n.parse::<u64>().ok())
                    .filter(|_| minus == "-")
                    .unwrap_or_else(|| {
                        panic!(
                            "{label}: cannot read the value of {tok}: {:?}",
                            &t[i..=close]
                        )
                    });
                assert!(
                    b.layout.insert(key, value).is_none(),
                    "{label}: duplicate {tok}"
                );
                i = close + 1;
                continue;
            }
            if tok != "pub" || i + 1 >= t.len() {
                i += 1;
                continue;
            }
            match t[i + 1].as_str() {
                // `pub struct NAME { [pub] f : TYPE , ... }` (also `union`)
                kw @ ("struct" | "union") if t.get(i + 3).map(String::as_str) == Some("{") => {
                    let name = t[i + 2].clone();
                    let close = matching(&t, i + 3);
                    let mut fields = Vec::new();
                    let mut k = i + 4;
                    while k < close {
                        if t[k] == "pub" {
                            k += 1;
                        }
                        assert!(
                            is_ident(&t[k]) && t[k + 1] == ":",
                            "{label}: unexpected field syntax in {kw} {name}: {:?}",
                            &t[k..close]
                        );
                        let end = find_top_level(&t, k + 2, &[",", "}"]);
                        fields.push((t[k].clone(), t[k + 2..end].to_vec()));
                        k = if t[end] == "," { end + 1 } else { end };
                    }
                    let kind = if kw == "struct" { "struct" } else { "union" };
                    b.compounds.insert(name, Compound { kind, fields });
                    i = close + 1;
                }
                // `pub type NAME = TYPE ;`
                "type" if t.get(i + 3).map(String::as_str) == Some("=") => {
                    let end = find_top_level(&t, i + 4, &[";"]);
                    b.aliases.insert(t[i + 2].clone(), t[i + 4..end].to_vec());
                    i = end + 1;
                }
                // `pub const NAME : TYPE = [-] VALUE ;`
                "const" if is_ident(&t[i + 2]) && t[i + 3] == ":" => {
                    let eq = find_top_level(&t, i + 4, &["="]);
                    let end = find_top_level(&t, eq + 1, &[";"]);
                    let text: String = t[eq + 1..end].concat();
                    let value = text.parse::<i128>().unwrap_or_else(|_| {
                        panic!(
                            "{label}: const {} has a non-integer value `{text}`",
                            t[i + 2]
                        )
                    });
                    b.consts
                        .insert(t[i + 2].clone(), (t[i + 4..eq].to_vec(), value));
                    i = end + 1;
                }
                // `pub fn NAME ( PARAMS ) [-> RET] ;`
                "fn" => {
                    let end = find_top_level(&t, i + 3, &[";"]);
                    b.functions
                        .insert(t[i + 2].clone(), strip_param_names(&t[i + 3..end]));
                    i = end + 1;
                }
                // `pub static [mut] NAME : TYPE ;`
                "static" => {
                    let is_mut = t[i + 2] == "mut";
                    let n = if is_mut { i + 3 } else { i + 2 };
                    assert_eq!(t[n + 1], ":", "{label}: unexpected static syntax");
                    let end = find_top_level(&t, n + 2, &[";"]);
                    b.statics
                        .insert(t[n].clone(), (is_mut, t[n + 2..end].to_vec()));
                    i = end + 1;
                }
                _ => i += 1,
            }
        }
        assert!(
            !b.layout.is_empty(),
            "{label}: no layout assertions found in bindgen's output"
        );
        b
    }

    fn layout_of(&self, key: &str) -> u64 {
        *self.layout.get(key).unwrap_or_else(|| {
            panic!(
                "{}: bindgen emitted no layout assertion {key:?}",
                self.label
            )
        })
    }

    fn compound(&self, name: &str) -> &Compound {
        self.compounds
            .get(name)
            .unwrap_or_else(|| panic!("{}: bindgen emitted no struct/union {name:?}", self.label))
    }

    fn alias(&self, name: &str) -> &[String] {
        self.aliases
            .get(name)
            .unwrap_or_else(|| panic!("{}: bindgen emitted no `pub type {name}`", self.label))
    }

    /// Size and alignment of a field type that is not a nested struct/union.
    fn type_layout(&self, ty: &[String]) -> (u64, u64) {
        let s = join(ty);
        if ty[0] == "*" || s.starts_with(":: std :: option :: Option < unsafe extern") {
            return (
                size_of::<*const u8>() as u64,
                align_of::<*const u8>() as u64,
            );
        }
        if let Some(p) = primitive(&s) {
            return (p.size, p.align);
        }
        if ty.len() == 1 && self.aliases.contains_key(&ty[0]) {
            return self.type_layout(self.alias(&ty[0]));
        }
        if ty.len() == 1 && self.compounds.contains_key(&ty[0]) {
            return (
                self.layout_of(&format!("Size of {}", ty[0])),
                self.layout_of(&format!("Alignment of {}", ty[0])),
            );
        }
        if ty[0] == "[" {
            let semi = find_top_level(ty, 1, &[";"]);
            let n: u64 = ty[semi + 1]
                .strip_suffix("usize")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{}: array length in `{s}`", self.label));
            let (size, align) = self.type_layout(&ty[1..semi]);
            return (size * n, align);
        }
        panic!("{}: cannot compute the layout of type `{s}`", self.label)
    }

    /// The Rust primitive a typedef resolves to (`u32`, `i32`, ...).
    fn primitive_of(&self, ty: &[String]) -> &'static str {
        if let Some(p) = primitive(&join(ty)) {
            return p.rust;
        }
        if ty.len() == 1 && self.aliases.contains_key(&ty[0]) {
            return self.primitive_of(self.alias(&ty[0]));
        }
        panic!("{}: `{}` is not a primitive type", self.label, join(ty))
    }

    /// Walks `cname` (recursively through nested structs/unions) recording facts keyed by `path`;
    /// `base` is the absolute offset of `cname` inside the top-level type.
    fn walk(&self, cname: &str, path: &str, base: u64, out: &mut Facts) {
        let c = self.compound(cname);
        out.insert(
            format!("size_of {path}"),
            self.layout_of(&format!("Size of {cname}")).to_string(),
        );
        out.insert(
            format!("align_of {path}"),
            self.layout_of(&format!("Alignment of {cname}")).to_string(),
        );
        out.insert(format!("kind_of {path}"), c.kind.to_string());
        let names: Vec<&str> = c.fields.iter().map(|(f, _)| f.as_str()).collect();
        out.insert(format!("fields_of {path}"), names.join(", "));
        assert!(
            !c.fields.is_empty(),
            "{}: {cname} has no fields",
            self.label
        );
        for (f, ty) in &c.fields {
            let fpath = format!("{path}.{f}");
            let off = base + self.layout_of(&format!("Offset of field: {cname}::{f}"));
            out.insert(format!("offset_of {fpath}"), off.to_string());
            if ty.len() == 1 && self.compounds.contains_key(&ty[0]) {
                // A nested struct/union: its name differs between headers, its members don't.
                let kind = self.compound(&ty[0]).kind;
                out.insert(format!("type_of {fpath}"), format!("{kind} {{ ... }}"));
                self.walk(&ty[0], &fpath, off, out);
            } else {
                let (size, align) = self.type_layout(ty);
                out.insert(format!("type_of {fpath}"), join(ty));
                out.insert(format!("size_of {fpath}"), size.to_string());
                out.insert(format!("align_of {fpath}"), align.to_string());
            }
        }
    }

    /// Every fact about the compared types, enums, typedefs and macros.
    fn facts(&self) -> Facts {
        let mut out = Facts::new();
        for t in LAYOUT_TYPES {
            self.walk(t, t, 0, &mut out);
        }
        for e in ENUMS {
            let under = self.alias(e);
            let (size, align) = self.type_layout(under);
            out.insert(format!("underlying_of {e}"), join(under));
            out.insert(format!("size_of {e}"), size.to_string());
            out.insert(format!("align_of {e}"), align.to_string());
            let mut n = 0;
            for (name, (ty, v)) in &self.consts {
                if ty.len() == 1 && ty[0] == *e {
                    out.insert(format!("value_of {e}::{name}"), v.to_string());
                    n += 1;
                }
            }
            assert!(n > 0, "{}: no constants of enum {e} found", self.label);
        }
        for t in PRIMITIVE_TYPEDEFS {
            let ty = self.alias(t);
            let (size, align) = self.type_layout(ty);
            out.insert(format!("alias_of {t}"), join(ty));
            out.insert(format!("size_of {t}"), size.to_string());
            out.insert(format!("align_of {t}"), align.to_string());
            out.insert(format!("prim_of {t}"), self.primitive_of(ty).to_string());
        }
        for t in OTHER_TYPEDEFS {
            out.insert(format!("alias_of {t}"), join(self.alias(t)));
        }
        for m in MACROS {
            let (_, v) = self.consts.get(*m).unwrap_or_else(|| {
                panic!("{}: bindgen emitted no constant for macro {m}", self.label)
            });
            out.insert(format!("value_of {m}"), v.to_string());
        }
        out
    }
}

struct Prim {
    size: u64,
    align: u64,
    rust: &'static str,
}

/// Layout and Rust name of a primitive as bindgen spells it (`u32`, `:: std :: os :: raw :: c_int`).
fn primitive(spelling: &str) -> Option<Prim> {
    macro_rules! prims {
        ($($spelling:expr => $t:ty),* $(,)?) => {
            $(if spelling == $spelling {
                return Some(Prim {
                    size: size_of::<$t>() as u64,
                    align: align_of::<$t>() as u64,
                    rust: std::any::type_name::<$t>(),
                });
            })*
        };
    }
    use std::os::raw::*;
    prims! {
        "u8" => u8, "u16" => u16, "u32" => u32, "u64" => u64,
        "i8" => i8, "i16" => i16, "i32" => i32, "i64" => i64,
        "usize" => usize, "isize" => isize, "bool" => bool, "f32" => f32, "f64" => f64,
        ":: std :: os :: raw :: c_char" => c_char,
        ":: std :: os :: raw :: c_schar" => c_schar,
        ":: std :: os :: raw :: c_uchar" => c_uchar,
        ":: std :: os :: raw :: c_short" => c_short,
        ":: std :: os :: raw :: c_ushort" => c_ushort,
        ":: std :: os :: raw :: c_int" => c_int,
        ":: std :: os :: raw :: c_uint" => c_uint,
        ":: std :: os :: raw :: c_long" => c_long,
        ":: std :: os :: raw :: c_ulong" => c_ulong,
        ":: std :: os :: raw :: c_longlong" => c_longlong,
        ":: std :: os :: raw :: c_ulonglong" => c_ulonglong,
    }
    None
}

// ------------------------------------------------------------------------------------------
// Facts and their comparison
// ------------------------------------------------------------------------------------------

/// `"offset_of libxl_device_channel.u.socket.path" -> "40"`, `"type_of ....name" -> "* mut ..."`.
type Facts = BTreeMap<String, String>;

/// Compares the real header's facts accepted by `select` with `other`'s: one line per
/// difference, including facts missing on either side. Returns (number compared, problems).
fn diff(
    real: &Facts,
    other_label: &str,
    other: &Facts,
    select: impl Fn(&str) -> bool,
) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut compared = 0;
    let keys: BTreeSet<&String> = real
        .keys()
        .chain(other.keys())
        .filter(|k| select(k.as_str()))
        .collect();
    for k in keys {
        match (real.get(k), other.get(k)) {
            (Some(a), Some(b)) if a == b => compared += 1,
            (Some(a), Some(b)) => {
                compared += 1;
                problems.push(format!(
                    "DIFFERS  {k}: real libxl.h = `{}`, {other_label} = `{}`",
                    pretty(a),
                    pretty(b)
                ));
            }
            (Some(a), None) => problems.push(format!(
                "MISSING  {k}: real libxl.h = `{}`, absent from {other_label}",
                pretty(a)
            )),
            (None, Some(b)) => problems.push(format!(
                "EXTRA    {k}: {other_label} = `{}`, absent from real libxl.h",
                pretty(b)
            )),
            (None, None) => unreachable!(),
        }
    }
    (compared, problems)
}

fn report(title: &str, compared: usize, problems: &[String], min_compared: usize) {
    println!(
        "{title}: {compared} facts compared, {} problem(s)",
        problems.len()
    );
    assert!(
        problems.is_empty(),
        "{title}: {} ABI difference(s):\n  {}\n",
        problems.len(),
        problems.join("\n  ")
    );
    assert!(
        compared >= min_compared,
        "{title}: only {compared} facts compared, expected at least {min_compared}"
    );
}

fn rust_comparable(k: &str) -> bool {
    RUST_COMPARABLE.iter().any(|p| k.starts_with(p))
}

fn real_facts() -> Facts {
    let f = real().facts();
    for s in SENTINELS {
        assert!(
            f.contains_key(*s),
            "real libxl.h: expected fact {s:?} was not extracted"
        );
    }
    f
}

// ------------------------------------------------------------------------------------------
// The Rust side: xlchannel::ffi::types
// ------------------------------------------------------------------------------------------

fn pointee_layout<F>(_: *const F) -> (usize, usize) {
    (size_of::<F>(), align_of::<F>())
}

/// Records size/alignment of `$ty` under `$name` and, for each field path (`u.socket.path`),
/// its absolute offset, size and alignment. Offsets are measured with `addr_of!` on an
/// uninitialised value (no read, no reference), which handles union members and nested paths on
/// the crate's MSRV (1.75; `offset_of!` is 1.77, nested `offset_of!` 1.82).
macro_rules! rust_layout {
    ($out:expr, $name:expr, $ty:ty { $( $($f:ident).+ ),* $(,)? }) => {{
        let out: &mut Facts = $out;
        let name: &str = $name;
        out.insert(format!("size_of {name}"), size_of::<$ty>().to_string());
        out.insert(format!("align_of {name}"), align_of::<$ty>().to_string());
        $({
            let v = MaybeUninit::<$ty>::uninit();
            let base = v.as_ptr();
            // SAFETY: only the address of a place inside `v` is computed; nothing is read.
            let p = unsafe { addr_of!((*base).$($f).+) };
            let path = format!("{name}.{}", stringify!($($f).+).replace(' ', ""));
            let (size, align) = pointee_layout(p);
            out.insert(format!("offset_of {path}"), (p as usize - base as usize).to_string());
            out.insert(format!("size_of {path}"), size.to_string());
            out.insert(format!("align_of {path}"), align.to_string());
        })*
    }};
}

macro_rules! rust_enum {
    ($out:expr, $e:ident [ $($v:ident),* $(,)? ]) => {{
        let out: &mut Facts = $out;
        let e = stringify!($e);
        out.insert(format!("size_of {e}"), size_of::<types::$e>().to_string());
        out.insert(format!("align_of {e}"), align_of::<types::$e>().to_string());
        $(out.insert(format!("value_of {e}::{}", stringify!($v)), (types::$e::$v as i64).to_string());)*
    }};
}

macro_rules! rust_typedef {
    ($out:expr, $t:ident) => {{
        let out: &mut Facts = $out;
        let t = stringify!($t);
        out.insert(format!("size_of {t}"), size_of::<types::$t>().to_string());
        out.insert(format!("align_of {t}"), align_of::<types::$t>().to_string());
        out.insert(
            format!("prim_of {t}"),
            std::any::type_name::<types::$t>().to_string(),
        );
    }};
}

/// Every Rust-side fact. A field or variant missing here (but present in the real header) fails
/// the test as MISSING, one listed here that the real header lacks fails as EXTRA.
fn rust_facts() -> Facts {
    let mut f = Facts::new();
    rust_layout!(&mut f, "libxl_device_channel", types::libxl_device_channel {
        backend_domid, backend_domname, devid, name, connection, u, u.socket, u.socket.path,
    });
    rust_layout!(&mut f, "libxl_channelinfo", types::libxl_channelinfo {
        backend, backend_id, frontend, frontend_id, devid, state, evtch, rref, connection,
        u, u.pty, u.pty.path,
    });
    rust_layout!(
        &mut f,
        "libxl_enum_string_table",
        types::libxl_enum_string_table { s, v }
    );
    rust_layout!(&mut f, "libxl_asyncop_how", types::libxl_asyncop_how {
        callback, u, u.for_event, u.for_callback,
    });
    rust_enum!(&mut f, libxl_channel_connection [
        LIBXL_CHANNEL_CONNECTION_UNKNOWN, LIBXL_CHANNEL_CONNECTION_PTY,
        LIBXL_CHANNEL_CONNECTION_SOCKET,
    ]);
    rust_enum!(&mut f, libxl_domain_type [
        LIBXL_DOMAIN_TYPE_INVALID, LIBXL_DOMAIN_TYPE_HVM, LIBXL_DOMAIN_TYPE_PV,
        LIBXL_DOMAIN_TYPE_PVH,
    ]);
    rust_enum!(&mut f, libxl_error [
        ERROR_NONSPECIFIC, ERROR_VERSION, ERROR_FAIL, ERROR_NI, ERROR_NOMEM, ERROR_INVAL,
        ERROR_BADFAIL, ERROR_GUEST_TIMEDOUT, ERROR_TIMEDOUT, ERROR_NOPARAVIRT, ERROR_NOT_READY,
        ERROR_OSEVENT_REG_FAIL, ERROR_BUFFERFULL, ERROR_UNKNOWN_CHILD, ERROR_LOCK_FAIL,
        ERROR_JSON_CONFIG_EMPTY, ERROR_DEVICE_EXISTS, ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH,
        ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED, ERROR_VNUMA_CONFIG_INVALID,
        ERROR_DOMAIN_NOTFOUND, ERROR_ABORTED, ERROR_NOTFOUND, ERROR_DOMAIN_DESTROYED,
        ERROR_FEATURE_REMOVED, ERROR_PROTOCOL_ERROR_QMP, ERROR_UNKNOWN_QMP_ERROR,
        ERROR_QMP_GENERIC_ERROR, ERROR_QMP_COMMAND_NOT_FOUND, ERROR_QMP_DEVICE_NOT_ACTIVE,
        ERROR_QMP_DEVICE_NOT_FOUND, ERROR_QEMU_API,
    ]);
    rust_typedef!(&mut f, libxl_domid);
    rust_typedef!(&mut f, libxl_devid);
    rust_typedef!(&mut f, libxl_ev_user);
    f.insert(
        "value_of LIBXL_VERSION".into(),
        types::LIBXL_VERSION.to_string(),
    );
    f.insert(
        "value_of LIBXL_HAVE_DEVICE_CHANNEL".into(),
        types::LIBXL_HAVE_DEVICE_CHANNEL.to_string(),
    );
    f
}

// ------------------------------------------------------------------------------------------
// Functions and globals
// ------------------------------------------------------------------------------------------

struct FnReport {
    compared: usize,
    problems: Vec<String>,
    notes: Vec<String>,
}

/// Every `libxl_*` function of `ours` must be declared identically by the real header, or be
/// listed in `known_additions` (and then must NOT be in the real header).
fn compare_functions(real: &Bindings, ours: &Bindings, known_additions: &[&str]) -> FnReport {
    let mut r = FnReport {
        compared: 0,
        problems: Vec::new(),
        notes: Vec::new(),
    };
    let sig = |name: &str, toks: &[String]| format!("fn {name}{}", pretty(&join(toks)));
    for (name, our_sig) in &ours.functions {
        if !name.starts_with("libxl_") {
            continue;
        }
        match real.functions.get(name) {
            Some(real_sig) => {
                r.compared += 1;
                if real_sig != our_sig {
                    r.problems.push(format!(
                        "SIGNATURE {name}:\n      real libxl.h: {}\n      our header:   {}",
                        sig(name, real_sig),
                        sig(name, our_sig)
                    ));
                }
            }
            None if known_additions.contains(&name.as_str()) => r.notes.push(format!(
                "known addition (not in real 4.17): {}",
                sig(name, our_sig)
            )),
            None => r.problems.push(format!(
                "UNKNOWN   {name}: declared by our header, not by real libxl.h 4.17, and not in \
                 KNOWN_ADDITIONS: {}",
                sig(name, our_sig)
            )),
        }
    }
    for k in known_additions {
        if let Some(s) = real.functions.get(*k) {
            r.problems.push(format!(
                "STALE     {k} is listed in KNOWN_ADDITIONS but real libxl.h declares it: {}",
                sig(k, s)
            ));
        }
    }
    for (name, s) in &real.functions {
        if !ours.functions.contains_key(name) {
            r.notes.push(format!(
                "real channel API not (yet) in our header: {}",
                sig(name, s)
            ));
        }
    }
    r
}

/// `[T ; 0usize]` (C's incomplete `T x[]`) -> `T`; other arrays -> element type too.
fn array_element(ty: &[String]) -> Option<Vec<String>> {
    if ty.first().map(String::as_str) == Some("[") && ty.last().map(String::as_str) == Some("]") {
        let semi = find_top_level(ty, 1, &[";"]);
        Some(ty[1..semi].to_vec())
    } else {
        None
    }
}

/// Every `libxl_*` global of `ours` must exist in the real header with the same mutability and
/// the same type (for arrays: the same element type; the real tables are incomplete `T x[]`).
fn compare_statics(real: &Bindings, ours: &Bindings) -> (usize, Vec<String>, Vec<String>) {
    let (mut compared, mut problems, mut notes) = (0, Vec::new(), Vec::new());
    for (name, (our_mut, our_ty)) in &ours.statics {
        let Some((real_mut, real_ty)) = real.statics.get(name) else {
            problems.push(format!(
                "UNKNOWN global {name}: not declared by real libxl.h"
            ));
            continue;
        };
        compared += 1;
        if real_mut != our_mut {
            problems.push(format!(
                "DIFFERS global {name}: real is {}, ours is {}",
                if *real_mut { "mutable" } else { "const" },
                if *our_mut { "mutable" } else { "const" }
            ));
        }
        match (array_element(real_ty), array_element(our_ty)) {
            (Some(a), Some(b)) => {
                if a != b {
                    problems.push(format!(
                        "DIFFERS global {name} element type: real `{}`, ours `{}`",
                        pretty(&join(&a)),
                        pretty(&join(&b))
                    ));
                }
                if real_ty != our_ty {
                    notes.push(format!(
                        "global {name}: real `{}` (incomplete array), ours `{}`",
                        pretty(&join(real_ty)),
                        pretty(&join(our_ty))
                    ));
                }
            }
            _ if real_ty != our_ty => problems.push(format!(
                "DIFFERS global {name} type: real `{}`, ours `{}`",
                pretty(&join(real_ty)),
                pretty(&join(our_ty))
            )),
            _ => {}
        }
    }
    (compared, problems, notes)
}

// ------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------

/// Real header (clang's layout) vs `xlchannel::ffi::types` (rustc's layout).
#[test]
fn real_header_layout_equals_rust_types() {
    let real = real_facts();
    let (compared, problems) = diff(
        &real,
        "xlchannel::ffi::types",
        &rust_facts(),
        rust_comparable,
    );
    report(
        "real libxl.h vs xlchannel::ffi::types",
        compared,
        &problems,
        80,
    );
}

/// Real header vs our cbindgen header: layout, field types and order, enums, typedefs, macros.
#[test]
fn real_header_equals_our_header() {
    let real = real_facts();
    let ours = ours().facts();
    let (compared, problems) = diff(&real, "include/libxl_channel.h", &ours, |_| true);
    report(
        "real libxl.h vs include/libxl_channel.h (types)",
        compared,
        &problems,
        120,
    );
}

/// Every `libxl_*` function our header declares has the real header's signature.
#[test]
fn function_signatures_equal_real_header() {
    let ours = ours();
    assert!(
        !ours.functions.is_empty(),
        "bindgen found no libxl_* functions in our header"
    );
    let r = compare_functions(real(), ours, KNOWN_ADDITIONS);
    for n in &r.notes {
        println!("note: {n}");
    }
    report(
        "real libxl.h vs include/libxl_channel.h (functions)",
        r.compared,
        &r.problems,
        15,
    );
}

/// `libxl_channel_connection_string_table` (and any other `libxl_*` global of ours) has the real
/// declaration's element type and mutability.
#[test]
fn globals_equal_real_header() {
    let ours = ours();
    assert!(
        ours.statics
            .contains_key("libxl_channel_connection_string_table"),
        "our header does not declare libxl_channel_connection_string_table"
    );
    assert!(
        real()
            .statics
            .contains_key("libxl_channel_connection_string_table"),
        "bindgen found no libxl_channel_connection_string_table in the real header"
    );
    let (compared, problems, notes) = compare_statics(real(), ours);
    for n in &notes {
        println!("note: {n}");
    }
    report(
        "real libxl.h vs include/libxl_channel.h (globals)",
        compared,
        &problems,
        1,
    );
}

// ------------------------------------------------------------------------------------------
// Self-test: the comparisons above can fail
// ------------------------------------------------------------------------------------------

/// A header with three deliberate defects: `name` is an `int`, `libxl_device_channel_dispose`
/// returns `int`, and `libxl_device_channel_frobnicate` does not exist in libxl.
const MUTATED_HEADER: &str = r#"
#include <stdint.h>
typedef struct libxl__ctx libxl_ctx;
typedef uint32_t libxl_domid;
typedef int libxl_devid;
typedef enum libxl_channel_connection {
    LIBXL_CHANNEL_CONNECTION_UNKNOWN = 0,
    LIBXL_CHANNEL_CONNECTION_PTY = 1,
    LIBXL_CHANNEL_CONNECTION_SOCKET = 2,
} libxl_channel_connection;
typedef struct libxl_device_channel {
    libxl_domid backend_domid;
    char * backend_domname;
    libxl_devid devid;
    int name;
    libxl_channel_connection connection;
    union { struct { char * path; } socket; } u;
} libxl_device_channel;
void libxl_device_channel_init(libxl_device_channel *p);
int libxl_device_channel_dispose(libxl_device_channel *p);
void libxl_device_channel_frobnicate(libxl_device_channel *p);
"#;

/// The same defect on the Rust side.
#[repr(C)]
#[allow(dead_code)]
struct MutatedDeviceChannel {
    backend_domid: types::libxl_domid,
    backend_domname: *mut std::os::raw::c_char,
    devid: types::libxl_devid,
    name: std::os::raw::c_int,
    connection: std::os::raw::c_int,
    u: types::libxl_device_channel_u,
}

#[test]
fn self_test_mutations_are_detected() {
    let real_all = real_facts();
    let real_dc: Facts = real_all
        .into_iter()
        .filter(|(k, _)| k.contains(" libxl_device_channel"))
        .collect();
    let expect = |what: &str, problems: &[String], needles: &[&str]| {
        for n in needles {
            assert!(
                problems.iter().any(|p| p.contains(n)),
                "self-test ({what}): a difference in {n:?} was not reported; got:\n  {}",
                problems.join("\n  ")
            );
        }
        println!(
            "self-test ({what}): {} difference(s) detected as expected",
            problems.len()
        );
    };

    // C side: bindgen over the mutated header.
    let out = run_bindgen(
        "mutated self-test header",
        MUTATED_HEADER,
        &["libxl_device_channel"],
        &[],
        &["libxl_.*"],
    );
    let m = Bindings::parse("mutated header", &out);
    let mut mf = Facts::new();
    m.walk("libxl_device_channel", "libxl_device_channel", 0, &mut mf);
    let (_, problems) = diff(&real_dc, "mutated header", &mf, |_| true);
    expect(
        "C layout",
        &problems,
        &[
            "type_of libxl_device_channel.name:",
            "size_of libxl_device_channel.name:",
            "offset_of libxl_device_channel.connection:",
            "offset_of libxl_device_channel.u.socket.path:",
            "size_of libxl_device_channel:",
        ],
    );

    // Rust side: the same comparison as `real_header_layout_equals_rust_types`.
    let mut rf = Facts::new();
    rust_layout!(&mut rf, "libxl_device_channel", MutatedDeviceChannel {
        backend_domid, backend_domname, devid, name, connection, u, u.socket, u.socket.path,
    });
    let (_, problems) = diff(&real_dc, "mutated Rust struct", &rf, rust_comparable);
    expect(
        "Rust layout",
        &problems,
        &[
            "size_of libxl_device_channel.name:",
            "offset_of libxl_device_channel.connection:",
            "offset_of libxl_device_channel.u.socket.path:",
        ],
    );

    // A Rust fact list missing a field is reported too.
    let mut partial = Facts::new();
    rust_layout!(&mut partial, "libxl_device_channel", types::libxl_device_channel {
        backend_domid, backend_domname, devid, name, connection, u, u.socket,
    });
    let (_, problems) = diff(&real_dc, "partial Rust list", &partial, rust_comparable);
    expect(
        "missing fact",
        &problems,
        &["MISSING  offset_of libxl_device_channel.u.socket.path"],
    );

    // Functions: a changed return type and an unknown function.
    let r = compare_functions(real(), &m, &[]);
    expect(
        "functions",
        &r.problems,
        &[
            "SIGNATURE libxl_device_channel_dispose",
            "UNKNOWN   libxl_device_channel_frobnicate",
        ],
    );
    assert!(
        !r.problems
            .iter()
            .any(|p| p.contains("libxl_device_channel_init:")),
        "self-test: the unchanged libxl_device_channel_init was reported: {:?}",
        r.problems
    );
    // A stale KNOWN_ADDITIONS entry (one the real header declares) is reported.
    let r = compare_functions(real(), &m, &["libxl_device_channel_list"]);
    expect(
        "stale known addition",
        &r.problems,
        &["STALE     libxl_device_channel_list"],
    );
}

/// The token reader on a fixed snippet of bindgen 0.72 output.
#[test]
fn self_test_parser() {
    let src = r#"pub type libxl_devid = :: std :: os :: raw :: c_int ;
        pub const ERROR_FAIL : libxl_error = - 3 ;
        # [repr (C)] pub struct S { pub a : u32 , pub cb : :: std :: option :: Option < unsafe extern "C" fn (x : * mut S , y : u32) > , }
        const _ : () = { ["Size of S"] [:: std :: mem :: size_of :: < S > () - 16usize] ;
        ["Alignment of S"] [:: std :: mem :: align_of :: < S > () - 8usize] ;
        ["Offset of field: S::a"] [:: std :: mem :: offset_of ! (S , a) - 0usize] ;
        ["Offset of field: S::cb"] [:: std :: mem :: offset_of ! (S , cb) - 8usize] ; } ;
        unsafe extern "C" { pub fn f (ctx : * mut S , n : u32) -> * mut :: std :: os :: raw :: c_char ; }
        unsafe extern "C" { pub static mut t : [S ; 0usize] ; }"#;
    let b = Bindings::parse("snippet", src);
    assert_eq!(b.layout["Size of S"], 16);
    assert_eq!(b.layout["Offset of field: S::cb"], 8);
    assert_eq!(b.consts["ERROR_FAIL"].1, -3);
    assert_eq!(
        join(&b.aliases["libxl_devid"]),
        ":: std :: os :: raw :: c_int"
    );
    let s = &b.compounds["S"];
    assert_eq!(s.kind, "struct");
    assert_eq!(s.fields.len(), 2);
    assert_eq!(
        join(&s.fields[1].1),
        ":: std :: option :: Option < unsafe extern \"C\" fn ( x : * mut S , y : u32 ) >"
    );
    assert_eq!(
        join(&b.functions["f"]),
        "( * mut S , u32 ) -> * mut :: std :: os :: raw :: c_char"
    );
    assert_eq!(b.statics["t"], (true, tokenize("[S ; 0usize]")));
    let mut f = Facts::new();
    b.walk("S", "S", 0, &mut f);
    assert_eq!(f["offset_of S.cb"], "8");
    assert_eq!(f["size_of S.cb"], size_of::<usize>().to_string());
}
