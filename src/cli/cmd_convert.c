/* `mixbt convert IN OUT`: checkpoints between PyTorch .pth and safetensors. */
#include <stdio.h>

#include "cli/commands.h"
#include "cli/flags.h"
#include "io/checkpoint_file.h"

int cmd_convert(int argc, char **argv) {
    const char *key = NULL, *pos[2];
    int npos = 0;
    flag flags[] = {
        {"key", FLAG_STRING, &key, NULL, "PATH", "the state dict inside a training checkpoint, e.g. model or state_dict (default: detected)", 0, 0, -1},
    };
    int rc = flags_parse("convert", flags, 1, argc, argv, 2, pos, 2, &npos);
    if (rc == 1) {
        flags_print_help("convert", "IN OUT [--key PATH]",
                         "Converts a checkpoint between PyTorch .pth/.pt and safetensors (by the extensions), in any\n"
                         "direction; tensors are copied bit for bit, the output is written atomically.",
                         flags, 1);
        return 0;
    }
    if (rc) return rc;
    if (npos != 2) {
        fprintf(stderr, "mixbt convert: expected IN and OUT files (see mixbt convert --help)\n");
        return 2;
    }
    if (mbt_ckpt_convert(pos[0], pos[1], key) != MBT_OK) {
        fprintf(stderr, "mixbt convert: %s\n", mbt_error_message());
        return 1;
    }
    return 0;
}
