/* Channels in a real xenstore (the Debian 4.17 xenstored of the test bed, reached through
 * the real libxenstore): add, list, getinfo, permissions, failures, duplicate names, a
 * hostile guest, concurrent writers (processes, threads, contexts, the embedding API),
 * completion callbacks and the embedding API. Runs under ASan/LSan.
 *
 * No device model runs here, so a hot add of a channel served by dom0 is refused (the
 * strict rule, c-tests/test_hotplug.c): the layout tests write their dom0-served channels'
 * nodes through the embedding API in a transaction of their own (xs_add_nodes, the
 * xenstore layer alone), and the hot adds that must succeed (concurrent writers, ao_how)
 * add channels served by a driver domain, which need no local device model. Refusals
 * (libxl's checks, devids and names taken) come before the device-model check and go
 * through libxl_device_channel_add itself. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libxl_channel.h"
#include "libxl_channel_embed.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"

static struct capture_logger logger;
static libxl_ctx *ctx;
static struct xs_handle *xs;

/* The node at path has this value and these permissions. */
static void check_node(const char *path, const char *value, const char *perms)
{
    char *got = xs_get(xs, path), buf[128];
    if (!got) fprintf(stderr, "missing node %s\n", path);
    CHECK_STR(got, value);
    free(got);
    if (perms) CHECK_STR(xs_perms_text(xs, path, buf, sizeof(buf)), perms);
}

static void channel_init(libxl_device_channel *c, const char *name,
                         libxl_channel_connection connection, const char *path)
{
    libxl_device_channel_init(c);
    c->name = name ? strdup(name) : NULL;
    libxl_device_channel_init_connection(c, connection);
    if (path) c->u.socket.path = strdup(path);
}

/* The driver domain the hot-added channels of this test are served by. */
#define DRIVER_DOMID 3

/* Hot-add one channel; returns rc and leaves the chosen devid in *devid. */
static int add(unsigned domid, const char *name, libxl_channel_connection conn,
               const char *path, int devid_in, const char *backend, int *devid_out)
{
    libxl_device_channel c;
    channel_init(&c, name, conn, path);
    c.devid = devid_in;
    if (backend) c.backend_domname = strdup(backend);
    int rc = libxl_device_channel_add(ctx, domid, &c, NULL);
    if (devid_out) *devid_out = c.devid;
    libxl_device_channel_dispose(&c);
    return rc;
}

/* Write one channel served by dom0 (the nodes alone: xs_add_nodes); as add. */
static int add_nodes(unsigned domid, const char *name, libxl_channel_connection conn,
                     const char *path, int devid_in, int *devid_out)
{
    libxl_device_channel c;
    channel_init(&c, name, conn, path);
    c.devid = devid_in;
    int rc = xs_add_nodes(xs, &logger.vtable, domid, &c);
    if (devid_out) *devid_out = c.devid;
    libxl_device_channel_dispose(&c);
    return rc;
}

static void test_layout_and_permissions(void)
{
    int devid = 0;
    CHECK_INT(register_domain(xs, 5, "guest5"), 0);
    CHECK_INT(add_nodes(5, "org.example.pty", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, &devid), 0);
    CHECK_INT(devid, 1);

    const char *fe = "/local/domain/5/device/console/1";
    const char *be = "/local/domain/0/backend/console/5/1";
    const char *lx = "/libxl/5/device/console/1";
    char p[256];
#define AT(base, key) (snprintf(p, sizeof(p), "%s/%s", base, key), p)
    check_node(fe, "", "n5,r0");
    check_node(AT(fe, "backend"), be, "n5,r0");
    check_node(AT(fe, "backend-id"), "0", "n5,r0");
    check_node(AT(fe, "state"), "1", "n5,r0");
    check_node(AT(fe, "protocol"), "vt100", "n5,r0");
    check_node(AT(fe, "name"), "org.example.pty", "n0,r5");
    check_node(AT(fe, "limit"), "1048576", "n0,r5");
    check_node(AT(fe, "type"), "ioemu", "n0,r5");
    check_node(AT(fe, "output"), "pty", "n0,r5");
    check_node(AT(fe, "tty"), "", "n0,r5");
    check_node(be, "", "n0,r5");
    check_node(AT(be, "frontend"), fe, "n0,r5");
    check_node(AT(be, "frontend-id"), "5", "n0,r5");
    check_node(AT(be, "online"), "1", "n0,r5");
    check_node(AT(be, "state"), "1", "n0,r5");
    check_node(AT(be, "protocol"), "vt100", "n0,r5");
    check_node(AT(be, "name"), "org.example.pty", "n0,r5");
    check_node(AT(be, "connection"), "pty", "n0,r5");
    check_node(AT(lx, "frontend"), fe, "n0");
    check_node(AT(lx, "backend"), be, "n0");
    check_node(AT(lx, "connection"), "pty", "n0");
    check_node(AT(lx, "name"), "org.example.pty", "n0");
    CHECK(xs_get(xs, AT(be, "path")) == NULL);

    CHECK_INT(add_nodes(5, "org.example.sock", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/x y,z.sock",
                        -1, &devid), 0);
    CHECK_INT(devid, 2);
    check_node("/local/domain/5/device/console/2/output", "chardev:libxl-channel2", "n0,r5");
    check_node("/local/domain/0/backend/console/5/2/path", "/run/x y,z.sock", "n0,r5");
    check_node("/libxl/5/device/console/2/path", "/run/x y,z.sock", "n0");
    check_node("/libxl/5/device/console/2/connection", "socket", "n0");

    /* Explicit devids: a gap is kept, an existing one refused. */
    CHECK_INT(add_nodes(5, "org.example.four", LIBXL_CHANNEL_CONNECTION_PTY, NULL, 4, &devid), 0);
    CHECK_INT(devid, 4);
    CHECK_INT(add_nodes(5, "org.example.three", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, &devid), 0);
    CHECK_INT(devid, 3);
    CHECK_INT(add(5, "dup", LIBXL_CHANNEL_CONNECTION_PTY, NULL, 2, NULL, NULL), ERROR_DEVICE_EXISTS);
    CHECK(capture_ends_with(&logger, "Domain 5:Unable to add channel device"));
#undef AT
}

static void test_backend_domain(void)
{
    int devid;
    libxl_device_channel c;
    CHECK_INT(register_domain(xs, 3, "driver-dom"), 0);
    CHECK_INT(register_domain(xs, 6, "guest6"), 0);

    channel_init(&c, "org.example.drv", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    c.backend_domname = strdup("driver-dom");
    CHECK_INT(libxl_device_channel_add(ctx, 6, &c, NULL), 0);
    CHECK_INT(c.devid, 1);
    CHECK_INT(c.backend_domid, 3); /* resolved and written back */
    libxl_device_channel_dispose(&c);
    check_node("/local/domain/3/backend/console/6/1/frontend-id", "6", "n3,r6");
    check_node("/local/domain/6/device/console/1", "", "n6,r3");
    check_node("/local/domain/6/device/console/1/name", "org.example.drv", "n3,r6");
    check_node("/local/domain/6/device/console/1/backend-id", "3", "n6,r3");

    /* A number names a domain directly. */
    CHECK_INT(add(6, "org.example.num", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, "3", &devid), 0);
    check_node("/local/domain/3/backend/console/6/2/name", "org.example.num", "n3,r6");

    CHECK_INT(add(6, "x", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, "no-such-dom", NULL), ERROR_INVAL);
    CHECK(strstr(logger.last, "unknown domain 'no-such-dom'") || capture_ends_with(&logger, "Unable to add channel device"));
}

static void test_add_errors(void)
{
    int before = logger.count;
    CHECK_INT(add(5, NULL, LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, NULL, NULL), ERROR_INVAL);
    CHECK_INT(logger.count, before + 2);
    CHECK(strstr(logger.last, "Unable to add channel device") != NULL);
    CHECK_INT(add(5, "n", LIBXL_CHANNEL_CONNECTION_UNKNOWN, NULL, -1, NULL, NULL), ERROR_INVAL);
    CHECK_INT(add(5, "n", LIBXL_CHANNEL_CONNECTION_SOCKET, NULL, -1, NULL, NULL), ERROR_INVAL);
    CHECK_INT(add(5, "n", 7, NULL, -1, NULL, NULL), ERROR_INVAL);
    CHECK_INT(add(5, "n", LIBXL_CHANNEL_CONNECTION_PTY, NULL, 0, NULL, NULL), ERROR_INVAL);
    CHECK_INT(add(5, "n", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -2, NULL, NULL), ERROR_INVAL);
    CHECK_INT(add(77, "n", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, NULL, NULL), ERROR_DOMAIN_NOTFOUND);
    /* Nothing was written by the failed attempts. */
    char *v = xs_get(xs, "/libxl/5/device/console/5/name");
    CHECK(v == NULL);
    free(v);
    CHECK(xs_get(xs, "/libxl/77") == NULL);

    libxl_device_channel c;
    libxl_device_channel_init(&c);
    CHECK_INT(libxl_device_channel_add(NULL, 5, &c, NULL), ERROR_INVAL);
    CHECK_INT(libxl_device_channel_add(ctx, 5, NULL, NULL), ERROR_INVAL);
    int num = 99;
    CHECK(libxl_device_channel_list(ctx, 5, NULL) == NULL);
    CHECK(libxl_device_channel_list(NULL, 5, &num) == NULL);
    CHECK_INT(num, 0);
    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    CHECK_INT(libxl_device_channel_getinfo(ctx, 5, NULL, &info), ERROR_INVAL);
    CHECK_INT(libxl_device_channel_getinfo(ctx, 5, &c, NULL), ERROR_INVAL);
    libxl_channelinfo_dispose(&info);
}

static void test_list_and_getinfo(void)
{
    int num = -1;
    libxl_device_channel *list = libxl_device_channel_list(ctx, 5, &num);
    CHECK_INT(num, 4);
    if (num != 4) return;
    /* Renumbered 0..n-1 in directory order, as libxl 4.17 does. */
    const char *names[] = { "org.example.pty", "org.example.sock", "org.example.four", "org.example.three" };
    for (int i = 0; i < 4; i++) {
        CHECK_INT(list[i].devid, i);
        CHECK_STR(list[i].name, names[i]);
        CHECK_INT(list[i].backend_domid, 0);
        CHECK(list[i].backend_domname == NULL);
    }
    CHECK_INT(list[0].connection, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK_INT(list[1].connection, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK_STR(list[1].u.socket.path, "/run/x y,z.sock");

    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    CHECK_INT(libxl_device_channel_getinfo(ctx, 5, &list[0], &info), 0);
    CHECK_STR(info.backend, "/local/domain/0/backend/console/5/1");
    CHECK_INT(info.backend_id, 0);
    CHECK_STR(info.frontend, "/local/domain/5/device/console/1");
    CHECK_INT(info.frontend_id, 5);
    CHECK_INT(info.devid, 0);
    CHECK_INT(info.state, 1);
    CHECK_INT(info.evtch, -1);
    CHECK_INT(info.rref, -1);
    CHECK_INT(info.connection, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK_STR(info.u.pty.path, "");
    libxl_channelinfo_dispose(&info);

    /* A channel number beyond the consoles: no backend recorded. */
    libxl_device_channel ghost;
    libxl_device_channel_init(&ghost);
    ghost.devid = 41;
    libxl_channelinfo_init(&info);
    CHECK_INT(libxl_device_channel_getinfo(ctx, 5, &ghost, &info), ERROR_FAIL);
    CHECK_INT(info.devid, 41);
    CHECK(info.backend == NULL);
    libxl_channelinfo_dispose(&info);
    libxl_device_channel_list_free(list, num);

    CHECK(libxl_device_channel_list(ctx, 99, &num) == NULL); /* no channels: not an error */
    CHECK_INT(num, 0);
}

/* A guest may rewrite or delete anything in its frontend directory except the values of the
 * read-only keys. list reads only libxl's dom0 copy; getinfo reads the frontend values
 * libxl reads there, with libxl's parsing. */
static void test_hostile_guest(void)
{
    const char *fe = "/local/domain/5/device/console/1";
    char p[256], huge[3000]; /* xenstored refuses values beyond its 4096-byte payload */
#define AT(key) (snprintf(p, sizeof(p), "%s/%s", fe, key), p)
    CHECK_INT(xs_put(xs, AT("state"), "4294967301junk"), 0);
    CHECK_INT(xs_put(xs, AT("ring-ref"), "-2"), 0);
    memset(huge, '9', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = 0;
    CHECK_INT(xs_put(xs, AT("port"), huge), 0);
    xs_put(xs, AT("backend"), "/local/domain/7/backend/console/5/1");
    xs_put(xs, AT("backend-id"), "7");
    xs_rm(xs, XBT_NULL, AT("name"));
    xs_put(xs, AT("connection"), "socket");
    xs_put(xs, AT("path"), "/etc/shadow");

    int num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, 5, &num);
    CHECK_INT(num, 4);
    if (num >= 1) {
        CHECK_STR(list[0].name, "org.example.pty");
        CHECK_INT(list[0].connection, LIBXL_CHANNEL_CONNECTION_PTY);
    }
    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    CHECK_INT(libxl_device_channel_getinfo(ctx, 5, &list[0], &info), 0);
    CHECK_STR(info.backend, "/local/domain/0/backend/console/5/1"); /* dom0's copy */
    CHECK_INT(info.backend_id, 0);
    CHECK_INT(info.state, 5);      /* strtoul: 4294967301 truncated to int */
    CHECK_INT(info.rref, -2);
    CHECK_INT(info.evtch, -1);     /* saturated */
    CHECK_STR(info.u.pty.path, ""); /* tty is read-only for the guest */
    libxl_channelinfo_dispose(&info);

    /* Deleting the whole frontend: libxl's fallbacks. */
    xs_rm(xs, XBT_NULL, fe);
    libxl_channelinfo_init(&info);
    CHECK_INT(libxl_device_channel_getinfo(ctx, 5, &list[0], &info), 0);
    CHECK_INT(info.state, -1);
    CHECK_INT(info.rref, -1);
    CHECK_INT(info.evtch, -1);
    CHECK_STR(info.u.pty.path, "/NO-SUCH-PATH");
    libxl_channelinfo_dispose(&info);
    libxl_device_channel_list_free(list, num);
#undef AT
}

/* Names and paths go to xenstore as the caller's bytes, whatever their encoding. */
static void test_raw_bytes(void)
{
    CHECK_INT(register_domain(xs, 13, "guest13"), 0);
    int devid = 0;
    CHECK_INT(add_nodes(13, "bad\xff\xfe-name", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/\xe9t\xe9", -1, &devid), 0);
    check_node("/local/domain/13/device/console/1/name", "bad\xff\xfe-name", "n0,r13");
    check_node("/local/domain/0/backend/console/13/1/path", "/run/\xe9t\xe9", "n0,r13");
    int num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, 13, &num);
    CHECK_INT(num, 1);
    if (num == 1) {
        CHECK_STR(list[0].name, "bad\xff\xfe-name");
        CHECK_STR(list[0].u.socket.path, "/run/\xe9t\xe9");
    }
    libxl_device_channel_list_free(list, num);
}

/* A bad connection in libxl's copy (written by a buggy toolstack) fails the whole list. */
static void test_bad_libxl_copy(void)
{
    CHECK_INT(register_domain(xs, 8, "guest8"), 0);
    CHECK_INT(add_nodes(8, "ok", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, NULL), 0);
    xs_put(xs, "/libxl/8/device/console/2/name", "bad");
    xs_put(xs, "/libxl/8/device/console/2/connection", "serial");
    int num = 7;
    CHECK(libxl_device_channel_list(ctx, 8, &num) == NULL);
    CHECK_INT(num, 0);
    CHECK(capture_ends_with(&logger, "Domain 8:Unable to list channels"));
    xs_rm(xs, XBT_NULL, "/libxl/8/device/console/2/connection");
    CHECK(libxl_device_channel_list(ctx, 8, &num) == NULL); /* libxl 4.17 crashes here */
    /* A console without a name is not a channel. */
    xs_rm(xs, XBT_NULL, "/libxl/8/device/console/2/name");
    libxl_device_channel *list = libxl_device_channel_list(ctx, 8, &num);
    CHECK_INT(num, 1);
    libxl_device_channel_list_free(list, num);
}

/* One writer of the concurrency tests: `each` channels named "<tag>.<w>.<i>" added to
 * `domid` through its own context; returns how many adds failed. */
static int write_channels(unsigned domid, const char *tag, int w, int each)
{
    libxl_ctx *c;
    int failures = 0;
    if (libxl_ctx_alloc(&c, LIBXL_VERSION, 0, NULL)) return each;
    for (int i = 0; i < each; i++) {
        libxl_device_channel ch;
        char name[48];
        snprintf(name, sizeof(name), "%s.%d.%d", tag, w, i);
        channel_init(&ch, name, LIBXL_CHANNEL_CONNECTION_PTY, NULL);
        ch.backend_domid = DRIVER_DOMID;
        failures += libxl_device_channel_add(c, domid, &ch, NULL) != 0;
        libxl_device_channel_dispose(&ch);
    }
    libxl_ctx_free(c);
    return failures;
}

/* After concurrent writers: the domain has exactly writers*each channels, each console
 * devid 1..n once (devids are distinct and none was lost), every name once. */
static void check_all_landed(unsigned domid, const char *tag, int writers, int each)
{
    int total = writers * each, num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, domid, &num);
    CHECK_INT(num, total);
    char seen[64][64] = { { 0 } };
    int bad_names = 0, missing_devids = 0;
    for (int d = 1; d <= total; d++) {
        char path[80];
        snprintf(path, sizeof(path), "/libxl/%u/device/console/%d/name", domid, d);
        char *v = xs_get(xs, path);
        int w, i;
        char t[16];
        if (!v) missing_devids++;
        else if (sscanf(v, "%15[^.].%d.%d", t, &w, &i) != 3 || strcmp(t, tag) || w < 0 ||
                 w >= writers || i < 0 || i >= each || w >= 64 || i >= 64 || seen[w][i]++)
            bad_names++;
        free(v);
    }
    CHECK_INT(missing_devids, 0);
    CHECK_INT(bad_names, 0);
    libxl_device_channel_list_free(list, num);
}

/* Several processes adding channels to one domain at once: transactions conflict and are
 * restarted, every channel lands on its own devid. */
static void test_concurrent_processes(void)
{
    enum { WRITERS = 8, EACH = 12 };
    CHECK_INT(register_domain(xs, 9, "guest9"), 0);
    for (int w = 0; w < WRITERS; w++)
        if (fork() == 0) _exit(write_channels(9, "proc", w, EACH));
    int failed_writers = 0;
    for (int w = 0; w < WRITERS; w++) {
        int status;
        wait(&status);
        failed_writers += !WIFEXITED(status) || WEXITSTATUS(status);
    }
    CHECK_INT(failed_writers, 0);
    check_all_landed(9, "proc", WRITERS, EACH);
}

struct writer { unsigned domid; int w, each, failures; int use_embed; };

static void *writer_thread(void *arg)
{
    struct writer *wr = arg;
    if (!wr->use_embed) {
        wr->failures = write_channels(wr->domid, "thread", wr->w, wr->each);
        return NULL;
    }
    /* The embedding API over a handle of the thread's own, XBT_NULL: our transactions. */
    struct xs_handle *h = xs_open(0);
    if (!h) { wr->failures = wr->each; return NULL; }
    for (int i = 0; i < wr->each; i++) {
        libxl_device_channel ch;
        char name[48];
        snprintf(name, sizeof(name), "embed.%d.%d", wr->w, i);
        channel_init(&ch, name, LIBXL_CHANNEL_CONNECTION_PTY, NULL);
        ch.backend_domid = DRIVER_DOMID;
        wr->failures += xlchannel_xs_channel_add(h, XBT_NULL, NULL, wr->domid, &ch) != 0;
        libxl_device_channel_dispose(&ch);
    }
    xs_close(h);
    return NULL;
}

/* Threads of one process, each with a context (or a xenstore handle) of its own. */
static void test_concurrent_threads(int use_embed, unsigned domid)
{
    enum { WRITERS = 8, EACH = 12 };
    CHECK_INT(register_domain(xs, domid, use_embed ? "guest-embed" : "guest-threads"), 0);
    pthread_t threads[WRITERS];
    struct writer wr[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        wr[w] = (struct writer){ domid, w, EACH, 0, use_embed };
        CHECK_INT(pthread_create(&threads[w], NULL, writer_thread, &wr[w]), 0);
    }
    int failures = 0;
    for (int w = 0; w < WRITERS; w++) {
        pthread_join(threads[w], NULL);
        failures += wr[w].failures;
    }
    CHECK_INT(failures, 0);
    check_all_landed(domid, use_embed ? "embed" : "thread", WRITERS, EACH);
}

/* Several contexts of one thread, used in turn: each its own xenstore connection. */
static void test_interleaved_contexts(void)
{
    enum { CONTEXTS = 4, EACH = 6 };
    CHECK_INT(register_domain(xs, 16, "guest16"), 0);
    libxl_ctx *c[CONTEXTS];
    for (int k = 0; k < CONTEXTS; k++) CHECK_INT(libxl_ctx_alloc(&c[k], LIBXL_VERSION, 0, NULL), 0);
    int failures = 0;
    for (int i = 0; i < EACH; i++)
        for (int k = 0; k < CONTEXTS; k++) {
            libxl_device_channel ch;
            char name[48];
            snprintf(name, sizeof(name), "ctx.%d.%d", k, i);
            channel_init(&ch, name, LIBXL_CHANNEL_CONNECTION_PTY, NULL);
            ch.backend_domid = DRIVER_DOMID;
            failures += libxl_device_channel_add(c[k], 16, &ch, NULL) != 0;
            CHECK_INT(ch.devid, i * CONTEXTS + k + 1);
            libxl_device_channel_dispose(&ch);
        }
    for (int k = 0; k < CONTEXTS; k++) libxl_ctx_free(c[k]);
    CHECK_INT(failures, 0);
    check_all_landed(16, "ctx", CONTEXTS, EACH);
}

/* A second channel with a name the domain already has is refused (ERROR_INVAL, naming the
 * console that has it), as are two channels with one name in one call; nothing is
 * written. */
static void test_duplicate_names(void)
{
    int devid = 0;
    capture_clear(&logger);
    CHECK_INT(add(5, "org.example.pty", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/dup", -1, NULL, &devid),
              ERROR_INVAL);
    CHECK_INT(devid, -1);
    CHECK(strstr(logger.all, "libxl_device_channel_add: Domain 5:domain 5 already has a channel "
                             "named 'org.example.pty' (console 1)\n") != NULL);
    CHECK(capture_ends_with(&logger, "Domain 5:Unable to add channel device"));
    CHECK(xs_get(xs, "/libxl/5/device/console/5") == NULL);
    CHECK(xs_get(xs, "/local/domain/5/device/console/5") == NULL);

    /* Through the embedding API, in our transactions and in the caller's. */
    libxl_device_channel c;
    channel_init(&c, "org.example.sock", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    CHECK_INT(xlchannel_xs_channel_add(xs, XBT_NULL, &logger.vtable, 5, &c), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, "Domain 5:domain 5 already has a channel named 'org.example.sock' (console 2)"));
    xs_transaction_t t = xs_transaction_start(xs);
    CHECK_INT(xlchannel_xs_channel_add(xs, t, &logger.vtable, 5, &c), ERROR_INVAL);
    CHECK(xs_transaction_end(xs, t, true));
    libxl_device_channel_dispose(&c);

    /* A channel another writer recorded counts as well; a name whose channel another tool
     * removed is free again. */
    CHECK_INT(register_domain(xs, 19, "guest19"), 0);
    CHECK_INT(xs_put(xs, "/libxl/19/device/console/3/name", "org.foreign"), 0);
    CHECK_INT(xs_put(xs, "/libxl/19/device/console/3/connection", "pty"), 0);
    capture_clear(&logger);
    CHECK_INT(add(19, "org.foreign", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, NULL, NULL), ERROR_INVAL);
    CHECK(strstr(logger.all, "Domain 19:domain 19 already has a channel named 'org.foreign' (console 3)\n") != NULL);
    CHECK_INT(add_nodes(19, "org.gone", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, &devid), 0);
    CHECK_INT(devid, 1);
    xs_rm(xs, XBT_NULL, "/libxl/19/device/console/1");
    xs_rm(xs, XBT_NULL, "/local/domain/19/device/console/1");
    xs_rm(xs, XBT_NULL, "/local/domain/0/backend/console/19/1");
    CHECK_INT(add_nodes(19, "org.gone", LIBXL_CHANNEL_CONNECTION_PTY, NULL, 2, &devid), 0);
    CHECK_INT(devid, 2);
    CHECK_INT(add(19, "org.gone", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, NULL, NULL), ERROR_INVAL);

    /* Two channels with one name in one domain-creation call. */
    CHECK_INT(register_domain(xs, 17, "guest17"), 0);
    libxl_device_channel two[3];
    channel_init(&two[0], "org.example.one", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    channel_init(&two[1], "org.example.twice", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    channel_init(&two[2], "org.example.twice", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/t");
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 17, two, 3), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, "Domain 17:channel name 'org.example.twice' is given twice (consoles 2 and 3)"));
    CHECK(xs_get(xs, "/libxl/17/device/console/1") == NULL);
    CHECK(xs_get(xs, "/local/domain/17/device/console") == NULL);
    for (int i = 0; i < 3; i++) libxl_device_channel_dispose(&two[i]);
}

/* An add of several channels is all or none: when one channel cannot be written (here a
 * name longer than a xenstore value may be), the channels already written are removed. */
static void test_compensation(void)
{
    CHECK_INT(register_domain(xs, 20, "guest20"), 0);
    static char huge[5000];
    memset(huge, 'n', sizeof(huge) - 1);
    libxl_device_channel c[3];
    channel_init(&c[0], "org.example.first", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    channel_init(&c[1], "org.example.second", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/s");
    channel_init(&c[2], huge, LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    capture_clear(&logger);
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 20, c, 3), ERROR_FAIL);
    CHECK(strstr(logger.last, "xenstore write /local/domain/20/device/console/3/name: Argument list too long") != NULL);
    for (int d = 1; d <= 3; d++) {
        char path[80];
        snprintf(path, sizeof(path), "/libxl/20/device/console/%d", d);
        CHECK(xs_get(xs, path) == NULL);
        snprintf(path, sizeof(path), "/local/domain/20/device/console/%d", d);
        CHECK(xs_get(xs, path) == NULL);
        snprintf(path, sizeof(path), "/local/domain/0/backend/console/20/%d", d);
        CHECK(xs_get(xs, path) == NULL);
    }
    int num = 7;
    libxl_device_channel *list = libxl_device_channel_list(ctx, 20, &num);
    CHECK_INT(num, 0);
    libxl_device_channel_list_free(list, num);
    /* The same set without the bad channel goes in whole. */
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 20, c, 2), 0);
    CHECK_INT(c[1].devid, 2);
    for (int i = 0; i < 3; i++) libxl_device_channel_dispose(&c[i]);
}

/* A guest that plants consoles of its own in its frontend directory: add takes the next
 * console devid neither the guest nor libxl's copy uses, and list ignores the planted ones. */
static void test_guest_planted_consoles(void)
{
    CHECK_INT(register_domain(xs, 18, "guest18"), 0);
    CHECK_INT(xs_put(xs, "/local/domain/18/device/console/1/name", "planted"), 0);
    CHECK_INT(xs_put(xs, "/local/domain/18/device/console/junk/name", "planted"), 0);
    int devid = 0;
    CHECK_INT(add_nodes(18, "org.example.real", LIBXL_CHANNEL_CONNECTION_PTY, NULL, -1, &devid), 0);
    CHECK_INT(devid, 2);
    CHECK_INT(add(18, "x", LIBXL_CHANNEL_CONNECTION_PTY, NULL, 1, NULL, NULL), ERROR_DEVICE_EXISTS);
    check_node("/local/domain/18/device/console/1/name", "planted", NULL);
    int num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, 18, &num);
    CHECK_INT(num, 1);
    if (num == 1) CHECK_STR(list[0].name, "org.example.real");
    libxl_device_channel_list_free(list, num);
}

static int callback_rc = 1, callback_calls;
static void *callback_arg;
static void on_done(libxl_ctx *c, int rc, void *arg)
{
    (void)c;
    callback_rc = rc;
    callback_arg = arg;
    callback_calls++;
}

static void test_ao_how(void)
{
    libxl_device_channel c;
    libxl_asyncop_how how = { .callback = on_done, .u.for_callback = &callback_rc };
    channel_init(&c, "org.example.cb", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    c.backend_domid = DRIVER_DOMID;
    CHECK_INT(libxl_device_channel_add(ctx, 6, &c, &how), 0);
    CHECK_INT(callback_calls, 1);
    CHECK_INT(callback_rc, 0);
    CHECK(callback_arg == &callback_rc);
    CHECK_INT(c.devid, 3);
    libxl_device_channel_dispose(&c);

    channel_init(&c, NULL, LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    CHECK_INT(libxl_device_channel_add(ctx, 6, &c, &how), 0);
    CHECK_INT(callback_calls, 2);
    CHECK_INT(callback_rc, ERROR_INVAL);
    libxl_device_channel_dispose(&c);

    libxl_asyncop_how by_event = { .callback = NULL, .u.for_event = 42 };
    channel_init(&c, "org.example.ev", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    c.backend_domid = DRIVER_DOMID;
    CHECK_INT(libxl_device_channel_add(ctx, 6, &c, &by_event), ERROR_NI);
    CHECK(capture_ends_with(&logger, "completion by libxl event is not supported; pass a callback or NULL ao_how"));
    CHECK_INT(c.devid, -1);
    libxl_device_channel_dispose(&c);
}

static void test_embedding_api(void)
{
    CHECK_INT(register_domain(xs, 11, "guest11"), 0);
    libxl_device_channel chans[3];
    channel_init(&chans[0], "a", LIBXL_CHANNEL_CONNECTION_PTY, NULL);
    channel_init(&chans[1], "b", LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/b");
    channel_init(&chans[2], "c", LIBXL_CHANNEL_CONNECTION_PTY, NULL);

    /* Inside the caller's transaction: nothing visible before the caller commits. */
    xs_transaction_t t = xs_transaction_start(xs);
    CHECK_INT(xlchannel_xs_channels_create(xs, t, &logger.vtable, 11, chans, 3), 0);
    CHECK(xs_get(xs, "/libxl/11/device/console/1/name") == NULL);
    CHECK(xs_transaction_end(xs, t, false));
    for (int i = 0; i < 3; i++) CHECK_INT(chans[i].devid, i + 1);
    check_node("/local/domain/11/device/console/2/output", "chardev:libxl-channel2", "n0,r11");

    int num = 0;
    libxl_device_channel *list = xlchannel_xs_channel_list(xs, XBT_NULL, &logger.vtable, 11, &num);
    CHECK_INT(num, 3);
    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    CHECK_INT(xlchannel_xs_channel_getinfo(xs, XBT_NULL, &logger.vtable, 11, &list[1], &info), 0);
    CHECK_STR(info.frontend, "/local/domain/11/device/console/2");
    CHECK_INT(info.connection, LIBXL_CHANNEL_CONNECTION_SOCKET);
    libxl_channelinfo_dispose(&info);
    libxl_device_channel_list_free(list, num);

    /* A duplicate devid in one create call fails it whole; an aborted transaction leaves
     * nothing. */
    CHECK_INT(register_domain(xs, 12, "guest12"), 0);
    chans[0].devid = 2;
    chans[1].devid = 2;
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 12, chans, 2), ERROR_DEVICE_EXISTS);
    CHECK(xs_get(xs, "/libxl/12/device/console/2/name") == NULL);
    CHECK_INT(xlchannel_xs_channels_create(NULL, XBT_NULL, &logger.vtable, 12, chans, 2), ERROR_INVAL);
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, NULL, 12, NULL, 1), ERROR_INVAL);
    CHECK_INT(xlchannel_xs_channel_add(xs, XBT_NULL, &logger.vtable, 12, NULL), ERROR_INVAL);
    for (int i = 0; i < 3; i++) libxl_device_channel_dispose(&chans[i]);
}

int main(void)
{
    capture_init(&logger);
    xs = xs_open(0);
    if (!xs || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable)) {
        fprintf(stderr, "no xenstore: run inside testbed/with-xenstored.sh\n");
        return 2;
    }
    test_layout_and_permissions();
    test_backend_domain();
    test_add_errors();
    test_list_and_getinfo();
    test_hostile_guest();
    test_raw_bytes();
    test_bad_libxl_copy();
    test_duplicate_names();
    test_guest_planted_consoles();
    test_compensation();
    test_concurrent_processes();
    test_concurrent_threads(0, 14);
    test_concurrent_threads(1, 15);
    test_interleaved_contexts();
    test_ao_how();
    test_embedding_api();
    libxl_ctx_free(ctx);

    /* No daemon at the given socket: a clear error, no context. */
    setenv("XENSTORED_PATH", "/nonexistent/xenstored.sock", 1);
    libxl_ctx *none = (libxl_ctx *)&logger;
    CHECK_INT(libxl_ctx_alloc(&none, LIBXL_VERSION, 0, &logger.vtable), ERROR_FAIL);
    CHECK(none == NULL);
    CHECK(strstr(logger.last, "cannot connect to xenstore") != NULL);
    xs_close(xs);
    return check_summary("c-xenstore");
}
