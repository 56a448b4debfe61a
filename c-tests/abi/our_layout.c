/* The facts of abi_facts.def as xlchannel's generated include/libxl_channel.h defines them.
 * Layout only: nothing here references a symbol of the library. */
#include "libxl_channel.h"

#ifndef XLCHANNEL_LIBXL_CHANNEL_H
#error "our_layout.c must see xlchannel's include/libxl_channel.h"
#endif
#if defined(LIBXL_H) || defined(__LIBXL_TYPES_H)
#error "our_layout.c must not see the real libxl headers"
#endif

#include "abi_facts.h"

const struct abi_fact abi_our_facts[] = {
#include "abi_facts.def"
};
const size_t abi_our_nfacts = sizeof abi_our_facts / sizeof abi_our_facts[0];
