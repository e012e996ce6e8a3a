"""
    LibSCMosaic

One-to-one `@ccall` bindings of the scmosaic C ABI (`include/scmosaic.h`,
ABI version 1). Every function of the header has exactly one wrapper here, with
the header's argument order and C types; nothing is checked or converted beyond
what `@ccall` does. The friendly layer is the parent module `SCMosaic`.

The library is opened at run time ([`load!`](@ref), called from
`SCMosaic.__init__`), so each wrapper calls a function pointer resolved by
`dlsym`: `@ccall \$(fptr)(...)`. `tests/julia_abi.rs` in the Rust crate parses
this file and the header and fails when they disagree.

Type mapping: `size_t` → `Csize_t`, `int32_t` → `Int32`, `uint32_t` → `UInt32`,
`int64_t` → `Int64`, `uint8_t` → `UInt8`, `float` → `Cfloat`, `double` →
`Cdouble`, input `const char *` → `Cstring`, output `char *buf` →
`Ptr{UInt8}`, `const char *const *` → `Ptr{Cstring}`, `scm_X *` →
`Ptr{scm_X}`, `scm_X **` → `Ptr{Ptr{scm_X}}`, `scm_progress_fn` and `void *` →
`Ptr{Cvoid}`.
"""
module LibSCMosaic

using Libdl

# ---------------------------------------------------------------------------
# Library handle and symbols

"The `dlopen` handle of the loaded library (`C_NULL` before [`load!`](@ref))."
const HANDLE = Ref{Ptr{Cvoid}}(C_NULL)

"The path the library was loaded from (empty before [`load!`](@ref))."
const PATH = Ref{String}("")

# Resolved once in `load!` and only read afterwards (safe from any thread).
const SYMBOLS = Dict{Symbol,Ptr{Cvoid}}()

"""
    wrapped_functions() -> Vector{Symbol}

The names of the C functions wrapped here: every `scm_*` function of this
module (one per header function, as `tests/julia_abi.rs` checks).
"""
function wrapped_functions()
    m = @__MODULE__
    return [n for n in names(m; all = true)
            if startswith(String(n), "scm_") && getfield(m, n) isa Function]
end

"""
    load!(path) -> Ptr{Cvoid}

Opens the shared library at `path` and resolves every function of the ABI. A
function missing from an older library resolves to `C_NULL` and fails only when
called. Not thread-safe: call it once, before any other use (`__init__` does).
"""
function load!(path::AbstractString)
    h = Libdl.dlopen(String(path))
    empty!(SYMBOLS)
    for name in wrapped_functions()
        p = Libdl.dlsym(h, name; throw_error = false)
        SYMBOLS[name] = p === nothing ? C_NULL : p
    end
    HANDLE[] = h
    PATH[] = String(path)
    return h
end

"""
    unload!()

Forgets the loaded library (and closes it). Every handle made with it must
have been freed before.
"""
function unload!()
    h = HANDLE[]
    HANDLE[] = C_NULL
    PATH[] = ""
    empty!(SYMBOLS)
    h == C_NULL || Libdl.dlclose(h)
    return nothing
end

"Whether a library has been loaded."
isloaded() = HANDLE[] != C_NULL

@noinline function _unresolved(name::Symbol)
    if HANDLE[] == C_NULL
        error("libscmosaic is not loaded: set the library path with " *
              "SCMosaic.set_library!(\"/path/to/libscmosaic.so\") or the " *
              "environment variable SCMOSAIC_LIB (see the SCMosaic README)")
    end
    error("$(name) is not exported by $(PATH[]): the library is older than " *
          "this wrapper; rebuild it")
end

"The function pointer of `name` in the loaded library."
@inline function sym(name::Symbol)
    p = get(SYMBOLS, name, C_NULL)
    p == C_NULL && _unresolved(name)
    return p
end

# ---------------------------------------------------------------------------
# Types and constants (as in the header)

"Status code of every fallible function (`enum scm_status`, int32)."
const scm_status = Int32

"Opaque `scm_config` (used only behind `Ptr`)."
mutable struct scm_config end
"Opaque `scm_dataset` (used only behind `Ptr`)."
mutable struct scm_dataset end
"Opaque `scm_model` (used only behind `Ptr`)."
mutable struct scm_model end

const SCM_ABI_VERSION = 1

const SCM_STOP_COMPLETED = 0
const SCM_STOP_EARLY_STOPPED = 1
const SCM_STOP_CANCELLED = 2

const SCM_STATUS_OK = scm_status(0)
const SCM_STATUS_NULL_ARG = scm_status(1)
const SCM_STATUS_INVALID_ARG = scm_status(2)
const SCM_STATUS_INVALID_DATA = scm_status(3)
const SCM_STATUS_INVALID_CONFIG = scm_status(4)
const SCM_STATUS_NOT_FOUND = scm_status(5)
const SCM_STATUS_CHECKPOINT = scm_status(6)
const SCM_STATUS_DEVICE = scm_status(7)
const SCM_STATUS_INVALID_STATE = scm_status(8)
const SCM_STATUS_NUMERICAL = scm_status(9)
const SCM_STATUS_IO = scm_status(10)
const SCM_STATUS_BUFFER_TOO_SMALL = scm_status(11)
const SCM_STATUS_PANIC = scm_status(-1)

# ---------------------------------------------------------------------------
# Errors and versions

function scm_last_error_message()
    @ccall $(sym(:scm_last_error_message))()::Cstring
end

function scm_status_str(status)
    @ccall $(sym(:scm_status_str))(status::Int32)::Cstring
end

function scm_abi_version()
    @ccall $(sym(:scm_abi_version))()::UInt32
end

function scm_version()
    @ccall $(sym(:scm_version))()::Cstring
end

# ---------------------------------------------------------------------------
# scm_config

function scm_config_new(out)
    @ccall $(sym(:scm_config_new))(out::Ptr{Ptr{scm_config}})::scm_status
end

function scm_config_from_json(json, out)
    @ccall $(sym(:scm_config_from_json))(json::Cstring, out::Ptr{Ptr{scm_config}})::scm_status
end

function scm_config_set_json(config, json)
    @ccall $(sym(:scm_config_set_json))(config::Ptr{scm_config}, json::Cstring)::scm_status
end

function scm_config_set_int(config, key, value)
    @ccall $(sym(:scm_config_set_int))(config::Ptr{scm_config}, key::Cstring,
                                       value::Int64)::scm_status
end

function scm_config_set_double(config, key, value)
    @ccall $(sym(:scm_config_set_double))(config::Ptr{scm_config}, key::Cstring,
                                          value::Cdouble)::scm_status
end

function scm_config_set_bool(config, key, value)
    @ccall $(sym(:scm_config_set_bool))(config::Ptr{scm_config}, key::Cstring,
                                        value::Int32)::scm_status
end

function scm_config_set_string(config, key, value)
    @ccall $(sym(:scm_config_set_string))(config::Ptr{scm_config}, key::Cstring,
                                          value::Cstring)::scm_status
end

function scm_config_to_json(config, buf, cap, len)
    @ccall $(sym(:scm_config_to_json))(config::Ptr{scm_config}, buf::Ptr{UInt8},
                                       cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

function scm_config_free(config)
    @ccall $(sym(:scm_config_free))(config::Ptr{scm_config})::Cvoid
end

# ---------------------------------------------------------------------------
# scm_dataset

function scm_dataset_new(n_cells, out)
    @ccall $(sym(:scm_dataset_new))(n_cells::Csize_t, out::Ptr{Ptr{scm_dataset}})::scm_status
end

function scm_dataset_add_dense(dataset, name, likelihood, feature_names, n_features,
                               values, n_values)
    @ccall $(sym(:scm_dataset_add_dense))(dataset::Ptr{scm_dataset}, name::Cstring,
                                          likelihood::Cstring,
                                          feature_names::Ptr{Cstring},
                                          n_features::Csize_t, values::Ptr{Cfloat},
                                          n_values::Csize_t)::scm_status
end

function scm_dataset_add_csr(dataset, name, likelihood, feature_names, n_features,
                             row_ptr, col_idx, values, nnz, index_base)
    @ccall $(sym(:scm_dataset_add_csr))(dataset::Ptr{scm_dataset}, name::Cstring,
                                        likelihood::Cstring,
                                        feature_names::Ptr{Cstring},
                                        n_features::Csize_t, row_ptr::Ptr{Int64},
                                        col_idx::Ptr{Int64}, values::Ptr{Cfloat},
                                        nnz::Csize_t, index_base::Int32)::scm_status
end

function scm_dataset_add_csc(dataset, name, likelihood, feature_names, n_features,
                             col_ptr, row_idx, values, nnz, index_base)
    @ccall $(sym(:scm_dataset_add_csc))(dataset::Ptr{scm_dataset}, name::Cstring,
                                        likelihood::Cstring,
                                        feature_names::Ptr{Cstring},
                                        n_features::Csize_t, col_ptr::Ptr{Int64},
                                        row_idx::Ptr{Int64}, values::Ptr{Cfloat},
                                        nnz::Csize_t, index_base::Int32)::scm_status
end

function scm_dataset_set_measured(dataset, modality, measured, n_cells)
    @ccall $(sym(:scm_dataset_set_measured))(dataset::Ptr{scm_dataset},
                                             modality::Cstring, measured::Ptr{UInt8},
                                             n_cells::Csize_t)::scm_status
end

function scm_dataset_set_chromosome_blocks(dataset, modality)
    @ccall $(sym(:scm_dataset_set_chromosome_blocks))(dataset::Ptr{scm_dataset},
                                                      modality::Cstring)::scm_status
end

function scm_dataset_set_covariate(dataset, name, codes, n_cells, levels, n_levels)
    @ccall $(sym(:scm_dataset_set_covariate))(dataset::Ptr{scm_dataset}, name::Cstring,
                                              codes::Ptr{Int32}, n_cells::Csize_t,
                                              levels::Ptr{Cstring},
                                              n_levels::Csize_t)::scm_status
end

function scm_dataset_set_continuous_covariate(dataset, name, values, n_cells)
    @ccall $(sym(:scm_dataset_set_continuous_covariate))(dataset::Ptr{scm_dataset},
                                                         name::Cstring, values::Ptr{Cfloat},
                                                         n_cells::Csize_t)::scm_status
end

function scm_dataset_set_cell_names(dataset, names, n_cells)
    @ccall $(sym(:scm_dataset_set_cell_names))(dataset::Ptr{scm_dataset},
                                               names::Ptr{Cstring},
                                               n_cells::Csize_t)::scm_status
end

function scm_dataset_n_cells(dataset, out)
    @ccall $(sym(:scm_dataset_n_cells))(dataset::Ptr{scm_dataset},
                                        out::Ptr{Csize_t})::scm_status
end

function scm_dataset_n_modalities(dataset, out)
    @ccall $(sym(:scm_dataset_n_modalities))(dataset::Ptr{scm_dataset},
                                             out::Ptr{Csize_t})::scm_status
end

function scm_dataset_free(dataset)
    @ccall $(sym(:scm_dataset_free))(dataset::Ptr{scm_dataset})::Cvoid
end

# ---------------------------------------------------------------------------
# scm_model

function scm_model_new(config, dataset, out)
    @ccall $(sym(:scm_model_new))(config::Ptr{scm_config}, dataset::Ptr{scm_dataset},
                                  out::Ptr{Ptr{scm_model}})::scm_status
end

function scm_model_map_query(reference, query, out)
    @ccall $(sym(:scm_model_map_query))(reference::Ptr{scm_model}, query::Ptr{scm_dataset},
                                        out::Ptr{Ptr{scm_model}})::scm_status
end

function scm_model_train(model, dataset, progress, user_data, stop_reason)
    @ccall $(sym(:scm_model_train))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
                                    progress::Ptr{Cvoid}, user_data::Ptr{Cvoid},
                                    stop_reason::Ptr{Int32})::scm_status
end

function scm_model_embed(model, dataset, out, out_len)
    @ccall $(sym(:scm_model_embed))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
                                    out::Ptr{Cfloat}, out_len::Csize_t)::scm_status
end

function scm_model_embed_with(model, dataset, modality, options_json, out, out_len)
    @ccall $(sym(:scm_model_embed_with))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
                                         modality::Cstring, options_json::Cstring,
                                         out::Ptr{Cfloat}, out_len::Csize_t)::scm_status
end

function scm_model_impute(model, dataset, modality, options_json, mean, mean_len,
                          variance, variance_len)
    @ccall $(sym(:scm_model_impute))(model::Ptr{scm_model}, dataset::Ptr{scm_dataset},
                                     modality::Cstring, options_json::Cstring,
                                     mean::Ptr{Cfloat}, mean_len::Csize_t,
                                     variance::Ptr{Cfloat},
                                     variance_len::Csize_t)::scm_status
end

function scm_model_latent_dim(model, out)
    @ccall $(sym(:scm_model_latent_dim))(model::Ptr{scm_model},
                                         out::Ptr{Csize_t})::scm_status
end

function scm_model_n_modalities(model, out)
    @ccall $(sym(:scm_model_n_modalities))(model::Ptr{scm_model},
                                           out::Ptr{Csize_t})::scm_status
end

function scm_model_modality_name(model, index, buf, cap, len)
    @ccall $(sym(:scm_model_modality_name))(model::Ptr{scm_model}, index::Csize_t,
                                            buf::Ptr{UInt8}, cap::Csize_t,
                                            len::Ptr{Csize_t})::scm_status
end

function scm_model_n_features(model, modality, out)
    @ccall $(sym(:scm_model_n_features))(model::Ptr{scm_model}, modality::Cstring,
                                         out::Ptr{Csize_t})::scm_status
end

function scm_model_feature_name(model, modality, index, buf, cap, len)
    @ccall $(sym(:scm_model_feature_name))(model::Ptr{scm_model}, modality::Cstring,
                                           index::Csize_t, buf::Ptr{UInt8},
                                           cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

function scm_model_epochs_trained(model, out)
    @ccall $(sym(:scm_model_epochs_trained))(model::Ptr{scm_model},
                                             out::Ptr{Csize_t})::scm_status
end

function scm_model_n_params(model, out)
    @ccall $(sym(:scm_model_n_params))(model::Ptr{scm_model},
                                       out::Ptr{Csize_t})::scm_status
end

function scm_model_config_json(model, buf, cap, len)
    @ccall $(sym(:scm_model_config_json))(model::Ptr{scm_model}, buf::Ptr{UInt8},
                                          cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

function scm_model_set_device(model, device)
    @ccall $(sym(:scm_model_set_device))(model::Ptr{scm_model},
                                         device::Cstring)::scm_status
end

function scm_model_set_epochs(model, epochs)
    @ccall $(sym(:scm_model_set_epochs))(model::Ptr{scm_model},
                                         epochs::Csize_t)::scm_status
end

function scm_model_set_threads(model, threads)
    @ccall $(sym(:scm_model_set_threads))(model::Ptr{scm_model},
                                          threads::Csize_t)::scm_status
end

function scm_model_save(model, path)
    @ccall $(sym(:scm_model_save))(model::Ptr{scm_model}, path::Cstring)::scm_status
end

function scm_model_load(path, out)
    @ccall $(sym(:scm_model_load))(path::Cstring, out::Ptr{Ptr{scm_model}})::scm_status
end

function scm_model_to_buffer(model, buf, cap, len)
    @ccall $(sym(:scm_model_to_buffer))(model::Ptr{scm_model}, buf::Ptr{UInt8},
                                        cap::Csize_t, len::Ptr{Csize_t})::scm_status
end

function scm_model_from_buffer(bytes, n_bytes, out)
    @ccall $(sym(:scm_model_from_buffer))(bytes::Ptr{UInt8}, n_bytes::Csize_t,
                                          out::Ptr{Ptr{scm_model}})::scm_status
end

function scm_model_free(model)
    @ccall $(sym(:scm_model_free))(model::Ptr{scm_model})::Cvoid
end

end # module LibSCMosaic
