/* A module's parameter plans, state_dict entries and CUDA host copies (see param_store.h). */
#include "models/param_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"
#ifdef MIXBT_HAVE_CUDA
#include "core/cuda.h"
#endif

void mbt_param_store_init(mbt_param_store *s, mbt_device device, int training, const char *owner) {
    memset(s, 0, sizeof *s);
    s->device = device;
    s->training = training;
    s->owner = owner;
    mbt_plan_init(&s->params, device);
    mbt_plan_init(&s->grads, device);
    mbt_plan_init(&s->buffers, device);
}

void mbt_param_store_plan(mbt_param_store *s, float **data, float **grad, size_t n) {
    mbt_plan_floats(&s->params, data, n);
    if (s->training) mbt_plan_floats(&s->grads, grad, n);
}

static mbt_status alloc_host_copies(mbt_param_store *s) {
    if (s->device == MBT_DEVICE_CPU) return MBT_OK;
    s->host_params = calloc(1, s->params.total_bytes + 1);
    s->host_buffers = calloc(1, s->buffers.total_bytes + 1);
    if (s->training) s->host_grads = calloc(1, s->grads.total_bytes + 1);
    if (!s->host_params || !s->host_buffers || (s->training && !s->host_grads))
        return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory for the host copy of %.1f MiB of parameters", s->owner,
                        (s->params.total_bytes + s->buffers.total_bytes) / 1048576.0);
    return MBT_OK;
}

mbt_status mbt_param_store_commit(mbt_param_store *s) {
    MBT_TRY(mbt_plan_commit(&s->params));
    if (s->training) MBT_TRY(mbt_plan_commit(&s->grads));
    MBT_TRY(mbt_plan_commit(&s->buffers));
    return alloc_host_copies(s);
}

void mbt_param_store_free(mbt_param_store *s) {
    mbt_plan_free(&s->params);
    mbt_plan_free(&s->grads);
    mbt_plan_free(&s->buffers);
    free(s->host_params);
    free(s->host_buffers);
    free(s->host_grads);
    free(s->entries);
    s->host_params = s->host_buffers = s->host_grads = NULL;
    s->entries = NULL;
    s->n_entries = s->cap_entries = 0;
}

static float *in_copy(const mbt_plan *plan, float *copy, float *p) {
    uintptr_t base = (uintptr_t)plan->block, at = (uintptr_t)p;
    if (!copy || !base || at < base || at >= base + plan->total_bytes) return NULL;
    return copy + (at - base) / sizeof(float);
}

float *mbt_param_store_host_ptr(const mbt_param_store *s, float *p) {
    if (!p || s->device == MBT_DEVICE_CPU) return p;
    float *h = in_copy(&s->params, s->host_params, p);
    if (!h) h = in_copy(&s->buffers, s->host_buffers, p);
    if (!h) h = in_copy(&s->grads, s->host_grads, p);
    return h;
}

void mbt_param_store_add(mbt_param_store *s, const char *prefix, const char *suffix, mbt_param_kind kind, int ndim,
                         const int64_t *shape, float *data, float *grad, int64_t *counter) {
    if (s->entry_error) return;
    if (s->n_entries == s->cap_entries) {
        size_t cap = s->cap_entries ? 2 * s->cap_entries : 128;
        mbt_param *e = realloc(s->entries, cap * sizeof *e);
        if (!e) {
            s->entry_error = MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory for parameter names", s->owner);
            return;
        }
        s->entries = e;
        s->cap_entries = cap;
    }
    mbt_param *p = &s->entries[s->n_entries++];
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s%s", prefix, suffix);
    p->kind = kind;
    p->ndim = ndim;
    p->numel = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->numel *= (size_t)shape[i];
    }
    p->data = mbt_param_store_host_ptr(s, data);
    p->grad = mbt_param_store_host_ptr(s, grad);
    p->counter = counter;
}

void mbt_param_store_add_bn(mbt_param_store *s, const char *prefix, int c, float *gamma, float *dgamma, float *beta,
                            float *dbeta, float *rmean, float *rvar, int64_t *tracked) {
    int64_t shape[1] = {c};
    mbt_param_store_add(s, prefix, "weight", MBT_PARAM_WEIGHT, 1, shape, gamma, dgamma, NULL);
    mbt_param_store_add(s, prefix, "bias", MBT_PARAM_WEIGHT, 1, shape, beta, dbeta, NULL);
    mbt_param_store_add(s, prefix, "running_mean", MBT_PARAM_BUFFER, 1, shape, rmean, NULL, NULL);
    mbt_param_store_add(s, prefix, "running_var", MBT_PARAM_BUFFER, 1, shape, rvar, NULL, NULL);
    mbt_param_store_add(s, prefix, "num_batches_tracked", MBT_PARAM_COUNTER, 0, shape, NULL, NULL, tracked);
}

mbt_param *mbt_param_store_find(mbt_param_store *s, const char *name) {
    for (size_t i = 0; i < s->n_entries; i++)
        if (!strcmp(s->entries[i].name, name)) return &s->entries[i];
    return NULL;
}

mbt_status mbt_param_store_to_device(mbt_param_store *s) {
    if (s->device == MBT_DEVICE_CPU) return MBT_OK;
    MBT_TRY(mbt_device_from_host(s->device, s->params.block, s->host_params, s->params.total_bytes));
    return mbt_device_from_host(s->device, s->buffers.block, s->host_buffers, s->buffers.total_bytes);
}

mbt_status mbt_param_store_to_host(mbt_param_store *s) {
    if (s->device == MBT_DEVICE_CPU) return MBT_OK;
    MBT_TRY(mbt_device_to_host(s->device, s->host_params, s->params.block, s->params.total_bytes));
    MBT_TRY(mbt_device_to_host(s->device, s->host_buffers, s->buffers.block, s->buffers.total_bytes));
    if (s->training) MBT_TRY(mbt_device_to_host(s->device, s->host_grads, s->grads.block, s->grads.total_bytes));
    return MBT_OK;
}

mbt_status mbt_param_store_check_device(mbt_device device, const char *owner) {
    if (device == MBT_DEVICE_CPU) return MBT_OK;
    if (device != MBT_DEVICE_CUDA) return MBT_FAIL(MBT_ERR_ARG, "%s: unknown device %d", owner, (int)device);
#ifdef MIXBT_HAVE_CUDA
    mbt_cuda_context *ctx;
    return mbt_cuda_context_get(&ctx); /* also registers the allocator of CUDA plans */
#else
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "%s: device cuda: this mixbt was built without the CUDA backend", owner);
#endif
}
