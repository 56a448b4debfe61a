/*
 * Outside half of the inside-libxl channel test: builds domain configurations with channels,
 * has libxenlight_test.so (run with LD_PRELOAD, libxl's convention) do domain creation's
 * channel steps inside libxl against the test bed's xenstored, and checks what they left:
 * console nodes and permissions, devids and backend domids written back, the answer of
 * libxl__need_xenpv_qemu and the qemu -chardev arguments. Then libxl's own add, remove and
 * destroy of a running domain's channel (the glue's AO wrappers around xlchannel): through
 * a real qemu as the domain's device model; without one (the strict rule: a channel served
 * by dom0 refused with nothing written, one served by a driver domain added); and removal
 * without a device model.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libxl.h>
#include <xenstore.h>

#include "libxl_channel_embed.h"
#include "libxl_test_channels.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"
#include "qemu_helpers.h"

static struct xs_handle *xs;

static void channel(libxl_device_channel *c, const char *name, libxl_channel_connection conn,
                    const char *path, const char *backend)
{
    libxl_device_channel_init(c);
    c->name = name ? strdup(name) : NULL;
    libxl_device_channel_init_connection(c, conn);
    if (path) c->u.socket.path = strdup(path);
    if (backend) c->backend_domname = strdup(backend);
}

static void pv_config(libxl_domain_config *d, int num)
{
    libxl_domain_config_init(d);
    d->c_info.type = LIBXL_DOMAIN_TYPE_PV;
    d->num_channels = num;
    d->channels = calloc(num ? num : 1, sizeof(*d->channels));
}

static void check_node(const char *path, const char *value, const char *perms)
{
    char buf[64];
    char *got = xs_get(xs, path);
    CHECK_STR(got, value);
    free(got);
    if (perms) CHECK_STR(xs_perms_text(xs, path, buf, sizeof(buf)), perms);
}

static void check_args(char **args, const char *const *want)
{
    int i;
    CHECK(args != NULL);
    if (!args) return;
    for (i = 0; want[i]; i++) {
        CHECK(args[i] != NULL);
        if (!args[i]) return;
        CHECK_STR(args[i], want[i]);
    }
    CHECK(args[i] == NULL);
}

static int callback_calls, callback_rc = 1;
static void remember(libxl_ctx *c, int rc, void *for_callback)
{
    (void)c;
    (void)for_callback;
    callback_calls++;
    callback_rc = rc;
}

/* The number of the three node directories of console `devid` of `domid` that exist. */
static int nodes_present(unsigned domid, int devid)
{
    char paths[3][96];
    int n = 0;
    snprintf(paths[0], sizeof(paths[0]), "/local/domain/%u/device/console/%d", domid, devid);
    snprintf(paths[1], sizeof(paths[1]), "/local/domain/0/backend/console/%u/%d", domid, devid);
    snprintf(paths[2], sizeof(paths[2]), "/libxl/%u/device/console/%d", domid, devid);
    for (int i = 0; i < 3; i++) {
        char *v = xs_get(xs, paths[i]);
        n += v != NULL;
        free(v);
    }
    return n;
}

/* The lines logged at error level (the capture logger's "error " lines). */
static int error_lines(const char *all)
{
    int n = 0;
    for (const char *line = all; *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "")
        n += !strncmp(line, "error ", 6);
    return n;
}

/* Hot add and unplug through libxl's own entry points, with a real qemu as domain 66's
 * device model (its QMP socket where xlchannel looks, XLCHANNEL_RUN_DIR): the socket listens
 * when add returns and is gone after remove; the device-model details are
 * c-tests/test_hotplug.c's. */
static void test_add_remove_destroy(libxl_ctx *ctx)
{
    char dir[] = "/tmp/xlchannel-libxl-hp.XXXXXX", qmp_path[128], test_qmp[128], log[128];
    char sock[128], qmp_arg[160], test_qmp_arg[160];
    CHECK(mkdtemp(dir) != NULL);
    setenv("XLCHANNEL_RUN_DIR", dir, 1);
    snprintf(qmp_path, sizeof(qmp_path), "%s/qmp-libxl-66", dir);
    snprintf(test_qmp, sizeof(test_qmp), "%s/test-qmp", dir);
    snprintf(log, sizeof(log), "%s/qemu.log", dir);
    snprintf(sock, sizeof(sock), "%s/hot.sock", dir);
    snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", qmp_path);
    snprintf(test_qmp_arg, sizeof(test_qmp_arg), "unix:%s,server=on,wait=off", test_qmp);
    const char *qemu = getenv("XLCHANNEL_QEMU") ? getenv("XLCHANNEL_QEMU") : "qemu-system-x86_64";
    char *argv[] = { (char *)qemu, "-machine", "none", "-nodefaults", "-display", "none",
                     "-qmp", qmp_arg, "-qmp", test_qmp_arg, NULL };
    struct reader q = { .fd = -1 };
    pid_t pid = start_qemu(argv, log);
    CHECK(pid > 0);
    CHECK_INT(qmp_open(&q, pid, test_qmp), 0);
    register_domain(xs, 66, "guest66");

    libxl_device_channel c;
    libxl_asyncop_how how = { .callback = remember };
    channel(&c, "org.example.hot", LIBXL_CHANNEL_CONNECTION_SOCKET, sock, NULL);
    c.devid = -1;
    CHECK_INT(libxl_device_channel_add(ctx, 66, &c, NULL), 0);
    CHECK_INT(c.devid, 1);
    CHECK_INT(nodes_present(66, 1), 3);
    int fd = connect_unix(sock);
    CHECK(fd >= 0);
    if (fd >= 0) close(fd);
    char *reply = qmp(&q, "{\"execute\": \"query-chardev\"}");
    CHECK(reply && strstr(reply, "\"label\": \"libxl-channel1\""));
    CHECK_INT(libxl_device_channel_remove(ctx, 66, &c, NULL), 0);
    CHECK_INT(nodes_present(66, 1), 0);
    struct stat st;
    CHECK(stat(sock, &st) != 0);
    reply = qmp(&q, "{\"execute\": \"query-chardev\"}");
    CHECK(reply && !strstr(reply, "libxl-channel1"));
    CHECK_INT(libxl_device_channel_remove(ctx, 66, &c, NULL), ERROR_NOTFOUND);
    CHECK_INT(libxl_device_channel_add(ctx, 66, &c, NULL), 0);
    CHECK(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode));
    CHECK_INT(libxl_device_channel_destroy(ctx, 66, &c, &how), 0);
    CHECK_INT(callback_calls, 1);
    CHECK_INT(callback_rc, 0);
    CHECK_INT(nodes_present(66, 1), 0);
    CHECK(stat(sock, &st) != 0);
    CHECK_INT(libxl_device_channel_destroy(ctx, 66, &c, NULL), ERROR_NOTFOUND);
    libxl_device_channel_dispose(&c);
    CHECK_INT(stop_qemu(pid, &q), 0);
    close(q.fd);
    unlink(qmp_path);
    unlink(test_qmp);
    unlink(log);
    CHECK_INT(rmdir(dir), 0);
}

/* The strict rule through the glue: domain 65 has no device model (no QMP socket), so a
 * channel served by dom0 is refused (ERROR_FAIL, xlchannel's line naming the socket, then
 * libxl's) with nothing written; libxl's checks come first; a channel served by the driver
 * domain is added; removal works without a device model. */
static void test_without_device_model(void)
{
    struct capture_logger logger;
    libxl_ctx *ctx;
    capture_init(&logger);
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable), 0);
    setenv("XLCHANNEL_RUN_DIR", "/nonexistent/xlchannel-run", 1);
    register_domain(xs, 65, "guest65");
    libxl_device_channel c;
    channel(&c, "org.example.hot", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/xen/hot.sock", NULL);
    c.devid = -1;
    char *before = xs_snapshot_domain(xs, 65);
    CHECK_INT(libxl_device_channel_add(ctx, 65, &c, NULL), ERROR_FAIL);
    /* libxl's AO machinery logs at debug level too: the error lines, in order. */
    const char *cause = strstr(logger.all, ":xlchannel_xs_channel_add: Domain 65:domain 65 has no "
                               "running device model (no QMP socket at "
                               "/nonexistent/xlchannel-run/qmp-libxl-65): channel "
                               "'org.example.hot' would have no backend\n");
    const char *libxl_line = strstr(logger.all, ":libxl_device_channel_add: Domain 65:Unable to add "
                                    "channel device\n");
    CHECK(cause != NULL && libxl_line != NULL && cause < libxl_line);
    CHECK_INT(error_lines(logger.all), 2);
    CHECK_INT(c.devid, -1);
    char *after = xs_snapshot_domain(xs, 65);
    CHECK_STR(after, before);
    free(after);
    /* libxl's checks win: a relative path is refused for what it is. */
    libxl_device_channel rel;
    channel(&rel, "org.example.rel", LIBXL_CHANNEL_CONNECTION_SOCKET, "rel.sock", NULL);
    rel.devid = -1;
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, 65, &rel, NULL), ERROR_INVAL);
    CHECK(strstr(logger.all, "Domain 65:channel 1 has a relative path 'rel.sock'; a socket path "
                             "must be absolute\n") != NULL);
    CHECK(strstr(logger.all, "device model") == NULL);
    libxl_device_channel_dispose(&rel);
    after = xs_snapshot_domain(xs, 65);
    CHECK_STR(after, before);
    free(after);
    free(before);

    /* Served by the driver domain: added without a device model here, and removed. */
    libxl_device_channel drv;
    channel(&drv, "org.example.drv", LIBXL_CHANNEL_CONNECTION_PTY, NULL, "driver-dom");
    drv.devid = -1;
    CHECK_INT(libxl_device_channel_add(ctx, 65, &drv, NULL), 0);
    CHECK_INT(drv.devid, 1);
    CHECK_INT(drv.backend_domid, 3);
    check_node("/local/domain/65/device/console/1/backend", "/local/domain/3/backend/console/65/1", NULL);
    CHECK_INT(libxl_device_channel_remove(ctx, 65, &drv, NULL), 0);
    CHECK(xs_get(xs, "/local/domain/3/backend/console/65/1") == NULL);
    CHECK(xs_get(xs, "/libxl/65/device/console/1") == NULL);

    /* A channel served by dom0 written at creation (no device model yet): removal, graceful
     * and forced, needs none. */
    libxl_device_channel one = c;
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 65, &one, 1), 0);
    CHECK_INT(one.devid, 1);
    CHECK_INT(nodes_present(65, 1), 3);
    CHECK_INT(libxl_device_channel_remove(ctx, 65, &one, NULL), 0);
    CHECK_INT(nodes_present(65, 1), 0);
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 65, &one, 1), 0);
    CHECK_INT(libxl_device_channel_destroy(ctx, 65, &one, NULL), 0);
    CHECK_INT(nodes_present(65, 1), 0);
    c.devid = -1;
    libxl_device_channel_dispose(&c);
    libxl_device_channel_dispose(&drv);
    libxl_ctx_free(ctx);
}

static void free_args(char **args)
{
    for (int i = 0; args && args[i]; i++) free(args[i]);
    free(args);
}

/* The stored configuration (libxl's "libxl-json" userdata, in XEN_LIB_DIR, Debian's
 * /var/lib/xen) of a domain created through libxl keeps its hot-added channels, as libxl
 * keeps every hot-plugged device: add records the channel, a refused add changes nothing,
 * remove forgets it. Channels served by the driver domain, so no device model is needed. */
static libxl_domain_config stored(libxl_ctx *ctx, unsigned domid)
{
    libxl_domain_config d;
    uint8_t *data = NULL;
    int len = 0;
    libxl_domain_config_init(&d);
    CHECK_INT(libxl_userdata_retrieve(ctx, domid, "libxl-json", &data, &len), 0);
    CHECK(len > 0);
    if (data) CHECK_INT(libxl_domain_config_from_json(ctx, &d, (const char *)data), 0);
    free(data);
    return d;
}

static void test_stored_configuration(libxl_ctx *ctx)
{
    const char *lib_dir = "/var/lib/xen";
    int made_lib_dir = mkdir(lib_dir, 0755) == 0;
    CHECK(made_lib_dir || errno == EEXIST);
    register_domain(xs, 67, "guest67");
    /* The test bed's stand-in hypervisor knows the domains it is told of. */
    setenv("XLCHANNEL_SHIM_DOMAINS", "0 3 67", 1);

    libxl_domain_config d;
    pv_config(&d, 1);
    d.c_info.name = strdup("guest67");
    channel(&d.channels[0], "org.example.created", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    d.channels[0].devid = 4;
    char *json = libxl_domain_config_to_json(ctx, &d);
    CHECK(json != NULL);
    CHECK_INT(libxl_userdata_store(ctx, 67, "libxl-json", (const uint8_t *)json,
                                   strlen(json) + 1), 0);
    free(json);
    libxl_domain_config_dispose(&d);

    libxl_device_channel c;
    channel(&c, "org.example.hot", LIBXL_CHANNEL_CONNECTION_PTY, NULL, "driver-dom");
    c.devid = -1;
    CHECK_INT(libxl_device_channel_add(ctx, 67, &c, NULL), 0);
    CHECK_INT(c.devid, 1);
    d = stored(ctx, 67);
    CHECK_INT(d.num_channels, 2);
    if (d.num_channels == 2) {
        CHECK_STR(d.channels[0].name, "org.example.created");
        CHECK_STR(d.channels[1].name, "org.example.hot");
        CHECK_INT(d.channels[1].devid, 1);
        CHECK_INT(d.channels[1].backend_domid, 3);
        CHECK_INT(d.channels[1].connection, LIBXL_CHANNEL_CONNECTION_PTY);
    }
    CHECK_STR(d.c_info.name, "guest67");
    libxl_domain_config_dispose(&d);

    /* A refused add (the name is taken) leaves the stored configuration as it was. */
    libxl_device_channel twin;
    channel(&twin, "org.example.hot", LIBXL_CHANNEL_CONNECTION_PTY, NULL, "driver-dom");
    CHECK_INT(libxl_device_channel_add(ctx, 67, &twin, NULL), ERROR_INVAL);
    libxl_device_channel_dispose(&twin);
    d = stored(ctx, 67);
    CHECK_INT(d.num_channels, 2);
    libxl_domain_config_dispose(&d);

    CHECK_INT(libxl_device_channel_remove(ctx, 67, &c, NULL), 0);
    CHECK_INT(nodes_present(67, 1), 0);
    d = stored(ctx, 67);
    CHECK_INT(d.num_channels, 1);
    if (d.num_channels == 1) CHECK_STR(d.channels[0].name, "org.example.created");
    libxl_domain_config_dispose(&d);
    libxl_device_channel_dispose(&c);

    CHECK_INT(libxl_userdata_unlink(ctx, 67, "libxl-json"), 0);
    unsetenv("XLCHANNEL_SHIM_DOMAINS");
    if (made_lib_dir) CHECK_INT(rmdir(lib_dir), 0);
}

int main(void)
{
    xentoollog_logger *lg =
        (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    libxl_ctx *ctx;
    libxl_domain_config d;
    char **args;
    int need;

    xs = xs_open(0);
    if (!xs || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) {
        fprintf(stderr, "no xenstore or no libxl context\n");
        return 2;
    }
    xs_put(xs, "/local/domain/0/domid", "0");
    register_domain(xs, 0, "Domain-0");
    register_domain(xs, 3, "driver-dom");
    for (unsigned dom = 61; dom <= 64; dom++) register_domain(xs, dom, "guest");

    /* Channels served by dom0 (and one by a driver domain): consoles 1, 2, 3; qemu needed. */
    pv_config(&d, 3);
    channel(&d.channels[0], "org.example.agent", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    channel(&d.channels[1], "org.example.config", LIBXL_CHANNEL_CONNECTION_SOCKET,
            "/run/xen/test-61.sock", NULL);
    channel(&d.channels[2], "org.example.remote", LIBXL_CHANNEL_CONNECTION_PTY, NULL,
            "driver-dom");
    need = -1;
    CHECK_INT(libxl_test_channels(ctx, 61, &d, &need, &args), 0);
    CHECK_INT(need, 1);
    CHECK_INT(d.channels[0].devid, 1);
    CHECK_INT(d.channels[1].devid, 2);
    CHECK_INT(d.channels[2].devid, 3);
    CHECK_INT(d.channels[2].backend_domid, 3);
    check_args(args, (const char *const[]){
        "-chardev", "pty,id=libxl-channel1",
        "-chardev", "socket,id=libxl-channel2,path=/run/xen/test-61.sock,server=on,wait=off",
        "-chardev", "pty,id=libxl-channel3", NULL });
    free_args(args);
    check_node("/local/domain/61/device/console/1", "", "n61,r0");
    check_node("/local/domain/61/device/console/1/name", "org.example.agent", "n0,r61");
    check_node("/local/domain/61/device/console/1/output", "pty", "n0,r61");
    check_node("/local/domain/61/device/console/1/state", "1", "n61,r0");
    check_node("/local/domain/61/device/console/2/output", "chardev:libxl-channel2", "n0,r61");
    check_node("/local/domain/61/device/console/2/backend",
               "/local/domain/0/backend/console/61/2", NULL);
    check_node("/local/domain/0/backend/console/61/2/connection", "socket", "n0,r61");
    check_node("/local/domain/0/backend/console/61/2/path", "/run/xen/test-61.sock", "n0,r61");
    check_node("/local/domain/3/backend/console/61/3/name", "org.example.remote", "n3,r61");
    check_node("/local/domain/61/device/console/3/backend-id", "3", "n61,r3");
    check_node("/libxl/61/device/console/2/path", "/run/xen/test-61.sock", "n0");
    check_node("/libxl/61/device/console/3/backend", "/local/domain/3/backend/console/61/3",
               "n0");
    libxl_domain_config_dispose(&d);

    /* Every channel served by the driver domain: no qemu here. */
    pv_config(&d, 2);
    channel(&d.channels[0], "a", LIBXL_CHANNEL_CONNECTION_PTY, NULL, "driver-dom");
    channel(&d.channels[1], "b", LIBXL_CHANNEL_CONNECTION_PTY, NULL, "3");
    CHECK_INT(libxl_test_channels(ctx, 62, &d, &need, &args), 0);
    CHECK_INT(need, 0);
    CHECK_INT(d.channels[0].backend_domid, 3);
    CHECK_INT(d.channels[1].backend_domid, 3);
    free_args(args);
    libxl_domain_config_dispose(&d);

    /* No channels: nothing written, no qemu, no arguments. */
    pv_config(&d, 0);
    CHECK_INT(libxl_test_channels(ctx, 63, &d, &need, &args), 0);
    CHECK_INT(need, 0);
    CHECK(args && !args[0]);
    free_args(args);
    CHECK(xs_get(xs, "/libxl/63/device/console") == NULL);
    libxl_domain_config_dispose(&d);

    /* A channel without a name fails creation with libxl's error; nothing is left. */
    pv_config(&d, 2);
    channel(&d.channels[0], "fine", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    channel(&d.channels[1], NULL, LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    CHECK_INT(libxl_test_channels(ctx, 64, &d, &need, &args), ERROR_INVAL);
    CHECK(args == NULL);
    CHECK(xs_get(xs, "/libxl/64/device/console/1") == NULL);
    CHECK(xs_get(xs, "/local/domain/64/device/console/1") == NULL);
    libxl_domain_config_dispose(&d);

    test_add_remove_destroy(ctx);
    test_without_device_model();
    test_stored_configuration(ctx);

    libxl_ctx_free(ctx);
    xs_close(xs);
    xtl_logger_destroy(lg);
    return check_summary("libxl-inside");
}
