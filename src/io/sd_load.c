/* Loading state dicts into expected parameter lists, with a load report. */
#include "io/sd_load.h"

#include <stdlib.h>
#include <string.h>

#include "core/tensor.h"

static mbt_status push_str(char ***list, size_t *n, const char *s) {
    char **l = realloc(*list, (*n + 1) * sizeof *l);
    if (!l) return MBT_FAIL(MBT_ERR_NOMEM, "load report: no memory");
    *list = l;
    l[*n] = strdup(s);
    if (!l[*n]) return MBT_FAIL(MBT_ERR_NOMEM, "load report: no memory");
    (*n)++;
    return MBT_OK;
}

void mbt_load_report_free(mbt_load_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n_missing; i++) free(r->missing[i]);
    for (size_t i = 0; i < r->n_unexpected; i++) free(r->unexpected[i]);
    for (size_t i = 0; i < r->n_mismatched; i++) free(r->mismatched[i]);
    free(r->missing);
    free(r->unexpected);
    free(r->mismatched);
    memset(r, 0, sizeof *r);
}

/* Why t cannot load into target g (into buf), or NULL if it can. */
static const char *mismatch(const mbt_sd_tensor *t, const mbt_load_target *g, char *buf, size_t size) {
    int same = t->ndim == g->ndim;
    for (int d = 0; same && d < t->ndim; d++) same = t->shape[d] == g->shape[d];
    int kind_ok = g->dst ? mbt_dtype_is_float(t->dtype) : !mbt_dtype_is_float(t->dtype);
    if (same && kind_ok) return NULL;
    char a[200], b[200];
    snprintf(buf, size, "%s: checkpoint %s %s, model %s %s", g->name, mbt_dtype_name(t->dtype),
             mbt_shape_str(a, sizeof a, t->ndim, t->shape), g->dst ? "float" : "integer",
             mbt_shape_str(b, sizeof b, g->ndim, g->shape));
    return buf;
}

static void list_names(char *buf, size_t size, char **names, size_t n) {
    size_t used = strlen(buf);
    for (size_t i = 0; i < n && i < 4 && used < size; i++) {
        snprintf(buf + used, size - used, "%s%s", i ? ", " : "", names[i]);
        used = strlen(buf);
    }
    if (n > 4 && used < size) snprintf(buf + used, size - used, ", ...");
}

void mbt_load_report_summary(const mbt_load_report *r, char *buf, size_t size) {
    snprintf(buf, size, "%zu loaded, %zu missing", r->n_loaded, r->n_missing);
    size_t u;
    if (r->n_missing) {
        u = strlen(buf);
        snprintf(buf + u, size - u, " (");
        list_names(buf, size, r->missing, r->n_missing);
        u = strlen(buf);
        snprintf(buf + u, size - u, ")");
    }
    u = strlen(buf);
    snprintf(buf + u, size - u, ", %zu unexpected", r->n_unexpected);
    if (r->n_unexpected) {
        u = strlen(buf);
        snprintf(buf + u, size - u, " (");
        list_names(buf, size, r->unexpected, r->n_unexpected);
        u = strlen(buf);
        snprintf(buf + u, size - u, ")");
    }
    u = strlen(buf);
    snprintf(buf + u, size - u, ", %zu mismatched", r->n_mismatched);
    if (r->n_mismatched) {
        u = strlen(buf);
        snprintf(buf + u, size - u, " (");
        list_names(buf, size, r->mismatched, r->n_mismatched);
        u = strlen(buf);
        snprintf(buf + u, size - u, ")");
    }
}

void mbt_load_report_print(const mbt_load_report *r, FILE *out) {
    for (size_t i = 0; i < r->n_missing; i++) fprintf(out, "missing key: %s\n", r->missing[i]);
    for (size_t i = 0; i < r->n_unexpected; i++) fprintf(out, "unexpected key: %s\n", r->unexpected[i]);
    for (size_t i = 0; i < r->n_mismatched; i++) fprintf(out, "size mismatch: %s\n", r->mismatched[i]);
    fprintf(out, "%zu loaded, %zu missing, %zu unexpected, %zu mismatched\n", r->n_loaded, r->n_missing,
            r->n_unexpected, r->n_mismatched);
}

static mbt_status build_report(const mbt_state_dict *sd, const mbt_load_target *targets, size_t n,
                               mbt_load_report *r, unsigned char *used) {
    char buf[600];
    for (size_t i = 0; i < n; i++) {
        const mbt_load_target *g = &targets[i];
        if ((!g->dst) == (!g->dst_i64))
            return MBT_FAIL(MBT_ERR_ARG, "load target '%s' must have exactly one of dst and dst_i64", g->name);
        long k = mbt_state_dict_index(sd, g->name);
        if (k < 0) {
            MBT_TRY(push_str(&r->missing, &r->n_missing, g->name));
            continue;
        }
        used[k] = 1;
        if (mismatch(&sd->tensors[k], g, buf, sizeof buf)) MBT_TRY(push_str(&r->mismatched, &r->n_mismatched, buf));
    }
    for (size_t k = 0; k < sd->count; k++)
        if (!used[k]) MBT_TRY(push_str(&r->unexpected, &r->n_unexpected, sd->tensors[k].name));
    return MBT_OK;
}

mbt_status mbt_state_dict_load(const mbt_state_dict *sd, const mbt_load_target *targets, size_t n,
                               mbt_load_mode mode, mbt_load_report *report) {
    mbt_load_report local;
    mbt_load_report *r = report ? report : &local;
    memset(r, 0, sizeof *r);
    unsigned char *used = calloc(sd->count ? sd->count : 1, 1);
    if (!used) return MBT_FAIL(MBT_ERR_NOMEM, "load: no memory");
    mbt_status s = build_report(sd, targets, n, r, used);
    free(used);
    if (!s && mode == MBT_LOAD_STRICT && (r->n_missing || r->n_unexpected || r->n_mismatched)) {
        char sum[900];
        mbt_load_report_summary(r, sum, sizeof sum);
        s = MBT_FAIL(MBT_ERR_FORMAT, "state dict does not match the model (strict load, nothing loaded): %s", sum);
    }
    char buf[600];
    for (size_t i = 0; i < n && !s; i++) {
        const mbt_load_target *g = &targets[i];
        const mbt_sd_tensor *t = mbt_state_dict_find(sd, g->name);
        if (!t || mismatch(t, g, buf, sizeof buf)) continue;
        s = g->dst ? mbt_sd_tensor_to_f32(t, g->dst, t->numel) : mbt_sd_tensor_to_i64(t, g->dst_i64, t->numel);
        if (!s) r->n_loaded++;
    }
    if (!report) mbt_load_report_free(&local);
    return s;
}

mbt_status mbt_state_dict_from_targets(mbt_state_dict *sd, const mbt_load_target *targets, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const mbt_load_target *g = &targets[i];
        if ((!g->dst) == (!g->dst_i64))
            return MBT_FAIL(MBT_ERR_ARG, "target '%s' must have exactly one of dst and dst_i64", g->name);
        MBT_TRY(mbt_state_dict_add(sd, g->name, g->dst ? MBT_DTYPE_F32 : MBT_DTYPE_I64, g->ndim, g->shape,
                                   g->dst ? (const void *)g->dst : (const void *)g->dst_i64, MBT_SD_BORROW));
    }
    return MBT_OK;
}
