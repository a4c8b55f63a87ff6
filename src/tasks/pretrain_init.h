/* `mixbt pretrain --init-from FILE`: a new run (epoch 0, a fresh optimizer) whose model starts from a
 * checkpoint's weights instead of the seed's initialisation. FILE is a mixbt checkpoint (its
 * mixbt.optimizer.* state is not read), a PyTorch state_dict .pth, or a training checkpoint .pth such as
 * the original project's checkpoint.pth (the 'model' dict, found as io/pth.h detects it; its optimizer
 * state is not read); DistributedDataParallel's "module." prefixes are removed, and a bare torchvision
 * ResNet's names (conv1.*, layer1.*, ...; fc.* dropped) are mapped onto the run's backbone. The entries
 * are matched by name as PyTorch's load_state_dict does: strict (the default), any missing or unexpected
 * key is an error listing them; not strict, the matching entries load and the others are reported as a
 * warning. A shape mismatch is always an error naming the key and both shapes. */
#ifndef MBT_PRETRAIN_INIT_H
#define MBT_PRETRAIN_INIT_H

#include <stdio.h>

#include "models/model.h"
#include "tasks/pretrain.h"

/* The flag combinations, before anything is read or made: --init-from with --resume, --strict with
 * --no-strict, either without --init-from, an unreadable FILE; MBT_ERR_ARG with one line. */
mbt_status mbt_pretrain_init_check(const mbt_pretrain_config *cfg);

/* Loads the weights of cfg->init_from into the entries (host memory: the caller uploads them after; a
 * method's state_dict entries, tasks/method.h), strict unless cfg->no_strict. Without a target network in
 * FILE (not strict), BYOL's model_t.* / head_t.* entries start as copies of the loaded online ones, as
 * BYOL's target starts. Notes and the not-strict warning go to log. *record receives a cJSON object for
 * config.json: path, bytes, mtime, md5, strict, loaded, missing, unexpected (the caller deletes it). */
mbt_status mbt_pretrain_init_load(const mbt_pretrain_config *cfg, mbt_param *const *entries, size_t n_entries,
                                  FILE *log, void **record);

#endif
