/* The random side of the augmentations against their analytic laws: RandomResizedCrop's accepted area
 * fraction and log aspect ratio (a large square image: the truncated uniform laws in closed form; a
 * 32x32 image: the law of the rounded boxes integrated on a fine grid), crop positions, ColorJitter
 * factor ranges and uniformity, the 24 op orders, and the flip / jitter / grayscale probabilities, all
 * drawn through the loader's per-(epoch, image, view) streams. Chi-square bounds are at p ~ 1e-4. */
#include <math.h>
#include <string.h>

#include "check.h"
#include "core/rng.h"
#include "data/augment.h"
#include "data/loader.h"

#define NB 20

static double chi2(const long *obs, const double *prob, int bins, long n) {
    double c = 0;
    for (int i = 0; i < bins; i++) {
        double e = prob[i] * (double)n;
        if (e > 0) c += (obs[i] - e) * (obs[i] - e) / e;
    }
    return c;
}

/* Closed-form laws of an accepted crop of a large square image, scale (a, 1), ratio (1/R, R):
 * (s, t = log r) uniform on {a <= s <= 1, |t| <= L, s <= exp(-|t|)}. */
static double cdf_area(double x, double a, double L) {
    double el = exp(-L);
    double g = 0; /* integral of 2 min(-ln s, L) from a to x */
    double x1 = x < el ? x : el;
    if (x1 > a) g += 2 * L * (x1 - a);
    if (x > el) g += -2 * (x * log(x) - x) + 2 * (el * log(el) - el);
    return g;
}
static double cdf_logratio(double x, double a, double L) {
    /* integral of exp(-|t|) - a from -L to x */
    double v;
    if (x <= 0) v = (exp(x) - exp(-L)) - a * (x + L);
    else v = (1 - exp(-L)) + (1 - exp(-x)) - a * (x + L);
    return v;
}

static void rrc_large(void) {
    const int W = 4096, n = 100000;
    const double a = 0.08, L = log(4.0 / 3.0);
    long ha[NB] = {0}, ht[NB] = {0};
    for (int i = 0; i < n; i++) {
        mbt_rng rng;
        mbt_rng_init(&rng, 7, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 1, (uint64_t)i, 0));
        mbt_crop_box b = mbt_rrc_params(&rng, W, W, 0.08f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
        double s = (double)b.width * b.height / ((double)W * W), t = log((double)b.width / b.height);
        int bs = (int)((s - a) / (1 - a) * NB), bt = (int)((t + L) / (2 * L) * NB);
        ha[bs < 0 ? 0 : bs >= NB ? NB - 1 : bs]++;
        ht[bt < 0 ? 0 : bt >= NB ? NB - 1 : bt]++;
    }
    double pa[NB], pt[NB], za = cdf_area(1, a, L), zt = cdf_logratio(L, a, L);
    for (int k = 0; k < NB; k++) {
        double x0 = a + (1 - a) * k / NB, x1 = a + (1 - a) * (k + 1) / NB;
        pa[k] = (cdf_area(x1, a, L) - cdf_area(x0, a, L)) / za;
        double t0 = -L + 2 * L * k / NB, t1 = -L + 2 * L * (k + 1) / NB;
        pt[k] = (cdf_logratio(t1, a, L) - cdf_logratio(t0, a, L)) / zt;
    }
    double ca = chi2(ha, pa, NB, n), ct = chi2(ht, pt, NB, n);
    printf("RRC 4096x4096: chi2 area %.1f, log ratio %.1f (19 dof)\n", ca, ct);
    CHECK_MSG(ca < 55, "area fraction histogram: chi2 %.1f", ca);
    CHECK_MSG(ct < 55, "log aspect ratio histogram: chi2 %.1f", ct);
}

/* Python's round(): half to even. */
static int round_even(double x) { return (int)nearbyint(x); }

static void rrc_small(void) {
    /* the law of (w, h) for a 32x32 image: each try uniform in (s, t), rounded, accepted if it fits */
    const int W = 32, G = 2000, n = 100000;
    const double a = 0.08, L = log(4.0 / 3.0);
    static double p_wh[33][33];
    memset(p_wh, 0, sizeof p_wh);
    double accept = 0;
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            double s = a + (1 - a) * (i + 0.5) / G, t = -L + 2 * L * (j + 0.5) / G;
            double area = W * W * s, r = exp(t);
            int w = round_even(sqrt(area * r)), h = round_even(sqrt(area / r));
            if (w >= 1 && w <= W && h >= 1 && h <= W) {
                p_wh[w][h] += 1.0 / ((double)G * G);
                accept += 1.0 / ((double)G * G);
            }
        }
    double q = 1 - accept, scale = (1 - pow(q, 10)) / accept;
    for (int w = 1; w <= W; w++)
        for (int h = 1; h <= W; h++) p_wh[w][h] *= scale;
    p_wh[W][W] += pow(q, 10); /* the centre-crop fallback: the whole square image */
    /* histograms of the area fraction (10 bins) and log(w / h) (10 bins) */
    double pa[10] = {0}, pt[10] = {0};
    long ha[10] = {0}, ht[10] = {0};
    for (int w = 1; w <= W; w++)
        for (int h = 1; h <= W; h++) {
            if (p_wh[w][h] == 0) continue;
            int ba = (int)((double)w * h / (W * W) * 10), bt = (int)((log((double)w / h) + 0.3) / 0.6 * 10);
            pa[ba > 9 ? 9 : ba] += p_wh[w][h];
            pt[bt < 0 ? 0 : bt > 9 ? 9 : bt] += p_wh[w][h];
        }
    long top_hist[17] = {0}, left_hist[17] = {0}, n16h = 0, n16w = 0, outside = 0;
    for (int i = 0; i < n; i++) {
        mbt_rng rng;
        mbt_rng_init(&rng, 11, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 2, (uint64_t)i, 1));
        mbt_crop_box b = mbt_rrc_params(&rng, W, W, 0.08f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
        outside += !(b.top >= 0 && b.left >= 0 && b.top + b.height <= W && b.left + b.width <= W);
        int ba = (int)((double)b.width * b.height / (W * W) * 10), bt = (int)((log((double)b.width / b.height) + 0.3) / 0.6 * 10);
        ha[ba > 9 ? 9 : ba]++;
        ht[bt < 0 ? 0 : bt > 9 ? 9 : bt]++;
        if (b.height == 16) top_hist[b.top]++, n16h++;
        if (b.width == 16) left_hist[b.left]++, n16w++;
    }
    CHECK_MSG(outside == 0, "%ld crops outside the image", outside);
    double ca = chi2(ha, pa, 10, n), ct = chi2(ht, pt, 10, n);
    double pu[17];
    for (int k = 0; k < 17; k++) pu[k] = 1.0 / 17;
    double cp = chi2(top_hist, pu, 17, n16h), cl = chi2(left_hist, pu, 17, n16w);
    printf("RRC 32x32: chi2 area %.1f, log ratio %.1f (9 dof); top %.1f, left %.1f (16 dof, %ld / %ld crops)\n", ca, ct,
           cp, cl, n16h, n16w);
    CHECK_MSG(ca < 35, "32x32 area fraction histogram: chi2 %.1f", ca);
    CHECK_MSG(ct < 35, "32x32 log ratio histogram: chi2 %.1f", ct);
    CHECK_MSG(cp < 45 && cl < 45, "crop positions: chi2 top %.1f left %.1f", cp, cl);
    /* the fallback (every try rejected): centre crop clamped to the ratio range */
    mbt_rng rng;
    mbt_rng_init(&rng, 1, 1);
    mbt_crop_box b = mbt_rrc_params(&rng, 1000, 10, 0.9f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
    CHECK(b.height == 10 && b.width == 13 && b.top == 0 && b.left == (1000 - 13) / 2);
    b = mbt_rrc_params(&rng, 10, 1000, 0.9f, 1.0f, 3.0f / 4.0f, 4.0f / 3.0f);
    CHECK(b.width == 10 && b.height == 13 && b.left == 0 && b.top == (1000 - 13) / 2);
}

/* index of a permutation of 0..3 (0..23) */
static int perm_index(const int *o) {
    int idx = 0, used[4] = {0};
    for (int i = 0; i < 4; i++) {
        int rank = 0;
        for (int v = 0; v < o[i]; v++) rank += !used[v];
        used[o[i]] = 1;
        idx = idx * (4 - i) + rank;
    }
    return idx;
}

static void draws(const char *recipe_name, float gray_p) {
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get(recipe_name, 0, &r));
    const int n = 96000;
    long flips = 0, jit = 0, gray = 0, perm[24] = {0}, hb[10] = {0}, hc[10] = {0}, hs[10] = {0}, hh[10] = {0};
    float lo[4] = {9, 9, 9, 9}, hi[4] = {-9, -9, -9, -9};
    for (int i = 0; i < n; i++) {
        mbt_rng rng;
        mbt_rng_init(&rng, 3, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 5, (uint64_t)(i / 2), (uint32_t)(i % 2)));
        mbt_augment_params p;
        mbt_augment_draw(&r, 32, 32, &rng, &p);
        flips += p.flip;
        jit += p.jitter;
        gray += p.gray;
        perm[perm_index(p.order)]++;
        float v[4] = {p.brightness, p.contrast, p.saturation, p.hue};
        long *hist[4] = {hb, hc, hs, hh};
        for (int k = 0; k < 4; k++) {
            lo[k] = fminf(lo[k], v[k]);
            hi[k] = fmaxf(hi[k], v[k]);
            double u = k < 3 ? (v[k] - 0.6) / 0.8 : (v[k] + 0.1) / 0.2;
            int bin = (int)(u * 10);
            hist[k][bin < 0 ? 0 : bin > 9 ? 9 : bin]++;
        }
    }
    double ps[3] = {0.5, 0.8, gray_p};
    long counts[3] = {flips, jit, gray};
    const char *names[3] = {"flip", "jitter", "grayscale"};
    for (int k = 0; k < 3; k++) {
        double sd = sqrt(ps[k] * (1 - ps[k]) / n), got = (double)counts[k] / n;
        CHECK_MSG(fabs(got - ps[k]) < 4.5 * sd, "%s %s probability %.4f (expected %.2f +- %.4f)", recipe_name, names[k],
                  got, ps[k], 4.5 * sd);
    }
    double p24[24], p10[10];
    for (int k = 0; k < 24; k++) p24[k] = 1.0 / 24;
    for (int k = 0; k < 10; k++) p10[k] = 0.1;
    double cperm = chi2(perm, p24, 24, n);
    printf("%s: flip %.4f jitter %.4f gray %.4f; order chi2 %.1f (23 dof)\n", recipe_name, (double)flips / n,
           (double)jit / n, (double)gray / n, cperm);
    CHECK_MSG(cperm < 62, "op order frequencies: chi2 %.1f", cperm);
    const float want_lo[4] = {0.6f, 0.6f, 0.6f, -0.1f}, want_hi[4] = {1.4f, 1.4f, 1.4f, 0.1f};
    long *hist[4] = {hb, hc, hs, hh};
    for (int k = 0; k < 4; k++) {
        double width = want_hi[k] - want_lo[k];
        CHECK_MSG(lo[k] >= want_lo[k] && hi[k] <= want_hi[k] && lo[k] < want_lo[k] + 1e-3 * width &&
                      hi[k] > want_hi[k] - 1e-3 * width,
                  "factor %d range [%g, %g], expected [%g, %g]", k, lo[k], hi[k], want_lo[k], want_hi[k]);
        double c = chi2(hist[k], p10, 10, n);
        CHECK_MSG(c < 35, "factor %d uniformity: chi2 %.1f (9 dof)", k, c);
    }
}

static void streams(void) {
    mbt_augment_recipe r;
    CHECK_OK(mbt_augment_recipe_get("cifar", 0, &r));
    mbt_augment_params p[3];
    mbt_rng rng;
    for (int k = 0; k < 3; k++) {
        mbt_rng_init(&rng, 42, mbt_rng_stream_id(MBT_RNG_TAG_LOADER_VIEW, 1, 123, k == 2));
        mbt_augment_draw(&r, 32, 32, &rng, &p[k]);
    }
    CHECK(memcmp(&p[0], &p[1], sizeof p[0]) == 0); /* the same stream: the same view */
    CHECK(memcmp(&p[0], &p[2], sizeof p[0]) != 0); /* the other view: other choices */
}

int main(void) {
    rrc_large();
    rrc_small();
    draws("cifar", 0.2f);
    draws("tiny_imagenet", 0.1f);
    streams();
    return check_report("test_augment_random");
}
