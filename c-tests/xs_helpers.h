/* Test helpers over the real libxenstore: register a guest the way a toolstack does at
 * domain creation, and read a node's value and permissions in xenstore-ls -p's notation
 * ("n5,r0": owner 5 with no access for others, domain 0 may read). */
#ifndef XLCHANNEL_XS_HELPERS_H
#define XLCHANNEL_XS_HELPERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xenstore.h>

static inline int xs_put(struct xs_handle *xs, const char *path, const char *value)
{
    return xs_write(xs, XBT_NULL, path, value, strlen(value)) ? 0 : -1;
}

static inline int xs_put_perms(struct xs_handle *xs, const char *path, unsigned owner,
                               unsigned reader)
{
    struct xs_permissions p[2] = { { owner, XS_PERM_NONE }, { reader, XS_PERM_READ } };
    return xs_set_permissions(xs, XBT_NULL, path, p, 2) ? 0 : -1;
}

/* /local/domain/<domid> owned by dom0 and readable by the guest, with its name and a
 * read-only device directory, as libxl's domain creation leaves them. */
static inline int register_domain(struct xs_handle *xs, unsigned domid, const char *name)
{
    char path[128], value[32];
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    if (xs_put(xs, path, "") || xs_put_perms(xs, path, 0, domid)) return -1;
    snprintf(path, sizeof(path), "/local/domain/%u/name", domid);
    if (xs_put(xs, path, name)) return -1;
    snprintf(path, sizeof(path), "/local/domain/%u/domid", domid);
    snprintf(value, sizeof(value), "%u", domid);
    if (xs_put(xs, path, value)) return -1;
    snprintf(path, sizeof(path), "/local/domain/%u/device", domid);
    return xs_mkdir(xs, XBT_NULL, path) && !xs_put_perms(xs, path, 0, domid) ? 0 : -1;
}

/* The value at path (malloc'd), or NULL. */
static inline char *xs_get(struct xs_handle *xs, const char *path)
{
    unsigned len;
    return xs_read(xs, XBT_NULL, path, &len);
}

/* Permissions in xenstore-ls -p notation, into buf. */
static inline const char *xs_perms_text(struct xs_handle *xs, const char *path, char *buf, size_t n)
{
    unsigned num = 0;
    struct xs_permissions *p = xs_get_permissions(xs, XBT_NULL, path, &num);
    if (!p) return "(none)";
    size_t used = 0;
    buf[0] = 0;
    for (unsigned i = 0; i < num && used < n; i++) {
        unsigned r = p[i].perms & XS_PERM_READ, w = p[i].perms & XS_PERM_WRITE;
        char letter = r && w ? 'b' : r ? 'r' : w ? 'w' : 'n';
        used += snprintf(buf + used, n - used, "%s%c%u", i ? "," : "", letter, p[i].id);
    }
    free(p);
    return buf;
}

/* Every node at and under `path`, depth first in xenstored's order: path, the value's
 * length and bytes, and the permissions; "absent" when there is no such node. */
static inline void xs_dump_tree(struct xs_handle *xs, FILE *out, const char *path)
{
    unsigned len = 0, num = 0;
    char *value = xs_read(xs, XBT_NULL, path, &len), perms[256];
    if (!value) {
        fprintf(out, "%s absent\n", path);
        return;
    }
    fprintf(out, "%s %u:", path, len);
    fwrite(value, 1, len, out);
    fprintf(out, " (%s)\n", xs_perms_text(xs, path, perms, sizeof(perms)));
    free(value);
    char **children = xs_directory(xs, XBT_NULL, path, &num);
    for (unsigned i = 0; children && i < num; i++) {
        char child[512];
        snprintf(child, sizeof(child), "%s/%s", path, children[i]);
        xs_dump_tree(xs, out, child);
    }
    free(children);
}

/* What an add may write for `domid`: the domain's whole subtree, its dom0 backend
 * directory and /libxl/<domid>, as one text (malloc'd), to compare before and after. */
static inline char *xs_snapshot_domain(struct xs_handle *xs, unsigned domid)
{
    char *text = NULL, path[128];
    size_t n = 0;
    FILE *out = open_memstream(&text, &n);
    snprintf(path, sizeof(path), "/local/domain/%u", domid);
    xs_dump_tree(xs, out, path);
    snprintf(path, sizeof(path), "/local/domain/0/backend/console/%u", domid);
    xs_dump_tree(xs, out, path);
    snprintf(path, sizeof(path), "/libxl/%u", domid);
    xs_dump_tree(xs, out, path);
    fclose(out);
    return text;
}

#ifdef XLCHANNEL_LIBXL_CHANNEL_EMBED_H
#include <errno.h>
#include <stdbool.h>

/* Write a channel's nodes only, as domain creation does (no device model is told): the
 * embedding API inside a transaction of the test's own, committed, and restarted when
 * xenstored reports a conflict. libxl's result code. */
static inline int xs_add_nodes(struct xs_handle *xs, xentoollog_logger *lg, unsigned domid,
                               libxl_device_channel *c)
{
    int devid = c->devid;
    uint32_t backend = c->backend_domid;
    for (int attempt = 0; attempt < 20; attempt++) {
        c->devid = devid;
        c->backend_domid = backend;
        xs_transaction_t t = xs_transaction_start(xs);
        if (t == XBT_NULL) return ERROR_FAIL;
        int rc = xlchannel_xs_channel_add(xs, t, lg, domid, c);
        if (rc) {
            xs_transaction_end(xs, t, true);
            c->devid = devid;
            return rc;
        }
        if (xs_transaction_end(xs, t, false)) return 0;
        if (errno != EAGAIN) break;
    }
    c->devid = devid;
    return ERROR_FAIL;
}
#endif

#endif
