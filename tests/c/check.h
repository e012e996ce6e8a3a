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

#endif
