/* Training checkpoints: the model's state_dict (PyTorch names), the optimizer's moments, the run's
 * position (epoch, step) and configuration, in one safetensors file written atomically. */
#ifndef MBT_CHECKPOINT_H
#define MBT_CHECKPOINT_H

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
typedef struct {
    double loss_bt, loss_reg; /* sums over the epoch's steps so far */
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

#endif
