/* Tests of the cost report (models/model_cost.h): parameters and multiply-adds per image of the backbone
 * and projector, exactly as counted on the PyTorch modules with thop's rules (tools/make_cost_fixtures.py),
 * for ResNet-18/50 with the 32-px, 64/96-px and ImageNet stems; and of the baselines' heads (ssl-sota's
 * make_head with 1 to 3 Linear layers, SimCLR's bn_last, BYOL's predictor). */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "fixture.h"
#include "models/model_cost.h"

static double get(const fixture_file *f, int k, const char *name) {
    char key[64];
    snprintf(key, sizeof key, "c%d_%s", k, name);
    return fixture_scalar(f, key);
}

int main(void) {
    fixture_file f;
    if (fixture_load(&f, "model_cost.bin")) {
        CHECK_MSG(0, "cannot load model_cost.bin");
        return check_report("test_model_cost");
    }
    int n = (int)fixture_scalar(&f, "ncases");
    for (int k = 0; k < n; k++) {
        char key[64], spec[64] = "";
        snprintf(key, sizeof key, "c%d_proj", k);
        const fixture_array *proj = fixture_get(&f, key);
        for (size_t i = 0; i < proj->numel; i++)
            snprintf(spec + strlen(spec), sizeof spec - strlen(spec), "%s%d", i ? "-" : "", (int)proj->data[i]);
        mbt_arch arch = get(&f, k, "arch") == 50 ? MBT_ARCH_RESNET50 : MBT_ARCH_RESNET18;
        int size = (int)get(&f, k, "size");
        mbt_model_config cfg;
        if (get(&f, k, "imagenet") != 0) {
            CHECK_OK(mbt_model_config_imagenet(arch, spec, &cfg));
        } else {
            cfg = mbt_model_config_small(arch, size, 0);
            CHECK_OK(mbt_model_config_set_projector(&cfg, spec));
        }
        mbt_model_cost c;
        if (!CHECK_OK(mbt_model_cost_of(&cfg, &c))) continue;
        const char *what[4] = {"backbone_params", "backbone_macs", "proj_params", "proj_macs"};
        double got[4] = {c.backbone.params, c.backbone.macs, c.projector.params, c.projector.macs};
        for (int i = 0; i < 4; i++)
            CHECK_MSG(got[i] == get(&f, k, what[i]), "%s %d px, projector %s: %s = %.0f, PyTorch (thop's rules) %.0f",
                      mbt_arch_name(arch), size, spec, what[i], got[i], get(&f, k, what[i]));
    }
    int nh = (int)fixture_scalar(&f, "nheads");
    CHECK_MSG(nh >= 4, "model_cost.bin holds %d head cases", nh);
    for (int k = 0; k < nh; k++) {
        char key[64];
#define H(name) (snprintf(key, sizeof key, "h%d_" name, k), fixture_scalar(&f, key))
        mbt_head_config hc;
        if (!CHECK_OK(mbt_head_config_sslsota((int)H("in"), (int)H("size"), (int)H("layers"), (int)H("emb"), "head.", &hc)))
            continue;
        hc.out_bn = H("bn_last") != 0;
        mbt_cost_part c;
        if (!CHECK_OK(mbt_head_cost_of(&hc, &c))) continue;
        CHECK_MSG(c.params == H("params") && c.macs == H("macs"),
                  "head %d-%d x%d -> %d (bn_last %d): %.0f parameters, %.0f MACs; PyTorch (thop's rules) %.0f, %.0f",
                  hc.in_dim, (int)H("size"), (int)H("layers"), hc.out_dim, hc.out_bn, c.params, c.macs, H("params"), H("macs"));
#undef H
    }
    fixture_free(&f);
    return check_report("test_model_cost");
}
