package dev.loupe.llm.tokenizer;

import java.util.List;

/** Texts that stress tokenizers: scripts, emoji (with joiners and variation selectors), marks, whitespace runs. */
final class TextSamples {
  private TextSamples() {}

  static final List<String> MULTILINGUAL = List.of(
      "Hello world",
      "The quick brown fox jumps over the lazy dog. It's 12345 o'clock; isn't it?",
      "🦙🚀 emoji 😶‍🌫️ and flags 🇫🇷 and skin tones 👍🏽",
      "日本語のテキストと中文文本，还有한국어 텍스트.",
      "مرحبا بالعالم، هذا نص عربي.",
      "Combining marks: e\u0301 a\u0300 n\u0303 and Zalgo z\u0336\u0327a\u035Bl\u0334g\u0308o",
      "Tabs\tand\t\ttabs, newlines\n\nand\r\nCRLF",
      "runs of spaces:  two,   three,    four,          ten",
      "   leading and trailing spaces   ",
      "नमस्ते दुनिया — Ελληνικά — Русский текст",
      "code: for (int i = 0; i < n; i++) { sum += a[i] * b[i]; }",
      "\u00A0non-breaking\u2003em space\u3000ideographic space",
      "numbers 3.14159 and 1,000,000 and ١٢٣ and Ⅻ",
      "\n",
      " ");
}
