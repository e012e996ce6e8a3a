# Tests of SCMosaic.jl against a built libscmosaic.
#
#   cargo build --release                         # in the scmosaic repository
#   SCMOSAIC_LIB=$PWD/target/release/libscmosaic.so \
#       julia --project=bindings/julia/SCMosaic -e 'using Pkg; Pkg.test()'
#
# NOTE: written without a Julia runtime at hand; see the README.

using SCMosaic
using SparseArrays
using Random
using Test

const S = SCMosaic

# Pure-Julia helpers first: they need no library.
@testset "JSON encoder" begin
    @test S._tojson(nothing) == "null"
    @test S._tojson(true) == "true"
    @test S._tojson(3) == "3"
    @test S._tojson(UInt64(7)) == "7"
    @test S._tojson(0.5f0) == "0.5"
    @test S._tojson(1 // 4) == "0.25"
    @test S._tojson("a\"b\\c\n\u01") == "\"a\\\"b\\\\c\\u000a\\u0001\""
    @test S._tojson(["x", :y]) == "[\"x\",\"y\"]"
    @test S._tojson((epochs = 2, hidden = [32, 16])) == "{\"epochs\":2,\"hidden\":[32,16]}"
    @test S._tojson(S._nested("train.epochs", 5)) == "{\"train\":{\"epochs\":5}}"
    @test_throws ArgumentError S._tojson(NaN)
    @test_throws ArgumentError S._tojson(Inf32)
    @test_throws ArgumentError S._tojson(String([0xff]))
    @test_throws ArgumentError S._tojson(1 + 2im)
end

if !S.LibSCMosaic.isloaded()
    error("the SCMosaic tests need libscmosaic.\n" * S.HOW_TO)
end

function rpois(rng, λ)
    λ > 30 && return max(round(λ + sqrt(λ) * randn(rng)), 0.0)
    limit = exp(-λ)
    k, p = 0, 1.0
    while true
        p *= rand(rng)
        p <= limit && return float(k)
        k += 1
    end
end

# RNA + protein counts of 3 cell types in 2 batches, features × cells.
function synthetic(n = 120, genes = 30, prots = 6; seed = 1)
    rng = Xoshiro(seed)
    types = rand(rng, 1:3, n)
    gprof = [8 * rand(rng)^3 for _ in 1:genes, _ in 1:3]
    pprof = [60 * rand(rng)^3 for _ in 1:prots, _ in 1:3]
    batch = [isodd(i) ? "b0" : "b1" for i in 1:n]
    depth = [(0.5 + rand(rng)) * (batch[i] == "b0" ? 1.0 : 1.4) for i in 1:n]
    rna = Float32[rpois(rng, gprof[g, types[i]] * depth[i]) for g in 1:genes, i in 1:n]
    adt = Float32[rpois(rng, pprof[p, types[i]] * depth[i] + 2) for p in 1:prots, i in 1:n]
    return (rna = rna, adt = adt, batch = batch,
            genes = ["gene$j" for j in 0:genes-1], prots = ["prot$j" for j in 0:prots-1])
end

const SMALL_CONFIG = """
{"latent_dim": 8, "hidden": [32],
 "modalities": [{"name": "rna", "block_hidden": 32, "embed_dim": 8},
                {"name": "adt", "block_hidden": 16, "embed_dim": 4}],
 "train": {"epochs": 2, "batch_size": 64},
 "inference": {"n_draws": 5}}
"""

function dataset(d)
    ds = Dataset(size(d.rna, 2))
    add_modality!(ds, "rna", d.rna, d.genes)                   # dense, no copy
    add_modality!(ds, "adt", sparse(d.adt), d.prots; likelihood = "nb") # CSC
    set_batch!(ds, d.batch)
    return ds
end

# The status code of the SCMosaicError thrown by f(), or nothing.
function error_code(f)
    try
        f()
    catch err
        err isa SCMosaicError && return err.code
        rethrow()
    end
    return nothing
end

@testset "library" begin
    @test S.LibSCMosaic.scm_abi_version() == S.SCM_ABI_VERSION
    @test !isempty(S.library_version())
    @test S.status_name(S.SCM_STATUS_INVALID_ARG) == "SCM_STATUS_INVALID_ARG"
    msg = sprint(showerror, SCMosaicError(S.SCM_STATUS_NOT_FOUND, "x"))
    @test occursin("SCM_STATUS_NOT_FOUND", msg) && occursin("x", msg)
end

@testset "config" begin
    cfg = Config(latent_dim = 8, hidden = [32], train = (epochs = 3, batch_size = 64))
    js = config_json(cfg)
    @test occursin(r"\"latent_dim\"\s*:\s*8", js)
    @test occursin(r"\"epochs\"\s*:\s*3", js)
    cfg["train.epochs"] = 2
    cfg["train.learning_rate"] = 1e-3
    cfg["skip_conn"] = true
    @test occursin(r"\"epochs\"\s*:\s*2", config_json(cfg))
    cfg2 = Config("train.epochs" => 4; json = SMALL_CONFIG)
    @test occursin(r"\"epochs\"\s*:\s*4", config_json(cfg2))
    @test occursin(r"\"latent_dim\"\s*:\s*8", config_json(copy(cfg2)))
    @test error_code(() -> Config(json = "{\"no_such_option\": 1}")) == S.SCM_STATUS_INVALID_CONFIG
    @test error_code(() -> Config(json = "not json")) !== nothing
    @test error_code(() -> (cfg["train.learning_rate"] = NaN)) !== nothing
    @test error_code(() -> (cfg["train..epochs"] = 1)) == S.SCM_STATUS_INVALID_ARG
    @test_throws ArgumentError Config("bad\0key" => 1)
end

@testset "dataset" begin
    d = synthetic()
    ds = dataset(d)
    @test ncells(ds) == 120
    @test nmodalities(ds) == 2
    set_cell_names!(ds, ["cell$i" for i in 1:120])
    @test occursin("120 cells", sprint(show, ds))
    # other element types are converted
    ds2 = Dataset(120)
    add_modality!(ds2, "rna", Int.(d.rna), d.genes)
    add_modality!(ds2, "adt", sparse(Float64.(d.adt)), d.prots)
    set_covariate!(ds2, "batch", d.batch; levels = ["b1", "b0"])
    set_measured!(ds2, "adt", [isodd(i) for i in 1:120])
    @test nmodalities(ds2) == 2
    # continuous covariate (missing = NaN): the model needs it in later data
    set_continuous_covariate!(ds2, "depth", [i % 7 == 0 ? missing : Float64(i % 5) for i in 1:120])
    m = Model(Config(json = SMALL_CONFIG), ds2)
    train!(m, ds2)
    @test all(isfinite, embed(m, ds2))
    @test error_code(() -> embed(m, dataset(d))) == S.SCM_STATUS_NOT_FOUND
end

@testset "train, embed, impute, save/load" begin
    d = synthetic()
    ds = dataset(d)
    cfg = Config(json = SMALL_CONFIG)
    model = Model(cfg, ds)
    @test epochs_trained(model) == 0
    seen = Tuple{Int,Int,Float64,Float64}[]
    stop = train!(model, ds; progress = (e, n, tl, vl) -> (push!(seen, (e, n, tl, vl)); nothing))
    @test stop === :completed
    @test epochs_trained(model) == 2
    @test [s[1] for s in seen] == [1, 2]
    @test all(s -> s[2] == 2, seen)
    @test all(s -> isfinite(s[3]), seen)
    @test nparams(model) > 0
    @test latent_dim(model) == 8
    @test Set(modalities(model)) == Set(["rna", "adt"])
    @test features(model, "adt") == d.prots
    @test nfeatures(model, "rna") == 30
    @test occursin("latent_dim", config_json(model))
    @test occursin("epochs_trained = 2", sprint(show, model))

    z = embed(model, ds)
    @test z isa Matrix{Float32}
    @test size(z) == (8, 120)
    @test all(isfinite, z)

    adt = impute(model, ds, "adt")
    @test size(adt) == (6, 120)
    @test all(isfinite, adt)
    two = impute(model, ds, "adt"; features = ["prot2", "prot0"], n_draws = 0)
    @test size(two) == (2, 120)
    r = impute(model, ds, "rna"; n_draws = 3, variance = true, scale = :counts,
               hide_target = true, batch = "b1", seed = 7)
    @test size(r.mean) == (30, 120) && size(r.variance) == (30, 120)
    @test all(>=(0), r.variance)

    # save / load and bytes round trips give identical embeddings
    path = tempname() * ".safetensors"
    save(model, path)
    loaded = load_model(path)
    @test embed(loaded, ds) == z
    @test impute(loaded, ds, "adt"; n_draws = 0) == impute(model, ds, "adt"; n_draws = 0)
    bytes = to_bytes(model)
    @test !isempty(bytes)
    @test embed(from_bytes(bytes), ds) == z
    io = IOBuffer()
    @test write(io, model) == length(bytes)
    seekstart(io)
    @test embed(read(io, Model), ds) == z
    rm(path; force = true)

    # training continues; the progress callback can cancel
    @test train!(loaded, ds; progress = (e, n, tl, vl) -> false) === :cancelled
    @test epochs_trained(loaded) == 3
    @test train!(loaded, ds; progress = (e, n, tl, vl) -> :stop) === :cancelled
    @test train!(loaded, ds) === :completed
    @test epochs_trained(loaded) == 6

    # an exception in the callback stops training and is rethrown here;
    # the model stays usable
    @test_throws ErrorException("boom") train!(loaded, ds; progress = (a...) -> error("boom"))
    @test epochs_trained(loaded) == 7
    @test size(embed(loaded, ds)) == (8, 120)

    # a re-entrant call from the callback fails cleanly (SCM_STATUS_INVALID_STATE)
    code = Ref{Any}(nothing)
    train!(loaded, ds; progress = (a...) -> (code[] = error_code(() -> latent_dim(loaded)); false))
    @test code[] == S.SCM_STATUS_INVALID_STATE

    @test set_threads!(model, 1) === model
    @test set_device!(model, "cpu") === model
    @test error_code(() -> set_device!(model, "tpu:9")) !== nothing
end

@testset "per-modality and sampled embeddings (Multigrate)" begin
    d = synthetic()
    ds = dataset(d)
    set_measured!(ds, "adt", [i % 4 != 0 for i in 1:120])     # every 4th cell lacks protein
    cfg = Config(json = """
    {"model": "multigrate", "latent_dim": 8, "hidden": [32],
     "modalities": [{"name": "rna", "likelihood": "nb"},
                    {"name": "adt", "likelihood": "mse", "normalization": "clr"}],
     "train": {"epochs": 2, "batch_size": 64, "validation_fraction": 0.0}}""")
    model = Model(cfg, ds)
    train!(model, ds)
    z = embed(model, ds)
    @test embed(model, ds; sample = false) == z
    za = embed(model, ds; modality = "adt")
    @test size(za) == (8, 120)
    @test [all(isnan, za[:, i]) for i in 1:120] == [i % 4 == 0 for i in 1:120]
    zr = embed(model, ds; modality = "rna")
    @test all(isfinite, zr)
    s1 = embed(model, ds; sample = true, seed = 5)
    @test s1 == embed(model, ds; sample = true, seed = 5)
    @test s1 != embed(model, ds; sample = true, seed = 6)
    @test s1 != z
    @test error_code(() -> embed(model, ds; modality = "protein")) == S.SCM_STATUS_NOT_FOUND
    @test_throws ArgumentError embed(model, ds; seed = -1)
    @test_throws ArgumentError embed(model, ds; sample = 1)

    # query mapping: a new batch level; the reference cells keep their embedding
    q = Dataset(120)
    add_modality!(q, "rna", d.rna, d.genes)
    set_batch!(q, fill("b2", 120))
    mapped = map_query(model, q)
    train!(mapped, q)
    @test embed(mapped, ds) == z
    @test all(isfinite, embed(mapped, q))
end

@testset "errors" begin
    d = synthetic()
    ds = Dataset(120)
    # bad likelihood
    err = try
        add_modality!(ds, "rna", d.rna, d.genes; likelihood = "lognormal")
        nothing
    catch e
        e
    end
    @test err isa SCMosaicError
    @test err.code == S.SCM_STATUS_INVALID_ARG
    @test occursin("lognormal", err.msg)
    # NaN data
    bad = copy(d.rna)
    bad[3, 5] = NaN32
    @test error_code(() -> add_modality!(ds, "rna", bad, d.genes)) == S.SCM_STATUS_INVALID_DATA
    # negative counts
    bad[3, 5] = -1
    @test error_code(() -> add_modality!(ds, "rna", bad, d.genes)) == S.SCM_STATUS_INVALID_DATA
    # wrong shapes
    @test_throws DimensionMismatch add_modality!(ds, "rna", d.rna, d.genes[1:end-1])
    @test error_code(() -> add_modality!(ds, "rna", d.rna[:, 1:100], d.genes)) !== nothing
    # duplicate feature names
    dup = copy(d.genes)
    dup[2] = dup[1]
    @test error_code(() -> add_modality!(ds, "rna", d.rna, dup)) == S.SCM_STATUS_INVALID_DATA
    # embedded NUL in a name
    @test_throws ArgumentError add_modality!(ds, "r\0na", d.rna, d.genes)
    # no cells
    @test error_code(() -> Dataset(0)) == S.SCM_STATUS_INVALID_ARG
    @test_throws ArgumentError Dataset(-1)
    # unknown modality
    @test error_code(() -> set_measured!(ds, "nope", trues(120))) == S.SCM_STATUS_NOT_FOUND
    # covariate labels: wrong count, missing values
    add_modality!(ds, "rna", d.rna, d.genes)
    @test error_code(() -> set_batch!(ds, d.batch[1:10])) == S.SCM_STATUS_INVALID_ARG
    @test_throws ArgumentError set_batch!(ds, [missing; d.batch[2:end]])
    # continuous covariates: wrong count, infinite value, name of a categorical one
    @test error_code(() -> set_continuous_covariate!(ds, "depth", ones(10))) ==
          S.SCM_STATUS_INVALID_ARG
    @test error_code(() -> set_continuous_covariate!(ds, "depth", fill(Inf, 120))) ==
          S.SCM_STATUS_INVALID_DATA
    set_batch!(ds, d.batch)
    @test error_code(() -> set_continuous_covariate!(ds, "batch", ones(120))) ==
          S.SCM_STATUS_INVALID_DATA

    full = dataset(d)
    model = Model(Config(json = SMALL_CONFIG), full)
    train!(model, full)
    @test error_code(() -> impute(model, full, "protein")) == S.SCM_STATUS_NOT_FOUND
    @test error_code(() -> nfeatures(model, "protein")) == S.SCM_STATUS_NOT_FOUND
    @test error_code(() -> impute(model, full, "adt"; features = ["prot0", "nope"])) !== nothing
    @test error_code(() -> impute(model, full, "adt"; scale = :log)) == S.SCM_STATUS_INVALID_ARG
    @test error_code(() -> impute(model, full, "adt"; batch = "b9")) !== nothing
    @test_throws ArgumentError impute(model, full, "adt"; n_draws = -1)

    # checkpoints
    @test error_code(() -> from_bytes(UInt8[])) == S.SCM_STATUS_CHECKPOINT
    @test error_code(() -> from_bytes(rand(UInt8, 100))) == S.SCM_STATUS_CHECKPOINT
    @test error_code(() -> load_model(tempname())) !== nothing
    cut = to_bytes(model)[1:200]
    @test error_code(() -> from_bytes(cut)) == S.SCM_STATUS_CHECKPOINT
    # A damaged checkpoint is an SCMosaicError saying the file is corrupt,
    # never a different model: one byte of a feature name ("prot3" ->
    # "pr0t3") or of a weight, or the last byte cut off.
    good = to_bytes(model)
    at = findfirst(codeunits("prot3"), good)
    @test at !== nothing
    renamed = copy(good)
    renamed[first(at)+2] = UInt8('0')
    flipped = copy(good)
    flipped[end-4] ⊻= 0x40
    for bad in (renamed, flipped, good[1:end-1])
        err = try
            from_bytes(bad)
            nothing
        catch e
            e
        end
        @test err isa SCMosaicError
        @test err.code == S.SCM_STATUS_CHECKPOINT
        @test occursin("corrupt", err.msg)
    end
    @test embed(from_bytes(good), full) == embed(model, full)

    # closed handles: close twice is harmless, any other use throws
    @test isopen(model)
    close(model)
    @test !isopen(model)
    close(model)
    @test error_code(() -> embed(model, full)) == S.SCM_STATUS_INVALID_STATE
    @test error_code(() -> latent_dim(model)) == S.SCM_STATUS_INVALID_STATE
    @test sprint(show, model) == "SCMosaic.Model(<closed>)"
    close(full)
    @test error_code(() -> ncells(full)) == S.SCM_STATUS_INVALID_STATE
    cfg = Config()
    close(cfg)
    @test error_code(() -> config_json(cfg)) == S.SCM_STATUS_INVALID_STATE
    @test error_code(() -> Model(cfg, ds)) == S.SCM_STATUS_INVALID_STATE

    # finalizers free unreachable handles without a crash
    for _ in 1:50
        Dataset(10)
        Config()
    end
    GC.gc(true)
    @test true
end
