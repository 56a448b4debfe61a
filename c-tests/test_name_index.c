/* The name index (/libxl/<domid>/channel-names) against the test bed's real xenstored:
 * its layout, duplicate names found through it, removal freeing a name, channels another
 * toolstack wrote before the index existed, stale entries, an add inside the caller's
 * transaction, and concurrent adds of one name from several processes. Through the
 * embedding API, with channels served by a driver domain (so no device model is
 * involved). Runs under ASan/LSan. */
#include <stdint.h>
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
static struct xs_handle *xs;

/* The driver domain serving every channel here. */
#define DRIVER 7

/* The index key of a name: FNV-1a 64 in 16 hex digits. */
static void key_of(const char *name, char out[17])
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 0x100000001b3ULL;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

static char *entry_of(unsigned domid, const char *name)
{
    char key[17], path[128];
    key_of(name, key);
    snprintf(path, sizeof(path), "/libxl/%u/channel-names/%.2s/%s", domid, key, key + 2);
    return xs_get(xs, path);
}

static void check_entry(unsigned domid, const char *name, const char *want)
{
    char *got = entry_of(domid, name);
    CHECK_STR(got, want);
    free(got);
}

static int add_in(xs_transaction_t t, unsigned domid, const char *name, int *devid)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup(name);
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    c.backend_domid = DRIVER;
    int rc = xlchannel_xs_channel_add(xs, t, &logger.vtable, domid, &c);
    if (devid) *devid = c.devid;
    libxl_device_channel_dispose(&c);
    return rc;
}

static int add(unsigned domid, const char *name, int *devid)
{
    return add_in(XBT_NULL, domid, name, devid);
}

static int remove_console(unsigned domid, int devid)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.devid = devid;
    int rc = xlchannel_xs_channel_remove(xs, &logger.vtable, domid, &c, 1);
    libxl_device_channel_dispose(&c);
    return rc;
}

static int exists(const char *path)
{
    char *v = xs_get(xs, path);
    free(v);
    return v != NULL;
}

static void test_layout_and_duplicates(void)
{
    int devid = 0;
    CHECK_INT(register_domain(xs, 40, "guest40"), 0);
    CHECK_INT(add(40, "org.a", &devid), 0);
    CHECK_INT(devid, 1);
    CHECK_INT(add(40, "org.b", &devid), 0);
    CHECK_INT(devid, 2);
    /* The directory marks the index complete; each entry lists its name's consoles. */
    char *root = xs_get(xs, "/libxl/40/channel-names");
    CHECK_STR(root, "");
    free(root);
    char perms[64];
    CHECK_STR(xs_perms_text(xs, "/libxl/40/channel-names", perms, sizeof(perms)), "n0");
    check_entry(40, "org.a", "1");
    check_entry(40, "org.b", "2");

    capture_clear(&logger);
    CHECK_INT(add(40, "org.a", &devid), ERROR_INVAL);
    CHECK(strstr(logger.all, "domain 40 already has a channel named 'org.a' (console 1)") != NULL);
    CHECK(!exists("/libxl/40/device/console/3"));
    CHECK(!exists("/local/domain/40/device/console/3"));
    check_entry(40, "org.a", "1");

    /* Removal frees the name (and its entry); the console is reused by the next add. */
    CHECK_INT(remove_console(40, 1), 0);
    CHECK(entry_of(40, "org.a") == NULL);
    check_entry(40, "org.b", "2");
    CHECK_INT(add(40, "org.a", &devid), 0);
    CHECK_INT(devid, 1);
    check_entry(40, "org.a", "1");
}

/* Consoles as Debian's libxl 4.17 writes them at domain creation (no index): the libxl
 * copy with its name, and the frontend directory. */
static void write_foreign_channel(unsigned domid, int devid, const char *name)
{
    char path[128];
    snprintf(path, sizeof(path), "/libxl/%u/device/console/%d/name", domid, devid);
    CHECK_INT(xs_put(xs, path, name), 0);
    snprintf(path, sizeof(path), "/libxl/%u/device/console/%d/connection", domid, devid);
    CHECK_INT(xs_put(xs, path, "pty"), 0);
    snprintf(path, sizeof(path), "/local/domain/%u/device/console/%d/name", domid, devid);
    CHECK_INT(xs_put(xs, path, name), 0);
}

static void test_channels_from_before_the_index(void)
{
    int devid = 0;
    CHECK_INT(register_domain(xs, 41, "guest41"), 0);
    write_foreign_channel(41, 1, "org.old");
    write_foreign_channel(41, 2, "org.older");

    capture_clear(&logger);
    CHECK_INT(add(41, "org.older", &devid), ERROR_INVAL);
    CHECK(strstr(logger.all, "domain 41 already has a channel named 'org.older' (console 2)") != NULL);
    /* A refused add makes no index either. */
    CHECK(!exists("/libxl/41/channel-names"));

    CHECK_INT(add(41, "org.new", &devid), 0);
    CHECK_INT(devid, 3);
    check_entry(41, "org.old", "1");
    check_entry(41, "org.older", "2");
    check_entry(41, "org.new", "3");
    /* From now on the index answers. */
    CHECK_INT(add(41, "org.old", &devid), ERROR_INVAL);
    CHECK(strstr(logger.all, "already has a channel named 'org.old' (console 1)") != NULL);
}

static void test_stale_entries(void)
{
    int devid = 0;
    char key[17], path[160];
    CHECK_INT(register_domain(xs, 42, "guest42"), 0);
    CHECK_INT(add(42, "org.s", &devid), 0);
    CHECK_INT(devid, 1);
    /* A tool that does not know the index removes the channel, and the entry is left
     * naming a console that is gone, plus garbage. */
    CHECK(xs_rm(xs, XBT_NULL, "/libxl/42/device/console/1"));
    CHECK(xs_rm(xs, XBT_NULL, "/local/domain/42/device/console/1"));
    CHECK(xs_rm(xs, XBT_NULL, "/local/domain/7/backend/console/42/1"));
    key_of("org.s", key);
    snprintf(path, sizeof(path), "/libxl/42/channel-names/%.2s/%s", key, key + 2);
    CHECK_INT(xs_put(xs, path, "1 x 5"), 0);
    /* The name is free: the listed consoles do not hold it. */
    CHECK_INT(add(42, "org.s", &devid), 0);
    CHECK_INT(devid, 1);
    check_entry(42, "org.s", "1");
}

static void test_inside_callers_transaction(void)
{
    int devid = 0;
    CHECK_INT(register_domain(xs, 43, "guest43"), 0);
    xs_transaction_t t = xs_transaction_start(xs);
    CHECK(t != XBT_NULL);
    CHECK_INT(add_in(t, 43, "org.t", &devid), 0);
    CHECK_INT(devid, 1);
    capture_clear(&logger);
    CHECK_INT(add_in(t, 43, "org.t", &devid), ERROR_INVAL);
    CHECK(strstr(logger.all, "domain 43 already has a channel named 'org.t' (console 1)") != NULL);
    CHECK(xs_transaction_end(xs, t, false));
    check_entry(43, "org.t", "1");
    CHECK(!exists("/libxl/43/device/console/2"));

    /* An aborted transaction leaves neither the channel nor its entry. */
    t = xs_transaction_start(xs);
    CHECK_INT(add_in(t, 43, "org.u", &devid), 0);
    CHECK(xs_transaction_end(xs, t, true));
    CHECK(entry_of(43, "org.u") == NULL);
    CHECK(!exists("/libxl/43/device/console/2"));
}

/* WRITERS processes add the same name at once: exactly one gets it. */
static void race_one_name(unsigned domid)
{
    enum { WRITERS = 6 };
    int go[2];
    CHECK_INT(register_domain(xs, domid, "racer"), 0);
    CHECK_INT(pipe(go), 0);
    pid_t pids[WRITERS];
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            char b;
            close(go[1]);
            struct xs_handle *own = xs_open(0);
            if (!own || read(go[0], &b, 1) != 0) _exit(3);
            libxl_device_channel c;
            libxl_device_channel_init(&c);
            c.name = strdup("org.race");
            libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
            c.backend_domid = DRIVER;
            int rc = xlchannel_xs_channel_add(own, XBT_NULL, NULL, domid, &c);
            libxl_device_channel_dispose(&c);
            xs_close(own);
            _exit(rc == 0 ? 0 : rc == ERROR_INVAL ? 1 : 2);
        }
    }
    close(go[0]);
    close(go[1]); /* every writer starts now */
    int won = 0, refused = 0;
    for (int w = 0; w < WRITERS; w++) {
        int status = 0;
        waitpid(pids[w], &status, 0);
        int code = WIFEXITED(status) ? WEXITSTATUS(status) : 9;
        won += code == 0;
        refused += code == 1;
    }
    CHECK_INT(won, 1);
    CHECK_INT(refused, WRITERS - 1);
    int num = -1;
    libxl_device_channel *list = xlchannel_xs_channel_list(xs, XBT_NULL, NULL, domid, &num);
    CHECK_INT(num, 1);
    if (list && num == 1) {
        CHECK_STR(list[0].name, "org.race");
        char want[16];
        snprintf(want, sizeof(want), "%d", list[0].devid + 1);
        check_entry(domid, "org.race", want);
    }
    libxl_device_channel_list_free(list, num);
}

int main(void)
{
    capture_init(&logger);
    xs = xs_open(0);
    if (!xs) {
        fprintf(stderr, "no xenstore: run inside testbed/with-xenstored.sh\n");
        return 2;
    }
    test_layout_and_duplicates();
    test_channels_from_before_the_index();
    test_stale_entries();
    test_inside_callers_transaction();
    for (unsigned d = 50; d < 55; d++) race_one_name(d);
    xs_close(xs);
    return check_summary("name-index");
}
