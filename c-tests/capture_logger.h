/* A xentoollog logger that records messages, so tests can assert what was logged. */
#ifndef XLCHANNEL_CAPTURE_LOGGER_H
#define XLCHANNEL_CAPTURE_LOGGER_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <xentoollog.h>

struct capture_logger {
    xentoollog_logger vtable;
    int count;
    xentoollog_level last_level;
    char last_context[32];
    char last[1024];
    /* Every message since capture_init/capture_clear, one line each: "<level> <context>:
     * <message>" (level "warning", "error" or its number), cut short if it overflows. */
    char all[8192];
    size_t all_len;
};

static void capture_vmessage(xentoollog_logger *lg, xentoollog_level level,
                             int errnoval, const char *context,
                             const char *format, va_list al)
{
    struct capture_logger *c = (struct capture_logger *)lg;
    (void)errnoval;
    c->count++;
    c->last_level = level;
    snprintf(c->last_context, sizeof(c->last_context), "%s", context ? context : "");
    vsnprintf(c->last, sizeof(c->last), format, al);
    if (c->all_len < sizeof(c->all)) {
        char lv[16];
        snprintf(lv, sizeof(lv), "%d", (int)level);
        int n = snprintf(c->all + c->all_len, sizeof(c->all) - c->all_len, "%s %s: %s\n",
                         level == XTL_WARN ? "warning" : level == XTL_ERROR ? "error" : lv,
                         c->last_context, c->last);
        if (n > 0) c->all_len += (size_t)n;
        if (c->all_len > sizeof(c->all)) c->all_len = sizeof(c->all);
    }
}

static void capture_progress(xentoollog_logger *lg, const char *context,
                             const char *doing_what, int percent,
                             unsigned long done, unsigned long total)
{
    (void)lg; (void)context; (void)doing_what; (void)percent; (void)done; (void)total;
}

static void capture_destroy(xentoollog_logger *lg) { (void)lg; }

static inline void capture_init(struct capture_logger *c)
{
    memset(c, 0, sizeof(*c));
    c->vtable.vmessage = capture_vmessage;
    c->vtable.progress = capture_progress;
    c->vtable.destroy = capture_destroy;
}

/* Forget the messages recorded in `all`. */
static inline void capture_clear(struct capture_logger *c)
{
    c->all[0] = 0;
    c->all_len = 0;
}

/* The last message ends with `tail` (the part after libxl's "file:line:func: " prefix). */
static inline int capture_ends_with(const struct capture_logger *c, const char *tail)
{
    size_t n = strlen(c->last), t = strlen(tail);
    return n >= t && !strcmp(c->last + n - t, tail);
}

#endif
