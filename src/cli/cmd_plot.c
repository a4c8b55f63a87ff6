/* `mixbt plot RUN [RUN...]`: the curves of run folders (loss, learning rate, k-NN accuracy, images/s
 * against epoch) drawn from their metrics.csv into a PNG, SVG or PDF file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "tasks/plot_run.h"

#define PLOT_MAX_RUNS 64

int cmd_plot(int argc, char **argv) {
    const char *out = NULL, *pos[PLOT_MAX_RUNS];
    int npos = 0;
    flag flags[] = {
        {"out", FLAG_STRING, &out, NULL, "FILE",
         "the plot: .png, .svg or .pdf by its extension (default: curves.png in the first RUN)", 0, 0, -1},
    };
    int rc = flags_parse("plot", flags, 1, argc, argv, 2, pos, PLOT_MAX_RUNS, &npos);
    if (rc == 1) {
        flags_print_help("plot", "RUN [RUN...] [--out FILE]",
                         "Draws the curves of run folders from their metrics.csv, several runs overlaid (one colour\n"
                         "each, named by folder) in four panels against epoch: the loss values (the total \"loss\" and\n"
                         "each of the method's values, e.g. loss_bt and loss_reg; on a log scale when they differ by\n"
                         "more than 20x), the learning rate, the k-NN top-1/top-5 accuracy and the images/s.\n"
                         "metrics.csv (written by pretrain): a header naming the columns, then a row per epoch: epoch,\n"
                         "step, lr, the method's loss values, knn_top1, knn_top5, images_per_s, elapsed_s; a cell is\n"
                         "empty where there is no value (k-NN not run that epoch); the row of epoch 0, when there is\n"
                         "one, holds the k-NN before training. Columns are found by their names in the header: those\n"
                         "named *_top1 or *_top5 are accuracies (a linear probe's folder draws too), every other column\n"
                         "but epoch, step, lr, images_per_s and elapsed_s is a loss value. pretrain redraws\n"
                         "RUN/curves.png after each epoch. The file is written atomically (1200x900 pixels, or points\n"
                         "for SVG/PDF; PLplot's cairo driver); at most 64 runs.",
                         flags, 1);
        return 0;
    }
    if (rc) return rc;
    if (npos == 0) {
        fprintf(stderr, "mixbt plot: expected at least one RUN folder (see mixbt plot --help)\n");
        return 2;
    }
    mbt_plot_format format;
    if (out && mbt_plot_format_of(out, &format) != MBT_OK) {
        fprintf(stderr, "mixbt plot: --out %s\n", mbt_error_message());
        return 2;
    }
    char *default_out = NULL;
    if (!out) {
        size_t n = strlen(pos[0]) + sizeof "/curves.png";
        default_out = malloc(n);
        if (!default_out) {
            fprintf(stderr, "mixbt plot: no memory\n");
            return 1;
        }
        snprintf(default_out, n, "%s/curves.png", pos[0]);
        out = default_out;
    }
    rc = 0;
    if (mbt_plot_runs(pos, npos, out) != MBT_OK) {
        fprintf(stderr, "mixbt plot: %s\n", mbt_error_message());
        rc = 1;
    } else {
        printf("wrote %s\n", out);
    }
    free(default_out);
    return rc;
}
