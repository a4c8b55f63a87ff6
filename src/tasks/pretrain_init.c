/* Starting a new pretraining run from a checkpoint's model weights (--init-from), with PyTorch's
 * load_state_dict reporting (strict / not strict), and its record for config.json. */
#include "tasks/pretrain_init.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/checkpoint_file.h"
#include "io/checksum.h"
#include "io/keymap.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "io/sd_load.h"

mbt_status mbt_pretrain_init_check(const mbt_pretrain_config *c) {
    if (c->init_from && c->resume_dir)
        return MBT_FAIL(MBT_ERR_ARG, "--init-from starts a new run; --resume %s continues its own (give one of them)",
                        c->resume_dir);
    if (c->strict && c->no_strict) return MBT_FAIL(MBT_ERR_ARG, "--strict and --no-strict: give one of them");
    if (!c->init_from && (c->strict || c->no_strict))
        return MBT_FAIL(MBT_ERR_ARG, "--%s applies to --init-from FILE", c->strict ? "strict" : "no-strict");
    if (c->init_from && access(c->init_from, R_OK) != 0)
        return MBT_FAIL(MBT_ERR_IO, "--init-from %s: cannot read it (%s)", c->init_from, strerror(errno));
    return MBT_OK;
}

static int has_entry(mbt_param *const *entries, size_t n, const char *name) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(entries[i]->name, name)) return 1;
    return 0;
}

/* The file as a state dict of model entries: read by its extension (else its content), mixbt's own
 * optimizer and bookkeeping tensors (mixbt.*) dropped, "module." removed, torchvision names mapped onto the
 * run's backbone. */
static mbt_status read_weights(const char *path, mbt_param *const *entries, size_t n, FILE *log, mbt_state_dict *sd) {
    mbt_ckpt_format format = mbt_ckpt_format_from_path(path);
    if (format == MBT_CKPT_UNKNOWN) MBT_TRY(mbt_ckpt_format_sniff(path, &format));
    MBT_TRY(format == MBT_CKPT_PTH ? mbt_pth_read(path, NULL, sd) : mbt_safetensors_read(path, sd));
    static const mbt_keymap_rule drop_mixbt = {"mixbt.", NULL};
    MBT_TRY(mbt_keymap_apply(sd, &drop_mixbt, 1, NULL, NULL));
    MBT_TRY(mbt_keymap_strip_ddp(sd, NULL));
    if (!mbt_state_dict_find(sd, "conv1.weight") || has_entry(entries, n, "conv1.weight")) return MBT_OK;
    /* a bare torchvision ResNet: its names onto the run's backbone (fc.* is no part of it) */
    if (has_entry(entries, n, "f.0.weight")) {
        size_t nr;
        int pool = has_entry(entries, n, "f.4.0.conv1.weight");
        const mbt_keymap_rule *rules =
            mbt_keymap_preset_rules(pool ? MBT_KEYMAP_TV_TO_SMALL_POOL : MBT_KEYMAP_TV_TO_SMALL_CIFAR, &nr);
        MBT_TRY(mbt_keymap_apply(sd, rules, nr, NULL, NULL));
    } else if (has_entry(entries, n, "model.module.conv1.weight")) {
        static const mbt_keymap_rule rules[] = {{"fc.", NULL}, {"", "model.module."}};
        MBT_TRY(mbt_keymap_apply(sd, rules, 2, NULL, NULL));
    } else {
        return MBT_OK;
    }
    if (log) fprintf(log, "--init-from %s: a torchvision ResNet state dict, its names mapped onto the backbone's (fc.* "
                          "dropped)\n", path);
    return MBT_OK;
}

/* Appends `"a", "b", "c"` to buf (at most `budget` more characters, then "... (N in all)"). */
static void append_keys(char *buf, size_t size, char **keys, size_t n, size_t budget) {
    size_t start = strlen(buf);
    for (size_t i = 0; i < n; i++) {
        size_t at = strlen(buf);
        if (at - start + strlen(keys[i]) + 4 > budget && i > 0) {
            snprintf(buf + at, size - at, ", ... (%zu in all)", n);
            return;
        }
        snprintf(buf + at, size - at, "%s\"%s\"", i ? ", " : "", keys[i]);
    }
}

/* PyTorch's wording: 'Missing key(s) in state_dict: "a", "b". Unexpected key(s) in state_dict: "c". '
 * (each list cut to `budget` characters). */
static void describe(const mbt_load_report *r, char *buf, size_t size, size_t budget) {
    buf[0] = 0;
    if (r->n_missing) {
        snprintf(buf, size, "Missing key(s) in state_dict: ");
        append_keys(buf, size, r->missing, r->n_missing, budget);
        snprintf(buf + strlen(buf), size - strlen(buf), ". ");
    }
    if (r->n_unexpected) {
        snprintf(buf + strlen(buf), size - strlen(buf), "Unexpected key(s) in state_dict: ");
        append_keys(buf, size, r->unexpected, r->n_unexpected, budget);
        snprintf(buf + strlen(buf), size - strlen(buf), ". ");
    }
    size_t n = strlen(buf);
    if (n && buf[n - 1] == ' ') buf[n - 1] = 0;
}

/* BYOL without a target network in the file: model_t.* / head_t.* take the loaded online values. */
static void copy_missing_target(mbt_param *const *entries, size_t n, const mbt_load_report *r, FILE *log) {
    static const char *const pairs[][2] = {{"model_t.module.", "model.module."}, {"head_t.", "head."}};
    size_t copied = 0;
    for (size_t k = 0; k < r->n_missing; k++)
        for (size_t p = 0; p < 2; p++) {
            size_t len = strlen(pairs[p][0]);
            if (strncmp(r->missing[k], pairs[p][0], len)) continue;
            char online[128];
            snprintf(online, sizeof online, "%s%s", pairs[p][1], r->missing[k] + len);
            mbt_param *dst = NULL, *src = NULL;
            for (size_t i = 0; i < n; i++) {
                if (!strcmp(entries[i]->name, r->missing[k])) dst = entries[i];
                if (!strcmp(entries[i]->name, online)) src = entries[i];
            }
            int src_missing = 0;
            for (size_t j = 0; j < r->n_missing; j++) src_missing |= !strcmp(r->missing[j], online);
            if (!dst || !src || src_missing || dst->numel != src->numel || dst->kind != src->kind) continue;
            if (dst->kind == MBT_PARAM_COUNTER) *dst->counter = *src->counter;
            else memcpy(dst->data, src->data, dst->numel * sizeof(float));
            copied++;
        }
    if (copied && log)
        fprintf(log, "--init-from: the target network (model_t.*, head_t.*) starts as a copy of the loaded online "
                     "network (%zu entries)\n", copied);
}

static void *make_record(const mbt_pretrain_config *c, const mbt_load_report *r, const char *md5, const struct stat *st) {
    cJSON *j = cJSON_CreateObject();
    char *full = realpath(c->init_from, NULL); /* the run folder may be read from elsewhere */
    cJSON_AddStringToObject(j, "path", full ? full : c->init_from);
    free(full);
    cJSON_AddNumberToObject(j, "bytes", (double)st->st_size);
    char when[40];
    struct tm tm;
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&st->st_mtime, &tm));
    cJSON_AddStringToObject(j, "mtime", when);
    cJSON_AddStringToObject(j, "md5", md5);
    cJSON_AddBoolToObject(j, "strict", !c->no_strict);
    cJSON_AddNumberToObject(j, "loaded", (double)r->n_loaded);
    cJSON_AddNumberToObject(j, "missing", (double)r->n_missing);
    cJSON_AddNumberToObject(j, "unexpected", (double)r->n_unexpected);
    return j;
}

/* The error of a refused load, in PyTorch's words on one line: strict, the missing and unexpected keys; in
 * both modes, a shape mismatch. */
static mbt_status refuse(const mbt_pretrain_config *c, const mbt_load_report *r) {
    char what[1000] = "";
    if (!c->no_strict) describe(r, what, sizeof what, 220);
    if (r->n_mismatched) {
        size_t at = strlen(what);
        snprintf(what + at, sizeof what - at, "%ssize mismatch for %s", at ? " " : "", r->mismatched[0]);
        at = strlen(what);
        if (r->n_mismatched > 1) snprintf(what + at, sizeof what - at, " (%zu keys in all)", r->n_mismatched);
    }
    return MBT_FAIL(MBT_ERR_FORMAT, "--init-from %s: Error(s) in loading state_dict%s: %s", c->init_from,
                    c->no_strict || r->n_mismatched ? "" : " (strict; --no-strict loads the entries that match)", what);
}

mbt_status mbt_pretrain_init_load(const mbt_pretrain_config *c, mbt_param *const *entries, size_t n, FILE *log,
                                  void **record) {
    *record = NULL;
    const char *path = c->init_from;
    struct stat st;
    if (stat(path, &st) != 0) return MBT_FAIL(MBT_ERR_IO, "--init-from %s: %s", path, strerror(errno));
    char md5[MBT_MD5_HEX_LEN + 1];
    MBT_TRY(mbt_md5_file(path, md5, NULL, NULL));
    mbt_load_target *targets = calloc(n ? n : 1, sizeof *targets);
    if (!targets) return MBT_FAIL(MBT_ERR_NOMEM, "--init-from: out of memory");
    for (size_t i = 0; i < n; i++) {
        const mbt_param *p = entries[i];
        targets[i] = (mbt_load_target){p->name, p->ndim, {0}, NULL, NULL};
        memcpy(targets[i].shape, p->shape, sizeof p->shape);
        if (p->kind == MBT_PARAM_COUNTER) targets[i].dst_i64 = p->counter;
        else targets[i].dst = p->data;
    }
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_load_report r;
    memset(&r, 0, sizeof r);
    mbt_status s = read_weights(path, entries, n, log, &sd);
    if (s == MBT_OK) {
        s = mbt_state_dict_load(&sd, targets, n, c->no_strict ? MBT_LOAD_NONSTRICT : MBT_LOAD_STRICT, &r);
        if (r.n_mismatched || (!c->no_strict && (r.n_missing || r.n_unexpected))) {
            s = refuse(c, &r);
        } else if (s == MBT_OK && r.n_loaded == 0) {
            s = MBT_FAIL(MBT_ERR_FORMAT, "--init-from %s: none of its %zu entries is one of the model's %zu (another "
                         "method or layout?)", path, sd.count, n);
        }
    }
    if (s == MBT_OK && (r.n_missing || r.n_unexpected)) { /* not strict: the warning, with every key */
        size_t size = 128 + 8 * (r.n_missing + r.n_unexpected);
        for (size_t i = 0; i < r.n_missing; i++) size += strlen(r.missing[i]);
        for (size_t i = 0; i < r.n_unexpected; i++) size += strlen(r.unexpected[i]);
        char *what = malloc(size);
        if (what && log) {
            describe(&r, what, size, size);
            fprintf(log, "warning: --init-from %s (--no-strict): %zu of the model's %zu entries loaded; %s\n", path,
                    r.n_loaded, n, what);
        }
        free(what);
        copy_missing_target(entries, n, &r, log);
    }
    if (s == MBT_OK) {
        if (log) fprintf(log, "initialised from %s (%zu entries; the optimizer starts fresh)\n", path, r.n_loaded);
        *record = make_record(c, &r, md5, &st);
    }
    mbt_load_report_free(&r);
    mbt_state_dict_free(&sd);
    free(targets);
    return s;
}
