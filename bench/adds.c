/* Adds through xlchannel's xenstore-only embedding API (what every add does in xenstore;
 * the domains of the bench have no device model), for make bench.
 *   adds sep DOMID N [MARK]        N xlchannel_xs_channel_add calls (one connection)
 *   adds create DOMID N [MARK]     one xlchannel_xs_channels_create call with N channels
 *   adds conc DOMID WRITERS EACH   WRITERS processes, each with a connection, EACH adds each
 * sep/create print "seconds=S per_add_ms=P last16_ms=L errors=E"; with MARK the requests
 * of the measured part are framed in the xenstored trace (reads of /bench/mark/MARK-begin,
 * -end; for sep, around the last add only). conc prints
 * "channels=C distinct_devids=D errors=E seconds=S" after checking the domain's list. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <xenstore.h>

#include "libxl_channel.h"
#include "libxl_channel_embed.h"

/* The backend of every channel: a driver domain bench.py registers, since the bench's
 * domains have no device model (a hot add served by the local domain needs one). */
#define DRIVER_DOMAIN 1999

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void mark(struct xs_handle *xs, const char *name, const char *end)
{
    char path[128];
    unsigned len;
    if (!xs || !name) return;
    snprintf(path, sizeof(path), "/bench/mark/%s-%s", name, end);
    free(xs_read(xs, XBT_NULL, path, &len));
}

static void channel(libxl_device_channel *c, const char *tag, int w, int i)
{
    char name[64];
    snprintf(name, sizeof(name), "org.bench.%s.%d.%d", tag, w, i);
    libxl_device_channel_init(c);
    c->name = strdup(name);
    libxl_device_channel_init_connection(c, LIBXL_CHANNEL_CONNECTION_PTY);
    c->backend_domid = DRIVER_DOMAIN;
}

static int add_many(struct xs_handle *own, xentoollog_logger *lg, uint32_t domid, const char *tag, int w, int n,
                    struct xs_handle *xs, const char *marker, double *last16)
{
    int errors = 0;
    double t16 = 0;
    for (int i = 0; i < n; i++) {
        libxl_device_channel c;
        channel(&c, tag, w, i);
        if (i == n - 1) mark(xs, marker, "begin");
        double t0 = now_s();
        errors += xlchannel_xs_channel_add(own, XBT_NULL, lg, domid, &c) != 0;
        if (i >= n - 16) t16 += now_s() - t0;
        if (i == n - 1) mark(xs, marker, "end");
        libxl_device_channel_dispose(&c);
    }
    if (last16) *last16 = t16 / (n < 16 ? n : 16);
    return errors;
}

int main(int argc, char **argv)
{
    if (argc < 5 && !(argc >= 4 && strcmp(argv[1], "conc"))) {
        fprintf(stderr, "usage: %s sep|create DOMID N [MARK] | conc DOMID WRITERS EACH\n", argv[0]);
        return 2;
    }
    uint32_t domid = (uint32_t)strtoul(argv[2], NULL, 10);
    int n = atoi(argv[3]);
    const char *marker = argc > 4 ? argv[4] : NULL;
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (!strcmp(argv[1], "conc")) {
        int writers = n, each = atoi(argv[4]);
        double t0 = now_s();
        for (int w = 0; w < writers; w++) {
            if (fork() == 0) {
                struct xs_handle *own = xs_open(0);
                if (!own) _exit(each > 255 ? 255 : each);
                int errors = add_many(own, lg, domid, "conc", w, each, NULL, NULL, NULL);
                xs_close(own);
                _exit(errors > 255 ? 255 : errors);
            }
        }
        int errors = 0;
        for (int w = 0; w < writers; w++) {
            int status;
            wait(&status);
            errors += WIFEXITED(status) ? WEXITSTATUS(status) : each;
        }
        double seconds = now_s() - t0;
        struct xs_handle *xs = xs_open(0);
        int num = 0;
        libxl_device_channel *list = xs ? xlchannel_xs_channel_list(xs, XBT_NULL, lg, domid, &num) : NULL;
        libxl_device_channel_list_free(list, num);
        /* Distinct console devids: each of 1..writers*each holds a channel. */
        int distinct = 0;
        for (int d = 1; xs && d <= writers * each; d++) {
            char path[96];
            unsigned len;
            snprintf(path, sizeof(path), "/libxl/%u/device/console/%d/name", domid, d);
            char *v = xs_read(xs, XBT_NULL, path, &len);
            distinct += v != NULL;
            free(v);
        }
        if (xs) xs_close(xs);
        printf("channels=%d distinct_devids=%d errors=%d seconds=%.3f\n", num, distinct, errors, seconds);
        xtl_logger_destroy(lg);
        return 0;
    }
    struct xs_handle *xs = xs_open(0);
    if (!xs) return 2;
    int errors = 0;
    double t0 = now_s(), last16 = 0;
    if (!strcmp(argv[1], "sep")) {
        errors = add_many(xs, lg, domid, marker ? marker : "sep", 0, n, xs, marker, &last16);
    } else {
        libxl_device_channel *c = calloc(n, sizeof(*c));
        for (int i = 0; i < n; i++) channel(&c[i], "create", 0, i);
        mark(xs, marker, "begin");
        errors = xlchannel_xs_channels_create(xs, XBT_NULL, lg, domid, c, n) != 0;
        mark(xs, marker, "end");
        libxl_device_channel_list_free(c, n);
    }
    double seconds = now_s() - t0;
    printf("seconds=%.4f per_add_ms=%.4f last16_ms=%.4f errors=%d\n", seconds, seconds * 1e3 / n,
           last16 * 1e3, errors);
    xs_close(xs);
    xtl_logger_destroy(lg);
    return 0;
}
