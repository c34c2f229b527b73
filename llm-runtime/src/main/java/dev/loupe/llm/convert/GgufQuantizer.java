package dev.loupe.llm.convert;

import dev.loupe.llm.gguf.GgmlType;
import dev.loupe.llm.gguf.GgufFile;
import dev.loupe.llm.gguf.GgufTensor;
import dev.loupe.llm.gguf.GgufValueType;
import dev.loupe.llm.gguf.GgufWriter;
import dev.loupe.llm.tensor.BlockCodec;
import dev.loupe.llm.tensor.WeightType;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Rewrites a GGUF model with its weight matrices in another tensor type, as llama.cpp's
 * {@code llama-quantize} does for the plain types: every 2-D tensor whose rows are a whole number of
 * the new type's blocks is decoded and encoded again ({@link BlockCodec}, ggml's reference
 * quantizers); 1-D tensors (norms, biases) and matrices whose rows do not divide into blocks (such as
 * stories260K's 172-wide feed-forward output) keep their type. Metadata is copied with its value
 * types, {@code general.file_type} set to llama.cpp's number for the new type.
 *
 * <p>Used to make the quantized draft of a model for speculative decoding ({@code loupe convert
 * quantize}). Stateless and thread-safe; one matrix row at a time is held on the heap.
 */
public final class GgufQuantizer {
  private GgufQuantizer() {}

  /**
   * What a quantization did.
   *
   * @param quantized the tensors written in the new type
   * @param kept the 2-D tensors left in their type because their rows are not whole blocks
   */
  public record Summary(GgmlType type, List<String> quantized, List<String> kept) {
    public Summary {
      quantized = List.copyOf(quantized);
      kept = List.copyOf(kept);
    }
  }

  /** The tensor types a model can be quantized to. */
  public static final List<GgmlType> TYPES =
      List.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0, GgmlType.Q4_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K);

  /**
   * Writes {@code in}'s model to {@code out} with its matrices as {@code type}.
   *
   * @throws IllegalArgumentException for a type outside {@link #TYPES} or a tensor type this engine cannot decode
   * @throws IOException if a file cannot be read or written
   */
  public static Summary quantize(Path in, Path out, GgmlType type) throws IOException {
    if (!TYPES.contains(type)) {
      throw new IllegalArgumentException("cannot quantize to " + type + "; supported: " + TYPES);
    }
    if (Files.exists(out) && Files.isSameFile(in, out)) {
      throw new IllegalArgumentException("the output " + out + " is the input; write the quantized model to another file");
    }
    WeightType to = WeightType.fromGgmlId(type.id());
    List<String> quantized = new ArrayList<>();
    List<String> kept = new ArrayList<>();
    try (GgufFile file = GgufFile.open(in)) {
      GgufWriter w = new GgufWriter().version(file.version());
      for (Map.Entry<String, Object> e : file.metadata().entrySet()) {
        GgufValueType valueType = file.valueType(e.getKey()).orElseThrow();
        if (valueType == GgufValueType.ARRAY) {
          w.putArray(e.getKey(), file.arrayElementType(e.getKey()).orElseThrow(), e.getValue());
        } else {
          w.put(e.getKey(), valueType, e.getValue());
        }
      }
      w.putUInt32("general.file_type", fileType(type));
      for (GgufTensor t : file.tensors()) {
        if (t.rank() != 2 || t.type() == type) {
          w.addTensor(t.name(), t.type(), t.dims(), t.data());
          continue;
        }
        if (t.dim(0) % type.blockSize() != 0) {
          kept.add(t.name());
          w.addTensor(t.name(), t.type(), t.dims(), t.data());
          continue;
        }
        if (!t.type().supported()) {
          throw new IllegalArgumentException(in + ": tensor '" + t.name() + "' has type " + t.type() + ", which cannot be decoded");
        }
        WeightType from = WeightType.fromGgmlId(t.type().id());
        int cols = Math.toIntExact(t.dim(0));
        long rows = t.dim(1);
        MemorySegment data = t.data();
        long inRow = from.bytesFor(cols);
        long outRow = to.bytesFor(cols);
        quantized.add(t.name());
        w.addTensor(t.name(), type, t.dims(), seg -> {
          float[] row = new float[cols];
          for (long r = 0; r < rows; r++) {
            BlockCodec.dequantize(from, data, r * inRow, row, 0, cols);
            MemorySegment.copy(MemorySegment.ofArray(BlockCodec.quantize(to, row)), 0, seg, r * outRow, outRow);
          }
        });
      }
      w.write(out);
    }
    return new Summary(type, quantized, kept);
  }

  /** llama.cpp's {@code llama_ftype} of a model mostly in {@code type}. */
  static int fileType(GgmlType type) {
    return switch (type) {
      case F32 -> 0;
      case F16 -> 1;
      case Q4_0 -> 2;
      case Q8_0 -> 7;
      case Q4_K -> 14; // Q4_K_S
      case Q5_K -> 16; // Q5_K_S
      case Q6_K -> 18;
      case BF16 -> 32;
      default -> throw new IllegalArgumentException("no llama.cpp file type for " + type);
    };
  }
}
