package dev.loupe.llm.model;

import java.util.Objects;

/**
 * The shape of a {@link Session}: how many positions its KV cache holds, in which type, how many
 * tokens a prefill pass takes at once, and the memory the session may use.
 *
 * @param contextLength positions the KV cache holds (at least 1)
 * @param kvCacheType F32 or F16
 * @param batchSize tokens per prefill pass over the weights (at least 1)
 * @param memoryBudgetBytes the most the session's KV cache and scratch buffers may take;
 *     {@link Model#newSession} refuses a larger session with the numbers
 */
public record SessionOptions(int contextLength, KvCacheType kvCacheType, int batchSize, long memoryBudgetBytes) {
  /** The default prefill batch. */
  public static final int DEFAULT_BATCH = 32;
  /** The default budget: 2 GiB. */
  public static final long DEFAULT_BUDGET = 2L << 30;

  public SessionOptions {
    if (contextLength < 1) {
      throw new IllegalArgumentException("context length " + contextLength + " must be at least 1");
    }
    Objects.requireNonNull(kvCacheType, "kvCacheType");
    if (batchSize < 1) {
      throw new IllegalArgumentException("batch size " + batchSize + " must be at least 1");
    }
    if (memoryBudgetBytes < 1) {
      throw new IllegalArgumentException("memory budget " + memoryBudgetBytes + " bytes must be positive");
    }
  }

  /** {@code contextLength} positions, an F32 cache, batches of 32, a 2 GiB budget. */
  public static SessionOptions of(int contextLength) {
    return new SessionOptions(contextLength, KvCacheType.F32, DEFAULT_BATCH, DEFAULT_BUDGET);
  }

  public SessionOptions withKvCacheType(KvCacheType type) {
    return new SessionOptions(contextLength, type, batchSize, memoryBudgetBytes);
  }

  public SessionOptions withBatchSize(int batch) {
    return new SessionOptions(contextLength, kvCacheType, batch, memoryBudgetBytes);
  }

  public SessionOptions withMemoryBudget(long bytes) {
    return new SessionOptions(contextLength, kvCacheType, batchSize, bytes);
  }
}
