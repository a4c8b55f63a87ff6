/* libFuzzer harness: the text lists of DTD, CUB-200-2011 and FGVC-Aircraft (body in fuzz/data_targets.h). Build and run with fuzz/run.sh. */
#include "data_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return fuzz_lists_one(data, size); }
