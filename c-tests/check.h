/* A minimal assertion harness for the C tests: counts, prints each failure with its
 * location, and ends with the line "<suite>: N passed, M failed". */
#ifndef XLCHANNEL_CHECK_H
#define XLCHANNEL_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_passed, check_failed;

#define CHECK(cond)                                                            \
    do {                                                                       \
        if (cond) check_passed++;                                              \
        else {                                                                 \
            check_failed++;                                                    \
            fprintf(stderr, "%s:%d: FAILED: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                      \
    } while (0)

#define CHECK_INT(got, want)                                                   \
    do {                                                                       \
        long long g_ = (long long)(got), w_ = (long long)(want);               \
        if (g_ == w_) check_passed++;                                          \
        else {                                                                 \
            check_failed++;                                                    \
            fprintf(stderr, "%s:%d: FAILED: %s == %lld, want %lld\n",          \
                    __FILE__, __LINE__, #got, g_, w_);                         \
        }                                                                      \
    } while (0)

/* Two C strings (either may be NULL) are equal. */
#define CHECK_STR(got, want)                                                   \
    do {                                                                       \
        const char *g_ = (got), *w_ = (want);                                  \
        if ((!g_ && !w_) || (g_ && w_ && !strcmp(g_, w_))) check_passed++;     \
        else {                                                                 \
            check_failed++;                                                    \
            fprintf(stderr, "%s:%d: FAILED: %s == \"%s\", want \"%s\"\n",      \
                    __FILE__, __LINE__, #got, g_ ? g_ : "(null)",              \
                    w_ ? w_ : "(null)");                                       \
        }                                                                      \
    } while (0)

/* A run with xlchannel's pipelined xenstore connection switched off (XLCHANNEL_XS_PIPELINE=0,
 * every request through libxenstore) reports under its own name. */
static inline int check_summary(const char *suite)
{
    const char *pipeline = getenv("XLCHANNEL_XS_PIPELINE");
    const char *variant = pipeline && !strcmp(pipeline, "0") ? "-libxenstore" : "";
    printf("%s%s: %d passed, %d failed\n", suite, variant, check_passed, check_failed);
    return check_failed ? 1 : 0;
}

#endif
