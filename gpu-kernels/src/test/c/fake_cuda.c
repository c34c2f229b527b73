/*
 * A fake CUDA driver (libcuda) for machines without a GPU: the entry points Loupe's FFM binding
 * (dev.loupe.gpu.CudaDriver) calls, implemented on the CPU. The tests compile it with
 * `cc -shared -fPIC -O2 -o target/fake-cuda/libfakecuda.so fake_cuda.c -lm` and point the
 * loupe.cuda.library system property at it.
 *
 * - Device memory is malloc'd host memory; a CUdeviceptr is its host address. Frees of unknown
 *   pointers fail with CUDA_ERROR_INVALID_VALUE, so double frees show up in tests.
 * - cuModuleLoadData(Ex) collects the `.entry NAME(` names of a PTX image (for a cubin, the names of
 *   the kernels below found in it); cuModuleGetFunction finds them.
 * - cuLaunchKernel dispatches by kernel name to a C reference implementation of that kernel's
 *   contract with the same parameter layout (see the .cu files of gpu-kernels/src/main/cuda), checking the
 *   launch configuration the real kernel needs (block size, dynamic shared memory, k).
 * - Streams run work at once; while a stream captures, launches (with their argument values) and
 *   asynchronous copies are recorded instead, and a graph launch replays them. Events record the
 *   host clock.
 * - Error injection, for tests: fake_cuda_inject("cuMemAlloc_v2", 2, 1) makes the next call of that
 *   function fail with CUresult 2 (CUDA_ERROR_OUT_OF_MEMORY); the FAKE_CUDA_FAIL environment
 *   variable (`cuMemAlloc_v2=2`) does the same for every call. fake_cuda_set_device_count(0)
 *   hides the device; allocations beyond FAKE_TOTAL_MEMORY fail with CUDA_ERROR_OUT_OF_MEMORY.
 */
#define _GNU_SOURCE
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;

#define CUDA_SUCCESS 0
#define CUDA_ERROR_INVALID_VALUE 1
#define CUDA_ERROR_OUT_OF_MEMORY 2
#define CUDA_ERROR_NOT_INITIALIZED 3
#define CUDA_ERROR_NO_DEVICE 100
#define CUDA_ERROR_INVALID_DEVICE 101
#define CUDA_ERROR_INVALID_IMAGE 200
#define CUDA_ERROR_INVALID_CONTEXT 201
#define CUDA_ERROR_INVALID_PTX 218
#define CUDA_ERROR_INVALID_HANDLE 400
#define CUDA_ERROR_NOT_FOUND 500
#define CUDA_ERROR_ILLEGAL_ADDRESS 700
#define CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES 701
#define CUDA_ERROR_NOT_SUPPORTED 801
#define CUDA_ERROR_STREAM_CAPTURE_INVALIDATED 901

#define FAKE_TOTAL_MEMORY (8ULL << 30)
#define MAX_ENTRIES 64
#define MAX_PARAMS 16

static const struct { int code; const char* name; const char* text; } ERRORS[] = {
    {CUDA_SUCCESS, "CUDA_SUCCESS", "no error"},
    {CUDA_ERROR_INVALID_VALUE, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {CUDA_ERROR_OUT_OF_MEMORY, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {CUDA_ERROR_NOT_INITIALIZED, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {CUDA_ERROR_NO_DEVICE, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {CUDA_ERROR_INVALID_DEVICE, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {CUDA_ERROR_INVALID_IMAGE, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {CUDA_ERROR_INVALID_CONTEXT, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {CUDA_ERROR_INVALID_PTX, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {CUDA_ERROR_INVALID_HANDLE, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {CUDA_ERROR_NOT_FOUND, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {CUDA_ERROR_ILLEGAL_ADDRESS, "CUDA_ERROR_ILLEGAL_ADDRESS", "an illegal memory access was encountered"},
    {CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES, "CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES", "too many resources requested for launch"},
    {CUDA_ERROR_NOT_SUPPORTED, "CUDA_ERROR_NOT_SUPPORTED", "operation not supported"},
    {CUDA_ERROR_STREAM_CAPTURE_INVALIDATED, "CUDA_ERROR_STREAM_CAPTURE_INVALIDATED", "operation failed due to a previous error during capture"},
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int initialized;
static int device_count = 1;
static unsigned long long allocated;
static long long launches;

/* ---- error injection ---------------------------------------------------------------------- */

static char inject_fn[128];
static int inject_code, inject_count;

void fake_cuda_inject(const char* function, int code, int count) {
  pthread_mutex_lock(&lock);
  snprintf(inject_fn, sizeof inject_fn, "%s", function);
  inject_code = code;
  inject_count = count;
  pthread_mutex_unlock(&lock);
}

void fake_cuda_set_device_count(int count) { device_count = count; }
long long fake_cuda_launch_count(void) { return launches; }

static int injected(const char* fn) {
  int rc = 0;
  pthread_mutex_lock(&lock);
  if (inject_count > 0 && strcmp(inject_fn, fn) == 0) {
    inject_count--;
    rc = inject_code;
  }
  pthread_mutex_unlock(&lock);
  if (rc) return rc;
  const char* env = getenv("FAKE_CUDA_FAIL");
  size_t n = strlen(fn);
  if (env && strncmp(env, fn, n) == 0 && env[n] == '=') return atoi(env + n + 1);
  return 0;
}

#define ENTER(fn)                                   \
  do {                                              \
    int injected_rc = injected(fn);                 \
    if (injected_rc) return injected_rc;            \
  } while (0)
#define NEED_INIT() \
  do { if (!initialized) return CUDA_ERROR_NOT_INITIALIZED; } while (0)

/* ---- errors, init, devices ------------------------------------------------------------------ */

CUresult cuGetErrorName(CUresult error, const char** out) {
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) {
    if (ERRORS[i].code == error) { *out = ERRORS[i].name; return CUDA_SUCCESS; }
  }
  *out = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuGetErrorString(CUresult error, const char** out) {
  for (size_t i = 0; i < sizeof ERRORS / sizeof ERRORS[0]; i++) {
    if (ERRORS[i].code == error) { *out = ERRORS[i].text; return CUDA_SUCCESS; }
  }
  *out = NULL;
  return CUDA_ERROR_INVALID_VALUE;
}

CUresult cuInit(unsigned flags) {
  ENTER("cuInit");
  if (flags != 0) return CUDA_ERROR_INVALID_VALUE;
  initialized = 1;
  return CUDA_SUCCESS;
}

CUresult cuDriverGetVersion(int* version) { *version = 13000; return CUDA_SUCCESS; }

CUresult cuDeviceGetCount(int* count) {
  ENTER("cuDeviceGetCount");
  NEED_INIT();
  *count = device_count;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGet(CUdevice* device, int ordinal) {
  ENTER("cuDeviceGet");
  NEED_INIT();
  if (ordinal < 0 || ordinal >= device_count) return CUDA_ERROR_INVALID_DEVICE;
  *device = ordinal;
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetName(char* name, int len, CUdevice device) {
  NEED_INIT();
  if (device < 0 || device >= device_count) return CUDA_ERROR_INVALID_DEVICE;
  snprintf(name, (size_t)len, "Loupe fake CUDA device (CPU)");
  return CUDA_SUCCESS;
}

CUresult cuDeviceGetAttribute(int* value, int attribute, CUdevice device) {
  ENTER("cuDeviceGetAttribute");
  NEED_INIT();
  if (device < 0 || device >= device_count) return CUDA_ERROR_INVALID_DEVICE;
  switch (attribute) {
    case 16: *value = 4; break;           /* multiprocessors */
    case 36: *value = 1000000; break;     /* memory clock, kHz */
    case 37: *value = 256; break;         /* bus width, bits */
    case 75: *value = 8; break;           /* compute capability major */
    case 76: *value = 0; break;           /* minor */
    default: return CUDA_ERROR_INVALID_VALUE;
  }
  return CUDA_SUCCESS;
}

CUresult cuDeviceTotalMem_v2(size_t* bytes, CUdevice device) {
  NEED_INIT();
  if (device < 0 || device >= device_count) return CUDA_ERROR_INVALID_DEVICE;
  *bytes = FAKE_TOTAL_MEMORY;
  return CUDA_SUCCESS;
}

/* ---- contexts ------------------------------------------------------------------------------- */

static int primary_context = 0x5ca1ab1e;
static int retains;
static __thread void* current;

CUresult cuDevicePrimaryCtxRetain(void** ctx, CUdevice device) {
  ENTER("cuDevicePrimaryCtxRetain");
  NEED_INIT();
  if (device < 0 || device >= device_count) return CUDA_ERROR_INVALID_DEVICE;
  pthread_mutex_lock(&lock);
  retains++;
  pthread_mutex_unlock(&lock);
  *ctx = &primary_context;
  return CUDA_SUCCESS;
}

CUresult cuDevicePrimaryCtxRelease_v2(CUdevice device) {
  NEED_INIT();
  if (device < 0 || device >= device_count) return CUDA_ERROR_INVALID_DEVICE;
  pthread_mutex_lock(&lock);
  int ok = retains > 0;
  if (ok) retains--;
  pthread_mutex_unlock(&lock);
  return ok ? CUDA_SUCCESS : CUDA_ERROR_INVALID_CONTEXT;
}

CUresult cuCtxSetCurrent(void* ctx) {
  NEED_INIT();
  if (ctx != NULL && ctx != &primary_context) return CUDA_ERROR_INVALID_CONTEXT;
  current = ctx;
  return CUDA_SUCCESS;
}

#define NEED_CONTEXT() \
  do { NEED_INIT(); if (current == NULL) return CUDA_ERROR_INVALID_CONTEXT; } while (0)

CUresult cuCtxSynchronize(void) { NEED_CONTEXT(); return CUDA_SUCCESS; }

/* ---- memory --------------------------------------------------------------------------------- */

typedef struct Allocation { void* base; size_t bytes; struct Allocation* next; } Allocation;
static Allocation* allocations;

long long fake_cuda_live_allocations(void) {
  long long n = 0;
  pthread_mutex_lock(&lock);
  for (Allocation* a = allocations; a; a = a->next) n++;
  pthread_mutex_unlock(&lock);
  return n;
}

CUresult cuMemAlloc_v2(CUdeviceptr* dptr, size_t bytes) {
  ENTER("cuMemAlloc_v2");
  NEED_CONTEXT();
  if (bytes == 0) return CUDA_ERROR_INVALID_VALUE;
  pthread_mutex_lock(&lock);
  int room = allocated + bytes <= FAKE_TOTAL_MEMORY;
  pthread_mutex_unlock(&lock);
  if (!room) return CUDA_ERROR_OUT_OF_MEMORY;
  void* p = NULL;
  if (posix_memalign(&p, 256, bytes) != 0) return CUDA_ERROR_OUT_OF_MEMORY;
  memset(p, 0xA5, bytes); /* device memory starts as garbage; tests must not rely on zeros */
  Allocation* a = malloc(sizeof *a);
  a->base = p;
  a->bytes = bytes;
  pthread_mutex_lock(&lock);
  a->next = allocations;
  allocations = a;
  allocated += bytes;
  pthread_mutex_unlock(&lock);
  *dptr = (CUdeviceptr)(uintptr_t)p;
  return CUDA_SUCCESS;
}

CUresult cuMemFree_v2(CUdeviceptr dptr) {
  ENTER("cuMemFree_v2");
  NEED_CONTEXT();
  pthread_mutex_lock(&lock);
  for (Allocation** at = &allocations; *at; at = &(*at)->next) {
    if ((CUdeviceptr)(uintptr_t)(*at)->base == dptr) {
      Allocation* a = *at;
      *at = a->next;
      allocated -= a->bytes;
      pthread_mutex_unlock(&lock);
      free(a->base);
      free(a);
      return CUDA_SUCCESS;
    }
  }
  pthread_mutex_unlock(&lock);
  return CUDA_ERROR_INVALID_VALUE;
}

/* True if [p, p + bytes) lies inside one allocation. */
static int inside(CUdeviceptr p, size_t bytes) {
  int ok = 0;
  pthread_mutex_lock(&lock);
  for (Allocation* a = allocations; a; a = a->next) {
    CUdeviceptr base = (CUdeviceptr)(uintptr_t)a->base;
    if (p >= base && p + bytes <= base + a->bytes) { ok = 1; break; }
  }
  pthread_mutex_unlock(&lock);
  return ok;
}

/* ---- streams and capture -------------------------------------------------------------------- */

typedef struct Function Function;
typedef struct {
  int kind; /* 0 launch, 1 copy */
  Function* fn;
  unsigned grid[3], block[3], shared;
  unsigned char params[MAX_PARAMS][8];
  void* dst; const void* src; size_t bytes;
} Op;

typedef struct { int capturing; Op* ops; int count, cap; int invalid; } Stream;
typedef struct { Op* ops; int count; } Graph;

static void record(Stream* s, Op op) {
  if (s->count == s->cap) {
    s->cap = s->cap ? 2 * s->cap : 16;
    s->ops = realloc(s->ops, sizeof(Op) * (size_t)s->cap);
  }
  s->ops[s->count++] = op;
}

CUresult cuStreamCreate(void** stream, unsigned flags) {
  ENTER("cuStreamCreate");
  NEED_CONTEXT();
  (void)flags;
  *stream = calloc(1, sizeof(Stream));
  return CUDA_SUCCESS;
}

CUresult cuStreamSynchronize(void* stream) {
  NEED_CONTEXT();
  if (stream && ((Stream*)stream)->capturing) return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED;
  return CUDA_SUCCESS;
}

CUresult cuStreamDestroy_v2(void* stream) {
  NEED_CONTEXT();
  if (!stream) return CUDA_ERROR_INVALID_HANDLE;
  free(((Stream*)stream)->ops);
  free(stream);
  return CUDA_SUCCESS;
}

CUresult cuStreamBeginCapture_v2(void* stream, int mode) {
  NEED_CONTEXT();
  (void)mode;
  Stream* s = stream;
  if (!s || s->capturing) return CUDA_ERROR_INVALID_VALUE;
  s->capturing = 1;
  s->count = 0;
  s->invalid = 0;
  return CUDA_SUCCESS;
}

CUresult cuStreamEndCapture(void* stream, void** graph) {
  NEED_CONTEXT();
  Stream* s = stream;
  if (!s || !s->capturing) return CUDA_ERROR_INVALID_VALUE;
  s->capturing = 0;
  if (s->invalid) { s->count = 0; return CUDA_ERROR_STREAM_CAPTURE_INVALIDATED; }
  Graph* g = malloc(sizeof *g);
  g->count = s->count;
  g->ops = malloc(sizeof(Op) * (size_t)(s->count ? s->count : 1));
  memcpy(g->ops, s->ops, sizeof(Op) * (size_t)s->count);
  s->count = 0;
  *graph = g;
  return CUDA_SUCCESS;
}

CUresult cuGraphInstantiateWithFlags(void** exec, void* graph, unsigned long long flags) {
  NEED_CONTEXT();
  (void)flags;
  Graph* g = graph;
  Graph* e = malloc(sizeof *e);
  e->count = g->count;
  e->ops = malloc(sizeof(Op) * (size_t)(g->count ? g->count : 1));
  memcpy(e->ops, g->ops, sizeof(Op) * (size_t)g->count);
  *exec = e;
  return CUDA_SUCCESS;
}

static CUresult run(Op* op);

CUresult cuGraphLaunch(void* exec, void* stream) {
  ENTER("cuGraphLaunch");
  NEED_CONTEXT();
  (void)stream;
  Graph* g = exec;
  for (int i = 0; i < g->count; i++) {
    CUresult rc = run(&g->ops[i]);
    if (rc) return rc;
  }
  return CUDA_SUCCESS;
}

CUresult cuGraphExecDestroy(void* exec) { free(((Graph*)exec)->ops); free(exec); return CUDA_SUCCESS; }
CUresult cuGraphDestroy(void* graph) { free(((Graph*)graph)->ops); free(graph); return CUDA_SUCCESS; }

/* ---- copies --------------------------------------------------------------------------------- */

CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void* src, size_t bytes) {
  ENTER("cuMemcpyHtoD_v2");
  NEED_CONTEXT();
  if (!inside(dst, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memcpy((void*)(uintptr_t)dst, src, bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoH_v2(void* dst, CUdeviceptr src, size_t bytes) {
  ENTER("cuMemcpyDtoH_v2");
  NEED_CONTEXT();
  if (!inside(src, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memcpy(dst, (const void*)(uintptr_t)src, bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes) {
  NEED_CONTEXT();
  if (!inside(dst, bytes) || !inside(src, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memmove((void*)(uintptr_t)dst, (const void*)(uintptr_t)src, bytes);
  return CUDA_SUCCESS;
}

static CUresult copy_async(void* dst, const void* src, size_t bytes, void* stream) {
  Stream* s = stream;
  if (s && s->capturing) {
    Op op = {0};
    op.kind = 1;
    op.dst = dst;
    op.src = src;
    op.bytes = bytes;
    record(s, op);
    return CUDA_SUCCESS;
  }
  memmove(dst, src, bytes);
  return CUDA_SUCCESS;
}

CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void* src, size_t bytes, void* stream) {
  NEED_CONTEXT();
  if (!inside(dst, bytes)) return CUDA_ERROR_INVALID_VALUE;
  return copy_async((void*)(uintptr_t)dst, src, bytes, stream);
}

CUresult cuMemcpyDtoHAsync_v2(void* dst, CUdeviceptr src, size_t bytes, void* stream) {
  NEED_CONTEXT();
  if (!inside(src, bytes)) return CUDA_ERROR_INVALID_VALUE;
  return copy_async(dst, (const void*)(uintptr_t)src, bytes, stream);
}

CUresult cuMemcpyDtoDAsync_v2(CUdeviceptr dst, CUdeviceptr src, size_t bytes, void* stream) {
  NEED_CONTEXT();
  if (!inside(dst, bytes) || !inside(src, bytes)) return CUDA_ERROR_INVALID_VALUE;
  return copy_async((void*)(uintptr_t)dst, (const void*)(uintptr_t)src, bytes, stream);
}

CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char value, size_t bytes) {
  NEED_CONTEXT();
  if (!inside(dst, bytes)) return CUDA_ERROR_INVALID_VALUE;
  memset((void*)(uintptr_t)dst, value, bytes);
  return CUDA_SUCCESS;
}

/* ---- events --------------------------------------------------------------------------------- */

typedef struct { double ms; int recorded; } Event;

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

CUresult cuEventCreate(void** event, unsigned flags) {
  NEED_CONTEXT();
  (void)flags;
  *event = calloc(1, sizeof(Event));
  return CUDA_SUCCESS;
}

CUresult cuEventRecord(void* event, void* stream) {
  NEED_CONTEXT();
  (void)stream;
  ((Event*)event)->ms = now_ms();
  ((Event*)event)->recorded = 1;
  return CUDA_SUCCESS;
}

CUresult cuEventSynchronize(void* event) { NEED_CONTEXT(); (void)event; return CUDA_SUCCESS; }

CUresult cuEventElapsedTime_v2(float* ms, void* start, void* end) {
  NEED_CONTEXT();
  Event *a = start, *b = end;
  if (!a->recorded || !b->recorded) return CUDA_ERROR_INVALID_HANDLE;
  *ms = (float)(b->ms - a->ms);
  return CUDA_SUCCESS;
}

CUresult cuEventDestroy_v2(void* event) { free(event); return CUDA_SUCCESS; }

/* ---- reference kernels ---------------------------------------------------------------------- */

typedef CUresult (*KernelImpl)(const Op* op);

#define P(i, type) (*(type*)op->params[i])

static float half_to_float(uint16_t h) {
  uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { /* subnormal: mant * 2^-24 */
      float f = ldexpf((float)mant, -24);
      return sign ? -f : f;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | (mant << 13);
  } else {
    bits = sign | ((exp + 112) << 23) | (mant << 13);
  }
  float f;
  memcpy(&f, &bits, 4);
  return f;
}

static CUresult k_fill_f32(const Op* op) {
  float* dst = P(0, float*);
  float value = P(1, float);
  int n = P(2, int);
  if (n > 0 && !inside((CUdeviceptr)(uintptr_t)dst, (size_t)n * 4)) return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int i = 0; i < n; i++) dst[i] = value;
  return CUDA_SUCCESS;
}

static CUresult k_axpy_f32(const Op* op) {
  long long n = P(0, long long);
  float a = P(1, float);
  const float* x = P(2, const float*);
  float* y = P(3, float*);
  if (n > 0 && (!inside((CUdeviceptr)(uintptr_t)x, (size_t)n * 4) || !inside((CUdeviceptr)(uintptr_t)y, (size_t)n * 4)))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (long long i = 0; i < n; i++) y[i] = fmaf(a, x[i], y[i]);
  return CUDA_SUCCESS;
}

#define BLOCK 256
#define MAX_K 256
#define MAX_QB 4

typedef struct { float s; int r; } Cand;

static int better(float s1, int r1, float s2, int r2) {
  return s1 > s2 || (s1 == s2 && (unsigned)r1 < (unsigned)r2);
}

static int cand_cmp(const void* a, const void* b) {
  const Cand *x = a, *y = b;
  if (better(x->s, x->r, y->s, y->r)) return -1;
  if (better(y->s, y->r, x->s, x->r)) return 1;
  return 0;
}

static int allowed(const unsigned* filter, const unsigned* tombstones, int row) {
  unsigned bit = 1u << (row & 31);
  if (filter && (filter[row >> 5] & bit) == 0) return 0;
  if (tombstones && (tombstones[row >> 5] & bit) != 0) return 0;
  return 1;
}

static CUresult k_score(const Op* op, int int8) {
  const void* rows = P(0, const void*);
  const float* scales = P(1, const float*);
  const float* norms2 = P(2, const float*);
  int n = P(3, int), dim = P(4, int);
  const float* queries = P(5, const float*);
  const float* qnorms2 = P(6, const float*);
  int nq = P(7, int), metric = P(8, int);
  const unsigned* filter = P(9, const unsigned*);
  const unsigned* tombstones = P(10, const unsigned*);
  int k = P(11, int), rowsPerBlock = P(12, int);
  float* outScores = P(13, float*);
  int* outRows = P(14, int*);
  unsigned gx = op->grid[0], gy = op->grid[1];
  int qb = nq < MAX_QB ? nq : MAX_QB;
  if (op->block[0] != BLOCK || op->block[1] != 1 || op->block[2] != 1) return CUDA_ERROR_INVALID_VALUE;
  if (k < 1 || k > MAX_K || rowsPerBlock < 1 || n < 0 || dim < 1 || nq < 1 || metric < 0 || metric > 2) return CUDA_ERROR_INVALID_VALUE;
  if (op->shared != (unsigned)(qb * dim * 4) || op->shared > 48 * 1024) return CUDA_ERROR_INVALID_VALUE;
  if (gy != (unsigned)((nq + MAX_QB - 1) / MAX_QB) || (unsigned long long)gx * rowsPerBlock < (unsigned long long)n)
    return CUDA_ERROR_INVALID_VALUE;
  size_t rowBytes = (size_t)dim * (int8 ? 1 : 2);
  if (n > 0 && (!inside((CUdeviceptr)(uintptr_t)rows, rowBytes * n) || !inside((CUdeviceptr)(uintptr_t)norms2, 4 * (size_t)n)))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  if (int8 && n > 0 && !inside((CUdeviceptr)(uintptr_t)scales, 4 * (size_t)n)) return CUDA_ERROR_ILLEGAL_ADDRESS;
  if (!inside((CUdeviceptr)(uintptr_t)outScores, 4 * (size_t)nq * gx * k) || !inside((CUdeviceptr)(uintptr_t)outRows, 4 * (size_t)nq * gx * k))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  Cand* c = malloc(sizeof(Cand) * (size_t)(rowsPerBlock > 0 ? rowsPerBlock : 1));
  for (int q = 0; q < nq; q++) {
    const float* qv = queries + (size_t)q * dim;
    for (unsigned b = 0; b < gx; b++) {
      int begin = (int)b * rowsPerBlock, end = begin + rowsPerBlock < n ? begin + rowsPerBlock : n, m = 0;
      for (int r = begin; r < end; r++) {
        if (!allowed(filter, tombstones, r)) continue;
        float dot = 0;
        if (int8) {
          const int8_t* v = (const int8_t*)rows + (size_t)r * dim;
          for (int i = 0; i < dim; i++) dot = fmaf(qv[i], (float)v[i], dot);
          dot *= scales[r];
        } else {
          const uint16_t* v = (const uint16_t*)rows + (size_t)r * dim;
          for (int i = 0; i < dim; i++) dot = fmaf(qv[i], half_to_float(v[i]), dot);
        }
        float s = metric == 2 ? 1.0f / (1.0f + fmaxf(0.0f, (qnorms2[q] + norms2[r]) - 2.0f * dot)) : dot;
        c[m].s = s;
        c[m].r = r;
        m++;
      }
      qsort(c, (size_t)m, sizeof(Cand), cand_cmp);
      size_t at = ((size_t)q * gx + b) * k;
      for (int i = 0; i < k; i++) {
        outScores[at + i] = i < m ? c[i].s : -INFINITY;
        outRows[at + i] = i < m ? c[i].r : -1;
      }
    }
  }
  free(c);
  return CUDA_SUCCESS;
}

static CUresult k_score_f16(const Op* op) { return k_score(op, 0); }

#define MMA_QT 64
#define MMA_RT 128
#define MMA_K 32
#define MMA_LD (MMA_RT + 4)

/* The tensor-core kernel's contract: fp16 queries, padded buffers, k <= 32; fp32 sums in order. */
static CUresult k_score_f16_mma(const Op* op) {
  const uint16_t* rows = P(0, const uint16_t*);
  const float* norms2 = P(1, const float*);
  int n = P(2, int), dim = P(3, int);
  const uint16_t* queries = P(4, const uint16_t*);
  const float* qnorms2 = P(5, const float*);
  int nq = P(6, int), metric = P(7, int);
  const unsigned* filter = P(8, const unsigned*);
  const unsigned* tombstones = P(9, const unsigned*);
  int k = P(10, int), rowsPerBlock = P(11, int);
  float* outScores = P(12, float*);
  int* outRows = P(13, int*);
  unsigned gx = op->grid[0], gy = op->grid[1];
  if (op->block[0] != BLOCK || op->block[1] != 1 || op->block[2] != 1) return CUDA_ERROR_INVALID_VALUE;
  if (k < 1 || k > MMA_K || dim < 16 || dim % 16 != 0 || rowsPerBlock < MMA_RT || rowsPerBlock % MMA_RT != 0 || nq < 1 || n < 1)
    return CUDA_ERROR_INVALID_VALUE;
  if (op->shared != MMA_QT * MMA_LD * 4) return CUDA_ERROR_INVALID_VALUE;
  if (gy != (unsigned)((nq + MMA_QT - 1) / MMA_QT) || (unsigned long long)gx * rowsPerBlock < (unsigned long long)n)
    return CUDA_ERROR_INVALID_VALUE;
  size_t paddedRows = (size_t)(n + MMA_RT - 1) / MMA_RT * MMA_RT, paddedQueries = (size_t)gy * MMA_QT;
  if (!inside((CUdeviceptr)(uintptr_t)rows, paddedRows * dim * 2) || !inside((CUdeviceptr)(uintptr_t)queries, paddedQueries * dim * 2) ||
      !inside((CUdeviceptr)(uintptr_t)norms2, 4 * (size_t)n) || !inside((CUdeviceptr)(uintptr_t)outRows, 4 * (size_t)nq * gx * k))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  Cand* c = malloc(sizeof(Cand) * (size_t)rowsPerBlock);
  float* qv = malloc(sizeof(float) * (size_t)dim);
  for (int q = 0; q < nq; q++) {
    for (int i = 0; i < dim; i++) qv[i] = half_to_float(queries[(size_t)q * dim + i]);
    for (unsigned b = 0; b < gx; b++) {
      int begin = (int)b * rowsPerBlock, end = begin + rowsPerBlock < n ? begin + rowsPerBlock : n, m = 0;
      for (int r = begin; r < end; r++) {
        if (!allowed(filter, tombstones, r)) continue;
        const uint16_t* v = rows + (size_t)r * dim;
        float dot = 0;
        for (int i = 0; i < dim; i++) dot = fmaf(qv[i], half_to_float(v[i]), dot);
        c[m].s = metric == 2 ? 1.0f / (1.0f + fmaxf(0.0f, (qnorms2[q] + norms2[r]) - 2.0f * dot)) : dot;
        c[m].r = r;
        m++;
      }
      qsort(c, (size_t)m, sizeof(Cand), cand_cmp);
      size_t at = ((size_t)q * gx + b) * k;
      for (int i = 0; i < k; i++) {
        outScores[at + i] = i < m ? c[i].s : -INFINITY;
        outRows[at + i] = i < m ? c[i].r : -1;
      }
    }
  }
  free(qv);
  free(c);
  return CUDA_SUCCESS;
}
static CUresult k_score_i8(const Op* op) { return k_score(op, 1); }

static CUresult k_merge_topk(const Op* op) {
  const float* candScores = P(0, const float*);
  const int* candRows = P(1, const int*);
  int lists = P(2, int), k = P(3, int), nq = P(4, int);
  float* outScores = P(5, float*);
  int* outRows = P(6, int*);
  if (op->block[0] != BLOCK || op->grid[0] != (unsigned)nq || k < 1 || k > MAX_K || lists < 1) return CUDA_ERROR_INVALID_VALUE;
  if (!inside((CUdeviceptr)(uintptr_t)candScores, 4 * (size_t)nq * lists * k) || !inside((CUdeviceptr)(uintptr_t)outRows, 4 * (size_t)nq * k))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  Cand* c = malloc(sizeof(Cand) * (size_t)lists * k);
  for (int q = 0; q < nq; q++) {
    int m = 0;
    for (int i = 0; i < lists * k; i++) {
      size_t at = (size_t)q * lists * k + i;
      if (candRows[at] >= 0) { c[m].s = candScores[at]; c[m].r = candRows[at]; m++; }
    }
    qsort(c, (size_t)m, sizeof(Cand), cand_cmp);
    for (int i = 0; i < k; i++) {
      outScores[(size_t)q * k + i] = i < m ? c[i].s : -INFINITY;
      outRows[(size_t)q * k + i] = i < m ? c[i].r : -1;
    }
  }
  free(c);
  return CUDA_SUCCESS;
}

/* ---- llm.cu ---- */

static int check_launch_rows(const Op* op, int rows) {
  return op->block[0] == BLOCK && op->grid[0] == (unsigned)((rows + BLOCK / 32 - 1) / (BLOCK / 32));
}

/* y[r] = W[r] . x for Q8_0 or Q4_0 rows, in the reference's order (blocks in turn, elements in the kernel's order). */
static void matvec_q(const uint8_t* w, const float* x, float* y, int rows, int cols, int q4) {
  size_t blockBytes = q4 ? 18 : 34, rowBytes = (size_t)cols / 32 * blockBytes;
  for (int r = 0; r < rows; r++) {
    float acc = 0;
    for (int b = 0; b < cols / 32; b++) {
      const uint8_t* blk = w + r * rowBytes + b * blockBytes;
      float d = half_to_float((uint16_t)(blk[0] | blk[1] << 8)), s = 0;
      if (q4) {
        for (int j = 0; j < 16; j++) {
          s = fmaf((float)((blk[2 + j] & 0x0F) - 8), x[b * 32 + j], s);
          s = fmaf((float)((blk[2 + j] >> 4) - 8), x[b * 32 + j + 16], s);
        }
      } else {
        for (int j = 0; j < 32; j++) s = fmaf((float)(int8_t)blk[2 + j], x[b * 32 + j], s);
      }
      acc = fmaf(d, s, acc);
    }
    y[r] = acc;
  }
}

static CUresult k_matvec(const Op* op, int q4) {
  const uint8_t* w = P(0, const uint8_t*);
  const float* x = P(1, const float*);
  float* y = P(2, float*);
  int rows = P(3, int), cols = P(4, int);
  if (rows < 1 || cols < 32 || cols % 32 != 0 || !check_launch_rows(op, rows)) return CUDA_ERROR_INVALID_VALUE;
  size_t rowBytes = (size_t)cols / 32 * (q4 ? 18 : 34);
  if (!inside((CUdeviceptr)(uintptr_t)w, rowBytes * rows) || !inside((CUdeviceptr)(uintptr_t)x, 4 * (size_t)cols) ||
      !inside((CUdeviceptr)(uintptr_t)y, 4 * (size_t)rows))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  matvec_q(w, x, y, rows, cols, q4);
  return CUDA_SUCCESS;
}

/* loupe_matvec_q4_k: Q4_K rows (super-blocks of 256 in 144 bytes), the kernel's sums in its order per lane. */
static void q4_k_scale_min(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

/* y[r] = W[r] . x for Q4_K rows, the kernel's sums in its order per lane and its warp reduction. */
static void matvec_q4_k(const uint8_t* w, const float* x, float* y, int rows, int cols) {
  size_t rowBytes = (size_t)cols / 256 * 144;
  int subs = cols / 32;
  for (int r = 0; r < rows; r++) {
    float lanes[32];
    for (int lane = 0; lane < 32; lane++) {
      float acc = 0;
      for (int sb = lane; sb < subs; sb += 32) {
        const uint8_t* blk = w + r * rowBytes + (size_t)(sb >> 3) * 144;
        int j = sb & 7, scale, min;
        float d = half_to_float((uint16_t)(blk[0] | blk[1] << 8)), dmin = half_to_float((uint16_t)(blk[2] | blk[3] << 8));
        q4_k_scale_min(j, blk + 4, &scale, &min);
        const uint8_t* qs = blk + 16 + 32 * (j >> 1);
        int shift = (j & 1) * 4;
        float s = 0, sx = 0;
        for (int l = 0; l < 32; l++) {
          float xv = x[sb * 32 + l];
          s = fmaf((float)((qs[l] >> shift) & 0x0F), xv, s);
          sx += xv;
        }
        acc = fmaf(d * (float)scale, s, acc);
        acc = fmaf(-dmin * (float)min, sx, acc);
      }
      lanes[lane] = acc;
    }
    /* warp_sum: xor butterfly, offsets 16, 8, 4, 2, 1 */
    for (int off = 16; off > 0; off >>= 1) {
      float next[32];
      for (int l = 0; l < 32; l++) next[l] = lanes[l] + lanes[l ^ off];
      for (int l = 0; l < 32; l++) lanes[l] = next[l];
    }
    y[r] = lanes[0];
  }
}

static CUresult k_matvec_q4_k(const Op* op) {
  const uint8_t* w = P(0, const uint8_t*);
  const float* x = P(1, const float*);
  float* y = P(2, float*);
  int rows = P(3, int), cols = P(4, int);
  if (rows < 1 || cols < 256 || cols % 256 != 0 || !check_launch_rows(op, rows)) return CUDA_ERROR_INVALID_VALUE;
  size_t rowBytes = (size_t)cols / 256 * 144;
  if (!inside((CUdeviceptr)(uintptr_t)w, rowBytes * rows) || !inside((CUdeviceptr)(uintptr_t)x, 4 * (size_t)cols) ||
      !inside((CUdeviceptr)(uintptr_t)y, 4 * (size_t)rows))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  matvec_q4_k(w, x, y, rows, cols);
  return CUDA_SUCCESS;
}

static CUresult k_matvec_q8_0(const Op* op) { return k_matvec(op, 0); }
static CUresult k_matvec_q4_0(const Op* op) { return k_matvec(op, 1); }

static CUresult k_rmsnorm(const Op* op) {
  const float* x = P(0, const float*);
  const float* weight = P(1, const float*);
  float* y = P(2, float*);
  int n = P(3, int);
  float eps = P(4, float);
  if (op->block[0] != BLOCK || n < 1) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned row = 0; row < op->grid[0]; row++) {
    const float* xr = x + (size_t)row * n;
    float ss = 0;
    for (int i = 0; i < n; i++) ss = fmaf(xr[i], xr[i], ss);
    float scale = 1.0f / sqrtf(ss / n + eps);
    for (int i = 0; i < n; i++) y[(size_t)row * n + i] = xr[i] * scale * weight[i];
  }
  return CUDA_SUCCESS;
}

static CUresult k_swiglu(const Op* op) {
  const float* gate = P(0, const float*);
  const float* up = P(1, const float*);
  float* out = P(2, float*);
  int n = P(3, int);
  for (int i = 0; i < n; i++) out[i] = gate[i] / (1.0f + expf(-gate[i])) * up[i];
  return CUDA_SUCCESS;
}

static CUresult k_rope(const Op* op) {
  float* x = P(0, float*);
  int headDim = P(1, int), ropeDim = P(2, int), pos = P(3, int);
  float theta = P(4, float);
  const float* factors = P(5, const float*);
  int neox = P(6, int);
  if (ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > headDim || (int)op->block[0] < ropeDim / 2) return CUDA_ERROR_INVALID_VALUE;
  for (unsigned h = 0; h < op->grid[0]; h++) {
    float* v = x + (size_t)h * headDim;
    for (int p = 0; p < ropeDim / 2; p++) {
      float angle = (float)pos * powf(theta, -2.0f * p / ropeDim);
      if (factors) angle /= factors[p];
      float s = sinf(angle), c = cosf(angle);
      int i = neox ? p : 2 * p, j = neox ? p + ropeDim / 2 : 2 * p + 1;
      float a = v[i], b = v[j];
      v[i] = a * c - b * s;
      v[j] = a * s + b * c;
    }
  }
  return CUDA_SUCCESS;
}

/* One token's attention over the first `positions` cached rows (loupe_attention_f16's contract). */
static void attention(const float* q, const uint16_t* keys, const uint16_t* values, float* out, int heads, int kvHeads,
                      int headDim, int positions) {
  size_t stride = (size_t)kvHeads * headDim;
  float* p = malloc(sizeof(float) * (size_t)positions);
  for (int h = 0; h < heads; h++) {
    int kvh = h / (heads / kvHeads);
    float m = -INFINITY, sum = 0;
    for (int t = 0; t < positions; t++) {
      float s = 0;
      for (int i = 0; i < headDim; i++) s = fmaf(q[(size_t)h * headDim + i], half_to_float(keys[t * stride + (size_t)kvh * headDim + i]), s);
      p[t] = s / sqrtf((float)headDim);
      m = fmaxf(m, p[t]);
    }
    for (int t = 0; t < positions; t++) { p[t] = expf(p[t] - m); sum += p[t]; }
    for (int i = 0; i < headDim; i++) {
      float acc = 0;
      for (int t = 0; t < positions; t++) acc = fmaf(p[t], half_to_float(values[t * stride + (size_t)kvh * headDim + i]), acc);
      out[(size_t)h * headDim + i] = acc / sum;
    }
  }
  free(p);
}

static CUresult k_attention_f16(const Op* op) {
  const float* q = P(0, const float*);
  const uint16_t* keys = P(1, const uint16_t*);
  const uint16_t* values = P(2, const uint16_t*);
  float* out = P(3, float*);
  int heads = P(4, int), kvHeads = P(5, int), headDim = P(6, int), positions = P(7, int);
  if (op->block[0] != BLOCK || op->grid[0] != (unsigned)heads || kvHeads < 1 || heads % kvHeads != 0 || positions < 1 ||
      op->shared != (unsigned)positions * 4)
    return CUDA_ERROR_INVALID_VALUE;
  attention(q, keys, values, out, heads, kvHeads, headDim, positions);
  return CUDA_SUCCESS;
}

static CUresult k_attention_f16_at(const Op* op) {
  const int* pos = P(7, const int*);
  int maxPositions = P(8, int);
  if (!inside((CUdeviceptr)(uintptr_t)pos, 4) || maxPositions < 1 || op->shared != (unsigned)maxPositions * 4) return CUDA_ERROR_INVALID_VALUE;
  Op direct = *op;
  int positions = *pos + 1 < maxPositions ? *pos + 1 : maxPositions;
  memcpy(direct.params[7], &positions, 4);
  direct.shared = (unsigned)positions * 4;
  return k_attention_f16(&direct);
}

/* out[0..dim) = the table's row `row` of ggml type `type` (0 F32, 1 F16, 2 Q4_0, 8 Q8_0); the caller checked the range. */
static void embed_row(const uint8_t* table, int type, size_t row, float* out, int dim) {
  size_t rowBytes = type == 0 ? 4 * (size_t)dim : type == 1 ? 2 * (size_t)dim : (size_t)dim / 32 * (type == 8 ? 34 : 18);
  const uint8_t* r = table + row * rowBytes;
  for (int i = 0; i < dim; i++) {
    if (type == 0) {
      memcpy(&out[i], r + 4 * (size_t)i, 4);
    } else if (type == 1) {
      out[i] = half_to_float((uint16_t)(r[2 * i] | r[2 * i + 1] << 8));
    } else {
      const uint8_t* blk = r + (size_t)(i / 32) * (type == 8 ? 34 : 18);
      float d = half_to_float((uint16_t)(blk[0] | blk[1] << 8));
      int j = i % 32;
      out[i] = type == 8 ? d * (float)(int8_t)blk[2 + j] : d * (float)((j < 16 ? (blk[2 + j] & 0x0F) : (blk[2 + j - 16] >> 4)) - 8);
    }
  }
}

static size_t embed_row_bytes(int type, int dim) {
  return type == 0 ? 4 * (size_t)dim : type == 1 ? 2 * (size_t)dim : (size_t)dim / 32 * (type == 8 ? 34 : 18);
}

static CUresult k_embed(const Op* op) {
  const uint8_t* table = P(0, const uint8_t*);
  int type = P(1, int);
  const int* token = P(2, const int*);
  float* out = P(3, float*);
  int dim = P(4, int);
  if (!inside((CUdeviceptr)(uintptr_t)token, 4) || dim < 1 || (type != 0 && type != 1 && type != 2 && type != 8)) return CUDA_ERROR_INVALID_VALUE;
  size_t row = (size_t)*token, rowBytes = embed_row_bytes(type, dim);
  if (!inside((CUdeviceptr)(uintptr_t)(table + row * rowBytes), rowBytes) || !inside((CUdeviceptr)(uintptr_t)out, 4 * (size_t)dim))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  embed_row(table, type, row, out, dim);
  return CUDA_SUCCESS;
}

static CUresult k_add_f32(const Op* op) {
  float* y = P(0, float*);
  const float* x = P(1, const float*);
  int n = P(2, int);
  if (n > 0 && (!inside((CUdeviceptr)(uintptr_t)y, 4 * (size_t)n) || !inside((CUdeviceptr)(uintptr_t)x, 4 * (size_t)n)))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int i = 0; i < n; i++) y[i] += x[i];
  return CUDA_SUCCESS;
}

/* Rotates v[0..ropeDim) for position pos as loupe_rope_at's rope_one does. */
static void rope_one(float* v, int ropeDim, int pos, float thetaScale, float freqScale, const float* factors, int neox) {
  for (int p = 0; p < ropeDim / 2; p++) {
    float theta = (float)pos;
    for (int i = 0; i < p; i++) theta *= thetaScale;
    float angle = freqScale * (factors ? theta / factors[p] : theta);
    float s = sinf(angle), c = cosf(angle);
    int i = neox ? p : 2 * p, j = neox ? p + ropeDim / 2 : 2 * p + 1;
    float a = v[i], b = v[j];
    v[i] = a * c - b * s;
    v[j] = a * s + b * c;
  }
}

static CUresult k_rope_at(const Op* op) {
  float* x = P(0, float*);
  int headDim = P(1, int), ropeDim = P(2, int);
  const int* pos = P(3, const int*);
  float thetaScale = P(4, float), freqScale = P(5, float);
  const float* factors = P(6, const float*);
  int neox = P(7, int);
  if (ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > headDim || (int)op->block[0] < ropeDim / 2 || !inside((CUdeviceptr)(uintptr_t)pos, 4))
    return CUDA_ERROR_INVALID_VALUE;
  for (unsigned h = 0; h < op->grid[0]; h++) rope_one(x + (size_t)h * headDim, ropeDim, *pos, thetaScale, freqScale, factors, neox);
  return CUDA_SUCCESS;
}

static uint16_t float_to_half(float f) { /* round to nearest even, as __float2half_rn */
  uint32_t x;
  memcpy(&x, &f, 4);
  uint32_t sign = (x >> 16) & 0x8000;
  int exp = (int)((x >> 23) & 0xff) - 127 + 15;
  uint32_t mant = x & 0x7fffff;
  if (((x >> 23) & 0xff) == 0xff) return (uint16_t)(sign | 0x7c00 | (mant ? 0x200 : 0));
  if (exp >= 31) return (uint16_t)(sign | 0x7c00);
  if (exp <= 0) {
    if (exp < -10) return (uint16_t)sign;
    mant |= 0x800000;
    int shift = 14 - exp;
    uint32_t h = mant >> shift, rem = mant & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rem > half || (rem == half && (h & 1))) h++;
    return (uint16_t)(sign | h);
  }
  uint32_t h = ((uint32_t)exp << 10) | (mant >> 13), rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
  return (uint16_t)(sign | h);
}

static CUresult k_kv_store_f16(const Op* op) {
  const float* k = P(0, const float*);
  const float* v = P(1, const float*);
  uint16_t* keys = P(2, uint16_t*);
  uint16_t* values = P(3, uint16_t*);
  const int* pos = P(4, const int*);
  int kDim = P(5, int), vDim = P(6, int);
  if (!inside((CUdeviceptr)(uintptr_t)pos, 4) || kDim < 1 || vDim < 1) return CUDA_ERROR_INVALID_VALUE;
  size_t p = (size_t)*pos;
  if (!inside((CUdeviceptr)(uintptr_t)(keys + p * kDim), 2 * (size_t)kDim) ||
      !inside((CUdeviceptr)(uintptr_t)(values + p * vDim), 2 * (size_t)vDim))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int i = 0; i < kDim; i++) keys[p * kDim + i] = float_to_half(k[i]);
  for (int i = 0; i < vDim; i++) values[p * vDim + i] = float_to_half(v[i]);
  return CUDA_SUCCESS;
}

/* ---- batched prefill: each token as the decode kernels compute it ---- */

#define TILE_T 8

static CUresult k_matmul(const Op* op, int quant /* 0 Q8_0, 1 Q4_0, 2 Q4_K */) {
  const uint8_t* w = P(0, const uint8_t*);
  const float* x = P(1, const float*);
  float* y = P(2, float*);
  int rows = P(3, int), cols = P(4, int), n = P(5, int);
  int multiple = quant == 2 ? 256 : 32;
  if (rows < 1 || n < 1 || cols < multiple || cols % multiple != 0 || !check_launch_rows(op, rows) ||
      op->grid[1] != (unsigned)((n + TILE_T - 1) / TILE_T))
    return CUDA_ERROR_INVALID_VALUE;
  size_t rowBytes = (size_t)cols / 32 * (quant == 0 ? 34 : 18);
  if (!inside((CUdeviceptr)(uintptr_t)w, rowBytes * rows) || !inside((CUdeviceptr)(uintptr_t)x, 4 * (size_t)cols * n) ||
      !inside((CUdeviceptr)(uintptr_t)y, 4 * (size_t)rows * n))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int t = 0; t < n; t++) {
    if (quant == 2) matvec_q4_k(w, x + (size_t)t * cols, y + (size_t)t * rows, rows, cols);
    else matvec_q(w, x + (size_t)t * cols, y + (size_t)t * rows, rows, cols, quant);
  }
  return CUDA_SUCCESS;
}

static CUresult k_matmul_q8_0(const Op* op) { return k_matmul(op, 0); }
static CUresult k_matmul_q4_0(const Op* op) { return k_matmul(op, 1); }
static CUresult k_matmul_q4_k(const Op* op) { return k_matmul(op, 2); }

static CUresult k_embed_rows(const Op* op) {
  const uint8_t* table = P(0, const uint8_t*);
  int type = P(1, int);
  const int* tokens = P(2, const int*);
  float* out = P(3, float*);
  int dim = P(4, int), n = (int)op->grid[1];
  if (!inside((CUdeviceptr)(uintptr_t)tokens, 4 * (size_t)n) || dim < 1 || (type != 0 && type != 1 && type != 2 && type != 8))
    return CUDA_ERROR_INVALID_VALUE;
  size_t rowBytes = embed_row_bytes(type, dim);
  if (!inside((CUdeviceptr)(uintptr_t)out, 4 * (size_t)dim * n)) return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int t = 0; t < n; t++) {
    if (!inside((CUdeviceptr)(uintptr_t)(table + (size_t)tokens[t] * rowBytes), rowBytes)) return CUDA_ERROR_ILLEGAL_ADDRESS;
    embed_row(table, type, (size_t)tokens[t], out + (size_t)t * dim, dim);
  }
  return CUDA_SUCCESS;
}

static CUresult k_add_rows(const Op* op) {
  float* y = P(0, float*);
  const float* b = P(1, const float*);
  int dim = P(2, int), n = P(3, int);
  if (dim < 1 || n < 1) return CUDA_ERROR_INVALID_VALUE;
  if (!inside((CUdeviceptr)(uintptr_t)y, 4 * (size_t)dim * n) || !inside((CUdeviceptr)(uintptr_t)b, 4 * (size_t)dim))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (size_t i = 0; i < (size_t)dim * n; i++) y[i] += b[i % dim];
  return CUDA_SUCCESS;
}

static CUresult k_rope_rows(const Op* op) {
  float* x = P(0, float*);
  int headDim = P(1, int), ropeDim = P(2, int), pos0 = P(3, int);
  float thetaScale = P(4, float), freqScale = P(5, float);
  const float* factors = P(6, const float*);
  int neox = P(7, int);
  unsigned heads = op->grid[0], n = op->grid[1];
  if (ropeDim < 2 || ropeDim % 2 != 0 || ropeDim > headDim || (int)op->block[0] < ropeDim / 2 || pos0 < 0) return CUDA_ERROR_INVALID_VALUE;
  if (!inside((CUdeviceptr)(uintptr_t)x, 4 * (size_t)headDim * heads * n)) return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (unsigned t = 0; t < n; t++) {
    for (unsigned h = 0; h < heads; h++) {
      rope_one(x + ((size_t)t * heads + h) * headDim, ropeDim, pos0 + (int)t, thetaScale, freqScale, factors, neox);
    }
  }
  return CUDA_SUCCESS;
}

static CUresult k_kv_store_rows(const Op* op) {
  const float* k = P(0, const float*);
  const float* v = P(1, const float*);
  uint16_t* keys = P(2, uint16_t*);
  uint16_t* values = P(3, uint16_t*);
  int pos0 = P(4, int), kDim = P(5, int), vDim = P(6, int), n = (int)op->grid[1];
  if (pos0 < 0 || kDim < 1 || vDim < 1) return CUDA_ERROR_INVALID_VALUE;
  if (!inside((CUdeviceptr)(uintptr_t)(keys + (size_t)pos0 * kDim), 2 * (size_t)kDim * n) ||
      !inside((CUdeviceptr)(uintptr_t)(values + (size_t)pos0 * vDim), 2 * (size_t)vDim * n) ||
      !inside((CUdeviceptr)(uintptr_t)k, 4 * (size_t)kDim * n) || !inside((CUdeviceptr)(uintptr_t)v, 4 * (size_t)vDim * n))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int t = 0; t < n; t++) {
    size_t p = (size_t)pos0 + t;
    for (int i = 0; i < kDim; i++) keys[p * kDim + i] = float_to_half(k[(size_t)t * kDim + i]);
    for (int i = 0; i < vDim; i++) values[p * vDim + i] = float_to_half(v[(size_t)t * vDim + i]);
  }
  return CUDA_SUCCESS;
}

static CUresult k_attention_f16_rows(const Op* op) {
  const float* q = P(0, const float*);
  const uint16_t* keys = P(1, const uint16_t*);
  const uint16_t* values = P(2, const uint16_t*);
  float* out = P(3, float*);
  int heads = P(4, int), kvHeads = P(5, int), headDim = P(6, int), pos0 = P(7, int), n = (int)op->grid[1];
  if (op->block[0] != BLOCK || op->grid[0] != (unsigned)heads || kvHeads < 1 || heads % kvHeads != 0 || pos0 < 0 ||
      op->shared != (unsigned)(pos0 + n) * 4)
    return CUDA_ERROR_INVALID_VALUE;
  size_t width = (size_t)heads * headDim, kvWidth = (size_t)kvHeads * headDim;
  if (!inside((CUdeviceptr)(uintptr_t)q, 4 * width * n) || !inside((CUdeviceptr)(uintptr_t)out, 4 * width * n) ||
      !inside((CUdeviceptr)(uintptr_t)keys, 2 * kvWidth * (size_t)(pos0 + n)) ||
      !inside((CUdeviceptr)(uintptr_t)values, 2 * kvWidth * (size_t)(pos0 + n)))
    return CUDA_ERROR_ILLEGAL_ADDRESS;
  for (int t = 0; t < n; t++) attention(q + t * width, keys, values, out + t * width, heads, kvHeads, headDim, pos0 + t + 1);
  return CUDA_SUCCESS;
}

/* Name, parameter count and each parameter's size in bytes, as in the .cu signatures. */
static const struct { const char* name; int count; int sizes[MAX_PARAMS]; KernelImpl impl; } KERNELS[] = {
    {"loupe_fill_f32", 3, {8, 4, 4}, k_fill_f32},
    {"loupe_axpy_f32", 4, {8, 4, 8, 8}, k_axpy_f32},
    {"loupe_score_f16", 15, {8, 8, 8, 4, 4, 8, 8, 4, 4, 8, 8, 4, 4, 8, 8}, k_score_f16},
    {"loupe_score_i8", 15, {8, 8, 8, 4, 4, 8, 8, 4, 4, 8, 8, 4, 4, 8, 8}, k_score_i8},
    {"loupe_merge_topk", 7, {8, 8, 4, 4, 4, 8, 8}, k_merge_topk},
    {"loupe_score_f16_mma", 14, {8, 8, 4, 4, 8, 8, 4, 4, 8, 8, 4, 4, 8, 8}, k_score_f16_mma},
    {"loupe_matvec_q8_0", 5, {8, 8, 8, 4, 4}, k_matvec_q8_0},
    {"loupe_matvec_q4_0", 5, {8, 8, 8, 4, 4}, k_matvec_q4_0},
    {"loupe_matvec_q4_k", 5, {8, 8, 8, 4, 4}, k_matvec_q4_k},
    {"loupe_rmsnorm", 5, {8, 8, 8, 4, 4}, k_rmsnorm},
    {"loupe_swiglu", 4, {8, 8, 8, 4}, k_swiglu},
    {"loupe_rope", 7, {8, 4, 4, 4, 4, 8, 4}, k_rope},
    {"loupe_attention_f16", 8, {8, 8, 8, 8, 4, 4, 4, 4}, k_attention_f16},
    {"loupe_attention_f16_at", 9, {8, 8, 8, 8, 4, 4, 4, 8, 4}, k_attention_f16_at},
    {"loupe_embed", 5, {8, 4, 8, 8, 4}, k_embed},
    {"loupe_add_f32", 3, {8, 8, 4}, k_add_f32},
    {"loupe_rope_at", 8, {8, 4, 4, 8, 4, 4, 8, 4}, k_rope_at},
    {"loupe_kv_store_f16", 7, {8, 8, 8, 8, 8, 4, 4}, k_kv_store_f16},
    {"loupe_matmul_q8_0", 6, {8, 8, 8, 4, 4, 4}, k_matmul_q8_0},
    {"loupe_matmul_q4_0", 6, {8, 8, 8, 4, 4, 4}, k_matmul_q4_0},
    {"loupe_matmul_q4_k", 6, {8, 8, 8, 4, 4, 4}, k_matmul_q4_k},
    {"loupe_embed_rows", 5, {8, 4, 8, 8, 4}, k_embed_rows},
    {"loupe_add_rows", 4, {8, 8, 4, 4}, k_add_rows},
    {"loupe_rope_rows", 8, {8, 4, 4, 4, 4, 4, 8, 4}, k_rope_rows},
    {"loupe_kv_store_rows", 7, {8, 8, 8, 8, 4, 4, 4}, k_kv_store_rows},
    {"loupe_attention_f16_rows", 8, {8, 8, 8, 8, 4, 4, 4, 4}, k_attention_f16_rows},
};
#define KERNEL_COUNT ((int)(sizeof KERNELS / sizeof KERNELS[0]))

/* ---- modules and launches ------------------------------------------------------------------- */

struct Function { char name[128]; int kernel; /* index into KERNELS, -1 when the fake has no reference */ };
typedef struct { Function fns[MAX_ENTRIES]; int count; } Module;

static void add_entry(Module* m, const char* name, size_t len) {
  if (m->count == MAX_ENTRIES || len == 0 || len >= sizeof m->fns[0].name) return;
  Function* f = &m->fns[m->count++];
  memcpy(f->name, name, len);
  f->name[len] = 0;
  f->kernel = -1;
  for (int i = 0; i < KERNEL_COUNT; i++) {
    if (strcmp(KERNELS[i].name, f->name) == 0) f->kernel = i;
  }
}

static CUresult load(void** module, const void* image, char* log, size_t logBytes) {
  const char* text = image;
  Module* m = calloc(1, sizeof *m);
  if (memcmp(text, "\177ELF", 4) == 0) {
    /* A cubin: the kernels the fake knows whose names it contains. */
    /* ELF64: the section headers end the file. */
    uint64_t shoff;
    uint16_t shentsize, shnum;
    memcpy(&shoff, text + 0x28, 8);
    memcpy(&shentsize, text + 0x3A, 2);
    memcpy(&shnum, text + 0x3C, 2);
    size_t size = (size_t)(shoff + (uint64_t)shentsize * shnum);
    for (int i = 0; i < KERNEL_COUNT; i++) {
      if (memmem(image, size, KERNELS[i].name, strlen(KERNELS[i].name)))
        add_entry(m, KERNELS[i].name, strlen(KERNELS[i].name));
    }
  } else {
    for (const char* p = strstr(text, ".entry "); p; p = strstr(p + 1, ".entry ")) {
      const char* name = p + 7;
      while (*name == ' ') name++;
      size_t len = strcspn(name, "( \t\r\n");
      add_entry(m, name, len);
    }
  }
  if (m->count == 0) {
    if (log && logBytes > 0) snprintf(log, logBytes, "fake ptxas: no .entry in the image");
    free(m);
    return CUDA_ERROR_INVALID_PTX;
  }
  *module = m;
  return CUDA_SUCCESS;
}

CUresult cuModuleLoadData(void** module, const void* image) {
  ENTER("cuModuleLoadData");
  NEED_CONTEXT();
  return load(module, image, NULL, 0);
}

CUresult cuModuleLoadDataEx(void** module, const void* image, unsigned count, int* options, void** values) {
  ENTER("cuModuleLoadDataEx");
  NEED_CONTEXT();
  char* log = NULL;
  size_t logBytes = 0;
  for (unsigned i = 0; i < count; i++) {
    if (options[i] == 5) log = values[i];
    if (options[i] == 6) logBytes = (size_t)(uintptr_t)values[i];
  }
  return load(module, image, log, logBytes);
}

CUresult cuModuleUnload(void* module) { NEED_CONTEXT(); free(module); return CUDA_SUCCESS; }

CUresult cuModuleGetFunction(void** function, void* module, const char* name) {
  NEED_CONTEXT();
  Module* m = module;
  for (int i = 0; i < m->count; i++) {
    if (strcmp(m->fns[i].name, name) == 0) { *function = &m->fns[i]; return CUDA_SUCCESS; }
  }
  return CUDA_ERROR_NOT_FOUND;
}

static CUresult run(Op* op) {
  if (op->kind == 1) {
    memmove(op->dst, op->src, op->bytes);
    return CUDA_SUCCESS;
  }
  __atomic_add_fetch(&launches, 1, __ATOMIC_RELAXED);
  return KERNELS[op->fn->kernel].impl(op);
}

CUresult cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void* stream, void** params, void** extra) {
  ENTER("cuLaunchKernel");
  NEED_CONTEXT();
  Function* fn = f;
  if (!fn || extra) return CUDA_ERROR_INVALID_VALUE;
  if (fn->kernel < 0) return CUDA_ERROR_NOT_SUPPORTED;
  if (gx == 0 || gy == 0 || gz == 0 || bx == 0 || by == 0 || bz == 0 || bx * by * bz > 1024) return CUDA_ERROR_INVALID_VALUE;
  if (shared > 227 * 1024) return CUDA_ERROR_LAUNCH_OUT_OF_RESOURCES;
  Op op = {0};
  op.fn = fn;
  op.grid[0] = gx; op.grid[1] = gy; op.grid[2] = gz;
  op.block[0] = bx; op.block[1] = by; op.block[2] = bz;
  op.shared = shared;
  for (int i = 0; i < KERNELS[fn->kernel].count; i++) {
    memcpy(op.params[i], params[i], (size_t)KERNELS[fn->kernel].sizes[i]);
  }
  Stream* s = stream;
  if (s && s->capturing) {
    record(s, op);
    return CUDA_SUCCESS;
  }
  return run(&op);
}
