/* The facts of abi_facts.def as the REAL libxl 4.17 header (Debian libxen-dev) defines them.
 * Compile WITHOUT our include directory on the <...> path (use -iquote for our_layout.c). */
#include <libxl.h>

#ifdef XLCHANNEL_LIBXL_CHANNEL_H
#error "real_layout.c must see the real <libxl.h>, not xlchannel's libxl_channel.h"
#endif
#ifndef __LIBXL_TYPES_H
#error "real_layout.c: <libxl.h> did not include the real _libxl_types.h"
#endif

#include "abi_facts.h"

const struct abi_fact abi_real_facts[] = {
#include "abi_facts.def"
};
const size_t abi_real_nfacts = sizeof abi_real_facts / sizeof abi_real_facts[0];
