// Small utility kernels: device-side fills, and the launch-plumbing probe the tests and
// `loupe bench gpu` use to check that parameters of every kind reach a kernel.

#include <stdint.h>

// dst[i] = value for i < n (fp32, contiguous). Grid-stride loop: any grid covers any n.
extern "C" __global__ void loupe_fill_f32(float* dst, float value, int n) {
  for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x) {
    dst[i] = value;
  }
}

// y[i] = a * x[i] + y[i] for i < n (fp32, contiguous); exercises pointer, float and 64-bit
// integer parameters in one launch.
extern "C" __global__ void loupe_axpy_f32(long long n, float a, const float* x, float* y) {
  for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
    y[i] = fmaf(a, x[i], y[i]);
  }
}
