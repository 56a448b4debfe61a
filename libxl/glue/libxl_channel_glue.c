/*
 * xlchannel's glue inside libxenlight (see libxl_channel_glue.h), and the asynchronous-
 * operation shell of libxl_device_channel_add: the xenstore work is xlchannel's, the
 * ao_how semantics (synchronous, callback or event completion) are libxl's own.
 */
#include "libxl_osdeps.h"

#include "libxl_internal.h"
#include "libxl_channel_glue.h"
#include "libxl_channel_embed.h"

/* The node kinds xlchannel's Rust side reads (src/ffi/embedded.rs) have these values. */
_Static_assert(JSON_NULL == 1 << 0 && JSON_BOOL == 1 << 1 && JSON_INTEGER == 1 << 2 &&
               JSON_DOUBLE == 1 << 3 && JSON_NUMBER == 1 << 4 && JSON_STRING == 1 << 5 &&
               JSON_MAP == 1 << 6 && JSON_ARRAY == 1 << 7,
               "libxl__json_node_type as xlchannel reads it");

xentoollog_logger *xlchannel_glue_ctx_logger(const libxl_ctx *ctx)
{
    return ctx->lg;
}

struct xs_handle *xlchannel_glue_ctx_xsh(const libxl_ctx *ctx)
{
    return ctx->xsh;
}

int xlchannel_glue_json_type(const libxl__json_object *o)
{
    return o->type;
}

int xlchannel_glue_json_bool(const libxl__json_object *o)
{
    return libxl__json_object_get_bool(o);
}

long long xlchannel_glue_json_integer(const libxl__json_object *o)
{
    return libxl__json_object_get_integer(o);
}

double xlchannel_glue_json_double(const libxl__json_object *o)
{
    return libxl__json_object_is_double(o) ? o->u.d : 0;
}

const char *xlchannel_glue_json_string(const libxl__json_object *o)
{
    if (libxl__json_object_is_string(o))
        return libxl__json_object_get_string(o);
    if (libxl__json_object_is_number(o))
        return libxl__json_object_get_number(o);
    return NULL;
}

const libxl__json_object *xlchannel_glue_json_array_get(const libxl__json_object *o, int i)
{
    return libxl__json_array_get(o, i);
}

const libxl__json_object *xlchannel_glue_json_map_get(const libxl__json_object *o, int i,
                                                      const char **key)
{
    libxl__json_map_node *node = libxl__json_map_node_get(o, i);

    if (!node)
        return NULL;
    *key = node->map_key;
    return node->obj;
}

int libxl_device_channel_add(libxl_ctx *ctx, uint32_t domid,
                             libxl_device_channel *channel,
                             const libxl_asyncop_how *ao_how)
{
    AO_CREATE(ctx, domid, ao_how);
    int rc;

    rc = xlchannel_xs_channel_add(CTX->xsh, XBT_NULL, CTX->lg, domid, channel);
    if (rc)
        LOGD(ERROR, domid, "Unable to add channel device");
    libxl__ao_complete(egc, ao, rc);
    return AO_INPROGRESS;
}

/* Unplug, graceful (remove) or forced (destroy): as add, xlchannel does the work (the
 * removal protocol's bounded wait, the device model's chardev, the nodes) and libxl's AO
 * machinery gives it ao_how's semantics. */
static int channel_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_channel *channel,
                          int force, const libxl_asyncop_how *ao_how)
{
    AO_CREATE(ctx, domid, ao_how);
    int rc;

    rc = xlchannel_xs_channel_remove(CTX->xsh, CTX->lg, domid, channel, force);
    if (rc)
        LOGD(ERROR, domid, "Unable to remove channel device");
    libxl__ao_complete(egc, ao, rc);
    return AO_INPROGRESS;
}

int libxl_device_channel_remove(libxl_ctx *ctx, uint32_t domid,
                                libxl_device_channel *channel,
                                const libxl_asyncop_how *ao_how)
{
    return channel_remove(ctx, domid, channel, 0, ao_how);
}

int libxl_device_channel_destroy(libxl_ctx *ctx, uint32_t domid,
                                 libxl_device_channel *channel,
                                 const libxl_asyncop_how *ao_how)
{
    return channel_remove(ctx, domid, channel, 1, ao_how);
}
