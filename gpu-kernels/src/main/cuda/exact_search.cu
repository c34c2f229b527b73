// Exact k-nearest-neighbour search over row-major fp16 or int8 vectors, for a batch of queries.
//
// Two kernels, launched one after the other on one stream:
//   loupe_score_f16 / loupe_score_i8  score a chunk of rows per block against up to MAX_QB queries
//                                     and keep that block's best k per query in shared memory;
//   loupe_merge_topk                  merges the per-block lists of each query into its final k.
//
// Data layout (the Java side, dev.loupe.gpu.ExactSearchKernels, builds exactly this):
//   rows      n x dim, row-major; fp16 (IEEE half, 2 bytes) or int8 (1 byte, value = scale[r] * b).
//             The base pointer is 256-byte aligned (cuMemAlloc); when dim % 8 == 0 every row starts
//             on a 16-byte (fp16) / 8-byte (int8) boundary and the kernel loads 8 components per
//             lane per step (uint4 / uint2), otherwise one component per lane.
//   scales    n fp32 (int8 only; ignored for fp16 and may be null).
//   norms2    n fp32: squared L2 norm of each decoded row (read for L2 only).
//   queries   nq x dim fp32, row-major; already L2-normalized for cosine.
//   qnorms2   nq fp32: squared norm of each query (read for L2 only).
//   filter    optional (null = every row) bitmap, 1 bit per row, bit (r & 31) of 32-bit word r >> 5;
//             1 = the row may be returned.
//   tombstones optional (null = none) bitmap in the same layout; 1 = the row is deleted.
//   out       per (query, block) list of k (score, row) pairs, best first, padded with
//             (-inf, -1): index ((q * gridDim.x) + blockIdx.x) * k + i.
//
// Scores follow dev.loupe.vectorstore.Similarity: metric 0 (dot) and 1 (cosine) score the dot
// product, metric 2 (Euclidean) scores 1 / (1 + max(0, |q|^2 + |v|^2 - 2 q.v)). Higher is better;
// among equal scores the lower row wins (the CPU flat index's TopK does the same).
//
// Arithmetic: components are loaded as half2 / char4 pairs, widened to fp32 and accumulated in
// fp32 with FMA; each warp scores one row at a time (coalesced: 32 lanes read 32 consecutive
// 16-byte words of fp16) and reduces with shuffles. The queries of the block sit in shared memory
// (MAX_QB x dim fp32, dynamic), so one pass over a row serves up to MAX_QB queries.

#include <cuda_fp16.h>
#include <mma.h>
#include <stdint.h>

#define BLOCK 256            // threads per block (8 warps)
#define WARPS (BLOCK / 32)
#define TILE 256             // rows scored between two top-k updates
#define MAX_K 256            // largest k the kernels keep per block
#define CAND (MAX_K + TILE)  // candidate slots per query: the current k plus one tile; a power of two
#define MAX_QB 4             // queries scored per pass over the rows

#define METRIC_DOT 0
#define METRIC_COSINE 1
#define METRIC_L2 2

// True if (s1, r1) ranks before (s2, r2): higher score, then lower row; row -1 (empty) is last.
__device__ __forceinline__ bool better(float s1, int r1, float s2, int r2) {
  return s1 > s2 || (s1 == s2 && (unsigned)r1 < (unsigned)r2);
}

// Sorts s/r[0, CAND) best first; every thread of the block calls it.
__device__ void bitonic_sort(float* s, int* r) {
  for (int size = 2; size <= CAND; size <<= 1) {
    for (int stride = size >> 1; stride > 0; stride >>= 1) {
      for (int t = threadIdx.x; t < CAND / 2; t += BLOCK) {
        int i = 2 * t - (t & (stride - 1));
        int j = i + stride;
        bool first = (i & size) == 0;
        bool swap = first ? better(s[j], r[j], s[i], r[i]) : better(s[i], r[i], s[j], r[j]);
        if (swap) {
          float ts = s[i]; s[i] = s[j]; s[j] = ts;
          int tr = r[i]; r[i] = r[j]; r[j] = tr;
        }
      }
      __syncthreads();
    }
  }
}

// The running best k of one query: slots [0, k) hold it, [k, k + count) this tile's entrants.
struct TopK {
  float s[CAND];
  int r[CAND];
  int count;
  float threshold;
};

__device__ void topk_init(TopK* t) {
  for (int i = threadIdx.x; i < CAND; i += BLOCK) {
    t->s[i] = -INFINITY;
    t->r[i] = -1;
  }
  if (threadIdx.x == 0) {
    t->count = 0;
    t->threshold = -INFINITY;
  }
}

// Called by one thread per entrant: keeps it if it can still enter the best k.
__device__ __forceinline__ void topk_offer(TopK* t, int k, float score, int row) {
  if (score >= t->threshold) {
    int at = atomicAdd(&t->count, 1);
    t->s[k + at] = score;
    t->r[k + at] = row;
  }
}

// After a tile (all threads, after __syncthreads): folds the entrants into the best k.
__device__ void topk_fold(TopK* t, int k) {
  if (t->count == 0) {
    return;  // block-uniform: count is shared and stable here
  }
  bitonic_sort(t->s, t->r);
  for (int i = k + threadIdx.x; i < CAND; i += BLOCK) {
    t->s[i] = -INFINITY;
    t->r[i] = -1;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    t->count = 0;
    t->threshold = t->r[k - 1] < 0 ? -INFINITY : t->s[k - 1];
  }
  __syncthreads();
}

__device__ __forceinline__ bool allowed(const unsigned* filter, const unsigned* tombstones, int row) {
  unsigned bit = 1u << (row & 31);
  if (filter != nullptr && (__ldg(filter + (row >> 5)) & bit) == 0) return false;
  if (tombstones != nullptr && (__ldg(tombstones + (row >> 5)) & bit) != 0) return false;
  return true;
}

__device__ __forceinline__ float score_of(int metric, float dot, float qn2, float vn2) {
  if (metric == METRIC_L2) {
    return 1.0f / (1.0f + fmaxf(0.0f, __fsub_rn(__fadd_rn(qn2, vn2), __fmul_rn(2.0f, dot))));
  }
  return dot;
}

// Widening loads: 8 consecutive components of a row as fp32.
__device__ __forceinline__ void load8(const __half* row, int col, float* x) {
  uint4 w = __ldg(reinterpret_cast<const uint4*>(row + col));
  const __half2* h = reinterpret_cast<const __half2*>(&w);
#pragma unroll
  for (int i = 0; i < 4; i++) {
    float2 f = __half22float2(h[i]);
    x[2 * i] = f.x;
    x[2 * i + 1] = f.y;
  }
}

__device__ __forceinline__ void load8(const int8_t* row, int col, float* x) {
  uint2 w = __ldg(reinterpret_cast<const uint2*>(row + col));
  const char4* c = reinterpret_cast<const char4*>(&w);
#pragma unroll
  for (int i = 0; i < 2; i++) {
    x[4 * i] = c[i].x;
    x[4 * i + 1] = c[i].y;
    x[4 * i + 2] = c[i].z;
    x[4 * i + 3] = c[i].w;
  }
}

__device__ __forceinline__ float load1(const __half* row, int col) { return __half2float(row[col]); }
__device__ __forceinline__ float load1(const int8_t* row, int col) { return (float)row[col]; }

template <typename T>
__device__ void score_rows(const T* __restrict__ rows, const float* __restrict__ scales,
                           const float* __restrict__ norms2, int n, int dim,
                           const float* __restrict__ queries, const float* __restrict__ qnorms2, int nq,
                           int metric, const unsigned* __restrict__ filter,
                           const unsigned* __restrict__ tombstones, int k, int rowsPerBlock,
                           float* __restrict__ outScores, int* __restrict__ outRows) {
  extern __shared__ float sq[];  // qb x dim fp32 queries
  __shared__ TopK tops[MAX_QB];
  __shared__ float sqn2[MAX_QB];

  const int q0 = blockIdx.y * MAX_QB;
  const int qb = min(MAX_QB, nq - q0);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int i = threadIdx.x; i < qb * dim; i += BLOCK) {
    sq[i] = queries[(size_t)q0 * dim + i];
  }
  if (threadIdx.x < qb) sqn2[threadIdx.x] = qnorms2[q0 + threadIdx.x];
  for (int q = 0; q < qb; q++) topk_init(&tops[q]);
  __syncthreads();

  const int begin = blockIdx.x * rowsPerBlock;
  const int end = min(n, begin + rowsPerBlock);
  const bool wide = (dim & 7) == 0;
  for (int tile = begin; tile < end; tile += TILE) {
    const int tileEnd = min(end, tile + TILE);
    for (int row = tile + warp; row < tileEnd; row += WARPS) {
      if (!allowed(filter, tombstones, row)) continue;  // warp-uniform
      const T* v = rows + (size_t)row * dim;
      float acc[MAX_QB];
#pragma unroll
      for (int q = 0; q < MAX_QB; q++) acc[q] = 0.0f;
      if (wide) {
        for (int col = 8 * lane; col < dim; col += 256) {
          float x[8];
          load8(v, col, x);
#pragma unroll
          for (int q = 0; q < MAX_QB; q++) {
            if (q < qb) {
              const float4* qv = reinterpret_cast<const float4*>(sq + q * dim + col);
              float4 a = qv[0], b = qv[1];
              float s = acc[q];
              s = fmaf(a.x, x[0], s); s = fmaf(a.y, x[1], s); s = fmaf(a.z, x[2], s); s = fmaf(a.w, x[3], s);
              s = fmaf(b.x, x[4], s); s = fmaf(b.y, x[5], s); s = fmaf(b.z, x[6], s); s = fmaf(b.w, x[7], s);
              acc[q] = s;
            }
          }
        }
      } else {
        for (int col = lane; col < dim; col += 32) {
          float x = load1(v, col);
#pragma unroll
          for (int q = 0; q < MAX_QB; q++) {
            if (q < qb) acc[q] = fmaf(sq[q * dim + col], x, acc[q]);
          }
        }
      }
#pragma unroll
      for (int q = 0; q < MAX_QB; q++) {
        float s = acc[q];
#pragma unroll
        for (int off = 16; off > 0; off >>= 1) s += __shfl_xor_sync(0xffffffffu, s, off);
        acc[q] = s;
      }
      if (lane == 0) {
        float scale = scales == nullptr ? 1.0f : scales[row];
        float vn2 = norms2[row];
        for (int q = 0; q < qb; q++) {
          topk_offer(&tops[q], k, score_of(metric, acc[q] * scale, sqn2[q], vn2), row);
        }
      }
    }
    __syncthreads();
    for (int q = 0; q < qb; q++) topk_fold(&tops[q], k);
  }

  for (int q = 0; q < qb; q++) {
    size_t at = ((size_t)(q0 + q) * gridDim.x + blockIdx.x) * k;
    for (int i = threadIdx.x; i < k; i += BLOCK) {
      outScores[at + i] = tops[q].s[i];
      outRows[at + i] = tops[q].r[i];
    }
  }
}

// Grid (ceil(n / rowsPerBlock), ceil(nq / MAX_QB)), block BLOCK, dynamic shared memory
// min(MAX_QB, nq) * dim * 4 bytes. rowsPerBlock > 0, 1 <= k <= MAX_K.
extern "C" __global__ void __launch_bounds__(BLOCK)
loupe_score_f16(const __half* rows, const float* scales, const float* norms2, int n, int dim,
                const float* queries, const float* qnorms2, int nq, int metric,
                const unsigned* filter, const unsigned* tombstones, int k, int rowsPerBlock,
                float* outScores, int* outRows) {
  score_rows<__half>(rows, nullptr, norms2, n, dim, queries, qnorms2, nq, metric, filter, tombstones, k,
                     rowsPerBlock, outScores, outRows);
}

// As loupe_score_f16 over int8 rows, each row's dot product multiplied by scales[row].
extern "C" __global__ void __launch_bounds__(BLOCK)
loupe_score_i8(const int8_t* rows, const float* scales, const float* norms2, int n, int dim,
               const float* queries, const float* qnorms2, int nq, int metric,
               const unsigned* filter, const unsigned* tombstones, int k, int rowsPerBlock,
               float* outScores, int* outRows) {
  score_rows<int8_t>(rows, scales, norms2, n, dim, queries, qnorms2, nq, metric, filter, tombstones, k,
                     rowsPerBlock, outScores, outRows);
}

// ---- Tensor-core variant for batches -----------------------------------------------------------
//
// loupe_score_f16_mma scores MMA_QT queries against MMA_RT rows at a time as one fp16 matrix
// product on the tensor cores (wmma 16x16x16 tiles, fp32 accumulation) and keeps each query's best
// k in registers: one entry per lane of the warp that owns the query, sorted across the lanes. Same
// outputs and scoring as loupe_score_f16, with two differences the caller opts into: the queries are
// fp16 (so scores differ from the fp32-query kernel by the queries' rounding), and k <= MMA_K.
//
// Layout on top of the file's: queries are fp16, ceil(nq / MMA_QT) * MMA_QT rows (the padding rows
// are read, not used; zero them); the rows buffer holds ceil(n / MMA_RT) * MMA_RT rows (the tail is
// read, not used); dim % 16 == 0; rowsPerBlock % MMA_RT == 0.

#define MMA_QT 64              // queries per block
#define MMA_RT 128             // rows per tile
#define MMA_K 32               // largest k: one entry per lane
#define MMA_LD (MMA_RT + 4)    // shared score tile row stride (floats), padded against bank conflicts
#define FULL 0xffffffffu

using namespace nvcuda;

// Grid (rowBlocks, ceil(nq / MMA_QT)), block BLOCK (8 warps), dynamic shared memory
// MMA_QT * MMA_LD * 4 bytes.
extern "C" __global__ void __launch_bounds__(BLOCK)
loupe_score_f16_mma(const __half* rows, const float* norms2, int n, int dim,
                    const __half* queries, const float* qnorms2, int nq, int metric,
                    const unsigned* filter, const unsigned* tombstones, int k, int rowsPerBlock,
                    float* outScores, int* outRows) {
  extern __shared__ float tile[];  // MMA_QT x MMA_LD scores of the current row tile
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int q0 = blockIdx.y * MMA_QT;
  const int wq = (warp >> 2) * 32, wr = (warp & 3) * 32;  // this warp's 32 x 32 corner of the tile
  float topS[8];
  int topR[8];
#pragma unroll
  for (int i = 0; i < 8; i++) {
    topS[i] = -INFINITY;
    topR[i] = -1;
  }
  const int begin = blockIdx.x * rowsPerBlock, end = min(n, begin + rowsPerBlock);
  for (int r0 = begin; r0 < end; r0 += MMA_RT) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc[2][2];
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
      for (int j = 0; j < 2; j++) wmma::fill_fragment(acc[i][j], 0.0f);
    for (int kk = 0; kk < dim; kk += 16) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a[2];
      wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::col_major> b[2];
#pragma unroll
      for (int i = 0; i < 2; i++) wmma::load_matrix_sync(a[i], queries + (size_t)(q0 + wq + 16 * i) * dim + kk, dim);
#pragma unroll
      for (int j = 0; j < 2; j++) wmma::load_matrix_sync(b[j], rows + (size_t)(r0 + wr + 16 * j) * dim + kk, dim);
#pragma unroll
      for (int i = 0; i < 2; i++)
#pragma unroll
        for (int j = 0; j < 2; j++) wmma::mma_sync(acc[i][j], a[i], b[j], acc[i][j]);
    }
#pragma unroll
    for (int i = 0; i < 2; i++)
#pragma unroll
      for (int j = 0; j < 2; j++)
        wmma::store_matrix_sync(tile + (wq + 16 * i) * MMA_LD + wr + 16 * j, acc[i][j], MMA_LD, wmma::mem_row_major);
    __syncthreads();
    // Warp w folds the scores of the tile's queries 8w .. 8w + 7 into their lists.
#pragma unroll
    for (int qi = 0; qi < 8; qi++) {
      const int ql = warp * 8 + qi, q = q0 + ql;
      if (q < nq) {  // warp-uniform
        const float qn2 = qnorms2[q];
        float thr = __shfl_sync(FULL, topS[qi], k - 1);
        int thrRow = __shfl_sync(FULL, topR[qi], k - 1);
        for (int t = 0; t < MMA_RT / 32; t++) {
          const int row = r0 + t * 32 + lane;
          const bool ok = row < end && allowed(filter, tombstones, row);
          const float score = ok ? score_of(metric, tile[ql * MMA_LD + t * 32 + lane], qn2, norms2[row]) : -INFINITY;
          unsigned want = __ballot_sync(FULL, ok && better(score, row, thr, thrRow));
          while (want != 0) {
            const int src = __ffs(want) - 1;
            const float cs = __shfl_sync(FULL, score, src);
            const int cr = __shfl_sync(FULL, row, src);
            // Lanes ranked before the entrant keep their entry; the rest shift down one lane.
            const int pos = __popc(__ballot_sync(FULL, better(topS[qi], topR[qi], cs, cr)));
            const float upS = __shfl_up_sync(FULL, topS[qi], 1);
            const int upR = __shfl_up_sync(FULL, topR[qi], 1);
            if (lane == pos) {
              topS[qi] = cs;
              topR[qi] = cr;
            } else if (lane > pos) {
              topS[qi] = upS;
              topR[qi] = upR;
            }
            thr = __shfl_sync(FULL, topS[qi], k - 1);
            thrRow = __shfl_sync(FULL, topR[qi], k - 1);
            want &= ~(1u << src);
            want &= __ballot_sync(FULL, ok && better(score, row, thr, thrRow));
          }
        }
      }
    }
    __syncthreads();  // the next tile overwrites the scores
  }
#pragma unroll
  for (int qi = 0; qi < 8; qi++) {
    const int q = q0 + warp * 8 + qi;
    if (q < nq && lane < k) {
      size_t at = ((size_t)q * gridDim.x + blockIdx.x) * k + lane;
      outScores[at] = topS[qi];
      outRows[at] = topR[qi];
    }
  }
}

// Merges, per query, `lists` best-first lists of k (score, row) pairs (the score kernels' output,
// index (q * lists + l) * k + i) into one best-first list of k, written at q * k + i, padded with
// (-inf, -1). Grid (nq), block BLOCK, no dynamic shared memory.
extern "C" __global__ void __launch_bounds__(BLOCK)
loupe_merge_topk(const float* candScores, const int* candRows, int lists, int k, int nq,
                 float* outScores, int* outRows) {
  __shared__ TopK top;
  const int q = blockIdx.x;
  topk_init(&top);
  __syncthreads();
  const size_t base = (size_t)q * lists * k;
  const int total = lists * k;
  for (int tile = 0; tile < total; tile += TILE) {
    int i = tile + threadIdx.x;
    if (i < total) {
      int r = candRows[base + i];
      if (r >= 0) topk_offer(&top, k, candScores[base + i], r);
    }
    __syncthreads();
    topk_fold(&top, k);
  }
  for (int i = threadIdx.x; i < k; i += BLOCK) {
    outScores[(size_t)q * k + i] = top.s[i];
    outRows[(size_t)q * k + i] = top.r[i];
  }
}
