/* PyTorch .pth reading: every dtype, views, shared storages, nested checkpoints, DDP names, and
 * malformed archives, against files written by torch.save (tools/make_io_fixtures.py). */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/pth.h"
#include "io/read_file.h"
#include "test_io_expect.h"

static void test_dtypes_and_views(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_dtypes.expect") == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_dtypes.pth"), NULL, &sd));
    io_check_state_dict(&sd, &e, "io_dtypes.pth");
    /* the two views of one storage share the bytes read once; the transposed view was gathered */
    const mbt_sd_tensor *a = mbt_state_dict_find(&sd, "shared_a"), *b = mbt_state_dict_find(&sd, "shared_b");
    CHECK(a && b && !a->owned && !b->owned && (const float *)b->data - (const float *)a->data == 2);
    const mbt_sd_tensor *t = mbt_state_dict_find(&sd, "transposed");
    CHECK(t && t->owned);
    mbt_state_dict_free(&sd);

    /* the same from memory */
    void *buf;
    size_t len;
    CHECK_OK(mbt_read_file(io_fixture("io_dtypes.pth"), 0, &buf, &len));
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read_memory(buf, len, "mem", NULL, &sd));
    free(buf); /* sd owns its data */
    io_check_state_dict(&sd, &e, "io_dtypes.pth from memory");
    mbt_state_dict_free(&sd);
    /* deflated entries */
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_deflated.pth"), NULL, &sd));
    io_check_state_dict(&sd, &e, "io_deflated.pth");
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

static void test_nested(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_nested.expect") == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_nested.pth"), NULL, &sd)); /* auto-detects 'model' */
    io_check_state_dict(&sd, &e, "io_nested.pth auto");
    mbt_state_dict_free(&sd);
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_nested.pth"), "model", &sd));
    io_check_state_dict(&sd, &e, "io_nested.pth key model");
    mbt_state_dict_free(&sd);

    /* the optimizer entry is a dict, but not of tensors */
    mbt_state_dict_init(&sd);
    CHECK(mbt_pth_read(io_fixture("io_nested.pth"), "optimizer", &sd) == MBT_ERR_FORMAT);
    CHECK(io_error_has("io_nested.pth", "'state'", "dict, not a tensor", NULL));
    CHECK(sd.count == 0);
    CHECK(mbt_pth_read(io_fixture("io_nested.pth"), "epoch", &sd) == MBT_ERR_FORMAT);
    CHECK(io_error_has("'epoch' is a int", NULL));
    CHECK(mbt_pth_read(io_fixture("io_nested.pth"), "nope", &sd) == MBT_ERR_ARG);
    CHECK(io_error_has("no entry 'nope'", "'model'", "'optimizer'", "'epoch'", NULL));
    CHECK(mbt_pth_read(io_fixture("io_nested.pth"), "model/conv.weight", &sd) == MBT_ERR_FORMAT);
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

static void test_ddp_and_choice(void) {
    io_expect e;
    CHECK(io_expect_load(&e, "io_ddp.expect") == 0);
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_ddp.pth"), NULL, &sd));
    CHECK(sd.count == e.n && sd.count && !strncmp(sd.tensors[0].name, "module.", 7));
    mbt_state_dict_free(&sd);

    /* two dicts of tensors and no usual name: the error lists them; a key chooses */
    mbt_state_dict_init(&sd);
    CHECK(mbt_pth_read(io_fixture("io_two_dicts.pth"), NULL, &sd) == MBT_ERR_ARG);
    CHECK(io_error_has("'student'", "'teacher'", "key", NULL));
    CHECK_OK(mbt_pth_read(io_fixture("io_two_dicts.pth"), "teacher", &sd));
    CHECK(sd.count == 1 && !strcmp(sd.tensors[0].name, "w") && sd.tensors[0].numel == 4);
    float w[4] = {0};
    if (sd.count == 1) CHECK_OK(mbt_sd_tensor_to_f32(&sd.tensors[0], w, 4));
    CHECK(w[0] == 0 && w[1] == 1 && w[2] == 2 && w[3] == 3);
    mbt_state_dict_free(&sd);
    /* a dict under a usual name wins over other dicts of tensors */
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_pth_read(io_fixture("io_model_and_ema.pth"), NULL, &sd));
    CHECK(sd.count == 1 && !strcmp(sd.tensors[0].name, "m"));
    if (sd.count == 1) {
        CHECK_OK(mbt_sd_tensor_to_f32(&sd.tensors[0], w, 2));
        CHECK(w[0] == 5 && w[1] == 6);
    }
    mbt_state_dict_free(&sd);
    io_expect_free(&e);
}

static void expect_error(const char *file, mbt_status want, const char *frag1, const char *frag2) {
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_error_clear();
    mbt_status s = mbt_pth_read(io_fixture(file), NULL, &sd);
    CHECK_MSG(s == want, "%s: status %s, expected %s (%s)", file, mbt_status_name(s), mbt_status_name(want),
              mbt_error_message());
    CHECK(io_error_has(file, frag1, frag2, NULL));
    CHECK(sd.count == 0 && sd.n_buffers == 0);
    mbt_state_dict_free(&sd);
}

static void test_malformed_fixtures(void) {
    expect_error("io_bad_view.pth", MBT_ERR_FORMAT, "tensor 'w'", "outside storage '0'");
    expect_error("io_bad_short.pth", MBT_ERR_FORMAT, "tensor 'w'", "needs 16 bytes");
    expect_error("io_bad_missing.pth", MBT_ERR_FORMAT, "tensor 'w'", "missing");
    expect_error("io_bad_global.pth", MBT_ERR_UNSUPPORTED, "'posix.system'", "not allowed");
    CHECK(io_error_has("state_dict()", NULL));
    expect_error("io_bad_storage_type.pth", MBT_ERR_UNSUPPORTED, "'torch.BoolStorage'", "not allowed");
    expect_error("io_bad_storage_size.pth", MBT_ERR_FORMAT, "tensor 'b'", "storage '0'");
    expect_error("io_legacy.pth", MBT_ERR_UNSUPPORTED, "legacy (pre-1.6) torch.save format",
                 "_use_new_zipfile_serialization=True");
    expect_error("io_torchscript.pt", MBT_ERR_UNSUPPORTED, "TorchScript", "state_dict()");
    expect_error("io_cifar_p2.pkl", MBT_ERR_UNSUPPORTED, "legacy", NULL); /* a plain pickle looks legacy */
    expect_error("io_py.safetensors", MBT_ERR_FORMAT, "no zip signature", NULL);
}

/* Every truncation and many single-byte corruptions of a real checkpoint fail cleanly (or, for bytes
 * that do not matter, still read); nothing crashes (the sanitizer build checks memory). */
static void test_corruptions(void) {
    void *buf;
    size_t len;
    CHECK_OK(mbt_read_file(io_fixture("io_nested.pth"), 0, &buf, &len));
    unsigned char *copy = malloc(len);
    int failures = 0, total = 0;
    for (size_t cut = 0; cut < len; cut += (cut < 64 || len - cut < 64) ? 1 : 13) {
        mbt_state_dict sd;
        mbt_state_dict_init(&sd);
        mbt_status s = mbt_pth_read_memory(buf, cut, "cut", NULL, &sd);
        failures += s != MBT_OK;
        total++;
        if (s) CHECK(mbt_error_message()[0] != 0);
        mbt_state_dict_free(&sd);
    }
    CHECK_MSG(failures == total, "%d of %d truncated files were accepted", total - failures, total);
    int accepted = 0;
    for (size_t at = 0; at < len; at += 7) {
        memcpy(copy, buf, len);
        copy[at] ^= 0x5a;
        mbt_state_dict sd;
        mbt_state_dict_init(&sd);
        mbt_status s = mbt_pth_read_memory(copy, len, "flip", NULL, &sd);
        if (s) CHECK(mbt_error_message()[0] != 0);
        else accepted++;
        mbt_state_dict_free(&sd);
    }
    printf("corruptions: %d truncations all rejected; %d of %zu byte flips still read (CRC-covered data rejected)\n",
           total, accepted, (len + 6) / 7);
    free(copy);
    free(buf);
}

int main(void) {
    test_dtypes_and_views();
    test_nested();
    test_ddp_and_choice();
    test_malformed_fixtures();
    test_corruptions();
    return check_report("test_io_pth");
}
