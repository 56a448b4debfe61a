/* libxl_device_channel_list of one domain as JSON; built against real libxenlight for
 * `make demo`, to show it reads what xlchannel wrote. Usage: channels_list DOMID */
#include <stdlib.h>
#ifdef REAL_LIBXL
#include <libxl.h>
#else
#include "libxl_channel.h"
#endif
#include <stdio.h>

int main(int argc, char **argv)
{
    libxl_ctx *ctx;
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (argc != 2 || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) return 2;
    int num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, (uint32_t)atoi(argv[1]), &num);
    for (int i = 0; i < num; i++) {
        char *json = libxl_device_channel_to_json(ctx, &list[i]);
        printf("%s", json);
        free(json);
        libxl_device_channel_dispose(&list[i]);
    }
    free(list);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    return 0;
}
