/* Stop requests: SIGINT and SIGTERM set a flag that the long loops poll, so that a command ends at a
 * safe point (its checkpoint kept or written, exit status 130) rather than in the middle of a write. */
#ifndef MBT_STOP_H
#define MBT_STOP_H

#include "core/status.h"

/* Catches SIGINT and SIGTERM for the rest of the process (a command calls it once, first). The handler
 * only records the signal; a second signal after it ends the process at once with that signal's
 * default action (checkpoints are written atomically, so the last complete one stays). */
void mbt_stop_install(void);
/* The signal that asked for a stop (SIGINT or SIGTERM), 0 if none (or mbt_stop_install not called). */
int mbt_stop_signal(void);
/* "SIGINT", "SIGTERM" or "signal N". */
const char *mbt_stop_signal_name(int sig);
/* MBT_OK, or once a stop was asked for MBT_ERR_INTERRUPTED with "stopped by SIGTERM during <phase>". */
mbt_status mbt_stop_check(const char *phase);

#endif
