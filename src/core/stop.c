/* The stop flag (see stop.h). */
#include "core/stop.h"

#include <signal.h>
#include <stdio.h>

static volatile sig_atomic_t requested;

void mbt_stop_request(int cause) { requested = cause; }

int mbt_stop_signal(void) { return requested; }

const char *mbt_stop_signal_name(int sig) {
    static _Thread_local char buf[24];
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    snprintf(buf, sizeof buf, "signal %d", sig);
    return buf;
}

mbt_status mbt_stop_check(const char *phase) {
    int sig = requested;
    if (!sig) return MBT_OK;
    return MBT_FAIL(MBT_ERR_INTERRUPTED, "stopped by %s during %s", mbt_stop_signal_name(sig), phase);
}
