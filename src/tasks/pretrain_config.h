/* The pretraining configuration as one table of fields: each field's name, type, default, role in a
 * run folder and command-line documentation are written once, and the defaults, config.json (write and
 * read back on --resume) and the `mixbt pretrain` flags are all derived from it. A new setting is one
 * member of mbt_pretrain_config and one row of the table. */
#ifndef MBT_PRETRAIN_CONFIG_H
#define MBT_PRETRAIN_CONFIG_H

#include <stddef.h>

#include "core/status.h"
#include "tasks/pretrain.h"

typedef enum {
    MBT_FIELD_STRING, /* const char * */
    MBT_FIELD_CHOICE, /* const char *, one of `choices` */
    MBT_FIELD_DEVICE, /* const char *, a compute device (cpu, cuda, cuda:N) */
    MBT_FIELD_INT,    /* int */
    MBT_FIELD_INT64,  /* int64_t */
    MBT_FIELD_UINT64, /* uint64_t, a string in config.json (JSON numbers lose 64-bit precision) */
    MBT_FIELD_DOUBLE, /* double */
    MBT_FIELD_BOOL    /* int 0/1; a flag without a value sets 1; a number in config.json */
} mbt_field_type;

typedef enum {
    MBT_FIELD_RECIPE,  /* what the run computes: in config.json, and a resumed run takes it from there */
    MBT_FIELD_RECORD,  /* how it ran: in config.json for the record; a resumed run takes the command line's */
    MBT_FIELD_SESSION  /* how this invocation runs: not stored */
} mbt_field_role;

typedef struct {
    const char *key;         /* the config.json key */
    const char *flag;        /* its flag without dashes, NULL when it has none */
    mbt_field_type type;
    mbt_field_role role;
    size_t offset;           /* in mbt_pretrain_config */
    double num_default;      /* numeric types */
    const char *str_default; /* string types (NULL: none) */
    int optional;            /* RECIPE: run folders written before the field existed lack it: the default then */
    const char *choices;     /* CHOICE: "a|b|c" (NULL: the command fills them in) */
    const char *meta;        /* placeholder in the help text, e.g. "N" */
    const char *help;        /* NULL: the command writes it */
    double min, max;         /* numeric range of the flag (min > max: none) */
} mbt_config_field;

/* The fields, in the order of the help text, and their count. */
const mbt_config_field *mbt_pretrain_fields(size_t *count);
const mbt_config_field *mbt_pretrain_field(const char *key);
/* The address of the field's member in cfg. */
void *mbt_pretrain_field_ptr(mbt_pretrain_config *cfg, const mbt_config_field *f);

/* The RECIPE and RECORD fields as a JSON object (malloc'ed text). */
char *mbt_pretrain_config_to_json(const mbt_pretrain_config *cfg);

/* A record of the run that is an object, not a setting (the cost report, the --init-from source): written
 * into config.json beside the fields' keys, never read back into the configuration (a resumed run neither
 * checks nor takes it). object: a cJSON * (copied; NULL: left out). */
typedef struct {
    const char *key;
    const void *object;
} mbt_config_record;

/* mbt_pretrain_config_to_json with the records after the fields. */
char *mbt_pretrain_config_to_json_with(const mbt_pretrain_config *cfg, const mbt_config_record *records, int n_records);
/* Reads the RECIPE fields of config.json text `text` (named `path` in errors) into cfg, leaving the others
 * as they are. Strings point into *tree, which the caller frees with cJSON_Delete (a cJSON *). */
mbt_status mbt_pretrain_config_from_json(const char *path, const char *text, mbt_pretrain_config *cfg, void **tree);

#endif
