//! The Julia bindings' low-level layer, `bindings/julia/SCMosaic/src/LibSCMosaic.jl`,
//! is generated from the C header `include/scmosaic.h` by the generator in this
//! file, and must be up to date: regenerate it with `scripts/gen-julia.sh`
//! (sets `SCM_BLESS_JULIA=1`) after the header changes.
//!
//! No Julia runtime is needed. The header is read as cbindgen writes it: its
//! preprocessor conditionals are evaluated for a C99 compiler (so the C++ and
//! C23 branches drop out), `/** */` comments become docstrings, and every
//! declaration must be one of the forms below, else generation fails with a
//! message naming it:
//! - `#define SCM_NAME <integer>` and `enum NAME { VARIANT = <integer>, ... };`
//!   -> `const` integers (enum variants typed by the typedef of the enum's name);
//! - `typedef <integer type> NAME;` -> a Julia type alias;
//! - `typedef struct NAME NAME;` -> an opaque `mutable struct NAME end`;
//! - `typedef R (*NAME)(...);` -> `const NAME = Ptr{Cvoid}` (a C callback);
//! - `R scm_name(T a, ...);` -> one function with one `@ccall`.
//!
//! The second half checks the hand-written layer (`SCMosaic.jl`, `errors.jl`):
//! every low-level function or constant it names exists, and every call passes
//! the header's number of arguments.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::Path;

// ---------------------------------------------------------------------------
// Reading the header

/// A token of the header after comments are removed.
#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// The text of a `/** ... */` comment, without its `*` frame.
    Doc(String),
    /// A preprocessor line (without comments), e.g. `#define SCM_X 1`.
    Directive(String),
    Ident(String),
    Int(i64),
    Str(String),
    Punct(char),
}

/// The text of a doc comment without `/**`, `*/` and the leading ` * ` of
/// each line; surrounding blank lines removed.
fn doc_text(raw: &str) -> String {
    let lines: Vec<String> = raw
        .lines()
        .map(|l| {
            let t = l.trim_start();
            let t = t.strip_prefix('*').unwrap_or(t);
            t.strip_prefix(' ').unwrap_or(t).trim_end().to_string()
        })
        .collect();
    let first = lines.iter().position(|l| !l.is_empty()).unwrap_or(0);
    let last = lines
        .iter()
        .rposition(|l| !l.is_empty())
        .map_or(0, |i| i + 1);
    lines[first..last.max(first)].join("\n")
}

fn parse_int(s: &str) -> Option<i64> {
    let t = s.trim_end_matches(['u', 'U', 'l', 'L']);
    let (neg, t) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t),
    };
    let v = if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else {
        if t.is_empty() || !t.chars().all(|c| c.is_ascii_digit()) {
            return None;
        }
        t.parse().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Splits the header into tokens, doc comments and preprocessor lines.
fn tokenize(src: &str) -> Result<Vec<Tok>, String> {
    let b: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line_start = true;
    let line_of = |pos: usize| b[..pos].iter().filter(|&&c| c == '\n').count() + 1;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('*') {
            let end = (i + 2..b.len().saturating_sub(1))
                .find(|&k| b[k] == '*' && b[k + 1] == '/')
                .ok_or_else(|| format!("line {}: unterminated comment", line_of(i)))?;
            let body: String = b[i + 2..end].iter().collect();
            // `/**` opens a doc comment (but `/**/` is empty).
            if let Some(doc) = body.strip_prefix('*') {
                out.push(Tok::Doc(doc_text(doc)));
            }
            i = end + 2;
        } else if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '#' && line_start {
            let mut line = String::new();
            while i < b.len() && b[i] != '\n' {
                if b[i] == '/' && matches!(b.get(i + 1), Some('/') | Some('*')) {
                    // A comment after a directive runs to the end of the line
                    // in cbindgen's output.
                    while i < b.len() && b[i] != '\n' {
                        i += 1;
                    }
                    break;
                }
                if b[i] == '\\' && b.get(i + 1) == Some(&'\n') {
                    return Err(format!(
                        "line {}: continued preprocessor lines are not supported",
                        line_of(i)
                    ));
                }
                line.push(b[i]);
                i += 1;
            }
            out.push(Tok::Directive(line.trim().to_string()));
        } else if c == '\n' {
            line_start = true;
            i += 1;
            continue;
        } else if c.is_whitespace() {
            i += 1;
            continue;
        } else if c == '"' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i] != '"' {
                i += if b[i] == '\\' { 2 } else { 1 };
            }
            out.push(Tok::Str(b[start..i.min(b.len())].iter().collect()));
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric()) {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            let v = parse_int(&text)
                .ok_or_else(|| format!("line {}: bad integer '{text}'", line_of(start)))?;
            out.push(Tok::Int(v));
        } else if "(){}[]*,;=:-".contains(c) {
            out.push(Tok::Punct(c));
            i += 1;
        } else {
            return Err(format!("line {}: unexpected character '{c}'", line_of(i)));
        }
        line_start = false;
    }
    Ok(out)
}

/// The value of a `#if` condition for a C99 compiler. cbindgen writes only a
/// few (its C++ and C23 variants); any other is an error naming it.
fn eval_condition(expr: &str) -> Result<bool, String> {
    match expr
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .as_str()
    {
        "defined(__cplusplus) || __STDC_VERSION__ >= 202311L" | "__STDC_VERSION__ >= 202311L" => {
            Ok(false)
        }
        "defined(__cplusplus)" => Ok(false),
        _ => Err(format!(
            "unsupported '#if {expr}' (add its C99 value to eval_condition in tests/julia_abi.rs)"
        )),
    }
}

/// An item of the header after preprocessing.
#[derive(Clone, Debug, PartialEq)]
enum Item {
    Tok(Tok),
    /// `#define NAME VALUE` in an active region.
    Define(String, String),
}

/// Runs the header's conditionals for a C99 compiler (`__cplusplus`
/// undefined) and returns the active tokens and `#define`s in order.
fn preprocess(toks: Vec<Tok>) -> Result<Vec<Item>, String> {
    let mut macros: BTreeSet<String> = BTreeSet::new();
    // (this branch active, some branch of this #if already taken)
    let mut stack: Vec<(bool, bool)> = Vec::new();
    let active = |stack: &Vec<(bool, bool)>| stack.iter().all(|&(a, _)| a);
    let mut out = Vec::new();
    for tok in toks {
        let Tok::Directive(d) = tok else {
            if active(&stack) {
                out.push(Item::Tok(tok));
            }
            continue;
        };
        let body = d.trim_start_matches('#').trim();
        let (word, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
        let rest = rest.trim();
        let parent = active(&stack);
        match word {
            "ifdef" | "ifndef" | "if" => {
                let v = match word {
                    "ifdef" => macros.contains(rest),
                    "ifndef" => !macros.contains(rest),
                    _ => parent && eval_condition(rest)?,
                };
                stack.push((v, v));
            }
            "elif" => {
                let (_, taken) = stack.pop().ok_or("#elif without #if")?;
                let parent = active(&stack);
                let v = !taken && parent && eval_condition(rest)?;
                stack.push((v, taken || v));
            }
            "else" => {
                let (_, taken) = stack.pop().ok_or("#else without #if")?;
                stack.push((!taken, true));
            }
            "endif" => {
                stack.pop().ok_or("#endif without #if")?;
            }
            _ if !parent => {}
            "define" => {
                let (name, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
                if name.contains('(') {
                    return Err(format!("function-like macro '{d}' is not supported"));
                }
                macros.insert(name.to_string());
                out.push(Item::Define(name.to_string(), value.trim().to_string()));
            }
            "include" => {}
            _ => return Err(format!("unsupported preprocessor line '{d}'")),
        }
    }
    if !stack.is_empty() {
        return Err("unterminated #if".into());
    }
    Ok(out)
}

/// A C type as words and `*` (`const char *const *` -> `["const", "char",
/// "*", "const", "*"]`).
#[derive(Clone, Debug, PartialEq)]
struct CType(Vec<String>);

impl CType {
    /// `const char *const *`.
    fn render(&self) -> String {
        let mut s = String::new();
        for t in &self.0 {
            if t == "*" {
                s.push_str(if s.ends_with('*') { "*" } else { " *" });
            } else {
                if !s.is_empty() && !s.ends_with('*') {
                    s.push(' ');
                }
                s.push_str(t);
            }
        }
        s
    }
    fn depth(&self) -> usize {
        self.0.iter().filter(|t| *t == "*").count()
    }
    /// The base type (words before the first `*`, without `const`).
    fn base(&self) -> String {
        let words: Vec<&str> = self
            .0
            .iter()
            .take_while(|t| *t != "*")
            .filter(|t| *t != "const" && *t != "volatile")
            .map(|s| s.as_str())
            .collect();
        words.join(" ")
    }
    /// Whether the pointee of the outermost pointer is `const` (a `const`
    /// between the previous `*`, or the start, and the last `*`).
    fn pointee_const(&self) -> bool {
        let Some(last) = self.0.iter().rposition(|t| t == "*") else {
            return false;
        };
        let from = self.0[..last]
            .iter()
            .rposition(|t| t == "*")
            .map_or(0, |k| k + 1);
        self.0[from..last].iter().any(|t| t == "const")
    }
}

#[derive(Clone, Debug, PartialEq)]
struct Const {
    name: String,
    value: i64,
    /// The Julia type name the value is converted to (`scm_status`), if any.
    typ: Option<String>,
    doc: String,
}

#[derive(Clone, Debug, PartialEq)]
struct Func {
    name: String,
    ret: CType,
    params: Vec<(String, CType)>,
    doc: String,
}

#[derive(Clone, Debug, PartialEq)]
enum TypeDecl {
    /// `typedef int32_t NAME;`
    Alias { name: String, target: String },
    /// `typedef struct NAME NAME;`
    Opaque { name: String },
    /// `typedef R (*NAME)(...);`, with its C spelling.
    Callback { name: String, c: String },
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Header {
    types: Vec<(TypeDecl, String)>,
    consts: Vec<Const>,
    /// Per enum: its name, its variants (indices into `consts`) and its doc.
    enums: Vec<(String, Vec<usize>, String)>,
    funcs: Vec<Func>,
}

impl Header {
    fn type_decl(&self, name: &str) -> Option<&TypeDecl> {
        self.types.iter().map(|(t, _)| t).find(|t| match t {
            TypeDecl::Alias { name: n, .. }
            | TypeDecl::Opaque { name: n }
            | TypeDecl::Callback { name: n, .. } => n == name,
        })
    }
    fn func(&self, name: &str) -> Option<&Func> {
        self.funcs.iter().find(|f| f.name == name)
    }
}

fn tok_text(t: &Tok) -> String {
    match t {
        Tok::Ident(s) => s.clone(),
        Tok::Int(v) => v.to_string(),
        Tok::Punct(c) => c.to_string(),
        Tok::Str(s) => format!("\"{s}\""),
        Tok::Doc(_) => "/** */".into(),
        Tok::Directive(d) => d.clone(),
    }
}

fn stmt_text(toks: &[Tok]) -> String {
    toks.iter()
        .filter(|t| !matches!(t, Tok::Doc(_)))
        .map(tok_text)
        .collect::<Vec<_>>()
        .join(" ")
}

/// A type and a name from `const char *const *names` (the name is the last word).
fn declaration(toks: &[Tok]) -> Result<(String, CType), String> {
    let words: Vec<String> = toks
        .iter()
        .map(|t| match t {
            Tok::Ident(s) => Ok(s.clone()),
            Tok::Punct('*') => Ok("*".to_string()),
            other => Err(format!("unexpected '{}' in a declaration", tok_text(other))),
        })
        .collect::<Result<_, _>>()?;
    let Some((name, ty)) = words.split_last() else {
        return Err("empty declaration".into());
    };
    if name == "*" || ty.is_empty() || ty.iter().all(|w| w == "const") {
        return Err(format!(
            "'{}' needs a type and a name (unnamed parameters are not supported)",
            words.join(" ")
        ));
    }
    Ok((name.clone(), CType(ty.to_vec())))
}

/// `const char *name, size_t n` (`void` when empty).
fn render_params(params: &[(String, CType)]) -> String {
    if params.is_empty() {
        return "void".into();
    }
    params
        .iter()
        .map(|(n, t)| {
            let r = t.render();
            if r.ends_with('*') {
                format!("{r}{n}")
            } else {
                format!("{r} {n}")
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Splits at commas outside parentheses.
fn split_commas(toks: &[Tok]) -> Vec<&[Tok]> {
    let mut parts = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (k, t) in toks.iter().enumerate() {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            Tok::Punct(',') if depth == 0 => {
                parts.push(&toks[start..k]);
                start = k + 1;
            }
            _ => {}
        }
    }
    parts.push(&toks[start..]);
    parts
}

fn params(toks: &[Tok]) -> Result<Vec<(String, CType)>, String> {
    if toks.is_empty() || toks == [Tok::Ident("void".into())] {
        return Ok(Vec::new());
    }
    split_commas(toks).into_iter().map(declaration).collect()
}

/// Index of the `)` matching the `(` at `open`.
fn close_paren(toks: &[Tok], open: usize) -> Option<usize> {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(k);
                }
            }
            _ => {}
        }
    }
    None
}

fn parse_enum(stmt: &[Tok], doc: String, h: &mut Header) -> Result<(), String> {
    let err = || format!("unsupported enum: {}", stmt_text(stmt));
    let (Some(Tok::Ident(name)), Some(Tok::Punct('{')), Some(Tok::Punct('}'))) =
        (stmt.get(1), stmt.get(2), stmt.last())
    else {
        return Err(err());
    };
    let body = &stmt[3..stmt.len() - 1];
    let mut variants = Vec::new();
    let mut pending = String::new();
    for part in split_commas(body) {
        let mut rest = part;
        while let Some(Tok::Doc(d)) = rest.first() {
            pending = d.clone();
            rest = &rest[1..];
        }
        if rest.is_empty() {
            continue; // the trailing comma
        }
        let value = match rest {
            [Tok::Ident(_), Tok::Punct('='), Tok::Int(v)] => *v,
            [Tok::Ident(_), Tok::Punct('='), Tok::Punct('-'), Tok::Int(v)] => -*v,
            _ => {
                return Err(format!(
                    "enum {name}: unsupported variant '{}'",
                    stmt_text(rest)
                ))
            }
        };
        let Tok::Ident(vname) = &rest[0] else {
            unreachable!()
        };
        variants.push(h.consts.len());
        h.consts.push(Const {
            name: vname.clone(),
            value,
            typ: Some(name.clone()),
            doc: std::mem::take(&mut pending),
        });
    }
    h.enums.push((name.clone(), variants, doc));
    Ok(())
}

fn parse_statement(stmt: &[Tok], doc: String, h: &mut Header) -> Result<(), String> {
    let text = stmt_text(stmt);
    match stmt.first() {
        Some(Tok::Ident(w)) if w == "enum" => parse_enum(stmt, doc, h),
        Some(Tok::Ident(w)) if w == "typedef" => {
            let rest = &stmt[1..];
            if let Some(open) = rest.iter().position(|t| *t == Tok::Punct('(')) {
                // typedef R (*NAME)(PARAMS)
                let bad = || format!("unsupported typedef: {text}");
                let (Some(Tok::Punct('*')), Some(Tok::Ident(name)), Some(Tok::Punct(')'))) =
                    (rest.get(open + 1), rest.get(open + 2), rest.get(open + 3))
                else {
                    return Err(bad());
                };
                let args_open = open + 4;
                if rest.get(args_open) != Some(&Tok::Punct('(')) || open == 0 {
                    return Err(bad());
                }
                let close = close_paren(rest, args_open)
                    .filter(|&c| c + 1 == rest.len())
                    .ok_or_else(bad)?;
                let ret = CType(
                    rest[..open]
                        .iter()
                        .map(|t| match t {
                            Tok::Ident(w) => Ok(w.clone()),
                            Tok::Punct('*') => Ok("*".to_string()),
                            _ => Err(bad()),
                        })
                        .collect::<Result<_, _>>()?,
                );
                let ps = params(&rest[args_open + 1..close])?;
                let c = format!("typedef {} (*{name})({})", ret.render(), render_params(&ps));
                h.types.push((
                    TypeDecl::Callback {
                        name: name.clone(),
                        c,
                    },
                    doc,
                ));
                return Ok(());
            }
            match rest {
                [Tok::Ident(s), Tok::Ident(a), Tok::Ident(b)] if s == "struct" && a == b => {
                    h.types.push((TypeDecl::Opaque { name: a.clone() }, doc));
                    Ok(())
                }
                [Tok::Ident(target), Tok::Ident(name)] => {
                    h.types.push((
                        TypeDecl::Alias {
                            name: name.clone(),
                            target: target.clone(),
                        },
                        doc,
                    ));
                    Ok(())
                }
                _ => Err(format!("unsupported typedef: {text}")),
            }
        }
        _ => {
            let open = stmt
                .iter()
                .position(|t| *t == Tok::Punct('('))
                .ok_or_else(|| format!("unsupported declaration: {text}"))?;
            let close = close_paren(stmt, open)
                .filter(|&c| c + 1 == stmt.len())
                .ok_or_else(|| format!("unsupported declaration: {text}"))?;
            let (name, ret) = declaration(&stmt[..open])?;
            let params = params(&stmt[open + 1..close]).map_err(|e| format!("{name}: {e}"))?;
            h.funcs.push(Func {
                name,
                ret,
                params,
                doc,
            });
            Ok(())
        }
    }
}

/// Reads the header: every constant, type and function, with its doc comment.
fn parse_header(src: &str) -> Result<Header, String> {
    let items = preprocess(tokenize(src)?)?;
    let mut h = Header::default();
    let mut doc = String::new();
    let mut stmt: Vec<Tok> = Vec::new();
    let mut depth = 0;
    for item in items {
        match item {
            Item::Define(name, value) => {
                if !stmt.is_empty() {
                    return Err(format!("#define {name} inside a declaration"));
                }
                let d = std::mem::take(&mut doc);
                // Include guards and other valueless macros are not constants.
                if let Some(v) = parse_int(&value) {
                    h.consts.push(Const {
                        name,
                        value: v,
                        typ: None,
                        doc: d,
                    });
                } else if !value.is_empty() {
                    return Err(format!("#define {name} {value}: not an integer constant"));
                }
            }
            Item::Tok(Tok::Doc(d)) if stmt.is_empty() => doc = d,
            Item::Tok(t) => {
                match t {
                    Tok::Punct('{') => depth += 1,
                    Tok::Punct('}') => depth -= 1,
                    _ => {}
                }
                if t == Tok::Punct(';') && depth == 0 {
                    parse_statement(&stmt, std::mem::take(&mut doc), &mut h)?;
                    stmt.clear();
                } else {
                    stmt.push(t);
                }
            }
        }
    }
    if !stmt.is_empty() {
        return Err(format!("unterminated declaration: {}", stmt_text(&stmt)));
    }
    Ok(h)
}

// ---------------------------------------------------------------------------
// Writing the Julia module

/// The Julia type of a C type, as `@ccall` takes it.
fn julia_type(c: &CType, h: &Header, is_return: bool) -> Result<String, String> {
    let base = c.base();
    let depth = c.depth();
    let err = |why: &str| Err(format!("C type '{}': {why}", c.render()));
    if base == "char" {
        return match (depth, c.pointee_const()) {
            // An input string (or a static string returned).
            (1, true) => Ok("Cstring".into()),
            // An output buffer the library writes into.
            (1, false) if !is_return => Ok("Ptr{UInt8}".into()),
            // `const char *const *`: an array of input strings.
            (2, _) if c.0.iter().filter(|t| *t == "const").count() == 2 => {
                Ok("Ptr{Cstring}".into())
            }
            _ => err("no Julia mapping for this char type"),
        };
    }
    let inner = match base.as_str() {
        "void" if depth == 0 && !is_return => return err("void parameter"),
        "void" => "Cvoid".to_string(),
        "size_t" => "Csize_t".into(),
        "int8_t" => "Int8".into(),
        "uint8_t" => "UInt8".into(),
        "int16_t" => "Int16".into(),
        "uint16_t" => "UInt16".into(),
        "int32_t" => "Int32".into(),
        "uint32_t" => "UInt32".into(),
        "int64_t" => "Int64".into(),
        "uint64_t" => "UInt64".into(),
        "float" => "Cfloat".into(),
        "double" => "Cdouble".into(),
        "bool" => "Bool".into(),
        other => match h.type_decl(other) {
            Some(TypeDecl::Opaque { .. }) if depth == 0 => {
                return err("an opaque type can only be passed behind a pointer")
            }
            Some(_) => other.to_string(),
            None => return err("unknown type (extend julia_type in tests/julia_abi.rs)"),
        },
    };
    let mut t = inner;
    for _ in 0..depth {
        t = format!("Ptr{{{t}}}");
    }
    Ok(t)
}

/// Julia keywords, and names the generated bodies use (`sym`): a C parameter
/// with one of these names gets a trailing `_`.
const JULIA_RESERVED: &str = "abstract baremodule begin break catch const continue do else \
    elseif end export false finally for function global if import let local macro module \
    mutable primitive quote return struct true try using while sym";

fn julia_name(c_name: &str) -> String {
    if JULIA_RESERVED.split_whitespace().any(|w| w == c_name) {
        format!("{c_name}_")
    } else {
        c_name.to_string()
    }
}

/// A docstring: the text escaped for a Julia `"""` string.
fn docstring(out: &mut String, text: &str) {
    let escaped = text
        .replace('\\', "\\\\")
        .replace('$', "\\$")
        .replace("\"\"\"", "\\\"\\\"\\\"");
    let _ = writeln!(out, "\"\"\"\n{escaped}\n\"\"\"");
}

/// `head(` + `parts` joined by `, ` + `tail`, wrapped at 92 columns with an
/// 8-space continuation indent.
fn wrapped(indent: &str, head: &str, parts: &[String], tail: &str) -> String {
    let mut lines = Vec::new();
    let mut line = format!("{indent}{head}");
    for (k, p) in parts.iter().enumerate() {
        let piece = if k + 1 < parts.len() {
            format!("{p},")
        } else {
            format!("{p}{tail}")
        };
        let sep = if k == 0 { "" } else { " " };
        if k > 0 && line.len() + sep.len() + piece.chars().count() > 92 {
            lines.push(line);
            line = format!("{indent}        {piece}");
        } else {
            line.push_str(sep);
            line.push_str(&piece);
        }
    }
    if parts.is_empty() {
        line.push_str(tail);
    }
    lines.push(line);
    lines.join("\n")
}

const PREAMBLE: &str = r#"# GENERATED from include/scmosaic.h by tests/julia_abi.rs: do not edit.
# After a change to the C ABI (src/ffi/, then scripts/gen-header.sh), run
# scripts/gen-julia.sh and commit the result; `cargo test --test julia_abi`
# fails while this file is stale.

"""
    LibSCMosaic

One-to-one `@ccall` bindings of the scmosaic C ABI (`include/scmosaic.h`),
generated from the header: every function of the header has exactly one
wrapper here, with the header's argument order and C types; nothing is
checked or converted beyond what `@ccall` does. The friendly layer is the
parent module `SCMosaic`.

The library is opened at run time ([`load!`](@ref), called from
`SCMosaic.__init__`; see `loader.jl`), so each wrapper calls a function
pointer resolved by `dlsym`: `@ccall \$(sym(:scm_x))(...)`.

Type mapping: `size_t` → `Csize_t`, `int32_t` → `Int32`, `uint32_t` →
`UInt32`, `int64_t` → `Int64`, `uint8_t` → `UInt8`, `float` → `Cfloat`,
`double` → `Cdouble`, input `const char *` → `Cstring`, output `char *buf` →
`Ptr{UInt8}`, `const char *const *` → `Ptr{Cstring}`, `T *` → `Ptr{T}`,
callback types and `void *` → `Ptr{Cvoid}`.
"""
module LibSCMosaic

include("loader.jl")

"#;

/// The Julia module for a header.
fn generate(header_src: &str) -> Result<String, String> {
    let h = parse_header(header_src)?;
    if h.funcs.is_empty() {
        return Err("the header declares no function".into());
    }
    let mut out = String::from(PREAMBLE);
    let section = |out: &mut String, title: &str| {
        let _ = write!(out, "# {}\n# {title}\n\n", "-".repeat(75));
    };

    section(&mut out, "Types");
    for (t, doc) in &h.types {
        // A typedef of an enum's name takes the enum's doc.
        let enum_doc = h.enums.iter().find_map(|(n, _, d)| match t {
            TypeDecl::Alias { name, .. } if name == n && !d.is_empty() => Some(d.as_str()),
            _ => None,
        });
        let doc = match (doc.is_empty(), enum_doc) {
            (false, _) => doc.as_str(),
            (true, Some(d)) => d,
            (true, None) => "(no description in the header)",
        };
        match t {
            TypeDecl::Alias { name, target } => {
                let j = julia_type(&CType(vec![target.clone()]), &h, false)?;
                docstring(&mut out, &format!("C: `typedef {target} {name}`.\n\n{doc}"));
                let _ = writeln!(out, "const {name} = {j}\n");
            }
            TypeDecl::Opaque { name } => {
                docstring(
                    &mut out,
                    &format!("Opaque C type `{name}` (only behind `Ptr`).\n\n{doc}"),
                );
                let _ = writeln!(out, "mutable struct {name} end\n");
            }
            TypeDecl::Callback { name, c } => {
                docstring(
                    &mut out,
                    &format!("C callback type: `{c}`. Pass a `@cfunction` pointer.\n\n{doc}"),
                );
                let _ = writeln!(out, "const {name} = Ptr{{Cvoid}}\n");
            }
        }
    }
    for (name, _, _) in &h.enums {
        if !matches!(h.type_decl(name), Some(TypeDecl::Alias { .. })) {
            return Err(format!(
                "enum {name} has no integer typedef of the same name"
            ));
        }
    }

    section(&mut out, "Constants");
    for c in &h.consts {
        if !c.doc.is_empty() {
            docstring(&mut out, &c.doc);
        }
        match &c.typ {
            Some(t) => {
                let _ = writeln!(out, "const {} = {t}({})\n", c.name, c.value);
            }
            None => {
                let _ = writeln!(out, "const {} = {}\n", c.name, c.value);
            }
        }
    }
    for (name, variants, _) in &h.enums {
        docstring(&mut out, &format!("The name of each `{name}` value."));
        let _ = writeln!(out, "const {name}_names = Dict{{{name},String}}(");
        for &k in variants {
            let c = &h.consts[k];
            let _ = writeln!(out, "    {name}({}) => \"{}\",", c.value, c.name);
        }
        out.push_str(")\n\n");
    }

    section(&mut out, "Functions");
    for f in &h.funcs {
        let names: Vec<String> = f.params.iter().map(|(n, _)| julia_name(n)).collect();
        let ret = julia_type(&f.ret, &h, true).map_err(|e| format!("{}: {e}", f.name))?;
        let args = f
            .params
            .iter()
            .zip(&names)
            .map(|((_, t), n)| {
                julia_type(t, &h, false)
                    .map(|j| format!("{n}::{j}"))
                    .map_err(|e| format!("{}: {e}", f.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let ret_c = f.ret.render();
        let sep = if ret_c.ends_with('*') { "" } else { " " };
        let proto = format!("{ret_c}{sep}{}({})", f.name, render_params(&f.params));
        let doc = if f.doc.is_empty() {
            "(no description in the header)"
        } else {
            &f.doc
        };
        docstring(
            &mut out,
            &format!(
                "    {}({})\n\nC: `{proto}`\n\n{doc}",
                f.name,
                names.join(", ")
            ),
        );
        out.push_str(&wrapped("", &format!("function {}(", f.name), &names, ")"));
        out.push('\n');
        out.push_str(&wrapped(
            "    ",
            &format!("@ccall $(sym(:{}))(", f.name),
            &args,
            &format!(")::{ret}"),
        ));
        out.push_str("\nend\n\n");
    }

    section(&mut out, "Lists");
    docstring(&mut out, "Every constant above, in header order.");
    let consts: Vec<String> = h.consts.iter().map(|c| format!(":{}", c.name)).collect();
    out.push_str(&wrapped("", "const CONSTANTS = (", &consts, ",)"));
    out.push_str("\n\n");
    docstring(
        &mut out,
        "Every function above, in header order: the symbols [`load!`](@ref) resolves.",
    );
    let funcs: Vec<String> = h.funcs.iter().map(|f| format!(":{}", f.name)).collect();
    out.push_str(&wrapped("", "const FUNCTIONS = (", &funcs, ",)"));
    out.push_str("\n\nend # module LibSCMosaic\n");
    Ok(out)
}

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

const GENERATED: &str = "bindings/julia/SCMosaic/src/LibSCMosaic.jl";

#[test]
fn julia_bindings_are_up_to_date() {
    let generated = generate(&read("include/scmosaic.h"))
        .unwrap_or_else(|e| panic!("cannot generate {GENERATED} from include/scmosaic.h: {e}"));
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(GENERATED);
    if std::env::var_os("SCM_BLESS_JULIA").is_some() {
        std::fs::write(&path, &generated).expect("write LibSCMosaic.jl");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{GENERATED} is stale: run scripts/gen-julia.sh and commit the result"
    );
}

#[test]
fn the_real_header_is_read_in_full() {
    let src = read("include/scmosaic.h");
    let h = parse_header(&src).unwrap();
    // Prototypes start a line with a lower-case type; comments and
    // continuation lines start with a space, '/' or '#'.
    let crude = src
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter(|l| !l.starts_with("typedef") && l.contains("scm_") && l.contains('('))
        .count();
    assert!(h.funcs.len() >= 40, "{} functions", h.funcs.len());
    assert_eq!(
        h.funcs.len(),
        crude,
        "prototype count differs from a crude line count"
    );
    let imp = h.func("scm_model_impute").unwrap();
    assert_eq!(imp.params.len(), 8);
    assert_eq!(imp.params[2].1.render(), "const char *");
    assert_eq!(
        h.func("scm_dataset_add_csc").unwrap().params[3].1.render(),
        "const char *const *"
    );
    assert!(h.func("scm_abi_version").unwrap().params.is_empty());
    let value = |n: &str| h.consts.iter().find(|c| c.name == n).map(|c| c.value);
    assert_eq!(value("SCM_STATUS_PANIC"), Some(-1));
    assert_eq!(value("SCM_ABI_VERSION"), Some(1));
    // The C++/C23 branches are gone: one definition of scm_status, an alias.
    let aliases: Vec<_> = h
        .types
        .iter()
        .filter(|(t, _)| matches!(t, TypeDecl::Alias { name, .. } if name == "scm_status"))
        .collect();
    assert_eq!(aliases.len(), 1);
    let jl = generate(&src).unwrap();
    for line in [
        "const scm_status = Int32",
        "mutable struct scm_model end",
        "const scm_progress_fn = Ptr{Cvoid}",
        "const SCM_STATUS_PANIC = scm_status(-1)",
        "    scm_status(-1) => \"SCM_STATUS_PANIC\",",
        "function scm_config_free(config)",
        "    @ccall $(sym(:scm_config_free))(config::Ptr{scm_config})::Cvoid",
        "    @ccall $(sym(:scm_last_error_message))()::Cstring",
    ] {
        assert!(jl.lines().any(|l| l == line), "no line '{line}' in:\n{jl}");
    }
    assert!(jl.contains("modality::Cstring, options_json::Cstring"));
    assert!(jl.contains("mean::Ptr{Cfloat}, mean_len::Csize_t"));
    assert!(jl.contains("buf::Ptr{UInt8}, cap::Csize_t, len::Ptr{Csize_t})::scm_status"));
    assert!(jl.contains("feature_names::Ptr{Cstring}"));
    assert!(jl.contains("progress::scm_progress_fn, user_data::Ptr{Cvoid}"));
    assert!(jl.contains("out::Ptr{Ptr{scm_model}})::scm_status"));
    assert!(jl.contains("bytes::Ptr{UInt8}, n_bytes::Csize_t"));
}

const FAKE_HEADER: &str = r#"
/* A plain comment mentioning scm_fake(int x); must be ignored. */
#ifndef FAKE_H
#define FAKE_H
#include <stdint.h>
/**
 * One constant, documented: costs $5 \ 2.
 */
#define SCM_ONE 1
#define SCM_HEX 0x10
enum scm_status
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : int32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Fine.
   */
  SCM_STATUS_OK = 0,
  SCM_STATUS_BAD = -1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum scm_status scm_status;
#else
typedef int32_t scm_status;
#endif
#endif
typedef struct scm_thing scm_thing;
typedef int32_t (*scm_cb)(void *user_data, double x);
#ifdef __cplusplus
extern "C" {
#endif
/**
 * The name. // not a comment inside a doc
 */
const char *scm_name(void);
scm_status scm_thing_new(size_t n,
                         scm_thing **out);
scm_status scm_thing_label(const scm_thing *thing, char *buf, size_t cap, size_t *len);
scm_status scm_thing_names(scm_thing *thing, const char *const *names, size_t n, const uint8_t *flags);
scm_status scm_thing_run(scm_thing *thing, scm_cb cb, void *user_data, int32_t end);
void scm_thing_free(scm_thing *thing);
#ifdef __cplusplus
}
#endif
#endif
"#;

#[test]
fn generator_maps_every_declaration_form() {
    let h = parse_header(FAKE_HEADER).unwrap();
    assert_eq!(h.funcs.len(), 6);
    assert!(h.func("scm_fake").is_none());
    assert_eq!(h.consts.len(), 4);
    let jl = generate(FAKE_HEADER).unwrap();
    // Compared with runs of white space as one space (lines are wrapped).
    let flat = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let flat_jl = flat(&jl);
    for needle in [
        "One constant, documented: costs \\$5 \\\\ 2.",
        "const SCM_ONE = 1\n",
        "const SCM_HEX = 16\n",
        "Fine.",
        "const SCM_STATUS_OK = scm_status(0)\n",
        "const SCM_STATUS_BAD = scm_status(-1)\n",
        "const scm_status = Int32\n",
        "mutable struct scm_thing end\n",
        "C callback type: `typedef int32_t (*scm_cb)(void *user_data, double x)`",
        "const scm_cb = Ptr{Cvoid}\n",
        "The name. // not a comment inside a doc",
        "function scm_name()\n    @ccall $(sym(:scm_name))()::Cstring\nend",
        "@ccall $(sym(:scm_thing_new))(n::Csize_t, out::Ptr{Ptr{scm_thing}})::scm_status",
        "(thing::Ptr{scm_thing}, buf::Ptr{UInt8}, cap::Csize_t, len::Ptr{Csize_t})::scm_status",
        "names::Ptr{Cstring}, n::Csize_t, flags::Ptr{UInt8})::scm_status",
        "function scm_thing_run(thing, cb, user_data, end_)",
        "(thing::Ptr{scm_thing}, cb::scm_cb, user_data::Ptr{Cvoid}, end_::Int32)::scm_status",
        "@ccall $(sym(:scm_thing_free))(thing::Ptr{scm_thing})::Cvoid",
        "C: `scm_status scm_thing_label(const scm_thing *thing, char *buf, size_t cap, size_t *len)`",
        "const CONSTANTS = (:SCM_ONE, :SCM_HEX, :SCM_STATUS_OK, :SCM_STATUS_BAD,)",
        "const FUNCTIONS = (:scm_name, :scm_thing_new, :scm_thing_label, :scm_thing_names,",
        "const scm_status_names = Dict{scm_status,String}(\n    scm_status(0) => \"SCM_STATUS_OK\",",
    ] {
        assert!(flat_jl.contains(&flat(needle)), "missing '{needle}' in:\n{jl}");
    }
    // Nothing from the C++ or C23 branches.
    assert!(!jl.contains("extern") && !jl.contains("enum scm_status scm_status"));
    // Every line fits (wrapping works) except docstrings.
    let code_lines = blank_julia(&jl);
    for l in code_lines.lines() {
        assert!(l.trim_end().len() <= 100, "long line: {l}");
    }
}

#[test]
fn generator_rejects_what_it_cannot_map() {
    let cases = [
        // an unknown type
        ("size_t n,", "struct foo n,", "unknown type"),
        // an opaque type by value
        (
            "const scm_thing *thing, char",
            "scm_thing thing, char",
            "behind a pointer",
        ),
        // a char type with no mapping (char **)
        (
            "const char *const *names",
            "char **names",
            "no Julia mapping",
        ),
        // an unnamed parameter
        (
            "size_t cap, size_t *len",
            "size_t, size_t *len",
            "needs a type and a name",
        ),
        // a non-integer constant
        (
            "#define SCM_HEX 0x10",
            "#define SCM_HEX 1.5",
            "not an integer constant",
        ),
        // an unsupported preprocessor line
        (
            "#include <stdint.h>",
            "#pragma once",
            "unsupported preprocessor line",
        ),
        // an unsupported declaration
        (
            "void scm_thing_free(scm_thing *thing);",
            "int scm_global;",
            "unsupported declaration",
        ),
        // an unsupported #if expression
        (
            "#if __STDC_VERSION__ >= 202311L\ntypedef",
            "#if __STDC_VERSION__ + 1\ntypedef",
            "unsupported '#if __STDC_VERSION__ + 1'",
        ),
    ];
    for (from, to, why) in cases {
        assert!(FAKE_HEADER.contains(from), "{from}");
        let bad = FAKE_HEADER.replacen(from, to, 1);
        let err = generate(&bad).expect_err(to);
        assert!(err.contains(why), "'{to}': expected '{why}', got '{err}'");
    }
}

#[test]
fn conditions_follow_c99() {
    for expr in [
        "defined(__cplusplus) || __STDC_VERSION__ >= 202311L",
        "__STDC_VERSION__  >= 202311L",
    ] {
        assert_eq!(eval_condition(expr), Ok(false), "{expr}");
    }
    assert!(eval_condition("__STDC_VERSION__ >= 199901L").is_err());
}

// ---------------------------------------------------------------------------
// The hand-written Julia layer against the generated one

/// Blanks out Julia comments (`#`, nested `#= =#`) and the contents of string
/// literals (keeping the quotes and newlines), so that neither can fake or
/// hide a call.
fn blank_julia(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out: Vec<char> = Vec::with_capacity(b.len());
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == '#' && b.get(i + 1) == Some(&'=') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '#' && b.get(i + 1) == Some(&'=') {
                    depth += 1;
                    out.extend([' ', ' ']);
                    i += 2;
                } else if b[i] == '=' && b.get(i + 1) == Some(&'#') {
                    depth -= 1;
                    out.extend([' ', ' ']);
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == '\'' && is_char_literal_start(&out) {
            // A character literal such as '"' or '#' (not the adjoint operator).
            out.push('\'');
            i += 1;
            while i < b.len() && b[i] != '\'' && b[i] != '\n' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            if i < b.len() && b[i] == '\'' {
                out.push('\'');
                i += 1;
            }
        } else if c == '#' {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '"' {
            let triple = b.get(i + 1) == Some(&'"') && b.get(i + 2) == Some(&'"');
            let q = if triple { 3 } else { 1 };
            out.extend(std::iter::repeat_n('"', q));
            i += q;
            while i < b.len() {
                if b[i] == '\\' {
                    out.push(' ');
                    if i + 1 < b.len() {
                        out.push(blank(b[i + 1]));
                    }
                    i += 2;
                } else if b[i] == '"'
                    && (!triple || (b.get(i + 1) == Some(&'"') && b.get(i + 2) == Some(&'"')))
                {
                    out.extend(std::iter::repeat_n('"', q));
                    i += q;
                    break;
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out.into_iter().collect()
}

/// Whether a `'` after `prev` opens a character literal: it is the adjoint
/// operator after an identifier, a closing bracket, a `'` or a `.`.
fn is_char_literal_start(prev: &[char]) -> bool {
    match prev.iter().rev().find(|c| !c.is_whitespace()) {
        None => true,
        Some(c) => !(c.is_alphanumeric() || matches!(c, '_' | ')' | ']' | '}' | '\'' | '.')),
    }
}

/// The number of top-level arguments of the call whose `(` is at `open`, and
/// the index just past its `)`.
fn call_args(b: &[char], open: usize) -> Option<(usize, usize)> {
    let (mut depth, mut commas, mut any) = (0, 0, false);
    for (k, &ch) in b.iter().enumerate().skip(open) {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some((if any { commas + 1 } else { 0 }, k + 1));
                }
            }
            ',' if depth == 1 => commas += 1,
            ';' if depth == 1 => return None, // keyword arguments: not used here
            c if depth >= 1 && !c.is_whitespace() => any = true,
            _ => {}
        }
    }
    None
}

/// The helpers of `SCMosaic.jl` that call a low-level function `f` passed as
/// their first argument, and how many of their arguments precede `f`'s own
/// (`_out(f, T, args...)` calls `f(args..., out)`).
const HELPERS: &[(&str, usize)] = &[("_out", 2), ("_count", 1)];

/// Checks every use of the low-level layer in a hand-written Julia file: each
/// `L.name` / `LibSCMosaic.name` names a generated function or constant (or
/// a loader function), and each call passes the header's number of
/// arguments, directly or through a helper of `HELPERS`. Returns the problems
/// and the functions used.
fn check_uses(file: &str, src: &str, h: &Header, loader: &[&str]) -> (Vec<String>, Vec<String>) {
    let text = blank_julia(src);
    let b: Vec<char> = text.chars().collect();
    let line_of = |pos: usize| b[..pos].iter().filter(|&&c| c == '\n').count() + 1;
    let mut errors = Vec::new();
    let mut used = Vec::new();
    let consts: Vec<&str> = h.consts.iter().map(|c| c.name.as_str()).collect();
    let types: Vec<String> = h
        .types
        .iter()
        .map(|(t, _)| match t {
            TypeDecl::Alias { name, .. }
            | TypeDecl::Opaque { name }
            | TypeDecl::Callback { name, .. } => name.clone(),
        })
        .collect();
    for prefix in ["L.", "LibSCMosaic."] {
        let p: Vec<char> = prefix.chars().collect();
        let mut i = 0;
        while i + p.len() <= b.len() {
            let starts = b[i..].starts_with(&p)
                && (i == 0 || !(b[i - 1].is_alphanumeric() || b[i - 1] == '_' || b[i - 1] == '.'));
            if !starts {
                i += 1;
                continue;
            }
            let s = i + p.len();
            let mut e = s;
            while e < b.len() && (b[e].is_alphanumeric() || b[e] == '_' || b[e] == '!') {
                e += 1;
            }
            let name: String = b[s..e].iter().collect();
            let at = format!("{file} line {}", line_of(i));
            i = e;
            if name.is_empty() && b.get(e) == Some(&'$') {
                continue; // `L.$name` in metaprogramming over L.CONSTANTS
            }
            if let Some(f) = h.func(&name) {
                used.push(name.clone());
                let want = f.params.len();
                if b.get(e) == Some(&'(') {
                    match call_args(&b, e) {
                        Some((n, _)) if n == want => {}
                        Some((n, _)) => errors.push(format!(
                            "{at}: {name} called with {n} arguments, the header has {want}"
                        )),
                        None => errors.push(format!("{at}: cannot read the call of {name}")),
                    }
                    continue;
                }
                // Passed as a value: it must be the first argument of a helper.
                let mut k = s - p.len();
                while k > 0 && b[k - 1].is_whitespace() {
                    k -= 1;
                }
                let helper = (k > 0 && b[k - 1] == '(').then(|| {
                    let mut j = k - 1;
                    while j > 0 && (b[j - 1].is_alphanumeric() || b[j - 1] == '_') {
                        j -= 1;
                    }
                    (b[j..k - 1].iter().collect::<String>(), k - 1)
                });
                match helper.and_then(|(hn, open)| {
                    HELPERS
                        .iter()
                        .find(|(n, _)| *n == hn)
                        .map(|&(n, before)| (n, before, open))
                }) {
                    Some((hn, before, open)) => match call_args(&b, open) {
                        Some((n, _)) if n >= before && n - before + 1 == want => {}
                        Some((n, _)) => errors.push(format!(
                            "{at}: {name} through {hn} gets {} arguments, the header has {want}",
                            (n + 1).saturating_sub(before)
                        )),
                        None => errors.push(format!("{at}: cannot read the call of {hn}")),
                    },
                    None => errors.push(format!(
                        "{at}: {name} is used as a value outside {:?}: its arguments cannot be checked",
                        HELPERS.iter().map(|h| h.0).collect::<Vec<_>>()
                    )),
                }
            } else if !(consts.contains(&name.as_str())
                || types.contains(&name)
                || loader.contains(&name.as_str())
                || h.enums.iter().any(|(e, _, _)| format!("{e}_names") == name))
            {
                errors.push(format!("{at}: LibSCMosaic has no '{name}'"));
            }
        }
    }
    if text.contains("@ccall") {
        errors.push(format!("{file}: calls @ccall directly (use LibSCMosaic)"));
    }
    (errors, used)
}

/// What `loader.jl` defines for the rest of the package.
const LOADER: &[&str] = &[
    "HANDLE",
    "PATH",
    "SYMBOLS",
    "CONSTANTS",
    "FUNCTIONS",
    "wrapped_functions",
    "load!",
    "unload!",
    "isloaded",
    "sym",
];

#[test]
fn high_level_layer_calls_only_generated_functions_with_their_arity() {
    let h = parse_header(&read("include/scmosaic.h")).unwrap();
    let loader = read("bindings/julia/SCMosaic/src/loader.jl");
    for name in LOADER {
        if !["CONSTANTS", "FUNCTIONS"].contains(name) {
            assert!(
                loader.contains(&format!("function {name}("))
                    || loader.contains(&format!("const {name} ="))
                    || loader.contains(&format!("{name}() =")),
                "loader.jl does not define {name}"
            );
        }
    }
    let mut all_errors = Vec::new();
    let mut used = Vec::new();
    for file in ["SCMosaic.jl", "errors.jl"] {
        let src = read(&format!("bindings/julia/SCMosaic/src/{file}"));
        let (e, u) = check_uses(file, &src, &h, LOADER);
        all_errors.extend(e);
        used.extend(u);
    }
    assert!(
        all_errors.is_empty(),
        "the Julia layer disagrees with the header:\n  {}",
        all_errors.join("\n  ")
    );
    // Every C function is reachable from the friendly layer, so a function
    // added to the ABI needs a Julia wrapper (or a line here saying why not).
    let not_wrapped: &[&str] = &[
        // Julia's sparse matrices are CSC: add_modality! uses scm_dataset_add_csc.
        "scm_dataset_add_csr",
    ];
    let missing: Vec<&str> = h
        .funcs
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| !used.iter().any(|u| u == n) && !not_wrapped.contains(n))
        .collect();
    assert!(
        missing.is_empty(),
        "SCMosaic.jl does not use {missing:?}: wrap them (or list them in not_wrapped)"
    );
    // The check is not vacuous.
    assert!(used.len() >= h.funcs.len());
}

#[test]
fn use_checker_reports_bad_calls() {
    let h = parse_header(FAKE_HEADER).unwrap();
    let good = r#"
        n(t) = _count(L.scm_thing_label, t, C_NULL, 0)   # 3 + out
        t() = _out(L.scm_thing_new, Ptr{L.scm_thing}, 3)
        free(t) = L.scm_thing_free(t)
        ok(s) = s == L.SCM_STATUS_OK || L.scm_status_names[s]
        s = "L.scm_gone(1, 2) in a string is ignored"  # L.scm_gone() too
        "#;
    let (errors, used) = check_uses("good.jl", good, &h, LOADER);
    assert!(errors.is_empty(), "{errors:#?}");
    assert_eq!(used, ["scm_thing_label", "scm_thing_new", "scm_thing_free"]);
    for (bad, why) in [
        (
            "L.scm_thing_free(t, 1)",
            "called with 2 arguments, the header has 1",
        ),
        (
            "_count(L.scm_thing_label, t)",
            "through _count gets 2 arguments, the header has 4",
        ),
        (
            "_out(L.scm_thing_new, T)",
            "through _out gets 1 arguments, the header has 2",
        ),
        ("f = L.scm_thing_free", "used as a value"),
        ("L.scm_gone()", "LibSCMosaic has no 'scm_gone'"),
        (
            "L.SCM_STATUS_WORSE",
            "LibSCMosaic has no 'SCM_STATUS_WORSE'",
        ),
        ("@ccall f()::Cvoid", "calls @ccall directly"),
    ] {
        let (errors, _) = check_uses("bad.jl", bad, &h, LOADER);
        assert!(
            errors.iter().any(|e| e.contains(why)),
            "'{bad}': expected '{why}', got {errors:?}"
        );
    }
}
