// The Fisher math's products and factorizations through OpenBLAS (BLAS + LAPACK), batched: one call does `count`
// equally shaped matrices stored one after another, in the calling thread (no helper thread, no copies).
// Row-major in JS; a row-major matrix is the column-major transpose, so each routine is called on the transpose.
// Every output is written whole (no caller's buffer is read), float32 inputs are widened to float64 per matrix.
#define _DEFAULT_SOURCE // madvise, sysconf under -std=c11
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <unistd.h>
#include <sys/mman.h>
#define NAPI_VERSION 8
#include <node_api.h>
#include <cblas.h>

// LAPACK's Fortran entry points (OpenBLAS carries LAPACK; no LAPACKE wrapper needed).
extern void dpotrf_(const char *uplo, const int *n, double *a, const int *lda, int *info);
extern void dtrtri_(const char *uplo, const char *diag, const int *n, double *a, const int *lda, int *info);
extern char *openblas_get_config(void);
extern char *openblas_get_corename(void);
extern void openblas_set_num_threads(int);

typedef struct {
  void *data;
  size_t length;
  int f32; // 1: Float32Array, 0: Float64Array
} Array;

#define MAX_DIM 1000000 // any one dimension; products of dimensions are checked against the arrays' lengths

static napi_value fail(napi_env env, const char *msg) {
  napi_throw_range_error(env, NULL, msg);
  return NULL;
}

static int get_array(napi_env env, napi_value v, Array *a, int allow_f32) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  napi_value buf;
  size_t offset;
  if (napi_get_typedarray_info(env, v, &type, &a->length, &a->data, &buf, &offset) != napi_ok) return 0;
  if (type == napi_float64_array) a->f32 = 0;
  else if (type == napi_float32_array && allow_f32) a->f32 = 1;
  else return 0;
  return 1;
}

static int get_dim(napi_env env, napi_value v, int *out, int min) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok) return 0;
  if (!(d >= min && d <= MAX_DIM) || d != floor(d)) return 0;
  *out = (int)d;
  return 1;
}

// A non-negative integer below 2⁵³ (a stride or offset into an array; checked against its length by the caller).
static int get_index(napi_env env, napi_value v, double *out) {
  double d;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0 && d <= 9007199254740992.0) || d != floor(d)) return 0;
  *out = d;
  return 1;
}

// Matrix c of A (n values each) as float64: A itself, or widened into `tmp`.
static const double *matrix(const Array *A, size_t c, size_t n, double *tmp) {
  if (!A->f32) return (const double *)A->data + c * n;
  const float *f = (const float *)A->data + c * n;
  for (size_t i = 0; i < n; i++) tmp[i] = f[i];
  return tmp;
}

// s_q = Σ_i X_iq² for the r×b row-major matrix X (the diagonal of F⁻¹ is read from these).
static void column_squares(const double *X, int r, int b, double *s) {
  memset(s, 0, sizeof(double) * b);
  for (int i = 0; i < r; i++) {
    const double *x = X + (size_t)i * b;
    for (int q = 0; q < b; q++) s[q] += x[q] * x[q];
  }
}

// Zeros above the diagonal of a row-major m×m matrix.
static void zero_upper(double *C, int m) {
  for (int i = 0; i < m; i++) memset(C + (size_t)i * m + i + 1, 0, sizeof(double) * (m - i - 1));
}

typedef struct {
  napi_value argv[8];
  size_t argc;
} Call;

static int args(napi_env env, napi_callback_info info, Call *call, size_t want) {
  call->argc = 8;
  if (napi_get_cb_info(env, info, &call->argc, call->argv, NULL, NULL) != napi_ok) return 0;
  return call->argc == want;
}

// gramCols(A, k, m, count, C): C = AᵀA for `count` k×m matrices A → m×m (full). Row-major A is the column-major
// m×k matrix Aᵀ, and AᵀA = (Aᵀ)(Aᵀ)ᵀ: dsyrk "N".
// gramRows(A, m, k, count, C): C = AAᵀ for m×k matrices: dsyrk "T" on the column-major k×m matrix.
static napi_value gram(napi_env env, napi_callback_info info, int rows) {
  Call c;
  Array A, C;
  int p, q, count; // cols: A is p×q row-major (k×m), C is q×q; rows: A is p×q (m×k), C is p×p
  if (!args(env, info, &c, 5) || !get_array(env, c.argv[0], &A, 1) || !get_dim(env, c.argv[1], &p, 0) ||
      !get_dim(env, c.argv[2], &q, 0) || !get_dim(env, c.argv[3], &count, 1) || !get_array(env, c.argv[4], &C, 0))
    return fail(env, "gram: expected (Float64Array|Float32Array, int, int, int ≥ 1, Float64Array)");
  int m = rows ? p : q;
  size_t na = (size_t)p * q, nc = (size_t)m * m;
  if (A.length < count * na || C.length < count * nc) return fail(env, "gram: array shorter than its shape");
  double *tmp = A.f32 ? malloc(sizeof(double) * (na ? na : 1)) : NULL;
  if (A.f32 && !tmp) return fail(env, "gram: out of memory");
  for (int b = 0; b < count; b++) {
    const double *a = matrix(&A, b, na, tmp);
    double *out = (double *)C.data + b * nc;
    // upper column-major = lower row-major; mirrored below
    if (rows) cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, p, q, 1.0, a, q > 0 ? q : 1, 0.0, out, m > 0 ? m : 1);
    else cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, q, p, 1.0, a, q > 0 ? q : 1, 0.0, out, m > 0 ? m : 1);
    // column-major upper holds row-major lower: copy it above the diagonal
    for (int i = 1; i < m; i++)
      for (int j = 0; j < i; j++) out[(size_t)j * m + i] = out[(size_t)i * m + j];
  }
  free(tmp);
  return NULL;
}
static napi_value gram_cols(napi_env env, napi_callback_info info) { return gram(env, info, 0); }
static napi_value gram_rows(napi_env env, napi_callback_info info) { return gram(env, info, 1); }

// matmul(A, B, m, k, n, count, C): C = AB (A m×k, B k×n); matmulTN(A, B, k, m, n, count, C): C = AᵀB (A k×m).
static napi_value product(napi_env env, napi_callback_info info, int tn) {
  Call c;
  Array A, B, C;
  int d0, d1, n, count;
  if (!args(env, info, &c, 7) || !get_array(env, c.argv[0], &A, 1) || !get_array(env, c.argv[1], &B, 1) ||
      !get_dim(env, c.argv[2], &d0, 0) || !get_dim(env, c.argv[3], &d1, 0) || !get_dim(env, c.argv[4], &n, 0) ||
      !get_dim(env, c.argv[5], &count, 1) || !get_array(env, c.argv[6], &C, 0))
    return fail(env, "product: expected (A, B, int, int, int, int ≥ 1, Float64Array)");
  int m = tn ? d1 : d0, k = tn ? d0 : d1;
  size_t na = (size_t)m * k, nb = (size_t)k * n, nc = (size_t)m * n;
  if (A.length < count * na || B.length < count * nb || C.length < count * nc) return fail(env, "product: array shorter than its shape");
  double *ta = A.f32 ? malloc(sizeof(double) * (na ? na : 1)) : NULL, *tb = B.f32 ? malloc(sizeof(double) * (nb ? nb : 1)) : NULL;
  if ((A.f32 && !ta) || (B.f32 && !tb)) {
    free(ta);
    free(tb);
    return fail(env, "product: out of memory");
  }
  for (int b = 0; b < count; b++) {
    double *out = (double *)C.data + b * nc;
    if (k == 0) {
      memset(out, 0, sizeof(double) * nc);
      continue;
    }
    const double *a = matrix(&A, b, na, ta), *bb = matrix(&B, b, nb, tb);
    if (m > 0 && n > 0)
      cblas_dgemm(CblasRowMajor, tn ? CblasTrans : CblasNoTrans, CblasNoTrans, m, n, k, 1.0, a, tn ? m : k, bb, n, 0.0, out, n);
  }
  free(ta);
  free(tb);
  return NULL;
}
static napi_value matmul(napi_env env, napi_callback_info info) { return product(env, info, 0); }
static napi_value matmul_tn(napi_env env, napi_callback_info info) { return product(env, info, 1); }

// A failed Cholesky: [matrix index, pivot index, pivot value] (the caller words the error).
static napi_value not_positive(napi_env env, int b, int j, double v) {
  napi_value out, x;
  napi_create_array_with_length(env, 3, &out);
  napi_create_int32(env, b, &x);
  napi_set_element(env, out, 0, x);
  napi_create_int32(env, j, &x);
  napi_set_element(env, out, 1, x);
  napi_create_double(env, v, &x);
  napi_set_element(env, out, 2, x);
  return out;
}

// Cholesky A = UᵀU of the column-major m×m matrix in `a` (upper used; row-major that is L = Uᵀ lower, LLᵀ = A).
// Returns -1, or the first pivot that is not positive (NaN included: dpotrf lets it through), its value in *v.
static int cholesky(double *a, int m, double *v) {
  int info = 0;
  dpotrf_("U", &m, a, &m, &info);
  for (int j = 0; j < m; j++) {
    double d = a[(size_t)j * m + j];
    if ((info > 0 && j == info - 1) || !(d > 0) || !isfinite(d)) {
      *v = d;
      return j;
    }
  }
  *v = NAN;
  return info == 0 ? -1 : 0;
}

// U⁻¹ in place, so `a` holds L⁻¹ row-major; zeros above its diagonal. Returns as cholesky (a zero pivot).
static int invert(double *a, int m, double *v) {
  int info = 0;
  dtrtri_("U", "N", &m, a, &m, &info);
  zero_upper(a, m);
  *v = 0;
  return info == 0 ? -1 : (info > 0 ? info - 1 : 0);
}

// gramFactor(G, k, m, damp, count, R, r): R = L⁻¹ (lower, zeros above) with LLᵀ = GᵀG + max(k, 1)λI, and
// r_q = ‖R_q‖², for `count` k×m matrices G. Returns undefined, or [matrix, pivot, value] when one is not positive
// definite.
static napi_value gram_factor(napi_env env, napi_callback_info info) {
  Call c;
  Array G, R, r;
  int k, m, count;
  double damp;
  if (!args(env, info, &c, 7) || !get_array(env, c.argv[0], &G, 1) || !get_dim(env, c.argv[1], &k, 0) ||
      !get_dim(env, c.argv[2], &m, 0) || napi_get_value_double(env, c.argv[3], &damp) != napi_ok ||
      !get_dim(env, c.argv[4], &count, 1) || !get_array(env, c.argv[5], &R, 0) || !get_array(env, c.argv[6], &r, 0))
    return fail(env, "gramFactor: expected (G, int, int, number, int ≥ 1, Float64Array, Float64Array)");
  size_t ng = (size_t)k * m, nr = (size_t)m * m;
  if (G.length < count * ng || R.length < count * nr || r.length < (size_t)count * m)
    return fail(env, "gramFactor: array shorter than its shape");
  double *tmp = G.f32 ? malloc(sizeof(double) * (ng ? ng : 1)) : NULL;
  if (G.f32 && !tmp) return fail(env, "gramFactor: out of memory");
  double kd = (k > 1 ? k : 1) * damp;
  for (int b = 0; b < count; b++) {
    const double *g = matrix(&G, b, ng, tmp);
    double *a = (double *)R.data + b * nr, v;
    if (m == 0) continue;
    // column-major upper of GᵀG (row-major G is the column-major m×k Gᵀ)
    cblas_dsyrk(CblasColMajor, CblasUpper, CblasNoTrans, m, k, 1.0, g, m, 0.0, a, m);
    for (int i = 0; i < m; i++) a[(size_t)i * m + i] += kd;
    int j = cholesky(a, m, &v);
    if (j < 0) j = invert(a, m, &v);
    if (j >= 0) {
      free(tmp);
      return not_positive(env, b, j, v);
    }
    column_squares(a, m, m, (double *)r.data + (size_t)b * m);
  }
  free(tmp);
  return NULL;
}

// rowGramFactor(G, k, m, damp, count, Linv, H, h): L⁻¹, H = L⁻¹G and h_q = ‖H_q‖² with LLᵀ = K = kλI + GGᵀ, for
// `count` k×m matrices G. Returns as gramFactor.
static napi_value row_gram_factor(napi_env env, napi_callback_info info) {
  Call c;
  Array G, Li, H, h2;
  int k, m, count;
  double damp;
  if (!args(env, info, &c, 8) || !get_array(env, c.argv[0], &G, 1) || !get_dim(env, c.argv[1], &k, 0) ||
      !get_dim(env, c.argv[2], &m, 0) || napi_get_value_double(env, c.argv[3], &damp) != napi_ok ||
      !get_dim(env, c.argv[4], &count, 1) || !get_array(env, c.argv[5], &Li, 0) || !get_array(env, c.argv[6], &H, 0) ||
      !get_array(env, c.argv[7], &h2, 0))
    return fail(env, "rowGramFactor: expected (G, int, int, number, int ≥ 1, Float64Array, Float64Array, Float64Array)");
  size_t ng = (size_t)k * m, nk = (size_t)k * k;
  if (G.length < count * ng || Li.length < count * nk || H.length < count * ng || h2.length < (size_t)count * m)
    return fail(env, "rowGramFactor: array shorter than its shape");
  for (int b = 0; b < count; b++) {
    double *a = (double *)Li.data + b * nk, *h = (double *)H.data + b * ng, *hq = (double *)h2.data + (size_t)b * m, v;
    // G into H (widened from float32 on the way): K is read from it, then dtrmm turns it into L⁻¹G in place
    const double *g = matrix(&G, b, ng, h);
    if (g != h) memmove(h, g, sizeof(double) * ng);
    if (k == 0) {
      memset(hq, 0, sizeof(double) * m);
      continue;
    }
    // K's column-major upper: (Gᵀ)ᵀ(Gᵀ) with Gᵀ the column-major m×k matrix. Up to 32 rows the whole product by
    // dgemm (measured ~2× faster than dsyrk's half there; equal at 64)
    if (k <= 32) cblas_dgemm(CblasColMajor, CblasTrans, CblasNoTrans, k, k, m, 1.0, h, m > 0 ? m : 1, h, m > 0 ? m : 1, 0.0, a, k);
    else cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, k, m, 1.0, h, m > 0 ? m : 1, 0.0, a, k);
    for (int i = 0; i < k; i++) a[(size_t)i * k + i] += k * damp;
    int j = cholesky(a, k, &v);
    if (j < 0) j = invert(a, k, &v);
    if (j >= 0) return not_positive(env, b, j, v);
    if (m > 0) // H = L⁻¹G by dtrmm on the lower row-major L⁻¹ (measured at k = 32 and 64: ahead of dtrsm and dgemm)
      cblas_dtrmm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, k, m, 1.0, a, k, h, m);
    column_squares(h, k, m, hq);
  }
  return NULL;
}

// gather(src, ld, starts, k, m, count, out): `count` k×m blocks out of a row-major matrix with row stride ld, block c's
// first row at starts[c] — a layer's Fisher blocks out of its N × d gradient rows — one after another into `out`
// (the same element type as src). Row by row, so each of src's rows is read once for all blocks.
static napi_value gather(napi_env env, napi_callback_info info) {
  Call c;
  Array S, O, st;
  int k, m, count;
  double ld;
  if (!args(env, info, &c, 7) || !get_array(env, c.argv[0], &S, 1) || !get_index(env, c.argv[1], &ld) ||
      !get_array(env, c.argv[2], &st, 0) || !get_dim(env, c.argv[3], &k, 0) || !get_dim(env, c.argv[4], &m, 0) ||
      !get_dim(env, c.argv[5], &count, 0) || !get_array(env, c.argv[6], &O, 1) || O.f32 != S.f32)
    return fail(env, "gather: expected (Float32Array|Float64Array, int, Float64Array, int, int, int, same type as the source)");
  size_t nb = (size_t)k * m, size = S.f32 ? 4 : 8;
  if (st.length < (size_t)count || O.length < count * nb || (k > 1 && m > ld)) return fail(env, "gather: array shorter than its shape");
  const double *s0 = st.data;
  for (int b = 0; b < count; b++) {
    double s = s0[b];
    if (!(s >= 0) || s != floor(s) || (k > 0 && s + (k - 1) * ld + m > (double)S.length))
      return fail(env, "gather: a block lies outside the source");
  }
  char *src = S.data, *out = O.data;
  for (int r = 0; r < k; r++)
    for (int b = 0; b < count; b++)
      memcpy(out + ((size_t)b * nb + (size_t)r * m) * size, src + ((size_t)s0[b] + (size_t)r * (size_t)ld) * size, (size_t)m * size);
  return NULL;
}

// Depthwise per-sample sums (src/engine/gradients/kernelGrads.ts): for every sample b, tap (i, j) and channel
// c·M + m, acc[b][tap][c·M + m] = Σ_(oh, ow) x[b, oh·sh + i·dh − top, ow·sw + j·dw − left, c] · δ[b, oh, ow, c·M + m]
// (NHWC; taps outside the input skipped). The float32 product is exact in float64 and each sum runs in the JS loop's
// order, so the result is the JS loop's, bit for bit; the channel loop vectorises (AVX2 where the CPU has it).
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
__attribute__((target_clones("avx2", "default")))
#endif
static void depthwise_sums(const float *restrict x, const float *restrict delta, double *restrict acc, const int *g) {
  const int batch = g[0], inH = g[1], inW = g[2], C = g[3], M = g[4], kh = g[5], kw = g[6], sh = g[7], sw = g[8], dh = g[9],
            dw = g[10], top = g[11], left = g[12], outH = g[13], outW = g[14];
  const size_t CM = (size_t)C * M, taps = (size_t)kh * kw;
  for (int b = 0; b < batch; b++) {
    double *A = acc + (size_t)b * taps * CM;
    memset(A, 0, sizeof(double) * taps * CM);
    const float *xb = x + (size_t)b * inH * inW * C, *db = delta + (size_t)b * outH * outW * CM;
    for (int oh = 0; oh < outH; oh++)
      for (int ow = 0; ow < outW; ow++) {
        const float *dp = db + ((size_t)oh * outW + ow) * CM;
        for (int i = 0; i < kh; i++) {
          const int h = oh * sh + i * dh - top;
          if (h < 0 || h >= inH) continue;
          for (int j = 0; j < kw; j++) {
            const int w = ow * sw + j * dw - left;
            if (w < 0 || w >= inW) continue;
            const float *xp = xb + ((size_t)h * inW + w) * C;
            double *ap = A + ((size_t)i * kw + j) * CM;
            if (M == 1)
              for (int c = 0; c < C; c++) ap[c] += (double)xp[c] * (double)dp[c];
            else
              for (int c = 0; c < C; c++) {
                const double xv = xp[c];
                for (int m = 0; m < M; m++) ap[(size_t)c * M + m] += xv * (double)dp[(size_t)c * M + m];
              }
          }
        }
      }
  }
}

// depthwiseSums(x: Float32Array, delta: Float32Array, geometry: 15 integers, acc: Float64Array): see depthwise_sums.
static napi_value depthwise_sums_js(napi_env env, napi_callback_info info) {
  Call c;
  Array X, D, G, A;
  if (!args(env, info, &c, 4) || !get_array(env, c.argv[0], &X, 1) || !X.f32 || !get_array(env, c.argv[1], &D, 1) || !D.f32 ||
      !get_array(env, c.argv[2], &G, 0) || G.length != 15 || !get_array(env, c.argv[3], &A, 0))
    return fail(env, "depthwiseSums: expected (Float32Array, Float32Array, Float64Array of 15 integers, Float64Array)");
  int g[15];
  const double *gd = G.data;
  for (int i = 0; i < 15; i++) {
    if (!(gd[i] >= 0 && gd[i] <= MAX_DIM) || gd[i] != floor(gd[i])) return fail(env, "depthwiseSums: geometry is not 15 integers");
    g[i] = (int)gd[i];
  }
  if (g[7] < 1 || g[8] < 1 || g[9] < 1 || g[10] < 1) return fail(env, "depthwiseSums: strides and dilations must be at least 1");
  // lengths in doubles: products of up to five dimensions, exact well past any array here
  const double CM = (double)g[3] * g[4];
  if ((double)g[0] * g[1] * g[2] * g[3] > (double)X.length || (double)g[0] * g[13] * g[14] * CM > (double)D.length ||
      (double)g[0] * g[5] * g[6] * CM > (double)A.length)
    return fail(env, "depthwiseSums: array shorter than its shape");
  depthwise_sums(X.data, D.data, A.data, g);
  return NULL;
}

// populate(a: Float32Array): the whole pages inside a's memory mapped writable now, in one system call (Linux 5.14+
// MADV_POPULATE_WRITE), instead of one page fault per 4 KiB page as an array about to be written whole is first
// written. Contents are unchanged. Returns 0, or the errno (EINVAL on older kernels: the caller goes on without it).
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif
static napi_value populate(napi_env env, napi_callback_info info) {
  Call c;
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buf, out;
  bool is;
  if (!args(env, info, &c, 1) || napi_is_typedarray(env, c.argv[0], &is) != napi_ok || !is ||
      napi_get_typedarray_info(env, c.argv[0], &type, &length, &data, &buf, &offset) != napi_ok || type != napi_float32_array)
    return fail(env, "populate: expected a Float32Array");
  const uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE), begin = ((uintptr_t)data + page - 1) & ~(page - 1),
                  end = ((uintptr_t)data + length * sizeof(float)) & ~(page - 1);
  int err = 0;
  if (end > begin && madvise((void *)begin, end - begin, MADV_POPULATE_WRITE) != 0) err = errno;
  napi_create_int32(env, err, &out);
  return out;
}

// config(): OpenBLAS's build configuration and the kernel it picked for this CPU.
static napi_value config(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out, x;
  napi_create_object(env, &out);
  napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &x);
  napi_set_named_property(env, out, "config", x);
  napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &x);
  napi_set_named_property(env, out, "core", x);
  return out;
}

NAPI_MODULE_INIT() {
  openblas_set_num_threads(1); // one core per call: the engine's block threads are the parallelism
  napi_property_descriptor fns[] = {
      {"gramCols", NULL, gram_cols, NULL, NULL, NULL, napi_default, NULL},
      {"gramRows", NULL, gram_rows, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
      {"matmulTN", NULL, matmul_tn, NULL, NULL, NULL, napi_default, NULL},
      {"gramFactor", NULL, gram_factor, NULL, NULL, NULL, napi_default, NULL},
      {"rowGramFactor", NULL, row_gram_factor, NULL, NULL, NULL, napi_default, NULL},
      {"gather", NULL, gather, NULL, NULL, NULL, napi_default, NULL},
      {"depthwiseSums", NULL, depthwise_sums_js, NULL, NULL, NULL, napi_default, NULL},
      {"populate", NULL, populate, NULL, NULL, NULL, napi_default, NULL},
      {"config", NULL, config, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof(fns) / sizeof(fns[0]), fns);
  // the interface's version: openblas.ts refuses an addon built from other sources (a checkout rebuilt with
  // `npm run build` only keeps its old addon). 2: gather, and rowGramFactor writing G into H first; 3: depthwiseSums; 4: populate.
  napi_value abi;
  napi_create_int32(env, 4, &abi);
  napi_set_named_property(env, exports, "abi", abi);
  return exports;
}
