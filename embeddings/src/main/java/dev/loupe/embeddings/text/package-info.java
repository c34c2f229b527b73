/**
 * Tokenization with a model's own Hugging Face {@code tokenizer.json}: {@link
 * dev.loupe.embeddings.text.Tokenizer} encodes batches of texts into padded, truncated id
 * matrices ({@link dev.loupe.embeddings.text.TokenBatch}) with their attention masks.
 */
package dev.loupe.embeddings.text;
