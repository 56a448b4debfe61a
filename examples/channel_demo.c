/* The cloud-agent scenario of Xen's channel documentation, as a dom0 toolstack written in
 * C would run it with xlchannel: add the guest agent's channels to a running domain, then
 * list them the way `xl channel-list` does. Usage: channel_demo DOMID SOCKET_PATH */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxl_channel.h>

static int add(libxl_ctx *ctx, unsigned domid, const char *name,
               libxl_channel_connection connection, const char *path)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup(name);
    libxl_device_channel_init_connection(&c, connection);
    if (path) c.u.socket.path = strdup(path);
    int rc = libxl_device_channel_add(ctx, domid, &c, NULL);
    if (!rc) {
        char *json = libxl_device_channel_to_json(ctx, &c);
        printf("added console %d for '%s':\n%s", c.devid, name, json);
        free(json);
    }
    libxl_device_channel_dispose(&c);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s DOMID SOCKET_PATH\n", argv[0]);
        return 2;
    }
    unsigned domid = (unsigned)strtoul(argv[1], NULL, 10);
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    libxl_ctx *ctx;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) return 1;

    if (add(ctx, domid, "org.my.cloud.software.agent.version1", LIBXL_CHANNEL_CONNECTION_SOCKET, argv[2]) ||
        add(ctx, domid, "org.xenproject.guest.clipboard.0.1", LIBXL_CHANNEL_CONNECTION_PTY, NULL))
        return 1;
    /* A mistake an administrator might make: reported, nothing written. */
    printf("adding a socket channel without a path:\n");
    fflush(stdout);
    int rc = add(ctx, domid, "org.example.broken", LIBXL_CHANNEL_CONNECTION_SOCKET, NULL);
    printf("  -> rc=%d (ERROR_INVAL is %d)\n\n", rc, ERROR_INVAL);

    int num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, domid, &num);
    printf("%-3s %-2s %-5s %-6s %8s %-10s %-30s\n", "Idx", "BE", "state", "evt-ch", "ring-ref", "connection", "");
    for (int i = 0; i < num; i++) {
        libxl_channelinfo info;
        libxl_channelinfo_init(&info);
        if (!libxl_device_channel_getinfo(ctx, domid, &list[i], &info)) {
            printf("%-3d %-2d %-5d %-6d %-8d %-10s ", info.devid, info.backend_id, info.state, info.evtch,
                   info.rref, libxl_channel_connection_to_string(info.connection));
            if (info.connection == LIBXL_CHANNEL_CONNECTION_PTY) printf("%-30s ", info.u.pty.path);
            printf("\n");
        }
        libxl_channelinfo_dispose(&info);
    }
    libxl_device_channel_list_free(list, num);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    return 0;
}
