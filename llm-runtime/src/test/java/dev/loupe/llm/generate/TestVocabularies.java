package dev.loupe.llm.generate;

import dev.loupe.llm.tokenizer.Llama2cVocabulary;
import dev.loupe.llm.tokenizer.TokenType;
import dev.loupe.llm.tokenizer.Tokenizer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** Vocabularies for the generation tests: a tiny generated SentencePiece one, and the real Llama 2 one. */
final class TestVocabularies {
  private TestVocabularies() {}

  private static Tokenizer tiny;
  private static Tokenizer llama2;

  /**
   * 0 {@code <unk>}, 1 {@code <s>}, 2 {@code </s>}, 256 byte tokens, printable ASCII, a few words, JSON pieces and
   * multi-byte characters (é, 🦙) as single tokens.
   */
  static synchronized Tokenizer tiny() {
    if (tiny == null) {
      List<String> texts = new ArrayList<>(List.of("<unk>", "<s>", "</s>"));
      List<Integer> types = new ArrayList<>(List.of(TokenType.UNKNOWN.id(), TokenType.CONTROL.id(),
          TokenType.CONTROL.id()));
      for (int b = 0; b < 256; b++) {
        texts.add(String.format("<0x%02X>", b));
        types.add(TokenType.BYTE.id());
      }
      List<String> pieces = new ArrayList<>();
      for (char c = 0x21; c < 0x7F; c++) {
        pieces.add(String.valueOf(c));
      }
      pieces.addAll(List.of("\u2581", "\u2581t", "he", "\u2581the", "\u2581c", "at", "\u2581cat", "\u2581s",
          "\u2581sat", "\u2581on", "\u2581m", "\u2581mat", "tr", "ue", "true", "fa", "lse", "false", "nu", "ll",
          "null", "\":", "\",\"", "{\"", "\"}", "é", "🦙", "12", "3.", "e+", "\u2581{", "\\n", "\\u"));
      for (String p : pieces) {
        texts.add(p);
        types.add(TokenType.NORMAL.id());
      }
      int n = texts.size();
      float[] scores = new float[n];
      int[] typeIds = new int[n];
      for (int i = 0; i < n; i++) {
        scores[i] = texts.get(i).length() - i * 1e-4f; // longer pieces merge first
        typeIds[i] = types.get(i);
      }
      Map<String, Object> metadata = new HashMap<>();
      metadata.put("tokenizer.ggml.model", "llama");
      metadata.put("tokenizer.ggml.tokens", texts.toArray(String[]::new));
      metadata.put("tokenizer.ggml.scores", scores);
      metadata.put("tokenizer.ggml.token_type", typeIds);
      metadata.put("tokenizer.ggml.bos_token_id", 1);
      metadata.put("tokenizer.ggml.eos_token_id", 2);
      metadata.put("tokenizer.ggml.unknown_token_id", 0);
      tiny = Tokenizer.fromMetadata(metadata);
    }
    return tiny;
  }

  /** The real Llama 2 vocabulary (32000 tokens); skips the test when the shared test data is absent. */
  static synchronized Tokenizer llama2() throws IOException {
    if (llama2 == null) {
      llama2 = Tokenizer.fromMetadata(Llama2cVocabulary.metadata());
    }
    return llama2;
  }
}
