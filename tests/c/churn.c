/*
 * Leak check by churn: 300 create / train / embed / save-to-memory / load /
 * free cycles must not grow the resident memory (after a warm-up that fills
 * allocator pools and burn's global autodiff registry). Complements valgrind,
 * which reports that registry as "possibly lost" at exit.
 *
 * Usage: churn
 */
#include "check.h"

static long rss_kb(void) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) v = atol(line + 6);
  fclose(f);
  return v;
}

enum { N = 64, G = 20, WARMUP = 50, CYCLES = 300 };

int main(void) {
  static float x[N * G];
  static char buf[G][8];
  const char *names[G];
  for (int j = 0; j < G; j++) {
    snprintf(buf[j], sizeof buf[j], "g%d", j);
    names[j] = buf[j];
  }
  for (int i = 0; i < N * G; i++) x[i] = (float)((i * 7919) % 5);
  long base = 0;
  for (int it = 0; it < CYCLES; it++) {
    scm_dataset *d;
    scm_config *c;
    scm_model *m;
    float z[N * 4];
    OK(scm_dataset_new(N, &d));
    OK(scm_dataset_add_dense(d, "rna", "nb", names, G, x, N * G));
    OK(scm_config_from_json("{\"latent_dim\": 4, \"hidden\": [16],"
                            " \"train\": {\"epochs\": 2, \"batch_size\": 16}}", &c));
    OK(scm_model_new(c, d, &m));
    OK(scm_model_set_threads(m, 1));
    OK(scm_model_train(m, d, NULL, NULL, NULL));
    OK(scm_model_embed(m, d, z, N * 4));
    scm_model_free(round_trip(m));
    scm_model_free(m);
    scm_config_free(c);
    scm_dataset_free(d);
    if (it == WARMUP) base = rss_kb();
  }
  long end = rss_kb();
  (void)g_failures;
  printf("churn: RSS %ld kB after %d cycles, %ld kB after %d (growth %ld kB)\n", base, WARMUP,
         end, CYCLES, end - base);
  if (base < 0 || end - base > 4096) {
    fprintf(stderr, "churn: resident memory grew by %ld kB\n", end - base);
    return 1;
  }
  return 0;
}
