/* One program, built twice: against Debian's real libxenlight 4.17 (-DREAL_LIBXL, real
 * <libxl.h>) and against xlchannel (our header). Each build prints one line per case;
 * run.sh diffs the two outputs. Every case runs in a child process, so a case where libxl
 * aborts is reported as such instead of ending the run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifdef REAL_LIBXL
#include <libxl.h>
#else
#include "libxl_channel.h"
#endif

static libxl_ctx *ctx;

#include "print.h"

/* ---- values the struct cases combine ---- */
static const char *strings[] = {
    NULL, "", "org.example.agent", "/run/xen/channel.sock",
    "q\"b\\s/n\nr\rt\tb\bf\f", "\x01\x02\x1e\x1f\x7f", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "bad\xff\xfeutf8\xc3", "sp ace,comma=eq",
};
#define NSTR (sizeof(strings) / sizeof(strings[0]))
static const int connections[] = { 0, 1, 2, 3, -1, 1000 };
#define NCONN (sizeof(connections) / sizeof(connections[0]))
static const int32_t ints[] = { 0, -1, 1, 7, 2147483647, -2147483647 - 1 };
#define NINT (sizeof(ints) / sizeof(ints[0]))

struct channel_case { unsigned domid; int devid, connection; const char *s1, *s2, *path; };
struct info_case { unsigned id; int i, connection; const char *s1, *s2, *path; };

static void fill_channel(libxl_device_channel *c, const struct channel_case *k)
{
    libxl_device_channel_init(c);
    c->backend_domid = k->domid;
    c->backend_domname = k->s1 ? strdup(k->s1) : NULL;
    c->devid = k->devid;
    c->name = k->s2 ? strdup(k->s2) : NULL;
    c->connection = k->connection;
    if (k->connection == LIBXL_CHANNEL_CONNECTION_SOCKET)
        c->u.socket.path = k->path ? strdup(k->path) : NULL;
}

static void fill_info(libxl_channelinfo *i, const struct info_case *k)
{
    libxl_channelinfo_init(i);
    i->backend = k->s1 ? strdup(k->s1) : NULL;
    i->backend_id = k->id;
    i->frontend = k->s2 ? strdup(k->s2) : NULL;
    i->frontend_id = k->id ^ 1u;
    i->devid = k->i;
    i->state = k->i + 1;
    i->evtch = -k->i;
    i->rref = k->i ^ 3;
    i->connection = k->connection;
    if (k->connection == LIBXL_CHANNEL_CONNECTION_PTY)
        i->u.pty.path = k->path ? strdup(k->path) : NULL;
}

static void channel_to_json_and_copy(const void *arg)
{
    libxl_device_channel c, d;
    fill_channel(&c, arg);
    put_json(libxl_device_channel_to_json(ctx, &c));
    if (c.connection >= 0 && c.connection <= 2) { /* libxl's copy aborts on others */
        libxl_device_channel_copy(ctx, &d, &c);
        fputs(" copy: ", stdout);
        put_channel(&d);
        libxl_device_channel_dispose(&d);
    }
    libxl_device_channel_dispose(&c);
    fputs(" disposed=", stdout);
    put_bytes(&c, sizeof(c));
}

static void info_to_json_and_copy(const void *arg)
{
    libxl_channelinfo i, d;
    fill_info(&i, arg);
    put_json(libxl_channelinfo_to_json(ctx, &i));
    if (i.connection >= 0 && i.connection <= 2) {
        libxl_channelinfo_copy(ctx, &d, &i);
        fputs(" copy: ", stdout);
        put_info(&d);
        libxl_channelinfo_dispose(&d);
    }
    libxl_channelinfo_dispose(&i);
    fputs(" disposed=", stdout);
    put_bytes(&i, sizeof(i));
}

static const char *json_inputs[] = {
    "{}", "[]", "null", "3", "\"x\"", "", "   ", "{", "{}}", "{} {}", "{\"a\":1,}",
    "{\"devid\": 5}", "{\"devid\": -1}", "{\"devid\": 2147483647}", "{\"devid\": 2147483648}",
    "{\"devid\": -2147483649}", "{\"devid\": 99999999999999999999}", "{\"devid\": 1.0}",
    "{\"devid\": 1e2}", "{\"devid\": \"5\"}", "{\"devid\": null}", "{\"devid\": true}",
    "{\"devid\": 01}", "{\"devid\": -}", "{\"devid\": [5]}",
    "{\"backend_domid\": 4294967295}", "{\"backend_domid\": 4294967296}", "{\"backend_domid\": -1}",
    "{\"backend_id\": 4294967295, \"frontend_id\": 0}", "{\"state\": -5, \"evtch\": 3, \"rref\": 2147483648}",
    "{\"name\": \"a\", \"name\": \"b\"}", "{\"name\": 1, \"name\": \"b\"}", "{\"name\": null}",
    "{\"name\": \"\\u00e9\\u20ac\\ud83d\\ude00\"}", "{\"name\": \"a\\u0000b\"}", "{\"name\": \"\\ud800x\"}",
    "{\"name\": \"\\udc00\"}", "{\"name\": \"\\u12\"}", "{\"name\": \"\\q\"}", "{\"name\": \"tab\there\"}",
    "{\"name\": \"\xc3\xa9\"}", "{\"name\": \"\xc3\"}", "{\"name\": \"\xff\"}", "{\"name\": \"\xc0\x80\"}",
    "{\"name\": \"\xed\xa0\x80\"}", "{\"name\": \"\xf7\xbf\xbf\xbf\"}", "{\"name\": \"\\/\\b\\f\\n\\r\\t\"}",
    "{\"backend_domname\": \"d\", \"backend\": \"/b\", \"frontend\": \"/f\"}",
    "{\"connection.pty\": {}}", "{\"connection.socket\": {}}", "{\"connection.socket\": {\"path\": \"/p\"}}",
    "{\"connection.socket\": {\"path\": null}}", "{\"connection.socket\": {\"path\": 5}}",
    "{\"connection.socket\": 1}", "{\"connection.socket\": []}", "{\"connection.pty\": {\"path\": \"/dev/pts/3\"}}",
    "{\"connection.unknown\": {}, \"connection.socket\": {\"path\": \"/p\"}}",
    "{\"connection.socket\": {\"path\": \"/p\"}, \"connection.unknown\": {}}",
    "{\"connection.pty\": {}, \"connection.socket\": {}}",
    "{\"connection.SOCKET\": {}}", "{\"connection.serial\": {}}", "{\"connection\": \"pty\"}",
    "{\"connection.socket\": {\"path\": \"/a\", \"path\": \"/b\"}}",
    "{\"name\": \"x\", \"extra\": {\"deep\": [1, 2, {\"x\": null}]}}",
    " \t\r\n\x0b\x0c{\"devid\": 3}\n", "/* c */ {}", "{\"devid\": 3} // c",
    "{\"devid\": -0}", "{\"devid\": 1E400}", "{\"devid\": 9223372036854775807}",
    "{\"devid\": -9223372036854775808}", "{\"devid\": 9223372036854775808}",
    "{'name': 'x'}", "{\"name\": \"x\" \"devid\": 1}", "{\"name\" \"x\"}", "{name: 1}",
    "[{\"devid\": 1}]", "{\"devid\": tru}", "{\"devid\": nulls}",
    /* libxl's number conversion leaves errno set: later exact LLONG_MAX/MIN are overflows */
    "{\"devid\": 1.0e-400, \"backend_domid\": 9223372036854775807}",
    "{\"devid\": 99999999999999999999, \"backend_domid\": -9223372036854775808}",
    "{\"devid\": 1.0e999, \"backend_domid\": 9223372036854775807}",
    "{\"backend_domid\": 9223372036854775807}", "{\"devid\": -1.0e999}",
    /* strings and keys are C strings */
    "{\"na\\u0000me\": \"x\", \"name\\u0000z\": \"y\"}", "{\"name\": \"pty\\u0000x\"}",
    "{\"connection.socket\\u0000\": {\"path\": \"/p\\u0000q\"}}",
};
#define NJSON (sizeof(json_inputs) / sizeof(json_inputs[0]))

static void channel_from_json(const void *arg)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    int rc = libxl_device_channel_from_json(ctx, &c, arg);
    printf("rc=%d", rc);
    if (!rc) { fputs(" ", stdout); put_channel(&c); }
    libxl_device_channel_dispose(&c);
}

static void info_from_json(const void *arg)
{
    libxl_channelinfo i;
    libxl_channelinfo_init(&i);
    int rc = libxl_channelinfo_from_json(ctx, &i, arg);
    printf("rc=%d", rc);
    if (!rc) { fputs(" ", stdout); put_info(&i); }
    libxl_channelinfo_dispose(&i);
}

/* From JSON onto a struct whose connection is already chosen. */
static void channel_from_json_preset(const void *arg)
{
    libxl_device_channel c;
    libxl_device_channel_init(&c);
    libxl_device_channel_init_connection(&c, LIBXL_CHANNEL_CONNECTION_PTY);
    int rc = libxl_device_channel_from_json(ctx, &c, arg);
    printf("rc=%d", rc);
    if (!rc) { fputs(" ", stdout); put_channel(&c); }
    libxl_device_channel_dispose(&c);
}

/* xlchannel's JSON nesting limit (MAX_DEPTH in src/json/parser.rs); libxl has none. */
#define JSON_MAX_DEPTH 10000

/* A channel whose unknown key "x" holds `depth - 1` nested arrays, alternating with maps
 * from the middle on, so the whole text nests `depth` containers deep. */
static void channel_from_json_nested(const void *arg)
{
    long depth = *(const long *)arg;
    char *text = malloc((size_t)depth * 8 + 64), *p = text;
    p += sprintf(p, "{\"name\": \"deep\", \"x\": ");
    for (long i = 1; i < depth; i++)
        p += sprintf(p, i < depth / 2 || i % 2 ? "[" : "{\"k\": ");
    *p++ = '1';
    for (long i = depth - 1; i >= 1; i--)
        *p++ = i < depth / 2 || i % 2 ? ']' : '}';
    strcpy(p, "}");
    channel_from_json(text);
    free(text);
}

static void enum_cases(const void *arg)
{
    (void)arg;
    for (int v = -2; v <= 4; v++) {
        const char *s = libxl_channel_connection_to_string(v);
        printf("to_string(%d)=", v);
        put_str(s);
        printf(" to_json(%d)=", v);
        put_json(libxl_channel_connection_to_json(ctx, v));
        putchar(' ');
    }
    const char *names[] = { "unknown", "pty", "socket", "PTY", "Socket", "uNkNoWn", "", "pt", "ptyy", " pty" };
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        libxl_channel_connection e = 77;
        int rc = libxl_channel_connection_from_string(names[k], &e);
        printf("from_string(%s)=%d,%d ", names[k], rc, (int)e);
    }
    const char *jsons[] = { "\"pty\\u0000x\"", "\"pty\"", "\"SOCKET\"", " \"unknown\" ", "\"x\"", "1", "null", "{}", "\"pty", "[\"pty\"]" };
    for (size_t k = 0; k < sizeof(jsons) / sizeof(jsons[0]); k++) {
        libxl_channel_connection e = 77;
        int rc = libxl_channel_connection_from_json(ctx, &e, jsons[k]);
        printf("from_json(%s)=%d,%d ", jsons[k], rc, (int)e);
    }
    for (const libxl_enum_string_table *t = libxl_channel_connection_string_table;; t++) {
        printf("table{%s,%d} ", t->s ? t->s : "NULL", t->v);
        if (!t->s) break;
    }
}

static void init_cases(const void *arg)
{
    (void)arg;
    libxl_device_channel c;
    libxl_channelinfo i;
    memset(&c, 0x55, sizeof(c));
    memset(&i, 0x55, sizeof(i));
    libxl_device_channel_init(&c);
    libxl_channelinfo_init(&i);
    fputs("channel=", stdout);
    put_bytes(&c, sizeof(c));
    fputs(" info=", stdout);
    put_bytes(&i, sizeof(i));
    for (int v = 0; v <= 2; v++) {
        libxl_device_channel_init(&c);
        libxl_device_channel_init_connection(&c, v);
        libxl_channelinfo_init(&i);
        libxl_channelinfo_init_connection(&i, v);
        printf(" conn%d: ", v);
        put_bytes(&c, sizeof(c));
        putchar('/');
        put_bytes(&i, sizeof(i));
    }
}

int main(void)
{
    xentoollog_logger *lg =
        (xentoollog_logger *)xtl_createlogger_stdiostream(stderr, XTL_ERROR, 0);
    if (libxl_ctx_alloc(&ctx, LIBXL_VERSION, 0, lg)) {
        fprintf(stderr, "libxl_ctx_alloc failed (is the test bed running?)\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    char label[64];

    run_case("init", init_cases, NULL);
    run_case("enum", enum_cases, NULL);

    /* Struct cases: every string in every string slot, every connection and int value,
     * combined along a diagonal so the table stays small but covers each value. */
    int n = 0;
    for (size_t a = 0; a < NSTR; a++)
        for (size_t b = 0; b < NCONN; b++) {
            struct channel_case k = {
                .domid = (unsigned)ints[(a + b) % NINT], .devid = ints[(a * 3 + b) % NINT],
                .connection = connections[b], .s1 = strings[a], .s2 = strings[(a + b) % NSTR],
                .path = strings[(a + 2 * b) % NSTR],
            };
            snprintf(label, sizeof(label), "channel#%d", n++);
            run_case(label, channel_to_json_and_copy, &k);
            struct info_case j = {
                .id = (unsigned)ints[(a + 2 * b) % NINT], .i = ints[(a + b) % NINT],
                .connection = connections[b], .s1 = strings[(a + b) % NSTR], .s2 = strings[a],
                .path = strings[(a + 3 * b) % NSTR],
            };
            snprintf(label, sizeof(label), "info#%d", n++);
            run_case(label, info_to_json_and_copy, &j);
        }

    for (size_t k = 0; k < NJSON; k++) {
        snprintf(label, sizeof(label), "channel_from_json#%zu", k);
        run_case(label, channel_from_json, json_inputs[k]);
        snprintf(label, sizeof(label), "info_from_json#%zu", k);
        run_case(label, info_from_json, json_inputs[k]);
        snprintf(label, sizeof(label), "channel_from_json_preset#%zu", k);
        run_case(label, channel_from_json_preset, json_inputs[k]);
    }

    static const long depths[] = { JSON_MAX_DEPTH - 1, JSON_MAX_DEPTH, JSON_MAX_DEPTH + 1 };
    for (size_t k = 0; k < sizeof(depths) / sizeof(depths[0]); k++) {
        snprintf(label, sizeof(label), "channel_from_json_depth#%ld", depths[k]);
        run_case(label, channel_from_json_nested, &depths[k]);
    }

    libxl_ctx_free(ctx);
    xtl_logger_destroy(lg);
    return 0;
}
