/* xlchannel_need_xenpv_qemu_config over configs built by REAL libxenlight 4.17: its
 * libxl_domain_config_init / libxl_device_*_init defaults and Debian's libxl.h layout, the
 * devices in arrays (so the stride of each element type matters), disposed by real libxl
 * afterwards. Both libraries are dlopen'ed RTLD_LOCAL (their libxl_* symbols overlap).
 * Usage: test_devicemodel_config PATH_TO_libxlchannel.so  (inside the test bed, ASan). */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h> /* the real types */
#include <xenstore.h>
#include "check.h"
#include "capture_logger.h"

/* From libxl_channel.h, which cannot be included next to the real libxl.h. */
#define XLCHANNEL_DOMID_SELF 0x7FF0

static struct capture_logger logger;

/* Real libxenlight. */
static void (*config_init)(libxl_domain_config *);
static void (*config_dispose)(libxl_domain_config *);
static void (*disk_init)(libxl_device_disk *);
static void (*usbctrl_init)(libxl_device_usbctrl *);
static void (*channel_init)(libxl_device_channel *);
static void (*vfb_init)(libxl_device_vfb *);
static void (*p9_init)(libxl_device_p9 *);

/* xlchannel (declared here from its documentation: its header cannot meet the real one). */
static int (*ctx_alloc)(libxl_ctx **, int, unsigned, xentoollog_logger *);
static int (*ctx_free)(libxl_ctx *);
static int (*need_config)(libxl_ctx *, const libxl_domain_config *, uint32_t);
static int (*chardev_args)(libxl_ctx *, const libxl_device_channel *, int, char ***);
static void (*args_free)(char **);
static libxl_ctx *ctx;

#define SYM(dl, var, name)                                                      \
    if (!(*(void **)&var = dlsym(dl, name))) {                                  \
        fprintf(stderr, "no %s: %s\n", name, dlerror());                        \
        return -1;                                                              \
    }

static int load(const char *ours)
{
    void *real = dlopen("libxenlight.so.4.17", RTLD_NOW | RTLD_LOCAL);
    void *xl = dlopen(ours, RTLD_NOW | RTLD_LOCAL);
    if (!real || !xl) { fprintf(stderr, "dlopen: %s\n", dlerror()); return -1; }
    SYM(real, config_init, "libxl_domain_config_init");
    SYM(real, config_dispose, "libxl_domain_config_dispose");
    SYM(real, disk_init, "libxl_device_disk_init");
    SYM(real, usbctrl_init, "libxl_device_usbctrl_init");
    SYM(real, channel_init, "libxl_device_channel_init");
    SYM(real, vfb_init, "libxl_device_vfb_init");
    SYM(real, p9_init, "libxl_device_p9_init");
    SYM(xl, ctx_alloc, "libxl_ctx_alloc");
    SYM(xl, ctx_free, "libxl_ctx_free");
    SYM(xl, need_config, "xlchannel_need_xenpv_qemu_config");
    SYM(xl, chardev_args, "xlchannel_dm_chardev_args");
    SYM(xl, args_free, "xlchannel_dm_args_free");
    return ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable);
}

/* Append one initialised device to a config array, as xl does. */
#define APPEND(cfg, array, num, init)                                           \
    (cfg.array = realloc(cfg.array, sizeof(*cfg.array) * (cfg.num + 1)),       \
     init(&cfg.array[cfg.num]), &cfg.array[cfg.num++])

static libxl_domain_config config(libxl_domain_type type)
{
    libxl_domain_config c;
    config_init(&c);
    c.c_info.type = type;
    return c;
}

static void test_defaults(void)
{
    libxl_domain_config c;
    config_init(&c);
    /* libxl_domain_config_init leaves the type INVALID. */
    CHECK_INT(c.c_info.type, LIBXL_DOMAIN_TYPE_INVALID);
    CHECK_INT(need_config(ctx, &c, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_need_xenpv_qemu_config: invalid domain type -1"));
    c.c_info.type = LIBXL_DOMAIN_TYPE_HVM;
    CHECK_INT(need_config(ctx, &c, 0), 1);
    c.c_info.type = LIBXL_DOMAIN_TYPE_PV;
    CHECK_INT(need_config(ctx, &c, 0), 0);
    c.c_info.type = LIBXL_DOMAIN_TYPE_PVH;
    CHECK_INT(need_config(ctx, &c, 0), 0);
    config_dispose(&c);
}

static void test_vfb_and_p9(void)
{
    libxl_domain_config c = config(LIBXL_DOMAIN_TYPE_PV);
    APPEND(c, vfbs, num_vfbs, vfb_init);
    CHECK_INT(need_config(ctx, &c, 0), 1);
    CHECK(capture_ends_with(&logger, "device model needed: the guest has a vfb"));
    config_dispose(&c);

    c = config(LIBXL_DOMAIN_TYPE_PVH);
    APPEND(c, p9s, num_p9s, p9_init);
    CHECK_INT(need_config(ctx, &c, 0), 1);
    CHECK(capture_ends_with(&logger, "device model needed: the guest has a 9pfs device"));
    config_dispose(&c);
}

static void test_disks(void)
{
    libxl_domain_config c = config(LIBXL_DOMAIN_TYPE_PV);
    libxl_device_disk *d0 = APPEND(c, disks, num_disks, disk_init);
    /* Real defaults: backend UNKNOWN (libxl picks one later), served by dom0. */
    CHECK_INT(d0->backend, LIBXL_DISK_BACKEND_UNKNOWN);
    CHECK_INT(d0->backend_domid, 0);
    CHECK_INT(need_config(ctx, &c, 0), 0);
    d0->backend = LIBXL_DISK_BACKEND_PHY;
    libxl_device_disk *d1 = APPEND(c, disks, num_disks, disk_init);
    d1->backend = LIBXL_DISK_BACKEND_QDISK;
    d1->backend_domid = 4;
    CHECK_INT(need_config(ctx, &c, 0), 0);
    CHECK_INT(need_config(ctx, &c, 4), 1);
    CHECK(capture_ends_with(&logger, "device model needed: disk 1 is a qdisk served by the local domain"));
    d1->backend_domid = 0;
    d1->backend_domname = strdup("4"); /* the name wins */
    CHECK_INT(need_config(ctx, &c, 0), 0);
    CHECK_INT(need_config(ctx, &c, 4), 1);
    d1->backend = (libxl_disk_backend)9;
    CHECK_INT(need_config(ctx, &c, 4), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": disk 1 has an invalid backend value 9"));
    config_dispose(&c);
}

static void test_usbctrls(void)
{
    libxl_domain_config c = config(LIBXL_DOMAIN_TYPE_PVH);
    libxl_device_usbctrl *u0 = APPEND(c, usbctrls, num_usbctrls, usbctrl_init);
    CHECK_INT(u0->type, LIBXL_USBCTRL_TYPE_AUTO);
    CHECK_INT(need_config(ctx, &c, 0), 0);
    const libxl_usbctrl_type not_qusb[] = { LIBXL_USBCTRL_TYPE_PV, LIBXL_USBCTRL_TYPE_DEVICEMODEL };
    for (int i = 0; i < 2; i++) {
        u0->type = not_qusb[i];
        CHECK_INT(need_config(ctx, &c, 0), 0);
    }
    libxl_device_usbctrl *u1 = APPEND(c, usbctrls, num_usbctrls, usbctrl_init);
    u1->type = LIBXL_USBCTRL_TYPE_QUSB;
    u1->backend_domid = 2;
    CHECK_INT(need_config(ctx, &c, 0), 0);
    CHECK_INT(need_config(ctx, &c, 2), 1);
    CHECK(capture_ends_with(&logger, "device model needed: usb controller 1 is a qusb served by the local domain"));
    u1->type = (libxl_usbctrl_type)4;
    CHECK_INT(need_config(ctx, &c, 2), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": usb controller 1 has an invalid type value 4"));
    config_dispose(&c);
}

static void test_channels_and_args(void)
{
    libxl_domain_config c = config(LIBXL_DOMAIN_TYPE_PV);
    const char *paths[3] = { NULL, "/run/xen/a,b", "/run/xen/c" };
    const unsigned backends[3] = { 5, 6, 7 };
    for (int i = 0; i < 3; i++) {
        libxl_device_channel *ch = APPEND(c, channels, num_channels, channel_init);
        CHECK_INT(ch->devid, -1);
        ch->name = strdup("org.example");
        ch->backend_domid = backends[i];
        ch->connection = paths[i] ? LIBXL_CHANNEL_CONNECTION_SOCKET : LIBXL_CHANNEL_CONNECTION_PTY;
        if (paths[i]) ch->u.socket.path = strdup(paths[i]);
    }
    CHECK_INT(need_config(ctx, &c, 0), 0);
    CHECK_INT(need_config(ctx, &c, 7), 1);
    CHECK(capture_ends_with(&logger, "device model needed: channel 2 is served by the local domain"));
    CHECK_INT(need_config(ctx, &c, 5), 1);
    CHECK(capture_ends_with(&logger, "device model needed: channel 0 is served by the local domain"));

    /* libxl's own channel array, as the -chardev arguments' input. */
    char **args = NULL;
    CHECK_INT(chardev_args(ctx, c.channels, c.num_channels, &args), 0);
    const char *want[] = { "-chardev", "pty,id=libxl-channel1",
                           "-chardev", "socket,id=libxl-channel2,path=/run/xen/a,,b,server=on,wait=off",
                           "-chardev", "socket,id=libxl-channel3,path=/run/xen/c,server=on,wait=off",
                           NULL };
    for (int i = 0; i < 7; i++) CHECK_STR(args ? args[i] : NULL, want[i]);
    args_free(args);

    /* The local domid from xenstore: the caller's own domid key. */
    struct xs_handle *xs = xs_open(0);
    CHECK(xs != NULL);
    if (xs) {
        CHECK(xs_write(xs, XBT_NULL, "/local/domain/0/domid", "6", 1));
        CHECK_INT(need_config(ctx, &c, XLCHANNEL_DOMID_SELF), 1);
        CHECK(capture_ends_with(&logger, "device model needed: channel 1 is served by the local domain"));
        CHECK(xs_write(xs, XBT_NULL, "/local/domain/0/domid", "0", 1));
        CHECK_INT(need_config(ctx, &c, XLCHANNEL_DOMID_SELF), 0);
        xs_close(xs);
    }
    config_dispose(&c);
}

static void test_bad_arrays(void)
{
    libxl_domain_config c = config(LIBXL_DOMAIN_TYPE_PV);
    c.num_usbctrls = 2; /* and no array */
    CHECK_INT(need_config(ctx, &c, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_usbctrls is 2 but usbctrls is NULL"));
    c.num_usbctrls = 0;
    c.num_p9s = -1;
    CHECK_INT(need_config(ctx, &c, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_p9s is -1"));
    c.num_p9s = 0;
    config_dispose(&c);
}

int main(int argc, char **argv)
{
    capture_init(&logger);
    if (argc != 2 || load(argv[1])) {
        fprintf(stderr, "usage: %s PATH_TO_libxlchannel.so (inside the test bed)\n", argv[0]);
        return 2;
    }
    test_defaults();
    test_vfb_and_p9();
    test_disks();
    test_usbctrls();
    test_channels_and_args();
    test_bad_arrays();
    ctx_free(ctx);
    return check_summary("test_devicemodel_config");
}
