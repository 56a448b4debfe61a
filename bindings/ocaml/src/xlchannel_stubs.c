/* OCaml stubs for xlchannel (libxl 4.17's channel API), in the style of Xen's own
 * tools/ocaml/libs/xl stubs: CAMLparam/CAMLreturn everywhere, no exception raised for a
 * libxl failure (every stub returns an OCaml `result` whose error is the libxl_error code),
 * the runtime lock released around calls that talk to xenstored.
 *
 * Memory: every C struct a stub builds is disposed and every string the library returns is
 * freed before the stub returns, on every path. The only C memory whose lifetime the OCaml
 * GC decides is a context that the program neither freed explicitly (Xlchannel.ctx_free,
 * with_context) nor kept: its custom block's finaliser frees it (see xlc_finalize). The one
 * leak left open is an OCaml allocation raising Out_of_memory while a stub holds C memory.
 *
 * Messages: a context carries its own xentoollog logger that records what the library logs
 * during one call (cleared at the start of each call; taken by xlc_take_messages), so the
 * OCaml side can put libxl's text into its error values and return xl's warnings. */

#define CAML_NAME_SPACE
#include <caml/alloc.h>
#include <caml/custom.h>
#include <caml/memory.h>
#include <caml/mlvalues.h>
#include <caml/signals.h>

#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl_channel.h"

/* ---------------------------------------------------------------------------------------
 * The constants the OCaml side relies on (xlchannel.ml), checked against the header at
 * compile time; Abi.check repeats the comparison at run time from the values below. */

_Static_assert(LIBXL_VERSION == 0, "LIBXL_VERSION");
_Static_assert(XLCHANNEL_DOMID_SELF == 32752, "XLCHANNEL_DOMID_SELF");
_Static_assert(XLCHANNEL_XL_EXIT_FAILURE == 1, "XLCHANNEL_XL_EXIT_FAILURE");
/* Device_channel.connection / Channel_connection.t are mapped by these numbers. */
_Static_assert(LIBXL_CHANNEL_CONNECTION_UNKNOWN == 0, "connection UNKNOWN");
_Static_assert(LIBXL_CHANNEL_CONNECTION_PTY == 1, "connection PTY");
_Static_assert(LIBXL_CHANNEL_CONNECTION_SOCKET == 2, "connection SOCKET");
/* error_code: constructor i (0-based) is -(i+1), from Nonspecific to Qemu_api. */
_Static_assert(ERROR_NONSPECIFIC == -1 && ERROR_VERSION == -2 && ERROR_FAIL == -3 &&
               ERROR_NI == -4 && ERROR_NOMEM == -5 && ERROR_INVAL == -6 &&
               ERROR_BADFAIL == -7 && ERROR_GUEST_TIMEDOUT == -8 && ERROR_TIMEDOUT == -9 &&
               ERROR_NOPARAVIRT == -10 && ERROR_NOT_READY == -11 &&
               ERROR_OSEVENT_REG_FAIL == -12 && ERROR_BUFFERFULL == -13 &&
               ERROR_UNKNOWN_CHILD == -14 && ERROR_LOCK_FAIL == -15 &&
               ERROR_JSON_CONFIG_EMPTY == -16 && ERROR_DEVICE_EXISTS == -17 &&
               ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH == -18 &&
               ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED == -19 &&
               ERROR_VNUMA_CONFIG_INVALID == -20 && ERROR_DOMAIN_NOTFOUND == -21 &&
               ERROR_ABORTED == -22 && ERROR_NOTFOUND == -23 &&
               ERROR_DOMAIN_DESTROYED == -24 && ERROR_FEATURE_REMOVED == -25 &&
               ERROR_PROTOCOL_ERROR_QMP == -26 && ERROR_UNKNOWN_QMP_ERROR == -27 &&
               ERROR_QMP_GENERIC_ERROR == -28 && ERROR_QMP_COMMAND_NOT_FOUND == -29 &&
               ERROR_QMP_DEVICE_NOT_ACTIVE == -30 && ERROR_QMP_DEVICE_NOT_FOUND == -31 &&
               ERROR_QEMU_API == -32,
               "libxl_error codes");
/* Log levels as Log.level numbers them (XTL_DEBUG = 1 ... XTL_CRITICAL = 9). */
_Static_assert(XTL_DEBUG == 1 && XTL_WARN == 7 && XTL_ERROR == 8 && XTL_CRITICAL == 9,
               "xentoollog levels");

/* Results of the stubs besides libxl's (negative) codes: positive, so never confused. */
#define XLC_CTX_FREED 1 /* the context was freed */
#define XLC_CTX_BUSY 2  /* ctx_free while another thread is inside a call on the context */

/* ---------------------------------------------------------------------------------------
 * The context: a libxl_ctx and the logger that records its messages. */

#define XLC_MAX_MESSAGES 256
#define XLC_MAX_TEXT 8192

struct xlc_message {
    int level;
    char *context;
    char *text;
};

struct xlc_ctx {
    xentoollog_logger vtable; /* first: libxl calls this logger with a pointer to it */
    libxl_ctx *ctx;
    atomic_int calls;         /* stubs inside a call on it, in any thread */
};

/* The messages of the call a thread is making. libxl_ctx is thread-safe and the library
 * logs from the thread that made the call, so threads sharing a context each collect their
 * own call's messages here. */
struct xlc_log {
    size_t n, dropped;
    struct xlc_message msgs[XLC_MAX_MESSAGES];
};
static _Thread_local struct xlc_log xlc_log;

static void msgs_clear(struct xlc_ctx *c)
{
    (void)c;
    for (size_t i = 0; i < xlc_log.n; i++) {
        free(xlc_log.msgs[i].context);
        free(xlc_log.msgs[i].text);
    }
    xlc_log.n = 0;
    xlc_log.dropped = 0;
}

/* Record one message; at most XLC_MAX_MESSAGES per call, each at most XLC_MAX_TEXT bytes. */
static void msg_add(struct xlc_ctx *c, int level, const char *context, char *text)
{
    (void)c;
    char *ctx_copy = strdup(context ? context : "");
    if (!text || !ctx_copy || xlc_log.n >= XLC_MAX_MESSAGES) {
        free(text);
        free(ctx_copy);
        xlc_log.dropped++;
        return;
    }
    xlc_log.msgs[xlc_log.n].level = level;
    xlc_log.msgs[xlc_log.n].context = ctx_copy;
    xlc_log.msgs[xlc_log.n].text = text;
    xlc_log.n++;
}

static void xlc_vmessage(xentoollog_logger *lg, xentoollog_level level, int errnoval,
                         const char *context, const char *format, va_list al)
{
    struct xlc_ctx *c = (struct xlc_ctx *)lg;
    char *text = malloc(XLC_MAX_TEXT);
    if (text) {
        int len = vsnprintf(text, XLC_MAX_TEXT, format, al);
        if (len < 0) {
            text[0] = 0;
            len = 0;
        }
        if (len >= XLC_MAX_TEXT) len = XLC_MAX_TEXT - 1;
        /* As xentoollog's stdio logger does: the errno's text after the message. */
        if (errnoval >= 0)
            snprintf(text + len, XLC_MAX_TEXT - (size_t)len, ": %s", strerror(errnoval));
    }
    msg_add(c, (int)level, context, text);
}

static void xlc_progress(xentoollog_logger *lg, const char *context, const char *doing_what,
                         int percent, unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done; (void)total;
}

static void xlc_logger_destroy(xentoollog_logger *lg) { (void)lg; }

/* A message of the stubs themselves (bad arguments), context "xlchannel-ocaml". */
static int stub_error(struct xlc_ctx *c, int rc, const char *fmt, ...)
{
    char *text = malloc(XLC_MAX_TEXT);
    if (text) {
        va_list al;
        va_start(al, fmt);
        vsnprintf(text, XLC_MAX_TEXT, fmt, al);
        va_end(al);
    }
    msg_add(c, XTL_ERROR, "xlchannel-ocaml", text);
    return rc;
}

static int has_errors(const struct xlc_ctx *c)
{
    (void)c;
    for (size_t i = 0; i < xlc_log.n; i++)
        if (xlc_log.msgs[i].level >= XTL_ERROR) return 1;
    return 0;
}

/* Contexts allocated and not yet destroyed (changed only under the runtime lock). */
static intnat live_contexts;

static void xlc_destroy(struct xlc_ctx *c)
{
    libxl_ctx_free(c->ctx); /* NULL is allowed; what it logs waits for this thread's next call */
    free(c);
    live_contexts--;
}

/* unit -> int */
CAMLprim value xlc_live_contexts(value unit)
{
    (void)unit;
    return Val_long(live_contexts);
}

#define Xlc_val(v) (*((struct xlc_ctx **)Data_custom_val(v)))

/* The one finaliser: a context the program let go of without freeing it. It runs only
 * when the value is unreachable, so no stub is using it. */
static void xlc_finalize(value v)
{
    struct xlc_ctx *c = Xlc_val(v);
    if (c) {
        Xlc_val(v) = NULL;
        xlc_destroy(c);
    }
}

static struct custom_operations xlc_ops = {
    "org.xenproject.xlchannel.context",
    xlc_finalize,
    custom_compare_default,
    custom_hash_default,
    custom_serialize_default,
    custom_deserialize_default,
    custom_compare_ext_default,
    custom_fixed_length_default,
};

/* Start a call on the context: 0 with *out set and this thread's messages cleared, or
 * XLC_CTX_FREED. Other threads may be inside calls on the same context. */
static int enter(value vctx, struct xlc_ctx **out)
{
    struct xlc_ctx *c = Xlc_val(vctx);
    if (!c) return XLC_CTX_FREED;
    msgs_clear(c);
    atomic_fetch_add(&c->calls, 1);
    *out = c;
    return 0;
}


/* ---------------------------------------------------------------------------------------
 * OCaml values. */

static value result_ok(value v)
{
    CAMLparam1(v);
    CAMLlocal1(r);
    r = caml_alloc_small(1, 0);
    Field(r, 0) = v;
    CAMLreturn(r);
}

static value result_error(int rc)
{
    CAMLparam0();
    CAMLlocal1(r);
    r = caml_alloc_small(1, 1);
    Field(r, 0) = Val_int(rc);
    CAMLreturn(r);
}

static value string_option(const char *s)
{
    CAMLparam0();
    CAMLlocal1(str);
    if (!s) CAMLreturn(Val_none);
    str = caml_copy_string(s);
    CAMLreturn(caml_alloc_some(str));
}

/* The messages of the call (level, context, text), oldest first, then a note of how many
 * were dropped; cleared from the context. */
static value take_messages(struct xlc_ctx *c)
{
    CAMLparam0();
    CAMLlocal4(r, item, cell, s);
    r = Val_emptylist;
    if (xlc_log.dropped) {
        char note[96];
        snprintf(note, sizeof(note), "%zu more messages were dropped", xlc_log.dropped);
        item = caml_alloc_tuple(3);
        Store_field(item, 0, Val_int(XTL_WARN));
        s = caml_copy_string("xlchannel-ocaml");
        Store_field(item, 1, s);
        s = caml_copy_string(note);
        Store_field(item, 2, s);
        cell = caml_alloc_small(2, Tag_cons);
        Field(cell, 0) = item;
        Field(cell, 1) = r;
        r = cell;
    }
    for (size_t i = xlc_log.n; i-- > 0;) {
        item = caml_alloc_tuple(3);
        Store_field(item, 0, Val_int(xlc_log.msgs[i].level));
        s = caml_copy_string(xlc_log.msgs[i].context);
        Store_field(item, 1, s);
        s = caml_copy_string(xlc_log.msgs[i].text);
        Store_field(item, 2, s);
        cell = caml_alloc_small(2, Tag_cons);
        Field(cell, 0) = item;
        Field(cell, 1) = r;
        r = cell;
    }
    msgs_clear(c);
    CAMLreturn(r);
}

/* End a call: (result, the call's messages, which only this thread collected). */
static value finish(struct xlc_ctx *c, value result)
{
    CAMLparam1(result);
    CAMLlocal2(msgs, t);
    msgs = take_messages(c);
    atomic_fetch_sub(&c->calls, 1);
    t = caml_alloc_tuple(2);
    Store_field(t, 0, result);
    Store_field(t, 1, msgs);
    CAMLreturn(t);
}

/* (result, []) for a call that never started (a freed context). */
static value no_messages(value result)
{
    CAMLparam1(result);
    CAMLlocal1(t);
    t = caml_alloc_tuple(2);
    Store_field(t, 0, result);
    Store_field(t, 1, Val_emptylist);
    CAMLreturn(t);
}

/* An OCaml string as a malloc'd C string; ERROR_INVAL for a NUL byte inside it. */
static int dup_string(struct xlc_ctx *c, value s, const char *what, char **out)
{
    *out = NULL;
    if (!caml_string_is_c_safe(s))
        return stub_error(c, ERROR_INVAL, "%s contains a NUL byte", what);
    *out = strdup(String_val(s));
    return *out ? 0 : stub_error(c, ERROR_NOMEM, "out of memory copying %s", what);
}

static int dup_string_option(struct xlc_ctx *c, value opt, const char *what, char **out)
{
    *out = NULL;
    return Is_none(opt) ? 0 : dup_string(c, Some_val(opt), what, out);
}

static int to_u32(struct xlc_ctx *c, value v, const char *what, uint32_t *out)
{
    intnat n = Long_val(v);
    if (n < 0 || (uintnat)n > UINT32_MAX)
        return stub_error(c, ERROR_INVAL, "%s %ld is not a 32-bit unsigned number", what,
                          (long)n);
    *out = (uint32_t)n;
    return 0;
}

static int to_i32(struct xlc_ctx *c, value v, const char *what, int *out)
{
    intnat n = Long_val(v);
    if (n < INT32_MIN || n > INT32_MAX)
        return stub_error(c, ERROR_INVAL, "%s %ld is not a 32-bit signed number", what,
                          (long)n);
    *out = (int)n;
    return 0;
}

/* Device_channel.t = { backend_domid : int; backend_domname : string option; devid : int;
 *                      name : string option; connection : connection }
 * connection = Unknown (Val_int 0) | Pty (Val_int 1) | Socket of string option (tag 0). */
enum { CH_BACKEND_DOMID, CH_BACKEND_DOMNAME, CH_DEVID, CH_NAME, CH_CONNECTION, CH_FIELDS };

/* Fill *ch (initialised here) from an OCaml channel. On error *ch is disposed. */
static int channel_of_value(struct xlc_ctx *c, value v, libxl_device_channel *ch)
{
    value conn = Field(v, CH_CONNECTION);
    int rc;
    libxl_channel_connection kind = Is_block(conn)      ? LIBXL_CHANNEL_CONNECTION_SOCKET
                                    : Int_val(conn) == 1 ? LIBXL_CHANNEL_CONNECTION_PTY
                                                         : LIBXL_CHANNEL_CONNECTION_UNKNOWN;
    libxl_device_channel_init(ch);
    libxl_device_channel_init_connection(ch, kind);
    if ((rc = to_u32(c, Field(v, CH_BACKEND_DOMID), "backend_domid", &ch->backend_domid)) ||
        (rc = dup_string_option(c, Field(v, CH_BACKEND_DOMNAME), "backend_domname",
                                &ch->backend_domname)) ||
        (rc = to_i32(c, Field(v, CH_DEVID), "devid", &ch->devid)) ||
        (rc = dup_string_option(c, Field(v, CH_NAME), "name", &ch->name)) ||
        (rc = Is_block(conn) ? dup_string_option(c, Field(conn, 0), "socket path",
                                                 &ch->u.socket.path)
                             : 0)) {
        libxl_device_channel_dispose(ch);
        return rc;
    }
    return 0;
}

/* An OCaml channel from *ch; *rc is ERROR_INVAL (logged) for a connection the OCaml type
 * has no constructor for (Val_unit is returned then). */
static value value_of_channel(struct xlc_ctx *c, const libxl_device_channel *ch, int *rc)
{
    CAMLparam0();
    CAMLlocal3(r, conn, tmp);
    switch (ch->connection) {
    case LIBXL_CHANNEL_CONNECTION_UNKNOWN: conn = Val_int(0); break;
    case LIBXL_CHANNEL_CONNECTION_PTY: conn = Val_int(1); break;
    case LIBXL_CHANNEL_CONNECTION_SOCKET:
        tmp = string_option(ch->u.socket.path);
        conn = caml_alloc_small(1, 0);
        Field(conn, 0) = tmp;
        break;
    default:
        *rc = stub_error(c, ERROR_INVAL, "channel connection %d is out of range",
                         (int)ch->connection);
        CAMLreturn(Val_unit);
    }
    r = caml_alloc_tuple(CH_FIELDS);
    Store_field(r, CH_BACKEND_DOMID, Val_long(ch->backend_domid));
    tmp = string_option(ch->backend_domname);
    Store_field(r, CH_BACKEND_DOMNAME, tmp);
    Store_field(r, CH_DEVID, Val_long(ch->devid));
    tmp = string_option(ch->name);
    Store_field(r, CH_NAME, tmp);
    Store_field(r, CH_CONNECTION, conn);
    *rc = 0;
    CAMLreturn(r);
}

/* Channelinfo.t = { backend : string option; backend_id : int; frontend : string option;
 *   frontend_id : int; devid : int; state : int; evtch : int; rref : int;
 *   connection : connection }
 * connection = Unknown (Val_int 0) | Pty of string option (tag 0) | Socket (Val_int 1). */
enum { CI_BACKEND, CI_BACKEND_ID, CI_FRONTEND, CI_FRONTEND_ID, CI_DEVID, CI_STATE, CI_EVTCH,
       CI_RREF, CI_CONNECTION, CI_FIELDS };

static int channelinfo_of_value(struct xlc_ctx *c, value v, libxl_channelinfo *ci)
{
    value conn = Field(v, CI_CONNECTION);
    int rc;
    libxl_channel_connection kind = Is_block(conn)      ? LIBXL_CHANNEL_CONNECTION_PTY
                                    : Int_val(conn) == 1 ? LIBXL_CHANNEL_CONNECTION_SOCKET
                                                         : LIBXL_CHANNEL_CONNECTION_UNKNOWN;
    libxl_channelinfo_init(ci);
    libxl_channelinfo_init_connection(ci, kind);
    if ((rc = dup_string_option(c, Field(v, CI_BACKEND), "backend", &ci->backend)) ||
        (rc = to_u32(c, Field(v, CI_BACKEND_ID), "backend_id", &ci->backend_id)) ||
        (rc = dup_string_option(c, Field(v, CI_FRONTEND), "frontend", &ci->frontend)) ||
        (rc = to_u32(c, Field(v, CI_FRONTEND_ID), "frontend_id", &ci->frontend_id)) ||
        (rc = to_i32(c, Field(v, CI_DEVID), "devid", &ci->devid)) ||
        (rc = to_i32(c, Field(v, CI_STATE), "state", &ci->state)) ||
        (rc = to_i32(c, Field(v, CI_EVTCH), "evtch", &ci->evtch)) ||
        (rc = to_i32(c, Field(v, CI_RREF), "rref", &ci->rref)) ||
        (rc = Is_block(conn)
                  ? dup_string_option(c, Field(conn, 0), "pty path", &ci->u.pty.path)
                  : 0)) {
        libxl_channelinfo_dispose(ci);
        return rc;
    }
    return 0;
}

static value value_of_channelinfo(struct xlc_ctx *c, const libxl_channelinfo *ci, int *rc)
{
    CAMLparam0();
    CAMLlocal3(r, conn, tmp);
    switch (ci->connection) {
    case LIBXL_CHANNEL_CONNECTION_UNKNOWN: conn = Val_int(0); break;
    case LIBXL_CHANNEL_CONNECTION_SOCKET: conn = Val_int(1); break;
    case LIBXL_CHANNEL_CONNECTION_PTY:
        tmp = string_option(ci->u.pty.path);
        conn = caml_alloc_small(1, 0);
        Field(conn, 0) = tmp;
        break;
    default:
        *rc = stub_error(c, ERROR_INVAL, "channelinfo connection %d is out of range",
                         (int)ci->connection);
        CAMLreturn(Val_unit);
    }
    r = caml_alloc_tuple(CI_FIELDS);
    tmp = string_option(ci->backend);
    Store_field(r, CI_BACKEND, tmp);
    Store_field(r, CI_BACKEND_ID, Val_long(ci->backend_id));
    tmp = string_option(ci->frontend);
    Store_field(r, CI_FRONTEND, tmp);
    Store_field(r, CI_FRONTEND_ID, Val_long(ci->frontend_id));
    Store_field(r, CI_DEVID, Val_long(ci->devid));
    Store_field(r, CI_STATE, Val_long(ci->state));
    Store_field(r, CI_EVTCH, Val_long(ci->evtch));
    Store_field(r, CI_RREF, Val_long(ci->rref));
    Store_field(r, CI_CONNECTION, conn);
    *rc = 0;
    CAMLreturn(r);
}

/* An OCaml list of the n channels at list (any conversion error is returned in *rc). */
static value value_of_channels(struct xlc_ctx *c, const libxl_device_channel *list, int n,
                               int *rc)
{
    CAMLparam0();
    CAMLlocal3(r, item, cell);
    r = Val_emptylist;
    *rc = 0;
    for (int i = n - 1; i >= 0; i--) {
        item = value_of_channel(c, &list[i], rc);
        if (*rc) CAMLreturn(Val_emptylist);
        cell = caml_alloc_small(2, Tag_cons);
        Field(cell, 0) = item;
        Field(cell, 1) = r;
        r = cell;
    }
    CAMLreturn(r);
}

/* An OCaml list of channels as a malloc'd array of initialised C channels (*n of them).
 * On error nothing is left allocated. */
static int channels_of_list(struct xlc_ctx *c, value l, libxl_device_channel **out, int *n)
{
    int count = 0, rc;
    *out = NULL;
    *n = 0;
    for (value p = l; p != Val_emptylist; p = Field(p, 1)) {
        if (count == INT32_MAX / (int)sizeof(libxl_device_channel))
            return stub_error(c, ERROR_INVAL, "too many channels");
        count++;
    }
    if (!count) return 0;
    libxl_device_channel *a = calloc((size_t)count, sizeof(*a));
    if (!a) return stub_error(c, ERROR_NOMEM, "out of memory for %d channels", count);
    int i = 0;
    for (value p = l; p != Val_emptylist; p = Field(p, 1), i++) {
        if ((rc = channel_of_value(c, Field(p, 0), &a[i]))) {
            libxl_device_channel_list_free(a, i);
            return rc;
        }
    }
    *out = a;
    *n = count;
    return 0;
}

/* ---------------------------------------------------------------------------------------
 * Contexts. */

/* unit -> raw_context * int * messages: the context is returned also when libxl_ctx_alloc
 * fails; the caller frees it then. */
CAMLprim value xlc_ctx_alloc(value unit)
{
    CAMLparam1(unit);
    CAMLlocal3(v, r, msgs);
    struct xlc_ctx *c;
    int rc;
    v = caml_alloc_custom_mem(&xlc_ops, sizeof(struct xlc_ctx *), sizeof(struct xlc_ctx));
    Xlc_val(v) = c = calloc(1, sizeof(*c));
    if (!c) {
        rc = ERROR_NOMEM;
    } else {
        live_contexts++;
        c->vtable.vmessage = xlc_vmessage;
        c->vtable.progress = xlc_progress;
        c->vtable.destroy = xlc_logger_destroy;
        msgs_clear(c);
        atomic_store(&c->calls, 1);
        caml_enter_blocking_section();
        rc = libxl_ctx_alloc(&c->ctx, LIBXL_VERSION, 0, &c->vtable);
        caml_leave_blocking_section();
        atomic_store(&c->calls, 0);
    }
    msgs = c ? take_messages(c) : Val_emptylist;
    r = caml_alloc_tuple(3);
    Store_field(r, 0, v);
    Store_field(r, 1, Val_int(rc));
    Store_field(r, 2, msgs);
    CAMLreturn(r);
}

/* raw_context -> int: 0 (also for a context already freed), or XLC_CTX_BUSY while another
 * thread is inside a call on it (freeing it then would pull it from under that call). */
CAMLprim value xlc_ctx_free(value vctx)
{
    CAMLparam1(vctx);
    struct xlc_ctx *c = Xlc_val(vctx);
    if (c && atomic_load(&c->calls)) CAMLreturn(Val_int(XLC_CTX_BUSY));
    Xlc_val(vctx) = NULL;
    if (c) xlc_destroy(c);
    CAMLreturn(Val_int(0));
}

/* raw_context -> int: how many calls are running on the context, in all threads (0 for a
 * freed one). */
CAMLprim value xlc_ctx_calls(value vctx)
{
    struct xlc_ctx *c = Xlc_val(vctx);
    return Val_int(c ? atomic_load(&c->calls) : 0);
}

/* ---------------------------------------------------------------------------------------
 * Channels in xenstore. */

/* One channel operation of libxl's device shape (add, remove, destroy). Each may wait
 * (bounded) for the frontend or talk to the device model, so other OCaml threads run
 * meanwhile. With give_back, the result is the channel as libxl wrote it back (an add's
 * devid and backend_domid); otherwise unit. */
static value channel_op(value vctx, value vdomid, value vch,
                        int (*op)(libxl_ctx *, uint32_t, libxl_device_channel *,
                                  const libxl_asyncop_how *),
                        int give_back)
{
    CAMLparam3(vctx, vdomid, vch);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    libxl_device_channel ch;
    uint32_t domid = 0;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if ((rc = to_u32(c, vdomid, "domid", &domid)) || (rc = channel_of_value(c, vch, &ch))) {
        CAMLreturn(finish(c, result_error(rc)));
    }
    caml_enter_blocking_section();
    rc = op(c->ctx, domid, &ch, NULL);
    caml_leave_blocking_section();
    out = Val_unit;
    if (!rc && give_back) out = value_of_channel(c, &ch, &rc);
    libxl_device_channel_dispose(&ch);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* raw_context -> int -> channel -> (channel, int) result: the channel as added. */
CAMLprim value xlc_channel_add(value vctx, value vdomid, value vch)
{
    return channel_op(vctx, vdomid, vch, libxl_device_channel_add, 1);
}

/* raw_context -> int -> channel -> (unit, int) result. */
CAMLprim value xlc_channel_remove(value vctx, value vdomid, value vch)
{
    return channel_op(vctx, vdomid, vch, libxl_device_channel_remove, 0);
}

/* raw_context -> int -> channel -> (unit, int) result. */
CAMLprim value xlc_channel_destroy(value vctx, value vdomid, value vch)
{
    return channel_op(vctx, vdomid, vch, libxl_device_channel_destroy, 0);
}

/* raw_context -> int -> (channel list, int) result. libxl returns NULL both for "no
 * channels" and for a failure; a failure is the one that logged an error. */
CAMLprim value xlc_channel_list(value vctx, value vdomid)
{
    CAMLparam2(vctx, vdomid);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    uint32_t domid = 0;
    int num = 0;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if ((rc = to_u32(c, vdomid, "domid", &domid))) {
        CAMLreturn(finish(c, result_error(rc)));
    }
    caml_enter_blocking_section();
    libxl_device_channel *list = libxl_device_channel_list(c->ctx, domid, &num);
    caml_leave_blocking_section();
    if (!list && has_errors(c)) rc = ERROR_FAIL;
    else out = value_of_channels(c, list, list ? num : 0, &rc);
    libxl_device_channel_list_free(list, num);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* raw_context -> int -> channel -> (channelinfo, int) result. */
CAMLprim value xlc_channel_getinfo(value vctx, value vdomid, value vch)
{
    CAMLparam3(vctx, vdomid, vch);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    libxl_device_channel ch;
    libxl_channelinfo info;
    uint32_t domid = 0;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if ((rc = to_u32(c, vdomid, "domid", &domid)) || (rc = channel_of_value(c, vch, &ch))) {
        CAMLreturn(finish(c, result_error(rc)));
    }
    libxl_channelinfo_init(&info);
    caml_enter_blocking_section();
    rc = libxl_device_channel_getinfo(c->ctx, domid, &ch, &info);
    caml_leave_blocking_section();
    if (!rc) out = value_of_channelinfo(c, &info, &rc);
    libxl_channelinfo_dispose(&info); /* also on failure, as libxl requires */
    libxl_device_channel_dispose(&ch);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* ---------------------------------------------------------------------------------------
 * JSON. */

/* A malloc'd JSON text (or NULL) as an OCaml result; the text is freed here. */
static value json_result(char *json)
{
    CAMLparam0();
    CAMLlocal1(s);
    if (!json) CAMLreturn(result_error(ERROR_FAIL));
    s = caml_copy_string(json);
    free(json);
    CAMLreturn(result_ok(s));
}

CAMLprim value xlc_channel_to_json(value vctx, value vch)
{
    CAMLparam2(vctx, vch);
    CAMLlocal1(r);
    struct xlc_ctx *c;
    libxl_device_channel ch;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if ((rc = channel_of_value(c, vch, &ch))) {
        CAMLreturn(finish(c, result_error(rc)));
    }
    char *json = libxl_device_channel_to_json(c->ctx, &ch);
    libxl_device_channel_dispose(&ch);
    r = json_result(json);
    CAMLreturn(finish(c, r));
}

CAMLprim value xlc_channel_of_json(value vctx, value vjson)
{
    CAMLparam2(vctx, vjson);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    libxl_device_channel ch;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if (!caml_string_is_c_safe(vjson)) {
        rc = stub_error(c, ERROR_INVAL, "JSON text contains a NUL byte");
        CAMLreturn(finish(c, result_error(rc)));
    }
    /* Initialises ch; on failure it holds nothing, and disposing it is harmless. */
    rc = libxl_device_channel_from_json(c->ctx, &ch, String_val(vjson));
    if (!rc) out = value_of_channel(c, &ch, &rc);
    libxl_device_channel_dispose(&ch);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

CAMLprim value xlc_channelinfo_to_json(value vctx, value vci)
{
    CAMLparam2(vctx, vci);
    CAMLlocal1(r);
    struct xlc_ctx *c;
    libxl_channelinfo ci;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if ((rc = channelinfo_of_value(c, vci, &ci))) {
        CAMLreturn(finish(c, result_error(rc)));
    }
    char *json = libxl_channelinfo_to_json(c->ctx, &ci);
    libxl_channelinfo_dispose(&ci);
    r = json_result(json);
    CAMLreturn(finish(c, r));
}

CAMLprim value xlc_channelinfo_of_json(value vctx, value vjson)
{
    CAMLparam2(vctx, vjson);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    libxl_channelinfo ci;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if (!caml_string_is_c_safe(vjson)) {
        rc = stub_error(c, ERROR_INVAL, "JSON text contains a NUL byte");
        CAMLreturn(finish(c, result_error(rc)));
    }
    rc = libxl_channelinfo_from_json(c->ctx, &ci, String_val(vjson));
    if (!rc) out = value_of_channelinfo(c, &ci, &rc);
    libxl_channelinfo_dispose(&ci);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* ---------------------------------------------------------------------------------------
 * xl configuration. */

/* raw_context -> string -> string -> (channel list, int) result: the config's channels.
 * The data may hold NUL bytes (its length is passed). No OCaml allocation happens between
 * reading String_val and the call, so the pointers stay valid. */
CAMLprim value xlc_config_channels(value vctx, value vsource, value vdata)
{
    CAMLparam3(vctx, vsource, vdata);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    libxl_device_channel *list = NULL;
    int num = 0;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if (!caml_string_is_c_safe(vsource)) {
        rc = stub_error(c, ERROR_INVAL, "source name contains a NUL byte");
        CAMLreturn(finish(c, result_error(rc)));
    }
    rc = xlchannel_config_channels(c->ctx, String_val(vsource), String_val(vdata),
                                   caml_string_length(vdata), &list, &num);
    if (!rc) out = value_of_channels(c, list, num, &rc);
    libxl_device_channel_list_free(list, num);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* raw_context -> string -> (channel, int) result: one channel SPEC. */
CAMLprim value xlc_channel_parse_spec(value vctx, value vspec)
{
    CAMLparam2(vctx, vspec);
    CAMLlocal1(out);
    struct xlc_ctx *c;
    libxl_device_channel ch;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if (!caml_string_is_c_safe(vspec)) {
        rc = stub_error(c, ERROR_INVAL, "channel SPEC contains a NUL byte");
        CAMLreturn(finish(c, result_error(rc)));
    }
    /* Initialises ch first; on failure it holds nothing. */
    rc = xlchannel_channel_parse_spec(c->ctx, String_val(vspec), &ch);
    if (!rc) out = value_of_channel(c, &ch, &rc);
    libxl_device_channel_dispose(&ch);
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* ---------------------------------------------------------------------------------------
 * Device model. */

/* raw_context -> channel list -> (string list, int) result: qemu's -chardev arguments. */
CAMLprim value xlc_dm_chardev_args(value vctx, value vchannels)
{
    CAMLparam2(vctx, vchannels);
    CAMLlocal3(out, s, cell);
    struct xlc_ctx *c;
    libxl_device_channel *chans;
    char **args = NULL;
    int n;
    int rc = enter(vctx, &c);
    if (rc) CAMLreturn(no_messages(result_error(rc)));
    if ((rc = channels_of_list(c, vchannels, &chans, &n))) {
        CAMLreturn(finish(c, result_error(rc)));
    }
    rc = xlchannel_dm_chardev_args(c->ctx, chans, n, &args);
    libxl_device_channel_list_free(chans, n);
    out = Val_emptylist;
    if (!rc && args) {
        size_t count = 0;
        while (args[count]) count++;
        for (size_t i = count; i-- > 0;) {
            s = caml_copy_string(args[i]);
            cell = caml_alloc_small(2, Tag_cons);
            Field(cell, 0) = s;
            Field(cell, 1) = out;
            out = cell;
        }
    }
    xlchannel_dm_args_free(args); /* NULL is a no-op */
    CAMLreturn(finish(c, rc ? result_error(rc) : result_ok(out)));
}

/* ---------------------------------------------------------------------------------------
 * Enum helpers (no context needed: static storage, nothing allocated). */

/* int -> string option */
CAMLprim value xlc_connection_to_string(value v)
{
    CAMLparam1(v);
    intnat n = Long_val(v);
    const char *s = n < INT32_MIN || n > INT32_MAX
                        ? NULL
                        : libxl_channel_connection_to_string((libxl_channel_connection)n);
    CAMLreturn(string_option(s));
}

/* string -> int (the value, or a negative libxl_error) */
CAMLprim value xlc_connection_from_string(value v)
{
    CAMLparam1(v);
    libxl_channel_connection e = LIBXL_CHANNEL_CONNECTION_UNKNOWN;
    if (!caml_string_is_c_safe(v)) CAMLreturn(Val_int(ERROR_INVAL));
    int rc = libxl_channel_connection_from_string(String_val(v), &e);
    CAMLreturn(Val_int(rc ? rc : (int)e));
}

/* ---------------------------------------------------------------------------------------
 * What the C compiler sees in include/libxl_channel.h, for Abi.check. The order of both
 * arrays is the order of Abi.layout_names / Abi.constant_names in xlchannel.ml. */

#define OFF(t, f) (intnat) offsetof(t, f)

CAMLprim value xlc_header_layout(value unit)
{
    CAMLparam1(unit);
    CAMLlocal1(r);
    const intnat v[] = {
        (intnat)sizeof(libxl_device_channel),
        (intnat)_Alignof(libxl_device_channel),
        OFF(libxl_device_channel, backend_domid),
        OFF(libxl_device_channel, backend_domname),
        OFF(libxl_device_channel, devid),
        OFF(libxl_device_channel, name),
        OFF(libxl_device_channel, connection),
        OFF(libxl_device_channel, u.socket.path),
        (intnat)sizeof(libxl_channelinfo),
        (intnat)_Alignof(libxl_channelinfo),
        OFF(libxl_channelinfo, backend),
        OFF(libxl_channelinfo, backend_id),
        OFF(libxl_channelinfo, frontend),
        OFF(libxl_channelinfo, frontend_id),
        OFF(libxl_channelinfo, devid),
        OFF(libxl_channelinfo, state),
        OFF(libxl_channelinfo, evtch),
        OFF(libxl_channelinfo, rref),
        OFF(libxl_channelinfo, connection),
        OFF(libxl_channelinfo, u.pty.path),
        (intnat)sizeof(libxl_channel_connection),
        (intnat)sizeof(libxl_domid),
        (intnat)sizeof(libxl_devid),
        (intnat)sizeof(libxl_asyncop_how),
        (intnat)sizeof(libxl_enum_string_table),
    };
    size_t n = sizeof(v) / sizeof(v[0]);
    r = caml_alloc_tuple(n);
    for (size_t i = 0; i < n; i++) Store_field(r, i, Val_long(v[i]));
    CAMLreturn(r);
}

CAMLprim value xlc_header_constants(value unit)
{
    CAMLparam1(unit);
    CAMLlocal1(r);
    const intnat v[] = {
        LIBXL_VERSION,
        XLCHANNEL_DOMID_SELF,
        XLCHANNEL_XL_EXIT_FAILURE,
        LIBXL_HAVE_DEVICE_CHANNEL,
        LIBXL_CHANNEL_CONNECTION_UNKNOWN,
        LIBXL_CHANNEL_CONNECTION_PTY,
        LIBXL_CHANNEL_CONNECTION_SOCKET,
        ERROR_NONSPECIFIC, ERROR_VERSION, ERROR_FAIL, ERROR_NI, ERROR_NOMEM, ERROR_INVAL,
        ERROR_BADFAIL, ERROR_GUEST_TIMEDOUT, ERROR_TIMEDOUT, ERROR_NOPARAVIRT,
        ERROR_NOT_READY, ERROR_OSEVENT_REG_FAIL, ERROR_BUFFERFULL, ERROR_UNKNOWN_CHILD,
        ERROR_LOCK_FAIL, ERROR_JSON_CONFIG_EMPTY, ERROR_DEVICE_EXISTS,
        ERROR_CHECKPOINT_DEVOPS_DOES_NOT_MATCH, ERROR_CHECKPOINT_DEVICE_NOT_SUPPORTED,
        ERROR_VNUMA_CONFIG_INVALID, ERROR_DOMAIN_NOTFOUND, ERROR_ABORTED, ERROR_NOTFOUND,
        ERROR_DOMAIN_DESTROYED, ERROR_FEATURE_REMOVED, ERROR_PROTOCOL_ERROR_QMP,
        ERROR_UNKNOWN_QMP_ERROR, ERROR_QMP_GENERIC_ERROR, ERROR_QMP_COMMAND_NOT_FOUND,
        ERROR_QMP_DEVICE_NOT_ACTIVE, ERROR_QMP_DEVICE_NOT_FOUND, ERROR_QEMU_API,
        XTL_DEBUG, XTL_VERBOSE, XTL_DETAIL, XTL_PROGRESS, XTL_INFO, XTL_NOTICE, XTL_WARN,
        XTL_ERROR, XTL_CRITICAL,
    };
    size_t n = sizeof(v) / sizeof(v[0]);
    r = caml_alloc_tuple(n);
    for (size_t i = 0; i < n; i++) Store_field(r, i, Val_long(v[i]));
    CAMLreturn(r);
}
