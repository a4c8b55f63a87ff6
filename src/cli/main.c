/* The mixbt program: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"
#include "cli/progress.h"

#define MIXBT_VERSION "0.1.0"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command COMMANDS[] = {
    {"pretrain", cmd_pretrain, "self-supervised pretraining (Mixed Barlow Twins, Barlow Twins)"},
    {"download", cmd_download, "fetch a dataset (CIFAR-10/100, STL-10, MNIST, Fashion-MNIST), check and unpack it"},
    {"knn", cmd_knn, "weighted k-NN accuracy of a checkpoint's backbone features"},
    {"linear", cmd_linear, "linear evaluation of a checkpoint (the reference protocol, or --features-once)"},
    {"transfer", cmd_transfer, "transfer evaluation on another dataset (MNIST, DTD, CUB-200, Flowers-102, GTSRB, ...)"},
    {"embed", cmd_embed, "write a split's backbone features and labels as .npy files"},
    {"convert", cmd_convert, "convert a checkpoint between PyTorch .pth and safetensors"},
    {"inspect", cmd_inspect, "list a checkpoint's tensors and metadata"},
    {"plot", cmd_plot, "draw the curves of runs (loss, lr, k-NN, images/s) from their metrics.csv"},
};

static void usage(FILE *out) {
    fprintf(out, "mixbt %s: self-supervised pretraining of image encoders (Mixed Barlow Twins)\n\n"
                 "usage: mixbt COMMAND [flags]   (mixbt COMMAND --help for its flags)\n\ncommands:\n",
            MIXBT_VERSION);
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        fprintf(out, "  %-10s %s\n", COMMANDS[i].name, COMMANDS[i].summary);
    fprintf(out, "\nenvironment:\n"
                 "  MIXBT_CONV=onednn         CPU: every convolution on oneDNN (default: the backward of 3x3\n"
                 "                            and small convolutions on Winograd/sgemm, docs/PERFORMANCE.md)\n"
                 "  MIXBT_NO_TF32=1           CUDA: exact fp32 products and convolutions (default: TF32)\n"
                 "  MIXBT_DOWNLOAD_CATALOG=F  download: more dataset sources from the JSON catalogue F\n"
                 "  MIXBT_PROGRESS_SECONDS=S  seconds between progress lines of long passes when the output\n"
                 "                            is not a terminal (default 30; 0: after every batch; not a\n"
                 "                            number >= 0: refused with exit status 2)\n"
                 "\nexit status: 0 done, 1 error, 2 bad usage, 130 stopped by SIGINT (Ctrl-C) or SIGTERM: pretrain,\n"
                 "knn, linear, transfer, embed and download stop within seconds at a safe point and say where in\n"
                 "one line (pretrain saves RUN/last.safetensors first); a second signal ends the process at once.\n");
}

int main(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("mixbt %s\n", MIXBT_VERSION);
        return 0;
    }
    if (progress_interval_check(stderr) != 0) return 2;
    for (size_t i = 0; i < sizeof COMMANDS / sizeof *COMMANDS; i++)
        if (!strcmp(argv[1], COMMANDS[i].name)) return COMMANDS[i].run(argc, argv);
    fprintf(stderr, "mixbt: unknown command '%s' (see mixbt --help)\n", argv[1]);
    return 2;
}
