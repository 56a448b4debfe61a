/* The guest side's C API: xlchannel_guest_open_channel waits for the link the real
 * xlchannel-guest helper makes (run here as udev would, against the test bed's real
 * xenstored, where dom0's relative paths resolve under /local/domain/0) and opens it;
 * timeouts, refused names and NULL arguments. Under ASan/LSan (--no-preload).
 * Usage: test_guest PATH-TO-xlchannel-guest */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libxl_channel.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"

static struct capture_logger logger;
static char dev[256];
static const char *helper;

#define LG ((xentoollog_logger *)&logger)

static void sleep_ms(long ms)
{
    struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* How many descriptors the process has open. */
static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static void test_null_and_bad_arguments(void)
{
    int fd = 42;
    CHECK_INT(xlchannel_guest_open_channel(LG, "org.x", dev, 0, NULL), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, "xlchannel_guest_open_channel: NULL fd_r passed"));
    CHECK_INT(xlchannel_guest_open_channel(LG, NULL, dev, 0, &fd), ERROR_INVAL);
    CHECK_INT(fd, -1);
    CHECK(capture_ends_with(&logger, "NULL name passed"));
    CHECK_STR(logger.last_context, "libxl");
    CHECK_INT(logger.last_level, XTL_ERROR);

    static const struct { const char *name, *why; } bad[] = {
        { "", "refusing channel name \"\": it is empty" },
        { ".", "refusing channel name \".\": '.' is not a file name" },
        { "..", "refusing channel name \"..\": '..' is not a file name" },
        { "../hvc1", "refusing channel name \"../hvc1\": it contains '/'" },
        { "a\tb", "refusing channel name \"a\\tb\": it contains the control byte 0x09" },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fd = 42;
        CHECK_INT(xlchannel_guest_open_channel(LG, bad[i].name, dev, 1000, &fd), ERROR_INVAL);
        CHECK_INT(fd, -1);
        CHECK(capture_ends_with(&logger, bad[i].why));
    }
    char longname[300];
    memset(longname, 'n', 256);
    longname[256] = 0;
    CHECK_INT(xlchannel_guest_open_channel(LG, longname, dev, 0, &fd), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, "it is 256 bytes long; a file name has at most 255"));

    char missing[300];
    snprintf(missing, sizeof(missing), "%s/missing", dev);
    CHECK_INT(xlchannel_guest_open_channel(LG, "org.x", missing, 0, &fd), ERROR_FAIL);
    CHECK_INT(fd, -1);
    CHECK(strstr(logger.last, "watching ") && strstr(logger.last, "No such file or directory"));
}

static void test_timeout(void)
{
    int fd = 42;
    char want[512];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK_INT(xlchannel_guest_open_channel(LG, "org.c.never", dev, 250, &fd), ERROR_TIMEDOUT);
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK_INT(ERROR_TIMEDOUT, -9);
    CHECK_INT(fd, -1);
    CHECK((b.tv_sec - a.tv_sec) * 1000 + (b.tv_nsec - a.tv_nsec) / 1000000 >= 250);
    snprintf(want, sizeof(want),
             "channel \"org.c.never\" did not appear as %s/xen-channel/org.c.never within 250 ms",
             dev);
    CHECK(capture_ends_with(&logger, want));
    /* NULL dev_dir is /dev; NULL logger logs to stderr, without costing a descriptor per
     * call. */
    CHECK_INT(xlchannel_guest_open_channel(NULL, "org.c.no-such-channel", NULL, 0, &fd),
              ERROR_TIMEDOUT);
    CHECK_INT(fd, -1);
    int before = open_fds();
    for (int i = 0; i < 20; i++)
        CHECK_INT(xlchannel_guest_open_channel(NULL, "", NULL, 0, &fd), ERROR_INVAL);
    CHECK_INT(open_fds(), before);
}

/* The helper, run as udev runs it, after `delay_ms`; its exit status. */
static pid_t run_helper_later(long delay_ms, const char *devpath, int make_console)
{
    pid_t pid = fork();
    if (pid == 0) {
        sleep_ms(delay_ms);
        if (make_console) {
            char hvc[300];
            snprintf(hvc, sizeof(hvc), "%s/hvc171", dev);
            int f = open(hvc, O_CREAT | O_WRONLY, 0600);
            if (f < 0) _exit(100);
            close(f);
        }
        execl(helper, helper, "add", devpath, "--dev-dir", dev, (char *)NULL);
        _exit(101);
    }
    return pid;
}

static void test_wait_then_open(void)
{
    struct xs_handle *xs = xs_open(0);
    CHECK(xs != NULL);
    if (!xs) return;
    CHECK_INT(xs_put(xs, "/local/domain/0/device/console/171/name", "org.c.agent"), 0);
    pid_t pid = run_helper_later(300, "/devices/console-171", 1);
    CHECK(pid > 0);
    int fd = -2;
    CHECK_INT(xlchannel_guest_open_channel(LG, "org.c.agent", dev, 30000, &fd), 0);
    CHECK(fd >= 0);
    int status = -1;
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);

    char link[300], target[64] = { 0 };
    snprintf(link, sizeof(link), "%s/xen-channel/org.c.agent", dev);
    CHECK_INT(readlink(link, target, sizeof(target) - 1), 9);
    CHECK_STR(target, "../hvc171");
    if (fd >= 0) {
        CHECK_INT(write(fd, "ping", 4), 4);
        CHECK_INT(fcntl(fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
        close(fd);
    }
    char hvc[300], got[16] = { 0 };
    snprintf(hvc, sizeof(hvc), "%s/hvc171", dev);
    int r = open(hvc, O_RDONLY);
    CHECK(r >= 0);
    if (r >= 0) {
        CHECK_INT(read(r, got, sizeof(got) - 1), 4);
        CHECK_STR(got, "ping");
        close(r);
    }

    /* A name the helper refuses never appears: the wait ends by its timeout. */
    CHECK_INT(xs_put(xs, "/local/domain/0/device/console/172/name", "org/c"), 0);
    pid = run_helper_later(0, "/devices/console-172", 0);
    CHECK_INT(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3);
    CHECK_INT(xlchannel_guest_open_channel(LG, "c", dev, 100, &fd), ERROR_TIMEDOUT);
    xs_rm(xs, XBT_NULL, "/local/domain/0/device/console/171");
    xs_rm(xs, XBT_NULL, "/local/domain/0/device/console/172");
    xs_close(xs);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s PATH-TO-xlchannel-guest\n", argv[0]);
        return 2;
    }
    helper = argv[1];
    snprintf(dev, sizeof(dev), "%s/xlchannel-test-guest.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dev)) {
        perror("mkdtemp");
        return 2;
    }
    capture_init(&logger);
    test_null_and_bad_arguments();
    test_timeout();
    test_wait_then_open();

    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dev);
    CHECK_INT(system(cmd), 0);
    return check_summary("test_guest");
}
