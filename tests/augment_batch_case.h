/* The batch augmentation check shared by test_augment_batch (CPU) and test_augment_batch_cuda: random
 * sources in one array, the loader's random choices plus forced corner cases (crops already of the
 * output width, height or both; jitter off and on with every op order; gray; flip), run as one batch
 * on a device and compared bit for bit with mbt_augment_apply on each view. */
#ifndef MBT_TEST_AUGMENT_BATCH_CASE_H
#define MBT_TEST_AUGMENT_BATCH_CASE_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/device.h"
#include "core/plan.h"
#include "core/rng.h"
#include "data/augment.h"
#include "data/augment_batch.h"

/* Forces the choices of view v (of a src_w x src_h source) into the corner cases, by v modulo 8. */
static void force_corner_case(int v, int size, int src_w, int src_h, mbt_augment_params *p) {
    int w = size <= src_w ? size : src_w, h = size <= src_h ? size : src_h;
    switch (v % 8) {
    case 0: p->crop = (mbt_crop_box){src_h - h, src_w - w, h, w}; break; /* no resize where the source allows */
    case 1: p->crop = (mbt_crop_box){0, src_w - w, src_h, w}; break;     /* width already the size */
    case 2: p->crop = (mbt_crop_box){src_h - h, 0, h, src_w}; break;     /* height already the size */
    case 3: p->jitter = 0; p->gray = 1; break;
    case 4: /* contrast first and last: its mean is taken after the other ops */
        p->jitter = 1;
        p->order[0] = 1, p->order[1] = 3, p->order[2] = 0, p->order[3] = 2;
        p->contrast = 1.4f, p->hue = -0.5f, p->flip = 1;
        break;
    case 5:
        p->jitter = 1;
        p->order[0] = 3, p->order[1] = 2, p->order[2] = 0, p->order[3] = 1;
        p->saturation = 0.0f, p->hue = 0.5f, p->brightness = 1.4f, p->gray = 1;
        break;
    case 6: /* ops left out (a recipe value of 0, torchvision's None) around the others */
        p->jitter = 1;
        p->order[0] = -1, p->order[1] = 1, p->order[2] = -1, p->order[3] = 2;
        break;
    default: break; /* as drawn */
    }
}

/* Runs `views` augmentations of recipe `name` (output side `size`, 0: the recipe's) over src_w x src_h
 * sources on `device` and checks each against mbt_augment_apply; two batches through the same
 * buffers (the second reuses the plans' memory). */
static void check_augment_batch_recipe(mbt_device device, const mbt_augment_recipe *rp, int src_w, int src_h,
                                       int views) {
    const mbt_augment_recipe r = *rp;
    const char *name = r.name;
    int images = views / 2 + 1;
    size_t per = (size_t)src_w * src_h * 3, numel = (size_t)3 * r.size * r.size;
    uint8_t *host = malloc(per * images);
    float *want = malloc(numel * views * sizeof(float)), *got = malloc(numel * views * sizeof(float));
    mbt_augment_params *params = malloc((size_t)views * sizeof *params);
    mbt_rng rng;
    mbt_rng_init(&rng, 7, mbt_rng_stream_id(99, (uint64_t)src_w, (uint64_t)src_h, (uint32_t)views));
    for (size_t i = 0; i < per * images; i++) /* smooth gradients plus noise: every colour op changes them */
        host[i] = (uint8_t)((i % 3) * 60 + (i / 3) % 97 + mbt_rng_below(&rng, 40));
    mbt_plan plan;
    uint8_t *dev_images = NULL;
    float *dev_out = NULL;
    mbt_plan_init(&plan, device);
    mbt_plan_bytes(&plan, (void **)&dev_images, per * images);
    mbt_plan_floats(&plan, &dev_out, numel * views);
    mbt_augment_batch b;
    mbt_augment_scratch scratch = {0};
    if (!CHECK_OK(mbt_plan_commit(&plan)) || !CHECK_OK(mbt_device_from_host(device, dev_images, host, per * images)) ||
        !CHECK_OK(mbt_augment_batch_init(&b, device, &r, views, src_w, src_h)))
        goto done;
    for (int round = 0; round < 2; round++) {
        CHECK_OK(mbt_augment_batch_begin(&b));
        for (int v = 0; v < views; v++) {
            int img = (v * 5 + round) % images;
            mbt_rng vr;
            mbt_rng_init(&vr, 11, mbt_rng_stream_id(17, (uint64_t)round, (uint64_t)v, 0));
            mbt_augment_draw_view(&r, v & 1, src_w, src_h, &vr, &params[v]);
            if (round == 0) force_corner_case(v, r.size, src_w, src_h, &params[v]);
            mbt_augment_batch_set_view(&b, v, &params[v], (int64_t)(per * img));
            mbt_image src = {host + per * img, src_w, src_h, per};
            CHECK_OK(mbt_augment_apply(&r, &params[v], &src, &scratch, want + numel * v));
        }
        if (!CHECK_OK(mbt_augment_batch_run(&b, dev_images, dev_out))) break;
        if (!CHECK_OK(mbt_device_to_host(device, got, dev_out, numel * views * sizeof(float)))) break;
        int bad = 0;
        for (int v = 0; v < views; v++) {
            if (memcmp(want + numel * v, got + numel * v, numel * sizeof(float)) == 0) continue;
            const mbt_augment_params *p = &params[v];
            size_t i = 0;
            while (want[numel * v + i] == got[numel * v + i]) i++;
            if (bad++ < 5)
                fprintf(stderr, "%s %dx%d round %d view %d: element %zu is %.6f, mbt_augment_apply %.6f (crop %d,%d %dx%d "
                        "flip %d jitter %d order %d%d%d%d gray %d)\n", name, src_w, src_h, round, v, i,
                        got[numel * v + i], want[numel * v + i], p->crop.left, p->crop.top, p->crop.width, p->crop.height,
                        p->flip, p->jitter, p->order[0], p->order[1], p->order[2], p->order[3], p->gray);
        }
        CHECK_MSG(bad == 0, "%s on %s: %d of %d views differ from mbt_augment_apply", name, mbt_device_name(device), bad,
                  views);
    }
    mbt_augment_batch_free(&b);
done:
    mbt_augment_scratch_free(&scratch);
    mbt_plan_free(&plan);
    free(host);
    free(want);
    free(got);
    free(params);
}

static void check_augment_batch(mbt_device device, const char *name, int size, int src_w, int src_h, int views) {
    mbt_augment_recipe r;
    if (CHECK_OK(mbt_augment_recipe_get(name, size, &r))) check_augment_batch_recipe(device, &r, src_w, src_h, views);
}

/* Every recipe of the batch path, square and oblong sources, up- and down-scaling. */
static void check_augment_batch_all(mbt_device device) {
    check_augment_batch(device, "cifar", 0, 32, 32, 96);         /* CIFAR: crop first, bilinear */
    check_augment_batch(device, "cifar", 0, 45, 29, 40);         /* oblong sources */
    check_augment_batch(device, "tiny_imagenet", 0, 64, 64, 40); /* colour first, bicubic */
    check_augment_batch(device, "stl10", 0, 96, 96, 24);         /* 96 -> 64: wider kernels */
    check_augment_batch(device, "stl10", 24, 96, 70, 24);        /* strong downscale, oblong */
    check_augment_batch(device, "sslsota_cifar10", 0, 32, 32, 40);  /* the baselines: colour first at 32 px */
    check_augment_batch(device, "sslsota_cifar100", 0, 45, 29, 24);
    /* the baselines' flags overridden: brightness and hue left out, wide ratios, always jitter */
    mbt_augment_recipe r;
    if (CHECK_OK(mbt_augment_recipe_get("sslsota_stl10", 0, &r))) {
        mbt_augment_flags f = mbt_augment_recipe_flags(&r);
        f.cj0 = 0.0f, f.cj3 = 0.0f, f.cj_p = 1.0f, f.crop_r0 = 0.5f, f.crop_r1 = 2.0f;
        if (CHECK_OK(mbt_augment_recipe_set_flags(&r, &f))) check_augment_batch_recipe(device, &r, 96, 96, 24);
    }
}

#endif
