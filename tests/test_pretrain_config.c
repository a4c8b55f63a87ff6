/* Tests of the pretraining configuration's field table (tasks/pretrain_config.h): every recipe field goes
 * through config.json and back, fields that describe how a run ran do not come back, run folders without
 * an optional field get its default, and a missing or mistyped field is refused by name. */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "tasks/pretrain_config.h"

static int is_string(mbt_field_type t) { return t == MBT_FIELD_STRING || t == MBT_FIELD_CHOICE || t == MBT_FIELD_DEVICE; }

/* A value that differs from the default, distinct per field (index i). */
static void set_other(mbt_pretrain_config *c, const mbt_config_field *f, size_t i, char names[][24]) {
    void *p = mbt_pretrain_field_ptr(c, f);
    switch (f->type) {
    case MBT_FIELD_STRING:
    case MBT_FIELD_CHOICE:
    case MBT_FIELD_DEVICE:
        snprintf(names[i], 24, "v%zu", i);
        *(const char **)p = names[i];
        break;
    case MBT_FIELD_INT: *(int *)p += 7 + (int)i; break;
    case MBT_FIELD_BOOL: *(int *)p = !*(int *)p; break;
    case MBT_FIELD_INT64: *(int64_t *)p += 9000000000LL + (int64_t)i; break;
    case MBT_FIELD_UINT64: *(uint64_t *)p = 18446744073709551557ULL - i; break; /* beyond a double's 53 bits */
    case MBT_FIELD_DOUBLE: *(double *)p += 0.1 + (double)i; break;
    }
}

static int same(mbt_pretrain_config *a, mbt_pretrain_config *b, const mbt_config_field *f) {
    void *p = mbt_pretrain_field_ptr(a, f), *q = mbt_pretrain_field_ptr(b, f);
    if (is_string(f->type)) {
        const char *x = *(const char **)p, *y = *(const char **)q;
        return x == y || (x && y && !strcmp(x, y));
    }
    switch (f->type) {
    case MBT_FIELD_INT:
    case MBT_FIELD_BOOL: return *(int *)p == *(int *)q;
    case MBT_FIELD_INT64: return *(int64_t *)p == *(int64_t *)q;
    case MBT_FIELD_UINT64: return *(uint64_t *)p == *(uint64_t *)q;
    default: return *(double *)p == *(double *)q;
    }
}

static void round_trip(void) {
    size_t n;
    const mbt_config_field *fields = mbt_pretrain_fields(&n);
    char names[128][24];
    CHECK(n <= 128);
    mbt_pretrain_config written, read, defaults;
    mbt_pretrain_config_defaults(&written);
    mbt_pretrain_config_defaults(&defaults);
    for (size_t i = 0; i < n; i++) set_other(&written, &fields[i], i, names);
    char *text = mbt_pretrain_config_to_json(&written);
    mbt_pretrain_config_defaults(&read);
    void *tree = NULL;
    CHECK_OK(mbt_pretrain_config_from_json("config.json", text, &read, &tree));
    cJSON *j = cJSON_Parse(text);
    for (size_t i = 0; i < n; i++) {
        const mbt_config_field *f = &fields[i];
        int stored = cJSON_GetObjectItemCaseSensitive(j, f->key) != NULL;
        CHECK_MSG(stored == (f->role != MBT_FIELD_SESSION), "field %s: stored %d, role %d", f->key, stored, (int)f->role);
        if (f->role == MBT_FIELD_RECIPE) CHECK_MSG(same(&read, &written, f), "field %s: not read back", f->key);
        else CHECK_MSG(same(&read, &defaults, f), "field %s: read back although not part of the recipe", f->key);
        for (size_t k = 0; k < i; k++) { /* keys and flags are unique */
            CHECK_MSG(strcmp(fields[k].key, f->key) != 0, "key %s twice", f->key);
            if (f->flag && fields[k].flag) CHECK_MSG(strcmp(fields[k].flag, f->flag) != 0, "flag --%s twice", f->flag);
        }
        CHECK_MSG(mbt_pretrain_field(f->key) == f, "mbt_pretrain_field(%s)", f->key);
    }
    cJSON_Delete((cJSON *)tree);

    /* each recipe field removed in turn: optional ones take their default, the others are refused by name */
    for (size_t i = 0; i < n; i++) {
        const mbt_config_field *f = &fields[i];
        if (f->role != MBT_FIELD_RECIPE) continue;
        cJSON *k = cJSON_Duplicate(j, 1);
        cJSON_DeleteItemFromObjectCaseSensitive(k, f->key);
        char *t = cJSON_Print(k);
        mbt_pretrain_config_defaults(&read);
        tree = NULL;
        mbt_status st = mbt_pretrain_config_from_json("run/config.json", t, &read, &tree);
        if (f->optional) {
            CHECK_MSG(st == MBT_OK && same(&read, &defaults, f), "optional field %s: not defaulted", f->key);
        } else {
            CHECK_MSG(st == MBT_ERR_FORMAT && strstr(mbt_error_message(), f->key) && strstr(mbt_error_message(), "run/config.json"),
                      "missing %s: status %d, '%s'", f->key, (int)st, mbt_error_message());
        }
        cJSON_Delete((cJSON *)tree);
        /* and of the wrong JSON type */
        cJSON_AddItemToObject(k, f->key, is_string(f->type) || f->type == MBT_FIELD_UINT64 ? cJSON_CreateNumber(1) : cJSON_CreateString("1"));
        free(t);
        t = cJSON_Print(k);
        tree = NULL;
        st = mbt_pretrain_config_from_json("run/config.json", t, &read, &tree);
        CHECK_MSG(st == MBT_ERR_FORMAT && strstr(mbt_error_message(), f->key), "mistyped %s: status %d", f->key, (int)st);
        cJSON_Delete((cJSON *)tree);
        cJSON_Delete(k);
        free(t);
    }
    tree = NULL;
    CHECK(mbt_pretrain_config_from_json("c.json", "{not json", &read, &tree) == MBT_ERR_FORMAT);
    cJSON_Delete((cJSON *)tree);
    cJSON_Delete(j);
    free(text);
}

int main(void) {
    round_trip();
    return check_report("test_pretrain_config");
}
