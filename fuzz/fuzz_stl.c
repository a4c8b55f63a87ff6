/* libFuzzer harness: the STL-10 binary reader (body: fuzz/data_targets.h; run: fuzz/run.sh). */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_stl_one(data, size); }
