# Inference on BiocParallel workers.
#
# A model lives in Rust memory behind an external pointer, which cannot be
# sent to another process. So the model travels as its safetensors bytes (the
# bytes save_model() writes), and the data as chunks of the R matrices the
# dataset was built from: each task gets a chunk of consecutive cells, rebuilds
# the dataset of that chunk and loads the model from the bytes (once per
# worker process and call, see .worker_model()), and returns the chunk's
# result. bplapply() keeps the order of the chunks, so the results are joined
# in cell order. The same code runs on local workers (SnowParam,
# MulticoreParam) and on clusters (BatchtoolsParam).
#
# Random draws: chunk k (1-based) uses random stream k - 1 of the seed
# (model_embed_/model_impute_ `stream`), so results do not depend on the
# back-end or the number of workers, and chunk 1 equals an unchunked call.

.check_bpparam <- function(BPPARAM, chunk_size, worker_threads) {
  .is_count(chunk_size, "chunk_size", positive = TRUE)
  .is_count(worker_threads, "worker_threads")
  if (is.null(BPPARAM)) return(invisible(NULL))
  .need("BiocParallel", "BPPARAM")
  if (!methods::is(BPPARAM, "BiocParallelParam")) {
    .abort("'BPPARAM' must be NULL or a BiocParallel back-end such as ",
           "BiocParallel::SnowParam(2), got '", class(BPPARAM)[1], "'")
  }
  invisible(NULL)
}

# Cells per chunk: `chunk_size` rounded up to a multiple of the model's
# inference batch size (config inference.batch_size, 256 by default). The
# Rust side embeds and imputes in minibatches of that size from the first
# cell; chunks made of whole minibatches are computed in exactly the same
# minibatches as an unchunked call, which makes the results bit-identical
# (floating-point kernels may round differently for other row counts, and
# inference.batch_norm = "batch" depends on the minibatches).
.chunk_cells <- function(model, chunk_size) {
  b <- model_info_(model)$config$inference$batch_size
  b <- if (is.numeric(b) && length(b) == 1L && b >= 1) as.integer(b) else 1L
  as.integer(ceiling(chunk_size / b) * b)
}

# Chunks of consecutive cells: a list of index vectors.
.chunks <- function(n, chunk_size) {
  starts <- seq(1L, n, by = chunk_size)
  lapply(starts, function(s) s:min(n, s + chunk_size - 1L))
}

# The parts of a dataset (R/data.R .new_data) restricted to cells `idx`.
.subset_parts <- function(parts, idx) {
  parts$specs <- lapply(parts$specs, function(s) {
    s$m <- s$m[, idx, drop = FALSE]
    s$measured <- s$measured[idx]
    s
  })
  parts$covariates <- lapply(parts$covariates, function(v) v[idx])
  parts$continuous <- lapply(parts$continuous, function(v) v[idx])
  parts$cells <- parts$cells[idx]
  parts$n_cells <- length(idx)
  parts
}

# Runs `what` ("embed" or "impute", with `args`) on the chunks of `data` on
# BPPARAM's workers; returns the per-chunk results of the Rust calls, in order.
.bp_run <- function(model, data, what, args, BPPARAM, chunk_size, worker_threads) {
  if (is.null(data$parts)) {
    .abort("this scmosaic_data object cannot be split for BPPARAM; build it again with ",
           "scmosaic_data()")
  }
  chunks <- .chunks(data$n_cells, .chunk_cells(model, chunk_size))
  tasks <- lapply(seq_along(chunks), function(k) {
    idx <- chunks[[k]]
    list(index = k, n_chunks = length(chunks), first = idx[1], last = idx[length(idx)],
         parts = .subset_parts(data$parts, idx))
  })
  bytes <- .rs(model_to_bytes_(model))
  # Identifies this call's model on the workers (their model cache).
  token <- paste(Sys.getpid(), format(Sys.time(), "%Y%m%d%H%M%OS6"), length(bytes),
                 sample.int(.Machine$integer.max, 1L))
  fail <- as.integer(getOption("scmosaic.fail_chunk", 0L))
  on.exit(.worker_cache$token <- .worker_cache$model <- NULL, add = TRUE)
  res <- BiocParallel::bptry(BiocParallel::bplapply(
    tasks, .bp_task, bytes = bytes, token = token, what = what, args = args,
    threads = as.integer(worker_threads), fail = fail, BPPARAM = BPPARAM
  ))
  failed <- vapply(res, function(r) inherits(r, "condition") || inherits(r, "error"), logical(1))
  if (any(failed)) {
    # The first chunk that failed on its own (others may be unevaluated).
    remote <- which(vapply(res, function(r) inherits(r, "remote_error"), logical(1)))
    k <- if (length(remote)) remote[1] else which(failed)[1]
    msg <- conditionMessage(res[[k]])
    if (!grepl("^chunk [0-9]+ of", msg)) {
      t <- tasks[[k]]
      msg <- sprintf("chunk %d of %d (cells %d-%d): %s", k, length(tasks), t$first, t$last, msg)
    }
    .abort("BiocParallel worker failed on ", msg)
  }
  res
}

# The model of the current call on a worker: loaded from the bytes once per
# worker process (and call), then reused for the worker's next chunks.
.worker_cache <- new.env(parent = emptyenv())

.worker_model <- function(bytes, token, threads) {
  # Always a thread pool of the model's own, never the process-wide one
  # (threads = 0): a worker forked by MulticoreParam inherits the parent's
  # process-wide pool without its threads, and would wait on it forever.
  if (threads == 0L) threads <- max(1L, parallel::detectCores(), na.rm = TRUE)
  if (!identical(.worker_cache$token, token) || is.null(.worker_cache$model) ||
      !model_valid_(.worker_cache$model)) {
    .worker_cache$model <- NULL
    .worker_cache$model <- model_from_bytes_(bytes, threads)
    .worker_cache$token <- token
  }
  .worker_cache$model
}

# One chunk on a worker. Errors name the chunk and its cells.
.bp_task <- function(task, bytes, token, what, args, threads, fail) {
  tryCatch({
    if (identical(task$index, fail)) {
      stop("failure injected for testing (options(scmosaic.fail_chunk))", call. = FALSE)
    }
    model <- .worker_model(bytes, token, threads)
    p <- task$parts
    ptr <- dataset_new_(.rust_specs(p$specs), p$covariates, p$continuous)
    stream <- task$index - 1L
    if (what == "embed") {
      model_embed_(model, ptr, args$modality, args$options, args$seed, stream)
    } else {
      model_impute_(model, ptr, args$modality, args$options, args$seed, stream)
    }
  }, error = function(e) {
    stop(sprintf("chunk %d of %d (cells %d-%d): %s", task$index, task$n_chunks, task$first,
                 task$last, conditionMessage(e)), call. = FALSE)
  })
}
