/* Hotplug and unplug through a real qemu's QMP and the test bed's real xenstored:
 * libxl_device_channel_add creates the chardev (socket or pty) before the nodes, bytes
 * pass through the hot-added sockets, libxl_device_channel_remove follows libxl's removal
 * protocol (with a frontend played by a child process) and _destroy forces; every failure
 * (chardev id taken, a xenstore write refused after chardev-add, qemu killed, a chardev
 * qemu will not remove) leaves nothing half-made; and the strict rule for a domain without
 * a device model (its channels served by dom0 refused, by a driver domain added). Runs
 * under ASan/LSan inside testbed/with-xenstored.sh (--no-preload); qemu dies with the
 * test; a watchdog bounds it. */
#include <sys/stat.h>
#include <termios.h>

#include "libxl_channel.h"
#include "libxl_channel_embed.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"
#include "qemu_helpers.h"

#define DOMID 21
#define NO_QEMU_DOMID 22
#define DRIVER_DOMID 23

static struct capture_logger logger;
static libxl_ctx *ctx;
static struct xs_handle *xs;
static volatile pid_t qemu_pid;
static char dir[] = "/tmp/xlchannel-hotplug.XXXXXX";
/* libxl's QMP socket, which the library uses; and the test's own (a QMP socket serves one
 * client at a time, as libxl's qemu has a second one for other tools). */
static char qmp_path[128], test_qmp_path[128], qemu_log[128];
static struct reader *q;

static void watchdog(int sig)
{
    (void)sig;
    if (qemu_pid > 0) kill(qemu_pid, SIGKILL);
    static const char msg[] = "test_hotplug: watchdog expired, qemu killed\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(3);
}

static void channel_init(libxl_device_channel *c, int devid, libxl_channel_connection conn,
                         const char *name, const char *path)
{
    libxl_device_channel_init(c);
    c->devid = devid;
    c->name = strdup(name);
    libxl_device_channel_init_connection(c, conn);
    if (path) c->u.socket.path = strdup(path);
}

static void sock_path(char *out, size_t n, int devid)
{
    snprintf(out, n, "%s/channel%d.sock", dir, devid);
}

/* The number of the three node directories of console `devid` that exist. */
static int nodes_present(unsigned domid, int devid)
{
    char paths[3][128];
    snprintf(paths[0], 128, "/local/domain/%u/device/console/%d", domid, devid);
    snprintf(paths[1], 128, "/local/domain/0/backend/console/%u/%d", domid, devid);
    snprintf(paths[2], 128, "/libxl/%u/device/console/%d", domid, devid);
    int n = 0;
    for (int i = 0; i < 3; i++) {
        char *v = xs_get(xs, paths[i]);
        if (v) n++;
        free(v);
    }
    return n;
}

/* query-chardev lists `label`: its filename into out (or "" when it is not listed). */
static int chardev_filename(const char *label, char *out, size_t n)
{
    char *reply = qmp(q, "{\"execute\": \"query-chardev\"}");
    char key[128];
    out[0] = 0;
    if (!reply) return 0;
    snprintf(key, sizeof(key), "\"label\": \"%s\"", label);
    const char *at = strstr(reply, key);
    if (!at) return 0;
    const char *open = at;
    while (open > reply && *open != '{') open--;
    const char *f = strstr(open, "\"filename\": \"");
    if (!f || f > at) return 0;
    f += strlen("\"filename\": \"");
    const char *e = strchr(f, '"');
    if (!e || (size_t)(e - f) >= n) return 0;
    memcpy(out, f, (size_t)(e - f));
    out[e - f] = 0;
    return 1;
}

static int qmp_ok(const char *command)
{
    char *reply = qmp(q, command);
    return reply && !strncmp(reply, "{\"return\"", 9);
}

static int logged(const char *line)
{
    return strstr(logger.all, line) != NULL;
}

static void start_device_model(void)
{
    const char *qemu = getenv("XLCHANNEL_QEMU") ? getenv("XLCHANNEL_QEMU") : "qemu-system-x86_64";
    char qmp_arg[200], test_qmp_arg[200];
    snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", qmp_path);
    snprintf(test_qmp_arg, sizeof(test_qmp_arg), "unix:%s,server=on,wait=off", test_qmp_path);
    char *argv[] = { (char *)qemu, "-machine", "none", "-nodefaults", "-display", "none",
                     "-qmp", qmp_arg, "-qmp", test_qmp_arg, NULL };
    qemu_pid = start_qemu(argv, qemu_log);
    CHECK(qemu_pid > 0);
    CHECK_INT(qmp_open(q, qemu_pid, test_qmp_path), 0);
}

/* A socket and a pty channel hot-added: chardevs first, the pty recorded in tty; bytes
 * written into channel 1's socket come out of channel 3's socket, carried inside qemu by
 * two filter-redirectors (qemu's only frontends that take a chardev without a guest). */
static void test_add_and_bytes(void)
{
    libxl_device_channel c[3];
    char s1[128], s3[128], name[256];
    sock_path(s1, sizeof(s1), 1);
    sock_path(s3, sizeof(s3), 3);
    channel_init(&c[0], -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.in", s1);
    channel_init(&c[1], -1, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.pty", NULL);
    channel_init(&c[2], -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.out", s3);
    for (int i = 0; i < 3; i++) {
        CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c[i], NULL), 0);
        CHECK_INT(c[i].devid, i + 1);
    }
    /* The socket listens the moment add returns. */
    struct stat st;
    CHECK(stat(s1, &st) == 0 && S_ISSOCK(st.st_mode));
    char want[256];
    CHECK(chardev_filename("libxl-channel1", name, sizeof(name)));
    snprintf(want, sizeof(want), "disconnected:unix:%s,server=on", s1);
    CHECK_STR(name, want);
    CHECK(chardev_filename("libxl-channel2", name, sizeof(name)));
    CHECK(!strncmp(name, "pty:/dev/pts/", 13));
    char *tty = xs_get(xs, "/local/domain/21/device/console/2/tty");
    CHECK_STR(tty, name + 4);
    char *output = xs_get(xs, "/local/domain/21/device/console/1/output");
    CHECK_STR(output, "chardev:libxl-channel1");
    free(output);
    /* getinfo reports the pty (list number 1 is console 2). */
    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    libxl_device_channel which;
    libxl_device_channel_init(&which);
    which.devid = 1;
    which.connection = LIBXL_CHANNEL_CONNECTION_PTY;
    CHECK_INT(libxl_device_channel_getinfo(ctx, DOMID, &which, &info), 0);
    CHECK_STR(info.u.pty.path, tty);
    libxl_channelinfo_dispose(&info);
    libxl_device_channel_dispose(&which);
    free(tty);

    /* Bytes: a 4-byte big-endian length and the payload, qemu's packet framing. */
    CHECK(qmp_ok("{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"hubport\", \"id\": \"h0\", \"hubid\": 0}}"));
    CHECK(qmp_ok("{\"execute\": \"netdev_add\", \"arguments\": {\"type\": \"hubport\", \"id\": \"h1\", \"hubid\": 1, \"netdev\": \"h0\"}}"));
    CHECK(qmp_ok("{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"filter-redirector\", \"id\": \"rin\", \"netdev\": \"h0\", \"queue\": \"tx\", \"indev\": \"libxl-channel1\"}}"));
    CHECK(qmp_ok("{\"execute\": \"object-add\", \"arguments\": {\"qom-type\": \"filter-redirector\", \"id\": \"rout\", \"netdev\": \"h0\", \"queue\": \"tx\", \"outdev\": \"libxl-channel3\"}}"));
    int in = connect_unix(s1), out = connect_unix(s3);
    CHECK(in >= 0 && out >= 0);
    /* qemu accepts the connections in its main loop: wait until both show as connected. */
    for (long end = now_ms() + 5000; now_ms() < end; usleep(20000)) {
        char a[256], b[256];
        chardev_filename("libxl-channel1", a, sizeof(a));
        chardev_filename("libxl-channel3", b, sizeof(b));
        if (!strncmp(a, "unix:", 5) && !strncmp(b, "unix:", 5)) break;
    }
    static const char packet[] = "\0\0\0\x0dhello, guest!";
    char got[sizeof(packet)] = "";
    CHECK_INT(send_bytes(in, packet, sizeof(packet) - 1), 0);
    CHECK_INT(read_exactly(out, got, sizeof(packet) - 1, 5000), 0);
    CHECK(!memcmp(got, packet, sizeof(packet) - 1));

    /* Graceful removal while qemu still uses the chardev: qemu refuses, nothing changes. */
    capture_clear(&logger);
    libxl_device_channel one;
    libxl_device_channel_init(&one);
    one.devid = 1;
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &one, NULL), ERROR_QMP_GENERIC_ERROR);
    CHECK(logged(":libxl_device_channel_remove: Domain 21:unplug step chardev-remove libxl-channel1 (the backend is back online): "
                 "qemu refused chardev-remove: Chardev 'libxl-channel1' is busy (GenericError)\n"));
    CHECK_INT(nodes_present(DOMID, 1), 3);
    char *online = xs_get(xs, "/local/domain/0/backend/console/21/1/online");
    char *state = xs_get(xs, "/local/domain/0/backend/console/21/1/state");
    CHECK_STR(online, "1");
    CHECK_STR(state, "1");
    free(online);
    free(state);
    CHECK(chardev_filename("libxl-channel1", name, sizeof(name)));

    /* Once qemu lets go, all three channels go. */
    CHECK(qmp_ok("{\"execute\": \"object-del\", \"arguments\": {\"id\": \"rin\"}}"));
    CHECK(qmp_ok("{\"execute\": \"object-del\", \"arguments\": {\"id\": \"rout\"}}"));
    close(in);
    close(out);
    for (int devid = 1; devid <= 3; devid++) {
        one.devid = devid;
        CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &one, NULL), 0);
        CHECK_INT(nodes_present(DOMID, devid), 0);
        char label[32];
        snprintf(label, sizeof(label), "libxl-channel%d", devid);
        CHECK(!chardev_filename(label, name, sizeof(name)));
    }
    CHECK(connect_unix(s1) < 0);
    CHECK(stat(s1, &st) != 0 && errno == ENOENT);
    CHECK(stat(s3, &st) != 0 && errno == ENOENT);
    /* A console that is no longer there. */
    one.devid = 2;
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &one, NULL), ERROR_NOTFOUND);
    CHECK(logged(":libxl_device_channel_remove: Domain 21:domain 21 has no console 2\n"));
    CHECK_INT(libxl_device_channel_destroy(ctx, DOMID, &one, NULL), ERROR_NOTFOUND);
    one.devid = 0;
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &one, NULL), ERROR_INVAL);
    libxl_device_channel_dispose(&one);
    for (int i = 0; i < 3; i++) libxl_device_channel_dispose(&c[i]);
}

/* libxl's removal protocol with a frontend that closes: a child plays the guest's driver,
 * waiting for the backend to go offline and Closing (5), then answering Closed (6). */
static void test_graceful_protocol(void)
{
    libxl_device_channel c;
    char s[128];
    sock_path(s, sizeof(s), 4);
    channel_init(&c, 4, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.closing", s);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c, NULL), 0);
    CHECK_INT(xs_put(xs, "/local/domain/21/device/console/4/state", "4"), 0); /* Connected */
    pid_t frontend = fork();
    if (frontend == 0) {
        struct xs_handle *own = xs_open(0);
        for (long end = now_ms() + 10000; own && now_ms() < end; usleep(10000)) {
            char *st = xs_get(own, "/local/domain/0/backend/console/21/4/state");
            char *on = xs_get(own, "/local/domain/0/backend/console/21/4/online");
            int closing = st && on && !strcmp(st, "5") && !strcmp(on, "0");
            free(st);
            free(on);
            if (closing) {
                int rc = xs_put(own, "/local/domain/21/device/console/4/state", "6");
                xs_close(own);
                _exit(rc ? 2 : 0);
            }
        }
        _exit(1);
    }
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &c, NULL), 0);
    int status = -1;
    CHECK_INT(waitpid(frontend, &status, 0), frontend);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(!strstr(logger.all, "warning")); /* it closed: no timeout */
    CHECK_INT(nodes_present(DOMID, 4), 0);
    char name[256];
    CHECK(!chardev_filename("libxl-channel4", name, sizeof(name)));

    /* A frontend that never closes: removed after the (shortened) timeout, with a warning. */
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c, NULL), 0);
    CHECK_INT(xs_put(xs, "/local/domain/21/device/console/4/state", "4"), 0);
    setenv("XLCHANNEL_REMOVE_TIMEOUT_MS", "200", 1);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &c, NULL), 0);
    unsetenv("XLCHANNEL_REMOVE_TIMEOUT_MS");
    CHECK(logged(":libxl_device_channel_remove: Domain 21:frontend /local/domain/21/device/console/4 "
                 "did not close within 200 ms; removing it anyway\n"));
    CHECK(!strncmp(logger.all, "warning ", 8));
    CHECK_INT(nodes_present(DOMID, 4), 0);
    CHECK(!chardev_filename("libxl-channel4", name, sizeof(name)));
    libxl_device_channel_dispose(&c);
}

/* A chardev id qemu already has: add fails naming the step, and nothing is written. */
static void test_chardev_id_taken(void)
{
    CHECK(qmp_ok("{\"execute\": \"chardev-add\", \"arguments\": {\"id\": \"libxl-channel5\", \"backend\": {\"type\": \"null\", \"data\": {}}}}"));
    libxl_device_channel c;
    char s[128];
    sock_path(s, sizeof(s), 5);
    channel_init(&c, 5, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.taken", s);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c, NULL), ERROR_QMP_GENERIC_ERROR);
    CHECK(logged(":libxl_device_channel_add: Domain 21:hotplug step chardev-add libxl-channel5 (nothing written to xenstore): "
                 "qemu refused chardev-add: Chardev with id 'libxl-channel5' already exists (GenericError)\n"));
    CHECK_INT(nodes_present(DOMID, 5), 0);
    struct stat st;
    CHECK(stat(s, &st) != 0);
    char name[256];
    CHECK(chardev_filename("libxl-channel5", name, sizeof(name)));
    CHECK_STR(name, "null");
    CHECK(qmp_ok("{\"execute\": \"chardev-remove\", \"arguments\": {\"id\": \"libxl-channel5\"}}"));
    libxl_device_channel_dispose(&c);
}

/* A chardev someone removed by hand: the removal goes on, with a warning naming it. */
static void test_chardev_gone_by_hand(void)
{
    libxl_device_channel c;
    char s[128];
    sock_path(s, sizeof(s), 6);
    channel_init(&c, 6, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.byhand", s);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c, NULL), 0);
    CHECK(qmp_ok("{\"execute\": \"chardev-remove\", \"arguments\": {\"id\": \"libxl-channel6\"}}"));
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &c, NULL), 0);
    CHECK(logged(":libxl_device_channel_remove: Domain 21:device model of domain 21 has no chardev "
                 "libxl-channel6; nothing to remove there\n"));
    CHECK(!strncmp(logger.all, "warning ", 8));
    CHECK_INT(nodes_present(DOMID, 6), 0);
    struct stat st;
    CHECK(stat(s, &st) != 0);
    libxl_device_channel_dispose(&c);
}

/* A xenstore write refused after chardev-add (a name over xenstore's 4096-byte payload:
 * libxenstore fails the write with E2BIG): the chardev is removed again, nothing is left. */
static void test_xenstore_fails_after_chardev_add(void)
{
    char *big = malloc(5001);
    memset(big, 'n', 5000);
    big[5000] = 0;
    libxl_device_channel c;
    char s[128];
    sock_path(s, sizeof(s), 6);
    channel_init(&c, 6, LIBXL_CHANNEL_CONNECTION_SOCKET, big, s);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c, NULL), ERROR_FAIL);
    CHECK(logged(":libxl_device_channel_add: Domain 21:hotplug step writing the xenstore nodes (chardev libxl-channel6 "
                 "removed again): xenstore write /local/domain/21/device/console/6/name: Argument list too long (os error 7)\n"));
    CHECK_INT(nodes_present(DOMID, 6), 0);
    char name[256];
    CHECK(!chardev_filename("libxl-channel6", name, sizeof(name)));
    struct stat st;
    CHECK(stat(s, &st) != 0 && errno == ENOENT);
    libxl_device_channel_dispose(&c);
    free(big);
}

/* libxl's checks come before the device model: a name the domain already has is refused
 * (ERROR_INVAL) before any chardev is made. */
static void test_checks_before_chardev(void)
{
    libxl_device_channel first, again;
    char s9[128], s10[128], name[256];
    sock_path(s9, sizeof(s9), 9);
    sock_path(s10, sizeof(s10), 10);
    channel_init(&first, 9, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.dupe", s9);
    channel_init(&again, 10, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.dupe", s10);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &first, NULL), 0);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &again, NULL), ERROR_INVAL);
    CHECK(logged(":libxl_device_channel_add: Domain 21:domain 21 already has a channel named "
                 "'org.example.dupe' (console 9)\n"));
    CHECK(!strstr(logger.all, "chardev"));
    CHECK(!chardev_filename("libxl-channel10", name, sizeof(name)));
    struct stat st;
    CHECK(stat(s10, &st) != 0 && errno == ENOENT);
    CHECK_INT(nodes_present(DOMID, 10), 0);
    CHECK_INT(libxl_device_channel_destroy(ctx, DOMID, &first, NULL), 0);
    CHECK_INT(nodes_present(DOMID, 9), 0);
    CHECK(!chardev_filename("libxl-channel9", name, sizeof(name)));
    libxl_device_channel_dispose(&first);
    libxl_device_channel_dispose(&again);
}

/* The strict rule: without a QMP socket (no device model) a hot add of a channel served
 * by dom0 fails with ERROR_FAIL and one line naming the domain and the socket, and writes
 * nothing; libxl's checks come first and keep their codes; a channel served by a driver
 * domain is added (the nodes alone); removal always works. Also ao_how's callback and
 * event forms, and the embedding API's remove. */
static int callback_rc = 1, callback_calls;
static void remember(libxl_ctx *c, int rc, void *for_callback)
{
    (void)c;
    (void)for_callback;
    callback_rc = rc;
    callback_calls++;
}

static void test_without_device_model(void)
{
    CHECK_INT(register_domain(xs, NO_QEMU_DOMID, "hp-noqemu"), 0);
    CHECK_INT(register_domain(xs, DRIVER_DOMID, "hp-driver"), 0);
    char no_socket[160];
    snprintf(no_socket, sizeof(no_socket), "%s/qmp-libxl-%d", dir, NO_QEMU_DOMID);
    struct stat st;
    CHECK(stat(no_socket, &st) != 0 && errno == ENOENT);
    /* A channel the domain got at creation (the nodes alone, as domain creation writes
     * them before its device model starts). */
    libxl_device_channel existing;
    channel_init(&existing, -1, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.existing", NULL);
    CHECK_INT(xs_add_nodes(xs, &logger.vtable, NO_QEMU_DOMID, &existing), 0);
    CHECK_INT(existing.devid, 1);
    char *before = xs_snapshot_domain(xs, NO_QEMU_DOMID);
    CHECK(strstr(before, "/libxl/22/device/console/1/name 20:org.example.existing (n0)\n") != NULL);

    /* Refused, with one line naming the domain and the socket, and libxl's own line. */
    libxl_device_channel c;
    channel_init(&c, -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.plain", "/run/plain.sock");
    capture_clear(&logger);
    int count = logger.count;
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &c, NULL), ERROR_FAIL);
    char want[512];
    snprintf(want, sizeof(want), ":libxl_device_channel_add: Domain 22:domain 22 has no running device "
             "model (no QMP socket at %s): channel 'org.example.plain' would have no backend\n", no_socket);
    CHECK(logged(want));
    CHECK(capture_ends_with(&logger, "Domain 22:Unable to add channel device"));
    CHECK_INT(logger.count, count + 2);
    CHECK(!strncmp(logger.all, "error ", 6));
    CHECK_INT(logger.last_level, XTL_ERROR);
    CHECK_INT(c.devid, -1);
    CHECK_INT(c.backend_domid, 0);
    char *after = xs_snapshot_domain(xs, NO_QEMU_DOMID);
    CHECK_STR(after, before);
    free(after);
    /* A pty channel too, with a devid of its own; and the embedding API's add outside a
     * caller's transaction (libxl's add over a caller's handle: the glue's, in the
     * embedded libxenlight). */
    libxl_device_channel p;
    channel_init(&p, 5, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.pty", NULL);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &p, NULL), ERROR_FAIL);
    snprintf(want, sizeof(want), ":libxl_device_channel_add: Domain 22:domain 22 has no running device "
             "model (no QMP socket at %s): channel 'org.example.pty' would have no backend\n", no_socket);
    CHECK(logged(want));
    capture_clear(&logger);
    CHECK_INT(xlchannel_xs_channel_add(xs, XBT_NULL, &logger.vtable, NO_QEMU_DOMID, &p), ERROR_FAIL);
    snprintf(want, sizeof(want), ":xlchannel_xs_channel_add: Domain 22:domain 22 has no running device "
             "model (no QMP socket at %s): channel 'org.example.pty' would have no backend\n", no_socket);
    CHECK(logged(want));
    CHECK_INT(p.devid, 5);
    /* Through ao_how's callback: the same result, given to the callback. */
    libxl_asyncop_how how = { .callback = remember };
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &c, &how), 0);
    CHECK_INT(callback_calls, 1);
    CHECK_INT(callback_rc, ERROR_FAIL);
    after = xs_snapshot_domain(xs, NO_QEMU_DOMID);
    CHECK_STR(after, before);
    free(after);

    /* libxl's checks come first and keep their codes. */
    libxl_device_channel bad;
    channel_init(&bad, -1, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.existing", NULL);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &bad, NULL), ERROR_INVAL);
    CHECK(logged(":libxl_device_channel_add: Domain 22:domain 22 already has a channel named "
                 "'org.example.existing' (console 1)\n"));
    CHECK(!strstr(logger.all, "device model"));
    libxl_device_channel_dispose(&bad);
    channel_init(&bad, -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.rel", "run/rel.sock");
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &bad, NULL), ERROR_INVAL);
    CHECK(logged(":libxl_device_channel_add: Domain 22:channel 2 has a relative path 'run/rel.sock'; "
                 "a socket path must be absolute\n"));
    CHECK(!strstr(logger.all, "device model"));
    libxl_device_channel_dispose(&bad);
    channel_init(&bad, 1, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.taken", NULL);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &bad, NULL), ERROR_DEVICE_EXISTS);
    CHECK(logged(":libxl_device_channel_add: Domain 22:domain 22 already has console 1\n"));
    CHECK(!strstr(logger.all, "device model"));
    libxl_device_channel_dispose(&bad);
    channel_init(&bad, -1, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.nobe", NULL);
    bad.backend_domname = strdup("no-such-domain");
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &bad, NULL), ERROR_INVAL);
    CHECK(logged(":libxl_device_channel_add: Domain 22:unknown domain 'no-such-domain'\n"));
    CHECK(!strstr(logger.all, "device model"));
    libxl_device_channel_dispose(&bad);
    channel_init(&bad, -1, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.nodom", NULL);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, 29, &bad, NULL), ERROR_DOMAIN_NOTFOUND);
    CHECK(logged(":libxl_device_channel_add: Domain 29:domain 29 does not exist\n"));
    CHECK(!strstr(logger.all, "device model"));
    libxl_device_channel_dispose(&bad);
    after = xs_snapshot_domain(xs, NO_QEMU_DOMID);
    CHECK_STR(after, before);
    free(after);
    free(before);

    /* Served by a driver domain: no local device model needed, the nodes are written. */
    libxl_device_channel drv;
    channel_init(&drv, -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.drv", "/run/drv.sock");
    drv.backend_domname = strdup("hp-driver");
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &drv, NULL), 0);
    CHECK_STR(logger.all, "");
    CHECK_INT(drv.devid, 2);
    CHECK_INT(drv.backend_domid, DRIVER_DOMID);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 2), 2); /* frontend and /libxl; the backend is 23's */
    char *be = xs_get(xs, "/local/domain/22/device/console/2/backend");
    CHECK_STR(be, "/local/domain/23/backend/console/22/2");
    free(be);
    be = xs_get(xs, "/local/domain/23/backend/console/22/2/path");
    CHECK_STR(be, "/run/drv.sock");
    free(be);

    /* Removal needs no device model: graceful (with ao_how's callback) and forced. */
    CHECK_INT(libxl_device_channel_remove(ctx, NO_QEMU_DOMID, &existing, &how), 0);
    CHECK_INT(callback_calls, 2);
    CHECK_INT(callback_rc, 0);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 1), 0);
    CHECK_INT(libxl_device_channel_destroy(ctx, NO_QEMU_DOMID, &drv, NULL), 0);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 2), 0);
    be = xs_get(xs, "/local/domain/23/backend/console/22/2");
    CHECK(be == NULL);
    free(be);
    libxl_asyncop_how by_event = { .callback = NULL };
    CHECK_INT(libxl_device_channel_destroy(ctx, NO_QEMU_DOMID, &c, &by_event), ERROR_NI);
    CHECK_INT(libxl_device_channel_remove(NULL, NO_QEMU_DOMID, &c, NULL), ERROR_INVAL);
    CHECK_INT(libxl_device_channel_destroy(ctx, NO_QEMU_DOMID, NULL, NULL), ERROR_INVAL);

    /* The embedding API: the nodes alone inside a caller's transaction; removed forced and
     * gracefully. */
    CHECK_INT(xs_add_nodes(xs, &logger.vtable, NO_QEMU_DOMID, &c), 0);
    CHECK_INT(c.devid, 1);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 1), 3);
    CHECK_INT(xlchannel_xs_channel_remove(xs, &logger.vtable, NO_QEMU_DOMID, &c, 1), 0);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 1), 0);
    CHECK_INT(xlchannel_xs_channel_remove(xs, &logger.vtable, NO_QEMU_DOMID, &c, 0), ERROR_NOTFOUND);
    CHECK(capture_ends_with(&logger, ":xlchannel_xs_channel_remove: Domain 22:domain 22 has no console 1"));
    CHECK_INT(xlchannel_xs_channel_remove(NULL, &logger.vtable, NO_QEMU_DOMID, &c, 0), ERROR_INVAL);
    CHECK_INT(xlchannel_xs_channel_remove(xs, &logger.vtable, NO_QEMU_DOMID, NULL, 0), ERROR_INVAL);
    libxl_device_channel_dispose(&c);
    libxl_device_channel_dispose(&p);
    libxl_device_channel_dispose(&drv);
    libxl_device_channel_dispose(&existing);
}

/* qemu gone (killed: its QMP socket file stays): add fails and writes nothing; graceful
 * remove fails and changes nothing; destroy removes the nodes and the dead socket file. */
static void test_qemu_gone(void)
{
    libxl_device_channel c;
    char s[128];
    sock_path(s, sizeof(s), 7);
    channel_init(&c, 7, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.orphan", s);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &c, NULL), 0);
    kill(qemu_pid, SIGKILL);
    int status;
    CHECK_INT(waitpid(qemu_pid, &status, 0), qemu_pid);
    qemu_pid = 0;
    close(q->fd);
    q->fd = -1;

    libxl_device_channel more;
    channel_init(&more, 8, LIBXL_CHANNEL_CONNECTION_PTY, "org.example.late", NULL);
    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_add(ctx, DOMID, &more, NULL), ERROR_FAIL);
    char want[512];
    snprintf(want, sizeof(want), ":libxl_device_channel_add: Domain 21:hotplug into the device model of domain 21 "
             "(nothing was added): device model QMP socket %s: connect: Connection refused (os error 111)\n",
             qmp_path);
    CHECK(logged(want));
    CHECK_INT(nodes_present(DOMID, 8), 0);

    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_remove(ctx, DOMID, &c, NULL), ERROR_FAIL);
    snprintf(want, sizeof(want), ":libxl_device_channel_remove: Domain 21:unplug from the device model of domain 21 "
             "(nothing was changed; destroy forces it): device model QMP socket %s: connect: "
             "Connection refused (os error 111)\n", qmp_path);
    CHECK(logged(want));
    CHECK_INT(nodes_present(DOMID, 7), 3);
    char *online = xs_get(xs, "/local/domain/0/backend/console/21/7/online");
    CHECK_STR(online, "1");
    free(online);

    capture_clear(&logger);
    CHECK_INT(libxl_device_channel_destroy(ctx, DOMID, &c, NULL), 0);
    snprintf(want, sizeof(want), ":libxl_device_channel_destroy: Domain 21:"
             "device model of domain 21: device model QMP socket %s: connect: Connection refused "
             "(os error 111); removing the xenstore nodes anyway\n", qmp_path);
    CHECK(logged(want));
    CHECK_INT(nodes_present(DOMID, 7), 0);
    struct stat st;
    CHECK(stat(s, &st) != 0 && errno == ENOENT); /* the dead socket file is gone too */
    libxl_device_channel_dispose(&c);
    libxl_device_channel_dispose(&more);
}

int main(void)
{
    signal(SIGALRM, watchdog);
    alarm(90);
    capture_init(&logger);
    xs = xs_open(0);
    if (!xs || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable)) {
        fprintf(stderr, "test_hotplug: no xenstore (run inside testbed/with-xenstored.sh)\n");
        return 2;
    }
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 2;
    }
    setenv("XLCHANNEL_RUN_DIR", dir, 1);
    snprintf(qmp_path, sizeof(qmp_path), "%s/qmp-libxl-%d", dir, DOMID);
    snprintf(test_qmp_path, sizeof(test_qmp_path), "%s/test-qmp", dir);
    snprintf(qemu_log, sizeof(qemu_log), "%s/qemu.log", dir);
    CHECK_INT(register_domain(xs, DOMID, "hp-guest"), 0);
    q = calloc(1, sizeof(*q));
    q->fd = -1;
    start_device_model();
    if (q->fd >= 0) {
        test_add_and_bytes();
        test_graceful_protocol();
        test_chardev_id_taken();
        test_chardev_gone_by_hand();
        test_xenstore_fails_after_chardev_add();
        test_checks_before_chardev();
        test_without_device_model();
        test_qemu_gone();
    }
    if (check_failed) {
        FILE *f = fopen(qemu_log, "r");
        char line[512];
        while (f && fgets(line, sizeof(line), f)) fputs(line, stderr);
        if (f) fclose(f);
    }
    if (qemu_pid > 0) stop_qemu(qemu_pid, q);
    if (q->fd >= 0) close(q->fd);
    free(q);
    unlink(qmp_path);
    unlink(test_qmp_path);
    unlink(qemu_log);
    CHECK_INT(rmdir(dir), 0);
    libxl_ctx_free(ctx);
    xs_close(xs);
    return check_summary("test_hotplug");
}
