//! R bindings of scmosaic through extendr.
//!
//! Every exported function ends in `_`, is internal to the R package (the
//! public API with argument checks lives in `R/*.R`) and returns
//! `extendr_api::Result`, so a failure becomes an ordinary R error. A panic is
//! caught by the extendr wrappers and also becomes an R error: it never
//! unwinds into R or aborts the session.
//!
//! Installed from the repository, the R package builds this crate as a
//! member of the repository's Cargo workspace (`src/Makevars`), so it uses
//! the same `Cargo.lock` and target folder as the Rust library; the source
//! package made by `bindings/r/build-package.sh` builds it offline from the
//! crates it carries.

use extendr_api::prelude::*;

mod convert;
mod data;
mod model;
mod progress;

extendr_module! {
    mod scmosaic;
    use data;
    use model;
}
