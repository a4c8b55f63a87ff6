/* PyTorch checkpoints (.pth / .pt) in the zip format of torch.save (PyTorch >= 1.6):
 * <prefix>/data.pkl (a pickle whose tensors refer to storages by persistent id), <prefix>/data/<key>
 * (raw little-endian storage bytes), <prefix>/version, optionally <prefix>/byteorder.
 * The legacy (pre-1.6) non-zip format is not read; such files get an error that says how to re-save. */
#ifndef MBT_PTH_H
#define MBT_PTH_H

#include <stddef.h>

#include "io/pickle.h"
#include "io/state_dict.h"

/* Largest data.pkl read (bytes). */
#define MBT_PTH_MAX_PICKLE ((size_t)1 << 30)

/* Reads the state dict of a torch.save zip file into sd (initialised; appended to).
 * key selects the dict of tensors inside the saved object: a '/'-separated path of dict keys
 * ("model", "teacher/backbone"), or NULL / "" to auto-detect: the top-level dict itself if all its
 * values are tensors, else its "state_dict", "model" or "model_state_dict" entry if that is a dict of
 * tensors, else the only nested dict of tensors (an error lists the candidates when there are
 * several). Other values of the checkpoint (epoch, optimizer state, strings ...) are parsed and ignored.
 * Tensors are materialised contiguous (strided views are gathered; storages shared by several tensors
 * are read once). Errors name the file and the tensor. */
mbt_status mbt_pth_read(const char *path, const char *key, mbt_state_dict *sd);
/* The same on a memory image of a file (`what` names it in messages); sd owns all its data. */
mbt_status mbt_pth_read_memory(const void *buf, size_t len, const char *what, const char *key, mbt_state_dict *sd);

/* Writes sd atomically as a torch.save zip that torch.load reads as an OrderedDict of tensors (and
 * load_state_dict accepts): one storage per tensor, stored uncompressed with its data 64-byte
 * aligned, pickle protocol 2. Metadata is not stored (.pth has no place for it). */
mbt_status mbt_pth_write(const char *path, const mbt_state_dict *sd);

/* ---- lower level: used by the readers above, the fuzz harnesses and tools ---- */

/* Returns a malloc'ed buffer of exactly nbytes with the bytes of storage `st` (or an error). */
typedef mbt_status (*mbt_pth_storage_fn)(void *ctx, const mbt_pv_storage *st, size_t nbytes, void **data);

/* Finds the dict of tensors selected by key (see mbt_pth_read) in an unpickled checkpoint; *path
 * receives the chosen path ("" for the top level; a buffer of path_size bytes, may be NULL). */
mbt_status mbt_pth_select(const mbt_pvalue *root, const char *key, const char *what, const mbt_pvalue **dict,
                          char *path, size_t path_size);
/* Lists up to max paths of nested dicts whose values are all tensors (string keys, depth <= 4), each
 * written into paths[i] (path_size bytes each); *n receives the count. */
mbt_status mbt_pth_find_state_dicts(const mbt_pvalue *root, char (*paths)[256], size_t max, size_t *n);
/* Materialises every tensor of `dict` into sd, loading storages through load(ctx, ...) once per key. */
mbt_status mbt_pth_extract(const mbt_pvalue *dict, const char *what, mbt_pth_storage_fn load, void *ctx,
                           mbt_state_dict *sd);
/* The pickle bytes mbt_pth_write stores as data.pkl (storage i = tensor i); malloc'ed. */
mbt_status mbt_pth_pickle_state_dict(const mbt_state_dict *sd, unsigned char **out, size_t *len);

#endif
