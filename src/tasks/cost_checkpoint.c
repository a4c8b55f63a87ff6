/* The cost report of the model a checkpoint holds: the encoder as evaluation loads it, then the method
 * from the file: its projector (Mixed BT / BT), or a baseline's heads (head.*, SimCLR's bn_last.*,
 * BYOL's pred.*), with the step's method, views and batch from mixbt's stored configuration when
 * present. */
#include <cjson/cJSON.h>
#include <string.h>

#include "io/checkpoint_file.h"
#include "io/keymap.h"
#include "tasks/cost_report.h"
#include "tasks/evaluate_model.h"

/* The method, views and batch of a mixbt checkpoint's configuration (left as they are where absent). */
static void from_config(const char *json, mbt_method_config *m) {
    cJSON *j = json ? cJSON_Parse(json) : NULL;
    if (!j) return;
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "method");
    if (cJSON_IsString(v)) mbt_method_parse(v->valuestring, &m->kind);
    v = cJSON_GetObjectItemCaseSensitive(j, "batch_size");
    if (cJSON_IsNumber(v) && v->valuedouble >= 2 && v->valuedouble <= 1 << 20) m->batch = v->valueint;
    v = cJSON_GetObjectItemCaseSensitive(j, "num_samples");
    if (cJSON_IsNumber(v) && v->valuedouble >= 2 && v->valuedouble <= MBT_METHOD_MAX_VIEWS) m->n_views = v->valueint;
    cJSON_Delete(j);
}

/* A baseline's heads from the tensors: its Linear layers are the 2-D head.<i>.weight (ssl-sota's make_head:
 * Linear, BN, ReLU, ..., Linear). 0 when the file has no head. */
static int heads_from_tensors(const mbt_state_dict *sd, mbt_method_config *m) {
    int linears = 0;
    for (size_t i = 0; i < sd->count; i++) {
        const mbt_sd_tensor *t = &sd->tensors[i];
        size_t n = strlen(t->name);
        if (strncmp(t->name, "head.", 5) || n < 7 || strcmp(t->name + n - 7, ".weight") || t->ndim != 2) continue;
        if (linears == 0) m->head_size = (int)t->shape[0];
        m->emb = (int)t->shape[0];
        linears++;
    }
    if (!linears) return 0;
    m->head_layers = linears;
    if (mbt_state_dict_find(sd, "pred.0.weight")) m->kind = MBT_METHOD_BYOL;
    else if (mbt_state_dict_find(sd, "bn_last.weight")) m->kind = MBT_METHOD_SIMCLR;
    else if (!mbt_method_is_baseline(m->kind)) m->kind = MBT_METHOD_WMSE; /* no config: the head alone */
    return 1;
}

mbt_status mbt_cost_report_checkpoint(const char *file, const char *key, mbt_cost_report *r) {
    mbt_eval_model_options opt = {file, NULL, 1, 0, 0};
    mbt_model *model = NULL;
    mbt_eval_model_info info;
    MBT_TRY(mbt_eval_model_load(&opt, &model, &info, NULL));
    mbt_model_destroy(model);
    mbt_method_config m;
    mbt_method_config_defaults(&m);
    m.arch = info.config.arch;
    m.image_size = info.config.image_size;
    m.feature_dim = info.config.feature_dim;
    mbt_state_dict sd;
    mbt_state_dict_init(&sd);
    mbt_status st = mbt_ckpt_read(file, key, &sd);
    if (st == MBT_OK) st = mbt_keymap_strip_ddp(&sd, NULL);
    if (st == MBT_OK) {
        from_config(mbt_state_dict_get_meta(&sd, "mixbt.config"), &m);
        if (info.head_loaded) { /* Mixed BT / BT: 3 or 2 forward passes */
            if (mbt_method_is_baseline(m.kind)) m.kind = MBT_METHOD_MIXBT;
            st = mbt_cost_report_model(&info.config, mbt_method_name(m.kind), m.kind == MBT_METHOD_BT ? 2 : 3, m.batch, r);
        } else if (heads_from_tensors(&sd, &m)) {
            st = mbt_cost_report_method(&m, r);
        } else { /* an encoder alone: the method is not known */
            info.config.backbone_only = 1;
            st = mbt_cost_report_model(&info.config, NULL, 0, 0, r);
        }
    }
    mbt_state_dict_free(&sd);
    return st;
}
