/* The pretraining configuration's field table, and the defaults and config.json derived from it. */
#include "tasks/pretrain_config.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OFF(member) offsetof(mbt_pretrain_config, member)
#define NONE 1, 0 /* no range */

/* The defaults are the reference's main.py (CIFAR-10 recipe, ResNet-18). */
static const mbt_config_field FIELDS[] = {
    /* key, flag, type, role, offset, num default, str default, optional, choices, meta, help, min, max */
    {"dataset", "dataset", MBT_FIELD_CHOICE, MBT_FIELD_RECIPE, OFF(dataset), 0, "cifar10", 0, NULL, "NAME", "training set", NONE},
    {"data", "data", MBT_FIELD_STRING, MBT_FIELD_RECIPE, OFF(data_dir), 0, NULL, 0, NULL, "DIR", "folder holding the dataset's files (required)", NONE},
    {"subset", "subset", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(subset), 0, NULL, 0, NULL, "N", NULL, 0, 1e9},
    {"image_size", "image-size", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(image_size), 0, NULL, 1, NULL, "PX",
     "train and monitor at PX x PX pixels (0: the dataset's; smaller is faster, for trials and tests)", 0, 4096},
    {"arch", "arch", MBT_FIELD_CHOICE, MBT_FIELD_RECIPE, OFF(arch), 0, "resnet18", 0, "resnet18|resnet50", "NAME", "backbone", NONE},
    {"feature_dim", "feature-dim", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(feature_dim), 1024, NULL, 0, NULL, "D", "projector output size d", 1, 65536},
    {"batch_size", "batch-size", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(batch_size), 256, NULL, 0, NULL, "B", "original images per step", 2, 65536},
    {"epochs", "epochs", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(epochs), 2000, NULL, 0, NULL, "E", "epochs (the schedule's length)", 1, 1e6},
    {"lr", "lr", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(lr), 0.01, NULL, 0, NULL, "LR", "learning-rate multiplier of the schedule", 0, 100},
    {"lr_schedule", "lr-schedule", MBT_FIELD_CHOICE, MBT_FIELD_RECIPE, OFF(lr_schedule), 0, "cosine", 0, "cosine|step", "S",
     "cosine with linear warm-up, or MultiStepLR at E-50, E-25", NONE},
    /* absent from run folders written before the flag existed: those ran the reference's 10 */
    {"warmup_epochs", "warmup-epochs", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(warmup_epochs), 10, NULL, 1, NULL, "E",
     "cosine: epochs of linear warm-up from 0 (the reference: 10)", 0, 1e6},
    {"weight_decay", "weight-decay", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(weight_decay), 1e-6, NULL, 0, NULL, "WD", "Adam L2 weight decay", 0, 1},
    {"lambda_bt", "lambda-bt", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(lambda_bt), 0.0078125, NULL, 0, NULL, "L",
     "weight of the off-diagonal Barlow Twins terms", 0, 1e3},
    {"lambda_reg", "lambda-reg", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(lambda_reg), 4.0, NULL, 0, NULL, "L",
     "scale of the mixed-sample regulariser (0: plain Barlow Twins)", 0, 1e3},
    /* the method, and the baselines' settings (ssl-sota cfg.py); absent from run folders written before */
    {"method", "method", MBT_FIELD_CHOICE, MBT_FIELD_RECIPE, OFF(method), 0, "mixbt", 1, "mixbt|bt|simclr|byol|wmse", "M",
     "mixbt (Mixed Barlow Twins), bt (plain Barlow Twins), or ssl-sota's simclr, byol, wmse", NONE},
    {"emb", "emb", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(emb), 64, NULL, 1, NULL, "D", "baselines: the head's output size", 1, 65536},
    {"head_size", "head-size", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(head_size), 1024, NULL, 1, NULL, "N",
     "baselines: hidden size of the head (and BYOL's predictor)", 1, 65536},
    {"head_layers", "head-layers", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(head_layers), 2, NULL, 1, NULL, "N",
     "baselines: Linear layers of the head", 1, 4},
    {"num_samples", "num-samples", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(num_samples), 2, NULL, 1, NULL, "N",
     "baselines: views per image (2 or 4)", 1, 4},
    {"tau", "tau", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(tau), 0.5, NULL, 1, NULL, "T", "simclr: temperature", 1e-6, 1e6},
    {"byol_tau", "byol-tau", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(byol_tau), 0.99, NULL, 1, NULL, "T",
     "byol: starting EMA coefficient of the target", 0, 1},
    {"w_size", "w-size", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(w_size), 128, NULL, 1, NULL, "N",
     "wmse: rows per whitening sub-batch (divides --batch-size)", 2, 65536},
    {"w_iter", "w-iter", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(w_iter), 1, NULL, 1, NULL, "N", "wmse: whitening iterations", 1, 1024},
    {"w_eps", "w-eps", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(w_eps), 1e-2, NULL, 1, NULL, "EPS",
     "wmse: covariance shrinkage (the scripts' 10e-3; cfg.py's own default is 1e-4)", 0, 1},
    {"no_norm", "no-norm", MBT_FIELD_BOOL, MBT_FIELD_RECIPE, OFF(no_norm), 0, NULL, 1, NULL, NULL,
     "baselines: do not L2-normalise the outputs in the loss", NONE},
    {"lr_step", "lr-step", MBT_FIELD_CHOICE, MBT_FIELD_RECIPE, OFF(lr_step), 0, "step", 1, "cos|step|none", "S",
     "baselines: MultiStepLR at epochs - drop (step), cosine with warm restarts (cos), or constant (none)", NONE},
    {"drop", "drop", MBT_FIELD_STRING, MBT_FIELD_RECIPE, OFF(drop), 0, "50,25", 1, NULL, "D,D",
     "baselines, --lr-step step: lr drops at epochs - D for each D (\"\": none)", NONE},
    {"drop_gamma", "drop-gamma", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(drop_gamma), 0.2, NULL, 1, NULL, "G",
     "baselines: factor of each lr drop", 0, 1},
    {"eta_min", "eta-min", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(eta_min), 0, NULL, 1, NULL, "LR",
     "baselines, --lr-step cos: the lowest lr", 0, 100},
    {"T0", "T0", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(t0), 0, NULL, 1, NULL, "E",
     "baselines, --lr-step cos: the first period in epochs (0: --epochs)", 0, 1e6},
    {"Tmult", "Tmult", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(tmult), 1, NULL, 1, NULL, "N",
     "baselines, --lr-step cos: period factor after each restart", 1, 1e6},
    {"no_lr_warmup", "no-lr-warmup", MBT_FIELD_BOOL, MBT_FIELD_RECIPE, OFF(no_lr_warmup), 0, NULL, 1, NULL, NULL,
     "baselines: no linear lr warm-up over the first 500 steps", NONE},
#define AUG(key, flag, member, help) \
    {key, flag, MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(member), -1, NULL, 1, NULL, "V", help " (-1: the recipe's)", -1, 1e6}
    AUG("cj0", "cj0", cj0, "baselines: colour jitter brightness"),
    AUG("cj1", "cj1", cj1, "baselines: colour jitter contrast"),
    AUG("cj2", "cj2", cj2, "baselines: colour jitter saturation"),
    AUG("cj3", "cj3", cj3, "baselines: colour jitter hue"),
    AUG("cj_p", "cj-p", cj_p, "baselines: colour jitter probability"),
    AUG("gs_p", "gs-p", gs_p, "baselines: grayscale probability"),
    AUG("crop_s0", "crop-s0", crop_s0, "baselines: crop area from"),
    AUG("crop_s1", "crop-s1", crop_s1, "baselines: crop area to"),
    AUG("crop_r0", "crop-r0", crop_r0, "baselines: crop ratio from"),
    AUG("crop_r1", "crop-r1", crop_r1, "baselines: crop ratio to"),
    AUG("hf_p", "hf-p", hf_p, "baselines: horizontal flip probability"),
#undef AUG
    {"seed", "seed", MBT_FIELD_UINT64, MBT_FIELD_RECIPE, OFF(seed), 0, NULL, 0, NULL, "S", "random seed", 0, 9.2e18},
    {"threads", "threads", MBT_FIELD_INT, MBT_FIELD_RECORD, OFF(threads), 2, NULL, 0, NULL, "N", "compute threads", 1, 1024},
    {"workers", "workers", MBT_FIELD_INT, MBT_FIELD_RECORD, OFF(workers), 2, NULL, 0, NULL, "N", "data loader threads", 1, 256},
    {"device", "device", MBT_FIELD_DEVICE, MBT_FIELD_RECORD, OFF(device), 0, "cpu", 0, NULL, "DEV",
     "where to train: cpu, cuda or cuda:N (a resumed run may change it)", NONE},
    {"precision", "precision", MBT_FIELD_CHOICE, MBT_FIELD_RECORD, OFF(precision), 0, "fp32", 0, "fp32|bf16", "P",
     "the backbone's activations and convolutions: fp32 (TF32 products on a GPU unless MIXBT_NO_TF32=1), or bf16 with fp32 "
     "weights, BN statistics, projector and loss (cuda only; a resumed run may change it)", NONE},
    {"loader", "loader", MBT_FIELD_CHOICE, MBT_FIELD_SESSION, OFF(loader), 0, "auto", 0, "auto|host|device", "WHERE",
     "where training images are augmented: host (loader threads), device (the set kept on --device as bytes; one image "
     "size, no blur), auto (device on a GPU when the set fits in a quarter of its free memory); the batches are the same",
     NONE},
    {"knn_every", "knn-every", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(knn_every), 5, NULL, 0, NULL, "E",
     "run the k-NN monitor every E epochs (0: never)", 0, 1e6},
    {"knn_k", "knn-k", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(knn_k), 200, NULL, 0, NULL, "K", "neighbours of the k-NN monitor", 1, 1e6},
    {"knn_t", "knn-t", MBT_FIELD_DOUBLE, MBT_FIELD_RECIPE, OFF(knn_t), 0.5, NULL, 0, NULL, "T",
     "temperature of the k-NN weights exp(sim/T)", 1e-6, 1e6},
    {"knn_subset", "knn-subset", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(knn_subset), 0, NULL, 0, NULL, "N", NULL, 0, 1e9},
    {"knn_test_subset", "knn-test-subset", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(knn_test_subset), 0, NULL, 0, NULL, "N", NULL, 0, 1e9},
    {"checkpoint_every", "checkpoint-every", MBT_FIELD_INT, MBT_FIELD_RECIPE, OFF(checkpoint_every), 50, NULL, 0, NULL, "E",
     "keep a numbered checkpoint every E epochs", 1, 1e6},
    {"print_every", "print-every", MBT_FIELD_INT, MBT_FIELD_SESSION, OFF(print_every), 20, NULL, 0, NULL, "N",
     "steps between progress lines when not on a terminal", 1, 1e9},
    {"max_steps", "max-steps", MBT_FIELD_INT64, MBT_FIELD_RECORD, OFF(max_steps), 0, NULL, 0, NULL, "N",
     "stop after N steps in total (0: run all epochs)", 0, 1e12},
    {"progress_seconds", NULL, MBT_FIELD_DOUBLE, MBT_FIELD_SESSION, OFF(progress_seconds), 30, NULL, 0, NULL, NULL, NULL, NONE},
    {"out", "out", MBT_FIELD_STRING, MBT_FIELD_SESSION, OFF(out_dir), 0, NULL, 0, NULL, "DIR",
     "run folder (created; must not hold another run)", NONE},
    {"resume", "resume", MBT_FIELD_STRING, MBT_FIELD_SESSION, OFF(resume_dir), 0, NULL, 0, NULL, "DIR",
     "continue the run in DIR from its last checkpoint", NONE},
    {"init_from", "init-from", MBT_FIELD_STRING, MBT_FIELD_SESSION, OFF(init_from), 0, NULL, 0, NULL, "FILE",
     "start a new run (epoch 0, a fresh optimizer) from FILE's model weights: a mixbt checkpoint, a PyTorch state_dict "
     ".pth, or the original's checkpoint.pth (its 'model'; its optimizer state is not read); recorded in config.json",
     NONE},
    {"strict", "strict", MBT_FIELD_BOOL, MBT_FIELD_SESSION, OFF(strict), 0, NULL, 0, NULL, NULL,
     "--init-from (the default): a missing or unexpected key is an error listing them", NONE},
    {"no_strict", "no-strict", MBT_FIELD_BOOL, MBT_FIELD_SESSION, OFF(no_strict), 0, NULL, 0, NULL, NULL,
     "--init-from: load the entries that match, warn about the missing and unexpected ones (a shape mismatch stays "
     "an error)", NONE},
};

const mbt_config_field *mbt_pretrain_fields(size_t *count) {
    *count = sizeof FIELDS / sizeof *FIELDS;
    return FIELDS;
}

const mbt_config_field *mbt_pretrain_field(const char *key) {
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++)
        if (!strcmp(FIELDS[i].key, key)) return &FIELDS[i];
    return NULL;
}

void *mbt_pretrain_field_ptr(mbt_pretrain_config *cfg, const mbt_config_field *f) { return (char *)cfg + f->offset; }

static int is_string(mbt_field_type t) { return t == MBT_FIELD_STRING || t == MBT_FIELD_CHOICE || t == MBT_FIELD_DEVICE; }

/* Sets a numeric field from a double (the default, or a JSON number). */
static void set_number(mbt_pretrain_config *c, const mbt_config_field *f, double v) {
    void *p = mbt_pretrain_field_ptr(c, f);
    switch (f->type) {
    case MBT_FIELD_INT:
    case MBT_FIELD_BOOL: *(int *)p = (int)v; break;
    case MBT_FIELD_INT64: *(int64_t *)p = (int64_t)v; break;
    case MBT_FIELD_UINT64: *(uint64_t *)p = (uint64_t)v; break;
    case MBT_FIELD_DOUBLE: *(double *)p = v; break;
    default: break;
    }
}

void mbt_pretrain_config_defaults(mbt_pretrain_config *c) {
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
        const mbt_config_field *f = &FIELDS[i];
        if (is_string(f->type)) *(const char **)mbt_pretrain_field_ptr(c, f) = f->str_default;
        else set_number(c, f, f->num_default);
    }
}

/* Adds a double written with the fewest digits that read back to exactly the same value (cJSON's own
 * printing accepts a last-bit difference, so a resumed run could compute with another value). */
static void add_exact_number(cJSON *j, const char *key, double v) {
    char text[40];
    for (int digits = 15; digits <= 17; digits++) {
        snprintf(text, sizeof text, "%.*g", digits, v);
        if (strtod(text, NULL) == v) break;
    }
    cJSON_AddRawToObject(j, key, text);
}

char *mbt_pretrain_config_to_json(const mbt_pretrain_config *c) { return mbt_pretrain_config_to_json_with(c, NULL, 0); }

char *mbt_pretrain_config_to_json_with(const mbt_pretrain_config *c, const mbt_config_record *records, int n_records) {
    cJSON *j = cJSON_CreateObject();
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
        const mbt_config_field *f = &FIELDS[i];
        if (f->role == MBT_FIELD_SESSION) continue;
        const void *p = (const char *)c + f->offset;
        char seed[32];
        switch (f->type) {
        case MBT_FIELD_STRING:
        case MBT_FIELD_CHOICE:
        case MBT_FIELD_DEVICE: {
            const char *s = *(const char *const *)p;
            cJSON_AddStringToObject(j, f->key, s ? s : f->str_default ? f->str_default : "");
            break;
        }
        case MBT_FIELD_INT:
        case MBT_FIELD_BOOL: cJSON_AddNumberToObject(j, f->key, *(const int *)p); break;
        case MBT_FIELD_INT64: cJSON_AddNumberToObject(j, f->key, (double)*(const int64_t *)p); break;
        case MBT_FIELD_UINT64:
            snprintf(seed, sizeof seed, "%llu", (unsigned long long)*(const uint64_t *)p);
            cJSON_AddStringToObject(j, f->key, seed);
            break;
        case MBT_FIELD_DOUBLE: add_exact_number(j, f->key, *(const double *)p); break;
        }
    }
    for (int i = 0; i < n_records; i++)
        if (records[i].object) cJSON_AddItemToObject(j, records[i].key, cJSON_Duplicate(records[i].object, 1));
    char *text = cJSON_Print(j);
    cJSON_Delete(j);
    return text;
}

mbt_status mbt_pretrain_config_from_json(const char *path, const char *text, mbt_pretrain_config *c, void **tree) {
    cJSON *j = cJSON_Parse(text);
    if (!j) return MBT_FAIL(MBT_ERR_FORMAT, "%s: not valid JSON", path);
    *tree = j;
    for (size_t i = 0; i < sizeof FIELDS / sizeof *FIELDS; i++) {
        const mbt_config_field *f = &FIELDS[i];
        if (f->role != MBT_FIELD_RECIPE) continue;
        cJSON *v = cJSON_GetObjectItemCaseSensitive(j, f->key);
        int want_string = is_string(f->type) || f->type == MBT_FIELD_UINT64;
        if (!v && f->optional) {
            if (is_string(f->type)) *(const char **)mbt_pretrain_field_ptr(c, f) = f->str_default;
            else set_number(c, f, f->num_default);
            continue;
        }
        if (want_string ? !cJSON_IsString(v) : !cJSON_IsNumber(v))
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: '%s' %s", path, f->key,
                            !v ? "missing" : want_string ? "is not a string" : "is not a number");
        if (f->type == MBT_FIELD_UINT64) {
            char *end;
            unsigned long long x = strtoull(v->valuestring, &end, 10);
            if (!*v->valuestring || *end) return MBT_FAIL(MBT_ERR_FORMAT, "%s: '%s' is not an unsigned integer", path, f->key);
            *(uint64_t *)mbt_pretrain_field_ptr(c, f) = x;
        } else if (want_string) {
            *(const char **)mbt_pretrain_field_ptr(c, f) = v->valuestring;
        } else {
            set_number(c, f, v->valuedouble);
        }
    }
    return MBT_OK;
}
