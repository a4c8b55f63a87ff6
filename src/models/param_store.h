/* The parameters of a module (the model, a head): their plans (trainable parameters, gradients, running
 * statistics), the state_dict entries that name them and, on CUDA, the host copies the entries point into.
 * Shared by models/model_*.c and models/mlp_head*.c (internal to models/). */
#ifndef MBT_PARAM_STORE_H
#define MBT_PARAM_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "core/plan.h"
#include "models/model.h"

typedef struct {
    mbt_device device;
    int training;               /* gradients are planned */
    const char *owner;          /* "model", "head": the start of error messages */
    mbt_plan params, grads, buffers;
    /* CUDA: host copies of the params, buffers and grads plans, byte for byte in the plans' layout;
     * the entries point into them. NULL on the CPU, where the entries point into the plans. */
    float *host_params, *host_buffers, *host_grads;
    mbt_param *entries;
    size_t n_entries, cap_entries;
    mbt_status entry_error;
} mbt_param_store;

void mbt_param_store_init(mbt_param_store *s, mbt_device device, int training, const char *owner);
/* Plans n trainable floats (and their gradient when training). */
void mbt_param_store_plan(mbt_param_store *s, float **data, float **grad, size_t n);
/* Commits the three plans and allocates the host copies (CUDA). */
mbt_status mbt_param_store_commit(mbt_param_store *s);
void mbt_param_store_free(mbt_param_store *s);

/* The host-side address of a pointer into the params, buffers or grads plan: the same offset in its
 * host copy on CUDA, p itself on the CPU (and for NULL). */
float *mbt_param_store_host_ptr(const mbt_param_store *s, float *p);

/* Appends the entry prefix+suffix; data and grad are plan (device) addresses, stored as host ones.
 * Failures are remembered in entry_error. */
void mbt_param_store_add(mbt_param_store *s, const char *prefix, const char *suffix, mbt_param_kind kind, int ndim,
                         const int64_t *shape, float *data, float *grad, int64_t *counter);
/* The five entries of a BatchNorm (weight, bias, running_mean, running_var, num_batches_tracked). */
void mbt_param_store_add_bn(mbt_param_store *s, const char *prefix, int c, float *gamma, float *dgamma, float *beta,
                            float *dbeta, float *rmean, float *rvar, int64_t *tracked);
mbt_param *mbt_param_store_find(mbt_param_store *s, const char *name);

/* CUDA: uploads the host copies of the parameters and buffers / downloads parameters, buffers and
 * (training) gradients. CPU: nothing. Synchronous. */
mbt_status mbt_param_store_to_device(mbt_param_store *s);
mbt_status mbt_param_store_to_host(mbt_param_store *s);

/* A clear refusal of a device this build or machine cannot run, before any op is made. */
mbt_status mbt_param_store_check_device(mbt_device device, const char *owner);

#endif
