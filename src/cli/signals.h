/* SIGINT and SIGTERM turned into a stop request (core/stop.h) that the commands' long loops poll. */
#ifndef MBT_CLI_SIGNALS_H
#define MBT_CLI_SIGNALS_H

/* Catches SIGINT and SIGTERM for the rest of the process (a command calls it once, first). The handler
 * only records the signal; a second signal after it ends the process at once with that signal's
 * default action (checkpoints are written atomically, so the last complete one stays). */
void signals_install(void);

#endif
