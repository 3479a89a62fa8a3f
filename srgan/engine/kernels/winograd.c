/*
 * Winograd F(4x4, 3x3) convolution for channels-last float32 images (Lavin & Gray 2016, arXiv 1509.09308).
 *
 * Used by srgan/engine/winograd.py (which compiles this file, checks it against F.conv2d and documents it) for the
 * 3x3 convolutions of the SRGAN generator (Ledig et al. 2017, Fig. 4). A 3x3 convolution spends 9 multiplies
 * per output and channel pair; Winograd's minimal filtering algorithm computes a 4x4 output tile from a 6x6
 * input tile with 36, i.e. 2.25 per output (4x fewer):
 *
 *     Y = A^T [ (G g G^T) (.) (B^T d B) ] A        (.) elementwise, g the 3x3 kernel, d the 6x6 input tile
 *
 * Summed over the input channels, the elementwise products become 36 independent matrix products
 * (tiles x C_in) @ (C_in x C_out), one per position of the 6x6 transformed tile. Per chunk of TB tiles:
 *
 *     1. input transform    V[k][t][ci] = (B^T d_t B)[k]            d_t read straight from the image
 *     2. 36 matrix products M[k][t][co] = sum_ci V[k][t][ci] U[k][ci][co]   U = G g G^T, made once in Python
 *     3. output transform   y = A^T M_t A + bias, then PReLU or the skip connection, written to the image
 *
 * The chunk's V and M stay in the core's L2 cache, so the image is read once and written once.
 *
 * Vectors: GCC/Clang vector extensions of VL floats, one register of the instruction set the file is compiled
 * for, chosen with -DISA_... (srgan/engine/winograd.py builds one library per instruction set and picks the one the CPU
 * runs). Channels-last images keep consecutive channels of a pixel contiguous, so every step is vectorised over
 * channels. The matrix products keep a ROWS x COLS block of accumulator vectors in registers; with the COLS
 * vectors of U's row and one broadcast value that must fit the register file, or the accumulators spill:
 *
 *     ISA_AVX512  VL 16, 32 registers: 6 x 4 accumulators + 4 + 1 = 29
 *     ISA_AVX2    VL  8, 16 registers: 6 x 2 accumulators + 2 + 1 = 15
 *     ISA_NEON    VL  4, 32 registers: 6 x 4 accumulators + 4 + 1 = 29 (AArch64's Advanced SIMD)
 *
 * Threads: one pthread per core takes the next chunk of TB tiles from a shared counter until none is
 * left, so that a thread slowed down by another process (or by PyTorch's OpenMP workers, which spin for a
 * while after each of PyTorch's own operations) leaves its share to the others instead of making them wait.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Per instruction set: VL floats per vector, ROWS x COLS accumulators (see above). The #errors catch a build
 * whose -m flags do not match its -DISA_ (the library would not be the code it says it is). */
#if defined(ISA_AVX512)
#if !defined(__AVX512F__) || !defined(__FMA__)
#error "ISA_AVX512 needs -mavx512f -mfma"
#endif
#define VL 16
#define DEFAULT_ROWS 6
#define DEFAULT_COLS 4
#elif defined(ISA_AVX2)
#if !defined(__AVX2__) || !defined(__FMA__) || defined(__AVX512F__)
#error "ISA_AVX2 needs -mavx2 -mfma -mno-avx512f"
#endif
#define VL 8
#define DEFAULT_ROWS 6
#define DEFAULT_COLS 2
#elif defined(ISA_NEON)
#if !defined(__aarch64__)
#error "ISA_NEON is AArch64's Advanced SIMD"
#endif
#define VL 4
#define DEFAULT_ROWS 6
#define DEFAULT_COLS 4
#else
#error "compile with -DISA_AVX512, -DISA_AVX2 or -DISA_NEON"
#endif
#ifndef ROWS
#define ROWS DEFAULT_ROWS /* tiles per micro-kernel step */
#endif
#ifndef COLS
#define COLS DEFAULT_COLS /* vectors of output channels per micro-kernel step */
#endif
#if COLS < 1 || COLS > 4
#error "COLS: 1 to 4 (gemm_rows' cases)"
#endif
#ifndef TB
#define TB 24 /* tiles per chunk: a multiple of ROWS */
#endif
#define GROUP (16 / VL) /* vectors per transform call: 16 channels, whatever the vector width */
#define MAX_THREADS 64

typedef float vf __attribute__((vector_size(VL * sizeof(float))));
typedef int vi __attribute__((vector_size(VL * sizeof(int))));

static inline vf load(const float *p) { vf v; memcpy(&v, p, sizeof v); return v; }
static inline void store(float *p, vf v) { memcpy(p, &v, sizeof v); }
static inline vf splat(float s) { return (vf){0} + s; }
static inline vf prelu(vf v, vf slope) {
    vi positive = v > 0;
    return (vf)(((vi)v & positive) | ((vi)(v * slope) & ~positive));
}

typedef struct {
    const float *x;     /* (N, H_in, W, C_in) input, channels last */
    float *y;           /* (N, H_out, W_out, C_out) output, or (N, 2 H_out, 2 W_out, C_out / 4) with shuffle */
    const float *u;     /* (36, C_in, C_out) transformed weights */
    const float *bias;  /* (C_out,) or NULL */
    const float *slope; /* PReLU slopes, (C_out,) or (C_out / 4,) with shuffle; or NULL */
    const float *skip;  /* added at the end, same layout as y; or NULL */
    int n, h_in, w, c_in, c_out;
    int pad_top, pad_bottom, pad_left, pad_right; /* zero padding: 1 each for a "same" convolution */
    int shuffle; /* 1: PixelShuffle(2) fused into the store (U's columns ordered sub-pixel major) */
    int h_out, w_out, tiles_h, tiles_w;
} conv_args;

typedef struct {
    const conv_args *a;
    long tiles;     /* all of them */
    long next;      /* the first tile not yet taken (atomic) */
    int computed;   /* how many threads got their buffers and took part (atomic) */
} work;

/* 1. B^T d B for 16 channels (GROUP vectors) of one tile; rows[i][j] points at input pixel (i, j) of the tile, or
 * at zeros. */
static void input_transform(const float *const rows[6][6], int c, float *v, long stride) {
    vf tmp[6][6][GROUP];
    for (int j = 0; j < 6; j++) { /* tmp = B^T d, column by column: each line is a row of B_T in winograd.py */
        const float *p0 = rows[0][j] + c, *p1 = rows[1][j] + c, *p2 = rows[2][j] + c;
        const float *p3 = rows[3][j] + c, *p4 = rows[4][j] + c, *p5 = rows[5][j] + c;
        for (int g = 0; g < GROUP; g++) {
            vf d0 = load(p0 + g * VL), d1 = load(p1 + g * VL), d2 = load(p2 + g * VL);
            vf d3 = load(p3 + g * VL), d4 = load(p4 + g * VL), d5 = load(p5 + g * VL);
            tmp[0][j][g] = 4 * d0 - 5 * d2 + d4;
            tmp[1][j][g] = -4 * (d1 + d2) + d3 + d4;
            tmp[2][j][g] = 4 * (d1 - d2) - d3 + d4;
            tmp[3][j][g] = 2 * (d3 - d1) - d2 + d4;
            tmp[4][j][g] = 2 * (d1 - d3) - d2 + d4;
            tmp[5][j][g] = 4 * d1 - 5 * d3 + d5;
        }
    }
    for (int i = 0; i < 6; i++) { /* V = tmp B, row by row: the same combinations */
        float *o = v + (long)(i * 6) * stride;
        for (int g = 0; g < GROUP; g++) {
            vf d0 = tmp[i][0][g], d1 = tmp[i][1][g], d2 = tmp[i][2][g];
            vf d3 = tmp[i][3][g], d4 = tmp[i][4][g], d5 = tmp[i][5][g];
            store(o + 0 * stride + g * VL, 4 * d0 - 5 * d2 + d4);
            store(o + 1 * stride + g * VL, -4 * (d1 + d2) + d3 + d4);
            store(o + 2 * stride + g * VL, 4 * (d1 - d2) - d3 + d4);
            store(o + 3 * stride + g * VL, 2 * (d3 - d1) - d2 + d4);
            store(o + 4 * stride + g * VL, 2 * (d1 - d3) - d2 + d4);
            store(o + 5 * stride + g * VL, 4 * d1 - 5 * d3 + d5);
        }
    }
}

/* 3. A^T m A for 16 output channels (GROUP vectors) of one tile: m[k] at m + k * stride, out[4][4][GROUP]. */
static void output_transform(const float *m, long stride, vf out[4][4][GROUP]) {
    vf tmp[4][6][GROUP];
    for (int j = 0; j < 6; j++) { /* tmp = A^T m: the rows of A_T in winograd.py */
        for (int g = 0; g < GROUP; g++) {
            const float *p = m + j * stride + g * VL;
            vf m0 = load(p), m1 = load(p + 6 * stride), m2 = load(p + 12 * stride);
            vf m3 = load(p + 18 * stride), m4 = load(p + 24 * stride), m5 = load(p + 30 * stride);
            vf p12 = m1 + m2, n12 = m1 - m2, p34 = m3 + m4, n34 = m3 - m4;
            tmp[0][j][g] = m0 + p12 + p34;
            tmp[1][j][g] = n12 + 2 * n34;
            tmp[2][j][g] = p12 + 4 * p34;
            tmp[3][j][g] = n12 + 8 * n34 + m5;
        }
    }
    for (int i = 0; i < 4; i++) { /* out = tmp A */
        for (int g = 0; g < GROUP; g++) {
            vf m0 = tmp[i][0][g], m1 = tmp[i][1][g], m2 = tmp[i][2][g];
            vf m3 = tmp[i][3][g], m4 = tmp[i][4][g], m5 = tmp[i][5][g];
            vf p12 = m1 + m2, n12 = m1 - m2, p34 = m3 + m4, n34 = m3 - m4;
            out[i][0][g] = m0 + p12 + p34;
            out[i][1][g] = n12 + 2 * n34;
            out[i][2][g] = p12 + 4 * p34;
            out[i][3][g] = n12 + 8 * n34 + m5;
        }
    }
}

/* 2. M[r : r + ROWS] = V[r : r + ROWS] @ U for nq x VL output channels from `co`: ROWS x nq accumulators. */
static inline __attribute__((always_inline)) void gemm_block(const float *v, const float *u, float *m, int c_in,
                                                             int c_out, int co, const int nq) {
    vf acc[ROWS][COLS];
    memset(acc, 0, sizeof acc);
    for (int ci = 0; ci < c_in; ci++) {
        const float *ur = u + (long)ci * c_out + co;
        vf w[COLS];
        for (int q = 0; q < nq; q++) w[q] = load(ur + q * VL);
#pragma GCC unroll 8
        for (int r = 0; r < ROWS; r++) {
            float a = v[(long)r * c_in + ci]; /* scalar x vector: one broadcast (splat would add 0.0f first) */
            for (int q = 0; q < nq; q++) acc[r][q] += a * w[q];
        }
    }
    for (int r = 0; r < ROWS; r++)
        for (int q = 0; q < nq; q++) store(m + (long)r * c_out + co + q * VL, acc[r][q]);
}

/* All output channels (a multiple of VL) in blocks of COLS vectors; the last block narrower if need be, with nq
 * a constant in each call so that it unrolls. */
static void gemm_rows(const float *v, const float *u, float *m, int c_in, int c_out) {
    int co = 0;
    for (; co + COLS * VL <= c_out; co += COLS * VL) gemm_block(v, u, m, c_in, c_out, co, COLS);
    switch ((c_out - co) / VL) {
#if COLS > 3
    case 3: gemm_block(v, u, m, c_in, c_out, co, 3); break;
#endif
#if COLS > 2
    case 2: gemm_block(v, u, m, c_in, c_out, co, 2); break;
#endif
#if COLS > 1
    case 1: gemm_block(v, u, m, c_in, c_out, co, 1); break;
#endif
    default: break;
    }
}

static void run_chunk(const conv_args *a, long t0, int count, float *vbuf, float *mbuf, const float *zeros) {
    const int c_in = a->c_in, c_out = a->c_out;
    const long vstride = (long)TB * c_in, mstride = (long)TB * c_out;
    /* 1. input transform, tile by tile */
    for (int t = 0; t < count; t++) {
        long tile = t0 + t;
        int tx = tile % a->tiles_w, ty = (tile / a->tiles_w) % a->tiles_h, b = tile / ((long)a->tiles_w * a->tiles_h);
        const float *rows[6][6];
        for (int i = 0; i < 6; i++) {
            int y = 4 * ty + i - a->pad_top;
            for (int j = 0; j < 6; j++) {
                int x = 4 * tx + j - a->pad_left;
                int inside = y >= 0 && y < a->h_in && x >= 0 && x < a->w;
                rows[i][j] = inside ? a->x + (((long)b * a->h_in + y) * a->w + x) * c_in : zeros;
            }
        }
        for (int c = 0; c < c_in; c += 16) input_transform(rows, c, vbuf + (long)t * c_in + c, vstride);
    }
    /* 2. the 36 matrix products (rows past `count` hold stale values nobody reads) */
    int rows_used = (count + ROWS - 1) / ROWS * ROWS;
    for (int k = 0; k < 36; k++)
        for (int r = 0; r < rows_used; r += ROWS)
            gemm_rows(vbuf + k * vstride + (long)r * c_in, a->u + (long)k * c_in * c_out,
                      mbuf + k * mstride + (long)r * c_out, c_in, c_out);
    /* 3. output transform, bias, PReLU or skip, store */
    const int c_store = a->shuffle ? c_out / 4 : c_out; /* channels of one output pixel */
    const int w_store = a->shuffle ? 2 * a->w_out : a->w_out, h_store = a->shuffle ? 2 * a->h_out : a->h_out;
    for (int t = 0; t < count; t++) {
        long tile = t0 + t;
        int tx = tile % a->tiles_w, ty = (tile / a->tiles_w) % a->tiles_h, b = tile / ((long)a->tiles_w * a->tiles_h);
        for (int co = 0; co < c_out; co += 16) {
            vf out[4][4][GROUP], bias[GROUP], slope[GROUP];
            output_transform(mbuf + (long)t * c_out + co, mstride, out);
            int sub = a->shuffle ? co / c_store : 0, c = a->shuffle ? co % c_store : co; /* sub-pixel, channel */
            for (int g = 0; g < GROUP; g++) {
                bias[g] = a->bias ? load(a->bias + co + g * VL) : splat(0);
                slope[g] = a->slope ? load(a->slope + c + g * VL) : splat(0);
            }
            for (int i = 0; i < 4; i++) {
                int y = 4 * ty + i;
                if (y >= a->h_out) break;
                for (int j = 0; j < 4; j++) {
                    int x = 4 * tx + j;
                    if (x >= a->w_out) break;
                    int ys = a->shuffle ? 2 * y + sub / 2 : y, xs = a->shuffle ? 2 * x + sub % 2 : x;
                    long at = (((long)b * h_store + ys) * w_store + xs) * c_store + c;
                    for (int g = 0; g < GROUP; g++) {
                        vf value = out[i][j][g] + bias[g];
                        if (a->slope) value = prelu(value, slope[g]);
                        if (a->skip) value += load(a->skip + at + g * VL);
                        store(a->y + at + g * VL, value);
                    }
                }
            }
        }
    }
}

/* One thread: chunks of TB tiles from the shared counter until none is left. A thread that cannot get its
 * buffers takes no chunk; the others do its share. */
static void *run_chunks(void *arg) {
    work *wk = arg;
    const conv_args *a = wk->a;
    float *vbuf = aligned_alloc(64, sizeof(float) * 36 * TB * (size_t)a->c_in);
    float *mbuf = aligned_alloc(64, sizeof(float) * 36 * TB * (size_t)a->c_out);
    float *zeros = aligned_alloc(64, sizeof(float) * (size_t)a->c_in);
    if (vbuf && mbuf && zeros) {
        memset(vbuf, 0, sizeof(float) * 36 * TB * (size_t)a->c_in);
        memset(zeros, 0, sizeof(float) * (size_t)a->c_in);
        __atomic_add_fetch(&wk->computed, 1, __ATOMIC_RELAXED);
        for (long t; (t = __atomic_fetch_add(&wk->next, TB, __ATOMIC_RELAXED)) < wk->tiles;)
            run_chunk(a, t, wk->tiles - t < TB ? (int)(wk->tiles - t) : TB, vbuf, mbuf, zeros);
    }
    free(vbuf);
    free(mbuf);
    free(zeros);
    return NULL;
}

/* The entry point: 0 on success, -1 if a buffer or a thread could not be made. */
int winograd_conv3x3(const float *x, float *y, const float *u, const float *bias, const float *slope,
                     const float *skip, int n, int h_in, int w, int c_in, int c_out, int pad_top, int pad_bottom,
                     int pad_left, int pad_right, int shuffle, int threads) {
    conv_args a = {x, y, u, bias, slope, skip, n, h_in, w, c_in, c_out,
                   pad_top, pad_bottom, pad_left, pad_right, shuffle, 0, 0, 0, 0};
    a.h_out = h_in + pad_top + pad_bottom - 2;
    a.w_out = w + pad_left + pad_right - 2;
    if (a.h_out < 1 || a.w_out < 1) return 0; /* nothing to compute */
    a.tiles_h = (a.h_out + 3) / 4;
    a.tiles_w = (a.w_out + 3) / 4;
    long tiles = (long)n * a.tiles_h * a.tiles_w;
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (threads > (tiles + TB - 1) / TB) threads = (int)((tiles + TB - 1) / TB);
    if (threads < 1) threads = 1;
    work wk = {&a, tiles, 0, 0};
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS] = {0};
    for (int i = 1; i < threads; i++) started[i] = pthread_create(&ids[i], NULL, run_chunks, &wk) == 0;
    run_chunks(&wk); /* this thread works too; a thread that could not start leaves its chunks to the others */
    for (int i = 1; i < threads; i++)
        if (started[i]) pthread_join(ids[i], NULL);
    return wk.computed > 0 ? 0 : -1; /* no thread had buffers: no tile was computed */
}
