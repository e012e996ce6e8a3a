/* Minimal scmosaic C example: build a two-modality dataset, train, embed,
 * impute the protein of RNA-only cells, save. Build (after scripts/install.sh):
 *   cc -std=c99 minimal.c $(pkg-config --cflags --libs scmosaic) -o minimal */
#include <stdio.h>
#include <stdlib.h>

#include "scmosaic.h"

#define CHECK(call)                                                        \
  do {                                                                     \
    scm_status s_ = (call);                                                \
    if (s_ != SCM_STATUS_OK) {                                             \
      fprintf(stderr, "%s: %s\n", scm_status_str(s_), scm_last_error_message()); \
      exit(1);                                                             \
    }                                                                      \
  } while (0)

enum { N_CELLS = 300, N_GENES = 30, N_PROTEINS = 5, LATENT = 8 };

int main(void) {
  if (scm_abi_version() != SCM_ABI_VERSION) return 1;
  /* Raw counts, row-major cells x features (= column-major features x cells). */
  static float rna[N_CELLS * N_GENES], adt[N_CELLS * N_PROTEINS];
  const char *genes[N_GENES], *proteins[N_PROTEINS];
  static char names[N_GENES + N_PROTEINS][16];
  for (int j = 0; j < N_GENES + N_PROTEINS; j++) {
    snprintf(names[j], 16, j < N_GENES ? "gene%d" : "protein%d", j < N_GENES ? j : j - N_GENES);
    if (j < N_GENES) genes[j] = names[j]; else proteins[j - N_GENES] = names[j];
  }
  for (int c = 0; c < N_CELLS; c++) { /* three cell types */
    for (int j = 0; j < N_GENES; j++) rna[c * N_GENES + j] = (float)(rand() % 4 + (j % 3 == c % 3) * 6);
    for (int j = 0; j < N_PROTEINS; j++) adt[c * N_PROTEINS + j] = (float)(rand() % 5 + (j == c % 3) * 30);
  }
  /* README quick start: begin (tests/readme_examples.rs) */
  scm_dataset *both, *rna_only;
  CHECK(scm_dataset_new(N_CELLS, &both));
  CHECK(scm_dataset_add_dense(both, "rna", "nb", genes, N_GENES, rna, N_CELLS * N_GENES));
  CHECK(scm_dataset_add_dense(both, "adt", "nb", proteins, N_PROTEINS, adt, N_CELLS * N_PROTEINS));
  CHECK(scm_dataset_new(N_CELLS, &rna_only));
  CHECK(scm_dataset_add_dense(rna_only, "rna", "nb", genes, N_GENES, rna, N_CELLS * N_GENES));

  scm_config *cfg;
  CHECK(scm_config_from_json("{\"latent_dim\": 8, \"hidden\": [64]}", &cfg));
  CHECK(scm_config_set_int(cfg, "train.epochs", 50));
  CHECK(scm_config_set_int(cfg, "train.batch_size", 64));
  scm_model *model;
  CHECK(scm_model_new(cfg, both, &model));
  CHECK(scm_model_train(model, both, NULL, NULL, NULL));

  static float latent[N_CELLS * LATENT], protein[N_CELLS * N_PROTEINS];
  CHECK(scm_model_embed(model, both, latent, N_CELLS * LATENT));
  CHECK(scm_model_impute(model, rna_only, "adt", "{\"scale\": \"counts\"}", protein,
                         N_CELLS * N_PROTEINS, NULL, 0));
  printf("cell 0: latent[0] = %.3f, imputed protein0 = %.1f counts\n", latent[0], protein[0]);
  CHECK(scm_model_save(model, "minimal.safetensors"));

  scm_model_free(model);
  scm_config_free(cfg);
  scm_dataset_free(both);
  scm_dataset_free(rna_only);
  /* README quick start: end */
  return 0;
}
