/* Help-text pieces of the dataset flags, built from the dataset kinds' table (data/dataset_kind.h). */
#ifndef MBT_CLI_KIND_HELP_H
#define MBT_CLI_KIND_HELP_H

#include <stddef.h>

#include "data/dataset_kind.h"

/* The reference's names of the kinds with a `uses` bit, joined by ", " ("cu_birds, vgg_flower, traffic_sign"). */
const char *kind_help_aliases(char *buf, size_t cap, unsigned uses);
/* The titles of the kinds with a `uses` bit whose subsets follow `rule`, joined by sep ("MNIST/Fashion-MNIST"). */
const char *kind_help_titles(char *buf, size_t cap, unsigned uses, mbt_subset_rule rule, const char *sep);
/* "<what> (N spread over the classes for K1, K2; 0: all)": the help of an image limit that takes the first N
 * images except for the kinds with a `uses` bit that are stored class by class (K1, K2: their names). */
const char *kind_help_subset(char *buf, size_t cap, const char *what, unsigned uses);

#endif
