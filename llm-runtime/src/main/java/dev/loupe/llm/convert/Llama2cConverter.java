package dev.loupe.llm.convert;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufWriter;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;

/**
 * Converts a llama2.c checkpoint ({@code run.c}'s legacy format: a 7-int header, then fp32 weights)
 * and its tokenizer ({@code tokenizer.bin}/{@code tok512.bin}) to a GGUF file that llama.cpp loads
 * as architecture {@code llama} with a SentencePiece ({@code llama}) vocabulary.
 *
 * <p>llama2.c stores each matrix like PyTorch's {@code nn.Linear.weight}: {@code [out][in]}
 * row-major, which is ggml's layout for dims {@code [in, out]}, so weights are copied as they are.
 * Its q/k projections are in Meta's layout (RoPE over adjacent pairs), which is also what
 * llama.cpp's {@code llama} architecture expects, so unlike llama.cpp's Hugging Face converter no
 * permutation is applied (the llama.cpp oracle test checks this). Its tokenizer file stores pieces
 * with plain spaces and BOS/EOS as {@code "\n<s>\n"}/{@code "\n</s>\n"}; GGUF vocabularies use
 * SentencePiece's {@code ▁} (U+2581) and the bare control pieces, so both are mapped back.
 *
 * <p>Stateless and thread-safe.
 */
public final class Llama2cConverter {
  /** SentencePiece token types as llama.cpp numbers them. */
  static final int NORMAL = 1, UNKNOWN = 2, CONTROL = 3, BYTE = 6;
  private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-F]{2}>");
  private static final ValueLayout.OfInt INT = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
  /** The magic of llama2.c's newer export versions ("ak42"), which this converter does not read. */
  private static final int AK42 = 0x616b3432;

  private Llama2cConverter() {}

  /**
   * The hyperparameters in a llama2.c checkpoint's header.
   *
   * @param vocabSize the vocabulary size (the header stores it negated when the classifier is not shared)
   * @param sharedClassifier whether the output projection is the token embedding table
   */
  public record Config(int dim, int hiddenDim, int nLayers, int nHeads, int nKvHeads, int vocabSize, int seqLen, boolean sharedClassifier) {
    public Config {
      if (dim <= 0 || hiddenDim <= 0 || nLayers <= 0 || nHeads <= 0 || nKvHeads <= 0 || vocabSize <= 0 || seqLen <= 0
          || dim % nHeads != 0 || nHeads % nKvHeads != 0) {
        throw new IllegalArgumentException("implausible llama2.c header: dim " + dim + ", hidden_dim " + hiddenDim + ", n_layers "
            + nLayers + ", n_heads " + nHeads + ", n_kv_heads " + nKvHeads + ", vocab_size " + vocabSize + ", seq_len " + seqLen);
      }
    }

    public int headSize() {
      return dim / nHeads;
    }

    public int kvDim() {
      return dim / nHeads * nKvHeads;
    }

    /** The fp32 values the checkpoint holds after its header, freq_cis tables included. */
    long floatCount() {
      long d = dim, h = hiddenDim, l = nLayers, kv = kvDim();
      long n = vocabSize * d + l * d + l * d * d + 2 * l * d * kv + l * d * d + l * d + 3 * l * d * h + d
          + (long) seqLen * headSize();
      return sharedClassifier ? n : n + vocabSize * d;
    }
  }

  /** Converts with fp32 weights. */
  public static void convert(Path checkpoint, Path tokenizer, Path out) throws IOException {
    convert(checkpoint, tokenizer, out, GgmlType.F32);
  }

  /**
   * Converts, storing the 2-D weights as {@code type} (F32 or F16; norms stay F32, as llama.cpp keeps them).
   *
   * @throws IOException if a file cannot be read or written, or is not a llama2.c checkpoint/tokenizer (the message says why)
   */
  public static void convert(Path checkpoint, Path tokenizer, Path out, GgmlType type) throws IOException {
    if (type != GgmlType.F32 && type != GgmlType.F16) {
      throw new IllegalArgumentException("cannot convert llama2.c weights to " + type + "; use F32 or F16");
    }
    try (Arena arena = Arena.ofConfined(); FileChannel ch = FileChannel.open(checkpoint, StandardOpenOption.READ)) {
      MemorySegment file = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
      Config c = readConfig(checkpoint, file);
      Vocabulary vocab = readTokenizer(tokenizer, c.vocabSize);

      GgufWriter w = new GgufWriter();
      String name = checkpoint.getFileName().toString().replaceFirst("\\.bin$", "");
      w.putString("general.architecture", "llama")
          .putString("general.name", name)
          .putUInt32("general.file_type", type == GgmlType.F32 ? 0 : 1)
          .putUInt32("llama.vocab_size", c.vocabSize)
          .putUInt32("llama.context_length", c.seqLen)
          .putUInt32("llama.embedding_length", c.dim)
          .putUInt32("llama.block_count", c.nLayers)
          .putUInt32("llama.feed_forward_length", c.hiddenDim)
          .putUInt32("llama.attention.head_count", c.nHeads)
          .putUInt32("llama.attention.head_count_kv", c.nKvHeads)
          .putUInt32("llama.rope.dimension_count", c.headSize())
          .putFloat32("llama.attention.layer_norm_rms_epsilon", 1e-5f)
          .putFloat32("llama.rope.freq_base", 10000f)
          .putString("tokenizer.ggml.model", "llama")
          .putStrings("tokenizer.ggml.tokens", vocab.tokens)
          .putFloats("tokenizer.ggml.scores", vocab.scores)
          .putInt32s("tokenizer.ggml.token_type", vocab.types)
          .putUInt32("tokenizer.ggml.bos_token_id", 1)
          .putUInt32("tokenizer.ggml.eos_token_id", 2)
          .putUInt32("tokenizer.ggml.unknown_token_id", 0);

      // The weights in run.c's order (memory_map_weights); each a view of the mapped checkpoint.
      long[] cursor = {28};
      int d = c.dim, h = c.hiddenDim, kv = c.kvDim(), l = c.nLayers;
      MemorySegment embeddings = take(file, cursor, (long) c.vocabSize * d);
      MemorySegment rmsAtt = take(file, cursor, (long) l * d);
      MemorySegment wq = take(file, cursor, (long) l * d * d);
      MemorySegment wk = take(file, cursor, (long) l * d * kv);
      MemorySegment wv = take(file, cursor, (long) l * d * kv);
      MemorySegment wo = take(file, cursor, (long) l * d * d);
      MemorySegment rmsFfn = take(file, cursor, (long) l * d);
      MemorySegment w1 = take(file, cursor, (long) l * d * h);
      MemorySegment w2 = take(file, cursor, (long) l * h * d);
      MemorySegment w3 = take(file, cursor, (long) l * d * h);
      MemorySegment rmsFinal = take(file, cursor, d);
      take(file, cursor, (long) c.seqLen * c.headSize()); // freq_cis_real and freq_cis_imag: llama.cpp computes RoPE itself
      MemorySegment wcls = c.sharedClassifier ? null : take(file, cursor, (long) c.vocabSize * d);

      add(w, "token_embd.weight", type, new long[] {d, c.vocabSize}, embeddings);
      for (int i = 0; i < l; i++) {
        String blk = "blk." + i + ".";
        add(w, blk + "attn_norm.weight", GgmlType.F32, new long[] {d}, layer(rmsAtt, i, d));
        add(w, blk + "attn_q.weight", type, new long[] {d, d}, layer(wq, i, (long) d * d));
        add(w, blk + "attn_k.weight", type, new long[] {d, kv}, layer(wk, i, (long) d * kv));
        add(w, blk + "attn_v.weight", type, new long[] {d, kv}, layer(wv, i, (long) d * kv));
        add(w, blk + "attn_output.weight", type, new long[] {d, d}, layer(wo, i, (long) d * d));
        add(w, blk + "ffn_norm.weight", GgmlType.F32, new long[] {d}, layer(rmsFfn, i, d));
        add(w, blk + "ffn_gate.weight", type, new long[] {d, h}, layer(w1, i, (long) d * h));
        add(w, blk + "ffn_down.weight", type, new long[] {h, d}, layer(w2, i, (long) h * d));
        add(w, blk + "ffn_up.weight", type, new long[] {d, h}, layer(w3, i, (long) d * h));
      }
      add(w, "output_norm.weight", GgmlType.F32, new long[] {d}, rmsFinal);
      if (wcls != null) {
        add(w, "output.weight", type, new long[] {d, c.vocabSize}, wcls);
      }
      w.write(out);
    }
  }

  /** Reads and validates a checkpoint's header against the file's size. */
  public static Config readConfig(Path checkpoint, MemorySegment file) throws IOException {
    if (file.byteSize() < 28) {
      throw new IOException(checkpoint + " is not a llama2.c checkpoint: it has only " + file.byteSize() + " bytes, fewer than the 28-byte header");
    }
    if (file.get(INT, 0) == AK42) {
      throw new IOException(checkpoint + " is a llama2.c checkpoint of a newer export version (magic \"ak42\"); export it with"
          + " llama2.c's --version 0 (legacy) format");
    }
    int[] h = new int[7];
    for (int i = 0; i < 7; i++) {
      h[i] = file.get(INT, 4L * i);
    }
    Config c;
    try {
      c = new Config(h[0], h[1], h[2], h[3], h[4], Math.abs(h[5]), h[6], h[5] > 0);
    } catch (IllegalArgumentException e) {
      throw new IOException(checkpoint + ": " + e.getMessage(), e);
    }
    long expected = 28 + 4 * c.floatCount();
    if (file.byteSize() != expected) {
      throw new IOException(checkpoint + " has " + file.byteSize() + " bytes but its header (dim " + c.dim + ", hidden_dim " + c.hiddenDim
          + ", n_layers " + c.nLayers + ", n_heads " + c.nHeads + ", n_kv_heads " + c.nKvHeads + ", vocab_size " + h[5] + ", seq_len "
          + c.seqLen + ") implies " + expected);
    }
    return c;
  }

  /** A llama2.c tokenizer converted to GGUF's SentencePiece vocabulary. */
  record Vocabulary(String[] tokens, float[] scores, int[] types) {}

  static Vocabulary readTokenizer(Path tokenizer, int vocabSize) throws IOException {
    byte[] bytes = Files.readAllBytes(tokenizer);
    MemorySegment s = MemorySegment.ofArray(bytes);
    String[] tokens = new String[vocabSize];
    float[] scores = new float[vocabSize];
    int[] types = new int[vocabSize];
    long pos = 4; // max_token_length, which GGUF does not need
    for (int i = 0; i < vocabSize; i++) {
      if (pos + 8 > bytes.length) {
        throw new IOException(tokenizer + " ends at token " + i + " of " + vocabSize + " (offset " + pos + ", " + bytes.length
            + " bytes); is it the tokenizer of this checkpoint?");
      }
      scores[i] = s.get(FLOAT, pos);
      int len = s.get(INT, pos + 4);
      pos += 8;
      if (len < 0 || len > bytes.length - pos) {
        throw new IOException(tokenizer + ": token " + i + " at offset " + (pos - 4) + " has length " + len + ", beyond the file's "
            + bytes.length + " bytes");
      }
      String piece = new String(bytes, (int) pos, len, StandardCharsets.UTF_8);
      pos += len;
      // llama2.c's exporter wrote BOS/EOS as "\n<s>\n"/"\n</s>\n" and replaced ▁ by a space; undo both.
      String trimmed = piece.strip();
      if (trimmed.equals("<s>") || trimmed.equals("</s>")) {
        tokens[i] = trimmed;
        types[i] = CONTROL;
      } else if (piece.equals("<unk>")) {
        tokens[i] = piece;
        types[i] = UNKNOWN;
      } else if (BYTE_PIECE.matcher(piece).matches()) {
        tokens[i] = piece;
        types[i] = BYTE;
      } else {
        tokens[i] = piece.replace(' ', '\u2581');
        types[i] = NORMAL;
      }
    }
    if (pos != bytes.length) {
      throw new IOException(tokenizer + " has " + (bytes.length - pos) + " bytes after its " + vocabSize
          + " tokens; is it the tokenizer of this checkpoint?");
    }
    return new Vocabulary(tokens, scores, types);
  }

  private static MemorySegment take(MemorySegment file, long[] cursor, long floats) {
    MemorySegment s = file.asSlice(cursor[0], floats * 4);
    cursor[0] += floats * 4;
    return s;
  }

  private static MemorySegment layer(MemorySegment all, int layer, long floats) {
    return all.asSlice(layer * floats * 4, floats * 4);
  }

  private static void add(GgufWriter w, String name, GgmlType type, long[] dims, MemorySegment f32) {
    if (type == GgmlType.F32) {
      w.addTensor(name, type, dims, f32);
    } else {
      w.addTensor(name, type, dims, out -> {
        long n = f32.byteSize() / 4;
        for (long i = 0; i < n; i++) {
          out.set(ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 2 * i, Float.floatToFloat16(f32.get(FLOAT, 4 * i)));
        }
      });
    }
  }
}
