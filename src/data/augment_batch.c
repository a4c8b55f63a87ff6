/* Batch augmentation (see augment_batch.h): buffers, the host-side plans and the CPU runner. */
#include "data/augment_batch.h"

#include <stdlib.h>
#include <string.h>

#include "core/dispatch.h"
#include "data/augment_batch_stages.h"
#include "data/resample.h"

mbt_status mbt_augment_batch_init(mbt_augment_batch *b, mbt_device device, const mbt_augment_recipe *r, int views,
                                  int src_w, int src_h) {
    memset(b, 0, sizeof *b);
    if (mbt_augment_recipe_blurs(r))
        return MBT_FAIL(MBT_ERR_ARG, "batch augmentation: recipe '%s' has blur or solarize, which only the host loader runs",
                        r->name);
    MBT_CHECK_ARG(views >= 1 && src_w >= 1 && src_h >= 1 && r->size >= 1,
                  "batch augmentation: %d views of %dx%d sources to %d px", views, src_w, src_h, r->size);
    /* the contrast sums are 32-bit: 255 * pixels must fit */
    MBT_CHECK_ARG((int64_t)src_w * src_h <= (1 << 24), "batch augmentation: %dx%d sources are too large", src_w, src_h);
    mbt_augment_batch_shape *s = &b->shape;
    s->views = views;
    s->size = r->size;
    s->src_w = src_w;
    s->src_h = src_h;
    s->crop_first = r->crop_first;
    memcpy(s->mean, r->mean, sizeof s->mean);
    memcpy(s->std, r->std, sizeof s->std);
    b->device = device;
    b->filter = r->filter;
    /* the widest tables: a crop as large as the source on either side */
    int kmax = mbt_resample_ksize(src_w > src_h ? src_w : src_h, r->size, r->filter);
    s->table = 2 * (r->size * kmax + 2 * r->size);
    size_t per_src = (size_t)src_w * src_h * 3, tables = (size_t)views * s->table * sizeof(int32_t);
    mbt_plan_init(&b->plan, device);
    mbt_plan_bytes(&b->plan, (void **)&b->dev.plans, (size_t)views * sizeof(mbt_augment_view_plan));
    mbt_plan_bytes(&b->plan, (void **)&b->dev.tables, tables);
    if (!s->crop_first) mbt_plan_bytes(&b->plan, (void **)&b->dev.work, (size_t)views * per_src);
    mbt_plan_bytes(&b->plan, (void **)&b->dev.tmp, (size_t)views * src_h * r->size * 3);
    mbt_plan_bytes(&b->plan, (void **)&b->dev.img, (size_t)views * r->size * r->size * 3);
    mbt_plan_bytes(&b->plan, (void **)&b->dev.sums, (size_t)views * sizeof(uint32_t));
    mbt_status st = MBT_OK;
    if (!mbt_device_host_memory(device)) {
        /* plans and tables in one staging buffer; the upload first: on CUDA it creates the context,
         * whose allocator the plan's commit needs */
        b->tables_at = ((size_t)views * sizeof(mbt_augment_view_plan) + 63) / 64 * 64;
        st = mbt_upload_init(&b->up, device, 1, b->tables_at + tables, "batch augmentation (plans)");
        if (st == MBT_OK) {
            b->host_plans = (mbt_augment_view_plan *)b->up.staging;
            b->host_tables = (int32_t *)(b->up.staging + b->tables_at);
        }
    }
    if (st == MBT_OK) st = mbt_plan_commit(&b->plan);
    if (st == MBT_OK && mbt_device_host_memory(device)) {
        b->host_plans = (mbt_augment_view_plan *)b->dev.plans;
        b->host_tables = (int32_t *)b->dev.tables;
    }
    b->pre = st == MBT_OK ? malloc((size_t)kmax * sizeof(double)) : NULL;
    if (st == MBT_OK && !b->pre) st = MBT_FAIL(MBT_ERR_NOMEM, "batch augmentation: out of memory");
    if (st != MBT_OK) mbt_augment_batch_free(b);
    return st;
}

void mbt_augment_batch_free(mbt_augment_batch *b) {
    mbt_upload_free(&b->up); /* waits for the upload in flight */
    mbt_plan_free(&b->plan);
    free(b->pre);
    memset(b, 0, sizeof *b);
}

mbt_status mbt_augment_batch_begin(mbt_augment_batch *b) {
    if (mbt_device_host_memory(b->device)) return MBT_OK;
    void *staging; /* the one slot, b->host_plans: once its last upload is done */
    return mbt_upload_begin(&b->up, &staging);
}

/* One pass's tables at *at of the view's table: offsets into *k_off, *b_off; -1 when in == out. */
static void set_pass(mbt_augment_batch *b, int32_t *table, int *at, int in, int32_t *k_off, int32_t *b_off,
                     int32_t *ksize) {
    int out = b->shape.size;
    if (in == out) {
        *k_off = *b_off = -1;
        *ksize = 0;
        return;
    }
    *ksize = mbt_resample_ksize(in, out, b->filter);
    *k_off = *at;
    *b_off = *at + out * *ksize;
    mbt_resample_coeffs(in, out, b->filter, *ksize, b->pre, table + *k_off, table + *b_off);
    *at = *b_off + 2 * out;
}

void mbt_augment_batch_set_view(mbt_augment_batch *b, int v, const mbt_augment_params *p, int64_t src) {
    mbt_augment_view_plan *q = &b->host_plans[v];
    int32_t *table = b->host_tables + (size_t)v * b->shape.table;
    memset(q, 0, sizeof *q);
    q->src = src;
    q->crop_x = p->crop.left;
    q->crop_y = p->crop.top;
    q->crop_w = p->crop.width;
    q->crop_h = p->crop.height;
    int at = 0;
    set_pass(b, table, &at, q->crop_w, &q->kx, &q->bx, &q->kx_size);
    set_pass(b, table, &at, q->crop_h, &q->ky, &q->by, &q->ky_size);
    q->flip = p->flip;
    q->jitter = p->jitter;
    q->gray = p->gray;
    memcpy(q->order, p->order, sizeof q->order);
    q->factor[0] = p->brightness;
    q->factor[1] = p->contrast;
    q->factor[2] = p->saturation;
    q->hue_shift = mbt_px_hue_shift(p->hue);
}

void mbt_augment_batch_run_cpu(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *b) {
    mbt_ab_stage stages[MBT_AB_MAX_STAGES];
    int count = mbt_ab_stages(s, stages);
    for (int j = 0; j < count; j++) {
        mbt_ab_stage_kind kind = stages[j].kind;
        int k = stages[j].k;
        size_t n = mbt_ab_stage_elements(s, kind);
        if (kind != MBT_AB_SUMS) {
            for (size_t i = 0; i < n; i++) mbt_ab_element(s, b, kind, k, i);
            continue;
        }
        for (int v = 0; v < s->views; v++) {
            if (!mbt_ab_needs_sum(b, v, k)) continue;
            uint32_t sum = 0;
            for (size_t i = 0; i < n; i++) sum += mbt_ab_luma(s, b, v, i);
            b->sums[v] = sum;
        }
    }
}

static mbt_status run_cpu(const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *bufs) {
    mbt_augment_batch_run_cpu(s, bufs);
    return MBT_OK;
}

static mbt_status run_stages(mbt_device device, const mbt_augment_batch_shape *s, const mbt_augment_batch_bufs *bufs) {
    MBT_DISPATCH("batch augmentation", device, run_cpu(s, bufs), mbt_augment_batch_run_cuda(s, bufs));
}

mbt_status mbt_augment_batch_run(mbt_augment_batch *b, const uint8_t *images, float *out) {
    mbt_augment_batch_bufs bufs = b->dev;
    bufs.images = images;
    bufs.out = out;
    if (!mbt_device_host_memory(b->device)) {
        const size_t views = (size_t)b->shape.views;
        MBT_TRY(mbt_upload_copy(&b->up, (void *)bufs.plans, 0, views * sizeof(mbt_augment_view_plan)));
        MBT_TRY(mbt_upload_copy(&b->up, (void *)bufs.tables, b->tables_at, views * b->shape.table * sizeof(int32_t)));
    }
    return run_stages(b->device, &b->shape, &bufs);
}
