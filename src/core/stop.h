/* Stop requests: a process-wide flag that long loops poll, so that a command ends at a safe point (its
 * checkpoint kept or written, exit status 130) rather than in the middle of a write. Who raises it (the
 * CLI's SIGINT/SIGTERM handlers, cli/signals.h) is not the tasks' business: they only poll it. */
#ifndef MBT_STOP_H
#define MBT_STOP_H

#include "core/status.h"

/* Asks for a stop; `cause` is the signal number that asked (SIGINT, SIGTERM). Async-signal-safe. */
void mbt_stop_request(int cause);
/* The cause of the stop asked for, 0 if none. */
int mbt_stop_signal(void);
/* "SIGINT", "SIGTERM" or "signal N". */
const char *mbt_stop_signal_name(int sig);
/* MBT_OK, or once a stop was asked for MBT_ERR_INTERRUPTED with "stopped by SIGTERM during <phase>". */
mbt_status mbt_stop_check(const char *phase);

#endif
