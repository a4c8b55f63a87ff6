/* Features of a model PyTorch saved (torch.save(model.state_dict()), PyTorch's random initialisation)
 * equal PyTorch's own evaluation-mode features on the same images to 1e-4 relative: the reference's
 * small-data Model (ResNet-18 at 32 px, ResNet-50 at 64 px), the ImageNet Barlow Twins layout
 * (ResNet-50 at 224 px, backbone.* and projector.* names) and a bare torchvision ResNet-18 state dict (224 px,
 * fc.* ignored). The .pth files are made at test time by tools/make_pth_features.py when Debian's
 * python3-torch is installed, else skipped. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/runtime.h"
#include "tasks/evaluate_model.h"

#ifndef MIXBT_SOURCE_DIR
#define MIXBT_SOURCE_DIR MIXBT_FIXTURES "/../.."
#endif

static float *read_floats(const char *path, size_t n) {
    FILE *f = fopen(path, "rb");
    float *a = malloc(n * sizeof(float));
    if (!f || fread(a, sizeof(float), n, f) != n) {
        if (f) fclose(f);
        free(a);
        return NULL;
    }
    fclose(f);
    return a;
}

static void run_case(const char *arch, int size, int emb, const char *layout) {
    char dir[] = "/tmp/mixbt_pthfeat_XXXXXX", cmd[2048], path[1200];
    if (!mkdtemp(dir)) {
        CHECK_MSG(0, "cannot make a temporary folder");
        return;
    }
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/tools/make_pth_features.py %s %s %d %s", MIXBT_SOURCE_DIR, dir,
             arch, size, layout);
    int rc = system(cmd);
    CHECK_MSG(rc == 0, "%s failed", cmd);
    if (rc != 0) return;
    snprintf(path, sizeof path, "%s/model.pth", dir);
    mbt_eval_model_options opt = {path, NULL, 4, 0, 0};
    mbt_model *m = NULL;
    mbt_eval_model_info info;
    if (CHECK_OK(mbt_eval_model_load(&opt, &m, &info, NULL))) {
        CHECK(mbt_model_get_config(m)->arch == (emb == 2048 ? MBT_ARCH_RESNET50 : MBT_ARCH_RESNET18));
        CHECK(mbt_model_get_config(m)->image_size == size);
        CHECK(mbt_model_get_config(m)->naming == (strcmp(layout, "small") ? MBT_NAMES_IMAGENET : MBT_NAMES_SMALL));
        size_t n_in = (size_t)4 * 3 * size * size;
        snprintf(path, sizeof path, "%s/input.f32", dir);
        float *x = read_floats(path, n_in);
        snprintf(path, sizeof path, "%s/feature.f32", dir);
        float *ref = read_floats(path, (size_t)4 * emb), *got = malloc((size_t)4 * emb * sizeof(float));
        CHECK(x && ref);
        if (x && ref && CHECK_OK(mbt_model_forward_eval(m, 4, x, got, NULL))) {
            double num = 0, den = 0;
            for (int i = 0; i < 4 * emb; i++) {
                num += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
                den += (double)ref[i] * ref[i];
            }
            double err = sqrt(num / den);
            printf("%s %d px (%s layout): features from PyTorch's .pth, relative error %.2e\n", arch, size, layout,
                   err);
            CHECK_MSG(err <= 1e-4, "%s: relative error %.3g > 1e-4", arch, err);
        }
        free(x);
        free(ref);
        free(got);
    }
    mbt_model_destroy(m);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

int main(void) {
    if (access("/usr/bin/python3", X_OK) != 0 || system("/usr/bin/python3 -c 'import torch' 2>/dev/null") != 0) {
        printf("test_pth_features: SKIPPED (needs Debian's python3-torch to write the .pth files)\n");
        return 0;
    }
    mbt_set_threads(2);
    run_case("resnet18", 32, 512, "small");
    run_case("resnet50", 64, 2048, "small");
    run_case("resnet50", 224, 2048, "imagenet");
    run_case("resnet18", 224, 512, "torchvision");
    return check_report("test_pth_features");
}
