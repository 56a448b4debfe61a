/* A C toolstack's view: built only with `pkg-config --cflags --libs xlchannel` against an
 * installed copy, it allocates a context and round-trips a channel through JSON. */
#include <stdlib.h>
#include <string.h>
#include <libxl_channel.h>
#include "check.h"

int main(void)
{
    libxl_ctx *ctx = NULL;
    libxl_device_channel c;
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, NULL), 0);
    CHECK_INT(libxl_device_channel_from_json(ctx, &c,
        "{\"name\": \"org.example.agent\", \"connection.pty\": {}}"), 0);
    CHECK_STR(c.name, "org.example.agent");
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_PTY);
    libxl_device_channel_dispose(&c);
    CHECK_INT(libxl_ctx_free(ctx), 0);
    return check_summary("pkg-config-client");
}
