# Run by ./configure: checks cargo and rustc (tools/msrv.R), then writes
# src/Makevars from src/Makevars.in for one of two builds (see there):
# "vendored" when src/rust/vendor.tar.xz exists (the source package made by
# bindings/r/build-package.sh), else "workspace" when the package sits in a
# clone of the repository, else stops with instructions.
source(file.path("tools", "msrv.R"))

here <- normalizePath(".")
vendored <- file.exists(file.path("src", "rust", "vendor.tar.xz"))
workspace <- normalizePath(file.path(here, "..", "..", ".."), mustWork = FALSE)
in_repo <- file.exists(file.path(workspace, "Cargo.toml")) &&
  file.exists(file.path(workspace, "src", "lib.rs")) &&
  file.exists(file.path(workspace, "bindings", "r", "scmosaic", "DESCRIPTION"))

# SCMOSAIC_CARGO_TARGET_DIR: an absolute folder for cargo's build output,
# e.g. to share compiled crates between repeated installs of the tarball.
target_env <- Sys.getenv("SCMOSAIC_CARGO_TARGET_DIR")
if (nzchar(target_env) && !grepl("^/", target_env)) {
  stop("SCMOSAIC_CARGO_TARGET_DIR must be an absolute path, got '", target_env, "'",
       call. = FALSE)
}

if (vendored) {
  values <- c(
    VENDORED = "yes",
    MANIFEST = "./rust/Cargo.toml",
    TARGET_DIR = if (nzchar(target_env)) target_env else "./rust/target",
    VENDOR_PARENT = if (nzchar(target_env)) target_env else ".",
    CARGO_FLAGS = "--offline --locked"
  )
  message("scmosaic: building the bundled crates offline (src/rust/vendor.tar.xz)")
} else if (in_repo) {
  values <- c(
    VENDORED = "no",
    VENDOR_PARENT = ".",
    MANIFEST = file.path(workspace, "Cargo.toml"),
    TARGET_DIR = if (nzchar(target_env)) target_env else file.path(workspace, "target"),
    CARGO_FLAGS = "--locked"
  )
  message("scmosaic: building in the repository's Cargo workspace (", workspace, ")")
} else {
  stop(
    "scmosaic: this copy of the package has neither the bundled crates ",
    "(src/rust/vendor.tar.xz) nor the repository around it. Install the source ",
    "package made by bindings/r/build-package.sh (scmosaic_<version>.tar.gz), ",
    "or install from a clone of the repository: R CMD INSTALL bindings/r/scmosaic",
    call. = FALSE
  )
}

txt <- readLines(file.path("src", "Makevars.in"))
for (key in names(values)) txt <- gsub(paste0("@", key, "@"), values[[key]], txt, fixed = TRUE)
con <- file(file.path("src", "Makevars"), open = "wb")
writeLines(txt, con, sep = "\n")
close(con)
