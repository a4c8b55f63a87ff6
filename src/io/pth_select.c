/* Finding the state dict inside an unpickled checkpoint: by key path, or by auto-detection. */
#include <stdio.h>
#include <string.h>

#include "io/pth.h"

/* 1 if d is a dict whose values are all tensors (an empty dict counts). */
static int is_tensor_dict(const mbt_pvalue *d) {
    if (mbt_pvalue_kind(d) != MBT_PV_DICT) return 0;
    size_t n = mbt_pvalue_len(d);
    for (size_t i = 0; i < n; i++)
        if (mbt_pvalue_kind(mbt_pvalue_dict_value(d, i)) != MBT_PV_TENSOR) return 0;
    return 1;
}

/* "a, b, c" from the string keys of a dict (at most ~size bytes). */
static const char *key_list(const mbt_pvalue *d, char *buf, size_t size) {
    buf[0] = 0;
    size_t n = mbt_pvalue_len(d), used = 0;
    for (size_t i = 0; i < n && used + 8 < size; i++) {
        size_t len;
        const char *k = mbt_pvalue_bytes(mbt_pvalue_dict_key(d, i), &len);
        int w = k ? snprintf(buf + used, size - used, "%s'%.*s'", i ? ", " : "", (int)(len > 64 ? 64 : len), k)
                  : snprintf(buf + used, size - used, "%s<%s key>", i ? ", " : "",
                             mbt_pv_kind_name(mbt_pvalue_kind(mbt_pvalue_dict_key(d, i))));
        if (w < 0 || (size_t)w >= size - used) {
            snprintf(buf + (used < size - 5 ? used : size - 5), 5, "...");
            break;
        }
        used += (size_t)w;
    }
    return buf;
}

typedef struct {
    char (*paths)[256];
    size_t max, n;
    size_t budget; /* nodes left to visit: bounds the walk over shared sub-dicts */
} finder;

static void find(finder *f, const mbt_pvalue *d, char *path, size_t plen, int depth) {
    if (!f->budget) return;
    f->budget--;
    if (is_tensor_dict(d) && mbt_pvalue_len(d) > 0) {
        if (f->n < f->max) snprintf(f->paths[f->n], 256, "%s", path);
        f->n++;
        return;
    }
    if (depth >= 4) return;
    size_t n = mbt_pvalue_len(d);
    for (size_t i = 0; i < n; i++) {
        const mbt_pvalue *v = mbt_pvalue_dict_value(d, i);
        size_t klen;
        const char *k = mbt_pvalue_bytes(mbt_pvalue_dict_key(d, i), &klen);
        /* only names a key path can address: not empty, without '/' or NUL */
        if (!k || !klen || mbt_pvalue_kind(v) != MBT_PV_DICT || memchr(k, '/', klen) || memchr(k, 0, klen) ||
            plen + klen + 2 > 256)
            continue;
        char sub[256];
        snprintf(sub, sizeof sub, "%s%s%.*s", path, plen ? "/" : "", (int)klen, k);
        find(f, v, sub, strlen(sub), depth + 1);
    }
}

mbt_status mbt_pth_find_state_dicts(const mbt_pvalue *root, char (*paths)[256], size_t max, size_t *n) {
    finder f = {paths, max, 0, 4096};
    char empty[1] = "";
    if (mbt_pvalue_kind(root) == MBT_PV_DICT) find(&f, root, empty, 0, 0);
    *n = f.n;
    return MBT_OK;
}

static void set_path(char *path, size_t size, const char *v) {
    if (path && size) snprintf(path, size, "%s", v);
}

/* The dict at a non-empty key path. */
static mbt_status select_path(const mbt_pvalue *root, const char *key, const char *what, const mbt_pvalue **dict) {
    char keys[512], part[256];
    const mbt_pvalue *d = root;
    for (const char *s = key; *s;) {
        const char *e = strchr(s, '/');
        size_t len = e ? (size_t)(e - s) : strlen(s);
        if (len >= sizeof part) return MBT_FAIL(MBT_ERR_ARG, "%s: key '%s' is too long", what, key);
        memcpy(part, s, len);
        part[len] = 0;
        const mbt_pvalue *next = mbt_pvalue_dict_get(d, part);
        if (!next)
            return MBT_FAIL(MBT_ERR_ARG, "%s: no entry '%s' (key '%s'); entries here: %s", what, part, key,
                            key_list(d, keys, sizeof keys));
        d = next;
        s += len;
        if (*s == '/') s++;
    }
    if (mbt_pvalue_kind(d) != MBT_PV_DICT)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: entry '%s' is a %s, not a dict of tensors", what, key,
                        mbt_pv_kind_name(mbt_pvalue_kind(d)));
    *dict = d;
    return MBT_OK;
}

mbt_status mbt_pth_select(const mbt_pvalue *root, const char *key, const char *what, const mbt_pvalue **dict,
                          char *path, size_t path_size) {
    char keys[512];
    *dict = NULL;
    if (mbt_pvalue_kind(root) != MBT_PV_DICT)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: the saved object is a %s, not a dict of tensors", what,
                        mbt_pv_kind_name(mbt_pvalue_kind(root)));
    if (key && *key) {
        MBT_TRY(select_path(root, key, what, dict));
        set_path(path, path_size, key);
        return MBT_OK;
    }
    if (is_tensor_dict(root)) {
        *dict = root;
        set_path(path, path_size, "");
        return MBT_OK;
    }
    static const char *const names[] = {"state_dict", "model", "model_state_dict"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        const mbt_pvalue *d = mbt_pvalue_dict_get(root, names[i]);
        if (is_tensor_dict(d)) {
            *dict = d;
            set_path(path, path_size, names[i]);
            return MBT_OK;
        }
    }
    char found[8][256];
    size_t n;
    MBT_TRY(mbt_pth_find_state_dicts(root, found, 8, &n));
    if (n == 1) {
        MBT_TRY(select_path(root, found[0], what, dict));
        set_path(path, path_size, found[0]);
        return MBT_OK;
    }
    if (n == 0)
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: no dict of tensors found (top-level entries: %s)", what,
                        key_list(root, keys, sizeof keys));
    char list[1024] = "";
    for (size_t i = 0; i < n && i < 8; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s'%.200s'", i ? ", " : "", found[i]);
    }
    return MBT_FAIL(MBT_ERR_ARG, "%s: %zu dicts of tensors (%s%s); choose one with a key", what, n, list,
                    n > 8 ? ", ..." : "");
}
