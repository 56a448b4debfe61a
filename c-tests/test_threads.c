/* One context shared by 8 threads at once, as libxl.h allows for libxl_ctx ("thread-safe"):
 * each thread adds channels to its own domain and to one domain they all share, lists them,
 * reads them back with getinfo and round-trips them through JSON, against the test bed's
 * real xenstored. Runs under ASan/UBSan; every result is checked in the main thread.
 * The channels are served by a driver domain: no device model runs here, and channels
 * served by dom0 would need one (the strict hot-add rule, c-tests/test_hotplug.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "libxl_channel.h"
#include "check.h"
#include "xs_helpers.h"

#define THREADS 8
#define ROUNDS 25
#define SHARED_DOMID 60u
#define FIRST_OWN_DOMID 61u
#define DRIVER_DOMID 59u

static libxl_ctx *ctx;

/* A logger that several threads may call at once: counts messages, keeps the first. */
struct shared_logger {
    xentoollog_logger vtable;
    pthread_mutex_t lock;
    int messages;
    char first[512];
};

static void shared_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                            const char *context, const char *format, va_list al)
{
    struct shared_logger *s = (struct shared_logger *)lg;
    (void)level; (void)errnoval; (void)context;
    char text[512];
    vsnprintf(text, sizeof(text), format, al);
    pthread_mutex_lock(&s->lock);
    if (!s->messages++) snprintf(s->first, sizeof(s->first), "%s", text);
    pthread_mutex_unlock(&s->lock);
}

static void shared_progress(xentoollog_logger *lg, const char *context, const char *doing,
                            int percent, unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing; (void)percent; (void)done; (void)total;
}

static void shared_destroy(xentoollog_logger *lg) { (void)lg; }

static struct shared_logger logger = {
    .vtable = { shared_vmessage, shared_progress, shared_destroy },
    .lock = PTHREAD_MUTEX_INITIALIZER,
};

/* What one thread saw; the main thread checks it. */
struct outcome {
    int index;
    int add_failures, shared_add_failures, list_wrong, getinfo_wrong, json_wrong;
    int own_devids[ROUNDS], shared_devids[ROUNDS];
};

static int add_pty(unsigned domid, const char *name, int *devid)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    c.name = strdup(name);
    c.backend_domid = DRIVER_DOMID;
    int rc = libxl_device_channel_add(ctx, domid, &c, NULL);
    *devid = c.devid;
    libxl_device_channel_dispose(&c);
    return rc;
}

static void *worker(void *arg)
{
    struct outcome *o = arg;
    unsigned domid = FIRST_OWN_DOMID + (unsigned)o->index;
    char name[64];
    for (int round = 0; round < ROUNDS; round++) {
        snprintf(name, sizeof(name), "org.thread.%d.%d", o->index, round);
        if (add_pty(domid, name, &o->own_devids[round])) o->add_failures++;
        if (add_pty(SHARED_DOMID, name, &o->shared_devids[round])) o->shared_add_failures++;

        int n = 0;
        libxl_device_channel *list = libxl_device_channel_list(ctx, domid, &n);
        if (n != round + 1 || !list) {
            o->list_wrong++;
        } else {
            libxl_device_channel *last = &list[n - 1];
            libxl_channelinfo info;
            libxl_channelinfo_init(&info);
            /* list numbers from 0: the channel just added is number `round`, on console
             * devid round + 1. */
            char frontend[64];
            snprintf(frontend, sizeof(frontend), "/local/domain/%u/device/console/%d", domid,
                     round + 1);
            if (libxl_device_channel_getinfo(ctx, domid, last, &info) || info.devid != round
                || info.frontend_id != domid || !info.frontend || strcmp(info.frontend, frontend)
                || info.connection != LIBXL_CHANNEL_CONNECTION_PTY || info.backend_id != DRIVER_DOMID)
                o->getinfo_wrong++;
            libxl_channelinfo_dispose(&info);

            char *json = libxl_device_channel_to_json(ctx, last);
            libxl_device_channel back;
            libxl_device_channel_init(&back);
            if (!json || libxl_device_channel_from_json(ctx, &back, json)
                || !back.name || strcmp(back.name, name) || back.devid != last->devid)
                o->json_wrong++;
            libxl_device_channel_dispose(&back);
            free(json);
        }
        libxl_device_channel_list_free(list, n);
    }
    return NULL;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

int main(void)
{
    struct xs_handle *xs = xs_open(0);
    CHECK(xs != NULL);
    if (!xs) return 1;
    CHECK_INT(register_domain(xs, SHARED_DOMID, "shared"), 0);
    CHECK_INT(register_domain(xs, DRIVER_DOMID, "thread-driver"), 0);
    for (unsigned t = 0; t < THREADS; t++) {
        char name[32];
        snprintf(name, sizeof(name), "own%u", t);
        CHECK_INT(register_domain(xs, FIRST_OWN_DOMID + t, name), 0);
    }
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable), 0);

    static struct outcome outcomes[THREADS];
    pthread_t threads[THREADS];
    for (int t = 0; t < THREADS; t++) {
        outcomes[t].index = t;
        CHECK_INT(pthread_create(&threads[t], NULL, worker, &outcomes[t]), 0);
    }
    for (int t = 0; t < THREADS; t++) CHECK_INT(pthread_join(threads[t], NULL), 0);

    static int shared[THREADS * ROUNDS];
    for (int t = 0; t < THREADS; t++) {
        struct outcome *o = &outcomes[t];
        CHECK_INT(o->add_failures, 0);
        CHECK_INT(o->shared_add_failures, 0);
        CHECK_INT(o->list_wrong, 0);
        CHECK_INT(o->getinfo_wrong, 0);
        CHECK_INT(o->json_wrong, 0);
        /* A domain of one thread's own: devids 1, 2, 3, ... in order. */
        int in_order = 1;
        for (int r = 0; r < ROUNDS; r++) in_order &= o->own_devids[r] == r + 1;
        CHECK(in_order);
        memcpy(&shared[t * ROUNDS], o->shared_devids, sizeof(o->shared_devids));
    }
    /* The shared domain: every add got its own devid, together exactly 1..THREADS*ROUNDS. */
    qsort(shared, THREADS * ROUNDS, sizeof(int), cmp_int);
    int exact = 1;
    for (int i = 0; i < THREADS * ROUNDS; i++) exact &= shared[i] == i + 1;
    CHECK(exact);
    int n = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, SHARED_DOMID, &n);
    CHECK_INT(n, THREADS * ROUNDS);
    libxl_device_channel_list_free(list, n);

    CHECK_INT(logger.messages, 0);
    if (logger.messages) fprintf(stderr, "first message: %s\n", logger.first);

    /* An error logged from a thread names the libxl function and libxl's file for it. */
    int devid = 0;
    CHECK_INT(add_pty(SHARED_DOMID, "org.thread.dup", &devid), 0);
    libxl_device_channel dup;
    libxl_device_channel_init(&dup);
    libxl_device_channel_init_connection(&dup, LIBXL_CHANNEL_CONNECTION_PTY);
    dup.name = strdup("org.thread.dup2");
    dup.devid = devid; /* served by dom0, but the devid taken is found first */
    CHECK_INT(libxl_device_channel_add(ctx, SHARED_DOMID, &dup, NULL), ERROR_DEVICE_EXISTS);
    libxl_device_channel_dispose(&dup);
    CHECK(logger.messages > 0);
    CHECK(!strncmp(logger.first, "libxl_console.c:", strlen("libxl_console.c:")));
    CHECK(strstr(logger.first, ":libxl_device_channel_add: Domain 60:") != NULL);

    libxl_ctx_free(ctx);
    xs_close(xs);
    return check_summary("test_threads");
}
