/*
 * Interface between the inside-libxl half (libxl_test_channels.c, in libxenlight_test.so)
 * and the outside half (test_libxl_channels.c) of the channel test, in libxl's convention
 * for tests that need its insides.
 */
#ifndef XLCHANNEL_LIBXL_TEST_CHANNELS_H
#define XLCHANNEL_LIBXL_TEST_CHANNELS_H

#include <libxl.h>

/*
 * With libxl's own context, what domain creation does with d_config's channels: write them
 * as consoles of domid (the step of libxl_create.c), then ask libxl__need_xenpv_qemu (the
 * real one) and build the channels' qemu arguments (the step of libxl_dm.c). *need_qemu_r
 * gets libxl__need_xenpv_qemu's answer, *chardev_args_r a malloc'd NULL-terminated copy of
 * the arguments (free each and the array). Returns the first failing step's libxl error.
 */
int libxl_test_channels(libxl_ctx *ctx, uint32_t domid, libxl_domain_config *d_config,
                        int *need_qemu_r, char ***chardev_args_r)
    LIBXL_EXTERNAL_CALLERS_ONLY;

#endif
