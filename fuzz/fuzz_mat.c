/* libFuzzer harness: Flowers-102's imagelabels.mat through libmatio (body: fuzz/data_targets.h; run: fuzz/run.sh). */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_mat_one(data, size); }
