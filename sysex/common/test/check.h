/* The unit tests' one assertion: counts checks, prints each failure with its line, never stops. */
#ifndef NP_TEST_CHECK_H
#define NP_TEST_CHECK_H

#include <stdio.h>

static int failures, checks;
#define CHECK(cond)                                                                  \
    do {                                                                             \
        checks++;                                                                    \
        if (!(cond)) {                                                               \
            failures++;                                                              \
            printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #cond);                    \
        }                                                                            \
    } while (0)

#endif
