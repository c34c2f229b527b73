package dev.loupe.llm.model;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufWriter;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Random;

/**
 * The model tests' names for {@link dev.loupe.llm.bench.RandomModels}, which writes the seeded
 * random-weight GGUF models (shapes, tensor types, vocabulary): the small shape the oracle and
 * session tests use, and random prompts.
 */
final class RandomModels {
  private RandomModels() {}

  /**
   * A model shape; see {@link dev.loupe.llm.bench.RandomModels.Shape}.
   *
   * @param headDim 0 for embedding/heads (no key_length metadata)
   */
  record Shape(ModelConfig.Architecture arch, int dim, int ff, int layers, int heads, int kvHeads, int headDim, int vocab,
      GgmlType type, boolean tied, long seed) {
    int headSize() {
      return headDim == 0 ? dim / heads : headDim;
    }

    Shape with(GgmlType t) {
      return new Shape(arch, dim, ff, layers, heads, kvHeads, headDim, vocab, t, tied, seed);
    }

    dev.loupe.llm.bench.RandomModels.Shape toWritten() {
      return new dev.loupe.llm.bench.RandomModels.Shape(arch, dim, ff, layers, heads, kvHeads, headDim, vocab, type, tied, seed);
    }

    @Override
    public String toString() {
      return arch.ggufName() + " " + type + (tied ? " tied" : " untied") + " dim " + dim + " ff " + ff + " heads " + heads + "/" + kvHeads;
    }
  }

  /** A small model: 2 layers, GQA 4/2 heads, a 320-token vocabulary; dim 256 for the K-quants (whole 256-blocks). */
  static Shape small(ModelConfig.Architecture arch, GgmlType type, boolean tied, long seed) {
    boolean k = type.blockSize() == 256;
    return new Shape(arch, k ? 256 : 128, k ? 512 : 256, 2, 4, 2, 0, 320, type, tied, seed);
  }

  static void write(Shape s, Path out) throws IOException {
    dev.loupe.llm.bench.RandomModels.write(s.toWritten(), out);
  }

  /** A SentencePiece vocabulary: {@code <unk> <s> </s>}, 256 byte tokens, then letter pieces with falling scores. */
  static void vocabulary(GgufWriter w, int size) {
    dev.loupe.llm.bench.RandomModels.vocabulary(w, size);
  }

  /** {@code n} seeded random token ids, BOS first. */
  static int[] randomTokens(Random r, int n, int vocab) {
    int[] t = new int[n];
    t[0] = 1;
    for (int i = 1; i < n; i++) t[i] = 3 + r.nextInt(vocab - 3);
    return t;
  }
}
