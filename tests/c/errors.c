/*
 * Every error path of the C ABI: each bad call must return the documented
 * status with a message, change nothing, and leave the handles usable.
 * Also: NULL-tolerant frees, the string/buffer size protocol, re-entrant
 * calls from a callback, and concurrent calls on one handle (serialized).
 *
 * Usage: errors TMP_DIR
 */
#include <pthread.h>

#include "toy.h"

/* A checkpoint call that must fail with SCM_STATUS_CHECKPOINT and a
 * message saying the file is corrupt. */
#define FAILS_CORRUPT(call)                                        \
  do {                                                             \
    FAILS(SCM_STATUS_CHECKPOINT, call);                            \
    EXPECT(strstr(scm_last_error_message(), "corrupt") != NULL);   \
  } while (0)

/* Position of `needle` in `buf`, or (size_t)-1. */
static size_t find_bytes(const uint8_t *buf, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(buf + i, needle, k) == 0) return i;
  return (size_t)-1;
}

#define N_CELLS 40

static float rna[N_CELLS * N_RNA], adt[N_CELLS * N_ADT];

static scm_dataset *dataset(int with_adt) {
  scm_dataset *ds = NULL;
  OK(scm_dataset_new(N_CELLS, &ds));
  OK(scm_dataset_add_dense(ds, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  if (with_adt)
    OK(scm_dataset_add_dense(ds, "adt", "nb", adt_names, N_ADT, adt, N_CELLS * N_ADT));
  return ds;
}

typedef struct {
  scm_model *model;
  scm_status inner;
} reentry_t;

/* Calls back into the model being trained: must fail, not deadlock. */
static int32_t reenter(void *user, size_t epoch, size_t n_epochs, double train, double valid) {
  (void)epoch;
  (void)n_epochs;
  (void)train;
  (void)valid;
  reentry_t *r = user;
  size_t e = 0;
  r->inner = scm_model_epochs_trained(r->model, &e);
  return 0;
}

typedef struct {
  const scm_model *model;
  const scm_dataset *ds;
  float out[N_CELLS * 8];
  scm_status status;
} embed_job_t;

static void *embed_job(void *arg) {
  embed_job_t *j = arg;
  for (int k = 0; k < 3 && j->status == SCM_STATUS_OK; k++)
    j->status = scm_model_embed(j->model, j->ds, j->out, N_CELLS * 8);
  return NULL;
}

int main(int argc, char **argv) {
  const char *tmp = argc > 1 ? argv[1] : "/tmp";
  toy_counts(12345u, N_CELLS, rna, adt);

  printf("status strings\n");
  for (int s = -1; s <= 11; s++) EXPECT(scm_status_str(s) && scm_status_str(s)[0]);
  EXPECT(strcmp(scm_status_str(12345), "unknown status") == 0);
  EXPECT(strcmp(scm_status_str(SCM_STATUS_OK), "ok") == 0);

  printf("frees accept NULL\n");
  scm_config_free(NULL);
  scm_dataset_free(NULL);
  scm_model_free(NULL);

  printf("NULL arguments\n");
  scm_config *cfg = NULL;
  scm_dataset *ds = NULL;
  scm_model *model = NULL;
  size_t n = 0;
  FAILS(SCM_STATUS_NULL_ARG, scm_config_new(NULL));
  FAILS(SCM_STATUS_NULL_ARG, scm_config_from_json(NULL, &cfg));
  FAILS(SCM_STATUS_NULL_ARG, scm_dataset_new(3, NULL));
  FAILS(SCM_STATUS_NULL_ARG, scm_dataset_n_cells(NULL, &n));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_new(NULL, NULL, &model));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_latent_dim(NULL, &n));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_load(NULL, &model));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_from_buffer(NULL, 10, &model));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_map_query(NULL, NULL, &model));
  EXPECT(model == NULL && cfg == NULL && ds == NULL); /* out-pointers untouched */

  printf("last error is cleared by a successful call\n");
  OK(scm_config_new(&cfg));
  EXPECT(scm_last_error_message()[0] == '\0');

  printf("config errors\n");
  size_t len0 = 0, len1 = 0;
  OK(scm_config_to_json(cfg, NULL, 0, &len0));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_from_json("{not json", &cfg));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_json(cfg, "{\"latent_dimension\": 3}"));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_json(cfg, "[1, 2]"));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_int(cfg, "train.epochs", -1));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_int(cfg, "latent_dim", 0));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_string(cfg, "train.epochs", "many"));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_bool(cfg, "train.no_such_option", 1));
  FAILS(SCM_STATUS_INVALID_ARG, scm_config_set_double(cfg, "beta_kl", NAN));
  FAILS(SCM_STATUS_INVALID_ARG, scm_config_set_int(cfg, "train..epochs", 3));
  FAILS(SCM_STATUS_INVALID_ARG, scm_config_set_int(cfg, "\xff\xfe", 3));
  FAILS(SCM_STATUS_NULL_ARG, scm_config_set_value_json(cfg, "hidden", NULL));
  FAILS(SCM_STATUS_NULL_ARG, scm_config_set_value_json(cfg, NULL, "[8]"));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_value_json(cfg, "hidden", "[8,"));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_value_json(cfg, "hidden", "\"wide\""));
  FAILS(SCM_STATUS_INVALID_CONFIG, scm_config_set_value_json(cfg, "hidden", "[]"));
  FAILS(SCM_STATUS_INVALID_ARG, scm_config_set_value_json(cfg, ".hidden", "[8]"));
  OK(scm_config_to_json(cfg, NULL, 0, &len1));
  EXPECT(len0 == len1); /* failed calls changed nothing */
  char small[8];
  FAILS(SCM_STATUS_BUFFER_TOO_SMALL, scm_config_to_json(cfg, small, sizeof small, &len1));
  EXPECT(len1 == len0);
  OK(scm_config_set_json(cfg, "{\"latent_dim\": 8, \"hidden\": [32], \"train\": {\"epochs\": 2, \"batch_size\": 16}}"));
  OK(scm_config_set_value_json(cfg, "hidden", "[16]"));
  OK(scm_config_set_value_json(cfg, "train", "{\"epochs\": 2}")); /* objects merge */
  OK(scm_config_set_double(cfg, "train.learning_rate", 0.002));
  {
    char buf[4096];
    size_t len = 0;
    OK(scm_config_to_json(cfg, buf, sizeof buf, &len));
    EXPECT(strstr(buf, "\"hidden\": [\n    16\n  ]") != NULL);
    EXPECT(strstr(buf, "\"batch_size\": 16") != NULL); /* kept by the merge */
  }

  printf("dataset errors\n");
  FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_new(0, &ds));
  OK(scm_dataset_new(N_CELLS, &ds));
  FAILS(SCM_STATUS_INVALID_DATA, scm_model_new(cfg, ds, &model)); /* no modality */
  FAILS(SCM_STATUS_NULL_ARG, scm_dataset_add_dense(NULL, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  FAILS(SCM_STATUS_NULL_ARG, scm_dataset_add_dense(ds, NULL, "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  FAILS(SCM_STATUS_NULL_ARG, scm_dataset_add_dense(ds, "rna", "nb", rna_names, N_RNA, NULL, N_CELLS * N_RNA));
  FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_add_dense(ds, "rna", "negbin", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_add_dense(ds, "\xc3\x28", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA));
  FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_add_dense(ds, "rna", "nb", rna_names, N_RNA, rna, N_CELLS * N_RNA - 1));
  FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_add_dense(ds, "rna", "nb", rna_names, 0, rna, 0));
  {
    const char *with_null[2] = {"a", NULL};
    float v[N_CELLS * 2] = {0};
    FAILS(SCM_STATUS_NULL_ARG, scm_dataset_add_dense(ds, "x", "nb", with_null, 2, v, N_CELLS * 2));
    const char *dup[2] = {"a", "a"};
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_dense(ds, "x", "nb", dup, 2, v, N_CELLS * 2));
    const char *ab[2] = {"a", "b"};
    v[5] = NAN;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_dense(ds, "x", "nb", ab, 2, v, N_CELLS * 2));
    v[5] = INFINITY;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_dense(ds, "x", "gaussian", ab, 2, v, N_CELLS * 2));
    v[5] = -1.0f;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_dense(ds, "x", "nb", ab, 2, v, N_CELLS * 2));
    OK(scm_dataset_add_dense(ds, "x", "gaussian", ab, 2, v, N_CELLS * 2)); /* negative ok */
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_dense(ds, "x", "gaussian", ab, 2, v, N_CELLS * 2));
  }
  {
    /* sparse: one entry per cell on feature (c % 2) */
    int64_t ptr[N_CELLS + 1], idx[N_CELLS];
    float val[N_CELLS];
    const char *ab[2] = {"a", "b"};
    for (int c = 0; c <= N_CELLS; c++) ptr[c] = c;
    for (int c = 0; c < N_CELLS; c++) {
      idx[c] = c % 2;
      val[c] = 1.0f;
    }
    FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_add_csr(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS, 2));
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_csr(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS, 1));
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_csr(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS - 1, 0));
    idx[3] = 7;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_csc(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS, 0));
    idx[3] = 1;
    ptr[5] = 9;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_csc(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS, 0));
    ptr[5] = 5;
    val[0] = NAN;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_add_csc(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS, 0));
    val[0] = 1.0f;
    FAILS(SCM_STATUS_NULL_ARG, scm_dataset_add_csc(ds, "s", "nb", ab, 2, NULL, idx, val, N_CELLS, 0));
    OK(scm_dataset_add_csc(ds, "s", "nb", ab, 2, ptr, idx, val, N_CELLS, 0));
    int64_t empty_ptr[N_CELLS + 1] = {0};
    OK(scm_dataset_add_csr(ds, "empty", "nb", ab, 2, empty_ptr, NULL, NULL, 0, 0));
  }
  {
    uint8_t flags[N_CELLS];
    memset(flags, 1, sizeof flags);
    FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_set_measured(ds, "s", flags, N_CELLS - 1));
    FAILS(SCM_STATUS_NOT_FOUND, scm_dataset_set_measured(ds, "protein", flags, N_CELLS));
    int32_t codes[N_CELLS] = {0};
    const char *levels[2] = {"a", "b"}, *dup[2] = {"a", "a"}, *empty[1] = {""};
    codes[7] = 2;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 2));
    codes[7] = -1;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 2));
    codes[7] = 1;
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, dup, 2));
    {
      int32_t zeros[N_CELLS] = {0};
      FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_covariate(ds, "batch", zeros, N_CELLS, empty, 1));
    }
    FAILS(SCM_STATUS_INVALID_ARG, scm_dataset_set_covariate(ds, "batch", codes, N_CELLS - 2, levels, 2));
    OK(scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 2));
    FAILS(SCM_STATUS_INVALID_DATA, scm_dataset_set_covariate(ds, "batch", codes, N_CELLS, levels, 2));
  }
  OK(scm_dataset_n_modalities(ds, &n));
  EXPECT(n == 3); /* x, s, empty: the failed adds left no trace */
  scm_dataset_free(ds);

  printf("model errors\n");
  scm_dataset *full = dataset(1), *rna_only = dataset(0);
  FAILS(SCM_STATUS_NULL_ARG, scm_model_new(cfg, full, NULL));
  OK(scm_model_new(cfg, full, &model));
  OK(scm_model_set_threads(model, 1));
  reentry_t re = {model, SCM_STATUS_OK};
  int32_t stop = -1;
  OK(scm_model_train(model, full, reenter, &re, &stop));
  EXPECT(re.inner == SCM_STATUS_INVALID_STATE && stop == SCM_STOP_COMPLETED);
  float z[N_CELLS * 8], imp[N_CELLS * N_ADT], var[N_CELLS * N_ADT];
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_embed(model, full, z, N_CELLS * 8 - 1));
  FAILS(SCM_STATUS_NULL_ARG, scm_model_embed(model, full, NULL, N_CELLS * 8));
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_impute(model, rna_only, "protein", NULL, imp, N_CELLS * N_ADT, NULL, 0));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute(model, rna_only, "adt", "{\"n_draws\": }", imp, N_CELLS * N_ADT, NULL, 0));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute(model, rna_only, "adt", "{\"draws\": 3}", imp, N_CELLS * N_ADT, NULL, 0));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute(model, rna_only, "adt", "{\"scale\": \"log\"}", imp, N_CELLS * N_ADT, NULL, 0));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute(model, rna_only, "adt", NULL, imp, N_CELLS * N_ADT, var, 3));
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_impute(model, rna_only, "adt", "{\"features\": [\"p0\", \"CD3\"]}", imp, N_CELLS * 2, NULL, 0));
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_impute(model, rna_only, "adt", "{\"covariates\": {\"batch\": \"b\"}}", imp, N_CELLS * N_ADT, NULL, 0));
  {
    /* Quantiles over draws: argument checks, then ordered bounds (of the
       decoder mean, then of posterior-predictive draws). */
    double qs[2] = {0.1, 0.9}, badq[1] = {1.5};
    static float qout[2 * N_CELLS * N_ADT];
    const size_t qlen = 2 * N_CELLS * N_ADT;
    FAILS(SCM_STATUS_NULL_ARG, scm_model_impute_quantiles(model, rna_only, "adt", NULL, NULL, 2, qout, qlen));
    FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute_quantiles(model, rna_only, "adt", NULL, qs, 0, qout, 0));
    FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute_quantiles(model, rna_only, "adt", NULL, badq, 1, qout, N_CELLS * N_ADT));
    FAILS(SCM_STATUS_INVALID_ARG, scm_model_impute_quantiles(model, rna_only, "adt", NULL, qs, 2, qout, qlen - 1));
    FAILS(SCM_STATUS_INVALID_CONFIG, scm_model_impute_quantiles(model, rna_only, "adt", "{\"n_draws\": 0}", qs, 2, qout, qlen));
    OK(scm_model_impute_quantiles(model, rna_only, "adt", "{\"n_draws\": 20}", qs, 2, qout, qlen));
    for (size_t i = 0; i < qlen / 2; i++) EXPECT(qout[i] <= qout[qlen / 2 + i]);
    OK(scm_model_impute_quantiles(model, rna_only, "adt", "{\"n_draws\": 20, \"predictive\": true}", qs, 2, qout, qlen));
    for (size_t i = 0; i < qlen / 2; i++) EXPECT(qout[i] <= qout[qlen / 2 + i]);
  }
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_n_features(model, "\xff", &n));
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_n_features(model, "atac", &n));
  {
    /* Query mapping: NULL query fails; an RNA-only query maps (no new levels). */
    scm_model *mapped = NULL;
    FAILS(SCM_STATUS_NULL_ARG, scm_model_map_query(model, NULL, &mapped));
    EXPECT(mapped == NULL);
    OK(scm_model_map_query(model, rna_only, &mapped));
    EXPECT(mapped != NULL);
    scm_model_free(mapped);
  }
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_feature_name(model, "adt", 99, NULL, 0, &n));
  FAILS(SCM_STATUS_INVALID_ARG, scm_model_modality_name(model, 2, NULL, 0, &n));
  {
    /* Mismatched features: the model's RNA features under other names. */
    const char *other[N_RNA] = {"x0", "x1", "x2", "x3", "x4", "x5",
                                "x6", "x7", "x8", "x9", "x10", "x11"};
    scm_dataset *bad = NULL;
    OK(scm_dataset_new(N_CELLS, &bad));
    OK(scm_dataset_add_dense(bad, "rna", "nb", other, N_RNA, rna, N_CELLS * N_RNA));
    FAILS(SCM_STATUS_INVALID_DATA, scm_model_embed(model, bad, z, N_CELLS * 8));
    scm_dataset_free(bad);
  }
  FAILS(SCM_STATUS_NOT_FOUND, scm_model_set_device(model, "tpu"));
#ifndef SCM_TEST_HAVE_CUDA
  FAILS(SCM_STATUS_DEVICE, scm_model_set_device(model, "cuda:0"));
#endif
  OK(scm_model_set_device(model, "cpu"));
  /* The model is still fine after all of that. */
  OK(scm_model_embed(model, full, z, N_CELLS * 8));
  OK(scm_model_impute(model, rna_only, "adt", "{\"n_draws\": 3}", imp, N_CELLS * N_ADT, var, N_CELLS * N_ADT));
  for (int i = 0; i < N_CELLS * 8; i++) EXPECT(isfinite(z[i]));

  printf("checkpoint errors\n");
  char path[4096], bad_path[4096];
  snprintf(path, sizeof path, "%s/errors-model.safetensors", tmp);
  snprintf(bad_path, sizeof bad_path, "%s/no/such/dir/model.safetensors", tmp);
  FAILS(SCM_STATUS_IO, scm_model_save(model, bad_path));
  FAILS(SCM_STATUS_IO, scm_model_load(bad_path, &model));
  size_t n_bytes = 0;
  OK(scm_model_to_buffer(model, NULL, 0, &n_bytes));
  uint8_t *bytes = malloc(n_bytes);
  FAILS(SCM_STATUS_BUFFER_TOO_SMALL, scm_model_to_buffer(model, bytes, n_bytes - 1, &n_bytes));
  OK(scm_model_to_buffer(model, bytes, n_bytes, &n_bytes));
  scm_model *again = NULL;
  FAILS_CORRUPT(scm_model_from_buffer(bytes, 0, &again));
  FAILS_CORRUPT(scm_model_from_buffer(bytes, 7, &again));
  FAILS_CORRUPT(scm_model_from_buffer(bytes, n_bytes / 2, &again));
  FAILS_CORRUPT(scm_model_from_buffer(bytes, n_bytes - 1, &again));
  bytes[n_bytes - 5] ^= 0x40; /* one flipped bit in the weights */
  FAILS_CORRUPT(scm_model_from_buffer(bytes, n_bytes, &again));
  bytes[n_bytes - 5] ^= 0x40;
  /* One byte changed in the header's metadata, keeping it valid JSON: a
   * feature renamed ("g11" -> "g1!") and a config value altered. Each would
   * give another model; the integrity check rejects both as corrupt. */
  {
    size_t at = find_bytes(bytes, n_bytes, "g11");
    EXPECT(at != (size_t)-1);
    if (at != (size_t)-1) {
      bytes[at + 2] = '!';
      FAILS_CORRUPT(scm_model_from_buffer(bytes, n_bytes, &again));
      bytes[at + 2] = '1';
    }
    at = find_bytes(bytes, n_bytes, "beta_unobs");
    EXPECT(at != (size_t)-1);
    if (at != (size_t)-1) {
      while (at < n_bytes && (bytes[at] < '1' || bytes[at] > '8')) at++;
      bytes[at]++;
      FAILS_CORRUPT(scm_model_from_buffer(bytes, n_bytes, &again));
      bytes[at]--;
    }
  }
  OK(scm_model_from_buffer(bytes, n_bytes, &again)); /* restored: loads */
  scm_model_free(again);
  again = NULL;
  {
    uint8_t junk[256];
    for (int i = 0; i < 256; i++) junk[i] = (uint8_t)(i * 37);
    FAILS(SCM_STATUS_CHECKPOINT, scm_model_from_buffer(junk, sizeof junk, &again));
  }
  EXPECT(again == NULL);
  /* A truncated file on disk; the previous good file survives a failed save. */
  OK(scm_model_save(model, path));
  FILE *f = fopen(path, "wb");
  fwrite(bytes, 1, n_bytes / 3, f);
  fclose(f);
  FAILS_CORRUPT(scm_model_load(path, &again));
  OK(scm_model_save(model, path));
  OK(scm_model_load(path, &again));
  scm_model_free(again);
  remove(path);
  free(bytes);

  printf("concurrent calls on one handle are serialized\n");
  {
    embed_job_t a = {model, full, {0}, SCM_STATUS_OK}, b = {model, full, {0}, SCM_STATUS_OK};
    pthread_t ta, tb;
    pthread_create(&ta, NULL, embed_job, &a);
    pthread_create(&tb, NULL, embed_job, &b);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    EXPECT(a.status == SCM_STATUS_OK && b.status == SCM_STATUS_OK);
    EXPECT(memcmp(a.out, z, sizeof z) == 0 && memcmp(b.out, z, sizeof z) == 0);
  }

  scm_model_free(model);
  scm_dataset_free(full);
  scm_dataset_free(rna_only);
  scm_config_free(cfg);
  return finish("errors");
}
