/* The C API of xlchannel on its own: every exported helper, its exact results, its
 * handling of NULL and out-of-range input, and the ownership rules (run under ASan/LSan
 * or valgrind, so a leak or a bad free fails the run). */
#include <stdlib.h>
#include <string.h>

#include "libxl_channel.h"
#include "check.h"
#include "capture_logger.h"

static struct capture_logger logger;
static libxl_ctx *ctx;

static void check_json(char *json, const char *want)
{
    CHECK_STR(json, want);
    free(json);
}

static void test_constants(void)
{
    CHECK_INT(LIBXL_HAVE_DEVICE_CHANNEL, 1);
    CHECK_INT(LIBXL_VERSION, 0);
    CHECK_INT(LIBXL_CHANNEL_CONNECTION_UNKNOWN, 0);
    CHECK_INT(LIBXL_CHANNEL_CONNECTION_PTY, 1);
    CHECK_INT(LIBXL_CHANNEL_CONNECTION_SOCKET, 2);
    CHECK_INT(ERROR_FAIL, -3);
    CHECK_INT(ERROR_INVAL, -6);
    CHECK_INT(ERROR_QEMU_API, -32);

    const char *names[] = { "unknown", "pty", "socket" };
    for (int i = 0; i < 3; i++) {
        CHECK_STR(libxl_channel_connection_string_table[i].s, names[i]);
        CHECK_INT(libxl_channel_connection_string_table[i].v, i);
    }
    CHECK(libxl_channel_connection_string_table[3].s == NULL);
    CHECK_INT(libxl_channel_connection_string_table[3].v, -1);
}

static void test_ctx(void)
{
    libxl_ctx *c = (libxl_ctx *)&logger; /* any non-NULL value, to see it reset */

    CHECK_INT(libxl_ctx_alloc(&c, 1, 0, &logger.vtable), ERROR_VERSION);
    CHECK(c == NULL);
    CHECK_INT(logger.last_level, XTL_ERROR);
    CHECK_STR(logger.last_context, "libxl");
    CHECK(capture_ends_with(&logger,
        ":libxl_ctx_alloc: caller built for LIBXL_VERSION 1, this library implements 0"));

    CHECK_INT(libxl_ctx_alloc(&c, LIBXL_VERSION, 4, &logger.vtable), ERROR_INVAL);
    CHECK(c == NULL);
    CHECK(capture_ends_with(&logger, ":libxl_ctx_alloc: unknown flags 0x4"));

    CHECK_INT(libxl_ctx_alloc(NULL, LIBXL_VERSION, 0, &logger.vtable), ERROR_INVAL);
    CHECK(capture_ends_with(&logger, ":libxl_ctx_alloc: NULL pctx passed"));

    /* No logger: allowed (messages go to stderr). */
    CHECK_INT(libxl_ctx_alloc(&c, LIBXL_VERSION, 0, NULL), 0);
    CHECK(c != NULL);
    CHECK_INT(libxl_ctx_free(c), 0);
    CHECK_INT(libxl_ctx_free(NULL), 0);
}

static void test_device_channel_lifecycle(void)
{
    libxl_device_channel c;

    memset(&c, 0x55, sizeof(c));
    libxl_device_channel_init(&c);
    CHECK_INT(c.backend_domid, 0);
    CHECK(c.backend_domname == NULL);
    CHECK_INT(c.devid, -1);
    CHECK(c.name == NULL);
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_UNKNOWN);
    CHECK(c.u.socket.path == NULL);

    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK(c.u.socket.path == NULL);

    /* Strings a C caller strdup()s belong to the struct and are freed by dispose. */
    c.backend_domname = strdup("driver");
    c.name = strdup("org.example.agent");
    c.u.socket.path = strdup("/run/agent.sock");
    libxl_device_channel dst;
    memset(&dst, 0x55, sizeof(dst)); /* copy overwrites whatever is there */
    libxl_device_channel_copy(ctx, &dst, &c);
    CHECK(dst.name != c.name && dst.u.socket.path != c.u.socket.path);
    CHECK_STR(dst.backend_domname, "driver");
    CHECK_STR(dst.name, "org.example.agent");
    CHECK_STR(dst.u.socket.path, "/run/agent.sock");
    CHECK_INT(dst.devid, -1);
    CHECK_INT(dst.connection, LIBXL_CHANNEL_CONNECTION_SOCKET);

    libxl_device_channel_dispose(&c);
    libxl_device_channel_dispose(&dst);
    static const libxl_device_channel zero;
    CHECK(!memcmp(&c, &zero, sizeof(c)));
    CHECK(!memcmp(&dst, &zero, sizeof(dst)));

    /* Disposed means re-initialisable; the union member is owned only under its
     * connection, so a stale pointer under PTY is not freed. */
    libxl_device_channel_init(&c);
    c.connection = LIBXL_CHANNEL_CONNECTION_PTY;
    c.u.socket.path = (char *)"not owned";
    libxl_device_channel_dispose(&c);
    CHECK(c.u.socket.path == NULL);

    /* An out-of-range connection is kept by copy, and owns no union member. */
    libxl_device_channel_init(&c);
    c.connection = 7;
    c.u.socket.path = (char *)"not owned";
    libxl_device_channel_copy(ctx, &dst, &c);
    CHECK_INT(dst.connection, 7);
    CHECK(dst.u.socket.path == NULL);
    libxl_device_channel_dispose(&dst);
    libxl_device_channel_dispose(&c);

    /* NULL is harmless everywhere; copy says so through the logger. */
    libxl_device_channel_init(NULL);
    libxl_device_channel_init_connection(NULL, LIBXL_CHANNEL_CONNECTION_PTY);
    libxl_device_channel_dispose(NULL);
    int before = logger.count;
    libxl_device_channel_copy(ctx, NULL, &c);
    libxl_device_channel_copy(ctx, &c, NULL);
    CHECK_INT(logger.count, before + 2);
    CHECK(capture_ends_with(&logger, ":libxl_device_channel_copy: NULL struct passed to copy"));
    libxl_device_channel_list_free(NULL, 3);
}

static void test_list_free(void)
{
    libxl_device_channel *list = calloc(2, sizeof(*list));
    for (int i = 0; i < 2; i++) {
        libxl_device_channel_init(&list[i]);
        list[i].name = strdup(i ? "b" : "a");
        libxl_device_channel_init_connection(&list[i], LIBXL_CHANNEL_CONNECTION_SOCKET);
        list[i].u.socket.path = strdup("/p");
    }
    libxl_device_channel_list_free(list, 2); /* LSan/valgrind: nothing left */
    libxl_device_channel_list_free(calloc(1, sizeof(*list)), 0);
}

static void test_device_channel_json(void)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    check_json(libxl_device_channel_to_json(ctx, &c),
               "{\n    \"connection.unknown\": {\n\n    }\n}\n");

    c.backend_domid = 3;
    c.backend_domname = strdup("dom\"\\\n\x01\x1f\x7f/\xc3\xa9");
    c.devid = 0;
    c.name = strdup("");
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_SOCKET);
    check_json(libxl_device_channel_to_json(NULL, &c),
               "{\n"
               "    \"backend_domid\": 3,\n"
               "    \"backend_domname\": \"dom\\\"\\\\\\n\\u0001\\u001F\x7f/\xc3\xa9\",\n"
               "    \"devid\": 0,\n"
               "    \"name\": \"\",\n"
               "    \"connection.socket\": {\n\n    }\n"
               "}\n");
    c.u.socket.path = strdup("/run/x");
    check_json(libxl_device_channel_to_json(ctx, &c),
               "{\n"
               "    \"backend_domid\": 3,\n"
               "    \"backend_domname\": \"dom\\\"\\\\\\n\\u0001\\u001F\x7f/\xc3\xa9\",\n"
               "    \"devid\": 0,\n"
               "    \"name\": \"\",\n"
               "    \"connection.socket\": {\n        \"path\": \"/run/x\"\n    }\n"
               "}\n");
    free(c.u.socket.path);
    c.u.socket.path = NULL;
    c.connection = 9; /* out of range: the union key is left out */
    check_json(libxl_device_channel_to_json(ctx, &c),
               "{\n"
               "    \"backend_domid\": 3,\n"
               "    \"backend_domname\": \"dom\\\"\\\\\\n\\u0001\\u001F\x7f/\xc3\xa9\",\n"
               "    \"devid\": 0,\n"
               "    \"name\": \"\"\n"
               "}\n");
    libxl_device_channel_dispose(&c);

    CHECK(libxl_device_channel_to_json(ctx, NULL) == NULL);
    CHECK(capture_ends_with(&logger, ":libxl_device_channel_to_json: NULL struct passed to to_json"));

    /* Parsing starts from _init's defaults (old contents are neither read nor freed, as
     * in libxl); wrong types are ignored, null leaves a string NULL, unknown keys and
     * anything after the first complete value are ignored. */
    libxl_device_channel_init(&c);
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK_INT(libxl_device_channel_from_json(ctx, &c,
        "{\"devid\": 4, \"backend_domid\": \"7\", \"backend_domname\": null, \"zz\": [1],"
        " \"connection.socket\": {\"path\": \"/s\\u00e9\"}} trailing ]"), 0);
    CHECK_INT(c.devid, 4);
    CHECK_INT(c.backend_domid, 0);
    CHECK(c.backend_domname == NULL);
    CHECK(c.name == NULL);
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK_STR(c.u.socket.path, "/s\xc3\xa9");
    libxl_device_channel_dispose(&c);
    CHECK_INT(libxl_device_channel_from_json(ctx, &c, "{\"devid\": 1e2, \"name\": 5}"), 0);
    CHECK_INT(c.devid, 1); /* strtoll stops at the exponent, as in libxl */
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_UNKNOWN);
    libxl_device_channel_dispose(&c);

    /* Errors leave an initialised struct holding nothing to free. */
    const char *bad[] = {
        "",                                   /* no document */
        "{\"devid\": 1",                      /* truncated */
        "{\"devid\": 2147483648}",            /* beyond int */
        "{\"backend_domid\": -1}",            /* beyond uint32_t */
        "{\"backend_domid\": 4294967296}",
        "{\"name\": \"\xff\"}",               /* not UTF-8 */
        "{\"connection.pty\": {}, \"connection.socket\": {}}", /* two members: libxl aborts */
        "// comment\n{}",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int count = logger.count;
        c.name = strdup("owned by the caller");
        char *caller_name = c.name;
        CHECK_INT(libxl_device_channel_from_json(ctx, &c, bad[i]), ERROR_FAIL);
        CHECK_INT(logger.count, count + 1);
        CHECK_INT(c.devid, -1);
        CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_UNKNOWN);
        CHECK(c.name == NULL && c.backend_domname == NULL && c.u.socket.path == NULL);
        free(caller_name);
    }
    CHECK(capture_ends_with(&logger,
        ":libxl_device_channel_from_json: unable to parse JSON for libxl_device_channel: "
        "invalid char in json text. at byte 0"));
    CHECK_INT(libxl_device_channel_from_json(ctx, &c, NULL), ERROR_INVAL);
    CHECK_INT(c.devid, -1);
    CHECK_INT(libxl_device_channel_from_json(ctx, NULL, "{}"), ERROR_INVAL);

    /* Integers too big for long long match no typed field: ignored, as libxl does. */
    libxl_device_channel_init(&c);
    CHECK_INT(libxl_device_channel_from_json(ctx, &c,
        "{\"devid\": 99999999999999999999, \"connection.unknown\": {}, \"connection.pty\": {}}"), 0);
    CHECK_INT(c.devid, -1);
    CHECK_INT(c.connection, LIBXL_CHANNEL_CONNECTION_PTY);
    libxl_device_channel_dispose(&c);
}

static void test_channelinfo(void)
{
    libxl_channelinfo i;
    memset(&i, 0x55, sizeof(i));
    libxl_channelinfo_init(&i);
    CHECK_INT(i.devid, -1);
    CHECK(i.backend == NULL && i.frontend == NULL && i.u.pty.path == NULL);
    CHECK_INT(i.state, 0);
    check_json(libxl_channelinfo_to_json(ctx, &i),
               "{\n    \"connection.unknown\": {\n\n    }\n}\n");

    i.backend = strdup("/local/domain/0/backend/console/5/1");
    i.backend_id = 0;
    i.frontend = strdup("/local/domain/5/device/console/1");
    i.frontend_id = 5;
    i.devid = 0;
    i.state = -1;
    i.evtch = 12;
    i.rref = -1;
    libxl_channelinfo_init_connection(&i, LIBXL_CHANNEL_CONNECTION_PTY);
    i.u.pty.path = strdup("/dev/pts/4");
    char *json = libxl_channelinfo_to_json(ctx, &i);
    CHECK_STR(json,
              "{\n"
              "    \"backend\": \"/local/domain/0/backend/console/5/1\",\n"
              "    \"frontend\": \"/local/domain/5/device/console/1\",\n"
              "    \"frontend_id\": 5,\n"
              "    \"devid\": 0,\n"
              "    \"state\": -1,\n"
              "    \"evtch\": 12,\n"
              "    \"rref\": -1,\n"
              "    \"connection.pty\": {\n        \"path\": \"/dev/pts/4\"\n    }\n"
              "}\n");

    /* Round trip through JSON and through copy. */
    libxl_channelinfo back, copied;
    libxl_channelinfo_init(&back);
    CHECK_INT(libxl_channelinfo_from_json(ctx, &back, json), 0);
    libxl_channelinfo_copy(ctx, &copied, &back);
    char *again = libxl_channelinfo_to_json(ctx, &copied);
    CHECK_STR(again, json);
    free(again);
    free(json);
    libxl_channelinfo_dispose(&back);
    libxl_channelinfo_dispose(&copied);
    libxl_channelinfo_dispose(&i);

    /* Socket has no member fields in channelinfo; its map is still written. */
    libxl_channelinfo_init(&i);
    libxl_channelinfo_init_connection(&i, LIBXL_CHANNEL_CONNECTION_SOCKET);
    check_json(libxl_channelinfo_to_json(ctx, &i),
               "{\n    \"connection.socket\": {\n\n    }\n}\n");
    CHECK_INT(libxl_channelinfo_from_json(ctx, &i, "{\"state\": 4294967295}"), ERROR_FAIL);
    CHECK_INT(libxl_channelinfo_from_json(ctx, &i, "{\"backend_id\": 4294967295, \"state\": -2147483648}"), 0);
    CHECK_INT(i.backend_id, 4294967295u);
    CHECK_INT(i.state, -2147483648LL);
    libxl_channelinfo_dispose(&i);
    libxl_channelinfo_init(NULL);
    libxl_channelinfo_dispose(NULL);
    CHECK(libxl_channelinfo_to_json(ctx, NULL) == NULL);
}

static void test_connection_enum(void)
{
    CHECK_STR(libxl_channel_connection_to_string(LIBXL_CHANNEL_CONNECTION_UNKNOWN), "unknown");
    CHECK_STR(libxl_channel_connection_to_string(LIBXL_CHANNEL_CONNECTION_SOCKET), "socket");
    CHECK(libxl_channel_connection_to_string(3) == NULL);
    CHECK(libxl_channel_connection_to_string(-1) == NULL);

    libxl_channel_connection e = LIBXL_CHANNEL_CONNECTION_UNKNOWN;
    CHECK_INT(libxl_channel_connection_from_string("PtY", &e), 0);
    CHECK_INT(e, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK_INT(libxl_channel_connection_from_string("sockets", &e), ERROR_FAIL);
    CHECK_INT(e, LIBXL_CHANNEL_CONNECTION_PTY);
    CHECK_INT(libxl_channel_connection_from_string(NULL, &e), ERROR_INVAL);
    CHECK_INT(libxl_channel_connection_from_string("pty", NULL), ERROR_INVAL);

    check_json(libxl_channel_connection_to_json(ctx, LIBXL_CHANNEL_CONNECTION_SOCKET), "\"socket\"\n");
    check_json(libxl_channel_connection_to_json(NULL, 42), "null\n");

    CHECK_INT(libxl_channel_connection_from_json(ctx, &e, " \"SOCKET\" "), 0);
    CHECK_INT(e, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK_INT(libxl_channel_connection_from_json(ctx, &e, "\"serial\""), ERROR_FAIL);
    CHECK_INT(libxl_channel_connection_from_json(ctx, &e, "1"), ERROR_FAIL);
    CHECK_INT(libxl_channel_connection_from_json(ctx, &e, "\"pty"), ERROR_FAIL);
    CHECK_INT(e, LIBXL_CHANNEL_CONNECTION_SOCKET);
    CHECK_INT(libxl_channel_connection_from_json(ctx, NULL, "\"pty\""), ERROR_INVAL);
}

int main(void)
{
    capture_init(&logger);
    test_constants();
    test_ctx();
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, &logger.vtable)) {
        fprintf(stderr, "libxl_ctx_alloc failed\n");
        return 1;
    }
    test_device_channel_lifecycle();
    test_list_free();
    test_device_channel_json();
    test_channelinfo();
    test_connection_enum();
    libxl_ctx_free(ctx);
    return check_summary("c-api");
}
