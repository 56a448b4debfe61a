/* Fill the store as a busy host's looks: GUESTS guests, each with its domain nodes, vifs,
 * vbds, a console, backend directories in dom0 and libxl's copies — about 220 values a
 * guest. Usage: populate FIRST_DOMID GUESTS (prints the number of values written), or
 * populate register DOMID... (each registered as a toolstack does at domain creation). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

#include "../c-tests/xs_helpers.h"

static struct xs_handle *xs;
static long written;

static void put(const char *path, const char *value)
{
    if (!xs_write(xs, XBT_NULL, path, value, strlen(value))) {
        perror(path);
        exit(1);
    }
    written++;
}

static void device(unsigned d, const char *kind, int devid, int keys)
{
    char fe[128], be[128], lx[128], p[192], v[192];
    snprintf(fe, sizeof(fe), "/local/domain/%u/device/%s/%d", d, kind, devid);
    snprintf(be, sizeof(be), "/local/domain/0/backend/%s/%u/%d", kind, d, devid);
    snprintf(lx, sizeof(lx), "/libxl/%u/device/%s/%d", d, kind, devid);
    for (int k = 0; k < keys; k++) {
        snprintf(v, sizeof(v), "value-%d-%s-%d", k, kind, devid);
        snprintf(p, sizeof(p), "%s/key%d", fe, k), put(p, v);
        snprintf(p, sizeof(p), "%s/key%d", be, k), put(p, v);
        snprintf(p, sizeof(p), "%s/key%d", lx, k), put(p, v);
    }
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "register")) {
        xs = xs_open(0);
        for (int i = 2; xs && i < argc; i++) {
            char name[32];
            snprintf(name, sizeof(name), "bench-%s", argv[i]);
            if (register_domain(xs, (unsigned)atoi(argv[i]), name)) return 1;
        }
        return xs ? 0 : 2;
    }
    if (argc != 3) {
        fprintf(stderr, "usage: %s FIRST_DOMID GUESTS\n", argv[0]);
        return 2;
    }
    unsigned first = (unsigned)atoi(argv[1]), guests = (unsigned)atoi(argv[2]);
    xs = xs_open(0);
    if (!xs) return 2;
    char p[160], v[64];
    for (unsigned d = first; d < first + guests; d++) {
        snprintf(p, sizeof(p), "/local/domain/%u/name", d), snprintf(v, sizeof(v), "guest-%u", d), put(p, v);
        snprintf(p, sizeof(p), "/local/domain/%u/domid", d), snprintf(v, sizeof(v), "%u", d), put(p, v);
        snprintf(p, sizeof(p), "/local/domain/%u/vm", d), snprintf(v, sizeof(v), "/vm/uuid-%u", d), put(p, v);
        snprintf(p, sizeof(p), "/local/domain/%u/memory/target", d), put(p, "1048576");
        for (int c = 0; c < 4; c++)
            snprintf(p, sizeof(p), "/local/domain/%u/cpu/%d/availability", d, c), put(p, "online");
        snprintf(p, sizeof(p), "/vm/uuid-%u/name", d), snprintf(v, sizeof(v), "guest-%u", d), put(p, v);
        for (int i = 0; i < 4; i++) device(d, "vif", i, 8);
        for (int i = 0; i < 4; i++) device(d, "vbd", 51712 + i * 16, 8);
        device(d, "console", 0, 6);
    }
    printf("%ld\n", written);
    xs_close(xs);
    return 0;
}
