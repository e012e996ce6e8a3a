# GENERATED from include/scmosaic.h by tests/julia_abi.rs: do not edit.
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

# ---------------------------------------------------------------------------
# Types

"""
C: `typedef int32_t scm_status`.

Result of every fallible `scm_*` function. The values are part of the ABI:
they are never renumbered or reused.
"""
const scm_status = Int32

"""
Opaque C type `scm_config` (only behind `Ptr`).

A model configuration (every setting of a model; the keys and their
defaults are in docs/configuration.md). Create with `scm_config_new` or
`scm_config_from_json`, free with `scm_config_free`.
"""
mutable struct scm_config end

"""
Opaque C type `scm_dataset` (only behind `Ptr`).

A dataset under construction or in use: a fixed number of cells, one or
more modalities, optional categorical covariates (batch labels), continuous
covariates and cell names.
Create with `scm_dataset_new`, free with `scm_dataset_free`.
"""
mutable struct scm_dataset end

"""
Opaque C type `scm_model` (only behind `Ptr`).

A trained or untrained model. Create with `scm_model_new`,
`scm_model_load` or `scm_model_from_buffer`; free with `scm_model_free`.
"""
mutable struct scm_model end

"""
C callback type: `typedef int32_t (*scm_progress_fn)(void *user_data, size_t epoch, size_t n_epochs, double train_loss, double validation_loss)`. Pass a `@cfunction` pointer.

Progress callback of `scm_model_train`, called after every epoch on the
thread that called `scm_model_train`. `epoch` counts from 1 over all
training calls, `n_epochs` is the last epoch of this call,
`validation_loss` is NaN without a validation split. Return 0 to continue,
non-zero to stop training cleanly. The callback must return normally and
must not call functions on the model being trained (they fail with
`SCM_STATUS_INVALID_STATE`).
"""
const scm_progress_fn = Ptr{Cvoid}

# ---------------------------------------------------------------------------
# Constants

"""
The ABI version this header describes. Compare it with
`scm_abi_version()` at load time: a different value means the header and
the loaded library do not match. It changes only when an existing function
changes incompatibly; additions keep it.
"""
const SCM_ABI_VERSION = 1

"""
Training ran all its epochs.
"""
const SCM_STOP_COMPLETED = 0

"""
The validation loss stopped improving; the best weights were restored.
"""
const SCM_STOP_EARLY_STOPPED = 1

"""
The progress callback returned non-zero; the model keeps the weights of the
last completed epoch and stays usable.
"""
const SCM_STOP_CANCELLED = 2

"""
Success.
"""
const SCM_STATUS_OK = scm_status(0)

"""
A required pointer argument was NULL.
"""
const SCM_STATUS_NULL_ARG = scm_status(1)

"""
An argument is out of range: a length that does not match, invalid
UTF-8, an unknown option or likelihood name.
"""
const SCM_STATUS_INVALID_ARG = scm_status(2)

"""
Input data are malformed: wrong shapes, NaN/Inf, negative counts,
duplicate or mismatched feature names.
"""
const SCM_STATUS_INVALID_DATA = scm_status(3)

"""
A configuration value is unknown, out of range or inconsistent.
"""
const SCM_STATUS_INVALID_CONFIG = scm_status(4)

"""
A modality, feature, covariate level or device name is not known.
"""
const SCM_STATUS_NOT_FOUND = scm_status(5)

"""
A checkpoint is truncated, corrupt or of an unsupported version.
"""
const SCM_STATUS_CHECKPOINT = scm_status(6)

"""
The device is not available in this build or on this machine.
"""
const SCM_STATUS_DEVICE = scm_status(7)

"""
The call is not valid in the handle's state (e.g. the handle is
unusable after an internal error, or a re-entrant call from a callback).
"""
const SCM_STATUS_INVALID_STATE = scm_status(8)

"""
Training diverged (a loss became NaN or infinite).
"""
const SCM_STATUS_NUMERICAL = scm_status(9)

"""
An operating-system I/O error (the message names the path).
"""
const SCM_STATUS_IO = scm_status(10)

"""
The output buffer is too small (the required size was written).
"""
const SCM_STATUS_BUFFER_TOO_SMALL = scm_status(11)

"""
An internal error (a bug) was caught at the ABI boundary.
"""
const SCM_STATUS_PANIC = scm_status(-1)

"""
The name of each `scm_status` value.
"""
const scm_status_names = Dict{scm_status,String}(
    scm_status(0) => "SCM_STATUS_OK",
    scm_status(1) => "SCM_STATUS_NULL_ARG",
    scm_status(2) => "SCM_STATUS_INVALID_ARG",
    scm_status(3) => "SCM_STATUS_INVALID_DATA",
    scm_status(4) => "SCM_STATUS_INVALID_CONFIG",
    scm_status(5) => "SCM_STATUS_NOT_FOUND",
    scm_status(6) => "SCM_STATUS_CHECKPOINT",
    scm_status(7) => "SCM_STATUS_DEVICE",
    scm_status(8) => "SCM_STATUS_INVALID_STATE",
    scm_status(9) => "SCM_STATUS_NUMERICAL",
    scm_status(10) => "SCM_STATUS_IO",
    scm_status(11) => "SCM_STATUS_BUFFER_TOO_SMALL",
    scm_status(-1) => "SCM_STATUS_PANIC",
)

# ---------------------------------------------------------------------------
# Functions

"""
    scm_last_error_message()

C: `const char *scm_last_error_message(void)`

The message of the last failed `scm_*` call on this thread, or `""` when
the last call succeeded. The pointer stays valid until this thread's next
`scm_*` call; copy the text to keep it. Never NULL.
"""
function scm_last_error_message()
    @ccall $(sym(:scm_last_error_message))()::Cstring
end

"""
    scm_status_str(status)

C: `const char *scm_status_str(int32_t status)`

A static description of a status code (never NULL; unknown codes give
`"unknown status"`).
"""
function scm_status_str(status)
    @ccall $(sym(:scm_status_str))(status::Int32)::Cstring
end

"""
    scm_abi_version()

C: `uint32_t scm_abi_version(void)`

The ABI version of the loaded library (see `SCM_ABI_VERSION`).
"""
function scm_abi_version()
    @ccall $(sym(:scm_abi_version))()::UInt32
end

"""
    scm_version()

C: `const char *scm_version(void)`

The version of the loaded library (SemVer, e.g. `"0.1.0"`); a static string.
"""
function scm_version()
    @ccall $(sym(:scm_version))()::Cstring
end

"""
    scm_config_new(out)

C: `scm_status scm_config_new(scm_config **out)`

Creates a configuration with every setting at its default.
"""
function scm_config_new(out)
    @ccall $(sym(:scm_config_new))(out::Ptr{Ptr{scm_config}})::scm_status
end

"""
    scm_config_from_json(json, out)

C: `scm_status scm_config_from_json(const char *json, scm_config **out)`

Creates a configuration from a JSON object; keys not given keep their
defaults, unknown keys are errors (`SCM_STATUS_INVALID_CONFIG`).
"""
function scm_config_from_json(json, out)
    @ccall $(sym(:scm_config_from_json))(json::Cstring,
            out::Ptr{Ptr{scm_config}})::scm_status
end

"""
    scm_config_set_json(config, json)

C: `scm_status scm_config_set_json(scm_config *config, const char *json)`

Merges a JSON object into the configuration (nested objects are merged,
other values replaced), e.g. `{"latent_dim": 16, "train": {"epochs": 50}}`.
On error the configuration is unchanged.
"""
function scm_config_set_json(config, json)
    @ccall $(sym(:scm_config_set_json))(config::Ptr{scm_config}, json::Cstring)::scm_status
end

"""
    scm_config_set_int(config, key, value)

C: `scm_status scm_config_set_int(scm_config *config, const char *key, int64_t value)`

Sets an integer option by dotted key (`"latent_dim"`, `"train.epochs"`,
`"train.seed"`, `"inference.n_draws"`, ...). On error the configuration is
unchanged.
"""
function scm_config_set_int(config, key, value)
    @ccall $(sym(:scm_config_set_int))(config::Ptr{scm_config}, key::Cstring,
            value::Int64)::scm_status
end

"""
    scm_config_set_double(config, key, value)

C: `scm_status scm_config_set_double(scm_config *config, const char *key, double value)`

Sets a real-valued option by dotted key (`"beta_kl"`,
`"train.learning_rate"`, ...). NaN and infinities are rejected.
"""
function scm_config_set_double(config, key, value)
    @ccall $(sym(:scm_config_set_double))(config::Ptr{scm_config}, key::Cstring,
            value::Cdouble)::scm_status
end

"""
    scm_config_set_bool(config, key, value)

C: `scm_status scm_config_set_bool(scm_config *config, const char *key, int32_t value)`

Sets a boolean option by dotted key (`"skip_conn"`, ...); 0 = false, any
other value = true.
"""
function scm_config_set_bool(config, key, value)
    @ccall $(sym(:scm_config_set_bool))(config::Ptr{scm_config}, key::Cstring,
            value::Int32)::scm_status
end

"""
    scm_config_set_string(config, key, value)

C: `scm_status scm_config_set_string(scm_config *config, const char *key, const char *value)`

Sets a string option by dotted key (`"inference.batch_norm"`, ...).
"""
function scm_config_set_string(config, key, value)
    @ccall $(sym(:scm_config_set_string))(config::Ptr{scm_config}, key::Cstring,
            value::Cstring)::scm_status
end

"""
    scm_config_set_value_json(config, key, value_json)

C: `scm_status scm_config_set_value_json(scm_config *config, const char *key, const char *value_json)`

Sets the option at a dotted key to a JSON value of any type (e.g. key
`"hidden"`, value `"[256, 128]"`; key `"multigrate.alignment"`, value
`"\\"mmd\\""`; `"null"` unsets an optional setting). On error the
configuration is unchanged.
"""
function scm_config_set_value_json(config, key, value_json)
    @ccall $(sym(:scm_config_set_value_json))(config::Ptr{scm_config}, key::Cstring,
            value_json::Cstring)::scm_status
end

"""
    scm_config_to_json(config, buf, cap, len)

C: `scm_status scm_config_to_json(const scm_config *config, char *buf, size_t cap, size_t *len)`

Writes the configuration as JSON (every setting, defaults included) into
`buf` (see the string protocol: `buf = NULL` asks for the size in `*len`).
"""
function scm_config_to_json(config, buf, cap, len)
    @ccall $(sym(:scm_config_to_json))(config::Ptr{scm_config}, buf::Ptr{UInt8},
            cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

"""
    scm_config_free(config)

C: `void scm_config_free(scm_config *config)`

Frees a configuration (NULL is accepted).
"""
function scm_config_free(config)
    @ccall $(sym(:scm_config_free))(config::Ptr{scm_config})::Cvoid
end

"""
    scm_dataset_new(n_cells, out)

C: `scm_status scm_dataset_new(size_t n_cells, scm_dataset **out)`

Creates an empty dataset of `n_cells` cells (> 0).
"""
function scm_dataset_new(n_cells, out)
    @ccall $(sym(:scm_dataset_new))(n_cells::Csize_t,
            out::Ptr{Ptr{scm_dataset}})::scm_status
end

"""
    scm_dataset_add_dense(dataset, name, likelihood, feature_names, n_features, values, n_values)

C: `scm_status scm_dataset_add_dense(scm_dataset *dataset, const char *name, const char *likelihood, const char *const *feature_names, size_t n_features, const float *values, size_t n_values)`

Adds a modality from a dense matrix: `values` holds `n_values = n_cells *
n_features` floats, row-major cells x features (the same memory as a
column-major features x cells matrix in R or Julia). `likelihood` is one of
`"nb"`, `"zinb"`, `"bernoulli"`, `"gaussian"`, `"poisson"`; count
likelihoods reject negative values; NaN/Inf are rejected. Feature names
must be unique. The data are copied.
"""
function scm_dataset_add_dense(dataset, name, likelihood, feature_names, n_features, values,
        n_values)
    @ccall $(sym(:scm_dataset_add_dense))(dataset::Ptr{scm_dataset}, name::Cstring,
            likelihood::Cstring, feature_names::Ptr{Cstring}, n_features::Csize_t,
            values::Ptr{Cfloat}, n_values::Csize_t)::scm_status
end

"""
    scm_dataset_add_csr(dataset, name, likelihood, feature_names, n_features, row_ptr, col_idx, values, nnz, index_base)

C: `scm_status scm_dataset_add_csr(scm_dataset *dataset, const char *name, const char *likelihood, const char *const *feature_names, size_t n_features, const int64_t *row_ptr, const int64_t *col_idx, const float *values, size_t nnz, int32_t index_base)`

Adds a modality from a sparse cells x features CSR matrix: `row_ptr` has
`n_cells + 1` entries, `col_idx` and `values` have `nnz` entries; indices
start at `index_base` (0 for C and R, 1 for Julia) and are strictly
increasing within a row. Other rules as `scm_dataset_add_dense`. When
`nnz` is 0, `col_idx` and `values` may be NULL.
"""
function scm_dataset_add_csr(dataset, name, likelihood, feature_names, n_features, row_ptr,
        col_idx, values, nnz, index_base)
    @ccall $(sym(:scm_dataset_add_csr))(dataset::Ptr{scm_dataset}, name::Cstring,
            likelihood::Cstring, feature_names::Ptr{Cstring}, n_features::Csize_t,
            row_ptr::Ptr{Int64}, col_idx::Ptr{Int64}, values::Ptr{Cfloat}, nnz::Csize_t,
            index_base::Int32)::scm_status
end

"""
    scm_dataset_add_csc(dataset, name, likelihood, feature_names, n_features, col_ptr, row_idx, values, nnz, index_base)

C: `scm_status scm_dataset_add_csc(scm_dataset *dataset, const char *name, const char *likelihood, const char *const *feature_names, size_t n_features, const int64_t *col_ptr, const int64_t *row_idx, const float *values, size_t nnz, int32_t index_base)`

Adds a modality from a sparse features x cells CSC matrix, the layout of
R's `dgCMatrix` and Julia's `SparseMatrixCSC`: `col_ptr` has `n_cells + 1`
entries (one column per cell), `row_idx` holds feature indices. This is the
same memory as the CSR form of `scm_dataset_add_csr`; the rules are the same.
"""
function scm_dataset_add_csc(dataset, name, likelihood, feature_names, n_features, col_ptr,
        row_idx, values, nnz, index_base)
    @ccall $(sym(:scm_dataset_add_csc))(dataset::Ptr{scm_dataset}, name::Cstring,
            likelihood::Cstring, feature_names::Ptr{Cstring}, n_features::Csize_t,
            col_ptr::Ptr{Int64}, row_idx::Ptr{Int64}, values::Ptr{Cfloat}, nnz::Csize_t,
            index_base::Int32)::scm_status
end

"""
    scm_dataset_set_measured(dataset, modality, measured, n_cells)

C: `scm_status scm_dataset_set_measured(scm_dataset *dataset, const char *modality, const uint8_t *measured, size_t n_cells)`

Marks which cells measured a modality: `measured[i] != 0` for measured
cells, 0 for cells where the modality is missing (their values are
ignored). `n_cells` must equal the dataset's number of cells.
"""
function scm_dataset_set_measured(dataset, modality, measured, n_cells)
    @ccall $(sym(:scm_dataset_set_measured))(dataset::Ptr{scm_dataset}, modality::Cstring,
            measured::Ptr{UInt8}, n_cells::Csize_t)::scm_status
end

"""
    scm_dataset_set_chromosome_blocks(dataset, modality)

C: `scm_status scm_dataset_set_chromosome_blocks(scm_dataset *dataset, const char *modality)`

Splits a modality's features into blocks by chromosome, from feature names
such as `chr1-10000-10500` or `chr1:10000-10500` (for ATAC peaks).
"""
function scm_dataset_set_chromosome_blocks(dataset, modality)
    @ccall $(sym(:scm_dataset_set_chromosome_blocks))(dataset::Ptr{scm_dataset},
            modality::Cstring)::scm_status
end

"""
    scm_dataset_set_covariate(dataset, name, codes, n_cells, levels, n_levels)

C: `scm_status scm_dataset_set_covariate(scm_dataset *dataset, const char *name, const int32_t *codes, size_t n_cells, const char *const *levels, size_t n_levels)`

Adds a categorical covariate such as the batch: `codes[i]` (0-based, one per
cell) indexes `levels` (`n_levels` unique names).
"""
function scm_dataset_set_covariate(dataset, name, codes, n_cells, levels, n_levels)
    @ccall $(sym(:scm_dataset_set_covariate))(dataset::Ptr{scm_dataset}, name::Cstring,
            codes::Ptr{Int32}, n_cells::Csize_t, levels::Ptr{Cstring},
            n_levels::Csize_t)::scm_status
end

"""
    scm_dataset_set_continuous_covariate(dataset, name, values, n_cells)

C: `scm_status scm_dataset_set_continuous_covariate(scm_dataset *dataset, const char *name, const float *values, size_t n_cells)`

Adds a continuous covariate such as the percentage of mitochondrial reads:
`values[i]` is cell `i`'s value (`n_cells` floats). NaN marks a missing
value (scVAEIT maps it to the training mean; Multigrate models reject it
when the dataset is used); infinite values are rejected. The name must
differ from every other covariate's, categorical or continuous. A model
uses every continuous covariate of its training data, and later datasets
(embed, impute, query mapping) must carry exactly the same ones.
"""
function scm_dataset_set_continuous_covariate(dataset, name, values, n_cells)
    @ccall $(sym(:scm_dataset_set_continuous_covariate))(dataset::Ptr{scm_dataset},
            name::Cstring, values::Ptr{Cfloat}, n_cells::Csize_t)::scm_status
end

"""
    scm_dataset_set_cell_names(dataset, names, n_cells)

C: `scm_status scm_dataset_set_cell_names(scm_dataset *dataset, const char *const *names, size_t n_cells)`

Attaches cell names (`n_cells` strings).
"""
function scm_dataset_set_cell_names(dataset, names, n_cells)
    @ccall $(sym(:scm_dataset_set_cell_names))(dataset::Ptr{scm_dataset},
            names::Ptr{Cstring}, n_cells::Csize_t)::scm_status
end

"""
    scm_dataset_n_cells(dataset, out)

C: `scm_status scm_dataset_n_cells(const scm_dataset *dataset, size_t *out)`

Writes the number of cells to `*out`.
"""
function scm_dataset_n_cells(dataset, out)
    @ccall $(sym(:scm_dataset_n_cells))(dataset::Ptr{scm_dataset},
            out::Ptr{Csize_t})::scm_status
end

"""
    scm_dataset_n_modalities(dataset, out)

C: `scm_status scm_dataset_n_modalities(const scm_dataset *dataset, size_t *out)`

Writes the number of modalities added so far to `*out`.
"""
function scm_dataset_n_modalities(dataset, out)
    @ccall $(sym(:scm_dataset_n_modalities))(dataset::Ptr{scm_dataset},
            out::Ptr{Csize_t})::scm_status
end

"""
    scm_dataset_free(dataset)

C: `void scm_dataset_free(scm_dataset *dataset)`

Frees a dataset (NULL is accepted).
"""
function scm_dataset_free(dataset)
    @ccall $(sym(:scm_dataset_free))(dataset::Ptr{scm_dataset})::Cvoid
end

"""
    scm_model_new(config, dataset, out)

C: `scm_status scm_model_new(const scm_config *config, const scm_dataset *dataset, scm_model **out)`

Creates an untrained model for the modalities, features and covariates of
`dataset`, with the settings of `config` (which is not kept: later changes
to it do not affect the model).
"""
function scm_model_new(config, dataset, out)
    @ccall $(sym(:scm_model_new))(config::Ptr{scm_config}, dataset::Ptr{scm_dataset},
            out::Ptr{Ptr{scm_model}})::scm_status
end

"""
    scm_model_map_query(reference, query, out)

C: `scm_status scm_model_map_query(const scm_model *reference, const scm_dataset *query, scm_model **out)`

Query-to-reference mapping (scArches-style): creates in `*out` a copy of
the trained `reference` model whose covariates also know the new levels of
`query`, and whose training (`scm_model_train` on the query) updates only the
parameters of those new levels; the reference cells' embeddings and
imputations stay exactly the same. `reference` is not modified. Works for
both model kinds.
"""
function scm_model_map_query(reference, query, out)
    @ccall $(sym(:scm_model_map_query))(reference::Ptr{scm_model}, query::Ptr{scm_dataset},
            out::Ptr{Ptr{scm_model}})::scm_status
end

"""
    scm_model_train(model, dataset, progress, user_data, stop_reason)

C: `scm_status scm_model_train(scm_model *model, const scm_dataset *dataset, scm_progress_fn progress, void *user_data, int32_t *stop_reason)`

Trains for the configured number of epochs (`train.epochs`) on every cell
of `dataset`, matched to the model by modality and feature names. Calling it
again continues training. `progress` may be NULL. `stop_reason` (may be
NULL) receives one of the `SCM_STOP_*` values. After
`SCM_STATUS_NUMERICAL` the model keeps the weights of the last good epoch.
"""
function scm_model_train(model, dataset, progress, user_data, stop_reason)
    @ccall $(sym(:scm_model_train))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
            progress::scm_progress_fn, user_data::Ptr{Cvoid},
            stop_reason::Ptr{Int32})::scm_status
end

"""
    scm_model_embed(model, dataset, out, out_len)

C: `scm_status scm_model_embed(const scm_model *model, const scm_dataset *dataset, float *out, size_t out_len)`

Writes the latent means of the cells of `dataset` into `out`, row-major
cells x latent dimensions (`out_len` must equal `n_cells *
scm_model_latent_dim`), i.e. a column-major latent x cells matrix.
"""
function scm_model_embed(model, dataset, out, out_len)
    @ccall $(sym(:scm_model_embed))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
            out::Ptr{Cfloat}, out_len::Csize_t)::scm_status
end

"""
    scm_model_embed_with(model, dataset, modality, options_json, out, out_len)

C: `scm_status scm_model_embed_with(const scm_model *model, const scm_dataset *dataset, const char *modality, const char *options_json, float *out, size_t out_len)`

Like `scm_model_embed` (same `out` layout and `out_len` rule: `n_cells *
scm_model_latent_dim`), with options. `modality` may be NULL (the joint
latent from every measured modality) or name one modality of the model:
that modality's latent alone (scVAEIT encodes each cell with the other
modalities hidden; Multigrate returns the modality's own posterior, its
expert, with rows of NaN for cells that lack the modality). An unknown name
gives `SCM_STATUS_NOT_FOUND`. `options_json` may be NULL or an object with
the optional keys `"sample"` (bool: one posterior sample per cell instead
of the mean; default the config's choice, `multigrate.latent`, i.e. the
mean for scVAEIT) and `"seed"` (integer >= 0: seed of the sample; default
the training seed, `train.seed`). The same inputs, options and seed give
the same values.
"""
function scm_model_embed_with(model, dataset, modality, options_json, out, out_len)
    @ccall $(sym(:scm_model_embed_with))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
            modality::Cstring, options_json::Cstring, out::Ptr{Cfloat},
            out_len::Csize_t)::scm_status
end

"""
    scm_model_impute(model, dataset, modality, options_json, mean, mean_len, variance, variance_len)

C: `scm_status scm_model_impute(const scm_model *model, const scm_dataset *dataset, const char *modality, const char *options_json, float *mean, size_t mean_len, float *variance, size_t variance_len)`

Imputes (or, where measured, denoises) one modality for every cell of
`dataset` into `mean` (row-major cells x output features; `mean_len` must
be `n_cells * n_out`). The output features are all of the modality's
(`scm_model_n_features`, in model order) or the `"features"` option's list,
in its order. `options_json` may be NULL or an object with the optional keys
`"features"` (array of names), `"hide_target"` (bool: ignore measured values
of the target, pure cross-modal prediction), `"n_draws"` (posterior draws
averaged, 0 = posterior mean only; default the config's
`inference.n_draws`), `"scale"` (`"normalized"` or `"counts"`),
`"covariates"` (object: decode under these covariate levels, e.g.
`{"batch": "b1"}`) and `"seed"` (the JSON form of the library's
`ImputeRequest`; `"variance"` and `"draws"` are decided by the arguments
here). `variance` may be NULL; otherwise it receives the per-value
variance over draws (zero with fewer than two draws) and `variance_len`
must equal `mean_len`.
"""
function scm_model_impute(model, dataset, modality, options_json, mean, mean_len, variance,
        variance_len)
    @ccall $(sym(:scm_model_impute))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
            modality::Cstring, options_json::Cstring, mean::Ptr{Cfloat}, mean_len::Csize_t,
            variance::Ptr{Cfloat}, variance_len::Csize_t)::scm_status
end

"""
    scm_model_impute_quantiles(model, dataset, modality, options_json, quantiles, n_quantiles, out, out_len)

C: `scm_status scm_model_impute_quantiles(const scm_model *model, const scm_dataset *dataset, const char *modality, const char *options_json, const double *quantiles, size_t n_quantiles, float *out, size_t out_len)`

Quantiles over posterior draws of one modality's imputation, e.g. the
bounds of central prediction intervals: `quantiles` (`n_quantiles`
values in `[0, 1]`, e.g. `{0.1, 0.9}` for 80% intervals) are written to
`out`, quantile-major (`[n_quantiles][n_cells][n_out]` row-major;
`out_len` must be `n_quantiles * n_cells * n_out`). `options_json` is as
for `scm_model_impute`, plus `"predictive"` (bool): with `true` each
draw also samples the observation model's own noise, so the quantiles
bound the values a measurement would give (prediction intervals);
otherwise they bound the decoder mean. `"n_draws"` must be at least 1
(default the config's `inference.n_draws`); `"quantiles"` in the options
is replaced by the argument.
"""
function scm_model_impute_quantiles(model, dataset, modality, options_json, quantiles,
        n_quantiles, out, out_len)
    @ccall $(sym(:scm_model_impute_quantiles))(model::Ptr{scm_model},
            dataset::Ptr{scm_dataset}, modality::Cstring, options_json::Cstring,
            quantiles::Ptr{Cdouble}, n_quantiles::Csize_t, out::Ptr{Cfloat},
            out_len::Csize_t)::scm_status
end

"""
    scm_model_latent_dim(model, out)

C: `scm_status scm_model_latent_dim(const scm_model *model, size_t *out)`

Writes the latent dimension to `*out`.
"""
function scm_model_latent_dim(model, out)
    @ccall $(sym(:scm_model_latent_dim))(model::Ptr{scm_model},
            out::Ptr{Csize_t})::scm_status
end

"""
    scm_model_n_modalities(model, out)

C: `scm_status scm_model_n_modalities(const scm_model *model, size_t *out)`

Writes the number of modalities of the model to `*out`.
"""
function scm_model_n_modalities(model, out)
    @ccall $(sym(:scm_model_n_modalities))(model::Ptr{scm_model},
            out::Ptr{Csize_t})::scm_status
end

"""
    scm_model_modality_name(model, index, buf, cap, len)

C: `scm_status scm_model_modality_name(const scm_model *model, size_t index, char *buf, size_t cap, size_t *len)`

Writes the name of modality `index` (0-based, model order) into `buf`
(string protocol: `buf = NULL` asks for the size).
"""
function scm_model_modality_name(model, index, buf, cap, len)
    @ccall $(sym(:scm_model_modality_name))(model::Ptr{scm_model}, index::Csize_t,
            buf::Ptr{UInt8}, cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

"""
    scm_model_n_features(model, modality, out)

C: `scm_status scm_model_n_features(const scm_model *model, const char *modality, size_t *out)`

Writes the number of features of a modality to `*out`.
"""
function scm_model_n_features(model, modality, out)
    @ccall $(sym(:scm_model_n_features))(model::Ptr{scm_model}, modality::Cstring,
            out::Ptr{Csize_t})::scm_status
end

"""
    scm_model_feature_name(model, modality, index, buf, cap, len)

C: `scm_status scm_model_feature_name(const scm_model *model, const char *modality, size_t index, char *buf, size_t cap, size_t *len)`

Writes the name of feature `index` (0-based) of a modality into `buf`
(string protocol).
"""
function scm_model_feature_name(model, modality, index, buf, cap, len)
    @ccall $(sym(:scm_model_feature_name))(model::Ptr{scm_model}, modality::Cstring,
            index::Csize_t, buf::Ptr{UInt8}, cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

"""
    scm_model_epochs_trained(model, out)

C: `scm_status scm_model_epochs_trained(const scm_model *model, size_t *out)`

Writes the number of epochs trained so far to `*out`.
"""
function scm_model_epochs_trained(model, out)
    @ccall $(sym(:scm_model_epochs_trained))(model::Ptr{scm_model},
            out::Ptr{Csize_t})::scm_status
end

"""
    scm_model_n_params(model, out)

C: `scm_status scm_model_n_params(const scm_model *model, size_t *out)`

Writes the number of trainable parameters to `*out`.
"""
function scm_model_n_params(model, out)
    @ccall $(sym(:scm_model_n_params))(model::Ptr{scm_model}, out::Ptr{Csize_t})::scm_status
end

"""
    scm_model_config_json(model, buf, cap, len)

C: `scm_status scm_model_config_json(const scm_model *model, char *buf, size_t cap, size_t *len)`

Writes the model's resolved configuration (every setting, as stored in its
checkpoints) as JSON into `buf` (string protocol).
"""
function scm_model_config_json(model, buf, cap, len)
    @ccall $(sym(:scm_model_config_json))(model::Ptr{scm_model}, buf::Ptr{UInt8},
            cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

"""
    scm_model_set_device(model, device)

C: `scm_status scm_model_set_device(scm_model *model, const char *device)`

Moves the model to a device: `"cpu"`, `"cpu:flex"`, `"cpu:ndarray"`,
`"cuda"` or `"cuda:N"`. A backend missing from this build gives
`SCM_STATUS_DEVICE` with a message saying how to get it.
"""
function scm_model_set_device(model, device)
    @ccall $(sym(:scm_model_set_device))(model::Ptr{scm_model}, device::Cstring)::scm_status
end

"""
    scm_model_set_epochs(model, epochs)

C: `scm_status scm_model_set_epochs(scm_model *model, size_t epochs)`

Sets the number of epochs each later `scm_model_train` runs
(`train.epochs`; at least 1, else `SCM_STATUS_INVALID_CONFIG`), e.g. to
fine-tune a model from `scm_model_map_query` for fewer epochs than its
reference.
"""
function scm_model_set_epochs(model, epochs)
    @ccall $(sym(:scm_model_set_epochs))(model::Ptr{scm_model}, epochs::Csize_t)::scm_status
end

"""
    scm_model_set_threads(model, threads)

C: `scm_status scm_model_set_threads(scm_model *model, size_t threads)`

Limits the model's compute threads (0 = all cores).
"""
function scm_model_set_threads(model, threads)
    @ccall $(sym(:scm_model_set_threads))(model::Ptr{scm_model},
            threads::Csize_t)::scm_status
end

"""
    scm_model_save(model, path)

C: `scm_status scm_model_save(const scm_model *model, const char *path)`

Saves the model to a safetensors file. The write is atomic: an
interrupted save leaves any previous file at `path` intact.
"""
function scm_model_save(model, path)
    @ccall $(sym(:scm_model_save))(model::Ptr{scm_model}, path::Cstring)::scm_status
end

"""
    scm_model_load(path, out)

C: `scm_status scm_model_load(const char *path, scm_model **out)`

Loads a model saved by `scm_model_save` (on the CPU). Truncated, corrupt
or foreign files give `SCM_STATUS_CHECKPOINT`.
"""
function scm_model_load(path, out)
    @ccall $(sym(:scm_model_load))(path::Cstring, out::Ptr{Ptr{scm_model}})::scm_status
end

"""
    scm_model_to_buffer(model, buf, cap, len)

C: `scm_status scm_model_to_buffer(const scm_model *model, uint8_t *buf, size_t cap, size_t *len)`

Serializes the model (safetensors bytes, as `scm_model_save` writes) into
`buf`; `*len` receives the size. `buf = NULL` asks for the size only; a
too-small `cap` gives `SCM_STATUS_BUFFER_TOO_SMALL`.
"""
function scm_model_to_buffer(model, buf, cap, len)
    @ccall $(sym(:scm_model_to_buffer))(model::Ptr{scm_model}, buf::Ptr{UInt8},
            cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

"""
    scm_model_from_buffer(bytes, n_bytes, out)

C: `scm_status scm_model_from_buffer(const uint8_t *bytes, size_t n_bytes, scm_model **out)`

Loads a model from `n_bytes` bytes made by `scm_model_to_buffer` (copied).
"""
function scm_model_from_buffer(bytes, n_bytes, out)
    @ccall $(sym(:scm_model_from_buffer))(bytes::Ptr{UInt8}, n_bytes::Csize_t,
            out::Ptr{Ptr{scm_model}})::scm_status
end

"""
    scm_model_free(model)

C: `void scm_model_free(scm_model *model)`

Frees a model (NULL is accepted).
"""
function scm_model_free(model)
    @ccall $(sym(:scm_model_free))(model::Ptr{scm_model})::Cvoid
end

# ---------------------------------------------------------------------------
# Lists

"""
Every constant above, in header order.
"""
const CONSTANTS = (:SCM_ABI_VERSION, :SCM_STOP_COMPLETED, :SCM_STOP_EARLY_STOPPED,
        :SCM_STOP_CANCELLED, :SCM_STATUS_OK, :SCM_STATUS_NULL_ARG, :SCM_STATUS_INVALID_ARG,
        :SCM_STATUS_INVALID_DATA, :SCM_STATUS_INVALID_CONFIG, :SCM_STATUS_NOT_FOUND,
        :SCM_STATUS_CHECKPOINT, :SCM_STATUS_DEVICE, :SCM_STATUS_INVALID_STATE,
        :SCM_STATUS_NUMERICAL, :SCM_STATUS_IO, :SCM_STATUS_BUFFER_TOO_SMALL,
        :SCM_STATUS_PANIC,)

"""
Every function above, in header order: the symbols [`load!`](@ref) resolves.
"""
const FUNCTIONS = (:scm_last_error_message, :scm_status_str, :scm_abi_version, :scm_version,
        :scm_config_new, :scm_config_from_json, :scm_config_set_json, :scm_config_set_int,
        :scm_config_set_double, :scm_config_set_bool, :scm_config_set_string,
        :scm_config_set_value_json, :scm_config_to_json, :scm_config_free, :scm_dataset_new,
        :scm_dataset_add_dense, :scm_dataset_add_csr, :scm_dataset_add_csc,
        :scm_dataset_set_measured, :scm_dataset_set_chromosome_blocks,
        :scm_dataset_set_covariate, :scm_dataset_set_continuous_covariate,
        :scm_dataset_set_cell_names, :scm_dataset_n_cells, :scm_dataset_n_modalities,
        :scm_dataset_free, :scm_model_new, :scm_model_map_query, :scm_model_train,
        :scm_model_embed, :scm_model_embed_with, :scm_model_impute,
        :scm_model_impute_quantiles, :scm_model_latent_dim, :scm_model_n_modalities,
        :scm_model_modality_name, :scm_model_n_features, :scm_model_feature_name,
        :scm_model_epochs_trained, :scm_model_n_params, :scm_model_config_json,
        :scm_model_set_device, :scm_model_set_epochs, :scm_model_set_threads,
        :scm_model_save, :scm_model_load, :scm_model_to_buffer, :scm_model_from_buffer,
        :scm_model_free,)

end # module LibSCMosaic
