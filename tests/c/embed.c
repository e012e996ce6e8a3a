/*
 * scm_model_embed_with: per-modality and sampled embeddings, its error paths,
 * and query-to-reference mapping seen from C (the reference cells' embedding
 * is bit-identical after mapping and training on the query).
 *
 * A Multigrate model (one modality's latent is that modality's own posterior:
 * NaN rows for the cells that lack it) and a scVAEIT model (the other
 * modalities hidden: finite for every cell).
 *
 * Usage: embed
 */
#include "toy.h"

#define N_CELLS 48
#define LATENT 6

static float rna[N_CELLS * N_RNA], adt[N_CELLS * N_ADT];

/* Every 4th cell lacks ADT. */
static int has_adt(int c) { return c % 4 != 3; }

/* RNA + ADT with batch labels b0/b1 (or all `query_level` when given). */
static scm_dataset *dataset(const char *query_level) {
  scm_dataset *ds = NULL;
  OK(scm_dataset_new(N_CELLS, &ds));
  OK(scm_dataset_add_dense(ds, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  OK(scm_dataset_add_dense(ds, "adt", "nb", adt_names, N_ADT, adt, N_CELLS * N_ADT));
  uint8_t measured[N_CELLS];
  int32_t codes[N_CELLS];
  for (int c = 0; c < N_CELLS; c++) {
    measured[c] = (uint8_t)has_adt(c);
    codes[c] = query_level ? 0 : c % 2;
  }
  OK(scm_dataset_set_measured(ds, "adt", measured, N_CELLS));
  if (query_level) {
    const char *levels[1] = {query_level};
    OK(scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 1));
  } else {
    const char *levels[2] = {"b0", "b1"};
    OK(scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 2));
  }
  return ds;
}

static int row_all_nan(const float *z, int c) {
  for (int k = 0; k < LATENT; k++)
    if (!isnan(z[c * LATENT + k])) return 0;
  return 1;
}

#define N_OUT (N_CELLS * LATENT)

int main(void) {
  toy_counts(777u, N_CELLS, rna, adt);
  static float z[N_OUT], z2[N_OUT], s1[N_OUT], s2[N_OUT], guard[N_OUT];
  scm_dataset *ds = dataset(NULL);

  printf("Multigrate\n");
  scm_model *mg = trained(
      "{\"model\": \"multigrate\", \"latent_dim\": 6, \"hidden\": [16],"
      " \"modalities\": [{\"name\": \"rna\", \"likelihood\": \"nb\"},"
      "                 {\"name\": \"adt\", \"likelihood\": \"mse\", \"normalization\": \"clr\"}],"
      " \"train\": {\"epochs\": 2, \"batch_size\": 16, \"validation_fraction\": 0.0}}",
      ds, LATENT);

  printf("error paths leave the output untouched\n");
  for (int i = 0; i < N_OUT; i++) guard[i] = 42.0f;
  memcpy(z, guard, sizeof z);
  FAILS(SCM_STATUS_NULL_ARG, scm_model_embed_with(NULL, ds, NULL, NULL, z, N_OUT));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_embed_with(mg, NULL, NULL, NULL, z, N_OUT));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_embed_with(mg, ds, NULL, NULL, NULL, N_OUT));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_embed_with(mg, ds, "adt", NULL, NULL, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, NULL, z, N_OUT - 1));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, "adt", NULL, z, N_OUT + 1));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, NULL, z, 0));
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_embed_with(mg, ds, "protein", NULL, z, N_OUT));
  EXPECT(strstr(scm_last_error_message(), "protein") != NULL);
  EXPECT(strstr(scm_last_error_message(), "rna") != NULL); /* lists the model's modalities */
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_embed_with(mg, ds, "", NULL, z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, "\xff\xfe", NULL, z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "{\"sample\": }", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "{\"samples\": true}", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "{\"sample\": 1}", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "{\"seed\": -1}", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "[true]", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "[true, 3]", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "null", z, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(mg, ds, NULL, "\xc3\x28", z, N_OUT));
  EXPECT(memcmp(z, guard, sizeof z) == 0);

  printf("NULL modality and options = scm_model_embed\n");
  OK(scm_model_embed(mg, ds, z, N_OUT));
  OK(scm_model_embed_with(mg, ds, NULL, NULL, z2, N_OUT));
  EXPECT(memcmp(z, z2, sizeof z) == 0);
  OK(scm_model_embed_with(mg, ds, NULL, "{}", z2, N_OUT));
  EXPECT(memcmp(z, z2, sizeof z) == 0);
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": false, \"seed\": 9}", z2, N_OUT));
  EXPECT(memcmp(z, z2, sizeof z) == 0);
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": null}", z2, N_OUT));
  EXPECT(memcmp(z, z2, sizeof z) == 0);
  EXPECT(all_finite(z, N_OUT));

  printf("per-modality: NaN rows exactly for the cells without ADT\n");
  OK(scm_model_embed_with(mg, ds, "adt", NULL, z2, N_OUT));
  for (int c = 0; c < N_CELLS; c++) {
    if (has_adt(c)) {
      EXPECT(all_finite(z2 + c * LATENT, LATENT));
    } else {
      EXPECT(row_all_nan(z2, c));
    }
  }
  OK(scm_model_embed_with(mg, ds, "rna", NULL, z2, N_OUT));
  EXPECT(all_finite(z2, N_OUT));
  EXPECT(memcmp(z, z2, sizeof z) != 0); /* RNA alone is not the joint posterior */

  printf("samples: the same seed gives the same values\n");
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": true, \"seed\": 3}", s1, N_OUT));
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": true, \"seed\": 3}", s2, N_OUT));
  EXPECT(memcmp(s1, s2, sizeof s1) == 0);
  EXPECT(all_finite(s1, N_OUT));
  EXPECT(memcmp(s1, z, sizeof s1) != 0);
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": true, \"seed\": 4}", s2, N_OUT));
  EXPECT(memcmp(s1, s2, sizeof s1) != 0);
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": true, \"seed\": 18446744073709551615}", s2, N_OUT));
  EXPECT(all_finite(s2, N_OUT));
  /* without a seed: the training seed, also reproducible */
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": true}", s1, N_OUT));
  OK(scm_model_embed_with(mg, ds, NULL, "{\"sample\": true}", s2, N_OUT));
  EXPECT(memcmp(s1, s2, sizeof s1) == 0);
  /* a sampled per-modality latent keeps the NaN rows */
  OK(scm_model_embed_with(mg, ds, "adt", "{\"sample\": true, \"seed\": 5}", s1, N_OUT));
  OK(scm_model_embed_with(mg, ds, "adt", "{\"sample\": true, \"seed\": 5}", s2, N_OUT));
  EXPECT(memcmp(s1, s2, sizeof s1) == 0);
  for (int c = 0; c < N_CELLS; c++) EXPECT(row_all_nan(s1, c) == !has_adt(c));

  printf("query mapping: a new batch; the reference embedding is bit-identical\n");
  {
    scm_dataset *q = dataset("b2");
    scm_model *mapped = NULL;
    FAILS(SCM_STATUS_NOT_FOUND, scm_model_embed_with(mg, q, NULL, NULL, z2, N_OUT)); /* unknown level */
    OK(scm_model_map_query(mg, q, &mapped));
    OK(scm_model_set_threads(mapped, 1));
    OK(scm_model_train(mapped, q, NULL, NULL, NULL));
    OK(scm_model_embed(mapped, ds, z2, N_OUT));
    EXPECT(memcmp(z, z2, sizeof z) == 0);
    OK(scm_model_embed_with(mapped, q, "adt", NULL, z2, N_OUT));
    for (int c = 0; c < N_CELLS; c++) EXPECT(row_all_nan(z2, c) == !has_adt(c));
    OK(scm_model_embed_with(mapped, q, "rna", "{\"sample\": true, \"seed\": 1}", z2, N_OUT));
    EXPECT(all_finite(z2, N_OUT));
    scm_model_free(mapped);
    scm_dataset_free(q);
  }
  scm_model_free(mg);

  printf("scVAEIT\n");
  scm_model *sv = trained(
      "{\"latent_dim\": 6, \"hidden\": [16],"
      " \"train\": {\"epochs\": 2, \"batch_size\": 16}}",
      ds, LATENT);
  OK(scm_model_embed(sv, ds, z, N_OUT));
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_embed_with(sv, ds, "atac", NULL, z2, N_OUT));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed_with(sv, ds, "adt", NULL, z2, N_OUT - LATENT));
  /* each modality alone (the other hidden): finite for every cell */
  OK(scm_model_embed_with(sv, ds, "adt", NULL, z2, N_OUT));
  EXPECT(all_finite(z2, N_OUT));
  OK(scm_model_embed_with(sv, ds, "rna", NULL, s1, N_OUT));
  EXPECT(all_finite(s1, N_OUT));
  EXPECT(memcmp(s1, z2, sizeof s1) != 0);
  /* scVAEIT's default is the mean; a seeded sample is reproducible */
  OK(scm_model_embed_with(sv, ds, NULL, NULL, z2, N_OUT));
  EXPECT(memcmp(z, z2, sizeof z) == 0);
  OK(scm_model_embed_with(sv, ds, NULL, "{\"sample\": true, \"seed\": 2}", s1, N_OUT));
  OK(scm_model_embed_with(sv, ds, NULL, "{\"sample\": true, \"seed\": 2}", s2, N_OUT));
  EXPECT(memcmp(s1, s2, sizeof s1) == 0 && memcmp(s1, z, sizeof s1) != 0);
  scm_model_free(sv);
  scm_dataset_free(ds);

  return finish("embed");
}
