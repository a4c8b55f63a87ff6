/* Training checkpoints: the model's state_dict (PyTorch names), the optimizer's moments, the run's
 * position (epoch, step) and configuration, in one safetensors file written atomically. */
#ifndef MBT_TRAIN_CHECKPOINT_H
#define MBT_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "models/model.h"
#include "optim/adam.h"

typedef struct {
    int epoch;            /* epochs completed */
    int64_t step;         /* optimizer steps completed */
    int64_t batch_in_epoch; /* batches of the current epoch already trained (0 at an epoch boundary) */
    double best_knn;      /* best k-NN top-1 so far (-1: none) */
    uint64_t seed;
} mbt_train_position;

/* The running sums of the epoch in progress, so that its metrics row after a stop and a resume is the
 * uninterrupted run's (mean losses over all its steps). */
#define MBT_EPOCH_MAX_VALUES 4
typedef struct {
    int n_values;                               /* loss values per step (Mixed BT: 2) */
    const char *names[MBT_EPOCH_MAX_VALUES];    /* their names ("loss_bt", "loss_reg"; "loss"): the metadata
                                                   key mixbt.epoch_<name>_sum; NULL: "loss_bt", "loss_reg" */
    double sums[MBT_EPOCH_MAX_VALUES];          /* sums over the epoch's steps so far */
    int64_t steps;
    int knn_before_pending;   /* the k-NN pass before training was cut short: a resume runs it first */
} mbt_epoch_sums;

/* Writes path atomically. adam may be NULL (model only); config_json may be NULL. The model and the
 * optimizer state may be on any device (they are read back to the host first; the model's host copy is
 * refreshed by mbt_model_params_to_host). */
mbt_status mbt_checkpoint_save(const char *path, mbt_model *model, const mbt_adam_state *adam,
                               const mbt_train_position *pos, const char *config_json);

/* mbt_checkpoint_save with the epoch's running sums (sums may be NULL). */
mbt_status mbt_checkpoint_save_sums(const char *path, mbt_model *model, const mbt_adam_state *adam,
                                    const mbt_train_position *pos, const mbt_epoch_sums *sums, const char *config_json);

/* Loads a safetensors checkpoint written by mixbt (or any safetensors state dict with the model's
 * names) into the model: every model entry must be present with its shape (else MBT_ERR_FORMAT naming
 * the first missing or mismatched one, and how many). When adam/pos are not NULL, the optimizer state
 * and the position are restored too (MBT_ERR_FORMAT if the file has none). *config_json receives a
 * malloc'ed copy of the stored configuration when config_json is not NULL (NULL if absent). The values
 * are uploaded to the model's and the optimizer state's device, whichever device wrote the file. */
mbt_status mbt_checkpoint_load(const char *path, mbt_model *model, mbt_adam_state *adam, mbt_train_position *pos,
                               char **config_json);

/* The position stored in a training checkpoint, without loading its tensors' values. */
mbt_status mbt_checkpoint_read_position(const char *path, mbt_train_position *pos);

/* mbt_checkpoint_load that also restores the epoch's running sums (sums may be NULL; zero when the
 * file has none, as those written before they were saved). */
mbt_status mbt_checkpoint_load_sums(const char *path, mbt_model *model, mbt_adam_state *adam, mbt_train_position *pos,
                                    mbt_epoch_sums *sums, char **config_json);

/* A training state of several parts (a method's backbone, heads, target network and one optimizer state
 * per parameter segment), as the method interface (tasks/method.h) lists it. */
typedef struct {
    const char *name;     /* "": the keys mixbt.optimizer.exp_avg, .exp_avg_sq, .step (a one-segment run, as
                             Mixed BT's); else mixbt.optimizer.<name>.exp_avg, ... */
    mbt_adam_state *adam;
} mbt_checkpoint_optim;

typedef struct {
    mbt_param *const *entries; /* the state_dict entries in order (host memory) */
    size_t n_entries;
    const char *arch;          /* mixbt.arch, and the name in a "does not fit" message */
    const mbt_checkpoint_optim *optim;
    int n_optim;               /* 0: the entries only */
} mbt_checkpoint_state;

/* mbt_checkpoint_save_sums over a state: the entries' host copies must be current (the caller downloads
 * them first); the optimizer states are read back from their device here. */
mbt_status mbt_checkpoint_save_state(const char *path, const mbt_checkpoint_state *state, const mbt_train_position *pos,
                                     const mbt_epoch_sums *sums, const char *config_json);
/* mbt_checkpoint_load_sums into a state: the entries' host copies are written (the caller uploads them
 * after), the optimizer states are uploaded to their device here; pos NULL: no position or optimizer. */
mbt_status mbt_checkpoint_load_state(const char *path, const mbt_checkpoint_state *state, mbt_train_position *pos,
                                     mbt_epoch_sums *sums, char **config_json);

#endif
