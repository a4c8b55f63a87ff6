/* libFuzzer harness: the pth reader (body in fuzz/targets.h). Build and run with fuzz/run.sh. */
#include "targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_pth_one(data, size); }
