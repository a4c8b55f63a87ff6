/* libFuzzer harness: the MNIST / Fashion-MNIST idx reader (body: fuzz/data_targets.h; run: fuzz/run.sh). */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_idx_one(data, size); }
