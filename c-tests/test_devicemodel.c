/* The device-model side: the need-a-qemu decision (every condition, errors, the local domid
 * from xenstore), the -chardev arguments (exact strings, errors, NULLs, the console output
 * node they must match), and the arguments handed to Debian's real qemu-system-x86_64,
 * checked through QMP and by talking through both chardevs. Runs under ASan/LSan inside the
 * real-xenstored test bed (--no-preload). qemu is always killed; a watchdog bounds the run. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "libxl_channel.h"
#include "libxl_channel_embed.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"
#include "qemu_helpers.h"

static struct capture_logger logger;
static libxl_ctx *ctx;
static struct xs_handle *xs;

static void channel_init(libxl_device_channel *c, int devid, libxl_channel_connection conn,
                         const char *path, unsigned backend_domid, const char *backend_domname)
{
    libxl_device_channel_init(c);
    c->devid = devid;
    c->name = strdup("org.example.channel");
    libxl_device_channel_init_connection(c, conn);
    if (path) c->u.socket.path = strdup(path);
    c->backend_domid = backend_domid;
    if (backend_domname) c->backend_domname = strdup(backend_domname);
}

static void dispose_all(libxl_device_channel *c, int n)
{
    for (int i = 0; i < n; i++) libxl_device_channel_dispose(&c[i]);
}

static void test_constants(void)
{
    CHECK_INT(XLCHANNEL_DOMID_SELF, 0x7FF0);
    CHECK_INT(LIBXL_DOMAIN_TYPE_INVALID, -1);
    CHECK_INT(LIBXL_DOMAIN_TYPE_HVM, 1);
    CHECK_INT(LIBXL_DOMAIN_TYPE_PV, 2);
    CHECK_INT(LIBXL_DOMAIN_TYPE_PVH, 3);
}

/* Every combination of the conditions, for dom0 as the local domain: channels none, served
 * by domain 3, or by dom0. Expected: HVM, or any one condition. */
static void test_need_matrix(void)
{
    const libxl_domain_type types[] = { LIBXL_DOMAIN_TYPE_HVM, LIBXL_DOMAIN_TYPE_PV,
                                        LIBXL_DOMAIN_TYPE_PVH };
    libxl_device_channel remote, local;
    channel_init(&remote, -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 3, NULL);
    channel_init(&local, -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 0, NULL);
    int cases = 0, wrong = 0;
    for (int t = 0; t < 3; t++)
    for (int vfb = 0; vfb < 2; vfb++)
    for (int p9 = 0; p9 < 2; p9++)
    for (int qdisk = 0; qdisk < 2; qdisk++)
    for (int qusb = 0; qusb < 2; qusb++)
    for (int ch = 0; ch < 3; ch++) {
        const libxl_device_channel *chans = ch == 0 ? NULL : ch == 1 ? &remote : &local;
        int want = types[t] == LIBXL_DOMAIN_TYPE_HVM || vfb || p9 || qdisk || qusb || ch == 2;
        int got = xlchannel_need_xenpv_qemu(ctx, types[t], chans, ch ? 1 : 0, vfb, p9 * 2,
                                            qdisk * 3, qusb, 0);
        cases++;
        if (got != want) {
            wrong++;
            fprintf(stderr, "need matrix: type %d vfb %d p9 %d qdisk %d qusb %d channel %d: "
                    "got %d, want %d\n", types[t], vfb, p9, qdisk, qusb, ch, got, want);
        }
    }
    CHECK_INT(cases, 144);
    CHECK_INT(wrong, 0);

    /* The local domain decides which channels count. */
    libxl_device_channel both[2] = { remote, local };
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, both, 2, 0, 0, 0, 0, 3), 1);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, both, 2, 0, 0, 0, 0, 0), 1);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, both, 2, 0, 0, 0, 0, 5), 0);
    CHECK(capture_ends_with(&logger, ":xlchannel_need_xenpv_qemu: no device model needed"));
    CHECK_INT(logger.last_level, XTL_DEBUG);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PVH, both, 2, 0, 0, 0, 0, 3), 1);
    CHECK(capture_ends_with(&logger,
        ":xlchannel_need_xenpv_qemu: device model needed: channel 0 is served by the local domain"));
    /* A huge count needs no more than one. */
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 0, 0, 0, 0x7fffffff, 0, 0), 1);
    CHECK(capture_ends_with(&logger,
        "device model needed: disk 0 is a qdisk served by the local domain"));
    libxl_device_channel_dispose(&remote);
    libxl_device_channel_dispose(&local);
}

/* backend_domname wins over backend_domid and is resolved as libxl does. */
static void test_need_backend_names(void)
{
    CHECK_INT(register_domain(xs, 3, "driver3"), 0);
    libxl_device_channel c;
    channel_init(&c, -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 0, "driver3");
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0, 0), 0);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0, 3), 1);
    free(c.backend_domname);
    c.backend_domname = strdup("3");
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0, 3), 1);
    free(c.backend_domname);
    c.backend_domname = strdup("nosuch");
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_need_xenpv_qemu: unknown domain 'nosuch'"));
    CHECK_INT(logger.last_level, XTL_ERROR);
    /* A vfb decides before any name is looked at (libxl's order of checks). */
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 1, 0, 0, 0, 0), 1);
    libxl_device_channel_dispose(&c);
}

/* XLCHANNEL_DOMID_SELF: the relative path "domid", i.e. /local/domain/0/domid for a
 * socket connection to xenstored. */
static void test_need_own_domid(void)
{
    libxl_device_channel c;
    channel_init(&c, -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 3, NULL);
    xs_rm(xs, XBT_NULL, "/local/domain/0/domid");
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0,
                                        XLCHANNEL_DOMID_SELF), ERROR_FAIL);
    CHECK(capture_ends_with(&logger, ":xlchannel_need_xenpv_qemu: failed to get own domid (domid)"));
    /* HVM needs no domid at all. */
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_HVM, NULL, 0, 0, 0, 0, 0,
                                        XLCHANNEL_DOMID_SELF), 1);
    CHECK_INT(xs_put(xs, "/local/domain/0/domid", "0"), 0);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0,
                                        XLCHANNEL_DOMID_SELF), 0);
    /* As if this toolstack ran in driver domain 3 (whose domid key says 3). */
    CHECK_INT(xs_put(xs, "/local/domain/0/domid", "3"), 0);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0,
                                        XLCHANNEL_DOMID_SELF), 1);
    CHECK_INT(xs_put(xs, "/local/domain/0/domid", "3x"), 0);
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0,
                                        XLCHANNEL_DOMID_SELF), ERROR_FAIL);
    CHECK(capture_ends_with(&logger, ": own domid (domid) is '3x', not a domain id"));
    CHECK_INT(xs_put(xs, "/local/domain/0/domid", "0"), 0);
    libxl_device_channel_dispose(&c);
}

static void test_need_errors(void)
{
    libxl_device_channel c;
    channel_init(&c, -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 0, NULL);
    CHECK_INT(xlchannel_need_xenpv_qemu(NULL, LIBXL_DOMAIN_TYPE_PV, &c, 1, 0, 0, 0, 0, 0), ERROR_INVAL);
    const int bad_types[] = { LIBXL_DOMAIN_TYPE_INVALID, 0, 4, 0x7fffffff };
    for (unsigned i = 0; i < sizeof(bad_types) / sizeof(bad_types[0]); i++)
        CHECK_INT(xlchannel_need_xenpv_qemu(ctx, (libxl_domain_type)bad_types[i], NULL, 0, 0, 0, 0, 0, 0),
                  ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_need_xenpv_qemu: invalid domain type 2147483647"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 1, 0, 0, 0, 0, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_channels is 1 but channels is NULL"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, &c, -1, 0, 0, 0, 0, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_channels is -1"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 0, -1, 0, 0, 0, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_vfbs is -1"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 0, 0, -2, 0, 0, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_p9s is -2"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 0, 0, 0, -3, 0, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_local_qdisks is -3"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 0, 0, 0, 0, -4, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ": num_local_qusbctrls is -4"));
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_PV, NULL, 0, 0, 0, 0, 0, 0x7FF4), ERROR_INVAL);
    CHECK(capture_ends_with(&logger,
        ": local domid 32756 is a reserved domid (XLCHANNEL_DOMID_SELF reads it from xenstore)"));
    /* Counts are checked for HVM guests too: a bad call is a bad call. */
    CHECK_INT(xlchannel_need_xenpv_qemu(ctx, LIBXL_DOMAIN_TYPE_HVM, NULL, 0, -1, 0, 0, 0, 0), ERROR_INVAL);
    CHECK_INT(xlchannel_need_xenpv_qemu_config(NULL, NULL, 0), ERROR_INVAL);
    CHECK_INT(xlchannel_need_xenpv_qemu_config(ctx, NULL, 0), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_need_xenpv_qemu_config: NULL d_config"));
    libxl_device_channel_dispose(&c);
}

/* The strings of a NULL-terminated argv, joined by '|', for exact comparison. */
static void check_argv(char **args, const char *want)
{
    char got[2048] = "";
    size_t used = 0;
    for (int i = 0; args && args[i]; i++)
        used += snprintf(got + used, sizeof(got) - used, "%s%s", i ? "|" : "", args[i]);
    CHECK_STR(got, want);
}

static void test_chardev_args(void)
{
    libxl_device_channel c[3];
    char **args = NULL;
    channel_init(&c[0], -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 0, NULL);
    channel_init(&c[1], -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/xen/a,b c,,d", 0, NULL);
    channel_init(&c[2], 7, LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/x=y", 0, NULL);
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, 3, &args), 0);
    check_argv(args,
        "-chardev|pty,id=libxl-channel1"
        "|-chardev|socket,id=libxl-channel2,path=/run/xen/a,,b c,,,,d,server=on,wait=off"
        "|-chardev|socket,id=libxl-channel7,path=/run/x=y,server=on,wait=off");
    CHECK(args && args[6] == NULL);
    xlchannel_dm_args_free(args);

    /* No channels: an empty argv, still to be freed. */
    args = (char **)&logger;
    CHECK_INT(xlchannel_dm_chardev_args(ctx, NULL, 0, &args), 0);
    CHECK(args != NULL && args[0] == NULL);
    xlchannel_dm_args_free(args);
    xlchannel_dm_args_free(NULL);

    /* Errors: *args_r is NULL afterwards, the reason is logged. Channel b (index 1, console
     * 2 unless changed) is changed by `setup`. */
#define BAD(setup, msg)                                                              \
    do {                                                                             \
        libxl_device_channel b;                                                      \
        channel_init(&b, -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/s", 0, NULL);    \
        setup;                                                                       \
        libxl_device_channel two[2] = { c[0], b };                                   \
        args = (char **)&logger;                                                     \
        CHECK_INT(xlchannel_dm_chardev_args(ctx, two, 2, &args), ERROR_INVAL);       \
        CHECK(args == NULL);                                                         \
        CHECK(capture_ends_with(&logger, ":xlchannel_dm_chardev_args: " msg));       \
        libxl_device_channel_dispose(&b);                                            \
    } while (0)
    BAD(b.connection = LIBXL_CHANNEL_CONNECTION_UNKNOWN; free(b.u.socket.path); b.u.socket.path = NULL,
        "channel 2 has no defined connection; to where should it be connected?");
    BAD(b.connection = (libxl_channel_connection)7; free(b.u.socket.path); b.u.socket.path = NULL,
        "channel 2 has an invalid connection value 7");
    BAD(free(b.u.socket.path); b.u.socket.path = NULL, "channel 2 has no path");
    BAD(b.u.socket.path[0] = 0, "channel 2 has an empty path");
    BAD(free(b.u.socket.path); b.u.socket.path = malloc(109); memset(b.u.socket.path, 'p', 108);
        b.u.socket.path[108] = 0,
        "channel 2 has a path of 108 bytes; a unix socket path has at most 107");
    BAD(b.devid = 0,
        "channel devid 0: console 0 is the primary console, channels use devid 1 and up");
    BAD(b.devid = -2,
        "channel devid -2: console 0 is the primary console, channels use devid 1 and up");
    BAD(b.devid = 1, "channels 0 and 1 both use console 1");
#undef BAD
    /* The longest path a unix socket takes is fine. */
    free(c[1].u.socket.path);
    c[1].u.socket.path = malloc(108);
    memset(c[1].u.socket.path, 'p', 107);
    c[1].u.socket.path[107] = 0;
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, 2, &args), 0);
    xlchannel_dm_args_free(args);

    args = (char **)&logger;
    CHECK_INT(xlchannel_dm_chardev_args(ctx, NULL, 1, &args), ERROR_INVAL);
    CHECK(args == NULL);
    CHECK(capture_ends_with(&logger, ":xlchannel_dm_chardev_args: num_channels is 1 but channels is NULL"));
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, -1, &args), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_dm_chardev_args: num_channels is -1"));
    args = (char **)&logger;
    CHECK_INT(xlchannel_dm_chardev_args(NULL, c, 1, &args), ERROR_INVAL);
    CHECK(args == NULL);
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, 1, NULL), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_dm_chardev_args: NULL ctx or args_r"));
    dispose_all(c, 3);
}

/* The chardev ids are the ones the consoles' output nodes name after domain creation. */
static void test_chardev_ids_match_xenstore(void)
{
    CHECK_INT(register_domain(xs, 12, "dmguest"), 0);
    libxl_device_channel c[2];
    char **fresh = NULL, **created = NULL;
    channel_init(&c[0], -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/agent,1", 0, NULL);
    channel_init(&c[1], -1, LIBXL_CHANNEL_CONNECTION_SOCKET, "/run/agent,2", 0, NULL);
    free(c[1].name); /* a domain's channels have distinct names */
    c[1].name = strdup("org.example.channel2");
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, 2, &fresh), 0);
    CHECK_INT(xlchannel_xs_channels_create(xs, XBT_NULL, &logger.vtable, 12, c, 2), 0);
    CHECK_INT(c[0].devid, 1);
    CHECK_INT(c[1].devid, 2);
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, 2, &created), 0);
    for (int i = 0; i < 2; i++) {
        char path[128], want[64];
        snprintf(path, sizeof(path), "/local/domain/12/device/console/%d/output", c[i].devid);
        char *output = xs_get(xs, path);
        CHECK(output && !strncmp(output, "chardev:", 8));
        snprintf(want, sizeof(want), "socket,id=%s,", output ? output + 8 : "?");
        CHECK(!strncmp(fresh[2 * i + 1], want, strlen(want)));
        CHECK_STR(fresh[2 * i + 1], created[2 * i + 1]);
        free(output);
    }
    xlchannel_dm_args_free(fresh);
    xlchannel_dm_args_free(created);
    dispose_all(c, 2);
}

/* ---------------------------------------------------------------------------------------
 * Real qemu
 * ------------------------------------------------------------------------------------- */

static volatile pid_t qemu_pid;

static void watchdog(int sig)
{
    (void)sig;
    if (qemu_pid > 0) kill(qemu_pid, SIGKILL);
    static const char msg[] = "test_devicemodel: watchdog expired, qemu killed\n";
    ssize_t r = write(2, msg, sizeof(msg) - 1);
    (void)r;
    _exit(3);
}

/* The "filename" of the chardev labelled `label` in a query-chardev reply, or "". */
static void chardev_filename(const char *reply, const char *label, char *out, size_t n)
{
    char key[128];
    out[0] = 0;
    snprintf(key, sizeof(key), "\"label\": \"%s\"", label);
    const char *at = reply ? strstr(reply, key) : NULL;
    if (!at) return;
    const char *open = at;
    while (open > reply && *open != '{') open--;
    const char *f = strstr(open, "\"filename\": \"");
    if (!f || f > at) return;
    f += strlen("\"filename\": \"");
    const char *e = strchr(f, '"');
    if (!e || (size_t)(e - f) >= n) return;
    memcpy(out, f, (size_t)(e - f));
    out[e - f] = 0;
}

/* Ask qemu to quit, then make sure: TERM, KILL; every wait bounded. Quit must suffice. */
static void stop_our_qemu(struct reader *q)
{
    if (qemu_pid <= 0) return;
    int i = stop_qemu(qemu_pid, q);
    if (i != 0) fprintf(stderr, "qemu did not stop on quit (step %d)\n", i);
    CHECK_INT(i, 0); /* quit worked */
    qemu_pid = 0;
}

static void show_log(const char *log)
{
    FILE *f = fopen(log, "r");
    char line[512];
    if (!f) return;
    fprintf(stderr, "---- qemu log ----\n");
    while (fgets(line, sizeof(line), f)) fputs(line, stderr);
    fclose(f);
}

/* Talk to the HMP monitor standing in as the channel's frontend: `info version` must
 * answer with qemu's version (qemu's console backend plays this part in a Xen guest). */
static int monitor_answers(struct reader *r, const char *version)
{
    size_t from = r->len;
    if (!read_until(r, from, "(qemu) ", 10000)) return 0;
    from = r->len;
    if (send_all(r->fd, "info version\n")) return 0;
    return read_until(r, from, version, 10000) != NULL;
}

static void test_real_qemu(void)
{
    const char *qemu = getenv("XLCHANNEL_QEMU") ? getenv("XLCHANNEL_QEMU") : "qemu-system-x86_64";
    char dir[] = "/tmp/xlchannel-dm.XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char qmp_path[128], qmp_arg[160], sock[128], log[128];
    snprintf(qmp_path, sizeof(qmp_path), "%s/qmp", dir);
    snprintf(qmp_arg, sizeof(qmp_arg), "unix:%s,server=on,wait=off", qmp_path);
    snprintf(sock, sizeof(sock), "%s/agent,v1 sock", dir); /* a comma and a space */
    snprintf(log, sizeof(log), "%s/qemu.log", dir);

    libxl_device_channel c[2];
    channel_init(&c[0], -1, LIBXL_CHANNEL_CONNECTION_PTY, NULL, 0, NULL);
    channel_init(&c[1], -1, LIBXL_CHANNEL_CONNECTION_SOCKET, sock, 0, NULL);
    char **dm = NULL;
    CHECK_INT(xlchannel_dm_chardev_args(ctx, c, 2, &dm), 0);
    if (!dm) { dispose_all(c, 2); return; }

    char *argv[32];
    int n = 0;
    const char *base[] = { qemu, "-machine", "none", "-nodefaults", "-display", "none",
                           "-qmp", qmp_arg };
    for (unsigned i = 0; i < sizeof(base) / sizeof(base[0]); i++) argv[n++] = (char *)base[i];
    for (int i = 0; dm[i]; i++) argv[n++] = dm[i];
    /* Frontends for the test: an HMP monitor on each channel's chardev. */
    argv[n++] = "-mon"; argv[n++] = "chardev=libxl-channel1,mode=readline";
    argv[n++] = "-mon"; argv[n++] = "chardev=libxl-channel2,mode=readline";
    argv[n] = NULL;
    printf("qemu:");
    for (int i = 0; argv[i]; i++) printf(" '%s'", argv[i]);
    printf("\n");

    struct reader *q = calloc(1, sizeof(*q)), *s = calloc(1, sizeof(*s)), *p = calloc(1, sizeof(*p));
    q->fd = s->fd = p->fd = -1;
    qemu_pid = start_qemu(argv, log);
    CHECK(qemu_pid > 0);

    /* QMP: bounded wait for the socket, then greeting, capabilities, query-chardev. */
    for (long end = now_ms() + 10000; q->fd < 0 && now_ms() < end; usleep(50000)) {
        int status;
        if (waitpid(qemu_pid, &status, WNOHANG) == qemu_pid) { qemu_pid = 0; break; }
        q->fd = connect_unix(qmp_path);
    }
    CHECK(q->fd >= 0);
    char version[32] = "";
    char *greeting = q->fd >= 0 ? read_until(q, 0, "\n", 10000) : NULL;
    CHECK(greeting != NULL);
    if (greeting) {
        int major = -1, minor = -1, micro = -1;
        const char *v = strstr(q->buf, "\"qemu\": {");
        if (v) sscanf(v, "\"qemu\": {\"micro\": %d, \"minor\": %d, \"major\": %d", &micro, &minor, &major);
        snprintf(version, sizeof(version), "%d.%d.%d", major, minor, micro);
        printf("qmp: greeting: %.*s", (int)(greeting - q->buf), q->buf);
        CHECK(major >= 0);
    }
    char *reply = greeting ? qmp(q, "{\"execute\": \"qmp_capabilities\"}") : NULL;
    CHECK_STR(reply, "{\"return\": {}}");
    reply = reply ? qmp(q, "{\"execute\": \"query-chardev\"}") : NULL;
    char pty[128], unix_name[256], want[256];
    chardev_filename(reply, "libxl-channel1", pty, sizeof(pty));
    chardev_filename(reply, "libxl-channel2", unix_name, sizeof(unix_name));
    CHECK(!strncmp(pty, "pty:/dev/pts/", 13));
    snprintf(want, sizeof(want), "disconnected:unix:%s,server=on", sock);
    CHECK_STR(unix_name, want);

    /* The socket is where the channel says, comma and space included; talk through it. */
    struct stat st;
    CHECK(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode));
    s->fd = connect_unix(sock);
    CHECK(s->fd >= 0);
    CHECK(s->fd >= 0 && monitor_answers(s, version));
    reply = reply ? qmp(q, "{\"execute\": \"query-chardev\"}") : NULL;
    chardev_filename(reply, "libxl-channel2", unix_name, sizeof(unix_name));
    snprintf(want, sizeof(want), "unix:%s,server=on", sock);
    CHECK_STR(unix_name, want);

    /* The pty: open the device qemu reported and talk through it, too. */
    if (!strncmp(pty, "pty:", 4)) {
        p->fd = open(pty + 4, O_RDWR | O_NOCTTY | O_CLOEXEC);
        CHECK(p->fd >= 0);
        struct termios t;
        if (p->fd >= 0 && tcgetattr(p->fd, &t) == 0) {
            cfmakeraw(&t);
            tcsetattr(p->fd, TCSANOW, &t);
        }
        CHECK(p->fd >= 0 && monitor_answers(p, version));
    }

    if (check_failed) show_log(log);
    stop_our_qemu(q);
    if (q->fd >= 0) close(q->fd);
    if (s->fd >= 0) close(s->fd);
    if (p->fd >= 0) close(p->fd);
    free(q); free(s); free(p);
    xlchannel_dm_args_free(dm);
    dispose_all(c, 2);
    unlink(log);
    unlink(sock);
    unlink(qmp_path);
    CHECK_INT(rmdir(dir), 0);
}

int main(void)
{
    signal(SIGALRM, watchdog);
    alarm(120);
    capture_init(&logger);
    xs = xs_open(0);
    if (!xs || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable)) {
        fprintf(stderr, "test_devicemodel: no xenstore (run inside testbed/with-xenstored.sh)\n");
        return 2;
    }
    test_constants();
    test_need_matrix();
    test_need_backend_names();
    test_need_own_domid();
    test_need_errors();
    test_chardev_args();
    test_chardev_ids_match_xenstore();
    test_real_qemu();
    libxl_ctx_free(ctx);
    xs_close(xs);
    return check_summary("test_devicemodel");
}
