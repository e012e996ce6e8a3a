/* Tiny assertion helpers shared by the C tests (C99). */
#ifndef SCM_TEST_CHECK_H
#define SCM_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scmosaic.h"

static int g_failures = 0;

/* A call that must succeed. */
#define OK(call)                                                              \
  do {                                                                        \
    scm_status st_ = (call);                                                  \
    if (st_ != SCM_STATUS_OK) {                                               \
      fprintf(stderr, "%s:%d: %s failed: %s (%d): %s\n", __FILE__, __LINE__, \
              #call, scm_status_str(st_), (int)st_, scm_last_error_message()); \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

/* A call that must fail with `expected` and leave a message. */
#define FAILS(expected, call)                                                  \
  do {                                                                         \
    scm_status st_ = (call);                                                   \
    const char *msg_ = scm_last_error_message();                               \
    if (st_ != (expected) || msg_ == NULL || msg_[0] == '\0') {                \
      fprintf(stderr, "%s:%d: %s gave %s (%d) '%s', expected %s (%d)\n",      \
              __FILE__, __LINE__, #call, scm_status_str(st_), (int)st_,        \
              msg_ ? msg_ : "(null)", scm_status_str(expected), (int)(expected)); \
      g_failures++;                                                            \
    } else {                                                                   \
      printf("  ok %-28s %s\n", scm_status_str(st_), msg_);                    \
    }                                                                          \
  } while (0)

#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
      g_failures++;                                                    \
    }                                                                  \
  } while (0)

/* `model` saved to memory (scm_model_to_buffer: the size, then the bytes)
 * and loaded back (scm_model_from_buffer). */
static inline scm_model *round_trip(const scm_model *model) {
  size_t len = 0;
  OK(scm_model_to_buffer(model, NULL, 0, &len));
  uint8_t *buf = malloc(len);
  OK(scm_model_to_buffer(model, buf, len, &len));
  scm_model *again = NULL;
  OK(scm_model_from_buffer(buf, len, &again));
  free(buf);
  return again;
}

/* The end of a test's main: reports the failed checks of `test` and gives
 * its exit status (1 when any failed). */
static inline int finish(const char *test) {
  if (g_failures) {
    fprintf(stderr, "%s: %d check(s) failed\n", test, g_failures);
    return 1;
  }
  printf("%s: all checks passed\n", test);
  return 0;
}

#endif
