/* Checks srgan/kernels/winograd.c against a naive direct convolution, in C alone, so that it runs where Python
 * and PyTorch do not: the AArch64 (NEON) build under qemu-aarch64, and each x86 build natively
 * (tests/engine/test_winograd_isa.py). Odd shapes, every padding the network uses, bias, PReLU, the skip
 * connection, PixelShuffle and 1 to 3 threads.
 *
 * Build: cc -O2 -DISA_... <that ISA's -m flags> -DWINOGRAD_C='"path/to/winograd.c"' check_harness.c -lm -pthread
 * Prints "N runs, max error E" and exits 0 if every output is within 1e-4 of the direct convolution's
 * (relative to its largest value); 1 on a mismatch, 2 if the kernel reports an error.
 */
#include WINOGRAD_C
#include <math.h>
#include <stdio.h>

static float *random_floats(size_t n, unsigned *seed) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        *seed = *seed * 1103515245u + 12345u; /* a fixed LCG: the same data on every machine */
        p[i] = (float)((*seed >> 8) & 0xffff) / 65536.0f - 0.5f;
    }
    return p;
}

/* U = G g G^T in the kernel's layout (36, C_in, C_out), in double precision, from g (C_out, C_in, 3, 3).
 * With shuffle, output channel c * 4 + s is column s * (C_out / 4) + c (srgan/winograd.py, winograd_weight). */
static float *winograd_weight(const float *g, int c_in, int c_out, int shuffle) {
    static const double G[6][3] = {{1 / 4., 0, 0},           {-1 / 6., -1 / 6., -1 / 6.}, {-1 / 6., 1 / 6., -1 / 6.},
                                   {1 / 24., 1 / 12., 1 / 6.}, {1 / 24., -1 / 12., 1 / 6.}, {0, 0, 1}};
    float *u = malloc(sizeof(float) * 36 * (size_t)c_in * c_out);
    for (int o = 0; o < c_out; o++) {
        int column = shuffle ? (o % 4) * (c_out / 4) + o / 4 : o;
        for (int i = 0; i < c_in; i++) {
            const float *k = g + ((size_t)o * c_in + i) * 9;
            for (int x = 0; x < 6; x++)
                for (int y = 0; y < 6; y++) {
                    double sum = 0;
                    for (int a = 0; a < 3; a++)
                        for (int b = 0; b < 3; b++) sum += G[x][a] * k[a * 3 + b] * G[y][b];
                    u[((size_t)(x * 6 + y) * c_in + i) * c_out + column] = (float)sum;
                }
        }
    }
    return u;
}

/* The direct convolution and what the kernel fuses after it, in double precision, channels last, into y. */
static void direct(const float *x, const float *g, const float *bias, const float *slope, const float *skip, float *y,
                   const int *c, int shuffle) {
    int n = c[0], h = c[1], w = c[2], c_in = c[3], c_out = c[4], top = c[5], left = c[7];
    int h_out = h + c[5] + c[6] - 2, w_out = w + c[7] + c[8] - 2;
    for (int b = 0; b < n; b++)
        for (int oy = 0; oy < h_out; oy++)
            for (int ox = 0; ox < w_out; ox++)
                for (int o = 0; o < c_out; o++) {
                    double sum = bias[o];
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) {
                            int iy = oy + ky - top, ix = ox + kx - left;
                            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue; /* zero padding */
                            const float *p = x + (((size_t)b * h + iy) * w + ix) * c_in;
                            for (int i = 0; i < c_in; i++) sum += p[i] * g[((size_t)o * c_in + i) * 9 + ky * 3 + kx];
                        }
                    /* PixelShuffle(2): channel o = c * 4 + s goes to pixel (2 oy + s / 2, 2 ox + s % 2), channel c */
                    int ch = shuffle ? o / 4 : o, ys = shuffle ? 2 * oy + o % 4 / 2 : oy, xs = shuffle ? 2 * ox + o % 2 : ox;
                    int cs = shuffle ? c_out / 4 : c_out, ws = shuffle ? 2 * w_out : w_out, hs = shuffle ? 2 * h_out : h_out;
                    size_t at = (((size_t)b * hs + ys) * ws + xs) * cs + ch;
                    if (slope && sum < 0) sum *= slope[ch];
                    if (skip) sum += skip[at];
                    y[at] = (float)sum;
                }
}

int main(void) {
    const int cases[][9] = {
        /* batch, h, w, c_in, c_out, pad top, bottom, left, right: odd sizes, every padding the network uses */
        {1, 5, 7, 16, 16, 1, 1, 1, 1}, {2, 13, 9, 64, 64, 0, 0, 1, 1}, {1, 9, 4, 16, 80, 1, 0, 1, 1},
        {1, 7, 7, 32, 48, 2, 3, 2, 3}, {1, 6, 10, 64, 96, 0, 1, 0, 2}, {1, 1, 1, 16, 16, 1, 1, 1, 1},
        {1, 3, 2, 16, 32, 0, 0, 0, 0}, {3, 17, 23, 16, 64, 1, 1, 1, 1}, {1, 11, 6, 48, 112, 1, 1, 1, 1},
        {1, 8, 8, 64, 256, 1, 1, 1, 1}, {1, 2, 2, 16, 16, 0, 0, 0, 0},
    };
    unsigned seed = 1;
    int runs = 0;
    double worst = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *c = cases[k];
        int h_out = c[1] + c[5] + c[6] - 2, w_out = c[2] + c[7] + c[8] - 2;
        size_t n_out = (size_t)c[0] * (h_out > 0 ? h_out : 0) * (w_out > 0 ? w_out : 0) * c[4];
        for (int variant = 0; variant < 3 + (c[4] % 64 == 0); variant++) { /* plain, PReLU, skip; shuffle + PReLU */
            int shuffle = variant == 3, use_slope = variant == 1 || variant == 3, use_skip = variant == 2;
            float *x = random_floats((size_t)c[0] * c[1] * c[2] * c[3], &seed);
            float *g = random_floats((size_t)c[4] * c[3] * 9, &seed), *bias = random_floats(c[4], &seed);
            float *slope = random_floats(c[4], &seed), *skip = random_floats(n_out, &seed);
            float *u = winograd_weight(g, c[3], c[4], shuffle), *expected = malloc((n_out ? n_out : 1) * sizeof(float));
            float *kernel_bias = malloc(sizeof(float) * c[4]); /* in U's column order, as srgan/winograd.py passes it */
            for (int o = 0; o < c[4]; o++) kernel_bias[shuffle ? (o % 4) * (c[4] / 4) + o / 4 : o] = bias[o];
            direct(x, g, bias, use_slope ? slope : NULL, use_skip ? skip : NULL, expected, c, shuffle);
            double scale = 1e-6;
            for (size_t i = 0; i < n_out; i++) scale = fmax(scale, fabs(expected[i]));
            for (int threads = 1; threads <= 3; threads++, runs++) {
                float *y = malloc((n_out ? n_out : 1) * sizeof(float));
                if (winograd_conv3x3(x, y, u, kernel_bias, use_slope ? slope : NULL, use_skip ? skip : NULL, c[0], c[1],
                                     c[2], c[3], c[4], c[5], c[6], c[7], c[8], shuffle, threads) != 0)
                    return 2;
                for (size_t i = 0; i < n_out; i++) {
                    double error = fabs(y[i] - expected[i]) / scale;
                    worst = fmax(worst, error);
                    if (!(error <= 1e-4)) { /* also catches NaN */
                        fprintf(stderr, "case %zu (variant %d, %d threads): output %zu is %g, direct %g\n", k, variant,
                                threads, i, y[i], expected[i]);
                        return 1;
                    }
                }
                free(y);
            }
            free(x), free(g), free(bias), free(slope), free(skip), free(u), free(expected), free(kernel_bias);
        }
    }
    printf("%d runs, max error %.2g\n", runs, worst);
    return 0;
}
