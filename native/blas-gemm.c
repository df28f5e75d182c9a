/*
 * hanlab's bridge from the TensorFlow.js wasm backend to OpenBLAS: one function, `sgemm`, that runs
 * cblas_sgemm on matrices that already live in an ArrayBuffer (the wasm heap), without copying them.
 *
 * Why hand-written: tfjs-node would bring a native GEMM but downloads libtensorflow at install time,
 * and no registry package binds a system BLAS to memory it does not own. The wasm backend's XNNPACK
 * products run at 29-31 GFLOP/s per thread here; OpenBLAS's run at ~110 on the same shapes.
 *
 * Built by scripts/build-native.mjs against Node's own headers (Node-API, so one build serves every
 * Node version and every worker thread); loaded by lib/tensor/blas.ts.
 */
#include <node_api.h>
#include <stdint.h>
#include <stdio.h>

/* OpenBLAS's own declarations, written out so the build needs only the library (cblas.h moves between
 * Debian's openblas-pthread / -openmp / -serial include folders). */
enum { CblasRowMajor = 101, CblasNoTrans = 111, CblasTrans = 112 };
extern void cblas_sgemm(int order, int transA, int transB, int m, int n, int k, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc);
extern char *openblas_get_corename(void);
extern char *openblas_get_config(void);
extern int openblas_get_num_threads(void);
extern void openblas_set_num_threads(int num_threads);

#define CHECK(call)                                                                                                \
  do {                                                                                                             \
    if ((call) != napi_ok) {                                                                                       \
      napi_throw_error(env, NULL, "blas-gemm: Node-API call failed: " #call);                                    \
      return NULL;                                                                                                 \
    }                                                                                                              \
  } while (0)

static int64_t integer_arg(napi_env env, napi_value value, const char *name, int *ok) {
  int64_t result = 0;
  if (napi_get_value_int64(env, value, &result) != napi_ok || result < 0) {
    char message[96];
    snprintf(message, sizeof message, "blas-gemm: %s must be a non-negative integer", name);
    napi_throw_type_error(env, NULL, message);
    *ok = 0;
  }
  return result;
}

/*
 * sgemm(memory, transposeA, transposeB, m, n, k, batch, a, aStride, b, bStride, c)
 * For each of `batch` products: C[m x n] = op(A) . op(B), row-major, where op(A) is m x k and op(B) is
 * k x n. a, b, c are float offsets into `memory` (an ArrayBuffer); aStride / bStride are the floats
 * between one product's operand and the next (0 broadcasts it), C's products are packed. Every range
 * is checked against the buffer before anything is read or written.
 */
static napi_value sgemm(napi_env env, napi_callback_info info) {
  size_t argc = 12;
  napi_value argv[12];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc != 12) {
    napi_throw_type_error(env, NULL, "blas-gemm: sgemm takes 12 arguments");
    return NULL;
  }
  void *data = NULL;
  size_t byte_length = 0;
  bool is_buffer = false;
  CHECK(napi_is_arraybuffer(env, argv[0], &is_buffer));
  if (!is_buffer) {
    napi_throw_type_error(env, NULL, "blas-gemm: memory must be an ArrayBuffer");
    return NULL;
  }
  CHECK(napi_get_arraybuffer_info(env, argv[0], &data, &byte_length));
  bool transpose_a = false, transpose_b = false;
  CHECK(napi_get_value_bool(env, argv[1], &transpose_a));
  CHECK(napi_get_value_bool(env, argv[2], &transpose_b));
  static const char *names[] = {"m", "n", "k", "batch", "a", "aStride", "b", "bStride", "c"};
  int64_t v[9];
  int ok = 1;
  for (int i = 0; i < 9 && ok; i++) v[i] = integer_arg(env, argv[3 + i], names[i], &ok);
  if (!ok) return NULL;
  const int64_t m = v[0], n = v[1], k = v[2], batch = v[3], a = v[4], a_stride = v[5], b = v[6], b_stride = v[7], c = v[8];
  if (m > INT32_MAX || n > INT32_MAX || k > INT32_MAX) {
    napi_throw_range_error(env, NULL, "blas-gemm: a dimension is over 2^31 - 1");
    return NULL;
  }
  const int64_t floats = (int64_t)(byte_length / sizeof(float));
  /* The last product's operand must end inside the buffer (int64 products: the dimensions are < 2^31). */
  const int64_t last = batch > 0 ? batch - 1 : 0;
  if (batch > 0 && (a + last * a_stride + m * k > floats || b + last * b_stride + k * n > floats || c + batch * m * n > floats)) {
    napi_throw_range_error(env, NULL, "blas-gemm: an operand lies outside the memory buffer");
    return NULL;
  }
  float *memory = (float *)data;
  const int lda = transpose_a ? (int)m : (int)k;
  const int ldb = transpose_b ? (int)k : (int)n;
  for (int64_t i = 0; i < batch; i++) {
    float *out = memory + c + i * m * n;
    if (k == 0) {
      for (int64_t j = 0; j < m * n; j++) out[j] = 0.0f;
      continue;
    }
    if (m == 0 || n == 0) continue;
    cblas_sgemm(CblasRowMajor, transpose_a ? CblasTrans : CblasNoTrans, transpose_b ? CblasTrans : CblasNoTrans, (int)m,
                (int)n, (int)k, 1.0f, memory + a + i * a_stride, lda, memory + b + i * b_stride, ldb, 0.0f, out, (int)n);
  }
  return NULL;
}

/* { core, config, threads }: which OpenBLAS kernel runs (OPENBLAS_CORETYPE pins it) and how it was built. */
static napi_value library(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value result, core, config, threads;
  CHECK(napi_create_object(env, &result));
  CHECK(napi_create_string_utf8(env, openblas_get_corename(), NAPI_AUTO_LENGTH, &core));
  CHECK(napi_create_string_utf8(env, openblas_get_config(), NAPI_AUTO_LENGTH, &config));
  CHECK(napi_create_int32(env, openblas_get_num_threads(), &threads));
  CHECK(napi_set_named_property(env, result, "core", core));
  CHECK(napi_set_named_property(env, result, "config", config));
  CHECK(napi_set_named_property(env, result, "threads", threads));
  return result;
}

/*
 * setThreads(n): OpenBLAS's threads for the products that follow, process-wide. The trainer's gradient
 * workers each run their own products on one thread; a single-threaded loop (GLiNER2) asks for more.
 */
static napi_value set_threads(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  int32_t threads = 0;
  if (argc != 1 || napi_get_value_int32(env, argv[0], &threads) != napi_ok || threads < 1 || threads > 256) {
    napi_throw_range_error(env, NULL, "blas-gemm: setThreads takes one integer from 1 to 256");
    return NULL;
  }
  openblas_set_num_threads(threads);
  return NULL;
}

NAPI_MODULE_INIT() {
  napi_value fn;
  if (napi_create_function(env, "sgemm", NAPI_AUTO_LENGTH, sgemm, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "sgemm", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "library", NAPI_AUTO_LENGTH, library, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "library", fn) != napi_ok)
    return NULL;
  if (napi_create_function(env, "setThreads", NAPI_AUTO_LENGTH, set_threads, NULL, &fn) != napi_ok ||
      napi_set_named_property(env, exports, "setThreads", fn) != napi_ok)
    return NULL;
  return exports;
}
