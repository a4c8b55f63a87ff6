/* The subcommands of the mixbt program. Each returns the process exit status (0 ok, 1 failure,
 * 2 bad usage) and prints its own one-line errors. */
#ifndef MBT_CLI_COMMANDS_H
#define MBT_CLI_COMMANDS_H

int cmd_pretrain(int argc, char **argv);
int cmd_download(int argc, char **argv);
int cmd_knn(int argc, char **argv);
int cmd_linear(int argc, char **argv);
int cmd_transfer(int argc, char **argv);
int cmd_embed(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_inspect(int argc, char **argv);
int cmd_plot(int argc, char **argv);

#endif
