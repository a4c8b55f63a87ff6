/* The whitelist of pickle globals and the fixed meaning of REDUCE, NEWOBJ, BUILD and BINPERSID on them. */
#include <string.h>

#include "io/pickle_internal.h"

typedef struct {
    const char *module, *name;
    pk_global_id id;
    mbt_dtype dtype;
    unsigned profiles;
} pk_global_entry;

#define T MBT_PICKLE_TORCH
#define N MBT_PICKLE_NUMPY
static const pk_global_entry whitelist[] = {
    {"collections", "OrderedDict", PK_G_ORDERED_DICT, MBT_DTYPE_F32, T | N},
    {"torch._utils", "_rebuild_tensor_v2", PK_G_REBUILD_TENSOR_V2, MBT_DTYPE_F32, T},
    {"torch._utils", "_rebuild_parameter", PK_G_REBUILD_PARAMETER, MBT_DTYPE_F32, T},
    {"torch._utils", "_rebuild_parameter_with_state", PK_G_REBUILD_PARAMETER_STATE, MBT_DTYPE_F32, T},
    {"torch", "FloatStorage", PK_G_TORCH_STORAGE, MBT_DTYPE_F32, T},
    {"torch", "HalfStorage", PK_G_TORCH_STORAGE, MBT_DTYPE_F16, T},
    {"torch", "BFloat16Storage", PK_G_TORCH_STORAGE, MBT_DTYPE_BF16, T},
    {"torch", "DoubleStorage", PK_G_TORCH_STORAGE, MBT_DTYPE_F64, T},
    {"torch", "LongStorage", PK_G_TORCH_STORAGE, MBT_DTYPE_I64, T},
    {"torch", "IntStorage", PK_G_TORCH_STORAGE, MBT_DTYPE_I32, T},
    {"torch", "ByteStorage", PK_G_TORCH_STORAGE, MBT_DTYPE_U8, T},
    {"numpy.core.multiarray", "_reconstruct", PK_G_NP_RECONSTRUCT, MBT_DTYPE_F32, N},
    {"numpy._core.multiarray", "_reconstruct", PK_G_NP_RECONSTRUCT, MBT_DTYPE_F32, N},
    {"numpy", "ndarray", PK_G_NP_NDARRAY, MBT_DTYPE_F32, N},
    {"numpy", "dtype", PK_G_NP_DTYPE, MBT_DTYPE_F32, N},
    {"numpy.core.numeric", "_frombuffer", PK_G_NP_FROMBUFFER, MBT_DTYPE_F32, N},
    {"numpy._core.numeric", "_frombuffer", PK_G_NP_FROMBUFFER, MBT_DTYPE_F32, N},
    {"numpy.core.multiarray", "scalar", PK_G_NP_SCALAR, MBT_DTYPE_F32, N},
    {"numpy._core.multiarray", "scalar", PK_G_NP_SCALAR, MBT_DTYPE_F32, N},
    {"_codecs", "encode", PK_G_CODECS_ENCODE, MBT_DTYPE_F32, T | N},
};
#undef T
#undef N

static int eq(const char *s, size_t n, const char *z) { return strlen(z) == n && !memcmp(s, z, n); }

mbt_status pk_global(mbt_pickle *p, const char *module, size_t mlen, const char *name, size_t nlen, mbt_pvalue **out) {
    for (size_t i = 0; i < sizeof whitelist / sizeof *whitelist; i++) {
        const pk_global_entry *e = &whitelist[i];
        if (!(e->profiles & p->profile) || !eq(module, mlen, e->module) || !eq(name, nlen, e->name)) continue;
        mbt_pvalue *v = pk_new(p, MBT_PV_GLOBAL);
        char *full = pk_alloc(p, mlen + nlen + 2);
        if (!v || !full) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
        memcpy(full, module, mlen);
        full[mlen] = '.';
        memcpy(full + mlen + 1, name, nlen);
        v->u.g.id = e->id;
        v->u.g.dtype = e->dtype;
        v->u.g.name = full;
        *out = v;
        return MBT_OK;
    }
    int ml = mlen > 100 ? 100 : (int)mlen, nl = nlen > 100 ? 100 : (int)nlen;
    return pk_fail(p, MBT_ERR_UNSUPPORTED,
                   "global '%.*s.%.*s' is not allowed (only the %s%s%s whitelist is understood; nothing is executed)", ml,
                   module, nl, name, p->profile & MBT_PICKLE_TORCH ? "torch" : "",
                   (p->profile & MBT_PICKLE_TORCH) && (p->profile & MBT_PICKLE_NUMPY) ? "+" : "",
                   p->profile & MBT_PICKLE_NUMPY ? "numpy" : (p->profile ? "" : "builtin"));
}

static const mbt_pvalue *arg(const mbt_pvalue *args, size_t i) { return args->u.seq.v[i]; }

static mbt_status want_args(mbt_pickle *p, const char *fn, const mbt_pvalue *args, size_t lo, size_t hi) {
    if (args->kind != MBT_PV_TUPLE)
        return pk_fail(p, MBT_ERR_FORMAT, "%s called with a %s instead of an argument tuple", fn,
                       mbt_pv_kind_name(args->kind));
    if (args->u.seq.n < lo || args->u.seq.n > hi)
        return pk_fail(p, MBT_ERR_FORMAT, "%s takes %zu to %zu arguments, got %zu", fn, lo, hi, args->u.seq.n);
    return MBT_OK;
}

static mbt_status get_int(mbt_pickle *p, const char *what, const mbt_pvalue *v, int64_t *out) {
    if (v->kind != MBT_PV_INT && v->kind != MBT_PV_BOOL)
        return pk_fail(p, MBT_ERR_FORMAT, "%s must be an int, got a %s", what, mbt_pv_kind_name(v->kind));
    *out = v->u.i;
    return MBT_OK;
}

/* A tuple (or list) of at most 8 non-negative ints. */
static mbt_status get_dims(mbt_pickle *p, const char *what, const mbt_pvalue *v, int *ndim, int64_t *dims) {
    if (v->kind != MBT_PV_TUPLE && v->kind != MBT_PV_LIST)
        return pk_fail(p, MBT_ERR_FORMAT, "%s must be a tuple, got a %s", what, mbt_pv_kind_name(v->kind));
    if (v->u.seq.n > MBT_SD_MAX_DIMS)
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "%s has %zu dimensions (at most %d)", what, v->u.seq.n, MBT_SD_MAX_DIMS);
    *ndim = (int)v->u.seq.n;
    for (int i = 0; i < *ndim; i++) {
        MBT_TRY(get_int(p, what, v->u.seq.v[i], &dims[i]));
        if (dims[i] < 0) return pk_fail(p, MBT_ERR_FORMAT, "%s has a negative entry %lld", what, (long long)dims[i]);
    }
    return MBT_OK;
}

static mbt_status rebuild_tensor(mbt_pickle *p, const mbt_pvalue *args, mbt_pvalue **out) {
    const char *fn = "torch._utils._rebuild_tensor_v2";
    MBT_TRY(want_args(p, fn, args, 6, 7));
    const mbt_pvalue *st = arg(args, 0);
    if (st->kind != MBT_PV_STORAGE)
        return pk_fail(p, MBT_ERR_FORMAT, "%s: first argument is a %s, not a storage", fn, mbt_pv_kind_name(st->kind));
    mbt_pv_tensor *t = pk_alloc(p, sizeof *t);
    mbt_pvalue *v = pk_new(p, MBT_PV_TENSOR);
    if (!t || !v) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
    t->storage = *st->u.storage;
    MBT_TRY(get_int(p, "storage offset", arg(args, 1), &t->offset));
    if (t->offset < 0) return pk_fail(p, MBT_ERR_FORMAT, "negative storage offset %lld", (long long)t->offset);
    int nst;
    MBT_TRY(get_dims(p, "tensor size", arg(args, 2), &t->ndim, t->sizes));
    MBT_TRY(get_dims(p, "tensor stride", arg(args, 3), &nst, t->strides));
    if (nst != t->ndim)
        return pk_fail(p, MBT_ERR_FORMAT, "%d sizes but %d strides", t->ndim, nst);
    int64_t rg = 0;
    MBT_TRY(get_int(p, "requires_grad", arg(args, 4), &rg));
    t->requires_grad = rg != 0;
    v->u.tensor = t;
    *out = v;
    return MBT_OK;
}

static mbt_status rebuild_parameter(mbt_pickle *p, const mbt_pvalue *args, size_t nargs, mbt_pvalue **out) {
    const char *fn = "torch._utils._rebuild_parameter";
    MBT_TRY(want_args(p, fn, args, nargs, nargs));
    const mbt_pvalue *d = arg(args, 0);
    if (d->kind != MBT_PV_TENSOR)
        return pk_fail(p, MBT_ERR_FORMAT, "%s: first argument is a %s, not a tensor", fn, mbt_pv_kind_name(d->kind));
    mbt_pv_tensor *t = pk_alloc(p, sizeof *t);
    mbt_pvalue *v = pk_new(p, MBT_PV_TENSOR);
    if (!t || !v) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
    *t = *d->u.tensor;
    int64_t rg = 0;
    MBT_TRY(get_int(p, "requires_grad", arg(args, 1), &rg));
    t->requires_grad = rg != 0;
    t->is_parameter = 1;
    v->u.tensor = t;
    *out = v;
    return MBT_OK;
}

/* numpy dtype strings: optional byte order, then u1 i4 i8 f2 f4 f8 (uint8/int32/int64/float16/32/64). */
static mbt_status np_dtype_code(mbt_pickle *p, const mbt_pvalue *v, mbt_dtype *dt, char *order) {
    if (v->kind != MBT_PV_STR && v->kind != MBT_PV_BYTES)
        return pk_fail(p, MBT_ERR_FORMAT, "numpy.dtype needs a type string, got a %s", mbt_pv_kind_name(v->kind));
    const char *s = v->u.s.p;
    size_t n = v->u.s.n;
    *order = '=';
    if (n && (s[0] == '<' || s[0] == '>' || s[0] == '|' || s[0] == '=')) {
        *order = s[0];
        s++;
        n--;
    }
    static const struct {
        const char *code;
        mbt_dtype dt;
    } codes[] = {{"u1", MBT_DTYPE_U8}, {"i4", MBT_DTYPE_I32}, {"i8", MBT_DTYPE_I64},
                 {"f2", MBT_DTYPE_F16}, {"f4", MBT_DTYPE_F32}, {"f8", MBT_DTYPE_F64}};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        if (eq(s, n, codes[i].code)) {
            *dt = codes[i].dt;
            if (*order == '>' && codes[i].dt != MBT_DTYPE_U8)
                return pk_fail(p, MBT_ERR_UNSUPPORTED, "big-endian numpy dtype '>%s' is not supported", codes[i].code);
            return MBT_OK;
        }
    return pk_fail(p, MBT_ERR_UNSUPPORTED, "numpy dtype '%.*s' is not supported (u1, i4, i8, f2, f4, f8)",
                   (int)(v->u.s.n > 32 ? 32 : v->u.s.n), v->u.s.p);
}

/* Fills an array's shape and data from (shape, dtype, bytes), checking the size. */
static mbt_status np_fill(mbt_pickle *p, mbt_pv_ndarray *a, const mbt_pvalue *shape, const mbt_pvalue *dtype,
                          const mbt_pvalue *raw) {
    if (dtype->kind != MBT_PV_DTYPE)
        return pk_fail(p, MBT_ERR_FORMAT, "numpy array state needs a dtype, got a %s", mbt_pv_kind_name(dtype->kind));
    if (dtype->u.dt.order == '>' && dtype->u.dt.dtype != MBT_DTYPE_U8)
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "big-endian numpy arrays are not supported");
    if (raw->kind != MBT_PV_BYTES && raw->kind != MBT_PV_STR)
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "numpy array data is a %s, not bytes (object arrays are not supported)",
                       mbt_pv_kind_name(raw->kind));
    a->dtype = dtype->u.dt.dtype;
    MBT_TRY(get_dims(p, "numpy array shape", shape, &a->ndim, a->shape));
    size_t nbytes;
    mbt_status s = mbt_shape_numel("numpy array", a->ndim, a->shape, mbt_dtype_size(a->dtype), &a->numel, &nbytes);
    if (s) return pk_fail(p, s, "numpy array shape is too large");
    if (nbytes != raw->u.s.n)
        return pk_fail(p, MBT_ERR_FORMAT, "numpy array of %zu %s elements needs %zu bytes, the data has %zu", a->numel,
                       mbt_dtype_name(a->dtype), nbytes, raw->u.s.n);
    a->data = raw->u.s.p;
    a->nbytes = nbytes;
    return MBT_OK;
}

/* _codecs.encode(text, 'latin1'): code points below 256 become bytes (Python 3 protocol-2 bytes). */
static mbt_status codecs_encode(mbt_pickle *p, const mbt_pvalue *args, mbt_pvalue **out) {
    MBT_TRY(want_args(p, "_codecs.encode", args, 2, 2));
    const mbt_pvalue *s = arg(args, 0), *enc = arg(args, 1);
    if (s->kind != MBT_PV_STR || enc->kind != MBT_PV_STR ||
        !(eq(enc->u.s.p, enc->u.s.n, "latin1") || eq(enc->u.s.p, enc->u.s.n, "latin-1")))
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "_codecs.encode is only understood as encode(str, 'latin1')");
    unsigned char *b = pk_alloc(p, s->u.s.n + 1);
    mbt_pvalue *v = pk_new(p, MBT_PV_BYTES);
    if (!b || !v) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
    const unsigned char *u = (const unsigned char *)s->u.s.p;
    size_t n = 0;
    for (size_t i = 0; i < s->u.s.n;) {
        if (u[i] < 0x80) b[n++] = u[i++];
        else if ((u[i] == 0xc2 || u[i] == 0xc3) && i + 1 < s->u.s.n && (u[i + 1] & 0xc0) == 0x80) {
            b[n++] = (unsigned char)(((u[i] & 0x03) << 6) | (u[i + 1] & 0x3f));
            i += 2;
        } else
            return pk_fail(p, MBT_ERR_FORMAT, "_codecs.encode: text has a character above U+00FF at byte %zu", i);
    }
    v->u.s.p = (const char *)b;
    v->u.s.n = n;
    *out = v;
    return MBT_OK;
}

static mbt_status ordered_dict(mbt_pickle *p, const mbt_pvalue *args, mbt_pvalue **out) {
    MBT_TRY(want_args(p, "collections.OrderedDict", args, 0, 1));
    mbt_pvalue *d = pk_new(p, MBT_PV_DICT);
    if (!d) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
    if (args->u.seq.n == 1) { /* OrderedDict([[k, v], ...]) */
        const mbt_pvalue *items = arg(args, 0);
        if (items->kind != MBT_PV_LIST && items->kind != MBT_PV_TUPLE)
            return pk_fail(p, MBT_ERR_UNSUPPORTED, "OrderedDict from a %s", mbt_pv_kind_name(items->kind));
        for (size_t i = 0; i < items->u.seq.n; i++) {
            const mbt_pvalue *kv = items->u.seq.v[i];
            if ((kv->kind != MBT_PV_LIST && kv->kind != MBT_PV_TUPLE) || kv->u.seq.n != 2)
                return pk_fail(p, MBT_ERR_FORMAT, "OrderedDict item %zu is not a (key, value) pair", i);
            if (kv->u.seq.v[0]->kind == MBT_PV_LIST || kv->u.seq.v[0]->kind == MBT_PV_DICT)
                return pk_fail(p, MBT_ERR_FORMAT, "unhashable OrderedDict key");
            MBT_TRY(pk_seq_append(p, d, kv->u.seq.v, 1));
        }
    }
    *out = d;
    return MBT_OK;
}

mbt_status pk_reduce(mbt_pickle *p, const mbt_pvalue *callable, const mbt_pvalue *args, mbt_pvalue **out) {
    if (callable->kind != MBT_PV_GLOBAL)
        return pk_fail(p, MBT_ERR_FORMAT, "REDUCE calls a %s, not a global", mbt_pv_kind_name(callable->kind));
    if (args->kind != MBT_PV_TUPLE)
        return pk_fail(p, MBT_ERR_FORMAT, "%s called with a %s instead of an argument tuple", callable->u.g.name,
                       mbt_pv_kind_name(args->kind));
    switch (callable->u.g.id) {
    case PK_G_ORDERED_DICT: return ordered_dict(p, args, out);
    case PK_G_REBUILD_TENSOR_V2: return rebuild_tensor(p, args, out);
    case PK_G_REBUILD_PARAMETER: return rebuild_parameter(p, args, 3, out);
    case PK_G_REBUILD_PARAMETER_STATE: return rebuild_parameter(p, args, 4, out);
    case PK_G_CODECS_ENCODE: return codecs_encode(p, args, out);
    case PK_G_NP_RECONSTRUCT: {
        MBT_TRY(want_args(p, callable->u.g.name, args, 3, 3));
        const mbt_pvalue *cls = arg(args, 0);
        if (cls->kind != MBT_PV_GLOBAL || cls->u.g.id != PK_G_NP_NDARRAY)
            return pk_fail(p, MBT_ERR_UNSUPPORTED, "%s of something other than numpy.ndarray", callable->u.g.name);
        mbt_pvalue *v = pk_new(p, MBT_PV_NDARRAY);
        if (v) v->u.nd = pk_alloc(p, sizeof *v->u.nd);
        if (!v || !v->u.nd) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
        *out = v; /* filled by BUILD */
        return MBT_OK;
    }
    case PK_G_NP_DTYPE: {
        MBT_TRY(want_args(p, callable->u.g.name, args, 1, 3));
        mbt_pvalue *v = pk_new(p, MBT_PV_DTYPE);
        if (!v) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
        MBT_TRY(np_dtype_code(p, arg(args, 0), &v->u.dt.dtype, &v->u.dt.order));
        *out = v;
        return MBT_OK;
    }
    case PK_G_NP_FROMBUFFER: { /* _frombuffer(buffer, dtype, shape, order) */
        MBT_TRY(want_args(p, callable->u.g.name, args, 4, 4));
        const mbt_pvalue *order = arg(args, 3);
        mbt_pvalue *v = pk_new(p, MBT_PV_NDARRAY);
        if (v) v->u.nd = pk_alloc(p, sizeof *v->u.nd);
        if (!v || !v->u.nd) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
        MBT_TRY(np_fill(p, v->u.nd, arg(args, 2), arg(args, 1), arg(args, 0)));
        if (!mbt_pvalue_equals(order, "C") && v->u.nd->ndim > 1)
            return pk_fail(p, MBT_ERR_UNSUPPORTED, "numpy arrays in Fortran order are not supported");
        v->built = 1;
        *out = v;
        return MBT_OK;
    }
    case PK_G_NP_SCALAR: { /* scalar(dtype, bytes): a 0-d array */
        MBT_TRY(want_args(p, callable->u.g.name, args, 2, 2));
        mbt_pvalue *v = pk_new(p, MBT_PV_NDARRAY), *shape = pk_new(p, MBT_PV_TUPLE);
        if (v) v->u.nd = pk_alloc(p, sizeof *v->u.nd);
        if (!v || !v->u.nd || !shape) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
        MBT_TRY(np_fill(p, v->u.nd, shape, arg(args, 0), arg(args, 1)));
        v->built = 1;
        *out = v;
        return MBT_OK;
    }
    case PK_G_NP_NDARRAY:
    case PK_G_TORCH_STORAGE: break;
    }
    return pk_fail(p, MBT_ERR_UNSUPPORTED, "calling %s is not supported", callable->u.g.name);
}

mbt_status pk_newobj(mbt_pickle *p, const mbt_pvalue *cls, const mbt_pvalue *args, mbt_pvalue **out) {
    if (cls->kind == MBT_PV_GLOBAL && cls->u.g.id == PK_G_ORDERED_DICT && args->kind == MBT_PV_TUPLE && !args->u.seq.n) {
        *out = pk_new(p, MBT_PV_DICT);
        return *out ? MBT_OK : pk_fail(p, MBT_ERR_NOMEM, "out of memory");
    }
    return pk_fail(p, MBT_ERR_UNSUPPORTED, "NEWOBJ of %s is not supported",
                   cls->kind == MBT_PV_GLOBAL ? cls->u.g.name : mbt_pv_kind_name(cls->kind));
}

mbt_status pk_build(mbt_pickle *p, mbt_pvalue *obj, const mbt_pvalue *state) {
    if (obj == state) return pk_fail(p, MBT_ERR_FORMAT, "BUILD sets the state of a %s to itself (cycle)",
                                     mbt_pv_kind_name(obj->kind));
    switch (obj->kind) {
    case MBT_PV_NDARRAY: { /* (version, shape, dtype, is_fortran, rawdata) or without version */
        if (obj->built) return pk_fail(p, MBT_ERR_FORMAT, "numpy array state set twice");
        if (state->kind != MBT_PV_TUPLE || (state->u.seq.n != 5 && state->u.seq.n != 4))
            return pk_fail(p, MBT_ERR_FORMAT, "numpy array state must be a tuple of 4 or 5 items");
        size_t o = state->u.seq.n - 4;
        int64_t fortran = 0;
        MBT_TRY(get_int(p, "numpy is_fortran flag", state->u.seq.v[o + 2], &fortran));
        MBT_TRY(np_fill(p, obj->u.nd, state->u.seq.v[o], state->u.seq.v[o + 1], state->u.seq.v[o + 3]));
        if (fortran && obj->u.nd->ndim > 1)
            return pk_fail(p, MBT_ERR_UNSUPPORTED, "numpy arrays in Fortran order are not supported");
        obj->built = 1;
        return MBT_OK;
    }
    case MBT_PV_DTYPE: { /* (version, byte order, subarray, names, fields, elsize, alignment, flags[, meta]) */
        if (state->kind != MBT_PV_TUPLE || state->u.seq.n < 2)
            return pk_fail(p, MBT_ERR_FORMAT, "numpy dtype state must be a tuple");
        const mbt_pvalue *order = state->u.seq.v[1];
        if (order->kind != MBT_PV_STR && order->kind != MBT_PV_BYTES)
            return pk_fail(p, MBT_ERR_FORMAT, "numpy dtype byte order is a %s", mbt_pv_kind_name(order->kind));
        if (order->u.s.n != 1 || !strchr("<>|=", order->u.s.p[0]))
            return pk_fail(p, MBT_ERR_FORMAT, "numpy dtype byte order is not one of < > | =");
        for (size_t i = 2; i < state->u.seq.n && i < 5; i++)
            if (state->u.seq.v[i]->kind != MBT_PV_NONE)
                return pk_fail(p, MBT_ERR_UNSUPPORTED, "structured or sub-array numpy dtypes are not supported");
        obj->u.dt.order = order->u.s.p[0];
        if (obj->u.dt.order == '>' && obj->u.dt.dtype != MBT_DTYPE_U8)
            return pk_fail(p, MBT_ERR_UNSUPPORTED, "big-endian numpy dtypes are not supported");
        obj->built = 1;
        return MBT_OK;
    }
    case MBT_PV_DICT: { /* instance attributes of an OrderedDict, e.g. a state_dict's _metadata */
        const mbt_pvalue *attrs = state;
        if (state->kind == MBT_PV_TUPLE && state->u.seq.n == 2) attrs = state->u.seq.v[0]; /* (dict, slots) */
        if (attrs->kind == MBT_PV_NONE) return MBT_OK;
        if (attrs->kind != MBT_PV_DICT)
            return pk_fail(p, MBT_ERR_FORMAT, "dict attributes must be a dict, got a %s", mbt_pv_kind_name(attrs->kind));
        obj->u.seq.attrs = (mbt_pvalue *)attrs;
        return MBT_OK;
    }
    default:
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "BUILD on a %s is not supported", mbt_pv_kind_name(obj->kind));
    }
}

mbt_status pk_persistent_load(mbt_pickle *p, const mbt_pvalue *pid, mbt_pvalue **out) {
    if (!(p->profile & MBT_PICKLE_TORCH))
        return pk_fail(p, MBT_ERR_UNSUPPORTED, "persistent ids are only understood in torch checkpoints");
    if (pid->kind != MBT_PV_TUPLE || pid->u.seq.n != 5 || !mbt_pvalue_equals(pid->u.seq.v[0], "storage"))
        return pk_fail(p, MBT_ERR_FORMAT, "persistent id is not ('storage', type, key, location, numel)");
    const mbt_pvalue *type = pid->u.seq.v[1], *key = pid->u.seq.v[2], *loc = pid->u.seq.v[3];
    if (type->kind != MBT_PV_GLOBAL || type->u.g.id != PK_G_TORCH_STORAGE)
        return pk_fail(p, MBT_ERR_FORMAT, "persistent id storage type is a %s, not a torch storage class",
                       type->kind == MBT_PV_GLOBAL ? type->u.g.name : mbt_pv_kind_name(type->kind));
    if (key->kind != MBT_PV_STR || key->u.s.n == 0 || key->u.s.n > 255 || memchr(key->u.s.p, '/', key->u.s.n) ||
        memchr(key->u.s.p, 0, key->u.s.n))
        return pk_fail(p, MBT_ERR_FORMAT, "persistent id storage key is not a short name");
    if (loc->kind != MBT_PV_STR || loc->u.s.n > 255)
        return pk_fail(p, MBT_ERR_FORMAT, "persistent id location is not a short string");
    mbt_pv_storage *st = pk_alloc(p, sizeof *st);
    mbt_pvalue *v = pk_new(p, MBT_PV_STORAGE);
    char *k = pk_alloc(p, key->u.s.n + 1), *l = pk_alloc(p, loc->u.s.n + 1);
    if (!st || !v || !k || !l) return pk_fail(p, MBT_ERR_NOMEM, "out of memory");
    memcpy(k, key->u.s.p, key->u.s.n);
    memcpy(l, loc->u.s.p, loc->u.s.n);
    st->dtype = type->u.g.dtype;
    st->type_name = type->u.g.name;
    st->key = k;
    st->location = l;
    MBT_TRY(get_int(p, "storage numel", pid->u.seq.v[4], &st->numel));
    if (st->numel < 0) return pk_fail(p, MBT_ERR_FORMAT, "negative storage size %lld", (long long)st->numel);
    v->u.storage = st;
    *out = v;
    return MBT_OK;
}
