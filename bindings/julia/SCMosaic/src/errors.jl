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
function status_name(code::Integer)
    for (name, value) in (
        (:SCM_STATUS_OK, L.SCM_STATUS_OK),
        (:SCM_STATUS_NULL_ARG, L.SCM_STATUS_NULL_ARG),
        (:SCM_STATUS_INVALID_ARG, L.SCM_STATUS_INVALID_ARG),
        (:SCM_STATUS_INVALID_DATA, L.SCM_STATUS_INVALID_DATA),
        (:SCM_STATUS_INVALID_CONFIG, L.SCM_STATUS_INVALID_CONFIG),
        (:SCM_STATUS_NOT_FOUND, L.SCM_STATUS_NOT_FOUND),
        (:SCM_STATUS_CHECKPOINT, L.SCM_STATUS_CHECKPOINT),
        (:SCM_STATUS_DEVICE, L.SCM_STATUS_DEVICE),
        (:SCM_STATUS_INVALID_STATE, L.SCM_STATUS_INVALID_STATE),
        (:SCM_STATUS_NUMERICAL, L.SCM_STATUS_NUMERICAL),
        (:SCM_STATUS_IO, L.SCM_STATUS_IO),
        (:SCM_STATUS_BUFFER_TOO_SMALL, L.SCM_STATUS_BUFFER_TOO_SMALL),
        (:SCM_STATUS_PANIC, L.SCM_STATUS_PANIC),
    )
        value == code && return String(name)
    end
    return "unknown status"
end

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
