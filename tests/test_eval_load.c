/* Tests of loading checkpoints for evaluation (tasks/evaluate_model.h) and of the evaluation data
 * (tasks/evaluate_data.h): mixbt safetensors with their config, PyTorch .pth files with 'module.'
 * prefixes, the architecture read from the tensors (CIFAR / 64-px stems, ResNet-50), by-name loading
 * (every value lands in the entry of its name), the errors for a wrong architecture, missing entries and
 * foreign checkpoints, unnormalised evaluation features, copies between models; splits, limits and the
 * single-view shuffled batches over a CIFAR-10 folder the test writes. */
#include "test_data_util.h" /* first: it defines _GNU_SOURCE */

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "tasks/train_checkpoint.h"
#include "tasks/evaluate_data.h"
#include "tasks/evaluate_model.h"

static char dir[256];

static void path_of(char *buf, size_t n, const char *name) { snprintf(buf, n, "%s/%s", dir, name); }

/* A model whose entries hold values that tell them apart: weights and biases a hash of (entry, element)
 * in [-0.05, 0.05), buffers 0.5 + entry * 1e-3 + (element % 97) * 1e-4 (positive, for the variances),
 * counters 100 + entry. */
static mbt_model *numbered_model(mbt_arch arch, int size, int dim, int batch, int training) {
    mbt_model_config cfg = mbt_model_config_small(arch, size, dim);
    mbt_model *m = NULL;
    CHECK_OK(mbt_model_create(&m, &cfg, batch, 1, training, MBT_DEVICE_CPU));
    if (!m) return NULL;
    for (size_t i = 0; i < mbt_model_param_count(m); i++) {
        mbt_param *p = mbt_model_param(m, i);
        if (p->kind == MBT_PARAM_COUNTER) *p->counter = 100 + (int64_t)i;
        else if (p->kind == MBT_PARAM_BUFFER)
            for (size_t k = 0; k < p->numel; k++) p->data[k] = (float)(0.5 + i * 1e-3 + (double)(k % 97) * 1e-4);
        else
            for (size_t k = 0; k < p->numel; k++) {
                uint32_t h = (uint32_t)((k + 1) * 2654435761u) ^ (uint32_t)(i * 40503u);
                p->data[k] = (float)((h % 10007) / 10007.0 - 0.5) * 0.1f;
            }
    }
    CHECK_OK(mbt_model_sync_params(m));
    return m;
}

/* Every entry of b equals a's entry of the same name. */
static void same_entries(const char *what, mbt_model *a, mbt_model *b, int with_head) {
    size_t bad = 0;
    const char *first = NULL;
    for (size_t i = 0; i < mbt_model_param_count(a); i++) {
        mbt_param *p = mbt_model_param(a, i);
        if (!with_head && !strncmp(p->name, "g.", 2)) continue;
        mbt_param *q = mbt_model_find_param(b, p->name);
        int ok = q && q->numel == p->numel;
        if (ok && p->kind == MBT_PARAM_COUNTER) ok = *p->counter == *q->counter;
        else if (ok) ok = memcmp(p->data, q->data, p->numel * sizeof(float)) == 0;
        if (!ok && !bad++) first = p->name;
    }
    CHECK_MSG(bad == 0, "%s: %zu entries differ, the first %s", what, bad, first ? first : "");
}

/* The model's entries as a borrowed state dict, names prefixed (e.g. "module."), skipping `skip`. */
static void to_state_dict(mbt_model *m, mbt_state_dict *sd, const char *prefix, const char *skip_prefix) {
    mbt_state_dict_init(sd);
    for (size_t i = 0; i < mbt_model_param_count(m); i++) {
        mbt_param *p = mbt_model_param(m, i);
        if (skip_prefix && !strncmp(p->name, skip_prefix, strlen(skip_prefix))) continue;
        char name[160];
        snprintf(name, sizeof name, "%s%s", prefix, p->name);
        if (p->kind == MBT_PARAM_COUNTER)
            CHECK_OK(mbt_state_dict_add(sd, name, MBT_DTYPE_I64, 0, p->shape, p->counter, MBT_SD_BORROW));
        else CHECK_OK(mbt_state_dict_add(sd, name, MBT_DTYPE_F32, p->ndim, p->shape, p->data, MBT_SD_BORROW));
    }
}

static mbt_status load(const char *file, const char *arch, int need_head, mbt_model **m, mbt_eval_model_info *info) {
    mbt_eval_model_options o = {file, arch, 2, 0, need_head};
    return mbt_eval_model_load(&o, m, info, NULL);
}

static void test_mixbt_checkpoint(void) {
    mbt_model *src = numbered_model(MBT_ARCH_RESNET18, 32, 24, 2, 0);
    char path[512];
    path_of(path, sizeof path, "run.safetensors");
    /* the pretraining's writer; header padding puts 0x80 as its first byte for some lengths (see
     * evaluate_model.c), so try two config lengths */
    for (int pad = 0; pad < 2; pad++) {
        char json[256];
        snprintf(json, sizeof json, "{\"dataset\": \"stl10\", \"arch\": \"resnet18\", \"feature_dim\": 24%s}",
                 pad ? ", \"note\": \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"" : "");
        CHECK_OK(mbt_checkpoint_save(path, src, NULL, NULL, json));
        mbt_model *m = NULL;
        mbt_eval_model_info info;
        CHECK_OK(load(path, NULL, 1, &m, &info));
        if (!m) continue;
        same_entries("safetensors", src, m, 1);
        CHECK(info.has_config && !strcmp(info.dataset, "stl10") && info.head_loaded && info.n_ignored == 0);
        CHECK(info.config.arch == MBT_ARCH_RESNET18 && info.config.image_size == 32 && info.config.feature_dim == 24);
        CHECK(!strcmp(info.format, "safetensors"));
        mbt_model_destroy(m);
    }
    /* the config's arch wins over the tensors' (and then does not fit them) */
    CHECK_OK(mbt_checkpoint_save(path, src, NULL, NULL, "{\"arch\": \"resnet50\", \"feature_dim\": 24}"));
    mbt_model *m = NULL;
    mbt_eval_model_info info;
    expect_error(load(path, NULL, 0, &m, &info), MBT_ERR_FORMAT, "does not fit a resnet50", "the checkpoint's config");
    CHECK(m == NULL);
    mbt_model_destroy(src);
}

static void test_pth_and_inference(void) {
    /* a 64-px-stem ResNet-18 saved by name with DDP prefixes, no config, and a linear probe's fc.* */
    mbt_model *src = numbered_model(MBT_ARCH_RESNET18, 64, 40, 2, 0);
    mbt_state_dict sd;
    to_state_dict(src, &sd, "module.", NULL);
    int64_t ws[2] = {10, 512}, bs[1] = {10};
    float *zeros = calloc(5120, sizeof(float));
    CHECK_OK(mbt_state_dict_add(&sd, "module.fc.weight", MBT_DTYPE_F32, 2, ws, zeros, MBT_SD_COPY));
    CHECK_OK(mbt_state_dict_add(&sd, "module.fc.bias", MBT_DTYPE_F32, 1, bs, zeros, MBT_SD_COPY));
    char path[512];
    path_of(path, sizeof path, "model.pth");
    CHECK_OK(mbt_pth_write(path, &sd));
    mbt_state_dict_free(&sd);
    mbt_model *m = NULL;
    mbt_eval_model_info info;
    CHECK_OK(load(path, NULL, 1, &m, &info));
    if (m) {
        same_entries(".pth", src, m, 1);
        CHECK(!info.has_config && info.n_ignored == 2 && info.head_loaded);
        CHECK(info.config.arch == MBT_ARCH_RESNET18 && info.config.stem == MBT_STEM_SMALL && info.config.image_size == 64);
        CHECK(info.config.feature_dim == 40 && !strcmp(info.format, "PyTorch .pth"));
        mbt_model_destroy(m);
    }
    /* the wrong architecture: missing and reshaped entries are named */
    expect_error(load(path, "resnet50", 0, &m, &info), MBT_ERR_FORMAT, "does not fit a resnet50", "--arch");
    const char *msg = mbt_error_message();
    CHECK(strstr(msg, "missing (f.4.0.conv3.weight") != NULL);
    CHECK(strstr(msg, "of another shape (f.4.0.conv1.weight: checkpoint f32 [64,64,3,3], model float [64,64,1,1]") != NULL);
    CHECK(m == NULL);
    mbt_model_destroy(src);
    free(zeros);

    /* ResNet-50, CIFAR stem, no projector: backbone features load; the head is refused when needed */
    src = numbered_model(MBT_ARCH_RESNET50, 32, 16, 2, 0);
    to_state_dict(src, &sd, "", "g.");
    path_of(path, sizeof path, "r50.safetensors");
    CHECK_OK(mbt_safetensors_write(path, &sd));
    mbt_state_dict_free(&sd);
    CHECK_OK(load(path, NULL, 0, &m, &info));
    if (m) {
        same_entries("resnet50 backbone", src, m, 0);
        CHECK(info.config.arch == MBT_ARCH_RESNET50 && info.config.image_size == 32 && !info.head_loaded);
        mbt_model_destroy(m);
    }
    expect_error(load(path, NULL, 1, &m, &info), MBT_ERR_FORMAT, "with its projector", "missing (g.0.weight");
    mbt_model_destroy(src);
}

static void test_bad_checkpoints(void) {
    mbt_model *src = numbered_model(MBT_ARCH_RESNET18, 32, 16, 2, 0);
    mbt_state_dict sd;
    char path[512];
    mbt_model *m = NULL;
    mbt_eval_model_info info;
    /* one backbone buffer missing */
    to_state_dict(src, &sd, "", NULL);
    mbt_state_dict_remove(&sd, (size_t)mbt_state_dict_index(&sd, "f.1.running_mean"));
    path_of(path, sizeof path, "holes.safetensors");
    CHECK_OK(mbt_safetensors_write(path, &sd));
    mbt_state_dict_free(&sd);
    expect_error(load(path, NULL, 0, &m, &info), MBT_ERR_FORMAT, "1 missing (f.1.running_mean)", "holes.safetensors");
    /* something else altogether */
    int64_t s1[1] = {3};
    float v[3] = {1, 2, 3};
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_state_dict_add(&sd, "encoder.weight", MBT_DTYPE_F32, 1, s1, v, MBT_SD_COPY));
    path_of(path, sizeof path, "other.safetensors");
    CHECK_OK(mbt_safetensors_write(path, &sd));
    mbt_state_dict_free(&sd);
    expect_error(load(path, NULL, 0, &m, &info), MBT_ERR_FORMAT, "neither f.0.weight", "encoder.weight");
    mbt_state_dict_init(&sd);
    CHECK_OK(mbt_state_dict_add(&sd, "backbone.conv1.weight", MBT_DTYPE_F32, 1, s1, v, MBT_SD_COPY));
    CHECK_OK(mbt_safetensors_write(path, &sd));
    mbt_state_dict_free(&sd);
    /* an ImageNet-layout file is read as such, and one that does not fit is named entry by entry */
    expect_error(load(path, NULL, 0, &m, &info), MBT_ERR_FORMAT, "backbone.conv1.weight: checkpoint f32 [3]",
                 "99 missing (backbone.bn1.weight");
    path_of(path, sizeof path, "absent.safetensors");
    expect_error(load(path, NULL, 0, &m, &info), MBT_ERR_IO, "absent.safetensors", NULL);
    path_of(path, sizeof path, "garbage.pth");
    write_bytes(dir, "garbage.pth", "not a checkpoint", 16);
    CHECK(load(path, NULL, 0, &m, &info) != MBT_OK && m == NULL);
    mbt_model_destroy(src);
}

/* Unnormalised evaluation features, and a model copy that gives the same features. */
static void test_raw_features_and_copies(void) {
    mbt_model *src = numbered_model(MBT_ARCH_RESNET18, 32, 16, 3, 0);
    mbt_state_dict sd;
    to_state_dict(src, &sd, "", NULL);
    char path[512];
    path_of(path, sizeof path, "raw.safetensors");
    CHECK_OK(mbt_safetensors_write(path, &sd));
    mbt_state_dict_free(&sd);
    mbt_model_destroy(src);
    mbt_eval_model_options o = {path, NULL, 3, 1, 0};
    mbt_model *m = NULL;
    mbt_eval_model_info info;
    CHECK_OK(mbt_eval_model_load(&o, &m, &info, NULL));
    if (!m) return;
    /* give BN sensible statistics for these inputs (the numbered values are not): one training forward */
    int per = 3 * 32 * 32, emb = 512;
    float *x = malloc(sizeof(float) * 3 * per);
    for (int i = 0; i < 3 * per; i++) x[i] = (float)sin(i * 0.01 + (i / per) * 0.7);
    const float *f;
    CHECK_OK(mbt_model_forward_train(m, 0, x, &f, NULL));
    size_t np = mbt_model_param_count(m), nbuf = 0;
    for (size_t i = 0; i < np; i++) nbuf += mbt_model_param(m, i)->kind == MBT_PARAM_BUFFER ? mbt_model_param(m, i)->numel : 0;
    float *before = malloc(sizeof(float) * nbuf);
    for (size_t i = 0, at = 0; i < np; i++) {
        mbt_param *p = mbt_model_param(m, i);
        if (p->kind == MBT_PARAM_BUFFER) memcpy(before + at, p->data, p->numel * sizeof(float)), at += p->numel;
    }
    int64_t counter0 = *mbt_model_find_param(m, "f.1.num_batches_tracked")->counter;
    float *r = malloc(sizeof(float) * 3 * emb), *nrm = malloc(sizeof(float) * 3 * emb);
    CHECK_OK(mbt_model_forward_eval_raw(m, 2, x, r, NULL));
    /* an evaluation forward leaves the running statistics as they were */
    size_t changed = 0;
    for (size_t i = 0, at = 0; i < np; i++) {
        mbt_param *p = mbt_model_param(m, i);
        if (p->kind != MBT_PARAM_BUFFER) continue;
        changed += memcmp(before + at, p->data, p->numel * sizeof(float)) != 0;
        at += p->numel;
    }
    CHECK(changed == 0 && *mbt_model_find_param(m, "f.1.num_batches_tracked")->counter == counter0);
    CHECK_OK(mbt_model_forward_eval(m, 2, x, nrm, NULL));
    double worst = 0, norm0 = 0, norm1 = 0;
    for (int j = 0; j < emb; j++) norm0 += (double)r[j] * r[j], norm1 += (double)r[emb + j] * r[emb + j];
    norm0 = sqrt(norm0), norm1 = sqrt(norm1);
    for (int j = 0; j < emb; j++) {
        worst = fmax(worst, fabs(r[j] / norm0 - nrm[j]));
        worst = fmax(worst, fabs(r[emb + j] / norm1 - nrm[emb + j]));
    }
    CHECK_MSG(worst < 1e-6, "raw features normalised differ from the evaluation features by %g", worst);
    CHECK_MSG(fabs(norm0 - 1) > 1e-3 && norm0 != norm1, "raw features look normalised: norms %g %g", norm0, norm1);
    mbt_model *ev = NULL;
    o.training = 0;
    CHECK_OK(mbt_eval_model_load(&o, &ev, &info, NULL));
    /* an evaluation-only model gives the same raw features */
    if (ev) {
        CHECK_OK(mbt_eval_model_copy_state(ev, m)); /* m's statistics moved with its training forward */
        float *r2 = malloc(sizeof(float) * 2 * emb);
        CHECK_OK(mbt_model_forward_eval_raw(ev, 2, x, r2, NULL));
        double d2 = 0;
        for (int j = 0; j < 2 * emb; j++) d2 = fmax(d2, fabs(r2[j] - r[j]));
        CHECK_MSG(d2 < 1e-5, "raw features of the evaluation-only model differ by %g", d2);
        free(r2);
    }
    /* copies: a model of another batch with the copied state computes the same features */
    mbt_model *tail = NULL;
    CHECK_OK(mbt_model_create(&tail, &info.config, 2, 1, 1, MBT_DEVICE_CPU));
    if (tail) {
        CHECK_OK(mbt_eval_model_copy_state(tail, m));
        same_entries("copy", m, tail, 1);
        float *t = malloc(sizeof(float) * 2 * emb);
        CHECK_OK(mbt_model_forward_eval(tail, 2, x, t, NULL));
        double d = 0;
        for (int j = 0; j < 2 * emb; j++) d = fmax(d, fabs(t[j] - nrm[j]));
        CHECK_MSG(d < 1e-5, "features of the copy differ by %g", d);
        /* buffers only: a training forward on the copy, then its statistics back into m */
        CHECK_OK(mbt_model_forward_train(tail, 0, x, &f, NULL));
        CHECK_OK(mbt_eval_model_copy_buffers(m, tail));
        CHECK(memcmp(mbt_model_find_param(m, "f.1.running_mean")->data, mbt_model_find_param(tail, "f.1.running_mean")->data,
                     64 * sizeof(float)) == 0);
        CHECK(*mbt_model_find_param(m, "f.1.num_batches_tracked")->counter == counter0 + 1);
        free(t);
    }
    if (ev && tail) CHECK_OK(mbt_eval_model_copy_state(ev, tail));
    /* the 64-px stem numbers its layers from f.4: no copy between the two */
    mbt_model *other = numbered_model(MBT_ARCH_RESNET18, 64, 16, 2, 0);
    if (other) expect_error(mbt_eval_model_copy_state(other, m), MBT_ERR_ARG, "f.4.0.conv1.weight", NULL);
    mbt_model_destroy(other);
    mbt_model_destroy(tail);
    mbt_model_destroy(ev);
    mbt_model_destroy(m);
    free(x);
    free(r);
    free(nrm);
    free(before);
}

/* A CIFAR-10 binary folder: 5 training files of 6 records each, a test file of 7; the label of record
 * r of file f is (f * 6 + r) % 10, its pixels all equal to that index. */
static void write_cifar(const char *sub) {
    char name[128];
    unsigned char rec[3073];
    for (int f = 0; f <= 5; f++) {
        int n = f < 5 ? 6 : 7;
        unsigned char *buf = malloc((size_t)n * 3073);
        for (int r = 0; r < n; r++) {
            int idx = (f < 5 ? f * 6 : 100) + r;
            rec[0] = (unsigned char)(idx % 10);
            memset(rec + 1, idx, 3072);
            memcpy(buf + (size_t)r * 3073, rec, 3073);
        }
        if (f < 5) snprintf(name, sizeof name, "%s/data_batch_%d.bin", sub, f + 1);
        else snprintf(name, sizeof name, "%s/test_batch.bin", sub);
        write_bytes(dir, name, buf, (size_t)n * 3073);
        free(buf);
    }
}

static void test_data(void) {
    write_cifar("cifar");
    char data[512];
    path_of(data, sizeof data, "cifar");
    mbt_eval_data d;
    mbt_eval_data_config c = {"cifar10", data, 0, 0, 5, 1, 1};
    CHECK_OK(mbt_eval_data_open(&d, &c));
    CHECK(mbt_eval_data_count(&d, MBT_EVAL_TRAIN) == 30 && mbt_eval_data_count(&d, MBT_EVAL_TEST) == 5);
    CHECK(d.num_classes == 10);
    mbt_loader *l = NULL;
    CHECK(mbt_eval_data_loader(&d, MBT_EVAL_TEST, 4, 1, &l) == MBT_ERR_ARG); /* no image size yet */
    CHECK_OK(mbt_eval_data_set_image_size(&d, 32));
    CHECK(d.recipe.size == 32 && fabsf(d.recipe.mean[0] - 0.4914f) < 1e-6f);
    /* evaluation pass of the test split: in order, normalised pixels */
    CHECK_OK(mbt_eval_data_loader(&d, MBT_EVAL_TEST, 4, 1, &l));
    if (l) {
        CHECK_OK(mbt_loader_start(l, 0, 0));
        mbt_batch b;
        CHECK_OK(mbt_loader_next(l, &b));
        CHECK(b.n == 4 && b.labels[0] == 0 && b.labels[3] == 3);
        CHECK_CLOSE(b.x1[0], (100 / 255.0f - 0.4914f) / 0.2023f, 1e-5, 1e-6);
        CHECK_OK(mbt_loader_next(l, &b));
        CHECK(b.n == 1 && b.labels[0] == 4);
        mbt_loader_destroy(l);
    }
    /* single-view batches: every image once per epoch, 4 + 4 + ... + 2, the same for 1 and 2 workers,
     * another order in another epoch */
    mbt_view_batches *v1 = NULL, *v2 = NULL;
    CHECK_OK(mbt_view_batches_create(&v1, d.part[MBT_EVAL_TRAIN], &d.recipe, 4, 1, 9));
    CHECK_OK(mbt_view_batches_create(&v2, d.part[MBT_EVAL_TRAIN], &d.recipe, 4, 2, 9));
    if (v1 && v2) {
        CHECK(mbt_view_batches_per_epoch(v1) == 8);
        int order[2][30];
        for (int e = 1; e <= 2; e++) {
            CHECK_OK(mbt_view_batches_start(v1, (uint32_t)e));
            CHECK_OK(mbt_view_batches_start(v2, (uint32_t)e));
            int seen[30] = {0}, at = 0, same = 1;
            for (;;) {
                const float *x1, *x2;
                const int32_t *y1, *y2;
                int n1, n2;
                CHECK_OK(mbt_view_batches_next(v1, &x1, &y1, &n1));
                CHECK_OK(mbt_view_batches_next(v2, &x2, &y2, &n2));
                CHECK(n1 == n2);
                if (n1 == 0) break;
                CHECK(n1 == (at < 28 ? 4 : 2));
                same &= memcmp(x1, x2, (size_t)n1 * 3 * 32 * 32 * sizeof(float)) == 0 && !memcmp(y1, y2, n1 * sizeof *y1);
                for (int i = 0; i < n1; i++) {
                    CHECK(y1[i] >= 0 && y1[i] < 10);
                    if (y1[i] < 0 || y1[i] >= 10) continue;
                    order[e - 1][at + i] = y1[i];
                    seen[y1[i]]++;
                }
                at += n1;
            }
            CHECK(at == 30 && same);
            for (int k = 0; k < 10; k++) CHECK(seen[k] == 3);
        }
        CHECK(memcmp(order[0], order[1], sizeof order[0]) != 0);
    }
    mbt_view_batches_destroy(v1);
    mbt_view_batches_destroy(v2);
    mbt_eval_data_close(&d);
    /* errors */
    mbt_eval_data_config bad = {"imagenet21k", data, 32, 0, 0, 1, 1};
    expect_error(mbt_eval_data_open(&d, &bad), MBT_ERR_ARG, "--dataset imagenet21k", NULL);
    bad.dataset = "cifar100";
    CHECK(mbt_eval_data_open(&d, &bad) != MBT_OK);
    CHECK(strstr(mbt_error_message(), data) != NULL);
}

int main(void) {
    if (tmp_folder(dir, sizeof dir, "evalload")) return 1;
    test_mixbt_checkpoint();
    test_pth_and_inference();
    test_bad_checkpoints();
    test_raw_features_and_copies();
    test_data();
    rm_tree(dir);
    return check_report("test_eval_load");
}
