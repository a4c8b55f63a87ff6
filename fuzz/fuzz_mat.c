/* libFuzzer harness: Flowers-102's imagelabels.mat (libmatio) (body in fuzz/data_targets.h). Build and run with fuzz/run.sh. */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_mat_one(data, size); }
