//! The committed C header must match what cbindgen generates from src/ffi/.
//! Regenerate with `scripts/gen-header.sh` (sets SCM_BLESS_HEADER=1).

use std::path::Path;

#[test]
fn header_is_up_to_date() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml")).expect("cbindgen.toml");
    let mut generated = Vec::new();
    cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/mod.rs"))
        .generate()
        .expect("cbindgen generates the header")
        .write(&mut generated);
    let path = root.join("include/scmosaic.h");
    if std::env::var_os("SCM_BLESS_HEADER").is_some() {
        std::fs::write(&path, &generated).expect("write include/scmosaic.h");
        return;
    }
    let committed = std::fs::read(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "include/scmosaic.h is stale: run scripts/gen-header.sh and commit the result"
    );
}
