package dev.loupe.embeddings.text;

/**
 * Token ids of a batch of texts, padded to one length: row-major {@code [rows, length]} matrices
 * ready to become {@code int64} tensors.
 *
 * <p>The arrays are not copied; the batch owns them and nobody modifies them after construction.
 *
 * @param rows number of texts
 * @param length tokens per row, padding included
 * @param inputIds token ids, the padding id after each text's tokens
 * @param attentionMask 1 for a text's tokens, 0 for padding
 * @param tokenTypeIds segment ids (0 for a single text), 0 for padding
 * @param tokenCounts tokens per row before padding (after truncation), special tokens included
 */
public record TokenBatch(int rows, int length, long[] inputIds, long[] attentionMask, long[] tokenTypeIds, int[] tokenCounts) {
  public TokenBatch {
    if (rows < 1 || length < 1) {
      throw new IllegalArgumentException("token batch of " + rows + " rows x " + length + " tokens is empty");
    }
    long cells = (long) rows * length;
    if (inputIds.length != cells || attentionMask.length != cells || tokenTypeIds.length != cells) {
      throw new IllegalArgumentException("token batch of " + rows + " x " + length + " needs " + cells
          + " ids, mask and type values, got " + inputIds.length + ", " + attentionMask.length + ", " + tokenTypeIds.length);
    }
    if (tokenCounts.length != rows) {
      throw new IllegalArgumentException("token batch of " + rows + " rows has " + tokenCounts.length + " token counts");
    }
  }

  /** The ids of row {@code row} without its padding. */
  public long[] ids(int row) {
    return java.util.Arrays.copyOfRange(inputIds, row * length, row * length + tokenCounts[row]);
  }
}
