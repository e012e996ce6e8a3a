// A complete program using the scmosaic C++ wrapper (scmosaic.hpp):
// a small synthetic two-modality dataset (RNA + ADT counts), training with a
// progress callback, embedding (joint, one modality's, posterior samples),
// cross-modal imputation, save/reload, query mapping, a continuous covariate
// and error handling.
//
// Build (after scripts/install.sh):
//   g++ -std=c++17 example.cpp $(pkg-config --cflags --libs scmosaic)
// Run: ./example [epochs]   (default 3: a smoke test; ~100 epochs give a
// useful model, e.g. a log1p correlation of ~0.86 for the imputed ADT)

#include <scmosaic.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <random>
#include <string>
#include <vector>

#include <unistd.h>

namespace {

constexpr std::size_t kCells = 200;
constexpr std::size_t kGenes = 50;
constexpr std::size_t kProteins = 10;
constexpr std::size_t kTypes = 4;

struct Synthetic {
    std::vector<float> rna;  // cells x genes, row-major
    std::vector<float> adt;  // cells x proteins, row-major
    std::vector<int> type;   // cell type of each cell
    std::vector<std::string> genes;
    std::vector<std::string> proteins;
};

// Negative binomial draw with mean `mu` and inverse dispersion `theta`
// (a gamma-Poisson mixture).
float nb_draw(std::mt19937& rng, double mu, double theta) {
    std::gamma_distribution<double> gamma(theta, mu / theta);
    std::poisson_distribution<int> poisson(std::max(gamma(rng), 1e-8));
    return static_cast<float>(poisson(rng));
}

// Cells of a few types; each type has its own expression profile in both
// modalities, so the latent space has structure to find.
Synthetic make_data(std::uint32_t seed) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_int_distribution<int> pick_type(0, static_cast<int>(kTypes) - 1);
    std::lognormal_distribution<double> library(0.0, 0.3);

    std::vector<std::vector<double>> gene_log_mean(kTypes, std::vector<double>(kGenes));
    std::vector<std::vector<double>> protein_log_mean(kTypes, std::vector<double>(kProteins));
    for (std::size_t t = 0; t < kTypes; ++t) {
        for (double& m : gene_log_mean[t]) {
            m = 1.0 + 1.2 * normal(rng);
        }
        for (double& m : protein_log_mean[t]) {
            m = 3.5 + 1.0 * normal(rng);
        }
    }

    Synthetic d;
    for (std::size_t g = 0; g < kGenes; ++g) {
        d.genes.push_back("gene" + std::to_string(g));
    }
    for (std::size_t p = 0; p < kProteins; ++p) {
        d.proteins.push_back("CD" + std::to_string(p + 1));
    }
    d.rna.reserve(kCells * kGenes);
    d.adt.reserve(kCells * kProteins);
    for (std::size_t c = 0; c < kCells; ++c) {
        const int t = pick_type(rng);
        d.type.push_back(t);
        const double size = library(rng);
        for (std::size_t g = 0; g < kGenes; ++g) {
            d.rna.push_back(nb_draw(rng, size * std::exp(gene_log_mean[t][g]), 5.0));
        }
        for (std::size_t p = 0; p < kProteins; ++p) {
            d.adt.push_back(nb_draw(rng, std::exp(protein_log_mean[t][p]), 10.0));
        }
    }
    return d;
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

int run(std::size_t epochs) {
    scmosaic::check_abi();
    std::cout << "scmosaic " << scmosaic::version() << " (ABI " << scm_abi_version() << ")\n";

    const Synthetic data = make_data(42);

    // Training data: both modalities measured in every cell.
    scmosaic::Dataset train(kCells);
    train.add_dense("rna", "nb", data.genes, data.rna)
        .add_dense("adt", "nb", data.proteins, data.adt);

    // RNA-only data (no ADT modality at all): ADT will be imputed.
    scmosaic::Dataset rna_only(kCells);
    rna_only.add_dense("rna", "nb", data.genes, data.rna);

    scmosaic::Config config = scmosaic::Config::from_json(
        R"({"latent_dim": 8, "train": {"epochs": 3, "batch_size": 64}})");
    config.set_value_json("hidden", "[32]");
    if (epochs != 3) {
        config.set("train.epochs", epochs);
    }

    scmosaic::Model model(config, train);
    model.set_threads(1);
    std::cout << "model: " << model.n_params() << " parameters, latent_dim "
              << model.latent_dim() << ", modalities:";
    for (const std::string& m : model.modalities()) {
        std::cout << ' ' << m << '(' << model.n_features(m) << ')';
    }
    std::cout << '\n';

    const auto t0 = std::chrono::steady_clock::now();
    const scmosaic::StopReason stop = model.train(
        train, [](std::size_t epoch, std::size_t n_epochs, double loss, double valid) {
            std::cout << "  epoch " << epoch << '/' << n_epochs << "  train loss " << loss;
            if (!std::isnan(valid)) {
                std::cout << "  validation loss " << valid;
            }
            std::cout << '\n';
            return true;  // continue
        });
    std::cout << "training " << scmosaic::to_string(stop) << " after "
              << model.epochs_trained() << " epochs in " << seconds_since(t0) << " s\n";

    // Embedding: cells x latent_dim, row-major.
    const std::vector<float> z = model.embed(train);
    std::cout << "embedding: " << z.size() / model.latent_dim() << " x " << model.latent_dim()
              << ", cell 0:";
    for (std::size_t k = 0; k < model.latent_dim(); ++k) {
        std::cout << ' ' << z[k];
    }
    std::cout << '\n';

    // The RNA latent alone, and seeded posterior samples (the same seed gives
    // the same values).
    scmosaic::EmbedOptions rna_latent;
    rna_latent.modality = "rna";
    const std::vector<float> z_rna = model.embed(train, rna_latent);
    scmosaic::EmbedOptions sampled;
    sampled.sample = true;
    sampled.seed = 11;
    const std::vector<float> s1 = model.embed(train, sampled);
    if (z_rna.size() != z.size() || s1 != model.embed(train, sampled) || s1 == z) {
        std::cerr << "FAIL: per-modality or sampled embedding\n";
        return 1;
    }
    std::cout << "rna-only latent of cell 0: " << z_rna[0] << "; one posterior sample: " << s1[0]
              << '\n';

    // Cross-modal imputation of ADT from RNA alone.
    const std::vector<float> adt = model.impute(rna_only, "adt");
    const std::vector<std::string> proteins = model.features("adt");
    if (adt.size() != kCells * proteins.size()) {
        std::cerr << "unexpected imputation size " << adt.size() << '\n';
        return 1;
    }
    double corr_num = 0.0;
    double sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0;
    for (std::size_t i = 0; i < adt.size(); ++i) {
        const double x = std::log1p(adt[i]);
        const double y = std::log1p(data.adt[i]);
        corr_num += x * y;
        sx += x;
        sy += y;
        sxx += x * x;
        syy += y * y;
    }
    const double n = static_cast<double>(adt.size());
    const double corr = (corr_num - sx * sy / n) /
                        std::sqrt((sxx - sx * sx / n) * (syy - sy * sy / n));
    std::cout << "imputed adt (" << proteins.size() << " features: " << proteins.front()
              << ".." << proteins.back() << "), cell 0 " << proteins.front() << " = " << adt[0]
              << "\n  log1p correlation with the measured ADT: " << corr
              << (epochs < 50 ? " (low after so few epochs; try ./example 100)" : "") << '\n';

    // A feature subset with variance over posterior draws.
    scmosaic::ImputeOptions opts;
    opts.features = {"CD3", "CD1"};
    opts.n_draws = 4;
    opts.seed = 7;
    const scmosaic::Imputation sub = model.impute_with_variance(rna_only, "adt", opts);
    std::cout << "imputed CD3, CD1 with 4 draws: cell 0 mean " << sub.mean[0] << ", "
              << sub.mean[1] << "; variance " << sub.variance[0] << ", " << sub.variance[1]
              << '\n';

    // Save, reload, and check the reloaded model embeds identically.
    char tmpl[] = "/tmp/scmosaic-example-XXXXXX";
    const int fd = mkstemp(tmpl);
    if (fd < 0) {
        std::perror("mkstemp");
        return 1;
    }
    close(fd);
    const std::string path = tmpl;
    model.save(path);
    scmosaic::Model loaded = scmosaic::Model::load(path);
    std::remove(path.c_str());
    loaded.set_threads(1);
    if (loaded.embed(train) != z) {
        std::cerr << "FAIL: the reloaded model gives different embeddings\n";
        return 1;
    }
    std::cout << "saved to " << path << " and reloaded: identical embeddings\n";

    const std::vector<std::uint8_t> bytes = model.to_bytes();
    scmosaic::Model copy = scmosaic::Model::from_bytes(bytes);
    copy.set_threads(1);
    if (copy.embed(train) != z) {
        std::cerr << "FAIL: the model from bytes gives different embeddings\n";
        return 1;
    }
    std::cout << "to_bytes/from_bytes (" << bytes.size() << " bytes): identical embeddings\n";

    // A damaged checkpoint is an error, never a different model: one byte of
    // a feature name changed ("gene1" -> "gune1") is caught by the integrity
    // check and reported as a corrupt file.
    {
        std::vector<std::uint8_t> damaged = bytes;
        const std::string name = "\\\"" + data.genes[1] + "\\\"";  // as escaped in the header
        const auto at = std::search(damaged.begin(), damaged.end(), name.begin(), name.end());
        if (at == damaged.end()) {
            std::cerr << "FAIL: feature name not found in the checkpoint header\n";
            return 1;
        }
        at[3] = 'u';
        try {
            scmosaic::Model::from_bytes(damaged);
            std::cerr << "FAIL: a damaged checkpoint loaded\n";
            return 1;
        } catch (const scmosaic::Error& e) {
            if (e.status() != SCM_STATUS_CHECKPOINT ||
                std::string(e.what()).find("corrupt") == std::string::npos) {
                std::cerr << "FAIL: expected a corrupt-checkpoint error, got " << e.status_str()
                          << ": " << e.what() << '\n';
                return 1;
            }
            std::cout << "damaged checkpoint rejected: " << e.what() << '\n';
        }
    }

    // Query mapping (here a query without new covariate levels): the mapped
    // model embeds the reference cells exactly as the reference does.
    scmosaic::Model mapped = model.map_query(rna_only);
    if (mapped.embed(train) != z) {
        std::cerr << "FAIL: the mapped model changed the reference embedding\n";
        return 1;
    }
    std::cout << "map_query: reference embedding unchanged\n";

    // A continuous covariate (here the RNA library size, one float per cell):
    // the model conditions on it, and later data must carry it too.
    std::vector<float> depth(kCells, 0.0f);
    for (std::size_t c = 0; c < kCells; ++c) {
        for (std::size_t g = 0; g < kGenes; ++g) {
            depth[c] += data.rna[c * kGenes + g];
        }
    }
    scmosaic::Dataset with_depth(kCells);
    with_depth.add_dense("rna", "nb", data.genes, data.rna)
        .add_dense("adt", "nb", data.proteins, data.adt)
        .set_continuous_covariate("depth", depth);
    scmosaic::Model conditioned(config, with_depth);
    conditioned.set_threads(1);
    conditioned.train(with_depth);
    if (conditioned.embed(with_depth).size() != z.size()) {
        std::cerr << "FAIL: embedding with a continuous covariate\n";
        return 1;
    }
    try {
        conditioned.embed(train);  // no "depth"
        std::cerr << "FAIL: data without the model's continuous covariate were accepted\n";
        return 1;
    } catch (const scmosaic::Error& e) {
        if (e.status() != SCM_STATUS_NOT_FOUND) {
            std::cerr << "FAIL: expected SCM_STATUS_NOT_FOUND, got " << e.status_str() << '\n';
            return 1;
        }
        std::cout << "continuous covariate 'depth': trained; data without it: " << e.what()
                  << '\n';
    }

    // Errors become scmosaic::Error with the status and the library's message.
    try {
        scmosaic::Dataset bad(kCells);
        bad.add_dense("rna", "negative-binomial", data.genes, data.rna);
        std::cerr << "FAIL: an unknown likelihood was accepted\n";
        return 1;
    } catch (const scmosaic::Error& e) {
        std::cout << "caught scmosaic::Error (status " << static_cast<int>(e.status()) << ", "
                  << e.status_str() << "): " << e.what() << '\n';
        if (e.status() != SCM_STATUS_INVALID_ARG) {
            std::cerr << "FAIL: expected SCM_STATUS_INVALID_ARG\n";
            return 1;
        }
    }

    // An exception thrown by the progress callback stops training and comes
    // back out of train(); the model stays usable.
    try {
        model.train(train, [](std::size_t, std::size_t, double, double) -> bool {
            throw std::runtime_error("stop from the callback");
        });
        std::cerr << "FAIL: the callback's exception was lost\n";
        return 1;
    } catch (const scmosaic::Error&) {
        throw;  // a library error, not the callback's exception
    } catch (const std::runtime_error& e) {
        std::cout << "caught the callback's exception: " << e.what() << " (model now at "
                  << model.epochs_trained() << " epochs)\n";
    }

    std::cout << "OK\n";
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    std::size_t epochs = 3;
    if (argc > 1) {
        char* end = nullptr;
        const unsigned long v = std::strtoul(argv[1], &end, 10);
        if (end == argv[1] || *end != '\0' || v == 0) {
            std::cerr << "usage: " << argv[0] << " [epochs]\n";
            return 2;
        }
        epochs = static_cast<std::size_t>(v);
    }
    try {
        return run(epochs);
    } catch (const scmosaic::Error& e) {
        std::cerr << "scmosaic error (" << e.status_str() << "): " << e.what() << '\n';
    } catch (const std::exception& e) {
        std::cerr << "error: " << e.what() << '\n';
    }
    return 1;
}
