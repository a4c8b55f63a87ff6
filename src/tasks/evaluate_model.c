/* Loading pretrained encoders for evaluation (see evaluate_model.h). */
#include "tasks/evaluate_model.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "io/checkpoint_file.h"
#include "io/keymap.h"
#include "io/pth.h"
#include "io/safetensors.h"
#include "io/sd_load.h"
#include "io/state_dict.h"

/* ---- working out the architecture ----------------------------------------------------------------- */

typedef struct {
    const char *arch_name; /* NULL: none */
    int feature_dim;       /* 0: none */
    int image_size;        /* 0: none */
    int imagenet;          /* the ImageNet Barlow Twins layout (backbone.*, projector.*) */
    char projector[96];    /* ImageNet layout: the projector's sizes ("8192-8192-8192"), "" if absent */
} guess;

static int has(const mbt_state_dict *sd, const char *name) { return mbt_state_dict_find(sd, name) != NULL; }

/* What the configuration stored by `mixbt pretrain` says (strings copied into dataset). */
static void from_config(const char *json, guess *g, char *dataset, size_t dataset_size) {
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (!j) return;
    cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "arch");
    static const char *const archs[] = {"resnet18", "resnet50"};
    for (int i = 0; i < 2; i++)
        if (cJSON_IsString(v) && !strcmp(v->valuestring, archs[i])) g->arch_name = archs[i];
    v = cJSON_GetObjectItemCaseSensitive(j, "feature_dim");
    if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= 1e6) g->feature_dim = (int)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(j, "image_size");
    if (cJSON_IsNumber(v) && v->valuedouble >= 8 && v->valuedouble <= 4096) g->image_size = (int)v->valuedouble;
    v = cJSON_GetObjectItemCaseSensitive(j, "dataset");
    if (cJSON_IsString(v)) snprintf(dataset, dataset_size, "%s", v->valuestring);
    cJSON_Delete(j);
}

/* The ImageNet layout: torchvision backbone under backbone.*, projector.<i> Linear layers (2-D weights)
 * with BatchNorm1d + ReLU between them; 224-px stem. */
static mbt_status imagenet_layout(const char *path, const mbt_state_dict *sd, guess *g) {
    g->imagenet = 1;
    g->image_size = 224;
    g->arch_name = has(sd, "backbone.layer1.0.conv3.weight") ? "resnet50" : "resnet18";
    int sizes[8], n = 0;
    for (int i = 0; i < 64; i++) { /* projector.0, .3, .6, ...: the Linear layers in index order */
        char name[48];
        snprintf(name, sizeof name, "projector.%d.weight", i);
        const mbt_sd_tensor *t = mbt_state_dict_find(sd, name);
        if (!t || t->ndim != 2) continue;
        if (n == 8 || t->shape[0] < 1 || t->shape[0] > 65536)
            return MBT_FAIL(MBT_ERR_FORMAT, "%s: %s: a projector of more than 8 layers or of %lld features", path, name,
                            (long long)t->shape[0]);
        sizes[n++] = (int)t->shape[0];
    }
    g->projector[0] = 0;
    for (int i = 0; i < n; i++) {
        size_t u = strlen(g->projector);
        snprintf(g->projector + u, sizeof g->projector - u, "%s%d", i ? "-" : "", sizes[i]);
    }
    if (n) g->feature_dim = sizes[n - 1];
    return MBT_OK;
}

/* A bare torchvision ResNet state dict (conv1.*, layer1.*, fc.*: e.g. Barlow Twins' released
 * resnet50.pth) is renamed to the model it fits: the ImageNet layout for a 7x7 conv1, the small-data
 * Model with the CIFAR stem for a 3x3 one; fc.* is dropped. Other state dicts are left as they are. */
static mbt_status rename_torchvision(const char *path, mbt_state_dict *sd, FILE *log) {
    const mbt_sd_tensor *conv1 = mbt_state_dict_find(sd, "conv1.weight");
    if (!conv1 || !has(sd, "layer1.0.conv1.weight")) return MBT_OK;
    if (conv1->ndim != 4 || (conv1->shape[3] != 7 && conv1->shape[3] != 3))
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: a torchvision ResNet whose conv1.weight is not 7x7 or 3x3", path);
    int imagenet = conv1->shape[3] == 7;
    size_t n;
    const mbt_keymap_rule *rules =
        mbt_keymap_preset_rules(imagenet ? MBT_KEYMAP_TV_TO_BACKBONE : MBT_KEYMAP_TV_TO_SMALL_CIFAR, &n);
    MBT_TRY(mbt_keymap_apply(sd, rules, n, NULL, NULL));
    if (log)
        fprintf(log, "%s: a torchvision ResNet state dict, read as the %s (fc.* ignored)\n", path,
                imagenet ? "ImageNet backbone (224-px stem)" : "small-data backbone with the 32-px stem");
    return MBT_OK;
}

/* An ssl-sota baseline's checkpoint (mixbt pretrain --method simclr|byol|wmse, or ssl-sota's own):
 * model.module.* is the online encoder, a torchvision ResNet trunk, beside head.*, bn_last.*, pred.*,
 * model_t.module.*, head_t.*. Keeps the encoder, renamed to the small-data backbone: the 32-px stem, or
 * with the max pool for the 64-px datasets (dataset: the checkpoint's config, "" if none: CIFAR). */
static mbt_status keep_sslsota_encoder(const char *path, mbt_state_dict *sd, const char *dataset, FILE *log) {
    if (!has(sd, "model.module.conv1.weight")) return MBT_OK;
    MBT_TRY(mbt_keymap_keep_prefix(sd, "model.module.", NULL));
    int pool = !strcmp(dataset, "stl10") || !strcmp(dataset, "tiny_imagenet");
    size_t n;
    const mbt_keymap_rule *rules = mbt_keymap_preset_rules(pool ? MBT_KEYMAP_TV_TO_SMALL_POOL : MBT_KEYMAP_TV_TO_SMALL_CIFAR, &n);
    MBT_TRY(mbt_keymap_apply(sd, rules, n, NULL, NULL));
    if (log)
        fprintf(log, "%s: an ssl-sota checkpoint, its encoder model.module.* read as the small-data backbone (%s)\n",
                path, pool ? "64-px stem with max pooling" : "32-px stem");
    return MBT_OK;
}

/* What the tensors say: stem (and so the image size), block type, projector output size. */
static mbt_status from_tensors(const char *path, const mbt_state_dict *sd, guess *g) {
    if (has(sd, "backbone.conv1.weight")) return imagenet_layout(path, sd, g);
    if (!has(sd, "f.0.weight"))
        return MBT_FAIL(MBT_ERR_FORMAT,
                        "%s: neither f.0.weight (the reference's small-data Model), backbone.conv1.weight (the "
                        "ImageNet Barlow Twins model) nor conv1.weight (a torchvision ResNet); its first entry is "
                        "'%s' (%zu entries)",
                        path, sd->count ? sd->tensors[0].name : "(none)", sd->count);
    int layer1;
    if (has(sd, "f.3.0.conv1.weight")) layer1 = 3; /* conv, bn, relu, layer1: the CIFAR stem */
    else if (has(sd, "f.4.0.conv1.weight")) layer1 = 4; /* ... max pool, layer1: the 64-px stem */
    else
        return MBT_FAIL(MBT_ERR_FORMAT, "%s: has f.0.weight but neither f.3.0.conv1.weight nor f.4.0.conv1.weight: "
                        "cannot tell the ResNet stem", path);
    char name[64];
    snprintf(name, sizeof name, "f.%d.0.conv3.weight", layer1);
    g->arch_name = has(sd, name) ? "resnet50" : "resnet18";
    g->image_size = layer1 == 3 ? 32 : 64;
    const mbt_sd_tensor *t = mbt_state_dict_find(sd, "g.3.weight");
    if (t && t->ndim == 2 && t->shape[0] >= 1 && t->shape[0] <= 1000000) g->feature_dim = (int)t->shape[0];
    return MBT_OK;
}

/* ---- loading ------------------------------------------------------------------------------------- */

static int is_backbone(const char *name) { return !strncmp(name, "f.", 2) || !strncmp(name, "backbone.", 9); }
static int is_head(const char *name) { return !strncmp(name, "g.", 2) || !strncmp(name, "projector.", 10); }
static int is_counter(const char *name) {
    size_t n = strlen(name), m = strlen("num_batches_tracked");
    return n >= m && !strcmp(name + n - m, "num_batches_tracked");
}

/* Appends "a, b, c, ..." (up to 3 names; the text before ':' of mismatch lines) to buf. */
static void append_list(char *buf, size_t size, char **items, size_t n, int full) {
    size_t used = strlen(buf);
    int shown = 0;
    for (size_t i = 0; i < n && used + 1 < size; i++) {
        if (shown == 3) {
            snprintf(buf + used, size - used, ", ...");
            break;
        }
        const char *s = items[i];
        int len = full ? (int)strlen(s) : (int)(strchr(s, ':') ? (size_t)(strchr(s, ':') - s) : strlen(s));
        snprintf(buf + used, size - used, "%s%.*s", shown ? ", " : "", len, s);
        used = strlen(buf);
        shown++;
    }
}

/* Keeps the report entries that matter (fatal[i] = 1) in place; returns how many. */
static size_t keep_fatal(char **items, size_t n, int need_head, int *head_bad) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int fatal = is_backbone(items[i]) ? !is_counter(items[i]) : (is_head(items[i]) && need_head);
        if (is_head(items[i])) *head_bad = 1;
        if (fatal) {
            char *t = items[k];
            items[k++] = items[i];
            items[i] = t;
        }
    }
    return k;
}

static mbt_status load_into(const char *path, const mbt_state_dict *sd, mbt_model *m, const char *arch_from,
                            int need_head, mbt_eval_model_info *info, FILE *log) {
    size_t n = mbt_model_param_count(m);
    mbt_load_target *targets = calloc(n, sizeof *targets);
    if (!targets) return MBT_FAIL(MBT_ERR_NOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < n; i++) {
        mbt_param *p = mbt_model_param(m, i);
        targets[i].name = p->name;
        targets[i].ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++) targets[i].shape[d] = p->shape[d];
        if (p->kind == MBT_PARAM_COUNTER) targets[i].dst_i64 = p->counter;
        else targets[i].dst = p->data;
    }
    mbt_load_report rep;
    mbt_status st = mbt_state_dict_load(sd, targets, n, MBT_LOAD_NONSTRICT, &rep);
    free(targets);
    if (st != MBT_OK) {
        mbt_load_report_free(&rep);
        return st;
    }
    int head_bad = 0;
    size_t nm = keep_fatal(rep.missing, rep.n_missing, need_head, &head_bad);
    size_t nx = keep_fatal(rep.mismatched, rep.n_mismatched, need_head, &head_bad);
    /* a mixbt training checkpoint's optimizer state is no model entry and no surprise */
    size_t nu = 0;
    for (size_t i = 0; i < rep.n_unexpected; i++) {
        char *t = rep.unexpected[i];
        if (strncmp(t, "mixbt.", 6)) {
            rep.unexpected[i] = rep.unexpected[nu];
            rep.unexpected[nu++] = t;
        }
    }
    info->n_loaded = rep.n_loaded;
    info->n_ignored = nu;
    info->head_loaded = !head_bad;
    if (nm || nx) {
        char msg[1400];
        snprintf(msg, sizeof msg, "%s: does not fit a %s %s(architecture from %s): ", path,
                 mbt_arch_name(mbt_model_get_config(m)->arch), need_head && head_bad ? "model with its projector " : "",
                 arch_from);
        if (nm) {
            size_t u = strlen(msg);
            snprintf(msg + u, sizeof msg - u, "%zu missing (", nm);
            append_list(msg, sizeof msg, rep.missing, nm, 1);
            u = strlen(msg);
            snprintf(msg + u, sizeof msg - u, ")%s", nx ? ", " : "");
        }
        if (nx) {
            size_t u = strlen(msg);
            snprintf(msg + u, sizeof msg - u, "%zu of another shape (%s", nx, rep.mismatched[0]);
            if (nx > 1) {
                u = strlen(msg);
                snprintf(msg + u, sizeof msg - u, "; also ");
                append_list(msg, sizeof msg, rep.mismatched + 1, nx - 1, 0);
            }
            u = strlen(msg);
            snprintf(msg + u, sizeof msg - u, ")");
        }
        mbt_load_report_free(&rep);
        return MBT_FAIL(MBT_ERR_FORMAT, "%s", msg);
    }
    if (log && nu) {
        char list[400] = "";
        append_list(list, sizeof list, rep.unexpected, nu, 1);
        fprintf(log, "%s: ignored %zu entries the model has no place for (%s)\n", path, nu, list);
    }
    if (log && head_bad) fprintf(log, "%s: no (matching) projector g.*; backbone features only\n", path);
    mbt_load_report_free(&rep);
    return mbt_model_sync_params(m);
}

mbt_status mbt_eval_model_load(const mbt_eval_model_options *opt, mbt_model **model, mbt_eval_model_info *info,
                               FILE *log) {
    *model = NULL;
    memset(info, 0, sizeof *info);
    MBT_CHECK_ARG(opt->checkpoint && *opt->checkpoint, "evaluation: no checkpoint given");
    MBT_CHECK_ARG(opt->batch >= 1, "evaluation: batch size %d", opt->batch);
    const char *path = opt->checkpoint;
    /* a known extension decides; else the content does */
    mbt_ckpt_format format = mbt_ckpt_format_from_path(path);
    if (format == MBT_CKPT_UNKNOWN) MBT_TRY(mbt_ckpt_format_sniff(path, &format));
    snprintf(info->format, sizeof info->format, "%s", format == MBT_CKPT_PTH ? "PyTorch .pth" : "safetensors");
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status st = format == MBT_CKPT_PTH ? mbt_pth_read(path, NULL, &sd) : mbt_safetensors_read(path, &sd);
    if (st == MBT_OK) { /* the dataset of a mixbt checkpoint's config, for the ssl-sota encoder's stem */
        guess g = {0};
        from_config(mbt_state_dict_get_meta(&sd, "mixbt.config"), &g, info->dataset, sizeof info->dataset);
        st = keep_sslsota_encoder(path, &sd, info->dataset, log);
    }
    if (st == MBT_OK) st = mbt_keymap_strip_ddp(&sd, NULL);
    if (st == MBT_OK) st = rename_torchvision(path, &sd, log);
    guess tensors = {0}, config = {0};
    if (st == MBT_OK) st = from_tensors(path, &sd, &tensors);
    if (st == MBT_OK) {
        const char *json = mbt_state_dict_get_meta(&sd, "mixbt.config");
        info->has_config = json != NULL;
        from_config(json, &config, info->dataset, sizeof info->dataset);
    }
    mbt_arch arch = MBT_ARCH_RESNET18;
    const char *arch_from = "the checkpoint's tensors";
    if (st == MBT_OK) {
        const char *name = tensors.arch_name;
        if (opt->arch) {
            name = opt->arch;
            arch_from = "--arch";
        } else if (config.arch_name) {
            name = config.arch_name;
            arch_from = "the checkpoint's config";
        }
        st = mbt_arch_parse(name, &arch);
    }
    if (st == MBT_OK) {
        int size = config.image_size ? config.image_size : tensors.image_size;
        int dim = config.feature_dim ? config.feature_dim : tensors.feature_dim ? tensors.feature_dim : 1024;
        if (tensors.imagenet)  /* without a projector in the file, a small one stands in (never loaded) */
            st = mbt_model_config_imagenet(arch, tensors.projector[0] ? tensors.projector : "64", &info->config);
        else
            info->config = mbt_model_config_small(arch, size, dim);
    }
    if (st == MBT_OK) {
        st = mbt_model_create(model, &info->config, opt->batch, 1, opt->training, MBT_DEVICE_CPU);
    }
    /* entries a checkpoint may lack (an unused projector) stay zero: its output is then zero, never used */
    if (st == MBT_OK) st = load_into(path, &sd, *model, arch_from, opt->need_head, info, log);
    mbt_state_dict_free(&sd);
    if (st != MBT_OK) {
        mbt_model_destroy(*model);
        *model = NULL;
    }
    return st;
}

void mbt_eval_model_note_dataset(const mbt_eval_model_info *info, const char *dataset, FILE *log) {
    if (log && info->dataset[0] && dataset && strcmp(info->dataset, dataset))
        fprintf(log, "note: the checkpoint was pretrained on %s; evaluating on %s (--dataset)\n", info->dataset, dataset);
}

/* ---- copies between models ------------------------------------------------------------------------ */

static mbt_status copy_params(mbt_model *dst, mbt_model *src, int buffers_only) {
    size_t n = mbt_model_param_count(src);
    if (mbt_model_param_count(dst) != n)
        return MBT_FAIL(MBT_ERR_ARG, "model copy: %zu entries into a model of %zu", n, mbt_model_param_count(dst));
    for (size_t i = 0; i < n; i++) {
        mbt_param *s = mbt_model_param(src, i), *d = mbt_model_param(dst, i);
        if (s->numel != d->numel || s->kind != d->kind || strcmp(s->name, d->name))
            return MBT_FAIL(MBT_ERR_ARG, "model copy: entry %zu is %s in the source, %s in the target", i, s->name,
                            d->name);
        if (s->kind == MBT_PARAM_COUNTER) *d->counter = *s->counter;
        else if (s->kind == MBT_PARAM_BUFFER || !buffers_only) memcpy(d->data, s->data, s->numel * sizeof(float));
    }
    /* CUDA: upload what was written into the host copy; CPU: refresh the ops' weights (not needed
     * when only the running statistics changed) */
    if (buffers_only && mbt_model_device(dst) == MBT_DEVICE_CPU) return MBT_OK;
    return mbt_model_params_to_device(dst);
}

mbt_status mbt_eval_model_copy_state(mbt_model *dst, mbt_model *src) { return copy_params(dst, src, 0); }
mbt_status mbt_eval_model_copy_buffers(mbt_model *dst, mbt_model *src) { return copy_params(dst, src, 1); }
