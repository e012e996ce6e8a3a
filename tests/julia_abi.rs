//! The Julia wrapper's low-level layer (`bindings/julia/SCMosaic/src/LibSCMosaic.jl`)
//! must match the C header `include/scmosaic.h` one-to-one.
//!
//! No Julia runtime is needed: the header's prototypes and the wrapper's
//! `@ccall`s are both parsed here and compared through an explicit C-to-Julia
//! type table. Every header function needs exactly one `@ccall` (and every
//! `@ccall` a header function), with the same number of arguments, compatible
//! argument and return types and the same pointer depth. The header's numeric
//! constants (`#define SCM_...` and enum variants), typedef aliases and opaque
//! structs must be declared in the wrapper with the same values. Every mismatch
//! is reported, not only the first.

use std::collections::BTreeMap;
use std::path::Path;

/// A C type as a token list (`const char * const *` -> `["const", "char",
/// "*", "const", "*"]`).
#[derive(Clone, Debug, PartialEq)]
struct CType {
    tokens: Vec<String>,
}

impl CType {
    fn parse(text: &str) -> Result<CType, String> {
        let mut tokens = Vec::new();
        let mut word = String::new();
        for ch in text.chars() {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                word.push(ch);
                continue;
            }
            if !word.is_empty() {
                tokens.push(std::mem::take(&mut word));
            }
            match ch {
                '*' => tokens.push("*".into()),
                c if c.is_whitespace() => {}
                c => return Err(format!("unsupported character '{c}' in C type '{text}'")),
            }
        }
        if !word.is_empty() {
            tokens.push(word);
        }
        if tokens.is_empty() {
            return Err(format!("empty C type in '{text}'"));
        }
        Ok(CType { tokens })
    }

    /// Normalised spelling: `const char *const *`.
    fn render(&self) -> String {
        let mut s = String::new();
        for t in &self.tokens {
            if t == "*" {
                s.push_str(if s.ends_with('*') { "*" } else { " *" });
            } else {
                if s.ends_with('*') {
                    // `*const`
                } else if !s.is_empty() {
                    s.push(' ');
                }
                s.push_str(t);
            }
        }
        s.trim().to_string()
    }

    /// Pointer depth.
    fn depth(&self) -> usize {
        self.tokens.iter().filter(|t| *t == "*").count()
    }

    /// The base type words (before the first `*`, qualifiers removed).
    fn base(&self) -> String {
        self.tokens
            .iter()
            .take_while(|t| *t != "*")
            .filter(|t| !is_qualifier(t))
            .cloned()
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Whether the pointee of the outermost pointer chain's base is `const`
    /// (`const char *`, `char const *`).
    fn base_is_const(&self) -> bool {
        self.tokens
            .iter()
            .take_while(|t| *t != "*")
            .any(|t| t == "const")
    }
}

fn is_qualifier(t: &str) -> bool {
    matches!(t, "const" | "volatile" | "restrict" | "struct" | "enum")
}

/// Words that can only be part of a type, never a parameter name.
fn is_type_word(t: &str) -> bool {
    matches!(
        t,
        "const"
            | "volatile"
            | "restrict"
            | "struct"
            | "enum"
            | "unsigned"
            | "signed"
            | "short"
            | "long"
            | "int"
            | "char"
            | "void"
            | "float"
            | "double"
    )
}

#[derive(Clone, Debug)]
struct CFunction {
    ret: CType,
    args: Vec<CType>,
}

/// What a header typedef name stands for.
#[derive(Clone, Debug)]
enum Typedef {
    /// `typedef struct X X;`: only usable behind a pointer, Julia declares
    /// `mutable struct X end`.
    Opaque,
    /// `typedef int32_t X;` (or `typedef enum X X;`, an int32 enum here).
    Alias(CType),
    /// `typedef R (*X)(...)`: a function pointer, `Ptr{Cvoid}` in Julia.
    FnPtr,
}

#[derive(Debug, Default)]
struct Header {
    functions: BTreeMap<String, CFunction>,
    constants: BTreeMap<String, i64>,
    typedefs: BTreeMap<String, Typedef>,
}

/// Removes `/* */` and `//` comments (string literals are kept intact).
fn strip_c_comments(src: &str) -> String {
    let b: Vec<char> = src.chars().collect();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' && i + 1 < b.len() {
                    out.push(b[i]);
                    i += 1;
                }
                out.push(b[i]);
                i += 1;
            }
            if i < b.len() {
                out.push('"');
                i += 1;
            }
        } else if b[i] == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if b[i] == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(s);
    let (neg, digits) = match s.strip_prefix('-') {
        Some(d) => (true, d.trim()),
        None => (false, s),
    };
    let digits = digits.trim_end_matches(['u', 'U', 'l', 'L']);
    let v = if let Some(h) = digits
        .strip_prefix("0x")
        .or_else(|| digits.strip_prefix("0X"))
    {
        i64::from_str_radix(h, 16).ok()?
    } else {
        digits.parse::<i64>().ok()?
    };
    Some(if neg { -v } else { v })
}

/// Splits at commas outside parentheses/braces.
fn split_top_level(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut cur = String::new();
    for ch in s.chars() {
        match ch {
            '(' | '{' | '[' => depth += 1,
            ')' | '}' | ']' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            parts.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    parts.push(cur);
    parts
}

fn trailing_identifier(s: &str) -> Option<(String, String)> {
    let s = s.trim_end();
    let start = s
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || *c == '_')
        .last()
        .map(|(i, _)| i)?;
    let name = &s[start..];
    if name.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        return None;
    }
    Some((s[..start].to_string(), name.to_string()))
}

/// The type of one parameter declaration (`const float *values` -> `const float *`).
fn param_type(decl: &str) -> Result<CType, String> {
    let full = CType::parse(decl)?;
    let last = full.tokens.last().expect("non-empty");
    let has_name = if last == "*" || is_type_word(last) {
        false
    } else {
        // `size_t n` (two non-qualifier words) or `T *name`.
        let before = &full.tokens[..full.tokens.len() - 1];
        before.last().is_some_and(|t| t == "*")
            || before.iter().filter(|t| !is_qualifier(t)).count() >= 1
    };
    if has_name {
        let (ty, _) = trailing_identifier(decl).ok_or_else(|| format!("bad parameter '{decl}'"))?;
        CType::parse(&ty)
    } else {
        Ok(full)
    }
}

fn parse_header(src: &str) -> Result<Header, Vec<String>> {
    let mut errors = Vec::new();
    let mut h = Header::default();
    let text = strip_c_comments(src);
    // Numeric #defines, then drop every preprocessor line.
    let mut body = String::new();
    for line in text.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix('#') {
            let rest = rest.trim_start();
            if let Some(def) = rest.strip_prefix("define") {
                let mut it = def.split_whitespace();
                if let (Some(name), Some(value)) = (it.next(), it.next()) {
                    if !name.contains('(') {
                        if let Some(v) = parse_int(value) {
                            h.constants.insert(name.to_string(), v);
                        }
                    }
                }
            }
            body.push('\n');
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    let mut stmts: Vec<&str> = body.split(';').collect();
    stmts.pop(); // text after the last ';' (closing braces of extern "C")
    for stmt in stmts {
        // An enum body: collect its variants.
        if let Some(open) = stmt.find('{') {
            let head = &stmt[..open];
            if head.split_whitespace().any(|w| w == "enum") {
                let close = stmt.rfind('}').unwrap_or(stmt.len());
                for variant in stmt[open + 1..close].split(',') {
                    let variant = variant.trim();
                    if variant.is_empty() {
                        continue;
                    }
                    match variant.split_once('=') {
                        Some((name, value)) => match parse_int(value) {
                            Some(v) => {
                                h.constants.insert(name.trim().to_string(), v);
                            }
                            None => errors.push(format!(
                                "header: enum variant '{variant}' has a non-literal value"
                            )),
                        },
                        None => errors.push(format!(
                            "header: enum variant '{variant}' has no explicit value"
                        )),
                    }
                }
            }
        }
        // Whatever follows the last brace (`extern "C" {`, an enum's `}`).
        let decl = match stmt.rfind(['{', '}']) {
            Some(i) => &stmt[i + 1..],
            None => stmt,
        };
        let decl = decl.split_whitespace().collect::<Vec<_>>().join(" ");
        if decl.is_empty() {
            continue;
        }
        if let Some(rest) = decl.strip_prefix("typedef ") {
            if rest.contains("(*") {
                // typedef R (*name)(args)
                let start = rest.find("(*").expect("checked") + 2;
                let end = rest[start..].find(')').map(|e| start + e);
                match end {
                    Some(end) => {
                        h.typedefs
                            .insert(rest[start..end].trim().to_string(), Typedef::FnPtr);
                    }
                    None => errors.push(format!("header: cannot parse typedef '{decl}'")),
                }
            } else if let Some((target, name)) = trailing_identifier(rest) {
                let target = target.trim();
                if target.starts_with("struct ") && !target.contains('*') {
                    h.typedefs.insert(name, Typedef::Opaque);
                } else if target.starts_with("enum ") {
                    // The enum is declared with the fixed underlying type int32_t.
                    h.typedefs
                        .entry(name)
                        .or_insert_with(|| Typedef::Alias(CType::parse("int32_t").unwrap()));
                } else {
                    match CType::parse(target) {
                        Ok(t) => {
                            h.typedefs.insert(name, Typedef::Alias(t));
                        }
                        Err(e) => errors.push(format!("header: typedef '{decl}': {e}")),
                    }
                }
            } else {
                errors.push(format!("header: cannot parse typedef '{decl}'"));
            }
            continue;
        }
        let Some(open) = decl.find('(') else {
            errors.push(format!("header: unrecognised declaration '{decl}'"));
            continue;
        };
        if !decl.ends_with(')') {
            errors.push(format!("header: unrecognised declaration '{decl}'"));
            continue;
        }
        let Some((ret_text, name)) = trailing_identifier(&decl[..open]) else {
            errors.push(format!("header: no function name in '{decl}'"));
            continue;
        };
        let ret = match CType::parse(&ret_text) {
            Ok(t) => t,
            Err(e) => {
                errors.push(format!("header: {name}: return type: {e}"));
                continue;
            }
        };
        let inner = decl[open + 1..decl.len() - 1].trim();
        let mut args = Vec::new();
        if inner != "void" && !inner.is_empty() {
            for a in split_top_level(inner) {
                match param_type(&a) {
                    Ok(t) => args.push(t),
                    Err(e) => errors.push(format!("header: {name}: parameter '{a}': {e}")),
                }
            }
        }
        if h.functions
            .insert(name.clone(), CFunction { ret, args })
            .is_some()
        {
            errors.push(format!("header: {name} is declared twice"));
        }
    }
    if errors.is_empty() {
        Ok(h)
    } else {
        Err(errors)
    }
}

/// One `@ccall` of the Julia file.
#[derive(Debug)]
struct JlCall {
    name: String,
    line: usize,
    args: Vec<String>,
    ret: String,
}

#[derive(Debug, Default)]
struct JlFile {
    calls: Vec<JlCall>,
    /// `const NAME = value` (value text, whitespace removed).
    consts: BTreeMap<String, String>,
    /// `struct NAME end` / `mutable struct NAME end`.
    structs: Vec<String>,
}

/// Blanks out Julia comments (`#`, nested `#= =#`) and the contents of string
/// literals (keeping the quotes and newlines), so that neither can fake or
/// hide an `@ccall`.
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

/// Index just past the bracket matching the one at `open`.
fn matching(b: &[char], open: usize) -> Option<usize> {
    let (o, c) = match b[open] {
        '(' => ('(', ')'),
        '{' => ('{', '}'),
        '[' => ('[', ']'),
        _ => return None,
    };
    let mut depth = 0;
    for (k, &ch) in b.iter().enumerate().skip(open) {
        if ch == o {
            depth += 1;
        } else if ch == c {
            depth -= 1;
            if depth == 0 {
                return Some(k + 1);
            }
        }
    }
    None
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn parse_julia(src: &str) -> Result<JlFile, Vec<String>> {
    let text = blank_julia(src);
    let b: Vec<char> = text.chars().collect();
    let line_of = |pos: usize| b[..pos].iter().filter(|&&c| c == '\n').count() + 1;
    let mut errors = Vec::new();
    let mut jl = JlFile::default();
    let mut i = 0;
    let pat: Vec<char> = "@ccall".chars().collect();
    while i + pat.len() <= b.len() {
        if b[i..i + pat.len()] != pat[..] {
            i += 1;
            continue;
        }
        let at = i;
        let line = line_of(at);
        i += pat.len();
        // Callee: `$(expr)`, `$name`, `lib.name` or `name`, up to the
        // argument list's '('.
        while i < b.len() && b[i].is_whitespace() {
            i += 1;
        }
        let callee_start = i;
        if b.get(i) == Some(&'$') {
            i += 1;
            if b.get(i) == Some(&'(') {
                match matching(&b, i) {
                    Some(e) => i = e,
                    None => {
                        errors.push(format!("julia line {line}: unbalanced '$(' in @ccall"));
                        break;
                    }
                }
            }
        }
        while i < b.len() && b[i] != '(' && b[i] != '\n' {
            i += 1;
        }
        if b.get(i) != Some(&'(') {
            errors.push(format!(
                "julia line {line}: @ccall without an argument list"
            ));
            continue;
        }
        let callee: String = b[callee_start..i].iter().collect();
        let names: Vec<String> = callee
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| w.starts_with("scm_"))
            .map(str::to_string)
            .collect();
        let Some(end) = matching(&b, i) else {
            errors.push(format!(
                "julia line {line}: unbalanced @ccall argument list"
            ));
            break;
        };
        let arg_text: String = b[i + 1..end - 1].iter().collect();
        i = end;
        // `::RetType`
        while i < b.len() && b[i] == ' ' {
            i += 1;
        }
        let ret = if b.get(i) == Some(&':') && b.get(i + 1) == Some(&':') {
            i += 2;
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == '_' || b[i] == '.') {
                i += 1;
            }
            if b.get(i) == Some(&'{') {
                i = matching(&b, i).unwrap_or(b.len());
            }
            squash(&b[start..i].iter().collect::<String>())
        } else {
            errors.push(format!("julia line {line}: @ccall without a '::RetType'"));
            String::new()
        };
        let name = match names.as_slice() {
            [n] => n.clone(),
            _ => {
                errors.push(format!(
                    "julia line {line}: cannot tell which scm_ function '@ccall {}' calls",
                    callee.trim()
                ));
                continue;
            }
        };
        let mut args = Vec::new();
        if !arg_text.trim().is_empty() {
            if arg_text.contains(';') {
                errors.push(format!(
                    "julia line {line}: {name}: varargs are not expected"
                ));
            }
            for a in split_top_level(&arg_text) {
                match a.rfind("::") {
                    Some(k) => args.push(squash(&a[k + 2..])),
                    None => {
                        errors.push(format!(
                            "julia line {line}: {name}: argument '{}' has no ::Type",
                            a.trim()
                        ));
                        args.push(String::new());
                    }
                }
            }
        }
        jl.calls.push(JlCall {
            name,
            line,
            args,
            ret,
        });
    }
    for line in text.lines() {
        let t = line.trim();
        if let Some(rest) = t.strip_prefix("const ") {
            if let Some((name, value)) = rest.split_once('=') {
                let name = name.trim();
                if let Some(name) = name.split("::").next() {
                    jl.consts.insert(name.trim().to_string(), squash(value));
                }
            }
        }
        let s = t.strip_prefix("mutable ").unwrap_or(t);
        if let Some(rest) = s.strip_prefix("struct ") {
            let mut words = rest.split_whitespace();
            if let (Some(name), Some("end")) = (words.next(), words.next()) {
                jl.structs.push(name.to_string());
            }
        }
    }
    if errors.is_empty() {
        Ok(jl)
    } else {
        Err(errors)
    }
}

/// The Julia spellings allowed for a C base type (no pointers). `None` for a
/// type this table does not know.
fn julia_bases(c_base: &str, h: &Header) -> Option<Vec<String>> {
    let v: &[&str] = match c_base {
        "void" => &["Cvoid"],
        "char" => &["Cchar", "UInt8", "Int8"],
        "signed char" => &["Cchar", "Int8"],
        "unsigned char" => &["Cuchar", "UInt8"],
        "int8_t" => &["Int8"],
        "uint8_t" => &["UInt8"],
        "int16_t" => &["Int16"],
        "uint16_t" => &["UInt16"],
        "int32_t" => &["Int32", "Cint"],
        "uint32_t" => &["UInt32", "Cuint"],
        "int64_t" => &["Int64", "Clonglong"],
        "uint64_t" => &["UInt64", "Culonglong"],
        "int" => &["Cint", "Int32"],
        "unsigned int" => &["Cuint", "UInt32"],
        "size_t" => &["Csize_t"],
        "ptrdiff_t" => &["Cptrdiff_t"],
        "float" => &["Cfloat", "Float32"],
        "double" => &["Cdouble", "Float64"],
        "bool" | "_Bool" => &["Bool"],
        _ => {
            return match h.typedefs.get(c_base)? {
                Typedef::Opaque => Some(vec![c_base.to_string()]),
                Typedef::Alias(t) if t.depth() == 0 => {
                    let mut v = julia_bases(&t.base(), h)?;
                    v.insert(0, c_base.to_string());
                    Some(v)
                }
                // Pointer aliases and function pointers are handled by the caller.
                _ => None,
            };
        }
    };
    Some(v.iter().map(|s| s.to_string()).collect())
}

/// A Julia type seen as (pointer depth, innermost name, innermost is `Cstring`).
fn julia_shape(t: &str) -> (usize, String, bool) {
    let mut depth = 0;
    let mut cur = t;
    while let Some(inner) = cur.strip_prefix("Ptr{").and_then(|x| x.strip_suffix('}')) {
        depth += 1;
        cur = inner;
    }
    let cur = cur.strip_prefix("Base.").unwrap_or(cur);
    if cur == "Cstring" {
        (depth + 1, "char".into(), true)
    } else {
        (depth, cur.to_string(), false)
    }
}

/// Checks one C type against one Julia type; `Err` describes the mismatch.
fn compatible(c: &CType, julia: &str, h: &Header, is_return: bool) -> Result<(), String> {
    let c_text = c.render();
    // A typedef naming a pointer (function pointers included) becomes a pointer.
    let (c_depth, c_base, c_const) = match h.typedefs.get(&c.base()) {
        Some(Typedef::FnPtr) => (c.depth() + 1, "void".to_string(), false),
        Some(Typedef::Alias(t)) if t.depth() > 0 => {
            (c.depth() + t.depth(), t.base(), t.base_is_const())
        }
        _ => (c.depth(), c.base(), c.base_is_const()),
    };
    let (j_depth, j_base, j_cstring) = julia_shape(julia);
    if julia.starts_with("Ref{") {
        return Err(format!(
            "'{julia}' for C '{c_text}': use Ptr{{...}} in LibSCMosaic (Ref converts to it at the call)"
        ));
    }
    if c_depth != j_depth {
        return Err(format!(
            "pointer depth differs: C '{c_text}' has {c_depth}, Julia '{julia}' has {j_depth}"
        ));
    }
    if j_cstring {
        if c_base != "char" {
            return Err(format!(
                "Cstring in '{julia}' for C '{c_text}' (not a char pointer)"
            ));
        }
        if !c_const && !is_return {
            return Err(format!(
                "Cstring in '{julia}' for the writable buffer C '{c_text}': use Ptr{{Cchar}} or Ptr{{UInt8}}"
            ));
        }
        return Ok(());
    }
    if c_depth == 0 && c_base == "void" && !is_return {
        return Err(format!("C parameter of type void ('{c_text}')"));
    }
    if let Some(Typedef::Opaque) = h.typedefs.get(&c_base) {
        if c_depth == 0 {
            return Err(format!("opaque type '{c_base}' by value"));
        }
    }
    let Some(allowed) = julia_bases(&c_base, h) else {
        return Err(format!(
            "C base type '{c_base}' (in '{c_text}') is missing from the C-to-Julia type table"
        ));
    };
    if allowed.contains(&j_base) {
        Ok(())
    } else {
        Err(format!(
            "C '{c_text}' needs Julia {} but the wrapper says '{julia}'",
            allowed
                .iter()
                .map(|a| {
                    let mut s = a.clone();
                    for _ in 0..c_depth {
                        s = format!("Ptr{{{s}}}");
                    }
                    s
                })
                .collect::<Vec<_>>()
                .join(" or ")
        ))
    }
}

/// Parses a Julia constant value: `2`, `-1`, `Int32(2)`, `scm_status(-1)`, `0x01`.
fn julia_int(value: &str) -> Option<i64> {
    if let Some(v) = parse_int(value) {
        return Some(v);
    }
    let open = value.find('(')?;
    let inner = value[open + 1..].strip_suffix(')')?;
    let ty = &value[..open];
    if ty.is_empty() || !ty.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return None;
    }
    parse_int(inner)
}

/// Compares a parsed header with a Julia wrapper source; returns every mismatch.
fn check(header_src: &str, julia_src: &str) -> Vec<String> {
    let h = match parse_header(header_src) {
        Ok(h) => h,
        Err(e) => return e,
    };
    let jl = match parse_julia(julia_src) {
        Ok(j) => j,
        Err(e) => return e,
    };
    let mut errors = Vec::new();
    if h.functions.is_empty() {
        errors.push("header: no function prototypes found".to_string());
    }
    let mut by_name: BTreeMap<&str, Vec<&JlCall>> = BTreeMap::new();
    for c in &jl.calls {
        by_name.entry(c.name.as_str()).or_default().push(c);
    }
    for (name, f) in &h.functions {
        let Some(calls) = by_name.get(name.as_str()) else {
            errors.push(format!("{name}: no @ccall wrapper in LibSCMosaic.jl"));
            continue;
        };
        if calls.len() > 1 {
            let lines: Vec<String> = calls.iter().map(|c| c.line.to_string()).collect();
            errors.push(format!(
                "{name}: {} @ccall wrappers (lines {}), expected exactly one",
                calls.len(),
                lines.join(", ")
            ));
        }
        for call in calls {
            let at = format!("{name} (LibSCMosaic.jl line {})", call.line);
            if call.args.len() != f.args.len() {
                errors.push(format!(
                    "{at}: {} arguments, the header has {} ({})",
                    call.args.len(),
                    f.args.len(),
                    f.args
                        .iter()
                        .map(CType::render)
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            } else {
                for (k, (c, j)) in f.args.iter().zip(&call.args).enumerate() {
                    if let Err(e) = compatible(c, j, &h, false) {
                        errors.push(format!("{at}: argument {}: {e}", k + 1));
                    }
                }
            }
            if let Err(e) = compatible(&f.ret, &call.ret, &h, true) {
                errors.push(format!("{at}: return type: {e}"));
            }
        }
    }
    for (name, calls) in &by_name {
        if !h.functions.contains_key(*name) {
            errors.push(format!(
                "{name}: @ccall wrapper (LibSCMosaic.jl line {}) for a function the header does not declare",
                calls[0].line
            ));
        }
    }
    for (name, value) in &h.constants {
        if !name.starts_with("SCM_") {
            continue;
        }
        match jl.consts.get(name) {
            None => errors.push(format!(
                "constant {name} = {value} is not defined in LibSCMosaic.jl"
            )),
            Some(text) => match julia_int(text) {
                Some(v) if v == *value => {}
                Some(v) => errors.push(format!(
                    "constant {name}: LibSCMosaic.jl has {v}, the header {value}"
                )),
                None => errors.push(format!(
                    "constant {name}: cannot read the Julia value '{text}' as an integer"
                )),
            },
        }
    }
    for name in jl.consts.keys() {
        if name.starts_with("SCM_") && !h.constants.contains_key(name) {
            errors.push(format!(
                "constant {name} is defined in LibSCMosaic.jl but not in the header"
            ));
        }
    }
    for (name, t) in &h.typedefs {
        match t {
            Typedef::Opaque => {
                if !jl.structs.iter().any(|s| s == name) {
                    errors.push(format!(
                        "opaque type {name}: LibSCMosaic.jl needs `mutable struct {name} end`"
                    ));
                }
            }
            Typedef::Alias(target) => match jl.consts.get(name) {
                None => errors.push(format!(
                    "typedef {name} ({}): LibSCMosaic.jl needs `const {name} = ...`",
                    target.render()
                )),
                Some(v) => {
                    if let Err(e) = compatible(target, v, &h, false) {
                        errors.push(format!("typedef {name}: {e}"));
                    }
                }
            },
            Typedef::FnPtr => {}
        }
    }
    errors
}

fn read(rel: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

#[test]
fn julia_wrapper_matches_the_header() {
    let header = read("include/scmosaic.h");
    let julia = read("bindings/julia/SCMosaic/src/LibSCMosaic.jl");
    let errors = check(&header, &julia);
    assert!(
        errors.is_empty(),
        "LibSCMosaic.jl does not match include/scmosaic.h ({} problems):\n  {}",
        errors.len(),
        errors.join("\n  ")
    );
    // The comparison is not vacuous: both sides were parsed in full.
    let h = parse_header(&header).unwrap();
    let jl = parse_julia(&julia).unwrap();
    // Prototypes start a line with a lower-case type; comments and
    // continuation lines start with a space, '/' or '#'.
    let crude = header
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()))
        .filter(|l| !l.starts_with("typedef") && l.contains("scm_") && l.contains('('))
        .count();
    assert!(h.functions.len() >= 40, "{} functions", h.functions.len());
    assert_eq!(
        h.functions.len(),
        crude,
        "prototype count differs from a crude line count"
    );
    assert_eq!(jl.calls.len(), h.functions.len());
    let imp = &h.functions["scm_model_impute"];
    assert_eq!(imp.args.len(), 8);
    assert_eq!(imp.args[2].render(), "const char *");
    assert_eq!(
        h.functions["scm_dataset_add_csc"].args[3].render(),
        "const char *const *"
    );
    assert!(h.functions["scm_abi_version"].args.is_empty());
    assert_eq!(h.constants["SCM_STATUS_PANIC"], -1);
    assert_eq!(h.constants["SCM_ABI_VERSION"], 1);
}

const FAKE_HEADER: &str = r#"
/* A doc comment mentioning scm_fake(int x); must be ignored. */
#define SCM_ONE 1
#define SCM_GUARD_H
enum scm_status
#if defined(__cplusplus)
  : int32_t
#endif
 {
  SCM_STATUS_OK = 0,
  SCM_STATUS_BAD = -1,
};
typedef int32_t scm_status;
typedef struct scm_thing scm_thing;
typedef int32_t (*scm_cb)(void *user_data, double x);
#ifdef __cplusplus
extern "C" {
#endif
const char *scm_name(void);
scm_status scm_thing_new(size_t n,
                         scm_thing **out);
scm_status scm_thing_fill(const scm_thing *thing, float *out, size_t out_len);
scm_status scm_thing_label(const scm_thing *thing, char *buf, size_t cap, size_t *len);
scm_status scm_thing_names(scm_thing *thing, const char *const *names, size_t n);
scm_status scm_thing_run(scm_thing *thing, scm_cb cb, void *user_data);
void scm_thing_free(scm_thing *thing);
#ifdef __cplusplus
}
#endif
"#;

const GOOD_JULIA: &str = r#"
module Fake
const scm_status = Int32
_quote_char() = '"' # a quote character must not open a string: @ccall
_adjoint(x) = x' * x # ' as an operator
mutable struct scm_thing end
const SCM_ONE = 1
const SCM_STATUS_OK = scm_status(0)
const SCM_STATUS_BAD = Int32(-1)
# @ccall in a comment is ignored: @ccall $(f(:scm_gone))()::Cvoid
"""
Docstrings too: @ccall $(f(:scm_gone))()::Cvoid
"""
scm_name() = @ccall $(f(:scm_name))()::Cstring
scm_thing_new(n, out) = @ccall $(f(:scm_thing_new))(n::Csize_t,
    out::Ptr{Ptr{scm_thing}})::scm_status
scm_thing_fill(t, out, n) = @ccall $(f(:scm_thing_fill))(t::Ptr{scm_thing}, out::Ptr{Cfloat}, n::Csize_t)::scm_status
scm_thing_label(t, b, c, l) = @ccall lib.scm_thing_label(t::Ptr{scm_thing}, b::Ptr{UInt8}, c::Csize_t, l::Ptr{Csize_t})::Int32
scm_thing_names(t, n, k) = @ccall $(f(:scm_thing_names))(t::Ptr{scm_thing}, n::Ptr{Cstring}, k::Csize_t)::scm_status
scm_thing_run(t, cb, ud) = @ccall $(f(:scm_thing_run))(t::Ptr{scm_thing}, cb::Ptr{Cvoid}, ud::Ptr{Cvoid})::scm_status
scm_thing_free(t) = @ccall $(f(:scm_thing_free))(t::Ptr{scm_thing})::Cvoid
end
"#;

#[test]
fn checker_accepts_a_correct_wrapper() {
    let errors = check(FAKE_HEADER, GOOD_JULIA);
    assert!(errors.is_empty(), "{errors:#?}");
    let h = parse_header(FAKE_HEADER).unwrap();
    assert_eq!(h.functions.len(), 7);
    assert_eq!(h.constants.len(), 3);
    assert!(!h.functions.contains_key("scm_fake"));
}

#[test]
fn checker_reports_every_mismatch() {
    let bad = GOOD_JULIA
        // wrong argument count
        .replace(
            "out::Ptr{Cfloat}, n::Csize_t)::scm_status",
            "out::Ptr{Cfloat})::scm_status",
        )
        // wrong type (double* for float*)
        .replace("b::Ptr{UInt8}", "b::Ptr{Float64}")
        // Cstring for a writable buffer would be wrong too, checked below
        // wrong pointer depth
        .replace("out::Ptr{Ptr{scm_thing}}", "out::Ptr{scm_thing}")
        // missing function
        .replace(
            "scm_thing_free(t) = @ccall $(f(:scm_thing_free))(t::Ptr{scm_thing})::Cvoid",
            "",
        )
        // wrapper for a function the header lacks
        .replace(
            "scm_name() = @ccall $(f(:scm_name))()::Cstring",
            "scm_name() = @ccall $(f(:scm_name))()::Cstring\nscm_extra() = @ccall $(f(:scm_extra))()::Cvoid",
        )
        // wrong return type
        .replace(
            "ud::Ptr{Cvoid})::scm_status",
            "ud::Ptr{Cvoid})::Float64",
        )
        // wrong constant value and a missing constant
        .replace("const SCM_ONE = 1", "const SCM_ONE = 2")
        .replace("const SCM_STATUS_BAD = Int32(-1)", "")
        // missing opaque struct
        .replace("mutable struct scm_thing end", "");
    let errors = check(FAKE_HEADER, &bad);
    let joined = errors.join("\n");
    for needle in [
        "scm_thing_fill (LibSCMosaic.jl line",
        "2 arguments, the header has 3",
        "scm_thing_label",
        "Ptr{Float64}",
        "scm_thing_new",
        "pointer depth differs: C 'scm_thing **' has 2",
        "scm_thing_free: no @ccall wrapper",
        "scm_extra: @ccall wrapper",
        "scm_thing_run",
        "return type",
        "constant SCM_ONE: LibSCMosaic.jl has 2, the header 1",
        "constant SCM_STATUS_BAD = -1 is not defined",
        "opaque type scm_thing",
    ] {
        assert!(joined.contains(needle), "missing '{needle}' in:\n{joined}");
    }
    assert!(errors.len() >= 9, "{joined}");
}

#[test]
fn checker_rejects_subtle_type_errors() {
    let cases = [
        // Cstring for a writable char buffer
        ("b::Ptr{UInt8}", "b::Cstring"),
        // const char *const * as a single pointer
        ("n::Ptr{Cstring}", "n::Cstring"),
        // size_t as a signed Int
        ("c::Csize_t", "c::Int64"),
        // the function pointer passed as a plain integer
        ("cb::Ptr{Cvoid}", "cb::Csize_t"),
        // Ref instead of Ptr in the one-to-one layer
        ("l::Ptr{Csize_t}", "l::Ref{Csize_t}"),
        // a duplicated wrapper
        (
            "scm_thing_free(t) =",
            "scm_thing_free2(t) = @ccall $(f(:scm_thing_free))(t::Ptr{scm_thing})::Cvoid\nscm_thing_free(t) =",
        ),
        // an opaque handle by value
        ("t::Ptr{scm_thing}, out::Ptr{Cfloat}", "t::scm_thing, out::Ptr{Cfloat}"),
        // the status typedef aliased to the wrong width
        ("const scm_status = Int32", "const scm_status = Int64"),
    ];
    for (from, to) in cases {
        assert!(GOOD_JULIA.contains(from), "{from}");
        let bad = GOOD_JULIA.replacen(from, to, 1);
        let errors = check(FAKE_HEADER, &bad);
        assert!(!errors.is_empty(), "'{from}' -> '{to}' was not caught");
    }
}
