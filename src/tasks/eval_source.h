/* What every evaluation command reads and how it runs: the encoder's checkpoint, the data's folder and
 * its limits, threads, loader workers and the device (one group in each command's configuration). */
#ifndef MBT_EVAL_SOURCE_H
#define MBT_EVAL_SOURCE_H

typedef struct {
    const char *checkpoint, *arch; /* arch NULL: from the checkpoint */
    const char *data_dir;          /* the dataset's (or transfer target's) folder */
    int subset, test_subset;       /* training (k-NN: memory bank) / test images: N of them (0: all) */
    int threads, workers;          /* compute threads, data loader threads */
    const char *device;            /* where the backbone runs: cpu (NULL), cuda, cuda:N */
} mbt_eval_source;

/* 2 threads, 2 workers, the CPU, everything else unset. */
static inline mbt_eval_source mbt_eval_source_defaults(void) {
    return (mbt_eval_source){NULL, NULL, NULL, 0, 0, 2, 2, "cpu"};
}

#endif
