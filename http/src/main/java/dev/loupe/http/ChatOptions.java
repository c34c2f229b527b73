package dev.loupe.http;

import dev.loupe.llm.tensor.ActivationMode;
import java.util.Locale;

/**
 * How {@code loupe serve} runs chat: the positions of each chat's KV cache ({@code --llm-context}),
 * the memory all chats' caches may take together ({@code --chat-memory}) and the model's
 * activation mode ({@code --llm-activations}).
 *
 * @param contextLength positions per chat, in [16, 1048576]; 0 for the model's trained context
 *     capped at {@link Main#CHAT_CONTEXT}
 * @param memoryBudgetBytes bytes for all chats' KV caches, at least 1 MiB; 0 for {@link #DEFAULT_MEMORY}
 * @param activations Q8 (rounded as llama.cpp does: the integer kernels; the default) or FP32 (exact
 *     matmul inputs)
 */
record ChatOptions(int contextLength, long memoryBudgetBytes, ActivationMode activations) {
  /** The chat memory budget when none is given: 1 GiB of KV caches. */
  static final long DEFAULT_MEMORY = 1L << 30;
  /** The defaults: the model's context (capped), 1 GiB and q8 activations. */
  static final ChatOptions DEFAULTS = new ChatOptions(0, 0);

  /** With the default q8 activations. */
  ChatOptions(int contextLength, long memoryBudgetBytes) {
    this(contextLength, memoryBudgetBytes, ActivationMode.Q8);
  }

  ChatOptions {
    java.util.Objects.requireNonNull(activations, "activations");
    if (contextLength != 0 && (contextLength < 16 || contextLength > 1 << 20)) {
      throw new IllegalArgumentException("--llm-context " + contextLength + " is outside [16, 1048576] positions");
    }
    if (memoryBudgetBytes != 0 && memoryBudgetBytes < 1L << 20) {
      throw new IllegalArgumentException("--chat-memory of " + memoryBudgetBytes + " bytes is below 1 MiB; give for example 512m or 2g");
    }
  }

  /** The positions of each chat for a model trained for {@code trained} positions. */
  int contextFor(int trained, String model) {
    if (contextLength == 0) return Math.min(trained, Main.CHAT_CONTEXT);
    if (contextLength > trained) {
      throw new IllegalArgumentException("--llm-context " + contextLength + " is more than the " + trained
          + " positions " + model + " was trained for; give at most " + trained);
    }
    return contextLength;
  }

  long memory() {
    return memoryBudgetBytes == 0 ? DEFAULT_MEMORY : memoryBudgetBytes;
  }

  /** {@code --llm-context N}: a whole number of positions. */
  static int parseContext(String value) {
    try {
      return Integer.parseInt(value.strip());
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--llm-context '" + value + "' is not a whole number of positions, for example 4096");
    }
  }

  /** {@code --chat-memory SIZE}: bytes, or a whole number with k, m or g (powers of 1024). */
  static long parseSize(String value) {
    String v = value.strip().toLowerCase(Locale.ROOT);
    long unit = 1;
    if (!v.isEmpty()) {
      switch (v.charAt(v.length() - 1)) {
        case 'k' -> unit = 1L << 10;
        case 'm' -> unit = 1L << 20;
        case 'g' -> unit = 1L << 30;
        default -> {}
      }
    }
    String digits = unit == 1 ? v : v.substring(0, v.length() - 1);
    try {
      long n = Long.parseLong(digits);
      if (n < 0 || n > Long.MAX_VALUE / unit) throw new NumberFormatException();
      return n * unit;
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--chat-memory '" + value + "' is not a size: give bytes or a number with k, m or g,"
          + " for example 512m or 2g");
    }
  }
}
