# Errors: every failed scm_* call becomes an SCMosaicError (included into
# module SCMosaic after LibSCMosaic, bound to `L`).

"""
    SCMosaicError(code, msg)

A failed call into libscmosaic. `code` is the `scm_status` value (compare with
`SCMosaic.SCM_STATUS_INVALID_ARG` and friends), `msg` the library's full
message (`scm_last_error_message`). Also thrown, with
`SCM_STATUS_INVALID_STATE`, when a closed handle is used.
"""
struct SCMosaicError <: Exception
    code::Int32
    msg::String
end

"The name of a status code, e.g. `\"SCM_STATUS_INVALID_ARG\"`."
status_name(code::Integer) = get(L.scm_status_names, code, "unknown status")

function Base.showerror(io::IO, e::SCMosaicError)
    print(io, "SCMosaicError: ", status_name(e.code), " (", e.code, "): ", e.msg)
end

"""
    check(status)

Returns `nothing` when `status == SCM_STATUS_OK`; otherwise throws an
[`SCMosaicError`](@ref) with this thread's last error message. Call it right
after the failed `scm_*` call, before any other call into the library (the
message is per OS thread and valid until the next call).
"""
@inline function check(status::Integer)
    status == L.SCM_STATUS_OK && return nothing
    _throw_status(status)
end

# The error for a failed status, with this thread's last error message (read
# it right after the failed call).
function _status_error(status::Integer)
    msg = unsafe_string(L.scm_last_error_message())
    if isempty(msg)
        msg = unsafe_string(L.scm_status_str(status))
    end
    return SCMosaicError(Int32(status), msg)
end

@noinline _throw_status(status::Integer) = throw(_status_error(status))

"""
    @check call

Runs `call` (an `scm_*` call returning a status) and throws an
[`SCMosaicError`](@ref) unless it returned `SCM_STATUS_OK`.
"""
macro check(ex)
    return :(check($(esc(ex))))
end
