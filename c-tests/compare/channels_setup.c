/* Writes the channel sets the list/getinfo comparison reads: most through xlchannel's
 * xlchannel_xs_channel_add (the nodes alone, in a transaction of ours: no device model
 * runs here, and a hot add of a dom0-served channel would need one), some "the libxl way" by another writer (raw xenstore writes,
 * as libxl 4.17 or a buggy toolstack would leave them), some then vandalised as a guest
 * could. Run once per test bed, before channels_read (real and ours). */
#include <stdlib.h>
#include <string.h>

#include "libxl_channel.h"
#include "libxl_channel_embed.h"
#include "../xs_helpers.h"

static libxl_ctx *ctx;
static struct xs_handle *xs;
static int failures;

static void add(unsigned domid, const char *name, int conn, const char *path, const char *backend)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup(name);
    libxl_device_channel_init_connection(&c, conn);
    if (path) c.u.socket.path = strdup(path);
    if (backend) c.backend_domname = strdup(backend);
    if (xs_add_nodes(xs, NULL, domid, &c)) {
        fprintf(stderr, "add %s to %u failed\n", name, domid);
        failures++;
    }
    libxl_device_channel_dispose(&c);
}

/* A console as libxl 4.17's generic device code leaves it, written key by key. */
static void raw_console(unsigned domid, int devid, const char *name, const char *connection,
                        const char *path, const char *backend_path)
{
    char p[256], fe[128], be[128];
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/console/%d", domid, devid);
    snprintf(be, sizeof(be), "%s", backend_path);
#define PUT(base, key, value) do { snprintf(p, sizeof(p), "%s/%s", base, key); xs_put(xs, p, value); } while (0)
    char lx[128];
    snprintf(lx, sizeof(lx), "/libxl/%u/device/console/%d", domid, devid);
    PUT(lx, "frontend", fe);
    PUT(lx, "backend", be);
    PUT(fe, "backend", be);
    PUT(fe, "backend-id", "0");
    PUT(fe, "state", "1");
    PUT(fe, "tty", "/dev/pts/7");
    PUT(be, "frontend", fe);
    if (name) { PUT(lx, "name", name); PUT(fe, "name", name); }
    if (connection) PUT(lx, "connection", connection);
    if (path) PUT(lx, "path", path);
#undef PUT
}

int main(void)
{
    xs = xs_open(0);
    if (!xs || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, NULL)) return 2;
    register_domain(xs, 3, "driver-dom");
    for (unsigned d = 20; d <= 40; d++) {
        char name[16];
        snprintf(name, sizeof(name), "guest%u", d);
        register_domain(xs, d, name);
    }
    add(20, "org.example.pty", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    add(21, "org.example.sock", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/xen/channel.sock", NULL);
    add(22, "org.example.agent-1_v2", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    add(22, "name with spaces", LIBXL_CHANNEL_CONNECTION_SOCKET, "/tmp/dir with space/s,1=2.sock", NULL);
    add(22, "\xc3\xbcn\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    add(22, "a=b,c;d'\"x", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/'q\"", NULL);
    add(23, "org.example.driver", LIBXL_CHANNEL_CONNECTION_PTY, NULL, "driver-dom");
    add(23, "org.example.driver2", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/d2", "3");
    /* Another writer, libxl's layout: consoles created in the order 2, 1. */
    raw_console(30, 2, "second", "socket", "/run/2", "/local/domain/0/backend/console/30/2");
    raw_console(30, 1, "first", "pty", NULL, "/local/domain/0/backend/console/30/1");
    /* A plain console (no name) before a channel: list skips it, getinfo of channel 0
     * reads console 1 (libxl 4.17's numbering). */
    raw_console(31, 1, NULL, NULL, NULL, "/local/domain/0/backend/console/31/1");
    raw_console(31, 2, "after-plain", "pty", NULL, "/local/domain/0/backend/console/31/2");
    /* A socket channel whose path node is missing. */
    raw_console(32, 1, "no-path", "socket", NULL, "/local/domain/0/backend/console/32/1");
    /* A connection libxl does not know: the whole list fails. */
    raw_console(33, 1, "serial", "serial", NULL, "/local/domain/0/backend/console/33/1");
    /* A backend path libxl cannot parse: getinfo fails after reading it. */
    raw_console(34, 1, "odd-backend", "pty", NULL, "/weird/path");
    raw_console(35, 1, "be-domid-7", "pty", NULL, "/local/domain/7/backend/console/35/1");
    /* A hostile guest: junk numbers, deleted tty, whole frontends deleted. */
    add(36, "vandalised", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    add(36, "deleted", LIBXL_CHANNEL_CONNECTION_PTY, NULL, NULL);
    add(36, "junk", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/j", NULL);
    xs_put(xs, "/local/domain/36/device/console/1/state", "  -17xyz");
    xs_put(xs, "/local/domain/36/device/console/1/ring-ref", "18446744073709551617");
    xs_put(xs, "/local/domain/36/device/console/1/port", "+0x10");
    xs_rm(xs, XBT_NULL, "/local/domain/36/device/console/1/tty");
    xs_rm(xs, XBT_NULL, "/local/domain/36/device/console/2");
    xs_put(xs, "/local/domain/36/device/console/3/state", "");
    xs_put(xs, "/local/domain/36/device/console/3/name", "renamed-by-guest");
    /* A named console without a connection: libxl 4.17 crashes listing it. */
    raw_console(39, 1, "no-connection", NULL, NULL, "/local/domain/0/backend/console/39/1");
    /* 37: no channels at all; 38: a console directory with no entries. */
    xs_mkdir(xs, XBT_NULL, "/libxl/38/device/console");
    libxl_ctx_free(ctx);
    xs_close(xs);
    return failures ? 1 : 0;
}
