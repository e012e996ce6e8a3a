//! The README's C and C++ quick starts are the marked cores of the files CI
//! compiles and runs (examples/c/minimal.c, examples/cpp/minimal.cpp; see
//! tests/cpp/run.sh): this test fails when the README and the files drift
//! apart. (The Rust quick start is a doc test; the R one is run by the R
//! package's tests/testthat/test-readme.R.)

use std::path::Path;

/// The body of the README's only code block fenced as `lang`.
fn block(readme: &str, lang: &str) -> String {
    let fence = format!("```{lang}\n");
    assert_eq!(
        readme.matches(&fence).count(),
        1,
        "README should have exactly one {lang} block"
    );
    let start = readme.find(&fence).unwrap() + fence.len();
    let end = start + readme[start..].find("```").expect("closing fence");
    readme[start..end].to_string()
}

/// The lines strictly between the `README quick start: begin` and `: end`
/// markers of an example file, without their common indentation.
fn marked_region(code: &str, file: &str) -> String {
    let lines: Vec<&str> = code.lines().collect();
    let find = |marker: &str| {
        let hits: Vec<usize> = (0..lines.len())
            .filter(|&i| lines[i].contains(marker))
            .collect();
        assert_eq!(hits.len(), 1, "{file}: one '{marker}' marker expected");
        hits[0]
    };
    let (begin, end) = (
        find("README quick start: begin"),
        find("README quick start: end"),
    );
    assert!(begin + 1 < end, "{file}: empty README region");
    let body = &lines[begin + 1..end];
    let indent = body
        .iter()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    let mut out = String::new();
    for l in body {
        out.push_str(l.get(indent..).unwrap_or("").trim_end());
        out.push('\n');
    }
    out
}

#[test]
fn readme_examples_are_the_tested_files() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    for (lang, file) in [
        ("c", "examples/c/minimal.c"),
        ("cpp", "examples/cpp/minimal.cpp"),
    ] {
        let code = std::fs::read_to_string(root.join(file)).unwrap();
        let region = marked_region(&code, file);
        assert!(region.lines().count() >= 10, "{file}: region too short");
        assert_eq!(
            block(&readme, lang),
            region,
            "the README's {lang} quick start differs from the marked region of {file}: \
             copy the region (without its indentation) into the README"
        );
    }
}

#[test]
fn marked_region_is_dedented_and_exact() {
    let code = "int main() {\n  /* README quick start: begin */\n  a();\n\n    b();\n  /* README quick start: end */\n}\n";
    assert_eq!(marked_region(code, "t.c"), "a();\n\n  b();\n");
}
