// scmosaic.hpp: header-only C++17 RAII wrapper over the scmosaic C ABI
// (scmosaic.h). Link with -lscmosaic (see `pkg-config --cflags --libs scmosaic`).
//
// - Every failing scm_* call throws scmosaic::Error, which carries the status
//   code and the library's full error message.
// - Config, Dataset and Model own their handle through a std::unique_ptr whose
//   deleter calls scm_*_free. They are move-only; a moved-from object holds no
//   handle and every call on it throws Error (SCM_STATUS_NULL_ARG).
// - Thread safety is the C library's: each handle has its own lock, so calls
//   on one object from several threads run one after another.
// - Call scmosaic::check_abi() once at start-up to make sure the loaded library
//   matches this header.

#ifndef SCMOSAIC_HPP
#define SCMOSAIC_HPP

#include "scmosaic.h"

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

namespace scmosaic {

// ---------------------------------------------------------------------------
// Errors

/// A failed scm_* call: the status code and the library's message.
class Error : public std::runtime_error {
public:
    Error(scm_status status, const std::string& message)
        : std::runtime_error(message), status_(status) {}

    /// The status code (never SCM_STATUS_OK).
    scm_status status() const noexcept { return status_; }

    /// A static description of the status code ("invalid argument", ...).
    const char* status_str() const noexcept { return scm_status_str(status_); }

private:
    scm_status status_;
};

/// Throws Error with this thread's last error message unless `status` is
/// SCM_STATUS_OK.
inline void check(scm_status status) {
    if (status == SCM_STATUS_OK) {
        return;
    }
    const char* msg = scm_last_error_message();
    std::string text = (msg != nullptr && *msg != '\0') ? std::string(msg)
                                                         : std::string(scm_status_str(status));
    throw Error(status, text);
}

/// Throws Error (SCM_STATUS_INVALID_STATE) when the loaded library's ABI
/// version differs from the one this header was written for.
inline void check_abi() {
    const std::uint32_t loaded = scm_abi_version();
    const std::uint32_t expected = static_cast<std::uint32_t>(SCM_ABI_VERSION);
    if (loaded != expected) {
        throw Error(SCM_STATUS_INVALID_STATE,
                    "scmosaic ABI mismatch: the header expects ABI version " +
                        std::to_string(expected) + " but the loaded library has " +
                        std::to_string(loaded));
    }
}

/// The version of the loaded library (SemVer, e.g. "0.1.0").
inline std::string version() { return std::string(scm_version()); }

/// Why scm_model_train returned.
enum class StopReason : std::int32_t {
    Completed = SCM_STOP_COMPLETED,          ///< all configured epochs ran
    EarlyStopped = SCM_STOP_EARLY_STOPPED,   ///< validation stopped improving
    Cancelled = SCM_STOP_CANCELLED,          ///< the progress callback stopped it
};

inline const char* to_string(StopReason r) noexcept {
    switch (r) {
    case StopReason::Completed: return "completed";
    case StopReason::EarlyStopped: return "early stopped";
    case StopReason::Cancelled: return "cancelled";
    }
    return "unknown";
}

namespace detail {

struct ConfigDeleter {
    void operator()(scm_config* p) const noexcept { scm_config_free(p); }
};
struct DatasetDeleter {
    void operator()(scm_dataset* p) const noexcept { scm_dataset_free(p); }
};
struct ModelDeleter {
    void operator()(scm_model* p) const noexcept { scm_model_free(p); }
};

[[noreturn]] inline void invalid_arg(const std::string& message) {
    throw Error(SCM_STATUS_INVALID_ARG, message);
}

/// A C string for `s`; rejects embedded NULs (they would silently truncate).
inline const char* c_str(const std::string& s, const char* what) {
    if (s.find('\0') != std::string::npos) {
        invalid_arg(std::string(what) + " contains a NUL byte");
    }
    return s.c_str();
}

/// Pointers to the C strings of `v` (valid while `v` lives).
inline std::vector<const char*> c_strs(const std::vector<std::string>& v, const char* what) {
    std::vector<const char*> out;
    out.reserve(v.size());
    for (const std::string& s : v) {
        out.push_back(c_str(s, what));
    }
    return out;
}

/// Reads a string through the (buf, cap, len) protocol: `f(buf, cap, &len)`.
template <typename F>
std::string read_string(F&& f) {
    for (;;) {
        std::size_t len = 0;
        check(f(nullptr, 0, &len));
        if (len == 0) {
            return std::string();
        }
        std::vector<char> buf(len);
        std::size_t got = 0;
        const scm_status s = f(buf.data(), buf.size(), &got);
        if (s == SCM_STATUS_BUFFER_TOO_SMALL) {
            continue;  // the value grew in between (another thread); ask again
        }
        check(s);
        return std::string(buf.data(), got > 0 ? got - 1 : 0);
    }
}

/// `n * m`, throwing on overflow.
inline std::size_t checked_mul(std::size_t n, std::size_t m) {
    if (m != 0 && n > std::numeric_limits<std::size_t>::max() / m) {
        invalid_arg("matrix size overflows size_t");
    }
    return n * m;
}

/// Appends `s` to `out` as a JSON string literal.
inline void json_string(std::string& out, const std::string& s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (const char ch : s) {
        const unsigned char c = static_cast<unsigned char>(ch);
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20) {
                out += "\\u00";
                out += hex[c >> 4];
                out += hex[c & 0xf];
            } else {
                out += ch;
            }
        }
    }
    out += '"';
}

/// Builds a JSON object key by key (the options objects of the C ABI; their
/// keys and meaning are defined once, by the library's serde types).
class JsonObject {
public:
    JsonObject& add(const char* k, bool v) {
        key(k);
        out_ += v ? "true" : "false";
        return *this;
    }
    JsonObject& add(const char* k, std::uint64_t v) {
        key(k);
        out_ += std::to_string(v);
        return *this;
    }
    JsonObject& add(const char* k, const std::string& v) {
        key(k);
        json_string(out_, v);
        return *this;
    }
    JsonObject& add(const char* k, const std::vector<std::string>& v) {
        key(k);
        out_ += '[';
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i > 0) {
                out_ += ',';
            }
            json_string(out_, v[i]);
        }
        out_ += ']';
        return *this;
    }
    JsonObject& add(const char* k, const std::map<std::string, std::string>& v) {
        key(k);
        out_ += '{';
        bool first = true;
        for (const auto& kv : v) {
            if (!first) {
                out_ += ',';
            }
            first = false;
            json_string(out_, kv.first);
            out_ += ':';
            json_string(out_, kv.second);
        }
        out_ += '}';
        return *this;
    }
    std::string str() const { return out_ + '}'; }

private:
    void key(const char* k) {
        if (out_.size() > 1) {
            out_ += ',';
        }
        json_string(out_, k);
        out_ += ':';
    }
    std::string out_ = "{";
};

}  // namespace detail

// ---------------------------------------------------------------------------
// Config

/// A model configuration (keys and defaults: docs/configuration.md).
class Config {
public:
    /// Every setting at its default.
    Config() {
        scm_config* p = nullptr;
        check(scm_config_new(&p));
        h_.reset(p);
    }

    /// From a JSON object; keys not given keep their defaults.
    static Config from_json(const std::string& json) {
        scm_config* p = nullptr;
        check(scm_config_from_json(detail::c_str(json, "config JSON"), &p));
        return Config(p);
    }

    Config(Config&&) noexcept = default;
    Config& operator=(Config&&) noexcept = default;
    Config(const Config&) = delete;
    Config& operator=(const Config&) = delete;

    /// Sets an integer option by dotted key ("latent_dim", "train.epochs").
    template <typename T,
              std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    Config& set(const std::string& key, T value) {
        if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
            if (value > static_cast<T>(std::numeric_limits<std::int64_t>::max())) {
                detail::invalid_arg(key + ": value does not fit in int64");
            }
        }
        check(scm_config_set_int(h_.get(), detail::c_str(key, "config key"),
                                 static_cast<std::int64_t>(value)));
        return *this;
    }

    /// Sets a real-valued option by dotted key ("beta_kl", "train.learning_rate").
    template <typename T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
    Config& set(const std::string& key, T value) {
        check(scm_config_set_double(h_.get(), detail::c_str(key, "config key"),
                                    static_cast<double>(value)));
        return *this;
    }

    /// Sets a boolean option by dotted key ("skip_conn").
    Config& set(const std::string& key, bool value) {
        check(scm_config_set_bool(h_.get(), detail::c_str(key, "config key"), value ? 1 : 0));
        return *this;
    }

    /// Sets a string option by dotted key ("inference.batch_norm").
    Config& set(const std::string& key, const std::string& value) {
        check(scm_config_set_string(h_.get(), detail::c_str(key, "config key"),
                                    detail::c_str(value, "config value")));
        return *this;
    }

    /// Sets a string option (a string literal would otherwise become a bool).
    Config& set(const std::string& key, const char* value) {
        if (value == nullptr) {
            detail::invalid_arg(key + ": value is NULL");
        }
        return set(key, std::string(value));
    }

    /// Sets the option at a dotted key to a JSON value of any type, e.g.
    /// set_value_json("hidden", "[256, 128]").
    Config& set_value_json(const std::string& key, const std::string& json) {
        check(scm_config_set_value_json(h_.get(), detail::c_str(key, "config key"),
                                        detail::c_str(json, "config value JSON")));
        return *this;
    }

    /// Merges a JSON object into the configuration (nested objects merged).
    Config& set_json(const std::string& json) {
        check(scm_config_set_json(h_.get(), detail::c_str(json, "config JSON")));
        return *this;
    }

    /// Every setting as JSON.
    std::string json() const {
        const scm_config* h = h_.get();
        return detail::read_string([h](char* buf, std::size_t cap, std::size_t* len) {
            return scm_config_to_json(h, buf, cap, len);
        });
    }

    /// The C handle (owned by this object).
    scm_config* get() const noexcept { return h_.get(); }

private:
    explicit Config(scm_config* p) : h_(p) {}
    std::unique_ptr<scm_config, detail::ConfigDeleter> h_;
};

// ---------------------------------------------------------------------------
// Dataset

/// Cells x features data of one or more modalities (copied on every call).
class Dataset {
public:
    /// An empty dataset of `n_cells` cells (> 0).
    explicit Dataset(std::size_t n_cells) {
        scm_dataset* p = nullptr;
        check(scm_dataset_new(n_cells, &p));
        h_.reset(p);
    }

    Dataset(Dataset&&) noexcept = default;
    Dataset& operator=(Dataset&&) noexcept = default;
    Dataset(const Dataset&) = delete;
    Dataset& operator=(const Dataset&) = delete;

    /// Adds a modality from a dense row-major cells x features matrix of `n`
    /// floats. `likelihood`: "nb", "zinb", "bernoulli", "gaussian", "poisson".
    Dataset& add_dense(const std::string& name, const std::string& likelihood,
                       const std::vector<std::string>& features, const float* data,
                       std::size_t n) {
        const std::vector<const char*> f = detail::c_strs(features, "feature name");
        check(scm_dataset_add_dense(h_.get(), detail::c_str(name, "modality name"),
                                    detail::c_str(likelihood, "likelihood"), f.data(),
                                    f.size(), data, n));
        return *this;
    }

    Dataset& add_dense(const std::string& name, const std::string& likelihood,
                       const std::vector<std::string>& features, const std::vector<float>& data) {
        return add_dense(name, likelihood, features, data.data(), data.size());
    }

    /// Adds a modality from a cells x features CSR matrix (`row_ptr`: n_cells +
    /// 1 entries; `col_idx`, `values`: nnz entries; indices from `index_base`).
    /// The caller guarantees the lengths of the arrays.
    Dataset& add_csr(const std::string& name, const std::string& likelihood,
                     const std::vector<std::string>& features, const std::int64_t* row_ptr,
                     const std::int64_t* col_idx, const float* values, std::size_t nnz,
                     std::int32_t index_base = 0) {
        const std::vector<const char*> f = detail::c_strs(features, "feature name");
        check(scm_dataset_add_csr(h_.get(), detail::c_str(name, "modality name"),
                                  detail::c_str(likelihood, "likelihood"), f.data(), f.size(),
                                  row_ptr, col_idx, values, nnz, index_base));
        return *this;
    }

    Dataset& add_csr(const std::string& name, const std::string& likelihood,
                     const std::vector<std::string>& features,
                     const std::vector<std::int64_t>& row_ptr,
                     const std::vector<std::int64_t>& col_idx, const std::vector<float>& values,
                     std::int32_t index_base = 0) {
        check_sparse(row_ptr, col_idx, values, "row_ptr", "col_idx");
        return add_csr(name, likelihood, features, row_ptr.data(), nullable(col_idx),
                       nullable(values), values.size(), index_base);
    }

    /// Adds a modality from a features x cells CSC matrix (R dgCMatrix, Julia
    /// SparseMatrixCSC): `col_ptr` has n_cells + 1 entries, `row_idx` holds
    /// feature indices. The caller guarantees the lengths of the arrays.
    Dataset& add_csc(const std::string& name, const std::string& likelihood,
                     const std::vector<std::string>& features, const std::int64_t* col_ptr,
                     const std::int64_t* row_idx, const float* values, std::size_t nnz,
                     std::int32_t index_base = 0) {
        const std::vector<const char*> f = detail::c_strs(features, "feature name");
        check(scm_dataset_add_csc(h_.get(), detail::c_str(name, "modality name"),
                                  detail::c_str(likelihood, "likelihood"), f.data(), f.size(),
                                  col_ptr, row_idx, values, nnz, index_base));
        return *this;
    }

    Dataset& add_csc(const std::string& name, const std::string& likelihood,
                     const std::vector<std::string>& features,
                     const std::vector<std::int64_t>& col_ptr,
                     const std::vector<std::int64_t>& row_idx, const std::vector<float>& values,
                     std::int32_t index_base = 0) {
        check_sparse(col_ptr, row_idx, values, "col_ptr", "row_idx");
        return add_csc(name, likelihood, features, col_ptr.data(), nullable(row_idx),
                       nullable(values), values.size(), index_base);
    }

    /// Marks which cells measured `modality` (non-zero = measured).
    Dataset& set_measured(const std::string& modality, const std::vector<std::uint8_t>& measured) {
        check(scm_dataset_set_measured(h_.get(), detail::c_str(modality, "modality name"),
                                       measured.data(), measured.size()));
        return *this;
    }

    /// Adds a categorical covariate (e.g. the batch): `codes[i]` indexes `levels`.
    Dataset& set_covariate(const std::string& name, const std::vector<std::int32_t>& codes,
                           const std::vector<std::string>& levels) {
        const std::vector<const char*> l = detail::c_strs(levels, "covariate level");
        check(scm_dataset_set_covariate(h_.get(), detail::c_str(name, "covariate name"),
                                        codes.data(), codes.size(), l.data(), l.size()));
        return *this;
    }

    /// Adds a continuous covariate (e.g. percent mitochondrial reads): one value
    /// per cell; NaN marks a missing value (scVAEIT: the training mean;
    /// Multigrate rejects it). Later data for the model must carry the same ones.
    Dataset& set_continuous_covariate(const std::string& name, const std::vector<float>& values) {
        check(scm_dataset_set_continuous_covariate(
            h_.get(), detail::c_str(name, "covariate name"), values.data(), values.size()));
        return *this;
    }

    /// Splits a modality's features into blocks by chromosome (ATAC peaks).
    Dataset& set_chromosome_blocks(const std::string& modality) {
        check(scm_dataset_set_chromosome_blocks(h_.get(),
                                                detail::c_str(modality, "modality name")));
        return *this;
    }

    /// Attaches cell names (one per cell).
    Dataset& set_cell_names(const std::vector<std::string>& names) {
        const std::vector<const char*> n = detail::c_strs(names, "cell name");
        check(scm_dataset_set_cell_names(h_.get(), n.data(), n.size()));
        return *this;
    }

    std::size_t n_cells() const {
        std::size_t n = 0;
        check(scm_dataset_n_cells(h_.get(), &n));
        return n;
    }

    std::size_t n_modalities() const {
        std::size_t n = 0;
        check(scm_dataset_n_modalities(h_.get(), &n));
        return n;
    }

    /// The C handle (owned by this object).
    scm_dataset* get() const noexcept { return h_.get(); }

private:
    template <typename T>
    static const T* nullable(const std::vector<T>& v) noexcept {
        return v.empty() ? nullptr : v.data();
    }

    void check_sparse(const std::vector<std::int64_t>& ptr, const std::vector<std::int64_t>& idx,
                      const std::vector<float>& values, const char* ptr_name,
                      const char* idx_name) const {
        const std::size_t cells = n_cells();
        if (ptr.size() != cells + 1) {
            detail::invalid_arg(std::string(ptr_name) + " has " + std::to_string(ptr.size()) +
                                " entries but " + std::to_string(cells) + " cells need " +
                                std::to_string(cells + 1));
        }
        if (idx.size() != values.size()) {
            detail::invalid_arg(std::string(idx_name) + " has " + std::to_string(idx.size()) +
                                " entries but values has " + std::to_string(values.size()));
        }
    }

    std::unique_ptr<scm_dataset, detail::DatasetDeleter> h_;
};

// ---------------------------------------------------------------------------
// Model

/// Options of Model::impute (all optional; see scm_model_impute).
struct ImputeOptions {
    /// Output features, in this order (empty = all of the modality's).
    std::vector<std::string> features;
    /// Ignore measured values of the target (pure cross-modal prediction).
    bool hide_target = false;
    /// Posterior draws averaged (0 = posterior mean only); unset = the config's.
    std::optional<std::size_t> n_draws;
    /// "normalized" or "counts"; empty = the library default ("normalized").
    std::string scale;
    /// Decode under these covariate levels, e.g. {{"batch", "b1"}}.
    std::map<std::string, std::string> covariates;
    /// Seed of the posterior draws; unset = the library default.
    std::optional<std::uint64_t> seed;

    /// The options as the JSON object scm_model_impute takes.
    std::string to_json() const {
        detail::JsonObject o;
        if (!features.empty()) {
            o.add("features", features);
        }
        if (hide_target) {
            o.add("hide_target", true);
        }
        if (n_draws) {
            o.add("n_draws", static_cast<std::uint64_t>(*n_draws));
        }
        if (!scale.empty()) {
            o.add("scale", scale);
        }
        if (!covariates.empty()) {
            o.add("covariates", covariates);
        }
        if (seed) {
            o.add("seed", *seed);
        }
        return o.str();
    }
};

/// Options of Model::embed (all optional; see scm_model_embed_with).
struct EmbedOptions {
    /// The latent of this modality alone (empty = the joint latent from every
    /// measured modality). Multigrate gives NaN rows for cells that lack it.
    std::string modality;
    /// true: one posterior sample per cell; false: the mean; unset: the
    /// config's choice (multigrate.latent; the mean for scVAEIT).
    std::optional<bool> sample;
    /// Seed of the sample; unset = the training seed.
    std::optional<std::uint64_t> seed;

    /// The sample/seed options as the JSON object scm_model_embed_with takes.
    std::string to_json() const {
        detail::JsonObject o;
        if (sample) {
            o.add("sample", *sample);
        }
        if (seed) {
            o.add("seed", *seed);
        }
        return o.str();
    }
};

/// Posterior mean and per-value variance of an imputation (row-major cells x
/// output features).
struct Imputation {
    std::vector<float> mean;
    std::vector<float> variance;
};

/// A trained or untrained model.
class Model {
public:
    /// Progress callback of train(): called after every epoch with the epoch
    /// (from 1, over all training calls), the last epoch of this call, the
    /// training loss and the validation loss (NaN without a validation split).
    /// Return true to continue, false to stop training cleanly. It must not
    /// call methods of the model being trained. An exception it throws stops
    /// training and is rethrown by train().
    using Progress =
        std::function<bool(std::size_t epoch, std::size_t n_epochs, double train, double valid)>;

    /// An untrained model for the modalities, features and covariates of
    /// `dataset` with the settings of `config` (not kept).
    Model(const Config& config, const Dataset& dataset) {
        scm_model* p = nullptr;
        check(scm_model_new(config.get(), dataset.get(), &p));
        h_.reset(p);
    }

    /// Loads a model saved by save() (on the CPU).
    static Model load(const std::string& path) {
        scm_model* p = nullptr;
        check(scm_model_load(detail::c_str(path, "path"), &p));
        return Model(p);
    }

    /// Loads a model from bytes made by to_bytes().
    static Model from_bytes(const std::uint8_t* bytes, std::size_t n) {
        scm_model* p = nullptr;
        check(scm_model_from_buffer(bytes, n, &p));
        return Model(p);
    }

    static Model from_bytes(const std::vector<std::uint8_t>& bytes) {
        return from_bytes(bytes.data(), bytes.size());
    }

    /// Query-to-reference mapping: a copy of this trained model whose
    /// covariates also know the new levels of `query`; train() on the query
    /// then updates only their parameters, so the reference cells' embeddings
    /// and imputations stay exactly the same. This model is not modified.
    Model map_query(const Dataset& query) const {
        scm_model* p = nullptr;
        check(scm_model_map_query(h_.get(), query.get(), &p));
        return Model(p);
    }

    Model(Model&&) noexcept = default;
    Model& operator=(Model&&) noexcept = default;
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;

    /// Trains for the configured number of epochs (calling it again continues
    /// training). Returns why training stopped; rethrows an exception thrown by
    /// `progress` (the model then keeps the weights of the last completed epoch).
    StopReason train(const Dataset& dataset, const Progress& progress = Progress()) {
        std::int32_t stop = SCM_STOP_COMPLETED;
        if (!progress) {
            check(scm_model_train(h_.get(), dataset.get(), nullptr, nullptr, &stop));
            return static_cast<StopReason>(stop);
        }
        TrainContext ctx{&progress, nullptr};
        const scm_status s =
            scm_model_train(h_.get(), dataset.get(), &Model::progress_trampoline, &ctx, &stop);
        if (ctx.error) {
            std::rethrow_exception(ctx.error);
        }
        check(s);
        return static_cast<StopReason>(stop);
    }

    /// Latent means, row-major cells x latent_dim().
    std::vector<float> embed(const Dataset& dataset) const {
        std::vector<float> out(detail::checked_mul(dataset.n_cells(), latent_dim()));
        check(scm_model_embed(h_.get(), dataset.get(), out.data(), out.size()));
        return out;
    }

    /// Latent values with options (one modality's latent, posterior samples),
    /// row-major cells x latent_dim().
    std::vector<float> embed(const Dataset& dataset, const EmbedOptions& options) const {
        std::vector<float> out(detail::checked_mul(dataset.n_cells(), latent_dim()));
        const std::string json = options.to_json();
        const char* modality =
            options.modality.empty() ? nullptr : detail::c_str(options.modality, "modality name");
        check(scm_model_embed_with(h_.get(), dataset.get(), modality, json.c_str(), out.data(),
                                   out.size()));
        return out;
    }

    /// Imputes (or denoises) `modality` for every cell: row-major cells x all of
    /// the modality's features (model order). `options_json` is passed as is
    /// (see scm_model_impute) and must not hold "features"; for a feature
    /// subset use the ImputeOptions overload.
    std::vector<float> impute(const Dataset& dataset, const std::string& modality,
                              const std::string& options_json = std::string()) const {
        return run_impute(dataset, modality, options_json, n_features(modality), false).mean;
    }

    /// Imputes `modality`: row-major cells x output features (options.features,
    /// or all of the modality's).
    std::vector<float> impute(const Dataset& dataset, const std::string& modality,
                              const ImputeOptions& options) const {
        return run_impute(dataset, modality, options.to_json(), n_out(modality, options), false)
            .mean;
    }

    /// As impute(), with the per-value variance over posterior draws (zero
    /// with fewer than two draws).
    Imputation impute_with_variance(const Dataset& dataset, const std::string& modality,
                                    const std::string& options_json = std::string()) const {
        return run_impute(dataset, modality, options_json, n_features(modality), true);
    }

    Imputation impute_with_variance(const Dataset& dataset, const std::string& modality,
                                    const ImputeOptions& options) const {
        return run_impute(dataset, modality, options.to_json(), n_out(modality, options), true);
    }

    std::size_t latent_dim() const {
        std::size_t n = 0;
        check(scm_model_latent_dim(h_.get(), &n));
        return n;
    }

    std::size_t n_modalities() const {
        std::size_t n = 0;
        check(scm_model_n_modalities(h_.get(), &n));
        return n;
    }

    /// Modality names, in model order.
    std::vector<std::string> modalities() const {
        const std::size_t n = n_modalities();
        std::vector<std::string> out;
        out.reserve(n);
        const scm_model* h = h_.get();
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(detail::read_string([h, i](char* buf, std::size_t cap, std::size_t* len) {
                return scm_model_modality_name(h, i, buf, cap, len);
            }));
        }
        return out;
    }

    std::size_t n_features(const std::string& modality) const {
        std::size_t n = 0;
        check(scm_model_n_features(h_.get(), detail::c_str(modality, "modality name"), &n));
        return n;
    }

    /// Feature names of `modality`, in model order.
    std::vector<std::string> features(const std::string& modality) const {
        const std::size_t n = n_features(modality);
        const char* m = detail::c_str(modality, "modality name");
        std::vector<std::string> out;
        out.reserve(n);
        const scm_model* h = h_.get();
        for (std::size_t i = 0; i < n; ++i) {
            out.push_back(
                detail::read_string([h, m, i](char* buf, std::size_t cap, std::size_t* len) {
                    return scm_model_feature_name(h, m, i, buf, cap, len);
                }));
        }
        return out;
    }

    std::size_t epochs_trained() const {
        std::size_t n = 0;
        check(scm_model_epochs_trained(h_.get(), &n));
        return n;
    }

    std::size_t n_params() const {
        std::size_t n = 0;
        check(scm_model_n_params(h_.get(), &n));
        return n;
    }

    /// The resolved configuration as JSON.
    std::string config_json() const {
        const scm_model* h = h_.get();
        return detail::read_string([h](char* buf, std::size_t cap, std::size_t* len) {
            return scm_model_config_json(h, buf, cap, len);
        });
    }

    /// Saves to a safetensors file (atomically).
    void save(const std::string& path) const {
        check(scm_model_save(h_.get(), detail::c_str(path, "path")));
    }

    /// The checkpoint bytes save() would write.
    std::vector<std::uint8_t> to_bytes() const {
        for (;;) {
            std::size_t len = 0;
            check(scm_model_to_buffer(h_.get(), nullptr, 0, &len));
            std::vector<std::uint8_t> out(len);
            std::size_t got = 0;
            const scm_status s = scm_model_to_buffer(h_.get(), out.data(), out.size(), &got);
            if (s == SCM_STATUS_BUFFER_TOO_SMALL) {
                continue;  // trained in between by another thread; ask again
            }
            check(s);
            out.resize(got);
            return out;
        }
    }

    /// Moves the model to "cpu", "cpu:flex", "cpu:ndarray", "cuda" or "cuda:N".
    void set_device(const std::string& device) {
        check(scm_model_set_device(h_.get(), detail::c_str(device, "device")));
    }

    /// Limits the compute threads (0 = all cores).
    void set_threads(std::size_t threads) { check(scm_model_set_threads(h_.get(), threads)); }
    /// Epochs of each later train() call (at least 1).
    void set_epochs(std::size_t epochs) { check(scm_model_set_epochs(h_.get(), epochs)); }

    /// The C handle (owned by this object).
    scm_model* get() const noexcept { return h_.get(); }

private:
    explicit Model(scm_model* p) : h_(p) {}

    struct TrainContext {
        const Progress* progress;
        std::exception_ptr error;
    };

    // Called by the library after every epoch; no exception may cross it.
    static std::int32_t progress_trampoline(void* user_data, std::size_t epoch,
                                            std::size_t n_epochs, double train_loss,
                                            double validation_loss) noexcept {
        TrainContext* ctx = static_cast<TrainContext*>(user_data);
        try {
            return (*ctx->progress)(epoch, n_epochs, train_loss, validation_loss) ? 0 : 1;
        } catch (...) {
            ctx->error = std::current_exception();
            return 1;
        }
    }

    std::size_t n_out(const std::string& modality, const ImputeOptions& options) const {
        return options.features.empty() ? n_features(modality) : options.features.size();
    }

    Imputation run_impute(const Dataset& dataset, const std::string& modality,
                          const std::string& options_json, std::size_t n_out,
                          bool with_variance) const {
        const std::size_t n = detail::checked_mul(dataset.n_cells(), n_out);
        Imputation r;
        r.mean.resize(n);
        if (with_variance) {
            r.variance.resize(n);
        }
        const char* opts =
            options_json.empty() ? nullptr : detail::c_str(options_json, "impute options");
        check(scm_model_impute(h_.get(), dataset.get(), detail::c_str(modality, "modality name"),
                               opts, r.mean.data(), r.mean.size(),
                               with_variance ? r.variance.data() : nullptr,
                               with_variance ? r.variance.size() : 0));
        return r;
    }

    std::unique_ptr<scm_model, detail::ModelDeleter> h_;
};

}  // namespace scmosaic

#endif  // SCMOSAIC_HPP
