/* Runs srgan/engine/kernels/winograd.c on odd shapes, paddings and thread counts, built with AddressSanitizer and
 * UndefinedBehaviorSanitizer: any read or write outside a buffer aborts with a report (tests/engine/test_winograd.py,
 * once per variant: built with its -DISA_... and -m flags). */
#include WINOGRAD_C
#include <stdio.h>

static float *random_floats(size_t n) {
    float *p = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / RAND_MAX - 0.5f;
    return p;
}

int main(void) {
    const int cases[][9] = {
        /* batch, h, w, c_in, c_out, pad top, bottom, left, right */
        {1, 5, 7, 16, 16, 1, 1, 1, 1}, {2, 13, 9, 64, 64, 0, 0, 1, 1}, {1, 9, 4, 16, 80, 1, 0, 1, 1},
        {1, 7, 7, 32, 48, 2, 3, 2, 3}, {1, 6, 10, 64, 96, 0, 1, 0, 2}, {1, 1, 1, 16, 16, 1, 1, 1, 1},
        {1, 3, 2, 16, 32, 0, 0, 0, 0}, {3, 17, 23, 16, 64, 1, 1, 1, 1}, {1, 2, 2, 16, 16, 0, 0, 0, 0},
    };
    int runs = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        const int *c = cases[k];
        int h_out = c[1] + c[5] + c[6] - 2, w_out = c[2] + c[7] + c[8] - 2;
        size_t n_out = (size_t)c[0] * (h_out > 0 ? h_out : 0) * (w_out > 0 ? w_out : 0) * c[4];
        for (int shuffle = 0; shuffle <= (c[4] % 64 == 0); shuffle++) {
            for (int threads = 1; threads <= 3; threads++) {
                float *x = random_floats((size_t)c[0] * c[1] * c[2] * c[3]), *u = random_floats(36 * (size_t)c[3] * c[4]);
                float *bias = random_floats(c[4]), *slope = random_floats(c[4]), *skip = random_floats(n_out);
                float *y = malloc((n_out ? n_out : 1) * sizeof(float));
                if (winograd_conv3x3(x, y, u, bias, slope, shuffle ? NULL : skip, c[0], c[1], c[2], c[3], c[4], c[5],
                                     c[6], c[7], c[8], shuffle, threads) != 0)
                    return 2;
                free(x), free(u), free(bias), free(slope), free(skip), free(y);
                runs++;
            }
        }
    }
    printf("%d runs\n", runs);
    return 0;
}
