/*
 * Continuous covariates through the C ABI: scm_dataset_set_continuous_covariate
 * and its error paths, both models conditioned on them (scVAEIT: z-scored,
 * NaN = the training mean; Multigrate: two covariates, "logsigm"), the
 * errors for data without the model's continuous covariates or with others,
 * a checkpoint round trip, and query mapping (the reference embedding stays
 * bit-identical).
 *
 * Usage: continuous
 */
#include "toy.h"

#define N_CELLS 48
#define LATENT 6
#define N_OUT (N_CELLS * LATENT)

static float rna[N_CELLS * N_RNA], adt[N_CELLS * N_ADT];
static float depth[N_CELLS], age[N_CELLS];

static void make_data(void) {
  toy_counts(4242u, N_CELLS, rna, adt);
  for (int c = 0; c < N_CELLS; c++) {
    float total = 0.0f;
    for (int j = 0; j < N_RNA; j++) total += rna[c * N_RNA + j];
    depth[c] = total;
    age[c] = (float)(20 + (c * 7) % 50);
  }
}

/* RNA + ADT, batch b0/b1 (or all `level`), and the continuous covariates
 * "depth" (+ `shift`) and, with `with_age`, "age". */
static scm_dataset *dataset(const char *level, int with_age, float shift) {
  scm_dataset *ds = NULL;
  OK(scm_dataset_new(N_CELLS, &ds));
  OK(scm_dataset_add_dense(ds, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  OK(scm_dataset_add_dense(ds, "adt", "nb", adt_names, N_ADT, adt, N_CELLS * N_ADT));
  int32_t codes[N_CELLS];
  for (int c = 0; c < N_CELLS; c++) codes[c] = level ? 0 : c % 2;
  const char *two[2] = {"b0", "b1"};
  const char *one[1] = {level};
  OK(scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, level ? one : two, level ? 1 : 2));
  float d[N_CELLS];
  for (int c = 0; c < N_CELLS; c++) d[c] = depth[c] + shift;
  OK(scm_dataset_set_continuous_covariate(ds, "depth", d, N_CELLS));
  if (with_age) OK(scm_dataset_set_continuous_covariate(ds, "age", age, N_CELLS));
  return ds;
}

static const char *MG =
    "{\"model\": \"multigrate\", \"latent_dim\": 6, \"hidden\": [16],"
    " \"modalities\": [{\"name\": \"rna\", \"likelihood\": \"nb\"},"
    "                 {\"name\": \"adt\", \"likelihood\": \"mse\", \"normalization\": \"clr\"}],"
    " \"multigrate\": {\"cont_cov_type\": \"logsigm\"},"
    " \"train\": {\"epochs\": 2, \"batch_size\": 16, \"validation_fraction\": 0.0}}";

int main(void) {
  make_data();
  static float z[N_OUT], z2[N_OUT];

  printf("scm_dataset_set_continuous_covariate: error paths\n");
  {
    scm_dataset *ds = NULL;
    OK(scm_dataset_new(N_CELLS, &ds));
    FAILS(SCM_STATUS_NULL_ARG, scm_dataset_set_continuous_covariate(NULL, "depth", depth, N_CELLS));
    FAILS(SCM_STATUS_NULL_ARG, scm_dataset_set_continuous_covariate(ds, NULL, depth, N_CELLS));
    FAILS(SCM_STATUS_NULL_ARG, scm_dataset_set_continuous_covariate(ds, "depth", NULL, N_CELLS));
    FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_set_continuous_covariate(ds, "depth", depth, N_CELLS - 1));
    FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_set_continuous_covariate(ds, "\xff", depth, N_CELLS));
    float bad[N_CELLS];
    memcpy(bad, depth, sizeof bad);
    bad[3] = INFINITY;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_continuous_covariate(ds, "depth", bad, N_CELLS));
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_continuous_covariate(ds, "", depth, N_CELLS));
    OK(scm_dataset_set_continuous_covariate(ds, "depth", depth, N_CELLS));
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_continuous_covariate(ds, "depth", age, N_CELLS));
    int32_t codes[N_CELLS] = {0};
    const char *levels[1] = {"x"};
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_covariate(ds, "depth", codes, N_CELLS, levels, 1));
    OK(scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 1));
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_continuous_covariate(ds, "batch", age, N_CELLS));
    scm_dataset_free(ds);
  }

  printf("scVAEIT: z-scored, NaN = the training mean\n");
  {
    scm_dataset *ds = dataset(NULL, 0, 0.0f);
    scm_model *sv = trained(
        "{\"latent_dim\": 6, \"hidden\": [16], \"train\": {\"epochs\": 2, \"batch_size\": 16}}", ds,
        LATENT);
    OK(scm_model_embed(sv, ds, z, N_OUT));
    EXPECT(all_finite(z, N_OUT));
    /* other values of the covariate: another embedding */
    scm_dataset *shifted = dataset(NULL, 0, 25.0f);
    OK(scm_model_embed(sv, shifted, z2, N_OUT));
    EXPECT(memcmp(z, z2, sizeof z) != 0);
    /* NaN is accepted (a missing value) */
    scm_dataset *nan = NULL;
    OK(scm_dataset_new(N_CELLS, &nan));
    OK(scm_dataset_add_dense(nan, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
    int32_t codes[N_CELLS];
    for (int c = 0; c < N_CELLS; c++) codes[c] = c % 2;
    const char *levels[2] = {"b0", "b1"};
    OK(scm_dataset_set_covariate(nan, "batch", codes, N_CELLS, levels, 2));
    float d[N_CELLS];
    memcpy(d, depth, sizeof d);
    d[0] = NAN;
    OK(scm_dataset_set_continuous_covariate(nan, "depth", d, N_CELLS));
    OK(scm_model_embed(sv, nan, z2, N_OUT));
    EXPECT(all_finite(z2, N_OUT));
    /* data without "depth", or with a covariate the model does not know */
    scm_dataset *plain = NULL;
    OK(scm_dataset_new(N_CELLS, &plain));
    OK(scm_dataset_add_dense(plain, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
    OK(scm_dataset_set_covariate(plain, "batch", codes, N_CELLS, levels, 2));
    FAILS(SCM_STATUS_NOT_FOUND, scm_model_embed(sv, plain, z2, N_OUT));
    EXPECT(strstr(scm_last_error_message(), "depth") != NULL);
    scm_dataset *extra = dataset(NULL, 1, 0.0f);
    FAILS(SCM_STATUS_INVALID_DATA, scm_model_embed(sv, extra, z2, N_OUT));
    EXPECT(strstr(scm_last_error_message(), "age") != NULL);
    /* checkpoint round trip */
    scm_model *again = round_trip(sv);
    OK(scm_model_set_threads(again, 1));
    OK(scm_model_embed(again, ds, z2, N_OUT));
    EXPECT(memcmp(z, z2, sizeof z) == 0);
    scm_model_free(again);
    scm_dataset_free(extra);
    scm_dataset_free(plain);
    scm_dataset_free(nan);
    scm_dataset_free(shifted);
    scm_model_free(sv);
    scm_dataset_free(ds);
  }

  printf("Multigrate: two continuous covariates, logsigm\n");
  {
    scm_config *cfg = NULL;
    FAILS(SCM_STATUS_INVALID_CONFIG,
          scm_config_from_json("{\"model\": \"multigrate\", \"multigrate\": {\"cont_cov_type\": \"mlp\"}}", &cfg));
    EXPECT(cfg == NULL);
    scm_dataset *ds = dataset(NULL, 1, 0.0f);
    scm_model *mg = trained(MG, ds, LATENT);
    OK(scm_model_embed(mg, ds, z, N_OUT));
    EXPECT(all_finite(z, N_OUT));
    /* logsigm takes log1p: negative values are an error */
    scm_dataset *neg = dataset(NULL, 1, -1000.0f);
    FAILS(SCM_STATUS_INVALID_DATA, scm_model_embed(mg, neg, z2, N_OUT));
    EXPECT(strstr(scm_last_error_message(), ">= 0") != NULL);
    scm_model *none = NULL;
    OK(scm_config_from_json(MG, &cfg));
    FAILS(SCM_STATUS_INVALID_DATA, scm_model_new(cfg, neg, &none));
    EXPECT(none == NULL);
    scm_config_free(cfg);
    /* a dataset with only one of the two */
    scm_dataset *one = dataset(NULL, 0, 0.0f);
    FAILS(SCM_STATUS_NOT_FOUND, scm_model_embed(mg, one, z2, N_OUT));

    printf("query mapping: a new batch with the same continuous covariates\n");
    scm_dataset *q = dataset("b2", 1, 3.0f);
    scm_dataset *q_short = dataset("b2", 0, 3.0f);
    scm_model *mapped = NULL;
    FAILS(SCM_STATUS_NOT_FOUND, scm_model_map_query(mg, q_short, &mapped));
    EXPECT(mapped == NULL);
    OK(scm_model_map_query(mg, q, &mapped));
    OK(scm_model_set_threads(mapped, 1));
    /* the query trains for its own number of epochs */
    size_t before = 0, after = 0;
    FAILS(SCM_STATUS_INVALID_CONFIG, scm_model_set_epochs(mapped, 0));
    FAILS(SCM_STATUS_NULL_ARG, scm_model_set_epochs(NULL, 1));
    OK(scm_model_set_epochs(mapped, 1));
    OK(scm_model_epochs_trained(mapped, &before));
    OK(scm_model_train(mapped, q, NULL, NULL, NULL));
    OK(scm_model_epochs_trained(mapped, &after));
    EXPECT(after == before + 1);
    OK(scm_model_embed(mapped, ds, z2, N_OUT));
    EXPECT(memcmp(z, z2, sizeof z) == 0);
    OK(scm_model_embed(mapped, q, z2, N_OUT));
    EXPECT(all_finite(z2, N_OUT));
    scm_model_free(mapped);
    scm_dataset_free(q_short);
    scm_dataset_free(q);
    scm_dataset_free(one);
    scm_dataset_free(neg);
    scm_model_free(mg);
    scm_dataset_free(ds);
  }

  return finish("continuous");
}
