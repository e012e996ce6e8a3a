//! The README's C and C++ examples are the files CI compiles and runs
//! (examples/c/minimal.c, examples/cpp/minimal.cpp; see tests/cpp/run.sh):
//! this test fails when the README and the files drift apart.

use std::path::Path;

fn block(readme: &str, lang: &str) -> String {
    let fence = format!("```{lang}\n");
    let start = readme
        .find(&fence)
        .unwrap_or_else(|| panic!("README has no {lang} block"))
        + fence.len();
    let end = start + readme[start..].find("```").expect("closing fence");
    readme[start..end].to_string()
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
        assert_eq!(
            block(&readme, lang),
            code,
            "the README's {lang} example differs from {file}: copy the file into the README"
        );
    }
}
