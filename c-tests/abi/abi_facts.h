/*
 * ABI layout facts shared by real_layout.c (real <libxl.h>) and our_layout.c (our
 * "libxl_channel.h"). Each TU includes its header, then this file, then expands
 * abi_facts.def into a table of { name, value } evaluated by ITS compiler view of the types.
 * main.c compares the two tables entry by entry.
 */
#ifndef XLCHANNEL_ABI_FACTS_H
#define XLCHANNEL_ABI_FACTS_H

#include <stddef.h>
#include <limits.h>

struct abi_fact {
    const char *name;
    long long value;
};

/* Value recorded for a macro the header does not define. */
#define ABI_UNDEFINED LLONG_MIN

extern const struct abi_fact abi_real_facts[];
extern const size_t abi_real_nfacts;
extern const struct abi_fact abi_our_facts[];
extern const size_t abi_our_nfacts;

/* The basic type of an expression (not evaluated): distinguishes char * from const char *,
 * int from unsigned int, long from int... An enum type reports its compatible integer type;
 * struct, union and function pointer types report 0 (they are covered by other facts). */
#define ABI_TYPECLASS(e) ((long long)_Generic((e), \
    char *: 1, const char *: 2, void *: 3, const void *: 4, \
    char: 5, signed char: 6, unsigned char: 7, short: 8, unsigned short: 9, \
    int: 10, unsigned int: 11, long: 12, unsigned long: 13, \
    long long: 14, unsigned long long: 15, _Bool: 16, \
    default: 0))

#define ABI_MEMBER(T, m) (((T *)0)->m)

/* The generators. Names are part of the comparison, so both TUs print the same names. */

/* sizeof and _Alignof of a complete type. */
#define ABI_TYPE(T)                                                        \
    { "sizeof(" #T ")", (long long)sizeof(T) },                             \
    { "_Alignof(" #T ")", (long long)_Alignof(T) },

/* A scalar/enum/typedef type: as ABI_TYPE plus its basic type. */
#define ABI_SCALAR(T)                                                      \
    ABI_TYPE(T)                                                             \
    { "typeclass(" #T ")", ABI_TYPECLASS((T)0) },

/* A member (nested paths allowed: u.socket.path): offset, size, alignment. */
#define ABI_AGGREGATE_FIELD(T, m)                                          \
    { "offsetof(" #T ", " #m ")", (long long)offsetof(T, m) },              \
    { "sizeof(" #T "." #m ")", (long long)sizeof(ABI_MEMBER(T, m)) },        \
    { "_Alignof(" #T "." #m ")",                                            \
      (long long)_Alignof(__typeof__(ABI_MEMBER(T, m))) },

/* A leaf member: as ABI_AGGREGATE_FIELD plus its basic type. */
#define ABI_FIELD(T, m)                                                    \
    ABI_AGGREGATE_FIELD(T, m)                                               \
    { "typeclass(" #T "." #m ")", ABI_TYPECLASS(ABI_MEMBER(T, m)) },

/* An integer constant (enum constant or macro). */
#define ABI_VALUE(name) { #name, (long long)(name) },
#define ABI_MISSING(name) { #name, ABI_UNDEFINED },

/* 1 if the type of `expr` is compatible with `type` (written in abi_facts.def as in the real
 * header); main.c also requires the real header's value to be 1. */
#define ABI_COMPAT(label, expr, type)                                      \
    { "compatible(" label ")",                                              \
      (long long)__builtin_types_compatible_p(__typeof__(expr), type) },

#endif /* XLCHANNEL_ABI_FACTS_H */
