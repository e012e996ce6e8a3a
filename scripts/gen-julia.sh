#!/usr/bin/env bash
# Regenerates bindings/julia/SCMosaic/src/LibSCMosaic.jl (the Julia @ccall
# layer) from include/scmosaic.h with the generator in tests/julia_abi.rs.
# Run it after scripts/gen-header.sh whenever the C ABI changes.
set -euo pipefail
cd "$(dirname "$0")/.."
SCM_BLESS_JULIA=1 cargo test --release --test julia_abi -- --quiet julia_bindings_are_up_to_date
echo "wrote bindings/julia/SCMosaic/src/LibSCMosaic.jl"
