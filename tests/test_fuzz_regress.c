/* Replays the fuzzing seed corpus and every committed crasher (fuzz/corpus/<harness>/,
 * fuzz/regressions/<harness>/) through the fuzz targets' bodies: under the sanitizer build this is
 * the regression test for each bug the fuzzers found; in any build the targets' invariants hold. */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>

#include "../fuzz/data_targets.h"
#include "../fuzz/targets.h"
#include "check.h"
#include "io/read_file.h"

#ifndef MIXBT_FIXTURES
#define MIXBT_FIXTURES "tests/fixtures"
#endif

typedef int (*target_fn)(const uint8_t *data, size_t size);

static int replay_dir(const char *dir, target_fn fn) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.') continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        void *buf;
        size_t len;
        if (mbt_read_file(path, 0, &buf, &len)) continue;
        /* an exact-size copy, so that the sanitizer sees reads past the end */
        uint8_t *exact = malloc(len ? len : 1);
        memcpy(exact, buf, len);
        free(buf);
        CHECK(fn(exact, len) == 0);
        free(exact);
        n++;
    }
    closedir(d);
    return n;
}

int main(void) {
    static const struct {
        const char *name;
        target_fn fn;
    } targets[] = {{"pickle", fuzz_pickle_one}, {"pth", fuzz_pth_one},       {"safetensors", fuzz_safetensors_one},
                   {"cifar", fuzz_cifar_one},   {"stl", fuzz_stl_one},       {"idx", fuzz_idx_one},
                   {"ppm", fuzz_ppm_one},       {"lists", fuzz_lists_one},   {"mat", fuzz_mat_one}};
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        char dir[1024];
        snprintf(dir, sizeof dir, "%s/../../fuzz/corpus/%s", MIXBT_FIXTURES, targets[i].name);
        int seeds = replay_dir(dir, targets[i].fn);
        snprintf(dir, sizeof dir, "%s/../../fuzz/regressions/%s", MIXBT_FIXTURES, targets[i].name);
        int crashers = replay_dir(dir, targets[i].fn);
        CHECK_MSG(seeds > 0, "no seed inputs for %s", targets[i].name);
        printf("%s: %d seeds, %d regression inputs replayed\n", targets[i].name, seeds, crashers);
    }
    /* the fixture files too (valid and malformed ones) */
    int n = replay_dir(MIXBT_FIXTURES, fuzz_pth_one) + replay_dir(MIXBT_FIXTURES, fuzz_safetensors_one) +
            replay_dir(MIXBT_FIXTURES, fuzz_pickle_one);
    CHECK(n > 0);
    return check_report("test_fuzz_regress");
}
