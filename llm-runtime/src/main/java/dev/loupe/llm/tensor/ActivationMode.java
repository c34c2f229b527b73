package dev.loupe.llm.tensor;

/**
 * How a matmul treats its input vector.
 *
 * <ul>
 *   <li>{@link #FP32}: the activations are used as given; the result is the dot product of the
 *       decoded weights with them, up to float rounding. The default.
 *   <li>{@link #GGML}: the activations are first rounded the way llama.cpp's CPU backend rounds
 *       them for that weight type (Q8_0 blocks for Q8_0/Q4_0 weights, Q8_K blocks for the
 *       K-quants, fp16 for F16, bfloat16 for BF16, nothing for F32), so logits come out close to
 *       llama.cpp's: the integer block sums are exact and only the order of the float additions
 *       differs. Attention keeps element-order sums (and rounds queries to fp16 against an fp16
 *       KV cache) as llama.cpp does.
 *   <li>{@link #Q8}: the matmul inputs are rounded as in {@link #GGML}, which lets Q8_0 and Q4_0
 *       weights use the integer kernels (exact block sums in 16-bit lanes, one float multiply-add
 *       per block: the speed path, as llama.cpp's own); attention is computed as in {@link
 *       #FP32}. Logits differ from {@link #GGML}'s only by attention's summation order.
 * </ul>
 *
 * <p>Batched and token-by-token passes give the same bits in every mode.
 */
public enum ActivationMode {
  FP32,
  GGML,
  Q8
}
