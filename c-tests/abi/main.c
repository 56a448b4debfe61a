/*
 * abi-layout: compares the facts the real libxl 4.17 header gives (real_layout.c) with those
 * of xlchannel's header (our_layout.c), entry by entry. Prints every mismatch and
 *   abi-layout: N passed, M failed
 * and exits 1 on any failure. `-v` also prints the facts that agree.
 */
#include <stdio.h>
#include <string.h>

#include "abi_facts.h"

static void print_value(long long v)
{
    if (v == ABI_UNDEFINED)
        fputs("(not defined)", stdout);
    else
        printf("%lld", v);
}

int main(int argc, char **argv)
{
    int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    unsigned passed = 0, failed = 0;
    size_t n = abi_real_nfacts < abi_our_nfacts ? abi_real_nfacts : abi_our_nfacts;

    if (abi_real_nfacts != abi_our_nfacts) {
        /* Both tables come from abi_facts.def, so this means an inconsistent build. */
        printf("MISMATCH table sizes: real %zu facts, ours %zu facts\n",
               abi_real_nfacts, abi_our_nfacts);
        failed++;
    }
    for (size_t i = 0; i < n; i++) {
        const struct abi_fact *r = &abi_real_facts[i], *o = &abi_our_facts[i];

        if (strcmp(r->name, o->name) != 0) {
            printf("MISMATCH entry %zu: names differ: real \"%s\", ours \"%s\"\n",
                   i, r->name, o->name);
            failed++;
            continue;
        }
        if (strncmp(r->name, "compatible(", 11) == 0 && r->value != 1) {
            /* The prototype/type written in abi_facts.def must match the real header,
             * otherwise a 0 == 0 comparison would prove nothing. */
            printf("MISMATCH %s: the real header is not compatible with the type written in "
                   "abi_facts.def (fix the .def entry)\n", r->name);
            failed++;
            continue;
        }
        if (r->value != o->value) {
            printf("MISMATCH %s: real=", r->name);
            print_value(r->value);
            fputs(" ours=", stdout);
            print_value(o->value);
            putchar('\n');
            failed++;
            continue;
        }
        if (verbose) {
            printf("ok       %s = ", r->name);
            print_value(r->value);
            putchar('\n');
        }
        passed++;
    }
    if (passed == 0)
        failed++; /* an empty comparison proves nothing */
    printf("abi-layout: %u passed, %u failed\n", passed, failed);
    return failed ? 1 : 0;
}
