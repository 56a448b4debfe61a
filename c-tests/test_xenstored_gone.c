/* xenstored that stops answering or goes away under a live context: every operation fails
 * with a clear, logged error after a bounded wait (ERROR_TIMEDOUT for a stopped daemon or a
 * socket that never answers) instead of hanging or crashing, the context works again once
 * the daemon does, a XENSTORED_PATH naming a regular file is refused before anything is
 * written, and nothing leaks (ASan/LSan). Run by xenstored_gone.sh, which gives it a private
 * daemon to stop and kill. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libxl_channel.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

#define TIMEOUT_TAIL "xenstored did not answer within 1 s (stopped or hung?); XLCHANNEL_XS_TIMEOUT sets the limit"

/* Every operation gives ERROR_TIMEDOUT with the reason after the limit (1 s here). */
static void check_operations_time_out(libxl_ctx *ctx, struct capture_logger *logger, unsigned domid)
{
    int num = 3;
    double t0 = now();
    CHECK(libxl_device_channel_list(ctx, domid, &num) == NULL);
    CHECK(now() - t0 >= 1.0);
    CHECK_INT(num, 0);
    CHECK(strstr(logger->all, TIMEOUT_TAIL) != NULL);
    CHECK(capture_ends_with(logger, "Unable to list channels"));

    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup("org.example.stalled");
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    capture_clear(logger);
    CHECK_INT(libxl_device_channel_add(ctx, domid, &c, NULL), ERROR_TIMEDOUT);
    CHECK(strstr(logger->all, TIMEOUT_TAIL) != NULL);
    CHECK_INT(c.devid, -1);

    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    c.devid = 0;
    CHECK_INT(libxl_device_channel_getinfo(ctx, domid, &c, &info), ERROR_TIMEDOUT);
    CHECK(capture_ends_with(logger, TIMEOUT_TAIL));
    libxl_channelinfo_dispose(&info);
    libxl_device_channel_dispose(&c);
}

/* The real daemon stopped (SIGSTOP) under a live context, then continued. */
static void test_stopped_daemon(libxl_ctx *ctx, struct capture_logger *logger, pid_t daemon)
{
    CHECK_INT(kill(daemon, SIGSTOP), 0);
    check_operations_time_out(ctx, logger, 4);
    CHECK_INT(kill(daemon, SIGCONT), 0);
    /* The context connects again: nothing was written while the daemon was stopped. */
    int num = 0;
    libxl_device_channel *list = libxl_device_channel_list(ctx, 4, &num);
    CHECK_INT(num, 1);
    libxl_device_channel_list_free(list, num);
}

/* A socket that accepts connections (the kernel does, into the backlog) and never answers. */
static void test_silent_socket(struct capture_logger *logger, const char *dir)
{
    char path[100];
    snprintf(path, sizeof(path), "%.80s/silent.sock", dir);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    memcpy(addr.sun_path, path, strlen(path) + 1);
    CHECK_INT(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    CHECK_INT(listen(fd, 64), 0);
    char *saved = strdup(getenv("XENSTORED_PATH"));
    setenv("XENSTORED_PATH", path, 1);
    libxl_ctx *ctx = NULL;
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger->vtable), 0);
    if (ctx) {
        check_operations_time_out(ctx, logger, 4);
        libxl_ctx_free(ctx);
    }
    close(fd);
    unlink(path);
    setenv("XENSTORED_PATH", saved, 1);
    free(saved);
}

/* XENSTORED_PATH naming a regular file (libxenstore would open it as its device and write
 * requests into it), or a limit that is not a number of seconds: no context. */
static void test_bad_settings(struct capture_logger *logger, const char *dir)
{
    char path[200];
    snprintf(path, sizeof(path), "%s/not-a-socket", dir);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (f) fclose(f);
    char *saved = strdup(getenv("XENSTORED_PATH"));
    setenv("XENSTORED_PATH", path, 1);
    libxl_ctx *ctx = (libxl_ctx *)logger;
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger->vtable), ERROR_FAIL);
    CHECK(ctx == NULL);
    char want[400];
    snprintf(want, sizeof(want), "cannot connect to xenstore: xenstore open: %s is a regular file, "
             "not xenstored's socket (XENSTORED_PATH names the socket)", path);
    CHECK(capture_ends_with(logger, want));
    struct stat st;
    CHECK_INT(stat(path, &st), 0);
    CHECK_INT(st.st_size, 0); /* nothing was written into it */
    unlink(path);
    setenv("XENSTORED_PATH", dir, 1);
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger->vtable), ERROR_FAIL);
    CHECK(strstr(logger->last, " is a directory, not xenstored's socket") != NULL);
    setenv("XENSTORED_PATH", saved, 1);
    free(saved);

    setenv("XLCHANNEL_XS_TIMEOUT", "soon", 1);
    CHECK_INT(libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger->vtable), ERROR_FAIL);
    CHECK(capture_ends_with(logger, "XLCHANNEL_XS_TIMEOUT=\"soon\" is not a number of seconds in (0, 86400]"));
    setenv("XLCHANNEL_XS_TIMEOUT", "1", 1);
}

int main(void)
{
    /* A short limit, so the stalls below are short. */
    setenv("XLCHANNEL_XS_TIMEOUT", "1", 1);
    /* A hang is a failure, not a stuck test run. */
    alarm(120);
    struct capture_logger logger;
    capture_init(&logger);
    const char *pid_text = getenv("XLCHANNEL_XENSTORED_PID");
    struct xs_handle *xs = xs_open(0);
    libxl_ctx *ctx;
    if (!pid_text || !xs || libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable)) {
        fprintf(stderr, "needs a private test-bed daemon (xenstored_gone.sh)\n");
        return 2;
    }
    CHECK_INT(register_domain(xs, 4, "guest4"), 0);
    CHECK_INT(register_domain(xs, 3, "driver3"), 0);
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup("org.example.gone");
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    /* Served by a driver domain: no device model runs here (one served by dom0 would need
     * one, c-tests/test_hotplug.c). */
    c.backend_domid = 3;
    CHECK_INT(libxl_device_channel_add(ctx, 4, &c, NULL), 0);

    pid_t daemon = (pid_t)atoi(pid_text);
    const char *dir = getenv("XLCHANNEL_TESTBED_DIR");
    test_stopped_daemon(ctx, &logger, daemon);
    if (dir) {
        test_silent_socket(&logger, dir);
        test_bad_settings(&logger, dir);
    }
    CHECK(dir != NULL);

    CHECK_INT(kill(daemon, SIGKILL), 0);
    for (int i = 0; i < 100 && kill(daemon, 0) == 0; i++) {
        waitpid(daemon, NULL, WNOHANG);
        usleep(20000);
        char state[64];
        snprintf(state, sizeof(state), "/proc/%d/stat", daemon);
        FILE *f = fopen(state, "r");
        if (!f) break;
        int zombie = fscanf(f, "%*d %*s %63s", state) == 1 && state[0] == 'Z';
        fclose(f);
        if (zombie) break;
    }

    c.devid = -1;
    CHECK_INT(libxl_device_channel_add(ctx, 4, &c, NULL), ERROR_FAIL);
    CHECK(capture_ends_with(&logger, "Domain 4:Unable to add channel device"));
    int num = 3;
    CHECK(libxl_device_channel_list(ctx, 4, &num) == NULL);
    CHECK_INT(num, 0);
    CHECK(capture_ends_with(&logger, "Domain 4:Unable to list channels"));
    libxl_channelinfo info;
    libxl_channelinfo_init(&info);
    c.devid = 0;
    CHECK_INT(libxl_device_channel_getinfo(ctx, 4, &c, &info), ERROR_FAIL);
    CHECK(strstr(logger.last, "xenstore") != NULL);
    fprintf(stderr, "last message: %s\n", logger.last);
    libxl_channelinfo_dispose(&info);
    libxl_device_channel_dispose(&c);
    libxl_ctx_free(ctx);
    xs_close(xs);
    return check_summary("c-xenstored-gone");
}
