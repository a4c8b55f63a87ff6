/* Pickle values: accessors for the readers of the tree, and the final cycle/depth check. */
#include <stdlib.h>
#include <string.h>

#include "io/pickle_internal.h"

const char *mbt_pv_kind_name(mbt_pv_kind kind) {
    switch (kind) {
    case MBT_PV_NONE: return "None";
    case MBT_PV_BOOL: return "bool";
    case MBT_PV_INT: return "int";
    case MBT_PV_FLOAT: return "float";
    case MBT_PV_STR: return "str";
    case MBT_PV_BYTES: return "bytes";
    case MBT_PV_TUPLE: return "tuple";
    case MBT_PV_LIST: return "list";
    case MBT_PV_DICT: return "dict";
    case MBT_PV_GLOBAL: return "global";
    case MBT_PV_STORAGE: return "storage";
    case MBT_PV_TENSOR: return "tensor";
    case MBT_PV_NDARRAY: return "numpy array";
    case MBT_PV_DTYPE: return "numpy dtype";
    }
    return "unknown";
}

/* Children of a container value, in order: items, or keys and values, then attributes. */
static size_t n_children(const mbt_pvalue *v) {
    switch (v->kind) {
    case MBT_PV_TUPLE:
    case MBT_PV_LIST: return v->u.seq.n;
    case MBT_PV_DICT: return 2 * v->u.seq.n + (v->u.seq.attrs != NULL);
    default: return 0;
    }
}

static mbt_pvalue *child(const mbt_pvalue *v, size_t i) {
    if (v->kind == MBT_PV_DICT && i == 2 * v->u.seq.n) return v->u.seq.attrs;
    return v->u.seq.v[i];
}

/* Longest path below v (heights memoised in the nodes); grey nodes on the current path mean a cycle. */
static mbt_status visit(mbt_pickle *p, mbt_pvalue *v, int depth) {
    if (v->color == 2) return MBT_OK;
    if (v->color == 1)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: pickle holds a cyclic structure (a %s contains itself)", p->what,
                        mbt_pv_kind_name(v->kind));
    if (depth > MBT_PICKLE_MAX_DEPTH)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: pickle nests values deeper than %d levels", p->what, MBT_PICKLE_MAX_DEPTH);
    v->color = 1;
    uint32_t h = 0;
    size_t n = n_children(v);
    for (size_t i = 0; i < n; i++) {
        mbt_pvalue *c = child(v, i);
        MBT_TRY(visit(p, c, depth + 1));
        if (c->height > h) h = c->height;
    }
    if (h + 1 + depth > MBT_PICKLE_MAX_DEPTH + 1)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: pickle nests values deeper than %d levels", p->what, MBT_PICKLE_MAX_DEPTH);
    v->height = h + 1;
    v->color = 2;
    return MBT_OK;
}

mbt_status pk_check_graph(mbt_pickle *p, mbt_pvalue *root) {
    if (!root) return MBT_FAIL(MBT_ERR_FORMAT, "%s: pickle has no value", p->what);
    return visit(p, root, 0);
}

mbt_pv_kind mbt_pvalue_kind(const mbt_pvalue *v) { return v ? (mbt_pv_kind)v->kind : MBT_PV_NONE; }

size_t mbt_pvalue_len(const mbt_pvalue *v) {
    if (!v) return 0;
    switch (v->kind) {
    case MBT_PV_TUPLE:
    case MBT_PV_LIST:
    case MBT_PV_DICT: return v->u.seq.n;
    case MBT_PV_STR:
    case MBT_PV_BYTES: return v->u.s.n;
    default: return 0;
    }
}

const mbt_pvalue *mbt_pvalue_item(const mbt_pvalue *v, size_t i) {
    if (!v || (v->kind != MBT_PV_TUPLE && v->kind != MBT_PV_LIST) || i >= v->u.seq.n) return NULL;
    return v->u.seq.v[i];
}

const mbt_pvalue *mbt_pvalue_dict_key(const mbt_pvalue *v, size_t i) {
    if (!v || v->kind != MBT_PV_DICT || i >= v->u.seq.n) return NULL;
    return v->u.seq.v[2 * i];
}

const mbt_pvalue *mbt_pvalue_dict_value(const mbt_pvalue *v, size_t i) {
    if (!v || v->kind != MBT_PV_DICT || i >= v->u.seq.n) return NULL;
    return v->u.seq.v[2 * i + 1];
}

int mbt_pvalue_equals(const mbt_pvalue *v, const char *s) {
    if (!v || (v->kind != MBT_PV_STR && v->kind != MBT_PV_BYTES)) return 0;
    size_t n = strlen(s);
    return v->u.s.n == n && !memcmp(v->u.s.p, s, n);
}

const mbt_pvalue *mbt_pvalue_dict_get(const mbt_pvalue *dict, const char *key) {
    if (!dict || dict->kind != MBT_PV_DICT) return NULL;
    for (size_t i = dict->u.seq.n; i-- > 0;)
        if (mbt_pvalue_equals(dict->u.seq.v[2 * i], key)) return dict->u.seq.v[2 * i + 1];
    return NULL;
}

const char *mbt_pvalue_bytes(const mbt_pvalue *v, size_t *len) {
    if (!v || (v->kind != MBT_PV_STR && v->kind != MBT_PV_BYTES)) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->u.s.n;
    return v->u.s.p;
}

mbt_status mbt_pvalue_int(const mbt_pvalue *v, int64_t *out) {
    if (!v || (v->kind != MBT_PV_INT && v->kind != MBT_PV_BOOL))
        return MBT_FAIL(MBT_ERR_FORMAT, "pickle value is a %s, not an int", v ? mbt_pv_kind_name(v->kind) : "missing value");
    *out = v->u.i;
    return MBT_OK;
}

mbt_status mbt_pvalue_float(const mbt_pvalue *v, double *out) {
    if (v && v->kind == MBT_PV_FLOAT) {
        *out = v->u.f;
        return MBT_OK;
    }
    int64_t i = 0;
    MBT_TRY(mbt_pvalue_int(v, &i));
    *out = (double)i;
    return MBT_OK;
}

mbt_status mbt_pvalue_int_list(const mbt_pvalue *v, int64_t **out, size_t *n) {
    *out = NULL;
    *n = 0;
    if (!v || (v->kind != MBT_PV_LIST && v->kind != MBT_PV_TUPLE))
        return MBT_FAIL(MBT_ERR_FORMAT, "pickle value is a %s, not a list of ints",
                        v ? mbt_pv_kind_name(v->kind) : "missing value");
    size_t len = v->u.seq.n;
    int64_t *a = malloc((len ? len : 1) * sizeof *a);
    if (!a) return MBT_FAIL(MBT_ERR_NOMEM, "no memory for a list of %zu ints", len);
    for (size_t i = 0; i < len; i++) {
        const mbt_pvalue *x = v->u.seq.v[i];
        if (x->kind != MBT_PV_INT && x->kind != MBT_PV_BOOL) {
            free(a);
            return MBT_FAIL(MBT_ERR_FORMAT, "list item %zu is a %s, not an int", i, mbt_pv_kind_name(x->kind));
        }
        a[i] = x->u.i;
    }
    *out = a;
    *n = len;
    return MBT_OK;
}

mbt_status mbt_pvalue_tensor(const mbt_pvalue *v, mbt_pv_tensor *out) {
    if (!v || v->kind != MBT_PV_TENSOR)
        return MBT_FAIL(MBT_ERR_FORMAT, "pickle value is a %s, not a tensor", v ? mbt_pv_kind_name(v->kind) : "missing value");
    *out = *v->u.tensor;
    return MBT_OK;
}

mbt_status mbt_pvalue_ndarray(const mbt_pvalue *v, mbt_pv_ndarray *out) {
    if (!v || v->kind != MBT_PV_NDARRAY)
        return MBT_FAIL(MBT_ERR_FORMAT, "pickle value is a %s, not a numpy array",
                        v ? mbt_pv_kind_name(v->kind) : "missing value");
    if (!v->built) return MBT_FAIL(MBT_ERR_FORMAT, "numpy array without state (no BUILD)");
    *out = *v->u.nd;
    return MBT_OK;
}

mbt_status mbt_pvalue_ndarray_u8(const mbt_pvalue *v, int *ndim, int64_t shape[MBT_SD_MAX_DIMS], const uint8_t **data) {
    mbt_pv_ndarray a;
    MBT_TRY(mbt_pvalue_ndarray(v, &a));
    if (a.dtype != MBT_DTYPE_U8)
        return MBT_FAIL(MBT_ERR_FORMAT, "numpy array has dtype %s, uint8 expected", mbt_dtype_name(a.dtype));
    *ndim = a.ndim;
    for (int i = 0; i < a.ndim; i++) shape[i] = a.shape[i];
    *data = a.data;
    return MBT_OK;
}
