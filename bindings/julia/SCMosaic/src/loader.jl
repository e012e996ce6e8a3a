# Opening libscmosaic at run time and resolving its functions: the
# hand-written part of module LibSCMosaic, included by the generated
# LibSCMosaic.jl (which defines FUNCTIONS, the functions to resolve).

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

The names of the C functions wrapped by this module, one per function of the
header it was generated from, in header order.
"""
wrapped_functions() = collect(Symbol, FUNCTIONS)

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
