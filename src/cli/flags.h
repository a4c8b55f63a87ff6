/* Declarative command-line flags: a table of flags per command, parsed and documented from it. */
#ifndef MBT_CLI_FLAGS_H
#define MBT_CLI_FLAGS_H

#include <stdint.h>

/* FLAG_DEVICE: a compute device as text (cpu, cuda, cuda:N), checked by mbt_device_parse; whether this
 * build and machine can run it is for the command to find out (mbt_device_open). */
typedef enum { FLAG_INT, FLAG_INT64, FLAG_FLOAT, FLAG_STRING, FLAG_BOOL, FLAG_CHOICE, FLAG_DEVICE } flag_type;

typedef struct {
    const char *name;     /* without the leading dashes, e.g. "batch-size" */
    flag_type type;
    void *value;          /* int*, int64_t*, double*, const char**, int* (bool), const char** (choice, device) */
    const char *choices;  /* FLAG_CHOICE: "a|b|c" */
    const char *meta;     /* placeholder in help, e.g. "N" */
    const char *help;
    int set;              /* set by the parser when given on the command line */
    double min, max;      /* numeric range (ignored when min > max) */
} flag;

/* Parses argv[first..argc) against the table; positional arguments go to positional[] (up to
 * max_positional, their count to *n_positional). Prints a one-line error naming the flag and
 * returns 2 on bad input; returns 1 after printing help for --help; else 0. */
int flags_parse(const char *command, flag *flags, int n_flags, int argc, char **argv, int first,
                const char **positional, int max_positional, int *n_positional);
/* Sets f from text v as if given on the command line (for presets); prints the one-line error and returns 2
 * on a bad value (FLAG_BOOL: "1" or "0"). */
int flags_set_value(const char *command, flag *f, const char *v);
/* Prints the flags with their current values as defaults. */
void flags_print_help(const char *command, const char *usage, const char *summary, const flag *flags, int n_flags);
/* The flag called name, or NULL. */
flag *flags_find(flag *flags, int n_flags, const char *name);

#endif
