/* Hotplug and unplug through a real qemu's QMP and the test bed's real xenstored:
 * libxl_device_channel_add creates the chardev (socket or pty) before the nodes, bytes
 * pass through the hot-added sockets, libxl_device_channel_remove follows libxl's removal
 * protocol (with a frontend played by a child process) and _destroy forces; every failure
 * (chardev id taken, a xenstore write refused after chardev-add, qemu killed, a chardev
 * qemu will not remove) leaves nothing half-made. Runs under ASan/LSan inside
 * testbed/with-xenstored.sh (--no-preload); qemu dies with the test; a watchdog bounds it. */
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

/* Without a QMP socket (no device model) add writes the nodes only, as before hotplug;
 * the embedding API's remove and ao_how's callback and event forms. */
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
    libxl_device_channel c;
    channel_init(&c, -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "org.example.plain", "/run/plain.sock");
    CHECK_INT(libxl_device_channel_add(ctx, NO_QEMU_DOMID, &c, NULL), 0);
    CHECK_INT(c.devid, 1);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 1), 3);
    libxl_asyncop_how how = { .callback = remember };
    CHECK_INT(libxl_device_channel_remove(ctx, NO_QEMU_DOMID, &c, &how), 0);
    CHECK_INT(callback_calls, 1);
    CHECK_INT(callback_rc, 0);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 1), 0);
    libxl_asyncop_how by_event = { .callback = NULL };
    CHECK_INT(libxl_device_channel_destroy(ctx, NO_QEMU_DOMID, &c, &by_event), ERROR_NI);
    CHECK_INT(libxl_device_channel_remove(NULL, NO_QEMU_DOMID, &c, NULL), ERROR_INVAL);
    CHECK_INT(libxl_device_channel_destroy(ctx, NO_QEMU_DOMID, NULL, NULL), ERROR_INVAL);

    /* The embedding API, forced and graceful. */
    CHECK_INT(xlchannel_xs_channel_add(xs, XBT_NULL, &logger.vtable, NO_QEMU_DOMID, &c), 0);
    CHECK_INT(xlchannel_xs_channel_remove(xs, &logger.vtable, NO_QEMU_DOMID, &c, 1), 0);
    CHECK_INT(nodes_present(NO_QEMU_DOMID, 1), 0);
    CHECK_INT(xlchannel_xs_channel_remove(xs, &logger.vtable, NO_QEMU_DOMID, &c, 0), ERROR_NOTFOUND);
    CHECK(capture_ends_with(&logger, ":xlchannel_xs_channel_remove: Domain 22:domain 22 has no console 1"));
    CHECK_INT(xlchannel_xs_channel_remove(NULL, &logger.vtable, NO_QEMU_DOMID, &c, 0), ERROR_INVAL);
    CHECK_INT(xlchannel_xs_channel_remove(xs, &logger.vtable, NO_QEMU_DOMID, NULL, 0), ERROR_INVAL);
    libxl_device_channel_dispose(&c);
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
        test_xenstore_fails_after_chardev_add();
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
