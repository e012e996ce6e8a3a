# Sourced by tools/config.R: finds cargo (PATH, then ~/.cargo/bin as src/Makevars
# does) and checks rustc against the crate's minimum version.
msrv <- "1.92.0"
path <- Sys.getenv("PATH")
home_bin <- file.path(Sys.getenv("HOME"), ".cargo", "bin")
Sys.setenv(PATH = paste(path, home_bin, sep = .Platform$path.sep))
cargo <- Sys.which("cargo")
rustc <- Sys.which("rustc")
if (!nzchar(cargo) || !nzchar(rustc)) {
  stop(
    "scmosaic needs Rust (cargo and rustc >= ", msrv, ") to build; ",
    "install it from https://rustup.rs and try again",
    call. = FALSE
  )
}
ver <- tryCatch(system2(rustc, "--version", stdout = TRUE), error = function(e) "")
num <- regmatches(ver, regexpr("[0-9]+\\.[0-9]+\\.[0-9]+", ver))
if (length(num) == 1L && package_version(num) < package_version(msrv)) {
  stop(
    "scmosaic needs rustc >= ", msrv, " but found ", ver,
    "; update it with `rustup update`",
    call. = FALSE
  )
}
message("scmosaic: using ", ver[1])
