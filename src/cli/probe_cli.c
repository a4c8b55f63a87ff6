/* The per-epoch line and the BN flag rule of the linear and transfer commands. */
#include "cli/probe_cli.h"

#include <stdio.h>
#include <string.h>

void probe_cli_print_epoch(void *ctx, const mbt_probe_epoch *e, int epochs) {
    FILE *out = ctx;
    fprintf(out,
            "epoch %d/%d  lr %.3g  train loss %.4f top-1 %.2f%%  test loss %.4f top-1 %.2f%% top-5 %.2f%%  (%.0f s)\n",
            e->epoch, epochs, e->lr, e->train_loss, e->train_top1, e->test_loss, e->test_top1, e->test_top5, e->seconds);
    fflush(out);
}

int probe_cli_bn_mode(const char *command, flag *flags, int n, const char *bn, int features_once, mbt_probe_bn *out) {
    if (features_once && flags_find(flags, n, "bn")->set && !strcmp(bn, "train")) {
        fprintf(stderr, "mixbt %s: --features-once extracts features with frozen BN; it cannot be combined with --bn train\n",
                command);
        return 2;
    }
    *out = !strcmp(bn, "frozen") || features_once ? MBT_PROBE_BN_FROZEN : MBT_PROBE_BN_TRAIN;
    return 0;
}
