/* One list + getinfo pass over every channel of a domain, what `xl channel-list` does:
 * built against Debian's real libxenlight (-DREAL_LIBXL, <libxl.h>, -lxenlight) and
 * against xlchannel. Usage: listinfo DOMID PASSES [MARK]
 * Runs PASSES passes after one warm-up pass and prints
 *     channels=N passes=P median_us=M min_us=A max_us=B checksum=C
 * With MARK, reads /bench/mark/MARK-begin and -end through a handle of its own around the
 * first measured pass, so the xenstored trace shows where the pass's requests are. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <xenstore.h>

#ifdef REAL_LIBXL
#include <libxl.h>
#else
#include "libxl_channel.h"
#endif

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void mark(struct xs_handle *xs, const char *name, const char *end)
{
    char path[128];
    unsigned len;
    snprintf(path, sizeof(path), "/bench/mark/%s-%s", name, end);
    free(xs_read(xs, XBT_NULL, path, &len));
}

/* One pass: the list, then getinfo of each channel; a checksum of what was read so the
 * work cannot be skipped and both libraries can be compared. */
static long pass(libxl_ctx *ctx, uint32_t domid, int *channels)
{
    int num = 0;
    long sum = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, domid, &num);
    for (int i = 0; i < num; i++) {
        libxl_channelinfo info;
        libxl_channelinfo_init(&info);
        if (libxl_device_channel_getinfo(ctx, domid, &list[i], &info) == 0)
            sum += info.state + info.devid + (long)strlen(info.frontend ? info.frontend : "") +
                   (info.connection == LIBXL_CHANNEL_CONNECTION_PTY && info.u.pty.path ? 1 : 0);
        libxl_channelinfo_dispose(&info);
        libxl_device_channel_dispose(&list[i]);
    }
    free(list);
    *channels = num;
    return sum;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s DOMID PASSES [MARK]\n", argv[0]);
        return 2;
    }
    uint32_t domid = (uint32_t)strtoul(argv[1], NULL, 10);
    int passes = atoi(argv[2]);
    const char *marker = argc > 3 ? argv[3] : NULL;
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    libxl_ctx *ctx;
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) return 2;
    struct xs_handle *xs = marker ? xs_open(0) : NULL;
    int channels = 0;
    long checksum = pass(ctx, domid, &channels); /* warm-up */
    double *t = calloc(passes > 0 ? passes : 1, sizeof(double));
    for (int p = 0; p < passes; p++) {
        if (xs && p == 0) mark(xs, marker, "begin");
        double t0 = now_us();
        checksum += pass(ctx, domid, &channels);
        t[p] = now_us() - t0;
        if (xs && p == 0) mark(xs, marker, "end");
    }
    qsort(t, passes, sizeof(double), cmp_double);
    printf("channels=%d passes=%d median_us=%.1f min_us=%.1f max_us=%.1f checksum=%ld\n", channels,
           passes, passes ? t[passes / 2] : 0.0, passes ? t[0] : 0.0, passes ? t[passes - 1] : 0.0,
           checksum);
    free(t);
    if (xs) xs_close(xs);
    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    return 0;
}
