/* SIGINT / SIGTERM handlers that raise the stop flag (see signals.h). */
#include "cli/signals.h"

#include <signal.h>
#include <string.h>

#include "core/stop.h"

static void on_signal(int sig) {
    if (mbt_stop_signal()) { /* the second: no more waiting for a safe point */
        signal(sig, SIG_DFL);
        raise(sig);
        return;
    }
    mbt_stop_request(sig);
}

void signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART; /* blocking calls resume: a stop is only ever seen where it is polled */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
