/* Stop requests from SIGINT / SIGTERM (see stop.h). */
#include "tasks/stop.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

static volatile sig_atomic_t requested;

static void on_signal(int sig) {
    if (requested) { /* the second: no more waiting for a safe point */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    requested = sig;
}

void mbt_stop_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* blocking calls resume: a stop is only ever seen where it is polled */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

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
