/* Saving and restoring training state as safetensors. A model or optimizer state on a GPU is
 * downloaded to the host before writing and uploaded after reading; the file is the same whatever
 * the device, so a run may resume on another device. */
#include "tasks/train_checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#include "io/safetensors.h"

#define FORMAT_VERSION "1"
#define MBT_CHECKPOINT_MAX_OPTIM 4

static mbt_status put_meta_i64(mbt_state_dict *sd, const char *key, int64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRId64, v);
    return mbt_state_dict_set_meta(sd, key, buf);
}

/* adam_m, adam_v: host copies of the moments (adam->m, adam->v themselves on the CPU). */
static mbt_status put_meta_f64(mbt_state_dict *sd, const char *key, double v) {
    char buf[48];
    snprintf(buf, sizeof buf, "%.17g", v); /* round-trips exactly */
    return mbt_state_dict_set_meta(sd, key, buf);
}

static const char *value_name(const mbt_epoch_sums *sums, int i) {
    static const char *const legacy[2] = {"loss_bt", "loss_reg"};
    return sums->names[i] ? sums->names[i] : i < 2 ? legacy[i] : "loss";
}

/* "mixbt.optimizer.exp_avg" for the unnamed segment, "mixbt.optimizer.head.exp_avg" for "head". */
static void optim_key(char *buf, size_t size, const char *segment, const char *what) {
    if (segment && segment[0]) snprintf(buf, size, "mixbt.optimizer.%s.%s", segment, what);
    else snprintf(buf, size, "mixbt.optimizer.%s", what);
}

/* moments: per optimizer state, host copies of its moments (m then v). */
static mbt_status build(mbt_state_dict *sd, const mbt_checkpoint_state *s, const float *const *moments,
                        const mbt_train_position *pos, const mbt_epoch_sums *sums, const char *config_json) {
    for (size_t i = 0; i < s->n_entries; i++) {
        mbt_param *p = s->entries[i];
        if (p->kind == MBT_PARAM_COUNTER)
            MBT_TRY(mbt_state_dict_add(sd, p->name, MBT_DTYPE_I64, 0, p->shape, p->counter, MBT_SD_BORROW));
        else
            MBT_TRY(mbt_state_dict_add(sd, p->name, MBT_DTYPE_F32, p->ndim, p->shape, p->data, MBT_SD_BORROW));
    }
    MBT_TRY(mbt_state_dict_set_meta(sd, "format", "pt")); /* tensors follow PyTorch's state_dict names */
    MBT_TRY(mbt_state_dict_set_meta(sd, "mixbt.version", FORMAT_VERSION));
    MBT_TRY(mbt_state_dict_set_meta(sd, "mixbt.arch", s->arch));
    if (config_json) MBT_TRY(mbt_state_dict_set_meta(sd, "mixbt.config", config_json));
    if (pos) {
        MBT_TRY(put_meta_i64(sd, "mixbt.epoch", pos->epoch));
        MBT_TRY(put_meta_i64(sd, "mixbt.step", pos->step));
        MBT_TRY(put_meta_i64(sd, "mixbt.batch_in_epoch", pos->batch_in_epoch));
        MBT_TRY(put_meta_i64(sd, "mixbt.seed", (int64_t)pos->seed));
        MBT_TRY(put_meta_f64(sd, "mixbt.best_knn", pos->best_knn));
    }
    if (sums) {
        char key[96];
        int n = sums->n_values ? sums->n_values : 2;
        for (int i = 0; i < n && i < MBT_EPOCH_MAX_VALUES; i++) {
            snprintf(key, sizeof key, "mixbt.epoch_%s_sum", value_name(sums, i));
            MBT_TRY(put_meta_f64(sd, key, sums->sums[i]));
        }
        MBT_TRY(put_meta_i64(sd, "mixbt.epoch_steps", sums->steps));
        if (sums->knn_before_pending) MBT_TRY(mbt_state_dict_set_meta(sd, "mixbt.knn_before_pending", "1"));
    }
    for (int k = 0; k < s->n_optim; k++) {
        const mbt_adam_state *adam = s->optim[k].adam;
        int64_t shape[1] = {(int64_t)adam->n};
        char key[96];
        optim_key(key, sizeof key, s->optim[k].name, "exp_avg");
        MBT_TRY(mbt_state_dict_add(sd, key, MBT_DTYPE_F32, 1, shape, moments[2 * k], MBT_SD_BORROW));
        optim_key(key, sizeof key, s->optim[k].name, "exp_avg_sq");
        MBT_TRY(mbt_state_dict_add(sd, key, MBT_DTYPE_F32, 1, shape, moments[2 * k + 1], MBT_SD_BORROW));
        optim_key(key, sizeof key, s->optim[k].name, "step");
        MBT_TRY(put_meta_i64(sd, key, adam->step));
    }
    return MBT_OK;
}

/* The model's entries as a state of one part. *entries is malloc'ed. */
static mbt_status model_state(mbt_model *m, mbt_adam_state *adam, mbt_checkpoint_optim *optim, mbt_param ***entries,
                              mbt_checkpoint_state *s) {
    size_t n = mbt_model_param_count(m);
    *entries = malloc((n + 1) * sizeof **entries);
    if (!*entries) return MBT_FAIL(MBT_ERR_NOMEM, "checkpoint: out of memory");
    for (size_t i = 0; i < n; i++) (*entries)[i] = mbt_model_param(m, i);
    *optim = (mbt_checkpoint_optim){"", adam};
    *s = (mbt_checkpoint_state){*entries, n, mbt_arch_name(mbt_model_get_config(m)->arch), optim, adam ? 1 : 0};
    return MBT_OK;
}

mbt_status mbt_checkpoint_save(const char *path, mbt_model *m, const mbt_adam_state *adam,
                               const mbt_train_position *pos, const char *config_json) {
    return mbt_checkpoint_save_sums(path, m, adam, pos, NULL, config_json);
}

mbt_status mbt_checkpoint_save_sums(const char *path, mbt_model *m, const mbt_adam_state *adam,
                                    const mbt_train_position *pos, const mbt_epoch_sums *sums, const char *config_json) {
    MBT_TRY(mbt_model_params_to_host(m)); /* the entries are host memory; on a GPU, refresh them */
    mbt_param **entries;
    mbt_checkpoint_optim optim;
    mbt_checkpoint_state s;
    MBT_TRY(model_state(m, (mbt_adam_state *)adam, &optim, &entries, &s));
    mbt_status st = mbt_checkpoint_save_state(path, &s, pos, sums, config_json);
    free(entries);
    return st;
}

mbt_status mbt_checkpoint_save_state(const char *path, const mbt_checkpoint_state *s, const mbt_train_position *pos,
                                     const mbt_epoch_sums *sums, const char *config_json) {
    float *host[2 * MBT_CHECKPOINT_MAX_OPTIM] = {0}; /* device moments' host copies */
    const float *moments[2 * MBT_CHECKPOINT_MAX_OPTIM] = {0};
    MBT_CHECK_ARG(s->n_optim <= MBT_CHECKPOINT_MAX_OPTIM, "checkpoint: %d optimizer states (at most %d)", s->n_optim,
                  MBT_CHECKPOINT_MAX_OPTIM);
    mbt_status st = MBT_OK;
    for (int k = 0; st == MBT_OK && k < s->n_optim; k++) {
        const mbt_adam_state *adam = s->optim[k].adam;
        moments[2 * k] = adam->m;
        moments[2 * k + 1] = adam->v;
        if (adam->device == MBT_DEVICE_CPU) continue;
        for (int j = 0; st == MBT_OK && j < 2; j++) {
            host[2 * k + j] = malloc(adam->n * sizeof(float) + 1);
            if (!host[2 * k + j])
                st = MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the optimizer state (%zu values)", path, adam->n);
            else
                st = mbt_device_to_host(adam->device, host[2 * k + j], j ? adam->v : adam->m, adam->n * sizeof(float));
            moments[2 * k + j] = host[2 * k + j];
        }
    }
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    if (st == MBT_OK) st = build(&sd, s, moments, pos, sums, config_json);
    if (st == MBT_OK) st = mbt_safetensors_write(path, &sd);
    mbt_state_dict_free(&sd);
    for (int k = 0; k < 2 * MBT_CHECKPOINT_MAX_OPTIM; k++) free(host[k]);
    return st;
}

static mbt_status get_meta_i64(const mbt_state_dict *sd, const char *path, const char *key, int64_t *out) {
    const char *v = mbt_state_dict_get_meta(sd, key);
    char *end;
    if (!v) return MBT_FAIL(MBT_ERR_FORMAT, "%s: no '%s' in the metadata (not a mixbt training checkpoint?)", path, key);
    long long x = strtoll(v, &end, 10);
    if (*end || end == v) return MBT_FAIL(MBT_ERR_FORMAT, "%s: metadata '%s' = '%s' is not an integer", path, key, v);
    *out = (int64_t)x;
    return MBT_OK;
}

static mbt_status get_meta_f64(const mbt_state_dict *sd, const char *path, const char *key, double *out) {
    const char *v = mbt_state_dict_get_meta(sd, key);
    char *end;
    *out = 0;
    if (!v) return MBT_OK; /* absent from older checkpoints */
    *out = strtod(v, &end);
    if (*end || end == v) return MBT_FAIL(MBT_ERR_FORMAT, "%s: metadata '%s' = '%s' is not a number", path, key, v);
    return MBT_OK;
}

static mbt_status read_position(const mbt_state_dict *sd, const char *path, mbt_train_position *pos) {
    int64_t epoch, seed;
    MBT_TRY(get_meta_i64(sd, path, "mixbt.epoch", &epoch));
    MBT_TRY(get_meta_i64(sd, path, "mixbt.step", &pos->step));
    MBT_TRY(get_meta_i64(sd, path, "mixbt.batch_in_epoch", &pos->batch_in_epoch));
    MBT_TRY(get_meta_i64(sd, path, "mixbt.seed", &seed));
    pos->epoch = (int)epoch;
    pos->seed = (uint64_t)seed;
    const char *best = mbt_state_dict_get_meta(sd, "mixbt.best_knn");
    pos->best_knn = best ? strtod(best, NULL) : -1;
    return MBT_OK;
}

static mbt_status restore_optim(const char *path, const mbt_state_dict *sd, const mbt_checkpoint_optim *o) {
    mbt_adam_state *adam = o->adam;
    char km[96], kv[96], ks[96];
    optim_key(km, sizeof km, o->name, "exp_avg");
    optim_key(kv, sizeof kv, o->name, "exp_avg_sq");
    optim_key(ks, sizeof ks, o->name, "step");
    const mbt_sd_tensor *em = mbt_state_dict_find(sd, km);
    const mbt_sd_tensor *ev = mbt_state_dict_find(sd, kv);
    if (!em || !ev)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: no optimizer state%s%s (a model-only checkpoint cannot be resumed)", path,
                        o->name[0] ? " for " : "", o->name);
    if (em->numel != adam->n || ev->numel != adam->n)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: optimizer state%s%s of %zu values, this model has %zu", path,
                        o->name[0] ? " for " : "", o->name, em->numel, adam->n);
    MBT_TRY(get_meta_i64(sd, path, ks, &adam->step));
    if (adam->device == MBT_DEVICE_CPU) {
        MBT_TRY(mbt_sd_tensor_to_f32(em, adam->m, adam->n));
        return mbt_sd_tensor_to_f32(ev, adam->v, adam->n);
    }
    float *host = malloc(adam->n * sizeof(float) + 1); /* through the host */
    if (!host) return MBT_FAIL(MBT_ERR_NOMEM, "%s: no memory for the optimizer state (%zu values)", path, adam->n);
    mbt_status st = mbt_sd_tensor_to_f32(em, host, adam->n);
    if (st == MBT_OK) st = mbt_device_from_host(adam->device, adam->m, host, adam->n * sizeof(float));
    if (st == MBT_OK) st = mbt_sd_tensor_to_f32(ev, host, adam->n);
    if (st == MBT_OK) st = mbt_device_from_host(adam->device, adam->v, host, adam->n * sizeof(float));
    free(host);
    return st;
}

static mbt_status restore(const char *path, const mbt_state_dict *sd, const mbt_checkpoint_state *s,
                          mbt_train_position *pos, mbt_epoch_sums *sums, char **config_json) {
    size_t missing = 0, mismatched = 0;
    char first[160] = "";
    for (size_t i = 0; i < s->n_entries; i++) {
        mbt_param *p = s->entries[i];
        const mbt_sd_tensor *t = mbt_state_dict_find(sd, p->name);
        int shape_ok = t && (t->numel == p->numel);
        if (t && p->kind != MBT_PARAM_COUNTER) {
            shape_ok = shape_ok && t->ndim == p->ndim;
            for (int d = 0; shape_ok && d < p->ndim; d++) shape_ok = t->shape[d] == p->shape[d];
        }
        if (!t) missing++;
        else if (!shape_ok) mismatched++;
        if ((!t || !shape_ok) && !first[0])
            snprintf(first, sizeof first, "%s %s", p->name, t ? "has another shape" : "is missing");
    }
    if (missing || mismatched)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: does not fit this %s model: %s (%zu missing, %zu of another shape)", path,
                        s->arch, first, missing, mismatched);
    for (size_t i = 0; i < s->n_entries; i++) {
        mbt_param *p = s->entries[i];
        const mbt_sd_tensor *t = mbt_state_dict_find(sd, p->name);
        if (p->kind == MBT_PARAM_COUNTER) MBT_TRY(mbt_sd_tensor_to_i64(t, p->counter, 1));
        else MBT_TRY(mbt_sd_tensor_to_f32(t, p->data, p->numel));
    }
    for (int k = 0; k < s->n_optim; k++) MBT_TRY(restore_optim(path, sd, &s->optim[k]));
    if (pos) MBT_TRY(read_position(sd, path, pos));
    if (sums) {
        char key[96];
        int n = sums->n_values ? sums->n_values : 2;
        for (int i = 0; i < n && i < MBT_EPOCH_MAX_VALUES; i++) {
            snprintf(key, sizeof key, "mixbt.epoch_%s_sum", value_name(sums, i));
            MBT_TRY(get_meta_f64(sd, path, key, &sums->sums[i]));
        }
        sums->steps = 0;
        if (mbt_state_dict_get_meta(sd, "mixbt.epoch_steps"))
            MBT_TRY(get_meta_i64(sd, path, "mixbt.epoch_steps", &sums->steps));
        sums->knn_before_pending = mbt_state_dict_get_meta(sd, "mixbt.knn_before_pending") != NULL;
    }
    if (config_json) {
        const char *c = mbt_state_dict_get_meta(sd, "mixbt.config");
        *config_json = c ? strdup(c) : NULL;
    }
    return MBT_OK;
}

mbt_status mbt_checkpoint_load(const char *path, mbt_model *m, mbt_adam_state *adam, mbt_train_position *pos,
                               char **config_json) {
    return mbt_checkpoint_load_sums(path, m, adam, pos, NULL, config_json);
}

mbt_status mbt_checkpoint_load_sums(const char *path, mbt_model *m, mbt_adam_state *adam, mbt_train_position *pos,
                                    mbt_epoch_sums *sums, char **config_json) {
    mbt_param **entries;
    mbt_checkpoint_optim optim;
    mbt_checkpoint_state s;
    MBT_TRY(model_state(m, adam, &optim, &entries, &s));
    mbt_status st = mbt_checkpoint_load_state(path, &s, pos, sums, config_json);
    if (st == MBT_OK) st = mbt_model_params_to_device(m);
    free(entries);
    return st;
}

mbt_status mbt_checkpoint_load_state(const char *path, const mbt_checkpoint_state *s, mbt_train_position *pos,
                                     mbt_epoch_sums *sums, char **config_json) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status st = mbt_safetensors_read(path, &sd);
    if (st == MBT_OK) st = restore(path, &sd, s, pos, sums, config_json);
    mbt_state_dict_free(&sd);
    return st;
}

mbt_status mbt_checkpoint_read_position(const char *path, mbt_train_position *pos) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status st = mbt_safetensors_read(path, &sd);
    if (st == MBT_OK) st = read_position(&sd, path, pos);
    mbt_state_dict_free(&sd);
    return st;
}
