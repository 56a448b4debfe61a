/*
 * xenshim.c -- LD_PRELOAD stand-in for the Xen hypervisor, for the xlchannel testbed.
 *
 * Why: the integration tests run Debian's real xenstored, real libxenlight and real `xl`
 * on machines without Xen. Those programs only need a handful of answers from the
 * hypervisor / dom0 kernel (via libxenctrl, libxenevtchn, libxengnttab and two
 * /proc/xen files). This library, preloaded, gives plausible answers for exactly those
 * calls, so the code paths we test (xenstore I/O, libxl's config handling) run for real.
 *
 * Nothing here talks to a hypervisor; every answer describes one idle host with
 * SHIM_NR_CPUS CPUs, one NUMA node, and domains that exist when asked about.
 *
 * Environment:
 *   XLCHANNEL_TESTBED_DIR  directory holding the files that stand in for
 *                          /proc/xen/xsd_port and /proc/xen/xsd_kva (opens of those two
 *                          paths are redirected there; without it they pass through).
 *   XLCHANNEL_SHIM_TRACE   if set (non-empty), log every shim call to stderr -- that is how
 *                          to find out which further call a new use case needs.
 *   XLCHANNEL_SHIM_DOMAINS the domids a listing of all domains reports (e.g. "0 3 7"; default
 *                          "0"): xl resolves a domain *name* through that list.
 *
 * Build: gcc -Wall -Wextra -Werror -shared -fPIC -o xenshim.so xenshim.c -ldl
 * Prototypes come from the installed Xen headers (libxen-dev), so the compiler checks
 * that every replacement matches the real ABI, and struct sizes are the real ones.
 */
#undef _FORTIFY_SOURCE /* fortify turns open() into an inline wrapper we could not define */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xengnttab.h>

#define SHIM_NR_CPUS 4
#define SHIM_PAGE 4096
#define SHIM_TOTAL_PAGES (4ull << 18) /* 4 GiB of 4 KiB pages */

static void trace(const char *fmt, ...)
{
    const char *t = getenv("XLCHANNEL_SHIM_TRACE");
    if (!t || !*t)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "xenshim[%d]: ", (int)getpid());
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------
 * /proc/xen/xsd_port and /proc/xen/xsd_kva
 * xenstored reads dom0's xenstore event channel port from the first and mmaps dom0's
 * ring page from the second. Each private daemon gets its own copies (a text port number
 * and a 4096-byte file) in XLCHANNEL_TESTBED_DIR, so parallel daemons never share a ring.
 * --------------------------------------------------------------------------------- */
static const char *redirect(const char *path, char *buf, size_t len)
{
    const char *dir = getenv("XLCHANNEL_TESTBED_DIR");
    const char *name = NULL;

    if (!path || !dir || !*dir)
        return path;
    if (strcmp(path, "/proc/xen/xsd_port") == 0)
        name = "xsd_port";
    else if (strcmp(path, "/proc/xen/xsd_kva") == 0)
        name = "xsd_kva";
    if (!name || snprintf(buf, len, "%s/%s", dir, name) >= (int)len)
        return path;
    trace("open %s -> %s", path, buf);
    return buf;
}

/* open() is variadic: the mode argument only exists when O_CREAT/O_TMPFILE is given. */
#define OPEN_WRAPPER(fn)                                                          \
    int fn(const char *path, int flags, ...)                                      \
    {                                                                             \
        static int (*real)(const char *, int, ...);                              \
        char buf[4096];                                                           \
        mode_t mode = 0;                                                          \
        if (flags & (O_CREAT | O_TMPFILE)) {                                      \
            va_list ap;                                                           \
            va_start(ap, flags);                                                  \
            mode = va_arg(ap, mode_t);                                            \
            va_end(ap);                                                           \
        }                                                                         \
        if (!real)                                                                \
            real = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, #fn);        \
        return real(redirect(path, buf, sizeof buf), flags, mode);                \
    }
OPEN_WRAPPER(open)
OPEN_WRAPPER(open64)

/* ---------------------------------------------------------------------------------
 * libxenctrl. The handle types are opaque to callers, so we define our own contents.
 * Callers only ever pass our handles back to us, as long as every xc_ function a
 * program uses is answered here (if not, XLCHANNEL_SHIM_TRACE shows the last call
 * before the failure).
 * --------------------------------------------------------------------------------- */
struct xc_interface_core { int unused; };

xc_interface *xc_interface_open(xentoollog_logger *logger, xentoollog_logger *dombuild_logger,
                                unsigned open_flags)
{
    (void)logger; (void)dombuild_logger;
    trace("xc_interface_open(flags=%u)", open_flags);
    return calloc(1, sizeof(struct xc_interface_core));
}

int xc_interface_close(xc_interface *xch)
{
    trace("xc_interface_close");
    free(xch);
    return 0;
}

/*
 * Every domain asked about exists, is running and healthy: xenstored checks this when a
 * domain is introduced and when it looks for dead domains; a zeroed record means
 * "not dying, not shut down". We report only the first one asked for.
 */
int xc_domain_getinfo(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                      xc_dominfo_t *info)
{
    (void)xch;
    trace("xc_domain_getinfo(first=%u, max=%u)", first_domid, max_doms);
    if (max_doms == 0)
        return 0;
    memset(info, 0, sizeof(*info));
    info->domid = first_domid;
    info->running = 1;
    info->nr_online_vcpus = 1;
    info->max_memkb = 1024 * 1024;
    return 1;
}

/*
 * Listing every domain (libxl_list_domain, which xl uses to turn a domain name into a domid)
 * needs to know which domains exist: the domids in XLCHANNEL_SHIM_DOMAINS (separated by
 * spaces or commas, e.g. "0 3 7"), or dom0 alone when it is unset. Reported in domid order
 * from first_domid on, as running PV domains.
 */
#define SHIM_MAX_LISTED 64

static int cmp_domid(const void *a, const void *b)
{
    unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;
    return (x > y) - (x < y);
}

int xc_domain_getinfolist(xc_interface *xch, uint32_t first_domid, unsigned int max_doms,
                          xc_domaininfo_t *info)
{
    const char *env = getenv("XLCHANNEL_SHIM_DOMAINS");
    unsigned domids[SHIM_MAX_LISTED];
    unsigned n = 0, out = 0;

    (void)xch;
    trace("xc_domain_getinfolist(first=%u, max=%u)", first_domid, max_doms);
    if (!env)
        env = "0";
    while (*env && n < SHIM_MAX_LISTED) {
        char *end;
        unsigned long d = strtoul(env, &end, 10);
        if (end == env) { /* a separator */
            env++;
            continue;
        }
        if (d < DOMID_FIRST_RESERVED)
            domids[n++] = (unsigned)d;
        env = end;
    }
    qsort(domids, n, sizeof(domids[0]), cmp_domid);
    for (unsigned i = 0; i < n && out < max_doms; i++) {
        if (domids[i] < first_domid || (i > 0 && domids[i] == domids[i - 1]))
            continue;
        memset(&info[out], 0, sizeof(info[out]));
        info[out].domain = (domid_t)domids[i];
        info[out].flags = XEN_DOMINF_running;
        info[out].nr_online_vcpus = 1;
        info[out].max_vcpu_id = 0;
        info[out].tot_pages = info[out].max_pages = 1 << 18;
        out++;
    }
    return (int)out;
}

/* No XSM/FLASK policy here: libxl then reports a domain without a security label. */
int xc_flask_sid_to_context(xc_interface *xch, int sid, char *buf, uint32_t size)
{
    (void)xch; (void)buf; (void)size;
    trace("xc_flask_sid_to_context(sid=%d)", sid);
    errno = ENOSYS;
    return -1;
}

static int copy_str(void *arg, size_t size, const char *s)
{
    if (!arg)
        return -1;
    memset(arg, 0, size);
    strncpy(arg, s, size - 1);
    return 0;
}

/* libxl asks for the version (xl prints it in its JSON/info paths and checks features). */
int xc_version(xc_interface *xch, int cmd, void *arg)
{
    (void)xch;
    trace("xc_version(cmd=%d)", cmd);
    switch (cmd) {
    case XENVER_version:
        return (4 << 16) | 17;
    case XENVER_extraversion:
        return copy_str(arg, sizeof(xen_extraversion_t), ".0-testbed");
    case XENVER_compile_info:
        if (arg) {
            xen_compile_info_t *ci = arg;
            memset(ci, 0, sizeof(*ci));
            strcpy(ci->compiler, "none");
            strcpy(ci->compile_by, "xenshim");
        }
        return arg ? 0 : -1;
    case XENVER_capabilities:
        return copy_str(arg, sizeof(xen_capabilities_info_t), "xen-3.0-x86_64 hvm-3.0-x86_64");
    case XENVER_changeset:
        return copy_str(arg, sizeof(xen_changeset_info_t), "xenshim");
    case XENVER_commandline:
        return copy_str(arg, sizeof(xen_commandline_t), "");
    case XENVER_guest_handle:
        if (arg)
            memset(arg, 0, sizeof(xen_domain_handle_t));
        return arg ? 0 : -1;
    case XENVER_platform_parameters:
        if (arg)
            ((xen_platform_parameters_t *)arg)->virt_start = 0xffff800000000000ull;
        return arg ? 0 : -1;
    case XENVER_get_features:
        if (arg)
            ((xen_feature_info_t *)arg)->submap = 0;
        return arg ? 0 : -1;
    case XENVER_pagesize:
        return SHIM_PAGE;
    default: /* e.g. XENVER_build_id: "not available" is a valid answer */
        errno = ENOSYS;
        return -1;
    }
}

/* libxl sizes its CPU/node bitmaps with these (xl create); online cpus: libxl exports it. */
int xc_get_max_cpus(xc_interface *xch) { (void)xch; trace("xc_get_max_cpus"); return SHIM_NR_CPUS; }
int xc_get_online_cpus(xc_interface *xch) { (void)xch; trace("xc_get_online_cpus"); return SHIM_NR_CPUS; }
int xc_get_max_nodes(xc_interface *xch) { (void)xch; trace("xc_get_max_nodes"); return 1; }

/* Consistent with xc_get_max_cpus/xc_get_max_nodes; sizeof is the real ABI struct size. */
int xc_physinfo(xc_interface *xch, xc_physinfo_t *info)
{
    (void)xch;
    trace("xc_physinfo");
    memset(info, 0, sizeof(*info));
    info->threads_per_core = 1;
    info->cores_per_socket = SHIM_NR_CPUS;
    info->nr_cpus = SHIM_NR_CPUS;
    info->max_cpu_id = SHIM_NR_CPUS - 1;
    info->nr_nodes = 1;
    info->max_node_id = 0;
    info->cpu_khz = 2000000;
    info->capabilities = XEN_SYSCTL_PHYSCAP_pv | XEN_SYSCTL_PHYSCAP_hvm |
                         XEN_SYSCTL_PHYSCAP_hap | XEN_SYSCTL_PHYSCAP_shadow |
                         XEN_SYSCTL_PHYSCAP_gnttab_v1 | XEN_SYSCTL_PHYSCAP_gnttab_v2;
    info->total_pages = SHIM_TOTAL_PAGES;
    info->free_pages = SHIM_TOTAL_PAGES / 2;
    info->max_mfn = SHIM_TOTAL_PAGES - 1;
    return 0;
}

/*
 * Page-sharing statistics (libxl's physinfo, read by `xl create`): "nothing shared".
 * xc_memory_op is what the real xc_sharing_* use; none of the verified paths reach it any
 * more, but answering "success" keeps any other memory query from reaching the real,
 * handle-dereferencing libxenctrl.
 */
long xc_memory_op(xc_interface *xch, unsigned int cmd, void *arg, size_t len)
{
    (void)xch; (void)arg; (void)len;
    trace("xc_memory_op(cmd=%u)", cmd);
    return 0;
}
long xc_sharing_freed_pages(xc_interface *xch) { (void)xch; trace("xc_sharing_freed_pages"); return 0; }
long xc_sharing_used_frames(xc_interface *xch) { (void)xch; trace("xc_sharing_used_frames"); return 0; }

/* ---------------------------------------------------------------------------------
 * libxenevtchn. xenstored polls the handle's fd for event-channel notifications; no
 * event ever arrives here, so the fd is the read end of a pipe nobody writes to.
 * Port numbers only need to be distinct small positive numbers.
 * --------------------------------------------------------------------------------- */
struct xenevtchn_handle { int pipefd[2]; };

static xenevtchn_port_or_error_t next_port(void)
{
    static int port;
    return __atomic_add_fetch(&port, 1, __ATOMIC_RELAXED);
}

static xenevtchn_handle *evtchn_new(void)
{
    xenevtchn_handle *h = calloc(1, sizeof(*h));
    if (h && pipe2(h->pipefd, O_CLOEXEC) != 0) {
        free(h);
        h = NULL;
    }
    return h;
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger, unsigned int flags)
{
    (void)logger; (void)flags;
    trace("xenevtchn_open");
    return evtchn_new();
}

/* Used by xenstored's live-update restore; same answer as a fresh open. */
xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd, unsigned int flags)
{
    (void)logger; (void)fd; (void)flags;
    trace("xenevtchn_fdopen");
    return evtchn_new();
}

int xenevtchn_close(xenevtchn_handle *xce)
{
    trace("xenevtchn_close");
    if (xce) {
        close(xce->pipefd[0]);
        close(xce->pipefd[1]);
        free(xce);
    }
    return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce) { return xce->pipefd[0]; }

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce, unsigned int virq)
{
    (void)xce;
    trace("xenevtchn_bind_virq(%u)", virq);
    return next_port();
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
                                                  evtchn_port_t remote_port)
{
    (void)xce;
    trace("xenevtchn_bind_interdomain(dom=%u, port=%u)", domid, remote_port);
    return next_port();
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port) { (void)xce; (void)port; return 0; }
int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port) { (void)xce; (void)port; return 0; }
int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port) { (void)xce; (void)port; return 0; }

/* Only called after the fd became readable, which never happens: "nothing pending". */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
    (void)xce;
    errno = EAGAIN;
    return -1;
}

/* ---------------------------------------------------------------------------------
 * libxengnttab. xenstored maps the ring page of each domain introduced to it. A fresh
 * zeroed page is an empty ring: the daemon sees no requests from that "guest".
 * --------------------------------------------------------------------------------- */
struct xengntdev_handle { int unused; };

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger, unsigned int open_flags)
{
    (void)logger; (void)open_flags;
    trace("xengnttab_open");
    return calloc(1, sizeof(struct xengntdev_handle));
}

int xengnttab_close(xengnttab_handle *xgt)
{
    trace("xengnttab_close");
    free(xgt);
    return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
    (void)xgt; (void)nr_grants;
    return 0;
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid, uint32_t ref, int prot)
{
    (void)xgt; (void)ref;
    trace("xengnttab_map_grant_ref(dom=%u)", domid);
    void *p = mmap(NULL, SHIM_PAGE, prot ? prot : PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
    (void)xgt;
    return munmap(start_address, (size_t)count * SHIM_PAGE);
}
