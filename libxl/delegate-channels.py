#!/usr/bin/env python3
"""delegate-channels.py XEN_SOURCE_DIR -- hand libxl's channel code to xlchannel.

Edits Debian's xen source in place, after libxl/patches/ (which add the build wiring and the
IDL flag): removes libxl's own channel functions and replaces its channel loops with calls
of xlchannel's embedding API (libxl_channel_embed.h). Every place is found by a short anchor
(a function's name, a loop's header) and the C block it opens, so this project holds none
of libxl's channel code; `make libxl` also writes the result as a patch for distributions.
An anchor that is missing or found twice stops with one line naming it (the source moved on).
"""
import os
import sys

LIGHT = "tools/libs/light"


class Missing(Exception):
    pass


def block_end(text, open_brace):
    """Index just past the '}' matching the '{' at open_brace (C strings, chars and
    comments skipped)."""
    depth, i, n = 0, open_brace, len(text)
    while i < n:
        c = text[i]
        if c in "\"'":
            i += 1
            while i < n and text[i] != c:
                i += 2 if text[i] == "\\" else 1
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 1
        elif text.startswith("//", i):
            i = text.index("\n", i)
        elif c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise Missing("unbalanced braces after offset %d" % open_brace)


def find_once(text, anchor, where):
    at = text.find(anchor)
    if at < 0 or text.find(anchor, at + 1) >= 0:
        raise Missing("%s: anchor %r %s" % (where, anchor, "missing" if at < 0 else "not unique"))
    return at


def line_start(text, at):
    return text.rfind("\n", 0, at) + 1


def statement_span(text, anchor, where):
    """The whole lines of the statement or definition that `anchor` starts, through the end
    of the block it opens (and the newline after it)."""
    at = line_start(text, find_once(text, anchor, where))
    end = block_end(text, text.index("{", at))
    return at, end + (text[end:end + 1] == "\n")


def comment_above(text, at):
    """Start of the block comment that ends on the line just before `at`, or `at`."""
    before = text[:at].rstrip()
    if before.endswith("*/"):
        return line_start(text, before.rfind("/*"))
    return at


def replace_statement(text, anchor, new, where, with_comment=False):
    at, end = statement_span(text, anchor, where)
    if with_comment:
        at = comment_above(text, at)
    return text[:at] + new + text[end:]


def find_definition(text, name, where):
    """Start of the line on which function `name` is defined: a line that does not start
    with white space, and whose parameter list is followed by a block (not a `;`)."""
    found, at = [], text.find(name + "(")
    while at >= 0:
        start = line_start(text, at)
        close = text.index(")", at)
        if not text[start].isspace() and text[close + 1:].lstrip().startswith("{"):
            found.append(start)
        at = text.find(name + "(", at + 1)
    if len(found) != 1:
        raise Missing("%s: definition of %s %s" % (where, name, "missing" if not found else "not unique"))
    return found[0]


def remove_function(text, name, where):
    """A definition `TYPE name(...) { ... }` and the blank line after it."""
    at = find_definition(text, name, where)
    end = block_end(text, text.index("{", at))
    while text[end:end + 1] == "\n":
        end += 1
    return text[:at] + text[end:]


def include_after(text, anchor, header, where):
    at = find_once(text, anchor, where) + len(anchor)
    return text[:at] + '#include "%s"\n' % header + text[at:]


def edit(path, change):
    with open(path) as f:
        text = f.read()
    new = change(text, os.path.basename(path))
    with open(path, "w") as f:
        f.write(new)


def console(text, where):
    for name in ("libxl__init_console_from_channel", "libxl__device_channel_from_xenstore",
                 "libxl__append_channel_list", "libxl_device_channel_list",
                 "libxl_device_channel_getinfo"):
        text = remove_function(text, name, where)
    return text


def internal_h(text, where):
    at = line_start(text, find_once(text, "libxl__init_console_from_channel(", where))
    return text[:at] + text[text.index(";\n", at) + 2:]


def create(text, where):
    text = include_after(text, '#include "libxl_internal.h"\n', "libxl_channel_embed.h", where)
    return replace_statement(
        text, "for (i = 0; i < d_config->num_channels; i++) {",
        "    /* Consoles from 1 on for the channels (0 is the primary console); xlchannel\n"
        "       records their devids and backend domids in d_config. */\n"
        "    ret = xlchannel_xs_channels_create(CTX->xsh, XBT_NULL, CTX->lg, domid,\n"
        "                                       d_config->channels, d_config->num_channels);\n"
        "    if (ret)\n"
        "        goto error_out;\n",
        where, with_comment=True)


def dm(text, where):
    text = include_after(text, '#include "libxl_internal.h"\n', "libxl_channel_embed.h", where)
    text = replace_statement(
        text, "for (i = 0; i < guest_config->num_channels; i++) {",
        "    {\n"
        "        char **chardevs;\n"
        "\n"
        "        rc = xlchannel_dm_chardev_args(CTX, guest_config->channels,\n"
        "                                       guest_config->num_channels, &chardevs);\n"
        "        if (rc)\n"
        "            return rc;\n"
        "        for (i = 0; chardevs[i]; i++)\n"
        "            flexarray_append(dm_args, libxl__strdup(gc, chardevs[i]));\n"
        "        xlchannel_dm_args_free(chardevs);\n"
        "    }\n",
        where)
    # The loop's own variables go with it.
    for old, new in (("    int i, connection, devid;\n", "    int i;\n"),
                     ("    const char *path, *chardev;\n", "")):
        at = find_once(text, old, where)
        text = text[:at] + new + text[at + len(old):]
    return replace_statement(
        text, "for (i = 0; i < d_config->num_channels; i++) {",
        "    /* xenconsoled serves only the primary console: channels served here need qemu. */\n"
        "    ret = xlchannel_channels_need_qemu(CTX, d_config->channels,\n"
        "                                       d_config->num_channels, domid);\n",
        where)


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: delegate-channels.py XEN_SOURCE_DIR")
    light = os.path.join(sys.argv[1], LIGHT)
    try:
        edit(os.path.join(light, "libxl_console.c"), console)
        edit(os.path.join(light, "libxl_internal.h"), internal_h)
        edit(os.path.join(light, "libxl_create.c"), create)
        edit(os.path.join(light, "libxl_dm.c"), dm)
    except (Missing, OSError, ValueError) as e:
        sys.exit("make libxl: delegating libxl's channel code failed: %s" % e)


if __name__ == "__main__":
    main()
