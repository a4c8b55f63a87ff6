/* Help-text pieces of the dataset flags from the dataset kinds' table (see kind_help.h). */
#include "cli/kind_help.h"

#include <stdio.h>
#include <string.h>

/* Appends text to buf (cap bytes, always terminated), after sep unless buf is empty. */
static void append(char *buf, size_t cap, const char *sep, const char *text) {
    size_t len = strlen(buf);
    if (len < cap) snprintf(buf + len, cap - len, "%s%s", len ? sep : "", text);
}

const char *kind_help_aliases(char *buf, size_t cap, unsigned uses) {
    buf[0] = 0;
    for (int i = 0; i < mbt_dataset_kind_count(); i++) {
        const mbt_dataset_kind *k = mbt_dataset_kind_at(i);
        if ((k->uses & uses) && k->alias) append(buf, cap, ", ", k->alias);
    }
    return buf;
}

const char *kind_help_titles(char *buf, size_t cap, unsigned uses, mbt_subset_rule rule, const char *sep) {
    buf[0] = 0;
    for (int i = 0; i < mbt_dataset_kind_count(); i++) {
        const mbt_dataset_kind *k = mbt_dataset_kind_at(i);
        if ((k->uses & uses) && k->subset == rule) append(buf, cap, sep, k->title);
    }
    return buf;
}

const char *kind_help_subset(char *buf, size_t cap, const char *what, unsigned uses) {
    char spread[256] = "";
    for (int i = 0; i < mbt_dataset_kind_count(); i++) {
        const mbt_dataset_kind *k = mbt_dataset_kind_at(i);
        if ((k->uses & uses) && k->subset == MBT_SUBSET_SPREAD) append(spread, sizeof spread, ", ", k->name);
    }
    if (spread[0]) snprintf(buf, cap, "%s (N spread over the classes for %s; 0: all)", what, spread);
    else snprintf(buf, cap, "%s (0: all)", what);
    return buf;
}
