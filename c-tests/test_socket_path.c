/* libxl_device_channel_add refuses a socket channel whose path is not absolute (an addition
 * to libxl 4.17's checks, ERROR_INVAL) and writes nothing; an absolute path and a pty are
 * added. Under ASan/LSan in the real-xenstored test bed (--no-preload). The channels are
 * served by a driver domain: no device model runs here, and hot-adding a channel served by
 * dom0 would need one (the paths are checked before that: c-tests/test_hotplug.c). */
#include <stdlib.h>
#include <string.h>

#include "libxl_channel.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"

static struct capture_logger logger;
static libxl_ctx *ctx;

#define DRIVER_DOMID 3

static int add(unsigned domid, libxl_channel_connection conn, const char *path, int *devid)
{
    /* Each channel a name of its own: a domain's channels have distinct names. */
    static int serial;
    char name[64];
    snprintf(name, sizeof(name), "org.example.path%d", serial++);
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup(name);
    libxl_device_channel_init_connection(&c, conn);
    if (path) c.u.socket.path = strdup(path);
    c.backend_domid = DRIVER_DOMID;
    capture_clear(&logger);
    int rc = libxl_device_channel_add(ctx, domid, &c, NULL);
    *devid = c.devid;
    libxl_device_channel_dispose(&c);
    return rc;
}

int main(void)
{
    capture_init(&logger);
    struct xs_handle *xs = xs_open(0);
    CHECK(xs != NULL);
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)&logger), 0);
    if (!xs || !ctx) return check_summary("test_socket_path");
    CHECK_INT(register_domain(xs, 9, "guest9"), 0);
    CHECK_INT(register_domain(xs, DRIVER_DOMID, "driver-dom"), 0);

    static const struct { const char *path, *message; } refused[] = {
        { "run/agent.sock",
          "Domain 9:channel 1 has a relative path 'run/agent.sock'; a socket path must be absolute\n" },
        { "./agent.sock",
          "Domain 9:channel 1 has a relative path './agent.sock'; a socket path must be absolute\n" },
        { "", "Domain 9:channel 1 has an empty path\n" },
    };
    int devid = 0;
    for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
        CHECK_INT(add(9, LIBXL_CHANNEL_CONNECTION_SOCKET, refused[i].path, &devid), ERROR_INVAL);
        CHECK(strstr(logger.all, refused[i].message) != NULL);
        CHECK(capture_ends_with(&logger, "Domain 9:Unable to add channel device"));
        char *left = xs_get(xs, "/libxl/9");
        CHECK(left == NULL);
        free(left);
        left = xs_get(xs, "/local/domain/9/device/console/1");
        CHECK(left == NULL);
        free(left);
    }
    CHECK_INT(add(9, LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/agent.sock", &devid), 0);
    CHECK_INT(devid, 1);
    CHECK_INT(add(9, LIBXL_CHANNEL_CONNECTION_PTY, NULL, &devid), 0);
    CHECK_INT(devid, 2);
    char *path = xs_get(xs, "/libxl/9/device/console/1/path");
    CHECK_STR(path, "/run/agent.sock");
    free(path);
    path = xs_get(xs, "/libxl/9/device/console/1/backend");
    CHECK_STR(path, "/local/domain/3/backend/console/9/1");
    free(path);

    libxl_ctx_free(ctx);
    xs_close(xs);
    return check_summary("test_socket_path");
}
