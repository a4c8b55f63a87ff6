/* State-dict key mapping: prefix rules, DDP prefixes and the torchvision <-> reference-model presets. */
#include "io/keymap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mbt_status mbt_keymap_apply(mbt_state_dict *sd, const mbt_keymap_rule *rules, size_t n_rules, size_t *renamed,
                            size_t *dropped) {
    size_t nr = 0, nd = 0;
    for (size_t i = 0; i < sd->count;) {
        const char *name = sd->tensors[i].name;
        const mbt_keymap_rule *r = NULL;
        for (size_t k = 0; k < n_rules && !r; k++)
            if (!strncmp(name, rules[k].from, strlen(rules[k].from))) r = &rules[k];
        if (!r) {
            i++;
            continue;
        }
        if (!r->to) {
            mbt_state_dict_remove(sd, i);
            nd++;
            continue;
        }
        size_t fl = strlen(r->from), tl = strlen(r->to), rest = strlen(name) - fl;
        if (fl || tl) {
            char *n = malloc(tl + rest + 1);
            if (!n) return MBT_FAIL(MBT_ERR_NOMEM, "keymap: no memory to rename '%s'", name);
            memcpy(n, r->to, tl);
            memcpy(n + tl, name + fl, rest + 1);
            if (strcmp(n, name)) nr++;
            mbt_status s = mbt_state_dict_set_name(sd, i, n);
            free(n);
            MBT_TRY(s);
        }
        i++;
    }
    if (renamed) *renamed = nr;
    if (dropped) *dropped = nd;
    return mbt_state_dict_reindex(sd);
}

mbt_status mbt_keymap_strip_prefix(mbt_state_dict *sd, const char *prefix, size_t *renamed) {
    mbt_keymap_rule r = {prefix, ""};
    return mbt_keymap_apply(sd, &r, 1, renamed, NULL);
}

mbt_status mbt_keymap_strip_ddp(mbt_state_dict *sd, size_t *renamed) {
    size_t total = 0;
    while (sd->count) {
        for (size_t i = 0; i < sd->count; i++)
            if (strncmp(sd->tensors[i].name, "module.", 7)) goto done;
        size_t n;
        MBT_TRY(mbt_keymap_strip_prefix(sd, "module.", &n));
        total += n;
    }
done:
    if (renamed) *renamed = total;
    return MBT_OK;
}

mbt_status mbt_keymap_keep_prefix(mbt_state_dict *sd, const char *prefix, size_t *kept) {
    mbt_keymap_rule r[2] = {{prefix, ""}, {"", NULL}};
    MBT_TRY(mbt_keymap_apply(sd, r, 2, NULL, NULL));
    if (kept) *kept = sd->count;
    return MBT_OK;
}

static const mbt_keymap_rule tv_small_cifar[] = {
    {"conv1.", "f.0."}, {"bn1.", "f.1."}, {"layer1.", "f.3."}, {"layer2.", "f.4."},
    {"layer3.", "f.5."}, {"layer4.", "f.6."}, {"fc.", NULL}};
static const mbt_keymap_rule tv_small_pool[] = {
    {"conv1.", "f.0."}, {"bn1.", "f.1."}, {"layer1.", "f.4."}, {"layer2.", "f.5."},
    {"layer3.", "f.6."}, {"layer4.", "f.7."}, {"fc.", NULL}};
static const mbt_keymap_rule tv_backbone[] = {{"fc.", NULL}, {"", "backbone."}};
static const mbt_keymap_rule small_cifar_tv[] = {
    {"f.0.", "conv1."}, {"f.1.", "bn1."}, {"f.3.", "layer1."}, {"f.4.", "layer2."},
    {"f.5.", "layer3."}, {"f.6.", "layer4."}, {"", NULL}};
static const mbt_keymap_rule small_pool_tv[] = {
    {"f.0.", "conv1."}, {"f.1.", "bn1."}, {"f.4.", "layer1."}, {"f.5.", "layer2."},
    {"f.6.", "layer3."}, {"f.7.", "layer4."}, {"", NULL}};
static const mbt_keymap_rule backbone_tv[] = {{"backbone.", ""}, {"", NULL}};

static const struct {
    const char *name;
    const mbt_keymap_rule *rules;
    size_t n;
} presets[] = {
    [MBT_KEYMAP_TV_TO_SMALL_CIFAR] = {"tv-small-cifar", tv_small_cifar, sizeof tv_small_cifar / sizeof *tv_small_cifar},
    [MBT_KEYMAP_TV_TO_SMALL_POOL] = {"tv-small-pool", tv_small_pool, sizeof tv_small_pool / sizeof *tv_small_pool},
    [MBT_KEYMAP_TV_TO_BACKBONE] = {"tv-backbone", tv_backbone, sizeof tv_backbone / sizeof *tv_backbone},
    [MBT_KEYMAP_SMALL_CIFAR_TO_TV] = {"small-cifar-tv", small_cifar_tv, sizeof small_cifar_tv / sizeof *small_cifar_tv},
    [MBT_KEYMAP_SMALL_POOL_TO_TV] = {"small-pool-tv", small_pool_tv, sizeof small_pool_tv / sizeof *small_pool_tv},
    [MBT_KEYMAP_BACKBONE_TO_TV] = {"backbone-tv", backbone_tv, sizeof backbone_tv / sizeof *backbone_tv},
};

const mbt_keymap_rule *mbt_keymap_preset_rules(mbt_keymap_preset preset, size_t *n_rules) {
    if ((int)preset < 0 || (size_t)preset >= sizeof presets / sizeof *presets) {
        *n_rules = 0;
        return NULL;
    }
    *n_rules = presets[preset].n;
    return presets[preset].rules;
}

mbt_status mbt_keymap_preset_parse(const char *name, mbt_keymap_preset *preset) {
    for (size_t i = 0; i < sizeof presets / sizeof *presets; i++)
        if (!strcmp(name, presets[i].name)) {
            *preset = (mbt_keymap_preset)i;
            return MBT_OK;
        }
    return MBT_FAIL(MBT_ERR_ARG,
                    "unknown key mapping '%s' (tv-small-cifar, tv-small-pool, tv-backbone, small-cifar-tv, "
                    "small-pool-tv, backbone-tv)",
                    name);
}
