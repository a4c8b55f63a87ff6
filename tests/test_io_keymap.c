/* Key mapping and loading: torchvision ResNet-18 names to the reference models' names (from PyTorch's
 * own modules, tests/fixtures/io_keymap_resnet18.txt), DDP prefixes, and strict / non-strict loads. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/keymap.h"
#include "io/pth.h"
#include "io/sd_load.h"
#include "test_io_expect.h"

typedef struct {
    char tv[96], cifar[96], pool[96], imagenet[96];
    int nd_tv, nd_small;
    int64_t tv_shape[4], small_shape[4];
} kmrow;

static int parse_shape(const char *s, int64_t *dims) {
    if (!strcmp(s, "-")) return 0;
    int n = 0;
    for (char *end; *s && n < 4; s = *end ? end + 1 : end) dims[n++] = strtoll(s, &end, 10);
    return n;
}

static size_t load_rows(kmrow *rows, size_t max) {
    FILE *f = fopen(io_fixture("io_keymap_resnet18.txt"), "r");
    CHECK(f != NULL);
    if (!f) return 0;
    char line[512], a[64], b[64];
    size_t n = 0;
    while (fgets(line, sizeof line, f) && n < max) {
        if (line[0] == '#') continue;
        kmrow *r = &rows[n];
        if (sscanf(line, "%95s %95s %95s %95s %63s %63s", r->tv, r->cifar, r->pool, r->imagenet, a, b) != 6) continue;
        r->nd_tv = parse_shape(a, r->tv_shape);
        r->nd_small = parse_shape(b, r->small_shape);
        n++;
    }
    fclose(f);
    return n;
}

static size_t numel(int nd, const int64_t *s) {
    size_t n = 1;
    for (int i = 0; i < nd; i++) n *= (size_t)s[i];
    return n;
}

/* A torchvision-named state dict (f32 zeros, counters i64) borrowing one zero buffer. */
static void tv_state_dict(mbt_state_dict *sd, const kmrow *rows, size_t n, const void *zeros) {
    mbt_state_dict_init(sd);
    for (size_t i = 0; i < n; i++)
        CHECK_OK(mbt_state_dict_add(sd, rows[i].tv, rows[i].nd_tv ? MBT_DTYPE_F32 : MBT_DTYPE_I64, rows[i].nd_tv,
                                    rows[i].tv_shape, zeros, MBT_SD_BORROW));
}

static void test_presets(const kmrow *rows, size_t n, const void *zeros) {
    static const mbt_keymap_preset presets[3] = {MBT_KEYMAP_TV_TO_SMALL_CIFAR, MBT_KEYMAP_TV_TO_SMALL_POOL,
                                                 MBT_KEYMAP_TV_TO_BACKBONE};
    static const mbt_keymap_preset inverse[3] = {MBT_KEYMAP_SMALL_CIFAR_TO_TV, MBT_KEYMAP_SMALL_POOL_TO_TV,
                                                 MBT_KEYMAP_BACKBONE_TO_TV};
    for (int p = 0; p < 3; p++) {
        mbt_state_dict sd;
        tv_state_dict(&sd, rows, n, zeros);
        size_t nr, renamed, dropped;
        const mbt_keymap_rule *rules = mbt_keymap_preset_rules(presets[p], &nr);
        CHECK_OK(mbt_keymap_apply(&sd, rules, nr, &renamed, &dropped));
        CHECK(dropped == 2); /* fc.weight, fc.bias */
        CHECK(sd.count == n - 2);
        size_t good = 0;
        for (size_t i = 0; i + 2 < n && i < sd.count; i++) {
            const char *want = p == 0 ? rows[i].cifar : p == 1 ? rows[i].pool : rows[i].imagenet;
            if (!strcmp(sd.tensors[i].name, want)) good++;
            else fprintf(stderr, "preset %d: '%s' mapped to '%s', the reference model calls it '%s'\n", p, rows[i].tv,
                         sd.tensors[i].name, want);
        }
        CHECK(good == n - 2 && renamed == n - 2);
        /* and back to torchvision names (a projector entry is dropped on the way) */
        int64_t s1[1] = {512};
        CHECK_OK(mbt_state_dict_add(&sd, p == 2 ? "projector.0.weight" : "g.0.weight", MBT_DTYPE_F32, 1, s1, zeros,
                                    MBT_SD_BORROW));
        rules = mbt_keymap_preset_rules(inverse[p], &nr);
        CHECK_OK(mbt_keymap_apply(&sd, rules, nr, NULL, &dropped));
        CHECK(dropped == 1 && sd.count == n - 2);
        good = 0;
        for (size_t i = 0; i < sd.count; i++) good += !strcmp(sd.tensors[i].name, rows[i].tv);
        CHECK(good == n - 2);
        mbt_state_dict_free(&sd);
    }
    mbt_keymap_preset pp;
    CHECK_OK(mbt_keymap_preset_parse("tv-small-pool", &pp));
    CHECK(pp == MBT_KEYMAP_TV_TO_SMALL_POOL);
    CHECK(mbt_keymap_preset_parse("resnet", &pp) == MBT_ERR_ARG);
}

/* The torchvision checkpoint loaded into the CIFAR model's expected list: conv1 is 7x7 in torchvision
 * and 3x3 in the model, fc is not in the model, the projector is not in the checkpoint. */
static void test_load_report(const kmrow *rows, size_t n, const void *zeros) {
    mbt_state_dict sd;
    tv_state_dict(&sd, rows, n, zeros);
    size_t nr;
    const mbt_keymap_rule *rules = mbt_keymap_preset_rules(MBT_KEYMAP_TV_TO_SMALL_CIFAR, &nr);
    CHECK_OK(mbt_keymap_apply(&sd, rules, nr - 1, NULL, NULL)); /* keep fc: it must show as unexpected */
    mbt_load_target *tg = calloc(n + 1, sizeof *tg);
    size_t nt = 0;
    for (size_t i = 0; i + 2 < n; i++, nt++) {
        tg[nt].name = rows[i].cifar;
        tg[nt].ndim = rows[i].nd_small;
        memcpy(tg[nt].shape, rows[i].small_shape, sizeof rows[i].small_shape);
        if (rows[i].nd_small) {
            tg[nt].dst = malloc(numel(rows[i].nd_small, rows[i].small_shape) * sizeof(float));
            tg[nt].dst[0] = 123.0f;
        } else {
            tg[nt].dst_i64 = malloc(sizeof(int64_t));
            tg[nt].dst_i64[0] = 77;
        }
    }
    tg[nt].name = "g.0.weight";
    tg[nt].ndim = 2;
    tg[nt].shape[0] = 512;
    tg[nt].shape[1] = 512;
    tg[nt].dst = malloc(512 * 512 * sizeof(float));
    tg[nt].dst[0] = 5.0f;
    nt++;

    mbt_load_report r;
    CHECK(mbt_state_dict_load(&sd, tg, nt, MBT_LOAD_STRICT, &r) == MBT_ERR_FORMAT);
    CHECK(io_error_has("nothing loaded", "g.0.weight", "fc.weight", "f.0.weight", NULL));
    CHECK(r.n_missing == 1 && !strcmp(r.missing[0], "g.0.weight"));
    CHECK(r.n_unexpected == 2 && !strcmp(r.unexpected[0], "fc.weight") && !strcmp(r.unexpected[1], "fc.bias"));
    CHECK(r.n_mismatched == 1 && strstr(r.mismatched[0], "f.0.weight") && strstr(r.mismatched[0], "[64,3,7,7]") &&
          strstr(r.mismatched[0], "[64,3,3,3]"));
    CHECK(r.n_loaded == 0 && tg[1].dst[0] == 123.0f && tg[5].dst_i64[0] == 77);
    mbt_load_report_free(&r);

    CHECK_OK(mbt_state_dict_load(&sd, tg, nt, MBT_LOAD_NONSTRICT, &r));
    CHECK(r.n_missing == 1 && r.n_unexpected == 2 && r.n_mismatched == 1);
    CHECK(r.n_loaded == nt - 2);
    CHECK(tg[0].dst[0] == 123.0f);                        /* the mismatched conv1 kept its values */
    CHECK(tg[1].dst[0] == 0.0f && tg[5].dst_i64[0] == 0); /* bn1.weight and a counter were loaded */
    CHECK(tg[nt - 1].dst[0] == 5.0f);                     /* the missing projector is untouched */
    char sum[512];
    mbt_load_report_summary(&r, sum, sizeof sum);
    CHECK(strstr(sum, "1 missing (g.0.weight)") && strstr(sum, "2 unexpected (fc.weight, fc.bias)"));
    mbt_load_report_free(&r);

    /* a float tensor where the model has a counter is a mismatch too */
    mbt_load_target cnt = {.name = "f.1.weight", .ndim = 1, .shape = {64}, .dst_i64 = tg[5].dst_i64};
    CHECK_OK(mbt_state_dict_load(&sd, &cnt, 1, MBT_LOAD_NONSTRICT, &r));
    CHECK(r.n_mismatched == 1 && strstr(r.mismatched[0], "integer") && r.n_loaded == 0);
    mbt_load_report_free(&r);
    for (size_t i = 0; i < nt; i++) {
        free(tg[i].dst);
        free(tg[i].dst_i64);
    }
    free(tg);
    mbt_state_dict_free(&sd);
}

/* Loading real values: the DDP checkpoint stripped of "module." into targets shaped like the network. */
static void test_ddp_load(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_ddp.expect") == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_ddp.pth"), NULL, &sd));
    size_t renamed;
    CHECK_OK(mbt_keymap_strip_ddp(&sd, &renamed));
    CHECK(renamed == e.n);
    mbt_load_target tg[16];
    float *buf[16] = {0};
    int64_t counter = -1;
    for (size_t i = 0; i < e.n && i < 16; i++) {
        tg[i] = (mbt_load_target){.name = e.items[i].name, .ndim = e.items[i].ndim};
        memcpy(tg[i].shape, e.items[i].shape, sizeof e.items[i].shape);
        if (!strcmp(e.items[i].dtype, "f32")) tg[i].dst = buf[i] = malloc(e.items[i].nbytes);
        else tg[i].dst_i64 = &counter;
    }
    mbt_load_report r;
    CHECK_OK(mbt_state_dict_load(&sd, tg, e.n, MBT_LOAD_STRICT, &r));
    CHECK(r.n_loaded == e.n);
    for (size_t i = 0; i < e.n; i++)
        if (buf[i]) CHECK_MSG(!memcmp(buf[i], e.items[i].data, e.items[i].nbytes), "%s differs", e.items[i].name);
    int64_t want;
    memcpy(&want, io_expect_get(&e, "bn.num_batches_tracked")->data, 8);
    CHECK(counter == want && want == 2);
    mbt_load_report_free(&r);
    /* a state dict saved from the model borrows the targets */
    mbt_state_dict out;
    mbt_state_dict_init(&out);
    CHECK_OK(mbt_state_dict_from_targets(&out, tg, e.n));
    io_check_state_dict(&out, &e, "from targets");
    mbt_state_dict_free(&out);
    for (size_t i = 0; i < 16; i++) free(buf[i]);
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

static void test_rules(void) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    int64_t s[1] = {1};
    float v = 0;
    const char *names[] = {"module.module.backbone.a", "module.module.backbone.b", "module.module.projector.c"};
    for (int i = 0; i < 3; i++) CHECK_OK(mbt_state_dict_add(&sd, names[i], MBT_DTYPE_F32, 1, s, &v, MBT_SD_BORROW));
    size_t n;
    CHECK_OK(mbt_keymap_strip_ddp(&sd, &n));
    CHECK(n == 6 && !strcmp(sd.tensors[0].name, "backbone.a"));
    CHECK_OK(mbt_keymap_strip_ddp(&sd, &n)); /* nothing more to strip */
    CHECK(n == 0);
    CHECK_OK(mbt_keymap_keep_prefix(&sd, "backbone.", &n));
    CHECK(n == 2 && !strcmp(sd.tensors[0].name, "a") && !strcmp(sd.tensors[1].name, "b") &&
          mbt_state_dict_find(&sd, "b") == &sd.tensors[1]);
    /* "module." is stripped only when every name has it */
    mbt_state_dict mixed;
    mbt_state_dict_init(&mixed);
    CHECK_OK(mbt_state_dict_add(&mixed, "module.a", MBT_DTYPE_F32, 1, s, &v, MBT_SD_BORROW));
    CHECK_OK(mbt_state_dict_add(&mixed, "modules.b", MBT_DTYPE_F32, 1, s, &v, MBT_SD_BORROW));
    CHECK_OK(mbt_keymap_strip_ddp(&mixed, &n));
    CHECK(n == 0 && !strcmp(mixed.tensors[0].name, "module.a"));
    mbt_state_dict_free(&mixed);
    /* renaming two names onto one is an error naming it */
    mbt_keymap_rule clash[2] = {{"a", "x"}, {"b", "x"}};
    CHECK(mbt_keymap_apply(&sd, clash, 2, NULL, NULL) == MBT_ERR_ARG);
    CHECK(io_error_has("duplicate", "'x'", NULL));
    mbt_state_dict_free(&sd);
}

int main(void) {
    kmrow *rows = calloc(200, sizeof *rows);
    size_t n = load_rows(rows, 200);
    CHECK(n == 122); /* resnet18: 120 backbone entries + fc.weight, fc.bias */
    void *zeros = calloc(512 * 512 * 9, sizeof(float)); /* the largest tensor: layer4 3x3 convolutions */
    test_presets(rows, n, zeros);
    test_load_report(rows, n, zeros);
    test_ddp_load();
    test_rules();
    free(zeros);
    free(rows);
    return check_report("test_io_keymap");
}
