/* The ssl-sota baselines (SimCLR, BYOL, W-MSE) behind the method interface. */
#include "tasks/method.h"

mbt_status mbt_method_create_baseline(mbt_method *m, mbt_precision precision) {
    (void)precision;
    return MBT_FAIL(MBT_ERR_UNSUPPORTED, "--method %s: not built yet", mbt_method_name(m->cfg.kind));
}
