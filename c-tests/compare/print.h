/* Printing for the comparison programs: every value in a form that shows each byte, one
 * line per case, each case in a child process (so a crash or abort in the library under
 * test becomes the line "LABEL: ABORTED"). Included by programs built once against real
 * libxenlight and once against xlchannel. */
#ifndef XLCHANNEL_COMPARE_PRINT_H
#define XLCHANNEL_COMPARE_PRINT_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/* A string in a form that shows every byte: printable ASCII as is, the rest as \xNN. */
static inline void put_str(const char *s)
{
    if (!s) { fputs("NULL", stdout); return; }
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '"') putchar(*p);
        else printf("\\x%02x", *p);
    }
    putchar('"');
}

static inline void put_channel(const libxl_device_channel *c)
{
    printf("domid=%u domname=", c->backend_domid);
    put_str(c->backend_domname);
    printf(" devid=%d name=", c->devid);
    put_str(c->name);
    printf(" connection=%d", (int)c->connection);
    if (c->connection == LIBXL_CHANNEL_CONNECTION_SOCKET) {
        fputs(" path=", stdout);
        put_str(c->u.socket.path);
    }
}

static inline void put_info(const libxl_channelinfo *i)
{
    fputs("backend=", stdout);
    put_str(i->backend);
    printf(" backend_id=%u frontend=", i->backend_id);
    put_str(i->frontend);
    printf(" frontend_id=%u devid=%d state=%d evtch=%d rref=%d connection=%d",
           i->frontend_id, i->devid, i->state, i->evtch, i->rref, (int)i->connection);
    if (i->connection == LIBXL_CHANNEL_CONNECTION_PTY) {
        fputs(" path=", stdout);
        put_str(i->u.pty.path);
    }
}

static inline void put_bytes(const void *p, size_t n)
{
    for (size_t k = 0; k < n; k++) printf("%02x", ((const unsigned char *)p)[k]);
}

/* Run one case in a child; its output is the case's line. */
static inline void run_case(const char *label, void (*fn)(const void *), const void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        printf("%s: ", label);
        fn(arg);
        putchar('\n');
        fflush(stdout);
        _exit(0);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status)) {
        printf("%s: ABORTED\n", label);
        fflush(stdout);
    }
}

static inline void put_json(char *json)
{
    if (!json) { fputs("json=NULL", stdout); return; }
    fputs("json=", stdout);
    put_str(json);
    free(json);
}

#endif
