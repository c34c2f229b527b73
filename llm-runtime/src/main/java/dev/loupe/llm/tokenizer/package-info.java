/**
 * Tokenizers built from GGUF metadata, matching llama.cpp: {@link dev.loupe.llm.tokenizer.Vocabulary} (the
 * metadata, validated), {@link dev.loupe.llm.tokenizer.Tokenizer} (SentencePiece-style and byte-level BPE with
 * llama.cpp's pre-tokenizers), {@link dev.loupe.llm.tokenizer.StreamingDecoder} (UTF-8-safe streaming text) and
 * {@link dev.loupe.llm.tokenizer.ChatTemplate} (the model's Jinja chat template, with built-in fallbacks).
 */
package dev.loupe.llm.tokenizer;
