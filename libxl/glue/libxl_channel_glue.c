/*
 * xlchannel's glue inside libxenlight (see libxl_channel_glue.h), and the asynchronous-
 * operation shell of the channel add and removal: the xenstore and device-model work is
 * xlchannel's; the ao_how semantics (synchronous, callback or event completion) and the
 * domain's stored configuration are libxl's own.
 */
/* Log lines name this file as libxl's name its own, whatever path the build compiles. */
#line 9 "libxl_channel_glue.c"
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

/* libxl keeps every hot-plugged device in the domain's stored configuration (the
 * "libxl-json" userdata), changed under the domain's userdata lock, so that `xl list -l`,
 * save, restore and migration know it; channels are kept there the same way. A domain
 * without a stored configuration (not created through libxl) has none to keep in step, and
 * needs neither the lock nor XEN_LIB_DIR. */
static bool has_stored_config(libxl__gc *gc, uint32_t domid)
{
    int len = 0;
    /* The userdata's path needs the domain's info; a domain the hypervisor does not know
     * has none (and xlchannel reports on the domain itself). */
    if (libxl_domain_info(CTX, NULL, domid))
        return false;
    return !libxl__userdata_retrieve(gc, domid, "libxl-json", NULL, &len) && len > 0;
}

/* The stored configuration's channel on console `devid`, or -1. */
static int stored_channel(const libxl_domain_config *d_config, int devid)
{
    for (int i = 0; i < d_config->num_channels; i++)
        if (d_config->channels[i].devid == devid)
            return i;
    return -1;
}

static void store_channel(libxl__gc *gc, libxl_domain_config *d_config,
                          const libxl_device_channel *channel)
{
    int i = stored_channel(d_config, channel->devid);
    if (i < 0) {
        i = d_config->num_channels++;
        d_config->channels = libxl__realloc(NOGC, d_config->channels,
                                            d_config->num_channels * sizeof(*channel));
    } else {
        libxl_device_channel_dispose(&d_config->channels[i]);
    }
    libxl_device_channel_init(&d_config->channels[i]);
    libxl_device_channel_copy(CTX, &d_config->channels[i], channel);
}

/* Drop the stored configuration's channel on console `devid`; whether it had one. */
static bool unstore_channel(libxl_domain_config *d_config, int devid)
{
    int i = stored_channel(d_config, devid);
    if (i < 0)
        return false;
    libxl_device_channel_dispose(&d_config->channels[i]);
    memmove(&d_config->channels[i], &d_config->channels[i + 1],
            (d_config->num_channels - i - 1) * sizeof(*d_config->channels));
    d_config->num_channels--;
    return true;
}

/* Take the lock and read the stored configuration, when the domain has one. */
static int lock_stored_config(libxl__gc *gc, uint32_t domid, libxl__flock **lock,
                              libxl_domain_config *d_config)
{
    *lock = NULL;
    if (!has_stored_config(gc, domid))
        return 0;
    *lock = libxl__lock_domain_userdata(gc, domid);
    if (!*lock)
        return ERROR_LOCK_FAIL;
    return libxl__get_domain_configuration(gc, domid, d_config);
}

int libxl_device_channel_add(libxl_ctx *ctx, uint32_t domid,
                             libxl_device_channel *channel,
                             const libxl_asyncop_how *ao_how)
{
    AO_CREATE(ctx, domid, ao_how);
    libxl__flock *lock = NULL;
    libxl_domain_config d_config;
    int rc;

    libxl_domain_config_init(&d_config);
    rc = lock_stored_config(gc, domid, &lock, &d_config);
    if (rc) goto out;

    rc = xlchannel_xs_channel_add(CTX->xsh, XBT_NULL, CTX->lg, domid, channel);
    if (rc || !lock) goto out;

    store_channel(gc, &d_config, channel);
    rc = libxl__set_domain_configuration(gc, domid, &d_config);
    if (rc) {
        /* All or nothing: a channel the stored configuration does not know goes again. */
        LOGD(ERROR, domid, "the domain's stored configuration could not be updated; "
             "removing channel %d again", channel->devid);
        xlchannel_xs_channel_remove(CTX->xsh, CTX->lg, domid, channel, 1);
    }

out:
    if (rc)
        LOGD(ERROR, domid, "Unable to add channel device");
    if (lock)
        libxl__unlock_file(lock);
    libxl_domain_config_dispose(&d_config);
    libxl__ao_complete(egc, ao, rc);
    return AO_INPROGRESS;
}

/* Unplug, graceful (remove) or forced (destroy): as add, xlchannel does the work (the
 * removal protocol's bounded wait, the device model's chardev, the nodes) and libxl's AO
 * machinery gives it ao_how's semantics; the stored configuration forgets the channel. */
static int channel_remove(libxl_ctx *ctx, uint32_t domid, libxl_device_channel *channel,
                          int force, const libxl_asyncop_how *ao_how)
{
    AO_CREATE(ctx, domid, ao_how);
    libxl__flock *lock = NULL;
    libxl_domain_config d_config;
    int rc;

    libxl_domain_config_init(&d_config);
    rc = lock_stored_config(gc, domid, &lock, &d_config);
    if (rc) goto out;

    rc = xlchannel_xs_channel_remove(CTX->xsh, CTX->lg, domid, channel, force);
    if (rc || !lock || !unstore_channel(&d_config, channel->devid)) goto out;

    rc = libxl__set_domain_configuration(gc, domid, &d_config);
    if (rc)
        LOGD(ERROR, domid, "channel %d is removed, but the domain's stored configuration "
             "could not be updated", channel->devid);

out:
    if (rc)
        LOGD(ERROR, domid, "Unable to remove channel device");
    if (lock)
        libxl__unlock_file(lock);
    libxl_domain_config_dispose(&d_config);
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
