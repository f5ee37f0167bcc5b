/* The engine's neuron and buffer loops for contiguous CPU arrays, one time chunk per call.
 *
 * Each kernel advances M neurons over T steps in place and writes the spikes of every step as
 * 0/1 in the currents' floating type (what the next stage's ops consume); ``counts`` (int32,
 * may be NULL) accumulates each neuron's spikes. Currents are a (T, M) array with row stride
 * ``cs`` (0: one row repeated every step). The arithmetic is the definition's, operation by
 * operation (see ldsnn_lava/neurons.py); the build uses -ffp-contract=off so no multiply and add
 * are fused into one rounding. Fixed-point kernels read integer-valued float currents.
 */
#include <stdint.h>
#include <stdlib.h>

#define BLOCK 2048 /* neurons per block: their state stays in L1 while the steps stream past */
#define STATE_MAX (1LL << 23)

#define FOR_BLOCKS                                                                         \
    for (int64_t lo = 0; lo < M; lo += BLOCK) {                                            \
        int64_t n = M - lo < BLOCK ? M - lo : BLOCK;
#define END_BLOCKS                                                                         \
        if (counts)                                                                        \
            for (int64_t t = 0; t < T; t++) {                                              \
                const CT *o = out + t * M + lo;                                            \
                for (int64_t i = 0; i < n; i++) counts[lo + i] += (int32_t)o[i];           \
            }                                                                              \
    }

/* IF, reset by subtraction: v += I; s = v >= thr; v -= s * thr. */
#define IF_KERNEL(NAME, ST, CT)                                                            \
void NAME(const CT *cur, int64_t cs, ST *v, CT *out, int32_t *counts, int64_t T,          \
          int64_t M, ST thr) {                                                             \
    FOR_BLOCKS                                                                             \
        for (int64_t t = 0; t < T; t++) {                                                  \
            const CT *c = cur + t * cs + lo;                                               \
            CT *o = out + t * M + lo;                                                      \
            ST *vb = v + lo;                                                               \
            for (int64_t i = 0; i < n; i++) {                                              \
                ST x = vb[i] + (ST)c[i];                                                   \
                int s = x >= thr;                                                          \
                vb[i] = x - (ST)s * thr;                                                   \
                o[i] = (CT)s;                                                              \
            }                                                                              \
        }                                                                                  \
    END_BLOCKS                                                                             \
}

/* Float CubaLIF: u = u*ku + I; v = (v*kv + u) + bias; s = v > thr; v = v * !s. */
#define LIF_KERNEL(NAME, ST)                                                               \
void NAME(const ST *cur, int64_t cs, ST *u, ST *v, ST *out, int32_t *counts, int64_t T,   \
          int64_t M, ST ku, ST kv, ST bias, ST thr) {                                      \
    typedef ST CT;                                                                         \
    FOR_BLOCKS                                                                             \
        for (int64_t t = 0; t < T; t++) {                                                  \
            const ST *c = cur + t * cs + lo;                                               \
            ST *o = out + t * M + lo, *ub = u + lo, *vb = v + lo;                          \
            for (int64_t i = 0; i < n; i++) {                                              \
                ST a = ub[i] * ku;                                                         \
                a = a + c[i];                                                              \
                ST b = vb[i] * kv;                                                         \
                b = b + a;                                                                 \
                b = b + bias;                                                              \
                int s = b > thr;                                                           \
                ub[i] = a;                                                                 \
                vb[i] = b * (ST)(!s);                                                      \
                o[i] = (ST)s;                                                              \
            }                                                                              \
        }                                                                                  \
    END_BLOCKS                                                                             \
}

/* x * keep / 4096, the product truncated toward zero (Loihi's sign-magnitude shift). */
static inline int64_t decay(int64_t x, int64_t keep) {
    int64_t p = x * keep;
    return (p + (p < 0) * 4095) >> 12;
}

/* Fixed-point CubaLIF (Lava's bit-accurate LIF): 6 extra bits of state, u wraps and v
 * saturates at 24 bits. */
#define LIF_FIXED_KERNEL(NAME, CT)                                                         \
void NAME(const CT *cur, int64_t cs, int64_t *u, int64_t *v, CT *out, int32_t *counts,    \
          int64_t T, int64_t M, int64_t keep_u, int64_t keep_v, int64_t bias64,            \
          int64_t thr64) {                                                                 \
    FOR_BLOCKS                                                                             \
        for (int64_t t = 0; t < T; t++) {                                                  \
            const CT *c = cur + t * cs + lo;                                               \
            CT *o = out + t * M + lo;                                                      \
            int64_t *ub = u + lo, *vb = v + lo;                                            \
            for (int64_t i = 0; i < n; i++) {                                              \
                int64_t a = decay(ub[i], keep_u) + (int64_t)c[i] * 64;                     \
                a -= (a > STATE_MAX) * (2 * STATE_MAX);                                    \
                a += (a <= -STATE_MAX) * (2 * STATE_MAX);                                  \
                int64_t b = decay(vb[i], keep_v) + a + bias64;                             \
                b = b < -STATE_MAX + 1 ? -STATE_MAX + 1 : b;                               \
                b = b > STATE_MAX - 1 ? STATE_MAX - 1 : b;                                 \
                int s = b > thr64;                                                         \
                ub[i] = a;                                                                 \
                vb[i] = b * !s;                                                            \
                o[i] = (CT)s;                                                              \
            }                                                                              \
        }                                                                                  \
    END_BLOCKS                                                                             \
}

/* The rate buffer's emit rule: acc += c; s = acc >= t_in; acc -= s * t_in. */
#define RATE_KERNEL(NAME, CT)                                                              \
void NAME(const int32_t *c, int32_t *acc, CT *out, int32_t *counts, int64_t T, int64_t M, \
          int32_t t_in) {                                                                  \
    FOR_BLOCKS                                                                             \
        for (int64_t t = 0; t < T; t++) {                                                  \
            CT *o = out + t * M + lo;                                                      \
            int32_t *ab = acc + lo;                                                        \
            const int32_t *cb = c + lo;                                                    \
            for (int64_t i = 0; i < n; i++) {                                              \
                int32_t a = ab[i] + cb[i];                                                 \
                int s = a >= t_in;                                                         \
                ab[i] = a - s * t_in;                                                      \
                o[i] = (CT)s;                                                              \
            }                                                                              \
        }                                                                                  \
    END_BLOCKS                                                                             \
}

#define CT float
IF_KERNEL(if_f32, float, float)
IF_KERNEL(if_fixed_f32, int64_t, float)
LIF_FIXED_KERNEL(lif_fixed_f32, float)
RATE_KERNEL(rate_f32, float)
#undef CT
#define CT double
IF_KERNEL(if_f64, double, double)
IF_KERNEL(if_fixed_f64, int64_t, double)
LIF_FIXED_KERNEL(lif_fixed_f64, double)
RATE_KERNEL(rate_f64, double)
#undef CT
LIF_KERNEL(lif_f32, float)
LIF_KERNEL(lif_f64, double)

/* Event-driven Dense: out (M, N) = x (M, K) @ wt (K, N) + bias, adding only the rows of wt whose
 * input is non-zero (times that input). Only for exact arithmetic (integers whose partial sums
 * stay exact), where the order of the additions cannot change the result. Counts the non-zero
 * inputs first and computes nothing, returning -1, if there are more than ``max_nonzero``;
 * else returns their number. */
#define SPARSE_DENSE(NAME, T)                                                              \
int64_t NAME(const T *x, int64_t M, int64_t K, const T *wt, int64_t N, const T *bias,     \
             T *out, int64_t max_nonzero) {                                                \
    int64_t nonzero = 0;                                                                   \
    for (int64_t i = 0; i < M * K; i++) nonzero += x[i] != 0;                              \
    if (nonzero > max_nonzero) return -1;                                                  \
    int32_t *index = (int32_t *)malloc((size_t)(K > 0 ? K : 1) * sizeof(int32_t));        \
    T acc[256];                                                                            \
    for (int64_t m = 0; m < M; m++) {                                                      \
        const T *row = x + m * K;                                                          \
        int64_t count = 0;                                                                 \
        for (int64_t k = 0; k < K; k++) {                                                  \
            index[count] = (int32_t)k;                                                     \
            count += row[k] != 0;                                                          \
        }                                                                                  \
        for (int64_t lo = 0; lo < N; lo += 256) {                                          \
            int64_t n = N - lo < 256 ? N - lo : 256;                                       \
            for (int64_t j = 0; j < n; j++) acc[j] = bias ? bias[lo + j] : 0;              \
            for (int64_t a = 0; a < count; a++) {                                          \
                const T *w = wt + (int64_t)index[a] * N + lo;                              \
                T v = row[index[a]];                                                       \
                if (v == 1) for (int64_t j = 0; j < n; j++) acc[j] += w[j];                \
                else for (int64_t j = 0; j < n; j++) acc[j] += v * w[j];                   \
            }                                                                              \
            for (int64_t j = 0; j < n; j++) out[m * N + lo + j] = acc[j];                  \
        }                                                                                  \
    }                                                                                      \
    free(index);                                                                           \
    return nonzero;                                                                        \
}
SPARSE_DENSE(sparse_dense_f32, float)
SPARSE_DENSE(sparse_dense_f64, double)

/* Pooling of 0/1 spikes with stride = kernel and no padding: each output is the sum of its
 * kh x kw window divided by ``div`` (1 for a sum pool, the area for an average pool, as
 * avg_pool2d divides its sum). x is (N, H, W, C) contiguous (channels last; a (N, C, H, W)
 * tensor is (N*C, H, W, 1)), out (N, H/kh, W/kw, C); rows and columns past the last whole
 * window are dropped. The sums are small integers, exact in any order. One pass over x: the kh
 * input rows of an output row are added into ``row``, then its columns in groups of kw. */
#define POOL_KERNEL(NAME, T)                                                               \
void NAME(const T *x, T *out, int64_t N, int64_t H, int64_t W, int64_t C, int64_t kh,     \
          int64_t kw, T div) {                                                             \
    int64_t ho = H / kh, wo = W / kw, len = wo * kw * C;                                   \
    T *row = (T *)malloc((size_t)(len > 0 ? len : 1) * sizeof(T));                        \
    for (int64_t n = 0; n < N; n++)                                                        \
        for (int64_t oy = 0; oy < ho; oy++) {                                              \
            const T *src = x + (n * H + oy * kh) * W * C;                                  \
            for (int64_t i = 0; i < len; i++) row[i] = src[i];                             \
            for (int64_t a = 1; a < kh; a++) {                                             \
                const T *s = src + a * W * C;                                              \
                for (int64_t i = 0; i < len; i++) row[i] += s[i];                          \
            }                                                                              \
            T *o = out + (n * ho + oy) * wo * C;                                           \
            for (int64_t ox = 0; ox < wo; ox++) {                                          \
                const T *r = row + ox * kw * C;                                            \
                T *q = o + ox * C;                                                         \
                if (C >= 8) { /* whole vectors of channels */                              \
                    for (int64_t c = 0; c < C; c++) q[c] = r[c];                           \
                    for (int64_t j = 1; j < kw; j++)                                       \
                        for (int64_t c = 0; c < C; c++) q[c] += r[j * C + c];              \
                    for (int64_t c = 0; c < C; c++) q[c] /= div;                           \
                } else                                                                     \
                    for (int64_t c = 0; c < C; c++) {                                      \
                        T sum = r[c];                                                      \
                        for (int64_t j = 1; j < kw; j++) sum += r[j * C + c];              \
                        q[c] = sum / div;                                                  \
                    }                                                                      \
            }                                                                              \
        }                                                                                  \
    free(row);                                                                             \
}
POOL_KERNEL(pool_f32, float)
POOL_KERNEL(pool_f64, double)

/* The readout's sums: acc (float64) += each step's currents, step after step, the definition's
 * order of additions. Currents are a (T, M) array with row stride ``cs`` (0: one row repeated). */
#define ACCUMULATE_KERNEL(NAME, CT)                                                        \
void NAME(const CT *cur, int64_t cs, double *acc, int64_t T, int64_t M) {                 \
    for (int64_t t = 0; t < T; t++) {                                                      \
        const CT *c = cur + t * cs;                                                        \
        for (int64_t i = 0; i < M; i++) acc[i] += (double)c[i];                            \
    }                                                                                      \
}
ACCUMULATE_KERNEL(accumulate_f32, float)
ACCUMULATE_KERNEL(accumulate_f64, double)
