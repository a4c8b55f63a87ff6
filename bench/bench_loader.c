/* Loader throughput: pair batches per second (two augmented CIFAR views per image) on a CIFAR-10
 * folder with 1 and 2 workers, and eval batches per second.
 * Usage: bench_loader DIR [batch=256] [batches=40] */
#include <stdio.h>
#include <stdlib.h>

#include "core/runtime.h"
#include "data/augment.h"
#include "data/dataset.h"
#include "data/loader.h"

static int run(const mbt_dataset *ds, const mbt_augment_recipe *rec, mbt_loader_mode mode, int batch, int workers,
               int batches) {
    mbt_loader *l;
    mbt_loader_config c = {ds, *rec, mode, batch, workers, 1, 0, 2};
    if (mbt_loader_create(&l, &c) != MBT_OK) {
        fprintf(stderr, "bench_loader: %s\n", mbt_error_message());
        return 1;
    }
    int64_t per_epoch = mbt_loader_batches(l);
    if (batches > per_epoch) batches = (int)per_epoch;
    if (mbt_loader_start(l, 1, 0) != MBT_OK) return 1;
    double t0 = mbt_now();
    int images = 0;
    for (int i = 0; i < batches; i++) {
        mbt_batch b;
        if (mbt_loader_next(l, &b) != MBT_OK) {
            fprintf(stderr, "bench_loader: %s\n", mbt_error_message());
            mbt_loader_destroy(l);
            return 1;
        }
        images += b.n;
    }
    double dt = mbt_now() - t0;
    printf("%-5s workers %d  batch %d: %d batches in %.2f s = %.2f batches/s = %.0f images/s%s\n",
           mode == MBT_LOADER_PAIR ? "pair" : "eval", workers, batch, batches, dt, batches / dt, images / dt,
           mode == MBT_LOADER_PAIR ? " (x2 views)" : "");
    mbt_loader_destroy(l);
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: bench_loader DIR [batch=256] [batches=40]\n");
        return 2;
    }
    int batch = argc > 2 ? atoi(argv[2]) : 256, batches = argc > 3 ? atoi(argv[3]) : 40;
    mbt_dataset *ds;
    mbt_augment_recipe rec;
    double t0 = mbt_now();
    if (mbt_dataset_open(&ds, "cifar10", argv[1], MBT_SPLIT_TRAIN) != MBT_OK ||
        mbt_augment_recipe_get("cifar", 0, &rec) != MBT_OK) {
        fprintf(stderr, "bench_loader: %s\n", mbt_error_message());
        return 1;
    }
    printf("%s: %lld images, opened in %.2f s\n", mbt_dataset_describe(ds), (long long)mbt_dataset_count(ds),
           mbt_now() - t0);
    int rc = 0;
    for (int w = 1; w <= 2 && !rc; w++) rc = run(ds, &rec, MBT_LOADER_PAIR, batch, w, batches);
    for (int w = 1; w <= 2 && !rc; w++) rc = run(ds, &rec, MBT_LOADER_EVAL, batch, w, batches);
    mbt_dataset_destroy(ds);
    return rc;
}
