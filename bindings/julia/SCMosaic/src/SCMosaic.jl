"""
    SCMosaic

Julia bindings of scmosaic (mosaic single-cell integration and imputation,
scVAEIT) through its C ABI. Matrices are features × cells (Julia's
column-major layout is the library's row-major cells × features, so dense
inputs and all outputs cross without a copy).

The shared library is found through the preference `libscmosaic`
([`set_library!`](@ref)), else the environment variable `SCMOSAIC_LIB`.

```julia
using SCMosaic
cfg = Config(latent_dim = 16, train = (epochs = 50,))
ds = Dataset(ncells)
add_modality!(ds, "rna", rna_counts, gene_names)            # features × cells
add_modality!(ds, "adt", adt_counts, protein_names; likelihood = "nb")
set_batch!(ds, batch_labels)
model = Model(cfg, ds)
train!(model, ds; progress = (epoch, n, loss, vloss) -> println(epoch, " ", loss))
z = embed(model, ds)                                        # latent × cells
adt_hat = impute(model, ds, "adt")                          # features × cells
```
"""
module SCMosaic

using Libdl
using SparseArrays
using Preferences

include("LibSCMosaic.jl") # generated from include/scmosaic.h (scripts/gen-julia.sh)
using .LibSCMosaic
const L = LibSCMosaic

# The header's constants (SCM_ABI_VERSION, SCM_STATUS_*, SCM_STOP_*), also as
# SCMosaic.SCM_...
for name in L.CONSTANTS
    @eval const $name = L.$name
end

include("errors.jl")

export SCMosaicError, Config, Dataset, Model,
    config_json, add_modality!, set_measured!, set_covariate!, set_continuous_covariate!,
    set_batch!,
    set_cell_names!, set_chromosome_blocks!, ncells, nmodalities,
    train!, embed, impute, latent_dim, modalities, features, nfeatures,
    epochs_trained, nparams, save, save_model, load_model, to_bytes, from_bytes,
    set_device!, set_threads!, set_epochs!, map_query

# ---------------------------------------------------------------------------
# Finding and loading the library

const PREFERENCE_KEY = "libscmosaic"
const ENV_KEY = "SCMOSAIC_LIB"

const HOW_TO = """
Build the library with `cargo build --release` in the scmosaic repository; it is
target/release/libscmosaic.so (libscmosaic.dylib on macOS, scmosaic.dll on
Windows). Then either
  - SCMosaic.set_library!("/path/to/libscmosaic.so")   (saved as the preference
    "libscmosaic" in LocalPreferences.toml; takes effect at once), or
  - set the environment variable SCMOSAIC_LIB=/path/to/libscmosaic.so before
    loading SCMosaic."""

"""
    library_path() -> Union{Nothing,Tuple{String,String}}

The configured library path and where it came from: the preference
`libscmosaic`, else the environment variable `SCMOSAIC_LIB`; `nothing` when
neither is set.
"""
function library_path()
    p = Preferences.load_preference(@__MODULE__, PREFERENCE_KEY, nothing)
    if p isa AbstractString && !isempty(p)
        return (String(p), "the preference \"$(PREFERENCE_KEY)\"")
    end
    e = get(ENV, ENV_KEY, "")
    isempty(e) || return (e, "the environment variable $(ENV_KEY)")
    return nothing
end

function _load(path::String, source::String)
    if !isfile(path)
        error("libscmosaic not found at $(repr(path)) (from $(source)).\n" * HOW_TO)
    end
    try
        L.load!(path)
    catch err
        error("cannot open libscmosaic at $(repr(path)) (from $(source)): " *
              sprint(showerror, err))
    end
    if get(L.SYMBOLS, :scm_abi_version, C_NULL) == C_NULL
        L.unload!()
        error("$(repr(path)) (from $(source)) is not libscmosaic: it has no scm_abi_version")
    end
    abi = L.scm_abi_version()
    if abi != L.SCM_ABI_VERSION
        L.unload!()
        error("libscmosaic at $(repr(path)) (from $(source)) has ABI version $(abi), " *
              "but SCMosaic.jl was written for ABI version $(L.SCM_ABI_VERSION) " *
              "(include/scmosaic.h SCM_ABI_VERSION). Use a library and a " *
              "wrapper from the same scmosaic release.")
    end
    return path
end

"""
    set_library!(path; persist = true) -> String

Uses the libscmosaic at `path` and, with `persist`, stores it as the
preference `libscmosaic` (in the active project's LocalPreferences.toml) for
later sessions. When another library is already loaded in this session, only
the preference changes: restart Julia to use it.
"""
function set_library!(path::AbstractString; persist::Bool = true)
    p = abspath(String(path))
    isfile(p) || error("no file at $(repr(p)).\n" * HOW_TO)
    if L.isloaded() && L.PATH[] != p
        persist && Preferences.set_preferences!(@__MODULE__, PREFERENCE_KEY => p; force = true)
        @warn "libscmosaic is already loaded from $(L.PATH[]); restart Julia to use $(p)"
        return p
    end
    L.isloaded() || _load(p, "set_library!")
    persist && Preferences.set_preferences!(@__MODULE__, PREFERENCE_KEY => p; force = true)
    return p
end

function __init__()
    found = library_path()
    # Nothing configured: loading SCMosaic still works (so that set_library!
    # can be called); every call into the library then throws HOW_TO.
    found === nothing && return
    _load(found...)
    return nothing
end

"The version of the loaded library (SemVer string, e.g. `\"0.1.0\"`)."
library_version() = unsafe_string(L.scm_version())

# ---------------------------------------------------------------------------
# Handles

"""
    Config(settings::Pair...; json = nothing, kwargs...)

A model configuration. Starts from the defaults (or from the JSON object
`json`, whose unset keys keep their defaults), then applies `settings`
(dotted keys: `"train.epochs" => 50`) and `kwargs` (`latent_dim = 16`,
`train = (epochs = 50, batch_size = 256)`, `hidden = [128]`). Unknown keys and
bad values throw [`SCMosaicError`](@ref) (`SCM_STATUS_INVALID_CONFIG` or
`SCM_STATUS_INVALID_ARG`). Change it later with `cfg["train.epochs"] = 10`.
"""
mutable struct Config
    @atomic ptr::Ptr{L.scm_config}
    function Config(ptr::Ptr{L.scm_config})
        ptr == C_NULL && throw(ArgumentError("NULL scm_config"))
        return finalizer(_finalize, new(ptr))
    end
end

"""
    Dataset(n_cells)

An empty dataset of `n_cells` cells; add modalities with
[`add_modality!`](@ref), then covariates with [`set_batch!`](@ref) /
[`set_covariate!`](@ref) / [`set_continuous_covariate!`](@ref).
"""
mutable struct Dataset
    @atomic ptr::Ptr{L.scm_dataset}
    function Dataset(ptr::Ptr{L.scm_dataset})
        ptr == C_NULL && throw(ArgumentError("NULL scm_dataset"))
        return finalizer(_finalize, new(ptr))
    end
end

"""
    Model(cfg::Config, ds::Dataset)

An untrained model for the modalities, features and covariates of `ds`.
Also made by [`load_model`](@ref) and [`from_bytes`](@ref).
"""
mutable struct Model
    @atomic ptr::Ptr{L.scm_model}
    function Model(ptr::Ptr{L.scm_model})
        ptr == C_NULL && throw(ArgumentError("NULL scm_model"))
        return finalizer(_finalize, new(ptr))
    end
end

const Handle = Union{Config,Dataset,Model}

_kind(::Config) = "Config"
_kind(::Dataset) = "Dataset"
_kind(::Model) = "Model"

_free(::Config, p) = L.scm_config_free(p)
_free(::Dataset, p) = L.scm_dataset_free(p)
_free(::Model, p) = L.scm_model_free(p)

"""
    close(handle)

Frees the library object now (the finalizer would otherwise do it). Closing
twice is harmless; any other use of a closed handle throws an
[`SCMosaicError`](@ref) with code `SCM_STATUS_INVALID_STATE`. Do not close a
handle while another task is using it.
"""
function Base.close(h::Handle)
    p = @atomicswap h.ptr = C_NULL
    p == C_NULL || _free(h, p)
    return nothing
end

# Finalizers only free (no locks, no task switches).
_finalize(h::Handle) = close(h)

Base.isopen(h::Handle) = (@atomic h.ptr) != C_NULL

function _ptr(h::Handle)
    p = @atomic h.ptr
    if p == C_NULL
        throw(SCMosaicError(L.SCM_STATUS_INVALID_STATE,
                            "the $(_kind(h)) handle is closed"))
    end
    return p
end

# Handles go straight into @ccall; ccall keeps them rooted during the call.
Base.unsafe_convert(::Type{Ptr{L.scm_config}}, h::Config) = _ptr(h)
Base.unsafe_convert(::Type{Ptr{L.scm_dataset}}, h::Dataset) = _ptr(h)
Base.unsafe_convert(::Type{Ptr{L.scm_model}}, h::Model) = _ptr(h)

# ---------------------------------------------------------------------------
# Helpers: strings in and out, JSON

# (strings kept alive, their Cstring pointers) for a `const char *const *`.
function _cstrings(strs)
    s = String[x isa String ? x : string(x) for x in strs]
    p = Cstring[Base.unsafe_convert(Cstring, x) for x in s] # throws on embedded NUL
    return s, p
end

# The (buf, cap, len) output protocol of strings and serialized models: ask
# for the size with `f(C_NULL, 0, len)`, then fill a buffer of that size.
function _read_buffer(f)
    len = Ref{Csize_t}(0)
    @check f(C_NULL, 0, len)
    for _ in 1:8
        buf = Vector{UInt8}(undef, len[])
        status = f(buf, length(buf), len)
        # The output may have grown between the two calls: ask again.
        status == L.SCM_STATUS_BUFFER_TOO_SMALL && continue
        check(status)
        return resize!(buf, Int(len[]))
    end
    error("the library's output kept changing size while it was read")
end

# A string through the (buf, cap, len) protocol (`len` counts the NUL).
function _read_string(f)
    buf = _read_buffer(f)
    return String(resize!(buf, max(length(buf) - 1, 0))) # drop the NUL
end

# The value a library function writes through its last argument, an
# out-pointer to a `T`: calls `f(args..., out)` and checks its status. Every
# handle constructor and value getter goes through here.
function _out(f, ::Type{T}, args...) where {T}
    out = T <: Ptr ? Ref{T}(C_NULL) : Ref{T}(zero(T))
    @check f(args..., out)
    return out[]
end

# A count or size (`size_t *out`) as an Int.
_count(f, args...) = Int(_out(f, Csize_t, args...))

struct _JSONObject
    pairs::Vector{Pair{String,Any}}
end

_tojson(x) = sprint(_json, x)

_json(io::IO, ::Nothing) = print(io, "null")
_json(io::IO, x::Bool) = print(io, x ? "true" : "false")
_json(io::IO, x::Integer) = print(io, x)
function _json(io::IO, x::AbstractFloat)
    isfinite(x) || throw(ArgumentError("JSON cannot hold the value $(x)"))
    print(io, Float64(x))
end
_json(io::IO, x::Real) = _json(io, Float64(x))
_json(io::IO, x::Union{AbstractString,Symbol}) = _json_string(io, String(x))
function _json(io::IO, x::Union{AbstractVector,Tuple})
    print(io, '[')
    for (i, v) in enumerate(x)
        i > 1 && print(io, ',')
        _json(io, v)
    end
    print(io, ']')
end
_json(io::IO, x::Union{AbstractDict,NamedTuple}) =
    _json(io, _JSONObject(Pair{String,Any}[string(k) => v for (k, v) in pairs(x)]))
function _json(io::IO, x::_JSONObject)
    print(io, '{')
    for (i, (k, v)) in enumerate(x.pairs)
        i > 1 && print(io, ',')
        _json_string(io, k)
        print(io, ':')
        _json(io, v)
    end
    print(io, '}')
end
_json(::IO, x) = throw(ArgumentError("cannot write a $(typeof(x)) as JSON"))

function _json_string(io::IO, s::String)
    isvalid(s) || throw(ArgumentError("not valid UTF-8: $(repr(s))"))
    print(io, '"')
    for c in s
        if c == '"'
            print(io, "\\\"")
        elseif c == '\\'
            print(io, "\\\\")
        elseif c < ' ' || c == '\x7f'
            print(io, "\\u", string(UInt32(c); base = 16, pad = 4))
        else
            print(io, c)
        end
    end
    print(io, '"')
end

# ---------------------------------------------------------------------------
# Config

function Config(settings::Pair...; json::Union{Nothing,AbstractString} = nothing,
                kwargs...)
    cfg = Config(json === nothing ? _out(L.scm_config_new, Ptr{L.scm_config}) :
                 _out(L.scm_config_from_json, Ptr{L.scm_config}, String(json)))
    for (k, v) in settings
        set!(cfg, string(k), v)
    end
    for (k, v) in kwargs
        set!(cfg, String(k), v)
    end
    return cfg
end

"""
    set!(cfg::Config, key, value) -> cfg

Sets one option by dotted key: `Bool` → `scm_config_set_bool`, `Integer` →
`scm_config_set_int`, other reals → `scm_config_set_double`, strings and
symbols → `scm_config_set_string`; `nothing`, vectors, tuples, named tuples and
dicts are set as JSON values (`scm_config_set_value_json`; dicts merge into
nested settings).
On error the configuration is unchanged.
"""
function set!(cfg::Config, key::AbstractString, value)
    k = String(key)
    if value isa Bool
        @check L.scm_config_set_bool(cfg, k, Int32(value))
    elseif value isa Integer
        @check L.scm_config_set_int(cfg, k, Int64(value))
    elseif value isa Real
        @check L.scm_config_set_double(cfg, k, Float64(value))
    elseif value isa Union{AbstractString,Symbol}
        @check L.scm_config_set_string(cfg, k, String(value))
    else
        @check L.scm_config_set_value_json(cfg, k, _tojson(value))
    end
    return cfg
end

Base.setindex!(cfg::Config, value, key::Union{AbstractString,Symbol}) =
    set!(cfg, string(key), value)

"""
    merge_json!(cfg::Config, json::AbstractString) -> cfg

Merges a JSON object into the configuration (`scm_config_set_json`).
"""
function merge_json!(cfg::Config, json::AbstractString)
    @check L.scm_config_set_json(cfg, String(json))
    return cfg
end

"""
    config_json(cfg::Config) -> String
    config_json(model::Model) -> String

Every setting as JSON (a model's resolved configuration, as stored in its
checkpoints).
"""
config_json(cfg::Config) =
    _read_string((buf, cap, len) -> L.scm_config_to_json(cfg, buf, cap, len))

Base.copy(cfg::Config) = Config(; json = config_json(cfg))

# ---------------------------------------------------------------------------
# Dataset

function Dataset(n_cells::Integer)
    n_cells < 0 && throw(ArgumentError("n_cells must be > 0, got $(n_cells)"))
    return Dataset(_out(L.scm_dataset_new, Ptr{L.scm_dataset}, n_cells))
end

"Number of cells of a dataset."
ncells(ds::Dataset) = _count(L.scm_dataset_n_cells, ds)

"""
    nmodalities(ds::Dataset)
    nmodalities(model::Model)

Number of modalities added so far / of the model.
"""
nmodalities(ds::Dataset) = _count(L.scm_dataset_n_modalities, ds)

function _check_features(X::AbstractMatrix, features)
    if size(X, 1) != length(features)
        throw(DimensionMismatch(
            "the matrix has $(size(X, 1)) rows but $(length(features)) feature names " *
            "were given: matrices are features × cells"))
    end
end

"""
    add_modality!(ds, name, X, features; likelihood = "nb") -> ds

Adds a modality from `X`, a features × cells matrix (`size(X, 2)` must be
`ncells(ds)`), with one unique name per feature. `likelihood` is one of `"nb"`,
`"zinb"`, `"bernoulli"`, `"gaussian"`, `"poisson"`. A dense `Matrix{Float32}`
and a `SparseMatrixCSC{Float32,Int64}` are passed without a copy (the library
copies them); other matrices are converted first. NaN/Inf and (for count
likelihoods) negative values throw `SCM_STATUS_INVALID_DATA`.
"""
function add_modality!(ds::Dataset, name::AbstractString, X::Matrix{Float32},
                       features::AbstractVector; likelihood = "nb")
    _check_features(X, features)
    fs, fp = _cstrings(features)
    GC.@preserve fs begin
        @check L.scm_dataset_add_dense(ds, String(name), String(likelihood), fp,
                                       length(fp), X, length(X))
    end
    return ds
end

function add_modality!(ds::Dataset, name::AbstractString, X::SparseMatrixCSC{Float32,Int64},
                       features::AbstractVector; likelihood = "nb")
    _check_features(X, features)
    fs, fp = _cstrings(features)
    colptr, rowval, nzval = X.colptr, X.rowval, X.nzval
    nz = Int(colptr[end]) - 1 # nnz (the vectors may be longer)
    GC.@preserve fs begin
        # CSC features × cells = CSR cells × features; Julia indices are 1-based.
        @check L.scm_dataset_add_csc(ds, String(name), String(likelihood), fp, length(fp),
                                     colptr, rowval, nzval, nz, Int32(1))
    end
    return ds
end

add_modality!(ds::Dataset, name::AbstractString, X::SparseArrays.AbstractSparseMatrixCSC{<:Real},
              features::AbstractVector; kwargs...) =
    add_modality!(ds, name, SparseMatrixCSC{Float32,Int64}(X), features; kwargs...)

add_modality!(ds::Dataset, name::AbstractString, X::AbstractMatrix{<:Real},
              features::AbstractVector; kwargs...) =
    add_modality!(ds, name, Matrix{Float32}(X), features; kwargs...)

"""
    set_measured!(ds, modality, measured::AbstractVector{Bool}) -> ds

Marks which cells measured `modality` (`false`: missing, its values are ignored).
"""
function set_measured!(ds::Dataset, modality::AbstractString, measured::AbstractVector{Bool})
    flags = UInt8[m ? 0x01 : 0x00 for m in measured]
    @check L.scm_dataset_set_measured(ds, String(modality), flags, length(flags))
    return ds
end

"""
    set_covariate!(ds, name, labels::AbstractVector; levels = nothing) -> ds

Adds a categorical covariate: one label per cell (any values; compared by
`string`). The levels are the sorted unique labels (as the Rust API does), or
`levels` in that order. Missing labels are an error: use an explicit level
such as `"unknown"`.
"""
function set_covariate!(ds::Dataset, name::AbstractString, labels::AbstractVector;
                        levels = nothing)
    any(ismissing, labels) &&
        throw(ArgumentError("covariate $(repr(name)) has missing labels; " *
                            "use an explicit level such as \"unknown\""))
    strs = String[string(l) for l in labels]
    lv = levels === nothing ? sort!(unique(strs)) : String[string(l) for l in levels]
    index = Dict{String,Int32}(l => Int32(i - 1) for (i, l) in enumerate(lv))
    codes = Vector{Int32}(undef, length(strs))
    for (i, s) in enumerate(strs)
        c = get(index, s, Int32(-1))
        c < 0 && throw(ArgumentError("covariate $(repr(name)): label $(repr(s)) " *
                                     "of cell $(i) is not among the levels"))
        codes[i] = c
    end
    ls, lp = _cstrings(lv)
    GC.@preserve ls begin
        @check L.scm_dataset_set_covariate(ds, String(name), codes, length(codes),
                                           lp, length(lp))
    end
    return ds
end

"""
    set_continuous_covariate!(ds, name, values::AbstractVector{<:Real}) -> ds

Adds a continuous covariate (e.g. the percentage of mitochondrial reads): one
number per cell. `missing` and `NaN` mark a missing value, which scVAEIT maps
to the training mean and Multigrate rejects. A model uses every continuous
covariate of its training data; data for embedding, imputation and query
mapping must carry the same ones.
"""
function set_continuous_covariate!(ds::Dataset, name::AbstractString,
                                   values::AbstractVector)
    v = Float32[ismissing(x) ? NaN32 : Float32(x) for x in values]
    @check L.scm_dataset_set_continuous_covariate(ds, String(name), v, length(v))
    return ds
end

"""
    set_batch!(ds, labels; name = "batch", levels = nothing) -> ds

The batch covariate: [`set_covariate!`](@ref) named `"batch"`.
"""
set_batch!(ds::Dataset, labels::AbstractVector; name::AbstractString = "batch",
           levels = nothing) = set_covariate!(ds, name, labels; levels = levels)

"Attaches one name per cell."
function set_cell_names!(ds::Dataset, names::AbstractVector)
    ns, np = _cstrings(names)
    GC.@preserve ns begin
        @check L.scm_dataset_set_cell_names(ds, np, length(np))
    end
    return ds
end

"""
    set_chromosome_blocks!(ds, modality) -> ds

Splits a modality's features into blocks by chromosome, from feature names
such as `chr1-10000-10500` or `chr1:10000-10500` (ATAC peaks).
"""
function set_chromosome_blocks!(ds::Dataset, modality::AbstractString)
    @check L.scm_dataset_set_chromosome_blocks(ds, String(modality))
    return ds
end

# ---------------------------------------------------------------------------
# Model

Model(cfg::Config, ds::Dataset) = Model(_out(L.scm_model_new, Ptr{L.scm_model}, cfg, ds))

"""
    map_query(reference::Model, query::Dataset) -> Model

Query-to-reference mapping: a copy of `reference` that also knows the new
covariate levels of `query`; `train!(mapped, query)` then updates only their
parameters, so the reference cells' embeddings do not change.
"""
map_query(reference::Model, query::Dataset) =
    Model(_out(L.scm_model_map_query, Ptr{L.scm_model}, reference, query))

# The closure context passed as user_data to the progress trampoline.
mutable struct _Progress
    f::Any
    err::Any
end

# Called by the library after every epoch, on the thread that called
# scm_model_train. Nothing may unwind through the library: every exception is
# caught, stored, and stops training; train! rethrows it.
function _progress_trampoline(user_data::Ptr{Cvoid}, epoch::Csize_t, n_epochs::Csize_t,
                              train_loss::Cdouble, validation_loss::Cdouble)::Int32
    ctx = nothing
    try
        ctx = unsafe_pointer_to_objref(user_data)::_Progress
        r = ctx.f(Int(epoch), Int(n_epochs), train_loss, validation_loss)
        return (r === false || r === :stop) ? Int32(1) : Int32(0)
    catch err
        ctx isa _Progress && (ctx.err = err)
        return Int32(1)
    end
end

function _stop_reason(code::Int32)
    code == L.SCM_STOP_COMPLETED && return :completed
    code == L.SCM_STOP_EARLY_STOPPED && return :early_stopped
    code == L.SCM_STOP_CANCELLED && return :cancelled
    return :unknown
end

_no_progress(args...) = nothing

# Runs f() with the current task pinned to its OS thread: the library's
# per-thread state (last error message, re-entrancy detection) must see one
# thread for the whole call, even if the progress function yields (e.g. to
# print).
function _pinned(f)
    t = current_task()
    sticky = t.sticky
    t.sticky = true
    try
        return f()
    finally
        t.sticky = sticky
    end
end

"""
    train!(model, ds; progress = nothing) -> Symbol

Trains for the configured number of epochs (`train.epochs`); calling it again
continues training. `progress(epoch, n_epochs, train_loss, validation_loss)` is
called after every epoch (`validation_loss` is NaN without a validation
split); returning `false` or `:stop` stops training cleanly. It must not call
functions on `model` (they throw `SCM_STATUS_INVALID_STATE`). An exception
thrown by `progress` (including an interrupt delivered while Julia code runs
at an epoch boundary) stops training, keeping the last completed epoch, and is
rethrown here.

Returns why training stopped: `:completed`, `:early_stopped` or `:cancelled`.
"""
function train!(model::Model, ds::Dataset; progress = nothing)
    stop = Ref{Int32}(-1)
    # The trampoline is installed even without a progress function: Julia code
    # then runs at every epoch boundary, where a pending interrupt can be
    # caught and turned into a clean cancel.
    ctx = _Progress(progress === nothing ? _no_progress : progress, nothing)
    cb = @cfunction(_progress_trampoline, Int32,
                    (Ptr{Cvoid}, Csize_t, Csize_t, Cdouble, Cdouble))
    err = GC.@preserve ctx begin
        _pinned() do
            st = L.scm_model_train(model, ds, cb, pointer_from_objref(ctx), stop)
            # Read the message now, on this thread, before anything else runs.
            st == L.SCM_STATUS_OK ? nothing : _status_error(st)
        end
    end
    # The callback's own exception wins over the status (training stopped
    # cleanly because of it).
    ctx.err === nothing || throw(ctx.err)
    err === nothing || throw(err)
    return _stop_reason(stop[])
end

"The latent dimension of a model."
latent_dim(model::Model) = _count(L.scm_model_latent_dim, model)

nmodalities(model::Model) = _count(L.scm_model_n_modalities, model)

"The model's modality names, in model order."
modalities(model::Model) =
    [_read_string((buf, cap, len) -> L.scm_model_modality_name(model, i - 1, buf, cap, len))
     for i in 1:nmodalities(model)]

"Number of features of a modality of the model."
nfeatures(model::Model, modality::AbstractString) =
    _count(L.scm_model_n_features, model, String(modality))

"The feature names of a modality of the model, in model order."
function features(model::Model, modality::AbstractString)
    m = String(modality)
    return [_read_string((buf, cap, len) -> L.scm_model_feature_name(model, m, i - 1, buf, cap, len))
            for i in 1:nfeatures(model, m)]
end

"Number of epochs trained so far."
epochs_trained(model::Model) = _count(L.scm_model_epochs_trained, model)

"Number of trainable parameters."
nparams(model::Model) = _count(L.scm_model_n_params, model)

config_json(model::Model) =
    _read_string((buf, cap, len) -> L.scm_model_config_json(model, buf, cap, len))

"""
    embed(model, ds; modality = nothing, sample = nothing, seed = nothing) -> Matrix{Float32}

The latent values of the cells of `ds`: a latent × cells matrix. By default
the joint posterior means from every measured modality (Multigrate with
`multigrate.latent = "sample"`: one seeded posterior sample).

- `modality = "adt"`: that modality's latent alone (scVAEIT encodes each cell
  with the other modalities hidden; Multigrate returns the modality's own
  posterior, with `NaN` columns for cells that lack it). An unknown name throws
  `SCM_STATUS_NOT_FOUND`.
- `sample = true`: one posterior sample per cell instead of the mean
  (`false`: the mean; `nothing`: the config's choice).
- `seed`: seed of the sample (default the training seed); the same seed gives
  the same values.
"""
function embed(model::Model, ds::Dataset; modality = nothing, sample = nothing,
               seed = nothing)
    out = Matrix{Float32}(undef, latent_dim(model), ncells(ds))
    if modality === nothing && sample === nothing && seed === nothing
        @check L.scm_model_embed(model, ds, out, length(out))
        return out
    end
    opts = Pair{String,Any}[]
    if sample !== nothing
        sample isa Bool ||
            throw(ArgumentError("sample must be true, false or nothing, got $(repr(sample))"))
        push!(opts, "sample" => sample)
    end
    if seed !== nothing
        seed isa Integer && !(seed isa Bool) && seed >= 0 ||
            throw(ArgumentError("seed must be an integer ≥ 0, got $(repr(seed))"))
        push!(opts, "seed" => UInt64(seed))
    end
    json = _tojson(_JSONObject(opts))
    if modality === nothing
        @check L.scm_model_embed_with(model, ds, C_NULL, json, out, length(out))
    else
        @check L.scm_model_embed_with(model, ds, String(modality), json, out, length(out))
    end
    return out
end

"""
    impute(model, ds, modality; features = nothing, n_draws = nothing,
           scale = :normalized, hide_target = false, variance = false,
           batch = nothing, covariates = nothing, seed = nothing)

Imputes (or, where measured, denoises) `modality` for every cell of `ds`: a
features × cells `Matrix{Float32}` over all the modality's features (model
order) or over `features`, in that order. `n_draws` posterior draws are
averaged (0 = posterior mean only; default the config's `inference.n_draws`);
`scale` is `:normalized` or `:counts`; `hide_target = true` ignores measured
values of the target (pure cross-modal prediction); `batch = "b1"` (or
`covariates = Dict("batch" => "b1")`) decodes under those covariate levels.
With `variance = true` returns `(mean = ..., variance = ...)`, the variance
over draws (zero with fewer than two draws). `predictive = true` makes each
draw sample the observation model's own noise too (posterior-predictive
draws). With `quantiles = [0.1, 0.9]` (each in [0, 1]; needs `n_draws ≥ 1`)
the result also holds `quantiles`, a features × cells × quantiles
`Array{Float32,3}` over the draws: with `predictive = true`, the bounds of
prediction intervals for measured values.
"""
function impute(model::Model, ds::Dataset, modality::AbstractString;
                features = nothing, n_draws = nothing, scale = :normalized,
                hide_target::Bool = false, variance::Bool = false,
                batch = nothing, covariates = nothing, seed = nothing,
                predictive::Bool = false, quantiles = nothing)
    opts = Pair{String,Any}[]
    feats = features === nothing ? nothing : String[string(f) for f in features]
    feats === nothing || push!(opts, "features" => feats)
    hide_target && push!(opts, "hide_target" => true)
    if n_draws !== nothing
        n_draws isa Integer && n_draws >= 0 ||
            throw(ArgumentError("n_draws must be an integer ≥ 0, got $(repr(n_draws))"))
        push!(opts, "n_draws" => Int(n_draws))
    end
    scale === nothing || push!(opts, "scale" => string(scale))
    covs = Pair{String,Any}[]
    if covariates !== nothing
        for (k, v) in pairs(covariates)
            push!(covs, string(k) => string(v))
        end
    end
    batch === nothing || push!(covs, "batch" => string(batch))
    isempty(covs) || push!(opts, "covariates" => _JSONObject(covs))
    seed === nothing || push!(opts, "seed" => UInt64(seed))
    predictive && push!(opts, "predictive" => true)
    json = _tojson(_JSONObject(opts))

    m = String(modality)
    n_out = feats === nothing ? nfeatures(model, m) : length(feats)
    mean = Matrix{Float32}(undef, n_out, ncells(ds))
    if quantiles !== nothing
        qs = Float64[Float64(q) for q in quantiles]
        isempty(qs) && throw(ArgumentError("quantiles must not be empty"))
        all(q -> 0 <= q <= 1, qs) ||
            throw(ArgumentError("quantiles must be in [0, 1], got $(repr(quantiles))"))
        q = Array{Float32,3}(undef, n_out, ncells(ds), length(qs))
        @check L.scm_model_impute_quantiles(model, ds, m, json, qs, length(qs), q, length(q))
        var = variance ? similar(mean) : nothing
        @check L.scm_model_impute(model, ds, m, json, mean, length(mean),
                                  variance ? var : C_NULL, variance ? length(var) : 0)
        return variance ? (mean = mean, variance = var, quantiles = q) :
               (mean = mean, quantiles = q)
    end
    if variance
        var = similar(mean)
        @check L.scm_model_impute(model, ds, m, json, mean, length(mean), var, length(var))
        return (mean = mean, variance = var)
    else
        @check L.scm_model_impute(model, ds, m, json, mean, length(mean), C_NULL, 0)
        return mean
    end
end

"""
    set_device!(model, device) -> model

Moves the model to `"cpu"`, `"cpu:flex"`, `"cpu:ndarray"`, `"cuda"` or
`"cuda:N"`. A backend missing from the library's build throws
`SCM_STATUS_DEVICE`.
"""
function set_device!(model::Model, device::AbstractString)
    @check L.scm_model_set_device(model, String(device))
    return model
end

"""
    set_epochs!(model, epochs)

Epochs of each later `train!` call (at least 1), e.g. to fine-tune a model from
`map_query` for fewer epochs than its reference.
"""
function set_epochs!(model::Model, epochs::Integer)
    epochs < 1 && throw(ArgumentError("epochs must be ≥ 1"))
    @check L.scm_model_set_epochs(model, epochs)
    return model
end

"Limits the model's compute threads (0 = all cores)."
function set_threads!(model::Model, threads::Integer)
    threads < 0 && throw(ArgumentError("threads must be ≥ 0"))
    @check L.scm_model_set_threads(model, threads)
    return model
end

"""
    save(model, path)

Saves the model to a safetensors file (atomically). Same as `save_model`.
"""
function save(model::Model, path::AbstractString)
    @check L.scm_model_save(model, String(path))
    return path
end

"`save_model(model, path)`: see [`save`](@ref)."
save_model(model::Model, path::AbstractString) = save(model, path)

"""
    load_model(path) -> Model

Loads a model saved by [`save`](@ref) (on the CPU). Corrupt or foreign files
throw `SCM_STATUS_CHECKPOINT`.
"""
load_model(path::AbstractString) = Model(_out(L.scm_model_load, Ptr{L.scm_model}, String(path)))

"""
    to_bytes(model) -> Vector{UInt8}

The model as safetensors bytes (what [`save`](@ref) writes).
"""
to_bytes(model::Model) =
    _read_buffer((buf, cap, len) -> L.scm_model_to_buffer(model, buf, cap, len))

"""
    from_bytes(bytes) -> Model

A model from bytes made by [`to_bytes`](@ref) (or read from a saved file).
"""
function from_bytes(bytes::AbstractVector{UInt8})
    b = bytes isa Vector{UInt8} ? bytes : Vector{UInt8}(bytes)
    return Model(_out(L.scm_model_from_buffer, Ptr{L.scm_model}, b, length(b)))
end

Base.write(io::IO, model::Model) = write(io, to_bytes(model))
Base.read(io::IO, ::Type{Model}) = from_bytes(read(io))

# ---------------------------------------------------------------------------
# Display

function Base.show(io::IO, cfg::Config)
    print(io, isopen(cfg) ? "SCMosaic.Config()" : "SCMosaic.Config(<closed>)")
end

function Base.show(io::IO, ds::Dataset)
    if !isopen(ds)
        print(io, "SCMosaic.Dataset(<closed>)")
        return
    end
    try
        print(io, "SCMosaic.Dataset(", ncells(ds), " cells, ", nmodalities(ds),
              " modalities)")
    catch
        print(io, "SCMosaic.Dataset(<unusable>)")
    end
end

function Base.show(io::IO, model::Model)
    if !isopen(model)
        print(io, "SCMosaic.Model(<closed>)")
        return
    end
    try
        print(io, "SCMosaic.Model(latent_dim = ", latent_dim(model), ", modalities = ",
              modalities(model), ", epochs_trained = ", epochs_trained(model), ")")
    catch
        print(io, "SCMosaic.Model(<unusable>)")
    end
end

end # module SCMosaic
