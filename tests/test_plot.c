/* mixbt plot's pieces: metrics.csv read by its header (empty cells, malformed lines), the panels built from
 * it, and the page drawn by PLplot: a PNG that decodes, of the page's size, with each run's colour inside
 * each panel's plot area (and none where a run has no values), and SVG and PDF files with their magic. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "data/decode.h"
#include "io/metrics_csv.h"
#include "io/read_file.h"
#include "tasks/plot_panels.h"
#include "tasks/plot_run.h"

static char dir[64];

/* Mixed BT's columns, k-NN every other epoch (empty cells between), the row of epoch 0 with k-NN only. */
static const char RUN_A[] =
    "epoch,step,lr,loss_bt,loss_reg,loss,knn_top1,knn_top5,images_per_s,elapsed_s\n"
    "0,0,0,,,,24.00,70.10,0.00,3.2\n"
    "1,4,0.001,1800.5,12.1,1812.6,,,310.50,10.1\n"
    "2,8,0.00095,1500.2,10.5,1510.7,30.50,80.20,320.00,17.0\n"
    "3,12,0.0008,1300.0,9.0,1309.0,,,315.10,24.2\n"
    "4,16,0.0005,1200.0,8.2,1208.2,35.10,84.00,318.40,31.3\n";
/* A baseline's: one loss value, a k-NN without top-5. */
static const char RUN_B[] =
    "epoch,step,lr,loss,knn_top1,knn_top5,images_per_s,elapsed_s\n"
    "0,0,0,,22.00,,0.00,2.2\n"
    "1,4,0.002,5.9,,,410.50,9.1\n"
    "2,8,0.0019,5.5,28.00,,420.00,16.0\n"
    "3,12,0.0015,5.3,27.00,,415.10,23.2\n";
/* No k-NN at all (--knn-every 0). */
static const char RUN_NO_KNN[] =
    "epoch,step,lr,loss,knn_top1,knn_top5,images_per_s,elapsed_s\n"
    "1,4,0.002,5.9,,,410.50,9.1\n"
    "2,8,0.0019,5.5,,,420.00,16.0\n";

static void path_of(char *buf, size_t size, const char *name) { snprintf(buf, size, "%s/%s", dir, name); }

/* Writes text to dir/name/metrics.csv (name made a folder). */
static void write_run(const char *name, const char *text) {
    char path[256];
    path_of(path, sizeof path, name);
    mkdir(path, 0777);
    strcat(path, "/metrics.csv");
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void read_by_header(void) {
    write_run("a", RUN_A);
    char path[256];
    path_of(path, sizeof path, "a/metrics.csv");
    mbt_metrics_table t;
    if (!CHECK_OK(mbt_metrics_csv_read(path, &t))) return;
    CHECK(t.n_cols == 10 && t.n_rows == 5);
    CHECK(mbt_metrics_column(&t, "loss_reg") == 4 && mbt_metrics_column(&t, "elapsed_s") == 9);
    CHECK(mbt_metrics_column(&t, "nope") == -1);
    CHECK(isnan(mbt_metrics_value(&t, 0, 3)) && isnan(mbt_metrics_value(&t, 1, 6)));
    CHECK(mbt_metrics_value(&t, 2, 2) == 0.00095 && mbt_metrics_value(&t, 4, 7) == 84.0);
    mbt_metrics_table_free(&t);
}

/* A malformed metrics.csv: the message names the file and line and says what is wrong. */
static void expect_bad(const char *text, mbt_status want, const char *fragment) {
    write_run("bad", text);
    char path[256];
    path_of(path, sizeof path, "bad/metrics.csv");
    mbt_metrics_table t;
    mbt_status st = mbt_metrics_csv_read(path, &t);
    CHECK_MSG(st == want && strstr(mbt_error_message(), fragment) && strstr(mbt_error_message(), "bad/metrics.csv"),
              "%s: status %d, message '%s', expected '%s'", text, st, mbt_error_message(), fragment);
    CHECK(t.n_cols == 0 && t.values == NULL);
}

static void malformed(void) {
    expect_bad("epoch,lr\n1,0.1\n2,0.1,7\n", MBT_ERR_FORMAT, ":3: more than 2 cells");
    expect_bad("epoch,lr,loss\n1,0.1\n", MBT_ERR_FORMAT, ":2: 2 cells, the header has 3");
    expect_bad("epoch,lr\n1,fast\n", MBT_ERR_FORMAT, ":2: column 'lr': 'fast' is not a number");
    expect_bad("epoch,lr\n,0.1\n", MBT_ERR_FORMAT, ":2: the epoch cell is empty");
    expect_bad("step,lr\n1,0.1\n", MBT_ERR_FORMAT, "no 'epoch' column");
    expect_bad("epoch,lr,lr\n", MBT_ERR_FORMAT, "'lr' named twice");
    expect_bad("", MBT_ERR_FORMAT, "empty");
    char path[256];
    path_of(path, sizeof path, "missing/metrics.csv");
    mbt_metrics_table t;
    CHECK(mbt_metrics_csv_read(path, &t) == MBT_ERR_IO && strstr(mbt_error_message(), "missing/metrics.csv"));
}

static void panels(void) {
    char pa[256], pb[256];
    path_of(pa, sizeof pa, "a/metrics.csv");
    path_of(pb, sizeof pb, "b/metrics.csv");
    write_run("b", RUN_B);
    mbt_metrics_table ta, tb;
    if (!CHECK_OK(mbt_metrics_csv_read(pa, &ta))) return;
    if (!CHECK_OK(mbt_metrics_csv_read(pb, &tb))) return;
    mbt_plot_run runs[2] = {{"a", &ta}, {"b", &tb}};
    mbt_plot_panel p[MBT_PANEL_COUNT];
    mbt_plot_panels_build(runs, 2, p);
    const mbt_plot_panel *loss = &p[MBT_PANEL_LOSS];
    /* the total first, then the method's values as the header names them */
    CHECK(loss->n_series == 3 && !strcmp(loss->series[0], "loss") && !strcmp(loss->series[1], "loss_bt") &&
          !strcmp(loss->series[2], "loss_reg"));
    CHECK(loss->log_y && loss->has_points); /* 5.3 .. 1812.6 */
    CHECK(loss->y_min < log10(5.3) && loss->y_max > log10(1812.6) && loss->y_max < 4);
    CHECK(p[MBT_PANEL_ACCURACY].n_series == 2 && !p[MBT_PANEL_ACCURACY].log_y);
    CHECK(p[MBT_PANEL_ACCURACY].x_min < 0 && p[MBT_PANEL_ACCURACY].x_max > 4 && p[MBT_PANEL_LOSS].x_min < 0); /* one axis */
    int lr = mbt_metrics_column(&ta, "lr"), ips = mbt_metrics_column(&ta, "images_per_s");
    CHECK(isnan(mbt_plot_point(&p[MBT_PANEL_LR], &ta, lr, 0)));   /* epoch 0: before training */
    CHECK(mbt_plot_point(&p[MBT_PANEL_LR], &ta, lr, 1) == 0.001);
    CHECK(isnan(mbt_plot_point(&p[MBT_PANEL_IPS], &ta, ips, 0))); /* 0 images/s: not measured */
    CHECK(p[MBT_PANEL_IPS].y_min < 310.5 && p[MBT_PANEL_IPS].y_max > 420);
    /* only the series with points: a baseline's run has no knn_top5, and one loss value on a linear scale */
    mbt_plot_panels_build(&runs[1], 1, p);
    CHECK(p[MBT_PANEL_ACCURACY].n_series == 1 && !strcmp(p[MBT_PANEL_ACCURACY].series[0], "knn_top1"));
    CHECK(p[MBT_PANEL_LOSS].n_series == 1 && !p[MBT_PANEL_LOSS].log_y);
    mbt_metrics_table_free(&ta);
    mbt_metrics_table_free(&tb);
    /* a linear probe's folder: its losses and accuracies by their names */
    write_run("lin", "epoch,lr,train_loss,train_top1,train_top5,test_loss,test_top1,test_top5,elapsed_s\n"
                     "1,0.1,2.1,30,70,2.2,29,69,5.0\n2,0.09,1.9,35,75,2.0,33,72,9.0\n");
    path_of(pa, sizeof pa, "lin/metrics.csv");
    if (!CHECK_OK(mbt_metrics_csv_read(pa, &ta))) return;
    runs[0].table = &ta;
    mbt_plot_panels_build(runs, 1, p);
    CHECK(p[MBT_PANEL_LOSS].n_series == 2 && !strcmp(p[MBT_PANEL_LOSS].series[1], "test_loss"));
    CHECK(p[MBT_PANEL_ACCURACY].n_series == 4 && !strcmp(p[MBT_PANEL_ACCURACY].title, "accuracy (%)"));
    CHECK(p[MBT_PANEL_IPS].n_series == 0 && !p[MBT_PANEL_IPS].has_points);
    mbt_metrics_table_free(&ta);
}

/* Pixels of img inside the page fractions vp (x right, y up), less a margin for the frame and its ticks,
 * whose colour is within 24 per channel of rgb. */
static int pixels_of_color(const mbt_image *img, const double vp[4], const unsigned char rgb[3]) {
    int x0 = (int)(vp[0] * img->width) + 12, x1 = (int)(vp[1] * img->width) - 12;
    int y0 = (int)((1 - vp[3]) * img->height) + 12, y1 = (int)((1 - vp[2]) * img->height) - 12;
    int n = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            const unsigned char *p = img->data + ((size_t)y * img->width + x) * 3;
            n += abs(p[0] - rgb[0]) <= 24 && abs(p[1] - rgb[1]) <= 24 && abs(p[2] - rgb[2]) <= 24;
        }
    return n;
}

static void rendered_png(void) {
    write_run("b", RUN_B);
    char a[256], b[256], out[256];
    path_of(a, sizeof a, "a");
    path_of(b, sizeof b, "b");
    path_of(out, sizeof out, "two.png");
    const char *runs[2] = {a, b};
    if (!CHECK_OK(mbt_plot_runs(runs, 2, out))) return;
    mbt_file_buffer fb = {0};
    mbt_image img = {0};
    if (!CHECK_OK(mbt_image_load(out, &fb, &img))) return;
    CHECK(img.width == MBT_PLOT_WIDTH && img.height == MBT_PLOT_HEIGHT);
    CHECK(fb.capacity > 20000); /* a page of text and curves, not an empty image */
    CHECK(img.data[0] == 255 && img.data[1] == 255 && img.data[2] == 255); /* white paper */
    unsigned char color[2][3];
    mbt_plot_run_color(0, color[0]);
    mbt_plot_run_color(1, color[1]);
    static const char *const names[MBT_PANEL_COUNT] = {"loss", "lr", "knn", "images/s"};
    for (int k = 0; k < MBT_PANEL_COUNT; k++) {
        double vp[4];
        mbt_plot_panel_viewport((mbt_panel_kind)k, 2, vp);
        for (int r = 0; r < 2; r++) {
            int n = pixels_of_color(&img, vp, color[r]);
            CHECK_MSG(n >= 60, "panel %s: %d pixels of run %d's colour, expected its curve", names[k], n, r);
        }
    }
    double vp[4];
    mbt_plot_legend_viewport(2, vp);
    vp[0] = 0, vp[1] = 1, vp[2] = 0, vp[3] = vp[3] + 0.02; /* the margin of pixels_of_color */
    for (int r = 0; r < 2; r++) CHECK_MSG(pixels_of_color(&img, vp, color[r]) >= 30, "no legend line of run %d", r);

    /* a run without k-NN values: its colour in the loss panel, none in the k-NN panel */
    write_run("noknn", RUN_NO_KNN);
    path_of(a, sizeof a, "noknn");
    path_of(out, sizeof out, "noknn.png");
    const char *one[1] = {a};
    if (!CHECK_OK(mbt_plot_runs(one, 1, out))) return;
    if (!CHECK_OK(mbt_image_load(out, &fb, &img))) return;
    mbt_plot_panel_viewport(MBT_PANEL_LOSS, 1, vp);
    CHECK(pixels_of_color(&img, vp, color[0]) >= 60);
    mbt_plot_panel_viewport(MBT_PANEL_ACCURACY, 1, vp);
    CHECK_MSG(pixels_of_color(&img, vp, color[0]) == 0, "the k-NN panel of a run without k-NN has its colour");
    mbt_image_free(&img);
    mbt_file_buffer_free(&fb);
}

static void starts_with(const char *name, const char *magic) {
    char a[256], out[256];
    path_of(a, sizeof a, "a");
    path_of(out, sizeof out, name);
    const char *runs[1] = {a};
    if (!CHECK_OK(mbt_plot_runs(runs, 1, out))) return;
    char head[16] = {0};
    size_t got = 0;
    CHECK_OK(mbt_read_file_head(out, head, sizeof head - 1, &got));
    CHECK_MSG(got > strlen(magic) && !strncmp(head, magic, strlen(magic)), "%s starts with '%.8s'", name, head);
    void *buf;
    size_t len;
    if (CHECK_OK(mbt_read_file(out, 0, &buf, &len))) {
        CHECK_MSG(len > 5000, "%s: %zu bytes", name, len);
        free(buf);
    }
}

static void refused(void) {
    char a[256], out[256];
    path_of(a, sizeof a, "a");
    path_of(out, sizeof out, "x.jpg");
    const char *runs[2] = {a, NULL};
    CHECK(mbt_plot_runs(runs, 1, out) == MBT_ERR_ARG && strstr(mbt_error_message(), ".png, .svg or .pdf"));
    CHECK(access(out, F_OK) != 0);
    char missing[256];
    path_of(missing, sizeof missing, "missing");
    runs[1] = missing;
    path_of(out, sizeof out, "never.png");
    CHECK(mbt_plot_runs(runs, 2, out) == MBT_ERR_IO && strstr(mbt_error_message(), "missing/metrics.csv"));
    CHECK(access(out, F_OK) != 0); /* nothing written */
    mbt_plot_format f;
    CHECK(mbt_plot_format_of("c.PDF", &f) == MBT_OK && f == MBT_PLOT_PDF);
    CHECK(mbt_plot_format_of("run/.png", &f) == MBT_ERR_ARG && mbt_plot_format_of("png", &f) == MBT_ERR_ARG);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/mbt_plot_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    read_by_header();
    malformed();
    panels();
    rendered_png();
    starts_with("page.svg", "<?xml");
    starts_with("page.pdf", "%PDF-");
    refused();
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return check_report("test_plot");
}
