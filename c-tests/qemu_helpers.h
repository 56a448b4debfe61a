/* A real qemu for the C tests, and a minimal QMP client with bounded waits (the same
 * approach as test_devicemodel.c): start qemu as a child that dies with the test, read
 * with deadlines, speak QMP line by line, stop qemu with quit, then TERM, then KILL. */
#ifndef XLCHANNEL_QEMU_HELPERS_H
#define XLCHANNEL_QEMU_HELPERS_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* Everything a descriptor sent so far. */
struct reader { int fd; char buf[65536]; size_t len; };

/* Read until `want` appears (from `from` on) or `ms` pass: a pointer past it, or NULL. */
static inline char *read_until(struct reader *r, size_t from, const char *want, int ms)
{
    long deadline = now_ms() + ms;
    for (;;) {
        r->buf[r->len] = 0;
        char *hit = strstr(r->buf + from, want);
        if (hit) return hit + strlen(want);
        long left = deadline - now_ms();
        if (left <= 0 || r->len + 1 >= sizeof(r->buf)) return NULL;
        struct pollfd p = { .fd = r->fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0) continue;
        ssize_t n = read(r->fd, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
        if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (n <= 0) return NULL;
        r->len += (size_t)n;
    }
}

/* Read exactly n bytes within ms; 0 on success. */
static inline int read_exactly(int fd, char *out, size_t n, int ms)
{
    long deadline = now_ms() + ms;
    size_t got = 0;
    while (got < n) {
        long left = deadline - now_ms();
        if (left <= 0) return -1;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)left) <= 0) continue;
        ssize_t r = read(fd, out + got, n - got);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

static inline int send_bytes(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

static inline int send_all(int fd, const char *s) { return send_bytes(fd, s, strlen(s)); }

static inline int connect_unix(const char *path)
{
    struct sockaddr_un a = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(a.sun_path)) return -1;
    strcpy(a.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0) return fd;
    close(fd);
    return -1;
}

/* A QMP command's reply line ({"return"... or {"error"...}), events skipped; a pointer into
 * the reader's buffer, valid until the next read. */
static inline char *qmp(struct reader *q, const char *command)
{
    size_t from = q->len;
    if (send_all(q->fd, command) || send_all(q->fd, "\n")) return NULL;
    for (;;) {
        char *end = read_until(q, from, "\n", 10000);
        if (!end) return NULL;
        char *line = q->buf + from;
        end[-1] = 0;
        if (end - 2 >= line && end[-2] == '\r') end[-2] = 0; /* QMP ends lines with CRLF */
        from = (size_t)(end - q->buf);
        if (!strncmp(line, "{\"return\"", 9) || !strncmp(line, "{\"error\"", 8)) {
            printf("qmp: %s -> %s\n", command, line);
            return line;
        }
    }
}

static inline pid_t start_qemu(char *const argv[], const char *log)
{
    pid_t parent = getpid(), pid = fork();
    if (pid == 0) {
        /* qemu must not outlive the test, even if the test dies. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent) _exit(125);
        int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (in < 0 || out < 0) _exit(126);
        dup2(in, 0);
        dup2(out, 1);
        dup2(out, 2);
        unsetenv("LD_PRELOAD");
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/* Connect to a QMP socket qemu is about to create (bounded), read the greeting and leave
 * negotiation mode; 0 on success. */
static inline int qmp_open(struct reader *q, pid_t pid, const char *path)
{
    q->fd = -1;
    q->len = 0;
    for (long end = now_ms() + 10000; q->fd < 0 && now_ms() < end; usleep(50000)) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) return -1;
        q->fd = connect_unix(path);
    }
    if (q->fd < 0 || !read_until(q, 0, "\n", 10000)) return -1;
    char *reply = qmp(q, "{\"execute\": \"qmp_capabilities\"}");
    return reply && !strcmp(reply, "{\"return\": {}}") ? 0 : -1;
}

/* Stop qemu: quit over QMP, then TERM, then KILL, every wait bounded; 0 if quit sufficed. */
static inline int stop_qemu(pid_t pid, struct reader *q)
{
    if (pid <= 0) return 0;
    if (q && q->fd >= 0) send_all(q->fd, "{\"execute\": \"quit\"}\n");
    int sigs[] = { 0, SIGTERM, SIGKILL };
    for (int i = 0; i < 3; i++) {
        if (sigs[i]) kill(pid, sigs[i]);
        for (long end = now_ms() + 5000; now_ms() < end;) {
            int status;
            if (waitpid(pid, &status, WNOHANG) == pid) return i;
            usleep(20000);
        }
    }
    return -1;
}

#endif
