/*
 * Inside-libxl half of the channel test (see libxl_test_channels.h): compiled like a piece
 * of libxl, into libxenlight_test.so only.
 */
#include "libxl_osdeps.h"

#include "libxl_internal.h"
#include "libxl_channel_embed.h"
#include "libxl_test_channels.h"

int libxl_test_channels(libxl_ctx *ctx, uint32_t domid, libxl_domain_config *d_config,
                        int *need_qemu_r, char ***chardev_args_r)
{
    GC_INIT(ctx);
    char **args = NULL, **copy;
    int rc, n, i;

    *chardev_args_r = NULL;
    /* As domain creation writes them. */
    rc = xlchannel_xs_channels_create(CTX->xsh, XBT_NULL, CTX->lg, domid,
                                      d_config->channels, d_config->num_channels);
    if (rc) goto out;

    rc = libxl__need_xenpv_qemu(gc, d_config);
    if (rc < 0) goto out;
    *need_qemu_r = rc;

    /* As the device model's arguments are built. */
    rc = xlchannel_dm_chardev_args(CTX, d_config->channels, d_config->num_channels, &args);
    if (rc) goto out;
    for (n = 0; args[n]; n++)
        ;
    copy = calloc(n + 1, sizeof(*copy));
    if (!copy) {
        rc = ERROR_NOMEM;
        goto out;
    }
    for (i = 0; i < n; i++)
        copy[i] = libxl__strdup(NOGC, args[i]);
    *chardev_args_r = copy;
    rc = 0;
out:
    xlchannel_dm_args_free(args);
    GC_FREE;
    return rc;
}
