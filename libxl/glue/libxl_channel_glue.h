/*
 * xlchannel's glue inside libxenlight: the few libxl internals the Rust channel code reads
 * (the context's logger and xenstore handle, libxl's parsed JSON tree). Compiled as part of
 * libxenlight, so every name here is hidden from its dynamic symbol table.
 */
#ifndef XLCHANNEL_LIBXL_CHANNEL_GLUE_H
#define XLCHANNEL_LIBXL_CHANNEL_GLUE_H

#include "libxl_internal.h"

_hidden xentoollog_logger *xlchannel_glue_ctx_logger(const libxl_ctx *ctx);
_hidden struct xs_handle *xlchannel_glue_ctx_xsh(const libxl_ctx *ctx);

_hidden int xlchannel_glue_json_type(const libxl__json_object *o);
_hidden int xlchannel_glue_json_bool(const libxl__json_object *o);
_hidden long long xlchannel_glue_json_integer(const libxl__json_object *o);
_hidden double xlchannel_glue_json_double(const libxl__json_object *o);
/* The text of a string or number node (NULL for other kinds). */
_hidden const char *xlchannel_glue_json_string(const libxl__json_object *o);
/* Element i of an array node; NULL past the end. */
_hidden const libxl__json_object *xlchannel_glue_json_array_get(const libxl__json_object *o,
                                                                int i);
/* Entry i of a map node, its key in *key; NULL past the end. */
_hidden const libxl__json_object *xlchannel_glue_json_map_get(const libxl__json_object *o,
                                                              int i, const char **key);

#endif
