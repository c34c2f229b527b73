package dev.loupe.llm.tokenizer;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/**
 * The real Llama 2 vocabulary from {@code ../shared/testdata/tokenizers/llama2c/tokenizer.bin} (llama2.c's format:
 * int max_token_length, then per token float score, int length, bytes), as the GGUF metadata map the converter
 * writes: raw spaces as '▁', ids 0..2 unknown and control, {@code <0xXX>} byte tokens. Tests that need it are
 * skipped with the reason when the shared test data is absent.
 */
public final class Llama2cVocabulary {
  private Llama2cVocabulary() {}

  private static Map<String, Object> cached;

  /** The metadata map; skips the calling test when the file is absent. */
  public static synchronized Map<String, Object> metadata() throws IOException {
    if (cached == null) {
      cached = read(file());
    }
    return new HashMap<>(cached);
  }

  static Path file() {
    Path p = sharedTestdata().resolve("tokenizers/llama2c/tokenizer.bin");
    assumeTrue(Files.isRegularFile(p), "skipped: " + p + " is absent (the shared test data lives beside the "
        + "repository, in ../shared/testdata)");
    return p;
  }

  private static Path sharedTestdata() {
    String property = System.getProperty("loupe.repo.root");
    Path root = property != null && !property.isBlank() ? Path.of(property) : Path.of("").toAbsolutePath();
    for (Path p = root.toAbsolutePath(); p != null; p = p.getParent()) {
      Path candidate = p.resolveSibling("shared").resolve("testdata");
      if (Files.isDirectory(candidate)) {
        return candidate;
      }
    }
    return root.resolveSibling("shared").resolve("testdata");
  }

  static Map<String, Object> read(Path file) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(Files.readAllBytes(file)).order(ByteOrder.LITTLE_ENDIAN);
    buf.getInt(); // max_token_length
    int n = 32000; // llama2.c's tokenizer.bin does not store the count; Llama 2 has 32000
    String[] tokens = new String[n];
    float[] scores = new float[n];
    int[] types = new int[n];
    for (int i = 0; i < n; i++) {
      scores[i] = buf.getFloat();
      byte[] bytes = new byte[buf.getInt()];
      buf.get(bytes);
      String text = new String(bytes, StandardCharsets.UTF_8);
      boolean isByte = text.length() == 6 && text.startsWith("<0x") && text.endsWith(">");
      // llama2.c writes the special tokens as "\n<s>\n" and "\n</s>\n"; the model's own names are these.
      tokens[i] = i == 0 ? "<unk>" : i == 1 ? "<s>" : i == 2 ? "</s>"
          : isByte ? text : text.replace(' ', '\u2581');
      types[i] = i == 0 ? TokenType.UNKNOWN.id()
          : i <= 2 ? TokenType.CONTROL.id()
          : isByte ? TokenType.BYTE.id()
          : TokenType.NORMAL.id();
    }
    if (buf.hasRemaining()) {
      throw new IOException(file + " has " + buf.remaining() + " bytes after 32000 tokens: not the Llama 2 vocabulary");
    }
    Map<String, Object> metadata = new HashMap<>();
    metadata.put("tokenizer.ggml.model", "llama");
    metadata.put("tokenizer.ggml.tokens", tokens);
    metadata.put("tokenizer.ggml.scores", scores);
    metadata.put("tokenizer.ggml.token_type", types);
    metadata.put("tokenizer.ggml.bos_token_id", 1);
    metadata.put("tokenizer.ggml.eos_token_id", 2);
    metadata.put("tokenizer.ggml.unknown_token_id", 0);
    return metadata;
  }
}
