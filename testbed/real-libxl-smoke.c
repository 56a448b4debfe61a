/*
 * real-libxl-smoke.c -- proves that Debian's real libxenlight works against the testbed.
 *
 * Allocates a real libxl context (needs xenshim.so preloaded: libxl_ctx_alloc opens a
 * libxenctrl handle) and lists the channels of a domain from the private xenstored
 * (needs XENSTORED_PATH), printing each as libxl's own JSON.
 *
 * Build: gcc -Wall -Wextra -Werror -o real-libxl-smoke real-libxl-smoke.c -lxenlight -lxentoollog
 * Run:   testbed/with-xenstored.sh ./real-libxl-smoke [DOMID]      (DOMID defaults to 1)
 * Exit:  0 on success, 1 if libxl_ctx_alloc fails, 2 on bad usage.
 */
#include <stdio.h>
#include <stdlib.h>

#include <libxl.h>
#include <xentoollog.h>

int main(int argc, char **argv)
{
    uint32_t domid = argc > 1 ? (uint32_t)strtoul(argv[1], NULL, 10) : 1;
    xentoollog_logger_stdiostream *lg;
    libxl_ctx *ctx = NULL;
    libxl_device_channel *chans;
    int n = -1, i, rc;

    if (argc > 2) {
        fprintf(stderr, "usage: %s [DOMID]\n", argv[0]);
        return 2;
    }
    lg = xtl_createlogger_stdiostream(stderr, XTL_PROGRESS, 0);
    rc = libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, (xentoollog_logger *)lg);
    printf("libxl_ctx_alloc rc=%d\n", rc);
    if (rc) {
        xtl_logger_destroy((xentoollog_logger *)lg);
        return 1;
    }

    chans = libxl_device_channel_list(ctx, domid, &n);
    printf("libxl_device_channel_list(domid=%u) n=%d\n", domid, n);
    for (i = 0; i < n; i++) {
        char *json = libxl_device_channel_to_json(ctx, &chans[i]);
        printf("channel[%d] = %s\n", i, json ? json : "(null)");
        free(json);
        libxl_device_channel_dispose(&chans[i]);
    }
    free(chans);

    libxl_ctx_free(ctx);
    printf("libxl_ctx_free done\n");
    xtl_logger_destroy((xentoollog_logger *)lg);
    return 0;
}
