/* What `mixbt linear` and `mixbt transfer` share: the per-epoch line and the --bn / --features-once rule. */
#ifndef MBT_CLI_PROBE_CLI_H
#define MBT_CLI_PROBE_CLI_H

#include "cli/flags.h"
#include "tasks/linear_probe.h"

/* An mbt_probe_epoch_fn printing one line per epoch to ctx (a FILE *). */
void probe_cli_print_epoch(void *ctx, const mbt_probe_epoch *e, int epochs);

/* The BN mode from --bn (text `bn`) and --features-once: features once means frozen BN, so an explicit
 * --bn train with it is refused. Returns 0, or 2 after printing the one-line error for `command`. */
int probe_cli_bn_mode(const char *command, flag *flags, int n, const char *bn, int features_once, mbt_probe_bn *out);

#endif
