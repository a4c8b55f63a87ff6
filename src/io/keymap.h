/* Renaming the tensors of a state dict so that checkpoints from other code load into mixbt's models:
 * DDP "module." prefixes, prefix rules, and torchvision ResNet names <-> the reference models' names. */
#ifndef MBT_KEYMAP_H
#define MBT_KEYMAP_H

#include <stddef.h>

#include "io/state_dict.h"

/* A prefix rule: names starting with `from` get `to` instead of it; to == NULL drops the tensor.
 * from = "" matches every name (to add a prefix, or to drop everything not matched before). */
typedef struct {
    const char *from;
    const char *to;
} mbt_keymap_rule;

/* Applies rules to every name, the first matching rule winning (names matching none stay). Fails
 * with MBT_ERR_ARG naming a duplicate if two tensors end up with the same name (then sd is left
 * renamed but unindexed; free it). *renamed and *dropped (may be NULL) receive the counts. */
mbt_status mbt_keymap_apply(mbt_state_dict *sd, const mbt_keymap_rule *rules, size_t n_rules, size_t *renamed,
                            size_t *dropped);
/* Removes `prefix` from the names that start with it. */
mbt_status mbt_keymap_strip_prefix(mbt_state_dict *sd, const char *prefix, size_t *renamed);
/* Removes "module." (DistributedDataParallel / DataParallel) while every name starts with it. */
mbt_status mbt_keymap_strip_ddp(mbt_state_dict *sd, size_t *renamed);
/* Keeps only the tensors whose names start with prefix, without it ("backbone." -> a bare backbone). */
mbt_status mbt_keymap_keep_prefix(mbt_state_dict *sd, const char *prefix, size_t *kept);

typedef enum {
    MBT_KEYMAP_TV_TO_SMALL_CIFAR = 0, /* torchvision resnet -> small-data Model f.* (no max pool: layer1 = f.3) */
    MBT_KEYMAP_TV_TO_SMALL_POOL,      /* torchvision resnet -> small-data Model f.* with max pool (layer1 = f.4) */
    MBT_KEYMAP_TV_TO_BACKBONE,        /* torchvision resnet -> ImageNet Barlow Twins backbone.* */
    MBT_KEYMAP_SMALL_CIFAR_TO_TV,     /* the inverses: f.* / backbone.* -> torchvision names (projector dropped) */
    MBT_KEYMAP_SMALL_POOL_TO_TV,
    MBT_KEYMAP_BACKBONE_TO_TV
} mbt_keymap_preset;

/* The rules of a preset (static storage). fc.* is dropped going to mixbt names; g.* / projector.* are
 * dropped going to torchvision names. */
const mbt_keymap_rule *mbt_keymap_preset_rules(mbt_keymap_preset preset, size_t *n_rules);
/* Parses "tv-small-cifar", "tv-small-pool", "tv-backbone", "small-cifar-tv", "small-pool-tv",
 * "backbone-tv". */
mbt_status mbt_keymap_preset_parse(const char *name, mbt_keymap_preset *preset);

#endif
