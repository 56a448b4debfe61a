/* The xl configuration reader's C API: a config's channels and one channel SPEC, read as
 * xl 4.17 reads them, with xl's messages (exact text) passed to the context's logger; the
 * results' ownership, NULL handling, and a config's channels added to a domain. Runs under
 * ASan/LSan inside the real-xenstored test bed (--no-preload). */
#include <stdlib.h>
#include <string.h>

#include "libxl_channel.h"
#include "libxl_channel_embed.h"
#include "check.h"
#include "capture_logger.h"
#include "xs_helpers.h"

static struct capture_logger logger;
static libxl_ctx *ctx;

#define GUEST "name = \"guest\"\nmemory = 128\n"

/* Read `text` as the file guest.cfg; the log is cleared first. */
static int read_config(const char *text, libxl_device_channel **list, int *num)
{
    capture_clear(&logger);
    *list = (libxl_device_channel *)&logger; /* any garbage, to see it reset */
    *num = 42;
    return xlchannel_config_channels(ctx, "guest.cfg", text, strlen(text), list, num);
}

static void check_json(libxl_device_channel *c, const char *want)
{
    char *json = libxl_device_channel_to_json(ctx, c);
    CHECK_STR(json, want);
    free(json);
}

static void test_constants(void)
{
    CHECK_INT(XLCHANNEL_XL_EXIT_FAILURE, 1);
}

static void test_channels(void)
{
    libxl_device_channel *list;
    int num;

    CHECK_INT(read_config(GUEST "channel = [ \"connection=pty, name=org.a\",\n"
                          "  ' name = org.b , foo=1, connection = socket , path = /run/b.sock ',\n"
                          "  \"backend=driver,connection=pty\" ]\n",
                          &list, &num), 0);
    CHECK_INT(num, 3);
    CHECK_STR(logger.all, "warning xl: unknown channel parameter 'foo', ignoring\n");
    if (num == 3) {
        CHECK_INT(list[0].devid, -1);
        CHECK_STR(list[0].name, "org.a");
        CHECK_INT(list[0].connection, LIBXL_CHANNEL_CONNECTION_PTY);
        CHECK(list[0].backend_domname == NULL);
        CHECK_INT(list[1].connection, LIBXL_CHANNEL_CONNECTION_SOCKET);
        CHECK_STR(list[1].u.socket.path, "/run/b.sock");
        CHECK_STR(list[2].backend_domname, "driver");
        CHECK_INT(list[2].backend_domid, 0);
        check_json(&list[0], "{\n    \"name\": \"org.a\",\n    \"connection.pty\": {\n\n    }\n}\n");
        check_json(&list[1], "{\n    \"name\": \"org.b\",\n    \"connection.socket\": {\n"
                             "        \"path\": \"/run/b.sock\"\n    }\n}\n");
    }
    libxl_device_channel_list_free(list, num);

    /* No channel setting, an empty list: no channels, nothing logged. */
    CHECK_INT(read_config(GUEST, &list, &num), 0);
    CHECK(list == NULL);
    CHECK_INT(num, 0);
    CHECK_INT(logger.all_len, 0);
    CHECK_INT(read_config(GUEST "channel = [ ]\n", &list, &num), 0);
    CHECK(list == NULL);
    CHECK_INT(num, 0);

    /* A single string where xl wants a list: xl warns and goes on without channels. */
    CHECK_INT(read_config(GUEST "channel = \"connection=pty\"\n", &list, &num), 0);
    CHECK(list == NULL);
    CHECK_INT(num, 0);
    CHECK_STR(logger.all, "warning xl: guest.cfg:3: warning: parameter `channel' is a single "
                          "value but should be a list\n");

    /* Empty data is an empty file; NULL data is fine with length 0. */
    capture_clear(&logger);
    CHECK_INT(xlchannel_config_channels(ctx, "empty.cfg", NULL, 0, &list, &num), 0);
    CHECK(list == NULL);
    CHECK_INT(num, 0);
}

static void test_fatal(void)
{
    libxl_device_channel *list;
    int num;
    static const struct {
        const char *lines;
        int rc;
        const char *log;
    } cases[] = {
        { "channel = [ \"foo=1,name=n\" ]\n", ERROR_INVAL,
          "warning xl: unknown channel parameter 'foo', ignoring\n"
          "error xl: channel has unknown 'connection'\n" },
        { "channel = [ \"connection=pty,name\" ]\n", ERROR_INVAL,
          "error xl: failed to parse channel configuration: name\n" },
        { "channel = [ \"connection=PTY\" ]\n", ERROR_INVAL,
          "error xl: unknown channel connection 'PTY'\n" },
        { "channel = [ \"name=x,connection=socket\" ]\n", ERROR_INVAL,
          "error xl: channel connection 'socket' requires path=..\n" },
        /* xl 4.17 crashes on an empty SPEC. */
        { "channel = [ \"\" ]\n", ERROR_INVAL,
          "error xl: failed to parse channel configuration: \n" },
        { "channel = [ \"connection=pty\",\n", ERROR_FAIL,
          "error xl: guest.cfg:3: config parsing error near `': syntax error, unexpected "
          "$end, expecting ']'\n"
          "error xl: Failed to parse config: Invalid argument\n" },
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char text[512];
        snprintf(text, sizeof(text), GUEST "%s", cases[i].lines);
        CHECK_INT(read_config(text, &list, &num), cases[i].rc);
        CHECK(list == NULL);
        CHECK_INT(num, 0);
        CHECK_STR(logger.all, cases[i].log);
    }

    /* The length counts, not a NUL: a NUL byte inside a quoted string is refused (xl 4.17
     * aborts on it), and bytes after `len` are never read. */
    static const char with_nul[] = GUEST "channel = [ \"connection=pty,name=a\0b\" ]\n";
    capture_clear(&logger);
    CHECK_INT(xlchannel_config_channels(ctx, "guest.cfg", with_nul, sizeof(with_nul) - 1,
                                        &list, &num), ERROR_FAIL);
    CHECK_STR(logger.all, "error xl: guest.cfg:3: config parsing error near "
                          "`\"connection=pty,name=a': NUL byte in quoted string\n"
                          "error xl: Failed to parse config: Invalid argument\n");
    static const char cut[] = GUEST "channel = [ \"connection=pty\" ]\nchannel = [ \"bad\" ]\n";
    capture_clear(&logger);
    CHECK_INT(xlchannel_config_channels(ctx, "guest.cfg", cut, strlen(GUEST) + 31, &list, &num), 0);
    CHECK_INT(num, 1);
    libxl_device_channel_list_free(list, num);
}

static void test_null_arguments(void)
{
    libxl_device_channel *list = (libxl_device_channel *)&logger;
    int num = 42;
    const char *text = GUEST;
    size_t len = strlen(text);

    capture_clear(&logger);
    CHECK_INT(xlchannel_config_channels(NULL, "g", text, len, &list, &num), ERROR_INVAL);
    CHECK(list == NULL);
    CHECK_INT(num, 0);
    CHECK_INT(logger.all_len, 0); /* no context, no logger */
    CHECK_INT(xlchannel_config_channels(ctx, NULL, text, len, &list, &num), ERROR_INVAL);
    CHECK(capture_ends_with(&logger,
        ":xlchannel_config_channels: NULL ctx, source_name, channels_r or num_r"));
    num = 42;
    CHECK_INT(xlchannel_config_channels(ctx, "g", text, len, NULL, &num), ERROR_INVAL);
    CHECK_INT(num, 0);
    list = (libxl_device_channel *)&logger;
    CHECK_INT(xlchannel_config_channels(ctx, "g", text, len, &list, NULL), ERROR_INVAL);
    CHECK(list == NULL);
    CHECK_INT(xlchannel_config_channels(ctx, "g", NULL, 5, &list, &num), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_config_channels: no 5 bytes of config data at 0x0"));
    CHECK_INT(logger.last_level, XTL_ERROR);
    CHECK_STR(logger.last_context, "libxl");
}

static void test_parse_spec(void)
{
    libxl_device_channel c;

    memset(&c, 0x55, sizeof(c)); /* initialised by the call, never read */
    capture_clear(&logger);
    CHECK_INT(xlchannel_channel_parse_spec(ctx, " path=/run/a,,connection=socket,name=org.a,x=y", &c), 0);
    CHECK_INT(c.devid, -1);
    CHECK_INT(c.backend_domid, 0);
    CHECK(c.backend_domname == NULL);
    CHECK_STR(c.name, "org.a");
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK_STR(c.u.socket.path, "/run/a");
    CHECK_STR(logger.all, "warning xl: unknown channel parameter 'x', ignoring\n");
    libxl_device_channel_dispose(&c);

    /* A path is dropped for a pty; backend is kept as a name, resolved only by add. */
    memset(&c, 0x55, sizeof(c));
    CHECK_INT(xlchannel_channel_parse_spec(ctx, "backend=3,path=/p,connection=pty", &c), 0);
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK(c.u.socket.path == NULL);
    CHECK(c.name == NULL);
    CHECK_STR(c.backend_domname, "3");
    libxl_device_channel_dispose(&c);

    /* Refused: the struct is left initialised, holding nothing. */
    static const libxl_device_channel zero;
    const char *bad[] = { "", "name=n", "connection=tcp", "connection=socket", "=x,connection=pty" };
    const char *logged[] = {
        "error xl: failed to parse channel configuration: \n",
        "error xl: channel has unknown 'connection'\n",
        "error xl: unknown channel connection 'tcp'\n",
        "error xl: channel connection 'socket' requires path=..\n",
        "error xl: failed to parse channel configuration: =x\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&c, 0x55, sizeof(c));
        capture_clear(&logger);
        CHECK_INT(xlchannel_channel_parse_spec(ctx, bad[i], &c), ERROR_INVAL);
        CHECK_STR(logger.all, logged[i]);
        CHECK_INT(c.devid, -1);
        c.devid = 0;
        CHECK(!memcmp(&c, &zero, sizeof(c)));
    }

    memset(&c, 0x55, sizeof(c));
    CHECK_INT(xlchannel_channel_parse_spec(NULL, "connection=pty", &c), ERROR_INVAL);
    CHECK_INT(c.devid, -1);
    CHECK(c.name == NULL);
    CHECK_INT(xlchannel_channel_parse_spec(ctx, NULL, &c), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":xlchannel_channel_parse_spec: NULL ctx, spec or channel"));
    CHECK_INT(xlchannel_channel_parse_spec(ctx, "connection=pty", NULL), ERROR_INVAL);
}

/* What xl create does with them next: the config's channels added to a domain become
 * consoles 1 and 2, with the backend name resolved. The nodes alone (xs_add_nodes): no
 * device model runs here, and hot-adding org.a, served by dom0, would need one. */
static void test_config_then_add(void)
{
    struct xs_handle *xs = xs_open(0);
    CHECK(xs != NULL);
    if (!xs) return;
    CHECK_INT(register_domain(xs, 31, "cfg-guest"), 0);
    CHECK_INT(register_domain(xs, 32, "cfg-driver"), 0);
    libxl_device_channel *list;
    int num;
    CHECK_INT(read_config(GUEST "channel = [ 'connection=pty,name=org.a',"
                          " 'backend=cfg-driver,connection=socket,path=/run/s,name=org.b' ]\n",
                          &list, &num), 0);
    CHECK_INT(num, 2);
    for (int i = 0; i < num; i++)
        CHECK_INT(xs_add_nodes(xs, &logger.vtable, 31, &list[i]), 0);
    if (num == 2) {
        CHECK_INT(list[0].devid, 1);
        CHECK_INT(list[1].devid, 2);
        CHECK_INT(list[1].backend_domid, 32);
    }
    libxl_device_channel_list_free(list, num);
    char *be = xs_get(xs, "/local/domain/31/device/console/2/backend");
    CHECK_STR(be, "/local/domain/32/backend/console/31/2");
    free(be);
    xs_close(xs);
}

int main(void)
{
    capture_init(&logger);
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable)) {
        fprintf(stderr, "no xenstore: run inside testbed/with-xenstored.sh\n");
        return 2;
    }
    test_constants();
    test_channels();
    test_fatal();
    test_null_arguments();
    test_parse_spec();
    test_config_then_add();
    libxl_ctx_free(ctx);
    return check_summary("c-xl-config");
}
