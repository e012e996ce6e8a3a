// Minimal scmosaic C++ example (header-only RAII wrapper bindings/cpp/scmosaic.hpp).
// Build (after scripts/install.sh):
//   g++ -std=c++17 minimal.cpp $(pkg-config --cflags --libs scmosaic) -o minimal
#include <cstdio>
#include <random>

#include "scmosaic.hpp"

int main() try {
    scmosaic::check_abi();
    const std::size_t n_cells = 300, n_genes = 30, n_proteins = 5;
    std::vector<std::string> genes, proteins;
    for (std::size_t j = 0; j < n_genes; ++j) genes.push_back("gene" + std::to_string(j));
    for (std::size_t j = 0; j < n_proteins; ++j) proteins.push_back("protein" + std::to_string(j));
    std::mt19937 rng(1);
    std::poisson_distribution<int> noise(2.0);
    std::vector<float> rna(n_cells * n_genes), adt(n_cells * n_proteins);  // raw counts
    for (std::size_t c = 0; c < n_cells; ++c) {  // three cell types
        for (std::size_t j = 0; j < n_genes; ++j)
            rna[c * n_genes + j] = float(noise(rng) + (j % 3 == c % 3 ? 6 : 0));
        for (std::size_t j = 0; j < n_proteins; ++j)
            adt[c * n_proteins + j] = float(noise(rng) + (j == c % 3 ? 30 : 0));
    }
    // README quick start: begin (tests/readme_examples.rs)
    scmosaic::Dataset both(n_cells), rna_only(n_cells);
    both.add_dense("rna", "nb", genes, rna).add_dense("adt", "nb", proteins, adt);
    rna_only.add_dense("rna", "nb", genes, rna);

    auto config = scmosaic::Config::from_json(R"({"latent_dim": 8, "hidden": [64]})");
    config.set("train.epochs", 50);
    config.set("train.batch_size", 64);
    scmosaic::Model model(config, both);
    model.train(both, [](std::size_t epoch, std::size_t n, double loss, double) {
        if (epoch == n) std::printf("epoch %zu/%zu loss %.3f\n", epoch, n, loss);
        return true;  // false cancels
    });
    std::vector<float> latent = model.embed(both);                        // cells x 8
    std::vector<float> protein = model.impute(rna_only, "adt", R"({"scale": "counts"})");
    std::printf("cell 0: latent[0] = %.3f, imputed protein0 = %.1f counts\n", latent[0],
                protein[0]);
    model.save("minimal.safetensors");
    // README quick start: end
    return 0;
} catch (const scmosaic::Error& e) {
    std::fprintf(stderr, "scmosaic error %d: %s\n", int(e.status()), e.what());
    return 1;
}
