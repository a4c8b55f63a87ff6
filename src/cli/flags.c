/* Parsing and help text of the declarative flag tables. */
#include "cli/flags.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/device.h"

flag *flags_find(flag *flags, int n_flags, const char *name) {
    for (int i = 0; i < n_flags; i++)
        if (!strcmp(flags[i].name, name)) return &flags[i];
    return NULL;
}

static int in_choices(const char *choices, const char *v) {
    size_t n = strlen(v);
    for (const char *p = choices; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, v, n)) return 1;
        p = bar ? bar + 1 : NULL;
    }
    return 0;
}

static int out_of_range(const flag *f, double v) { return f->min <= f->max && (v < f->min || v > f->max); }

int flags_set_value(const char *command, flag *f, const char *v) {
    char *end;
    errno = 0;
    switch (f->type) {
    case FLAG_INT:
    case FLAG_INT64: {
        long long x = strtoll(v, &end, 10);
        if (!*v || *end || errno || out_of_range(f, (double)x) || (f->type == FLAG_INT && (x > 2147483647LL || x < -2147483647LL))) {
            if (f->min <= f->max)
                fprintf(stderr, "mixbt %s: --%s: expected an integer in [%g, %g], got '%s'\n", command, f->name, f->min, f->max, v);
            else
                fprintf(stderr, "mixbt %s: --%s: expected an integer, got '%s'\n", command, f->name, v);
            return 2;
        }
        if (f->type == FLAG_INT) *(int *)f->value = (int)x;
        else *(int64_t *)f->value = (int64_t)x;
        break;
    }
    case FLAG_FLOAT: {
        double x = strtod(v, &end);
        if (!*v || *end || errno || !isfinite(x) || out_of_range(f, x)) {
            if (f->min <= f->max)
                fprintf(stderr, "mixbt %s: --%s: expected a number in [%g, %g], got '%s'\n", command, f->name, f->min, f->max, v);
            else
                fprintf(stderr, "mixbt %s: --%s: expected a number, got '%s'\n", command, f->name, v);
            return 2;
        }
        *(double *)f->value = x;
        break;
    }
    case FLAG_STRING:
        if (!*v) {
            fprintf(stderr, "mixbt %s: --%s: empty value\n", command, f->name);
            return 2;
        }
        *(const char **)f->value = v;
        break;
    case FLAG_CHOICE:
        if (!in_choices(f->choices, v)) {
            fprintf(stderr, "mixbt %s: --%s: '%s' is not one of %s\n", command, f->name, v, f->choices);
            return 2;
        }
        *(const char **)f->value = v;
        break;
    case FLAG_DEVICE: {
        mbt_device device;
        int ordinal;
        if (mbt_device_parse(v, "--device", &device, &ordinal) != MBT_OK) {
            fprintf(stderr, "mixbt %s: %s\n", command, mbt_error_message());
            return 2;
        }
        *(const char **)f->value = v;
        break;
    }
    case FLAG_BOOL: /* from a preset's table: "1" sets it, "0" clears it */
        if (strcmp(v, "0") && strcmp(v, "1")) {
            fprintf(stderr, "mixbt %s: --%s: expected 0 or 1, got '%s'\n", command, f->name, v);
            return 2;
        }
        *(int *)f->value = v[0] == '1';
        break;
    }
    f->set = 1;
    return 0;
}

int flags_parse(const char *command, flag *flags, int n_flags, int argc, char **argv, int first,
                const char **positional, int max_positional, int *n_positional) {
    int npos = 0;
    for (int i = first; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) return 1;
        if (strncmp(a, "--", 2) != 0 || !a[2]) {
            if (npos >= max_positional) {
                fprintf(stderr, "mixbt %s: unexpected argument '%s' (see mixbt %s --help)\n", command, a, command);
                return 2;
            }
            positional[npos++] = a;
            continue;
        }
        char name[64];
        const char *eq = strchr(a + 2, '='), *value = NULL;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name) len = sizeof name - 1;
        memcpy(name, a + 2, len);
        name[len] = 0;
        flag *f = flags_find(flags, n_flags, name);
        if (!f) {
            fprintf(stderr, "mixbt %s: unknown flag --%s (see mixbt %s --help)\n", command, name, command);
            return 2;
        }
        if (f->type == FLAG_BOOL) {
            if (eq) {
                fprintf(stderr, "mixbt %s: --%s takes no value\n", command, name);
                return 2;
            }
            *(int *)f->value = 1;
            f->set = 1;
            continue;
        }
        if (eq) value = eq + 1;
        else if (i + 1 < argc) value = argv[++i];
        else {
            fprintf(stderr, "mixbt %s: --%s needs a value\n", command, name);
            return 2;
        }
        int rc = flags_set_value(command, f, value);
        if (rc) return rc;
    }
    if (n_positional) *n_positional = npos;
    return 0;
}

void flags_print_help(const char *command, const char *usage, const char *summary, const flag *flags, int n_flags) {
    printf("usage: mixbt %s %s\n\n%s\n\nflags:\n", command, usage, summary);
    for (int i = 0; i < n_flags; i++) {
        const flag *f = &flags[i];
        char left[64], def[96] = "";
        if (f->type == FLAG_BOOL) snprintf(left, sizeof left, "--%s", f->name);
        else snprintf(left, sizeof left, "--%s %s", f->name, f->meta ? f->meta : "V");
        switch (f->type) {
        case FLAG_INT: snprintf(def, sizeof def, " (default %d)", *(int *)f->value); break;
        case FLAG_INT64: snprintf(def, sizeof def, " (default %lld)", (long long)*(int64_t *)f->value); break;
        case FLAG_FLOAT: snprintf(def, sizeof def, " (default %g)", *(double *)f->value); break;
        case FLAG_STRING:
        case FLAG_CHOICE:
        case FLAG_DEVICE:
            if (*(const char **)f->value) snprintf(def, sizeof def, " (default %s)", *(const char **)f->value);
            break;
        case FLAG_BOOL: break;
        }
        printf("  %-26s %s%s", left, f->help, def);
        if (f->type == FLAG_CHOICE) printf(" [%s]", f->choices);
        printf("\n");
    }
}
