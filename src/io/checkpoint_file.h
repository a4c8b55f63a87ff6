/* Checkpoint files of any supported format: read/write by extension or content, convert, inspect. */
#ifndef MBT_CHECKPOINT_FILE_H
#define MBT_CHECKPOINT_FILE_H

#include <stdio.h>

#include "io/state_dict.h"

typedef enum {
    MBT_CKPT_UNKNOWN = 0,
    MBT_CKPT_SAFETENSORS, /* .safetensors */
    MBT_CKPT_PTH          /* .pth, .pt, .pth.tar, .ckpt (torch.save zip) */
} mbt_ckpt_format;

/* The format named by a file name's extension (case-insensitive). */
mbt_ckpt_format mbt_ckpt_format_from_path(const char *path);
/* The format of an existing file from its first bytes ("PK\3\4": torch zip, a legacy torch pickle
 * counts as PTH too so that its reader explains; else safetensors if the header looks like one). */
mbt_status mbt_ckpt_format_sniff(const char *path, mbt_ckpt_format *format);
const char *mbt_ckpt_format_name(mbt_ckpt_format format);

/* Reads a checkpoint of either format (decided by content) into sd (initialised, appended to).
 * key selects the state dict inside a .pth (see mbt_pth_read); it must be NULL or "" for safetensors. */
mbt_status mbt_ckpt_read(const char *path, const char *key, mbt_state_dict *sd);
/* Writes sd in the format of path's extension (MBT_ERR_ARG for an unknown extension), atomically. */
mbt_status mbt_ckpt_write(const char *path, const mbt_state_dict *sd);
/* convert(in, out): reads `in` (any format, key as for mbt_ckpt_read) and writes `out` in the format of
 * its extension. Metadata survives safetensors -> safetensors only (.pth has no place for it); a
 * .pth -> .safetensors conversion records "format": "pt" and "source": <in's file name>. */
mbt_status mbt_ckpt_convert(const char *in, const char *out, const char *key);
/* Prints a checkpoint's format, metadata and, per tensor, name, dtype, shape and bytes, then totals. */
mbt_status mbt_ckpt_inspect(const char *path, const char *key, FILE *out);
/* Prints an already loaded state dict the same way (title: a heading line, may be NULL). */
void mbt_state_dict_print(const mbt_state_dict *sd, const char *title, FILE *out);

#endif
