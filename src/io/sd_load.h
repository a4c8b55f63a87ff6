/* Loading a state dict into a model's parameters by name, with PyTorch-style missing / unexpected /
 * mismatch reporting. The model describes what it expects as a list of targets. */
#ifndef MBT_SD_LOAD_H
#define MBT_SD_LOAD_H

#include <stdio.h>

#include "io/state_dict.h"

/* One entry the model expects: its name and shape, and where its values go. Exactly one of dst
 * (float parameters and buffers; f32/f16/bf16/f64 tensors are converted) and dst_i64 (integer
 * entries such as num_batches_tracked; i64/i32/u8 tensors) is set. */
typedef struct {
    const char *name;
    int ndim;
    int64_t shape[MBT_SD_MAX_DIMS];
    float *dst;
    int64_t *dst_i64;
} mbt_load_target;

typedef enum {
    MBT_LOAD_STRICT = 0,   /* any missing, unexpected or mismatched entry is an error; nothing is loaded */
    MBT_LOAD_NONSTRICT = 1 /* load what matches by name, shape and kind; report the rest */
} mbt_load_mode;

typedef struct {
    char **missing;    /* targets absent from the state dict */
    size_t n_missing;
    char **unexpected; /* state dict entries no target asked for */
    size_t n_unexpected;
    char **mismatched; /* "name: checkpoint f32 [64,3,7,7], model [64,3,3,3]" (shape or kind differs) */
    size_t n_mismatched;
    size_t n_loaded;
} mbt_load_report;

/* Copies (converting) each target's tensor from sd. Strict: returns MBT_ERR_FORMAT with a summary of
 * the problems and loads nothing if there are any. Non-strict: loads the matching entries and returns
 * MBT_OK. Unlike PyTorch, non-strict also skips shape mismatches (they are reported). report may be
 * NULL; otherwise it is filled (free it with mbt_load_report_free) in both modes. */
mbt_status mbt_state_dict_load(const mbt_state_dict *sd, const mbt_load_target *targets, size_t n,
                               mbt_load_mode mode, mbt_load_report *report);
void mbt_load_report_free(mbt_load_report *r);
/* One line per problem ("missing key: ...", "unexpected key: ...", "size mismatch: ...") and a count. */
void mbt_load_report_print(const mbt_load_report *r, FILE *out);
/* One line: "N loaded, M missing (a, b, ...), U unexpected (...), S mismatched (...)". */
void mbt_load_report_summary(const mbt_load_report *r, char *buf, size_t size);

/* Appends the targets to sd as borrowed tensors (f32 from dst, i64 from dst_i64), in order, so that a
 * model's parameters can be written without copying. */
mbt_status mbt_state_dict_from_targets(mbt_state_dict *sd, const mbt_load_target *targets, size_t n);

#endif
