/*
 * The whole lifecycle through the C ABI on the bundled real data
 * (data/reap_pbmc2: REAP-seq PBMC, RNA + 43 surface proteins):
 * read the 10x MatrixMarket files, build a dataset (RNA as features x cells
 * CSC, proteins as a dense cells x features matrix, a batch covariate),
 * configure, train a few epochs with a progress callback, embed, impute the
 * proteins of RNA-only cells with variance, save/load through a file and a
 * memory buffer, and check the reloaded models give identical results;
 * then cancel a training run from the callback.
 *
 * Usage: lifecycle DATA_DIR TMP_DIR [N_CELLS]
 */
#include <math.h>
#include <zlib.h>

#include "check.h"

typedef struct {
  char **names;
  size_t n;
} names_t;

static names_t read_names(const char *dir, const char *file) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  FILE *f = fopen(path, "r");
  if (!f) { perror(path); exit(1); }
  names_t out = {NULL, 0};
  size_t cap = 0;
  char line[1024];
  while (fgets(line, sizeof line, f)) {
    line[strcspn(line, "\r\n")] = 0;
    if (out.n == cap) {
      cap = cap ? 2 * cap : 1024;
      out.names = realloc(out.names, cap * sizeof *out.names);
    }
    out.names[out.n] = malloc(strlen(line) + 1);
    strcpy(out.names[out.n++], line);
  }
  fclose(f);
  return out;
}

static void free_names(names_t *n) {
  for (size_t i = 0; i < n->n; i++) free(n->names[i]);
  free(n->names);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Triplets (feature, cell, value) of the first n_cells cells, 0-based. */
typedef struct {
  long *feat, *cell;
  float *val;
  size_t n, n_rows;
} triplets_t;

static triplets_t read_mtx(const char *dir, const char *file, long n_cells) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  gzFile f = gzopen(path, "rb");
  if (!f) { fprintf(stderr, "cannot open %s\n", path); exit(1); }
  char line[256];
  triplets_t t = {NULL, NULL, NULL, 0, 0};
  size_t cap = 0;
  long rows = 0, cols = 0, nnz = 0;
  int header = 1;
  while (gzgets(f, line, sizeof line)) {
    if (line[0] == '%') continue;
    if (header) {
      sscanf(line, "%ld %ld %ld", &rows, &cols, &nnz);
      t.n_rows = (size_t)rows;
      header = 0;
      continue;
    }
    char *end;
    long r = strtol(line, &end, 10);
    long c = strtol(end, &end, 10);
    double v = strtod(end, &end);
    if (c > n_cells) continue;
    if (t.n == cap) {
      cap = cap ? 2 * cap : 65536;
      t.feat = realloc(t.feat, cap * sizeof *t.feat);
      t.cell = realloc(t.cell, cap * sizeof *t.cell);
      t.val = realloc(t.val, cap * sizeof *t.val);
    }
    t.feat[t.n] = r - 1;
    t.cell[t.n] = c - 1;
    t.val[t.n] = (float)v;
    t.n++;
  }
  gzclose(f);
  return t;
}

static void free_triplets(triplets_t *t) {
  free(t->feat);
  free(t->cell);
  free(t->val);
}

typedef struct {
  int calls;
  int cancel_at; /* cancel when epoch == cancel_at (0 = never) */
  double last_loss;
} progress_t;

static int32_t on_epoch(void *user, size_t epoch, size_t n_epochs, double train,
                        double valid) {
  progress_t *p = user;
  p->calls++;
  p->last_loss = train;
  printf("  epoch %zu/%zu  loss %.4f  validation %.4f\n", epoch, n_epochs, train, valid);
  return p->cancel_at != 0 && (int)epoch >= p->cancel_at;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s DATA_DIR TMP_DIR [N_CELLS]\n", argv[0]);
    return 2;
  }
  const char *dir = argv[1], *tmp = argv[2];
  long n_cells = argc > 3 ? atol(argv[3]) : 400;

  EXPECT(scm_abi_version() == SCM_ABI_VERSION);
  printf("scmosaic %s, ABI %u\n", scm_version(), scm_abi_version());

  /* --- Read the real data ------------------------------------------- */
  names_t genes = read_names(dir, "rna_features.tsv");
  names_t hvg = read_names(dir, "rna_hvg.tsv");
  names_t proteins = read_names(dir, "adt_features.tsv");
  qsort(hvg.names, hvg.n, sizeof *hvg.names, cmp_str);
  /* Gene index -> position among the HVGs (sorted by name), or -1. */
  long *gene_col = malloc(genes.n * sizeof *gene_col);
  for (size_t g = 0; g < genes.n; g++) {
    char **hit = bsearch(&genes.names[g], hvg.names, hvg.n, sizeof *hvg.names, cmp_str);
    gene_col[g] = hit ? (long)(hit - hvg.names) : -1;
  }
  triplets_t rna = read_mtx(dir, "rna.mtx.gz", n_cells);
  triplets_t adt = read_mtx(dir, "adt.mtx.gz", n_cells);
  EXPECT(rna.n_rows == genes.n && adt.n_rows == proteins.n);

  /* RNA (HVGs) as a features x cells CSC matrix: one column per cell. */
  int64_t *col_ptr = calloc((size_t)n_cells + 1, sizeof *col_ptr);
  for (size_t k = 0; k < rna.n; k++)
    if (gene_col[rna.feat[k]] >= 0) col_ptr[rna.cell[k] + 1]++;
  for (long c = 0; c < n_cells; c++) col_ptr[c + 1] += col_ptr[c];
  size_t nnz = (size_t)col_ptr[n_cells];
  int64_t *row_idx = malloc(nnz * sizeof *row_idx);
  float *rna_val = malloc(nnz * sizeof *rna_val);
  int64_t *fill = calloc((size_t)n_cells, sizeof *fill);
  for (size_t k = 0; k < rna.n; k++) {
    long g = gene_col[rna.feat[k]];
    if (g < 0) continue;
    long c = rna.cell[k];
    int64_t at = col_ptr[c] + fill[c]++;
    /* insertion keeps each column's feature indices increasing */
    while (at > col_ptr[c] && row_idx[at - 1] > g) {
      row_idx[at] = row_idx[at - 1];
      rna_val[at] = rna_val[at - 1];
      at--;
    }
    row_idx[at] = g;
    rna_val[at] = rna.val[k];
  }
  /* Proteins as a dense row-major cells x features matrix. */
  float *adt_dense = calloc((size_t)n_cells * proteins.n, sizeof *adt_dense);
  for (size_t k = 0; k < adt.n; k++)
    adt_dense[adt.cell[k] * proteins.n + adt.feat[k]] = adt.val[k];
  printf("read %ld cells: %zu HVG genes (%zu non-zeros), %zu proteins\n", n_cells,
         hvg.n, nnz, proteins.n);

  /* Two pseudo-batches (first and second half of the cells). */
  int32_t *batch = malloc((size_t)n_cells * sizeof *batch);
  for (long c = 0; c < n_cells; c++) batch[c] = c < n_cells / 2 ? 0 : 1;
  const char *levels[] = {"first", "second"};

  scm_dataset *ds = NULL, *rna_only = NULL;
  OK(scm_dataset_new((size_t)n_cells, &ds));
  OK(scm_dataset_add_csc(ds, "rna", "nb", (const char *const *)hvg.names, hvg.n,
                         col_ptr, row_idx, rna_val, nnz, 0));
  OK(scm_dataset_add_dense(ds, "adt", "nb", (const char *const *)proteins.names,
                           proteins.n, adt_dense, (size_t)n_cells * proteins.n));
  OK(scm_dataset_set_covariate(ds, "batch", batch, (size_t)n_cells, levels, 2));
  OK(scm_dataset_new((size_t)n_cells, &rna_only));
  OK(scm_dataset_add_csc(rna_only, "rna", "nb", (const char *const *)hvg.names, hvg.n,
                         col_ptr, row_idx, rna_val, nnz, 0));
  OK(scm_dataset_set_covariate(rna_only, "batch", batch, (size_t)n_cells, levels, 2));
  /* The library copied everything: free the inputs now. */
  free(row_idx);
  free(rna_val);
  free(col_ptr);
  free(fill);
  size_t n = 0, n_mod = 0;
  OK(scm_dataset_n_cells(ds, &n));
  OK(scm_dataset_n_modalities(ds, &n_mod));
  EXPECT(n == (size_t)n_cells && n_mod == 2);

  /* --- Configure and train ------------------------------------------ */
  scm_config *cfg = NULL;
  OK(scm_config_from_json(
      "{\"latent_dim\": 8, \"hidden\": [32],"
      " \"modalities\": [{\"name\": \"rna\", \"block_hidden\": 32, \"embed_dim\": 4},"
      "                  {\"name\": \"adt\", \"block_hidden\": 16, \"embed_dim\": 4}]}",
      &cfg));
  OK(scm_config_set_int(cfg, "train.epochs", 3));
  OK(scm_config_set_int(cfg, "train.batch_size", 128));
  OK(scm_config_set_int(cfg, "train.seed", 7));
  OK(scm_config_set_int(cfg, "inference.n_draws", 4));
  size_t len = 0;
  OK(scm_config_to_json(cfg, NULL, 0, &len));
  char *json = malloc(len);
  OK(scm_config_to_json(cfg, json, len, &len));
  EXPECT(strstr(json, "\"epochs\": 3") != NULL);
  free(json);

  scm_model *model = NULL;
  OK(scm_model_new(cfg, ds, &model));
  scm_config_free(cfg); /* the model keeps its own copy */
  OK(scm_model_set_threads(model, 1));
  size_t latent = 0, n_params = 0;
  OK(scm_model_latent_dim(model, &latent));
  OK(scm_model_n_params(model, &n_params));
  EXPECT(latent == 8 && n_params > 0);
  printf("model: latent %zu, %zu parameters\n", latent, n_params);

  progress_t prog = {0, 0, 0.0};
  int32_t stop = -1;
  OK(scm_model_train(model, ds, on_epoch, &prog, &stop));
  EXPECT(prog.calls == 3 && stop == SCM_STOP_COMPLETED);
  EXPECT(isfinite(prog.last_loss));

  /* --- Names ---------------------------------------------------------- */
  OK(scm_model_n_modalities(model, &n_mod));
  EXPECT(n_mod == 2);
  char name[64];
  OK(scm_model_modality_name(model, 1, name, sizeof name, &len));
  EXPECT(strcmp(name, "adt") == 0 && len == 4);
  size_t n_prot = 0;
  OK(scm_model_n_features(model, "adt", &n_prot));
  EXPECT(n_prot == proteins.n);
  for (size_t j = 0; j < n_prot; j++) {
    OK(scm_model_feature_name(model, "adt", j, name, sizeof name, &len));
    EXPECT(strcmp(name, proteins.names[j]) == 0);
  }

  /* --- Embed and impute ---------------------------------------------- */
  size_t n_lat = (size_t)n_cells * latent;
  float *z = malloc(n_lat * sizeof *z);
  OK(scm_model_embed(model, ds, z, n_lat));
  double spread = 0.0;
  for (size_t i = 0; i < n_lat; i++) {
    EXPECT(isfinite(z[i]));
    spread += fabs(z[i] - z[i % latent]);
  }
  EXPECT(spread > 0.0); /* cells do not all map to one point */

  size_t n_imp = (size_t)n_cells * n_prot;
  float *mean = malloc(n_imp * sizeof *mean), *var = malloc(n_imp * sizeof *var);
  OK(scm_model_impute(model, rna_only, "adt", "{\"n_draws\": 4, \"seed\": 1}", mean, n_imp,
                      var, n_imp));
  for (size_t i = 0; i < n_imp; i++) EXPECT(isfinite(mean[i]) && var[i] >= 0.0f);
  /* Two named proteins on the counts scale, no variance. */
  float *two = malloc(2 * (size_t)n_cells * sizeof *two);
  char opts[512];
  snprintf(opts, sizeof opts,
           "{\"features\": [\"%s\", \"%s\"], \"scale\": \"counts\", \"n_draws\": 0}",
           proteins.names[3], proteins.names[0]);
  OK(scm_model_impute(model, rna_only, "adt", opts, two, 2 * (size_t)n_cells, NULL, 0));
  for (long c = 0; c < n_cells; c++) EXPECT(two[2 * c] >= 0.0f && two[2 * c + 1] >= 0.0f);

  /* --- Save / load: file and memory --------------------------------- */
  char path[4096];
  snprintf(path, sizeof path, "%s/lifecycle.safetensors", tmp);
  OK(scm_model_save(model, path));
  scm_model *from_file = NULL;
  OK(scm_model_load(path, &from_file));
  scm_model *from_mem = round_trip(model);

  float *z2 = malloc(n_lat * sizeof *z2);
  OK(scm_model_embed(from_file, ds, z2, n_lat));
  EXPECT(memcmp(z, z2, n_lat * sizeof *z) == 0);
  OK(scm_model_embed(from_mem, ds, z2, n_lat));
  EXPECT(memcmp(z, z2, n_lat * sizeof *z) == 0);
  float *mean2 = malloc(n_imp * sizeof *mean2);
  OK(scm_model_impute(from_file, rna_only, "adt", "{\"n_draws\": 4, \"seed\": 1}", mean2,
                      n_imp, NULL, 0));
  EXPECT(memcmp(mean, mean2, n_imp * sizeof *mean) == 0);
  size_t epochs = 0;
  OK(scm_model_epochs_trained(from_mem, &epochs));
  EXPECT(epochs == 3);

  /* --- Continue training, cancelled from the callback --------------- */
  progress_t cancel = {0, 4, 0.0};
  OK(scm_model_train(from_file, ds, on_epoch, &cancel, &stop));
  EXPECT(stop == SCM_STOP_CANCELLED && cancel.calls == 1);
  OK(scm_model_epochs_trained(from_file, &epochs));
  EXPECT(epochs == 4);
  OK(scm_model_embed(from_file, ds, z2, n_lat)); /* still usable */

  free(two);
  free(z);
  free(z2);
  free(mean);
  free(mean2);
  free(var);
  free(adt_dense);
  free(batch);
  free(gene_col);
  free_triplets(&rna);
  free_triplets(&adt);
  free_names(&genes);
  free_names(&hvg);
  free_names(&proteins);
  scm_model_free(model);
  scm_model_free(from_file);
  scm_model_free(from_mem);
  scm_dataset_free(ds);
  scm_dataset_free(rna_only);
  remove(path);

  return finish("lifecycle");
}
