/* Real libxenlight 4.17 and xlchannel loaded side by side (dlopen, RTLD_LOCAL): a struct
 * filled by one is disposed by the other, both ways, so their ownership contracts are the
 * same in practice. Run under valgrind: any leak, double free or mismatched free fails.
 * Usage: cross_ownership PATH_TO_libxlchannel.so  (inside the real-xenstored test bed) */
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include <libxl.h> /* the real types; ours are ABI-identical (c-tests/abi) */
#include "../check.h"

struct impl {
    const char *label;
    void *dl;
    libxl_ctx *ctx;
    int (*ctx_alloc)(libxl_ctx **, int, unsigned, xentoollog_logger *);
    int (*ctx_free)(libxl_ctx *);
    void (*init)(libxl_device_channel *);
    void (*dispose)(libxl_device_channel *);
    void (*copy)(libxl_ctx *, libxl_device_channel *, const libxl_device_channel *);
    int (*from_json)(libxl_ctx *, libxl_device_channel *, const char *);
    char *(*to_json)(libxl_ctx *, libxl_device_channel *);
    void (*info_init)(libxl_channelinfo *);
    void (*info_dispose)(libxl_channelinfo *);
    int (*info_from_json)(libxl_ctx *, libxl_channelinfo *, const char *);
};

static int load(struct impl *m, const char *label, const char *path, xentoollog_logger *lg)
{
    m->label = label;
    m->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!m->dl) { fprintf(stderr, "%s: %s\n", label, dlerror()); return -1; }
#define SYM(field, name) \
    if (!(*(void **)&m->field = dlsym(m->dl, name))) { fprintf(stderr, "%s: no %s\n", label, name); return -1; }
    SYM(ctx_alloc, "libxl_ctx_alloc");
    SYM(ctx_free, "libxl_ctx_free");
    SYM(init, "libxl_device_channel_init");
    SYM(dispose, "libxl_device_channel_dispose");
    SYM(copy, "libxl_device_channel_copy");
    SYM(from_json, "libxl_device_channel_from_json");
    SYM(to_json, "libxl_device_channel_to_json");
    SYM(info_init, "libxl_channelinfo_init");
    SYM(info_dispose, "libxl_channelinfo_dispose");
    SYM(info_from_json, "libxl_channelinfo_from_json");
#undef SYM
    return m->ctx_alloc(&m->ctx, LIBXL_VERSION, 0, lg);
}

static const char *channel_json =
    "{\"backend_domid\": 2, \"backend_domname\": \"driver\", \"devid\": 1, \"name\": \"org.example.agent\","
    " \"connection.socket\": {\"path\": \"/run/agent.sock\"}}";
static const char *info_json =
    "{\"backend\": \"/local/domain/0/backend/console/7/2\", \"frontend\": \"/local/domain/7/device/console/2\","
    " \"frontend_id\": 7, \"devid\": 1, \"connection.pty\": {\"path\": \"/dev/pts/9\"}}";

static int is_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) if (b[i]) return 0;
    return 1;
}

/* `maker` fills, `disposer` disposes; `maker`'s JSON of the result must match the original. */
static void cross(struct impl *maker, struct impl *disposer)
{
    libxl_device_channel c, d;
    libxl_channelinfo i;

    CHECK_INT(maker->from_json(maker->ctx, &c, channel_json), 0);
    CHECK_STR(c.name, "org.example.agent");
    CHECK_STR(c.u.socket.path, "/run/agent.sock");
    maker->copy(maker->ctx, &d, &c);
    char *a = maker->to_json(maker->ctx, &c), *b = disposer->to_json(disposer->ctx, &d);
    CHECK_STR(a, b); /* both libraries print the other's struct identically */
    free(a);
    free(b);
    disposer->dispose(&c);
    disposer->dispose(&d);
    CHECK(is_zero(&c, sizeof(c)) && is_zero(&d, sizeof(d)));

    /* C-side strdup()s, disposed by the other library after the maker's init. */
    maker->init(&c);
    c.name = strdup("n");
    c.backend_domname = strdup("b");
    c.connection = LIBXL_CHANNEL_CONNECTION_SOCKET;
    c.u.socket.path = strdup("/p");
    disposer->dispose(&c);

    CHECK_INT(maker->info_from_json(maker->ctx, &i, info_json), 0);
    CHECK_STR(i.u.pty.path, "/dev/pts/9");
    CHECK_INT(i.frontend_id, 7);
    disposer->info_dispose(&i);
    CHECK(is_zero(&i, sizeof(i)));
    printf("%s -> %s: done\n", maker->label, disposer->label);
}

int main(int argc, char **argv)
{
    if (argc != 2) { fprintf(stderr, "usage: %s libxlchannel.so\n", argv[0]); return 2; }
    xentoollog_logger *lg = (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    struct impl real, ours;
    if (load(&real, "libxenlight", "libxenlight.so.4.17", lg) || load(&ours, "xlchannel", argv[1], lg)) {
        fprintf(stderr, "cannot load both libraries (is the test bed running?)\n");
        return 2;
    }
    CHECK(real.init != ours.init); /* really two implementations */
    cross(&ours, &real);
    cross(&real, &ours);
    real.ctx_free(real.ctx);
    ours.ctx_free(ours.ctx);
    xtl_logger_destroy(lg);
    dlclose(ours.dl);
    dlclose(real.dl);
    return check_summary("cross-ownership");
}
