/* The baselines' encoder (mbt_model_config_sslsota: a backbone without projector): its state_dict keys and
 * shapes against ssl-sota's own (torchvision resnet18/50 with conv1 3x3, maxpool and fc Identity, under
 * "model.module.", written by tools/make_head_fixtures.py), its stems per image size, and exact relations
 * with the small-data model of the same backbone weights: features bit-identical, and its backward from
 * dfeature bit-identical to the fused model's backward with dout = 0 and the same dfeature (the projector's
 * backward of a zero gradient is exactly zero, and 0 + dfeature = dfeature). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core/runtime.h"
#include "model_pattern.h"
#include "models/model.h"

/* Every line "name d0 d1 ..." of the fixture is the model's entry at that index, with that shape. */
static void check_names(mbt_arch arch, const char *file) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", MIXBT_FIXTURES, file);
    FILE *f = fopen(path, "r");
    CHECK_MSG(f != NULL, "cannot open %s", path);
    if (!f) return;
    mbt_model_config cfg;
    CHECK_OK(mbt_model_config_sslsota(arch, 32, "model.module.", &cfg));
    mbt_model *m = NULL;
    if (!CHECK_OK(mbt_model_create(&m, &cfg, 1, 1, 0, MBT_DEVICE_CPU))) {
        fclose(f);
        return;
    }
    char line[256];
    size_t t = 0;
    while (fgets(line, sizeof line, f)) {
        char name[128];
        int64_t dims[4] = {0};
        int nd = sscanf(line, "%127s %ld %ld %ld %ld", name, (long *)&dims[0], (long *)&dims[1], (long *)&dims[2],
                        (long *)&dims[3]) - 1;
        mbt_param *p = mbt_model_param(m, t++);
        CHECK_MSG(p && !strcmp(p->name, name), "%s: entry %zu is %s, ssl-sota's %s", file, t - 1, p ? p->name : "(none)",
                  name);
        if (!p) break;
        int same = p->ndim == nd;
        for (int i = 0; same && i < nd; i++) same = p->shape[i] == dims[i];
        CHECK_MSG(same, "%s: %s has another shape than ssl-sota's", file, name);
    }
    CHECK_MSG(t == mbt_model_param_count(m), "%s: %zu entries, ssl-sota %zu", file, mbt_model_param_count(m), t);
    fclose(f);
    mbt_model_destroy(m);
}

static void check_configs(void) {
    mbt_model_config c;
    CHECK_OK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, 32, "model.module.", &c));
    CHECK(c.stem == MBT_STEM_CIFAR && c.backbone_only && c.naming == MBT_NAMES_PREFIXED);
    CHECK_OK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, 64, "model_t.module.", &c));
    CHECK(c.stem == MBT_STEM_SMALL && !strcmp(c.name_prefix, "model_t.module."));
    CHECK_OK(mbt_model_config_sslsota(MBT_ARCH_RESNET50, 224, "", &c));
    CHECK(c.stem == MBT_STEM_IMAGENET);
    CHECK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, 96, "model.module.", &c) == MBT_ERR_ARG);
    CHECK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, 32, "a.prefix.that.does.not.fit.the.field.", &c) == MBT_ERR_ARG);
    /* no projector in the operation count: the small model's minus its projector's */
    mbt_model *a = NULL, *b = NULL;
    mbt_model_config small = mbt_model_config_small(MBT_ARCH_RESNET18, 64, 128);
    CHECK_OK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, 64, "model.module.", &c));
    CHECK_OK(mbt_model_create(&a, &small, 1, 1, 0, MBT_DEVICE_CPU));
    CHECK_OK(mbt_model_create(&b, &c, 1, 1, 0, MBT_DEVICE_CPU));
    if (a && b) {
        CHECK(mbt_model_forward_flops(a) - mbt_model_forward_flops(b) == 2.0 * (512 * 512 + 512 * 128));
        CHECK(!strcmp(mbt_model_param(b, 0)->name, "model.module.conv1.weight") && mbt_model_param(b, 0)->shape[2] == 3);
    }
    mbt_model_destroy(a);
    mbt_model_destroy(b);
}

static void check_same_as_small_model(void) {
    enum { BATCH = 3, SIZE = 32 };
    mbt_model_config small = mbt_model_config_small(MBT_ARCH_RESNET18, SIZE, 16), bb;
    CHECK_OK(mbt_model_config_sslsota(MBT_ARCH_RESNET18, SIZE, "model.module.", &bb));
    mbt_model *f = NULL, *m = NULL;
    CHECK_OK(mbt_model_create(&f, &small, BATCH, 2, 1, MBT_DEVICE_CPU));
    CHECK_OK(mbt_model_create(&m, &bb, BATCH, 2, 1, MBT_DEVICE_CPU));
    if (!f || !m) {
        mbt_model_destroy(f);
        mbt_model_destroy(m);
        return;
    }
    size_t n_bb = mbt_model_param_count(m);
    CHECK(mbt_model_param_count(f) > n_bb);
    pattern_set_params(f, "bn2");
    for (size_t t = 0; t < n_bb; t++) { /* the backbone entries come first, in the same order */
        mbt_param *p = mbt_model_param(f, t), *q = mbt_model_param(m, t);
        CHECK(p->numel == q->numel && p->kind == q->kind);
        if (p->kind == MBT_PARAM_COUNTER) *q->counter = *p->counter;
        else memcpy(q->data, p->data, p->numel * sizeof(float));
    }
    CHECK_OK(mbt_model_params_to_device(f));
    CHECK_OK(mbt_model_params_to_device(m));
    CHECK_OK(mbt_model_zero_grads(f));
    CHECK_OK(mbt_model_zero_grads(m));
    int emb = mbt_model_embedding_dim(MBT_ARCH_RESNET18);
    size_t n_in = (size_t)BATCH * 3 * SIZE * SIZE, n_feat = (size_t)BATCH * emb;
    float *x[2], *dfeat[2], *zero = calloc((size_t)BATCH * small.feature_dim, sizeof(float));
    for (int s = 0; s < 2; s++) {
        x[s] = malloc(n_in * sizeof(float));
        dfeat[s] = malloc(n_feat * sizeof(float));
        for (size_t i = 0; i < n_in; i++) x[s][i] = (float)(2.0 * pattern(40 + s, (int64_t)i));
        for (size_t i = 0; i < n_feat; i++) dfeat[s][i] = (float)(1e-2 * pattern(50 + s, (int64_t)i));
    }
    for (int s = 0; s < 2; s++) {
        const float *ff = NULL, *fm = NULL, *om = NULL;
        CHECK_OK(mbt_model_forward_train(f, s, x[s], &ff, NULL));
        CHECK_OK(mbt_model_forward_train(m, s, x[s], &fm, &om));
        CHECK_MSG(ff && fm && !memcmp(ff, fm, n_feat * sizeof(float)), "slot %d: features differ from the small model's", s);
        CHECK(om == fm); /* the output is the features */
    }
    for (int s = 1; s >= 0; s--) {
        CHECK_OK(mbt_model_backward(f, s, zero, dfeat[s]));
        CHECK_OK(mbt_model_backward(m, s, NULL, dfeat[s]));
    }
    CHECK(mbt_model_backward(m, 0, NULL, NULL) == MBT_ERR_ARG);
    for (size_t t = 0; t < n_bb; t++) {
        mbt_param *p = mbt_model_param(f, t), *q = mbt_model_param(m, t);
        if (p->kind == MBT_PARAM_COUNTER) {
            CHECK(*p->counter == *q->counter && *q->counter == 2);
            continue;
        }
        const float *a = p->kind == MBT_PARAM_WEIGHT ? p->grad : p->data, *b = p->kind == MBT_PARAM_WEIGHT ? q->grad : q->data;
        CHECK_MSG(!memcmp(a, b, p->numel * sizeof(float)), "%s differs from %s (%s)", q->name, p->name,
                  p->kind == MBT_PARAM_WEIGHT ? "gradient" : "running statistics");
    }
    /* evaluation: normalised and raw features as the small model's; out receives the raw features */
    float *ef = malloc(n_feat * sizeof(float)), *em = malloc(n_feat * sizeof(float)), *eo = malloc(n_feat * sizeof(float));
    CHECK_OK(mbt_model_forward_eval(f, BATCH, x[0], ef, NULL));
    CHECK_OK(mbt_model_forward_eval(m, BATCH, x[0], em, NULL));
    CHECK(!memcmp(ef, em, n_feat * sizeof(float)));
    CHECK_OK(mbt_model_forward_eval_raw(f, BATCH, x[0], ef, NULL));
    CHECK_OK(mbt_model_forward_eval_raw(m, BATCH, x[0], em, eo));
    CHECK(!memcmp(ef, em, n_feat * sizeof(float)) && !memcmp(em, eo, n_feat * sizeof(float)));
    free(ef);
    free(em);
    free(eo);
    free(zero);
    for (int s = 0; s < 2; s++) {
        free(x[s]);
        free(dfeat[s]);
    }
    mbt_model_destroy(f);
    mbt_model_destroy(m);
}

int main(void) {
    mbt_set_threads(2);
    check_names(MBT_ARCH_RESNET18, "sslsota_encoder_resnet18.txt");
    check_names(MBT_ARCH_RESNET50, "sslsota_encoder_resnet50.txt");
    check_configs();
    check_same_as_small_model();
    return check_report("test_model_sslsota");
}
