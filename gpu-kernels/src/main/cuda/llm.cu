// Decode-step kernels for the LLM runtime's CUDA backend (dev.loupe.llm.cuda), tested through the
// fake driver's C references.
//
// Layouts (fp32 activations, row-major matrices, ggml's block formats for weights):
//   Q8_0 row: cols / 32 blocks of 34 bytes: fp16 scale d, then 32 int8 q; value q * d.
//   Q4_0 row: cols / 32 blocks of 18 bytes: fp16 scale d, then 16 bytes; element j < 16 is the low
//             nibble of byte j, element j + 16 its high nibble; value (nibble - 8) * d.
//   Q4_K row: cols / 256 super-blocks of 144 bytes: fp16 d, fp16 dmin, 12 bytes of 6-bit scales and
//             mins for its eight sub-blocks of 32, then 128 bytes of nibbles; sub-block j (0..7)
//             reads byte 32 * (j / 2) + l, its low nibble when j is even, its high one when odd;
//             value d * scale[j] * nibble - dmin * min[j] (ggml's block_q4_K).
//   Rows follow each other without padding (a Q8_0 row is cols / 32 * 34 bytes), so blocks are only
//   2-byte aligned: the kernels read the scale as a half and the quants bytewise.
//   KV cache (attention): per layer, keys and values as [position][kvHeads * headDim] fp16.
//
// Matrix-vector products give each row to one warp: lane l takes blocks l, l + 32, ... (a warp
// reads 32 consecutive blocks, 1,088 bytes for Q8_0, in one pass), accumulates in fp32 and the
// warp reduces with shuffles. They are bandwidth-bound at batch 1, as decoding is.

#include <cuda_fp16.h>
#include <stdint.h>

#define LLM_BLOCK 256
#define FULL_MASK 0xffffffffu

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(FULL_MASK, v, off);
  return v;
}

// Sum over the block (every thread gets it); `scratch` holds LLM_BLOCK / 32 floats.
__device__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // scratch may still be read from a previous call
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float total = 0.0f;
#pragma unroll
  for (int w = 0; w < LLM_BLOCK / 32; w++) total += scratch[w];
  return total;
}

__device__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
#pragma unroll
  for (int off = 16; off > 0; off >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, off));
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  float m = -INFINITY;
#pragma unroll
  for (int w = 0; w < LLM_BLOCK / 32; w++) m = fmaxf(m, scratch[w]);
  return m;
}

// y[r] = sum_c W[r][c] * x[c] for Q8_0 rows. Grid ceil(rows / 8), block LLM_BLOCK; cols % 32 == 0.
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_matvec_q8_0(const uint8_t* w, const float* x, float* y, int rows, int cols) {
  const int row = blockIdx.x * (LLM_BLOCK / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= rows) return;  // warp-uniform
  const int blocks = cols / 32;
  const uint8_t* r = w + (size_t)row * blocks * 34;
  float acc = 0.0f;
  for (int b = lane; b < blocks; b += 32) {
    const uint8_t* blk = r + (size_t)b * 34;
    const float d = __half2float(*reinterpret_cast<const __half*>(blk));
    const float4* xv = reinterpret_cast<const float4*>(x + b * 32);
    float s = 0.0f;
#pragma unroll
    for (int i = 0; i < 8; i++) {
      float4 v = __ldg(xv + i);
      s = fmaf((float)(int8_t)blk[2 + 4 * i], v.x, s);
      s = fmaf((float)(int8_t)blk[3 + 4 * i], v.y, s);
      s = fmaf((float)(int8_t)blk[4 + 4 * i], v.z, s);
      s = fmaf((float)(int8_t)blk[5 + 4 * i], v.w, s);
    }
    acc = fmaf(d, s, acc);
  }
  acc = warp_sum(acc);
  if (lane == 0) y[row] = acc;
}

// As loupe_matvec_q8_0 for Q4_0 rows.
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_matvec_q4_0(const uint8_t* w, const float* x, float* y, int rows, int cols) {
  const int row = blockIdx.x * (LLM_BLOCK / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= rows) return;
  const int blocks = cols / 32;
  const uint8_t* r = w + (size_t)row * blocks * 18;
  float acc = 0.0f;
  for (int b = lane; b < blocks; b += 32) {
    const uint8_t* blk = r + (size_t)b * 18;
    const float d = __half2float(*reinterpret_cast<const __half*>(blk));
    const float* xb = x + b * 32;
    float s = 0.0f;
#pragma unroll
    for (int j = 0; j < 16; j++) {
      const int q = blk[2 + j];
      s = fmaf((float)((q & 0x0F) - 8), __ldg(xb + j), s);
      s = fmaf((float)((q >> 4) - 8), __ldg(xb + j + 16), s);
    }
    acc = fmaf(d, s, acc);
  }
  acc = warp_sum(acc);
  if (lane == 0) y[row] = acc;
}

// Sub-block j's 6-bit scale and min from a Q4_K super-block's 12 scale bytes (ggml's get_scale_min_k4).
__device__ __forceinline__ void q4_k_scale_min(int j, const uint8_t* q, int* scale, int* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = (q[j + 4] & 0x0F) | ((q[j - 4] >> 6) << 4);
    *min = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
  }
}

// Sub-block sb (of 32) of the Q4_K row r: its nibbles (byte l of qs, shifted by shift) and the factors
// of sum(nibble * x) and of sum(x): d * scale and -dmin * min.
struct Q4kSub {
  const uint8_t* qs;
  int shift;
  float scale, min;
};

__device__ __forceinline__ Q4kSub q4_k_sub(const uint8_t* r, int sb) {
  const uint8_t* blk = r + (size_t)(sb >> 3) * 144;
  const int j = sb & 7;
  const float d = __half2float(*reinterpret_cast<const __half*>(blk));
  const float dmin = __half2float(*reinterpret_cast<const __half*>(blk + 2));
  int scale, min;
  q4_k_scale_min(j, blk + 4, &scale, &min);
  return {blk + 16 + 32 * (j >> 1), (j & 1) * 4, d * (float)scale, -dmin * (float)min};
}

// As loupe_matvec_q8_0 for Q4_K rows (cols % 256 == 0): lane l takes sub-blocks of 32 l, l + 32, ...
// (a row of 2,048 has 64, so every lane works), and adds d * scale * sum(nibble * x) - dmin * min * sum(x).
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_matvec_q4_k(const uint8_t* w, const float* x, float* y, int rows, int cols) {
  const int row = blockIdx.x * (LLM_BLOCK / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= rows) return;
  const int subs = cols / 32;
  const uint8_t* r = w + (size_t)row * (cols / 256) * 144;
  float acc = 0.0f;
  for (int sb = lane; sb < subs; sb += 32) {
    const Q4kSub sub = q4_k_sub(r, sb);
    const float* xb = x + sb * 32;
    float s = 0.0f, sx = 0.0f;
#pragma unroll
    for (int l = 0; l < 32; l++) {
      const float xv = __ldg(xb + l);
      s = fmaf((float)((sub.qs[l] >> sub.shift) & 0x0F), xv, s);
      sx += xv;
    }
    acc = fmaf(sub.scale, s, acc);
    acc = fmaf(sub.min, sx, acc);
  }
  acc = warp_sum(acc);
  if (lane == 0) y[row] = acc;
}

// y = x / sqrt(mean(x^2) + eps) * weight, one row of n per block. Grid (rows), block LLM_BLOCK.
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_rmsnorm(const float* x, const float* weight, float* y, int n, float eps) {
  __shared__ float scratch[LLM_BLOCK / 32];
  const float* xr = x + (size_t)blockIdx.x * n;
  float* yr = y + (size_t)blockIdx.x * n;
  float ss = 0.0f;
  for (int i = threadIdx.x; i < n; i += LLM_BLOCK) ss = fmaf(xr[i], xr[i], ss);
  const float scale = rsqrtf(block_sum(ss, scratch) / n + eps);
  for (int i = threadIdx.x; i < n; i += LLM_BLOCK) yr[i] = xr[i] * scale * weight[i];
}

// out[i] = silu(gate[i]) * up[i], silu(g) = g / (1 + exp(-g)). Any grid (grid-stride loop).
extern "C" __global__ void loupe_swiglu(const float* gate, const float* up, float* out, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.0f + expf(-g)) * up[i];
  }
}

// Rotates the first ropeDim components of each of `heads` vectors of headDim (row-major) by the
// position `pos`: pair p (p < ropeDim / 2) turns by pos * theta^(-2p / ropeDim) / factor[p]
// (factors null: 1). neox == 0 pairs components (2p, 2p + 1) (llama); neox == 1 pairs (p, p +
// ropeDim / 2) (NeoX, Qwen). Grid (heads), block >= ropeDim / 2.
extern "C" __global__ void loupe_rope(float* x, int headDim, int ropeDim, int pos, float theta, const float* factors, int neox) {
  const int p = threadIdx.x;
  if (p >= ropeDim / 2) return;
  float* v = x + (size_t)blockIdx.x * headDim;
  float angle = (float)pos * powf(theta, -2.0f * p / ropeDim);
  if (factors != nullptr) angle /= factors[p];
  float s, c;
  sincosf(angle, &s, &c);
  const int i = neox ? p : 2 * p, j = neox ? p + ropeDim / 2 : 2 * p + 1;
  const float a = v[i], b = v[j];
  v[i] = a * c - b * s;
  v[j] = a * s + b * c;
}

// One decode step of attention for head h (grid (heads), block LLM_BLOCK, dynamic shared memory
// (positions) * 4 bytes): scores_t = q_h . k_t / sqrt(headDim) for t < positions, softmax, out_h =
// sum_t p_t v_t. q and out are [heads][headDim] fp32; head h reads kv head h / (heads / kvHeads).
__device__ void attention_f16(const float* q, const __half* keys, const __half* values, float* out, int heads, int kvHeads,
                              int headDim, int positions) {
  extern __shared__ float p[];  // positions scores, then probabilities
  __shared__ float scratch[LLM_BLOCK / 32];
  const int h = blockIdx.x, kvh = h / (heads / kvHeads);
  const float* qh = q + (size_t)h * headDim;
  const size_t stride = (size_t)kvHeads * headDim;
  const float scale = rsqrtf((float)headDim);
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int t = warp; t < positions; t += LLM_BLOCK / 32) {  // a warp per position
    const __half* k = keys + t * stride + (size_t)kvh * headDim;
    float s = 0.0f;
    for (int i = lane; i < headDim; i += 32) s = fmaf(qh[i], __half2float(k[i]), s);
    s = warp_sum(s);
    if (lane == 0) p[t] = s * scale;
  }
  __syncthreads();
  float m = -INFINITY;
  for (int t = threadIdx.x; t < positions; t += LLM_BLOCK) m = fmaxf(m, p[t]);
  m = block_max(m, scratch);
  float sum = 0.0f;
  for (int t = threadIdx.x; t < positions; t += LLM_BLOCK) {
    const float e = expf(p[t] - m);
    p[t] = e;
    sum += e;
  }
  const float inv = 1.0f / block_sum(sum, scratch);  // its barriers also publish p[]
  for (int i = threadIdx.x; i < headDim; i += LLM_BLOCK) {
    const __half* v = values + (size_t)kvh * headDim + i;
    float acc = 0.0f;
    for (int t = 0; t < positions; t++) acc = fmaf(p[t], __half2float(v[t * stride]), acc);
    out[(size_t)h * headDim + i] = acc * inv;
  }
}

extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_attention_f16(const float* q, const __half* keys, const __half* values, float* out, int heads, int kvHeads,
                    int headDim, int positions) {
  attention_f16(q, keys, values, out, heads, kvHeads, headDim, positions);
}

// ---- the CUDA backend's decode step (dev.loupe.llm.cuda): kernels that read the token and the
// position from device memory, so that one captured graph serves every token.

// As loupe_attention_f16 over the first *pos + 1 positions (the token at *pos is already stored).
// Dynamic shared memory maxPositions * 4 bytes, fixed when the graph is captured; *pos < maxPositions.
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_attention_f16_at(const float* q, const __half* keys, const __half* values, float* out, int heads, int kvHeads,
                       int headDim, const int* pos, int maxPositions) {
  const int positions = min(*pos + 1, maxPositions);
  attention_f16(q, keys, values, out, heads, kvHeads, headDim, positions);
}

// out[0..dim) = row `row` of an embedding table of ggml type `type`: 0 F32, 1 F16, 2 Q4_0, 8 Q8_0
// (dim a multiple of 32 for the quantized ones); the x blocks of the grid share the row.
__device__ void embed_row(const uint8_t* table, int type, size_t row, float* out, int dim) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < dim; i += gridDim.x * blockDim.x) {
    float v;
    if (type == 0) {
      v = reinterpret_cast<const float*>(table)[row * dim + i];
    } else if (type == 1) {
      v = __half2float(reinterpret_cast<const __half*>(table)[row * dim + i]);
    } else if (type == 8) {
      const uint8_t* blk = table + (row * (dim / 32) + i / 32) * 34;
      v = __half2float(*reinterpret_cast<const __half*>(blk)) * (float)(int8_t)blk[2 + i % 32];
    } else {
      const uint8_t* blk = table + (row * (dim / 32) + i / 32) * 18;
      const int j = i % 32, q = blk[2 + (j & 15)];
      v = __half2float(*reinterpret_cast<const __half*>(blk)) * (float)((j < 16 ? (q & 0x0F) : (q >> 4)) - 8);
    }
    out[i] = v;
  }
}

// out[0..dim) = row *token of the table (see embed_row). Any grid (grid-stride loop).
extern "C" __global__ void loupe_embed(const uint8_t* table, int type, const int* token, float* out, int dim) {
  embed_row(table, type, (size_t)*token, out, dim);
}

// y[i] += x[i] for i < n (residuals, biases). Any grid (grid-stride loop).
extern "C" __global__ void loupe_add_f32(float* y, const float* x, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) y[i] += x[i];
}

// Rotates v[0..ropeDim) for position pos with the angle of pair p computed as the CPU backend does:
// theta = pos, multiplied p times by thetaScale (= base^(-2 / ropeDim)), angle = freqScale * theta /
// factors[p]. Thread p takes pair p.
__device__ void rope_one(float* v, int ropeDim, int pos, float thetaScale, float freqScale, const float* factors, int neox) {
  const int p = threadIdx.x;
  if (p >= ropeDim / 2) return;
  float theta = (float)pos;
  for (int i = 0; i < p; i++) theta *= thetaScale;
  const float angle = freqScale * (factors != nullptr ? theta / factors[p] : theta);
  float s, c;
  sincosf(angle, &s, &c);
  const int i = neox ? p : 2 * p, j = neox ? p + ropeDim / 2 : 2 * p + 1;
  const float a = v[i], b = v[j];
  v[i] = a * c - b * s;
  v[j] = a * s + b * c;
}

// As loupe_rope at position *pos, the angles as rope_one computes them. Grid (heads), block >= ropeDim / 2.
extern "C" __global__ void loupe_rope_at(float* x, int headDim, int ropeDim, const int* pos, float thetaScale, float freqScale,
                                         const float* factors, int neox) {
  rope_one(x + (size_t)blockIdx.x * headDim, ropeDim, *pos, thetaScale, freqScale, factors, neox);
}

// keys[*pos][..kDim) = fp16(k), values[*pos][..vDim) = fp16(v) (one layer's cache). Any grid.
extern "C" __global__ void loupe_kv_store_f16(const float* k, const float* v, __half* keys, __half* values, const int* pos,
                                              int kDim, int vDim) {
  const size_t p = (size_t)*pos;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < max(kDim, vDim); i += gridDim.x * blockDim.x) {
    if (i < kDim) keys[p * kDim + i] = __float2half_rn(k[i]);
    if (i < vDim) values[p * vDim + i] = __float2half_rn(v[i]);
  }
}

// ---- batched prefill (dev.loupe.llm.cuda appends several tokens at once): the decode step's
// arithmetic over n tokens, activations [n][width] row-major. Every (row, token) pair is summed in
// the order of the decode kernels above, so a batch gives the logits of n single steps bit for bit.

#define TILE_T 8

// Y[t][r] = sum_c W[r][c] * X[t][c] for Q8_0 (Q4 == 0) or Q4_0 (Q4 == 1) rows. Grid (ceil(rows / 8),
// ceil(n / TILE_T)), block LLM_BLOCK: a warp per row as in the matrix-vector kernels, and each lane
// unpacks a weight block into registers once for the block's TILE_T tokens, so the weights are read
// once per TILE_T tokens instead of once per token (x rows come from L1/L2, shared by the block's
// eight warps).
template <int Q4>
__device__ void matmul_q(const uint8_t* w, const float* x, float* y, int rows, int cols, int n) {
  const int row = blockIdx.x * (LLM_BLOCK / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= rows) return;  // warp-uniform
  const int t0 = blockIdx.y * TILE_T, tn = min(TILE_T, n - t0);
  const int blocks = cols / 32, bytes = Q4 ? 18 : 34;
  const uint8_t* r = w + (size_t)row * blocks * bytes;
  float acc[TILE_T];
#pragma unroll
  for (int t = 0; t < TILE_T; t++) acc[t] = 0.0f;
  for (int b = lane; b < blocks; b += 32) {
    const uint8_t* blk = r + (size_t)b * bytes;
    const float d = __half2float(*reinterpret_cast<const __half*>(blk));
    float q[32];  // in the decode kernels' element order
    if (Q4) {
#pragma unroll
      for (int j = 0; j < 16; j++) {
        const int v = blk[2 + j];
        q[2 * j] = (float)((v & 0x0F) - 8);
        q[2 * j + 1] = (float)((v >> 4) - 8);
      }
    } else {
#pragma unroll
      for (int i = 0; i < 32; i++) q[i] = (float)(int8_t)blk[2 + i];
    }
#pragma unroll
    for (int t = 0; t < TILE_T; t++) {
      if (t < tn) {
        const float* xb = x + (size_t)(t0 + t) * cols + b * 32;
        float s = 0.0f;
        if (Q4) {
#pragma unroll
          for (int j = 0; j < 16; j++) {
            s = fmaf(q[2 * j], __ldg(xb + j), s);
            s = fmaf(q[2 * j + 1], __ldg(xb + j + 16), s);
          }
        } else {
          const float4* xv = reinterpret_cast<const float4*>(xb);
#pragma unroll
          for (int i = 0; i < 8; i++) {
            const float4 v = __ldg(xv + i);
            s = fmaf(q[4 * i], v.x, s);
            s = fmaf(q[4 * i + 1], v.y, s);
            s = fmaf(q[4 * i + 2], v.z, s);
            s = fmaf(q[4 * i + 3], v.w, s);
          }
        }
        acc[t] = fmaf(d, s, acc[t]);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < TILE_T; t++) {
    if (t < tn) {
      const float v = warp_sum(acc[t]);
      if (lane == 0) y[(size_t)(t0 + t) * rows + row] = v;
    }
  }
}

extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_matmul_q8_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int n) {
  matmul_q<0>(w, x, y, rows, cols, n);
}

extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_matmul_q4_0(const uint8_t* w, const float* x, float* y, int rows, int cols, int n) {
  matmul_q<1>(w, x, y, rows, cols, n);
}

// As loupe_matmul_q8_0 for Q4_K rows (cols % 256 == 0), each sub-block's sums as loupe_matvec_q4_k's.
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_matmul_q4_k(const uint8_t* w, const float* x, float* y, int rows, int cols, int n) {
  const int row = blockIdx.x * (LLM_BLOCK / 32) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
  if (row >= rows) return;
  const int t0 = blockIdx.y * TILE_T, tn = min(TILE_T, n - t0);
  const int subs = cols / 32;
  const uint8_t* r = w + (size_t)row * (cols / 256) * 144;
  float acc[TILE_T];
#pragma unroll
  for (int t = 0; t < TILE_T; t++) acc[t] = 0.0f;
  for (int sb = lane; sb < subs; sb += 32) {
    const Q4kSub sub = q4_k_sub(r, sb);
    float q[32];
#pragma unroll
    for (int l = 0; l < 32; l++) q[l] = (float)((sub.qs[l] >> sub.shift) & 0x0F);
#pragma unroll
    for (int t = 0; t < TILE_T; t++) {
      if (t < tn) {
        const float* xb = x + (size_t)(t0 + t) * cols + sb * 32;
        float s = 0.0f, sx = 0.0f;
#pragma unroll
        for (int l = 0; l < 32; l++) {
          const float xv = __ldg(xb + l);
          s = fmaf(q[l], xv, s);
          sx += xv;
        }
        acc[t] = fmaf(sub.scale, s, acc[t]);
        acc[t] = fmaf(sub.min, sx, acc[t]);
      }
    }
  }
#pragma unroll
  for (int t = 0; t < TILE_T; t++) {
    if (t < tn) {
      const float v = warp_sum(acc[t]);
      if (lane == 0) y[(size_t)(t0 + t) * rows + row] = v;
    }
  }
}

// out[t][0..dim) = table[tokens[t]] (see embed_row). Grid (any, n).
extern "C" __global__ void loupe_embed_rows(const uint8_t* table, int type, const int* tokens, float* out, int dim) {
  embed_row(table, type, (size_t)tokens[blockIdx.y], out + (size_t)blockIdx.y * dim, dim);
}

// y[t][i] += b[i] for t < n, i < dim (biases over a batch). Any grid (grid-stride loop).
extern "C" __global__ void loupe_add_rows(float* y, const float* b, int dim, int n) {
  const size_t total = (size_t)dim * n;
  for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < total; i += (size_t)gridDim.x * blockDim.x) y[i] += b[i % dim];
}

// As loupe_rope_at for token t = blockIdx.y of a batch at position pos0 + t; x is [n][heads][headDim].
// Grid (heads, n), block >= ropeDim / 2.
extern "C" __global__ void loupe_rope_rows(float* x, int headDim, int ropeDim, int pos0, float thetaScale, float freqScale,
                                           const float* factors, int neox) {
  rope_one(x + ((size_t)blockIdx.y * gridDim.x + blockIdx.x) * headDim, ropeDim, pos0 + blockIdx.y, thetaScale, freqScale,
           factors, neox);
}

// keys[pos0 + t] = fp16(k[t]), values[pos0 + t] = fp16(v[t]) for t = blockIdx.y (one layer's cache). Grid (any, n).
extern "C" __global__ void loupe_kv_store_rows(const float* k, const float* v, __half* keys, __half* values, int pos0, int kDim,
                                               int vDim) {
  const size_t t = blockIdx.y, p = (size_t)pos0 + t;
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < max(kDim, vDim); i += gridDim.x * blockDim.x) {
    if (i < kDim) keys[p * kDim + i] = __float2half_rn(k[t * kDim + i]);
    if (i < vDim) values[p * vDim + i] = __float2half_rn(v[t * vDim + i]);
  }
}

// Causal attention of a batch: token t = blockIdx.y (at position pos0 + t, its keys and values
// already stored) attends to the first pos0 + t + 1 positions, as loupe_attention_f16_at does for
// one token. q and out are [n][heads][headDim]. Grid (heads, n), block LLM_BLOCK, dynamic shared
// memory (pos0 + n) * 4 bytes.
extern "C" __global__ void __launch_bounds__(LLM_BLOCK)
loupe_attention_f16_rows(const float* q, const __half* keys, const __half* values, float* out, int heads, int kvHeads,
                         int headDim, int pos0) {
  const size_t offset = (size_t)blockIdx.y * heads * headDim;
  attention_f16(q + offset, keys, values, out + offset, heads, kvHeads, headDim, pos0 + blockIdx.y + 1);
}
