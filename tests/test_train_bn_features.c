/* Training-mode BN features on the CPU (tasks/train_bn_features.h): an epoch of batches 6, 6, 4 gives
 * the features and leaves the running statistics of the same forwards composed by hand (a model of 6,
 * then a model of 4 that takes the first one's running statistics): the tail carries them over and
 * back. A batch of another size is refused. */
#include "train_bn_case.h"
#include "core/runtime.h"
#include "tasks/evaluate_model.h"

/* The same epoch composed from two models. */
static void expected(tbn_result *r) {
    memset(r, 0, sizeof *r);
    mbt_model *a = tbn_host_model(TBN_BATCH), *b = tbn_host_model(TBN_TAIL);
    r->emb = mbt_model_embedding_dim(MBT_ARCH_RESNET18);
    r->features = malloc((size_t)TBN_IMAGES * r->emb * sizeof(float));
    float *x = tbn_images();
    size_t per = (size_t)3 * TBN_SIZE * TBN_SIZE;
    const float *f;
    for (int s = 0; s < 2 * TBN_BATCH; s += TBN_BATCH) {
        CHECK_OK(mbt_model_forward_train(a, 0, x + (size_t)s * per, &f, NULL));
        memcpy(r->features + (size_t)s * r->emb, f, (size_t)TBN_BATCH * r->emb * sizeof(float));
    }
    CHECK_OK(mbt_eval_model_copy_buffers(b, a));
    CHECK_OK(mbt_model_forward_train(b, 0, x + (size_t)2 * TBN_BATCH * per, &f, NULL));
    memcpy(r->features + (size_t)2 * TBN_BATCH * r->emb, f, (size_t)TBN_TAIL * r->emb * sizeof(float));
    tbn_read_state(b, r);
    free(x);
    mbt_model_destroy(a);
    mbt_model_destroy(b);
}

int main(void) {
    mbt_set_threads(2);
    tbn_result got, want, before = {0};
    if (!tbn_run(MBT_DEVICE_CPU, &got)) return check_report("test_train_bn_features");
    expected(&want);
    mbt_model *fresh = tbn_host_model(TBN_BATCH);
    tbn_read_state(fresh, &before);
    mbt_model_destroy(fresh);

    CHECK_MSG(!memcmp(got.features, want.features, (size_t)TBN_IMAGES * got.emb * sizeof(float)),
              "features differ from the composed forwards");
    CHECK(got.n_buffers == want.n_buffers);
    CHECK_MSG(!memcmp(got.buffers, want.buffers, got.n_buffers * sizeof(float)),
              "running statistics differ from the composed forwards");
    int n_bn = 0;
    for (size_t i = 0; i < want.n_buffers; i++) n_bn += got.buffers[i] != before.buffers[i];
    CHECK_MSG(n_bn > (int)(want.n_buffers / 2), "the epoch moved only %d of %zu running statistics", n_bn,
              want.n_buffers);
    /* three forwards: every BN layer counted three batches, the tail's one included */
    CHECK_MSG(got.counters - before.counters == 3 * (int64_t)got.n_counters && got.counters == want.counters,
              "counters: %lld after the epoch, %lld before, %d layers, %lld composed", (long long)got.counters,
              (long long)before.counters, got.n_counters, (long long)want.counters);
    { /* a batch of neither size is refused */
        mbt_model *host = tbn_host_model(TBN_BATCH);
        mbt_train_bn_features t;
        if (host && CHECK_OK(mbt_train_bn_features_init(&t, host, TBN_TAIL, MBT_DEVICE_CPU))) {
            float *x = tbn_images();
            const float *f;
            CHECK(mbt_train_bn_features_run(&t, 5, x, &f) == MBT_ERR_ARG);
            CHECK(strstr(mbt_error_message(), "a batch of 5 images (model batch 6)") != NULL);
            free(x);
            mbt_train_bn_features_free(&t);
        }
        mbt_model_destroy(host);
    }
    tbn_free(&got);
    tbn_free(&want);
    tbn_free(&before);
    return check_report("test_train_bn_features");
}
