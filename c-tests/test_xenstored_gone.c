/* xenstored going away under a live context: every operation fails with a clear, logged
 * error instead of hanging or crashing, and nothing leaks (ASan/LSan). Run by
 * xenstored_gone.sh, which gives it a private daemon to kill. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "libxl_channel.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"

int main(void)
{
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
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    c.name = strdup("org.example.gone");
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK_INT(libxl_device_channel_add(ctx, 4, &c, NULL), 0);

    pid_t daemon = (pid_t)atoi(pid_text);
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
