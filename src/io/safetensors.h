/* safetensors, mixbt's native checkpoint format: u64 little-endian header size N, N bytes of JSON
 * header ({"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}}), then
 * the data section (offsets relative to its start). */
#ifndef MBT_SAFETENSORS_H
#define MBT_SAFETENSORS_H

#include <stddef.h>

#include "io/state_dict.h"

/* Largest header accepted (as the reference implementation: 100 MB). */
#define MBT_SAFETENSORS_MAX_HEADER (100u << 20)

/* Reads a whole safetensors file into sd (which must be initialised and is appended to). Validates
 * the header size against the file size, every dtype and shape, offsets inside the data section,
 * sizes = numel * dtype size and no overlapping tensors. Errors name the file and the tensor.
 * Tensors point into one buffer owned by sd (misaligned ones are copied). */
mbt_status mbt_safetensors_read(const char *path, mbt_state_dict *sd);
/* The same on a memory image of a file; `what` names it in messages. With MBT_SD_BORROW the tensors
 * point into buf (keep it alive), with MBT_SD_COPY they are copied. */
mbt_status mbt_safetensors_parse(const void *buf, size_t len, const char *what, mbt_sd_mode mode,
                                 mbt_state_dict *sd);
/* Writes sd atomically (temporary file, fsync, rename, directory fsync). The header keeps sd's order
 * and metadata and is padded with spaces so that the data section starts 8-byte aligned; the data
 * section holds the tensors by decreasing element size (each aligned to its element), without gaps. */
mbt_status mbt_safetensors_write(const char *path, const mbt_state_dict *sd);
/* The header text that mbt_safetensors_write would write (malloc'ed, NUL-terminated, padded), and the
 * data offset of each tensor (offsets[i] for sd->tensors[i], may be NULL). */
mbt_status mbt_safetensors_header(const mbt_state_dict *sd, char **header, size_t *header_len, size_t *offsets);

#endif
