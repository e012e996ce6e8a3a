#!/usr/bin/env bash
# Regenerates include/scmosaic.h from src/ffi/ with cbindgen (cbindgen.toml).
set -euo pipefail
cd "$(dirname "$0")/.."
SCM_BLESS_HEADER=1 cargo test --release --test header -- --quiet
echo "wrote include/scmosaic.h"
