/* The toy data and model helpers shared by the C tests embed, errors and
 * continuous (C99): RNA (12 genes) and ADT (4 proteins) counts for cells of
 * three types (cell c has type c % 3: genes j with j % 3 == type and protein
 * `type` are high), from a seeded linear congruential generator. */
#ifndef SCM_TEST_TOY_H
#define SCM_TEST_TOY_H

#include <math.h>

#include "check.h"

#define N_RNA 12
#define N_ADT 4

static const char *const rna_names[N_RNA] = {"g0", "g1", "g2", "g3", "g4", "g5",
                                             "g6", "g7", "g8", "g9", "g10", "g11"};
static const char *const adt_names[N_ADT] = {"p0", "p1", "p2", "p3"};

/* Fills rna (n_cells x N_RNA) and adt (n_cells x N_ADT), row-major. */
static inline void toy_counts(unsigned seed, int n_cells, float *rna, float *adt) {
  unsigned s = seed;
  for (int c = 0; c < n_cells; c++) {
    int type = c % 3;
    for (int j = 0; j < N_RNA; j++) {
      s = s * 1103515245u + 12345u;
      rna[c * N_RNA + j] = (float)(((s >> 16) % 5) + (j % 3 == type ? 8 : 0));
    }
    for (int j = 0; j < N_ADT; j++) {
      s = s * 1103515245u + 12345u;
      adt[c * N_ADT + j] = (float)(((s >> 16) % 7) + (j == type ? 20 : 0));
    }
  }
}

/* A model from the JSON config `json` for `ds`, on one thread, trained;
 * its latent dimension must be `latent`. */
static inline scm_model *trained(const char *json, const scm_dataset *ds, size_t latent) {
  scm_config *cfg = NULL;
  scm_model *model = NULL;
  OK(scm_config_from_json(json, &cfg));
  OK(scm_model_new(cfg, ds, &model));
  scm_config_free(cfg);
  OK(scm_model_set_threads(model, 1));
  OK(scm_model_train(model, ds, NULL, NULL, NULL));
  size_t d = 0;
  OK(scm_model_latent_dim(model, &d));
  EXPECT(d == latent);
  return model;
}

static inline int all_finite(const float *z, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(z[i])) return 0;
  return 1;
}

#endif
