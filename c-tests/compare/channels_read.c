/* libxl_device_channel_list + libxl_device_channel_getinfo for every domain that
 * channels_setup wrote, printed field by field; built against real libxenlight
 * (-DREAL_LIBXL) and against xlchannel, then compared by compare.sh. */
#include <string.h>

#ifdef REAL_LIBXL
#include <libxl.h>
#else
#include "libxl_channel.h"
#endif

static libxl_ctx *ctx;

#include "print.h"

static void read_domain(const void *arg)
{
    unsigned domid = *(const unsigned *)arg;
    int num = -5;
    libxl_device_channel *list = libxl_device_channel_list(ctx, domid, &num);
    printf("num=%d list=%s", num, list ? "array" : "NULL");
    for (int i = 0; i < num; i++) {
        printf(" | ch%d: ", i);
        put_channel(&list[i]);
        libxl_channelinfo info;
        libxl_channelinfo_init(&info);
        int rc = libxl_device_channel_getinfo(ctx, domid, &list[i], &info);
        printf(" getinfo rc=%d ", rc);
        put_info(&info);
        libxl_channelinfo_dispose(&info);
        libxl_device_channel_dispose(&list[i]);
    }
    free(list);
    /* getinfo for a channel number nobody listed */
    libxl_device_channel ghost;
    libxl_device_channel_init(&ghost);
    ghost.devid = 9;
    ghost.connection = LIBXL_CHANNEL_CONNECTION_PTY;
    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    int rc = libxl_device_channel_getinfo(ctx, domid, &ghost, &info);
    printf(" | ghost rc=%d ", rc);
    put_info(&info);
    libxl_channelinfo_dispose(&info);
}

int main(void)
{
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    char label[32];
    for (unsigned d = 20; d <= 39; d++) {
        snprintf(label, sizeof(label), "domain%u", d);
        run_case(label, read_domain, &d);
    }
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    return 0;
}
