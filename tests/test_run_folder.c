/* Tests of run folders (tasks/run_folder.h): a new folder is made with its parents, a used one is refused
 * with the caller's words, metrics.csv gets its header, and a continued metrics.csv loses the rows of
 * epochs after the checkpoint (a run killed between its row and its checkpoint) and a row cut short. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "core/status.h"
#include "io/read_file.h"
#include "tasks/run_folder.h"

static const char *header = "epoch,step,loss,knn_top1";

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* The file's text (a static buffer). */
static const char *read_text(const char *path) {
    static char buf[4096];
    void *data = NULL;
    size_t len = 0;
    buf[0] = 0;
    if (mbt_read_file(path, sizeof buf - 1, &data, &len) == MBT_OK) {
        memcpy(buf, data, len);
        buf[len] = 0;
    }
    free(data);
    return buf;
}

int main(void) {
    char root[] = "/tmp/mixbt_run_folder_XXXXXX", dir[256], path[320];
    CHECK(mkdtemp(root) != NULL);
    snprintf(dir, sizeof dir, "%s/a/b", root);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);

    /* created with its parents; fresh metrics get the header; rows go to disk */
    CHECK_OK(mbt_run_folder_create(dir, "config.json", "a run"));
    FILE *m = NULL;
    CHECK_OK(mbt_run_metrics_open(dir, header, 1, 0, &m));
    CHECK_OK(mbt_run_metrics_row(m, dir, "0,0,,10.00"));
    CHECK_OK(mbt_run_metrics_row(m, dir, "1,4,2.5,12.00"));
    fclose(m);
    CHECK(!strcmp(read_text(path), "epoch,step,loss,knn_top1\n0,0,,10.00\n1,4,2.5,12.00\n"));

    /* a folder holding the marker is refused with the caller's words */
    snprintf(path, sizeof path, "%s/config.json", dir);
    write_file(path, "{}");
    CHECK(mbt_run_folder_create(dir, "config.json", "a run (use --resume X)") == MBT_ERR_ARG);
    CHECK_MSG(strstr(mbt_error_message(), "already holds a run (use --resume X)") != NULL, "%s", mbt_error_message());
    CHECK_OK(mbt_run_folder_create(dir, "other.json", "x")); /* another marker: fine */

    /* continued after epoch 1: the rows of epochs 2 and 3 (past the checkpoint) and a cut row go */
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    write_file(path, "epoch,step,loss,knn_top1\n0,0,,10.00\n1,4,2.5,12.00\n2,8,2.1,13.00\n3,12,1.9,");
    CHECK_OK(mbt_run_metrics_open(dir, header, 0, 1, &m));
    CHECK_OK(mbt_run_metrics_row(m, dir, "2,8,2.2,13.50"));
    fclose(m);
    CHECK_MSG(!strcmp(read_text(path), "epoch,step,loss,knn_top1\n0,0,,10.00\n1,4,2.5,12.00\n2,8,2.2,13.50\n"), "%s",
              read_text(path));

    /* nothing to drop: the file is kept as it is */
    CHECK_OK(mbt_run_metrics_open(dir, header, 0, 5, &m));
    fclose(m);
    CHECK(!strcmp(read_text(path), "epoch,step,loss,knn_top1\n0,0,,10.00\n1,4,2.5,12.00\n2,8,2.2,13.50\n"));

    /* another run's metrics are not continued */
    CHECK(mbt_run_metrics_open(dir, "epoch,lr,train_loss", 0, 1, &m) == MBT_ERR_FORMAT);
    CHECK_MSG(strstr(mbt_error_message(), "its header is not this run's") != NULL, "%s", mbt_error_message());

    /* a path that is a file cannot hold a run */
    CHECK(mbt_run_folder_create(path, "config.json", "a run") != MBT_OK);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", root);
    CHECK(system(cmd) == 0);
    return check_report("test_run_folder");
}
