#' Deprecated functions
#'
#' `impute()` and `set_threads()` were renamed to [impute_modality()] and
#' [set_model_threads()] in version 0.2: their generic names clash with
#' functions of other packages (e.g. `Hmisc::impute()`), so whichever
#' package was attached last would win. The old
#' names still work, with a deprecation warning, until the next release.
#'
#' @param ... Passed to the new function.
#' @return What the new function returns.
#' @keywords internal
#' @name scmosaic-deprecated
NULL

#' @rdname scmosaic-deprecated
#' @export
impute <- function(...) {
  .Deprecated("impute_modality", package = "scmosaic",
              msg = "scmosaic::impute() is deprecated; use impute_modality()")
  impute_modality(...)
}

#' @rdname scmosaic-deprecated
#' @export
set_threads <- function(...) {
  .Deprecated("set_model_threads", package = "scmosaic",
              msg = "scmosaic::set_threads() is deprecated; use set_model_threads()")
  set_model_threads(...)
}
