/**
 * Retrieval-augmented generation: the {@link dev.loupe.rag.Retriever} that gathers numbered
 * {@link dev.loupe.rag.Source}s within a token budget, the {@link dev.loupe.rag.PromptBuilder}
 * that asks the model to cite them, and {@link dev.loupe.rag.Citations} that maps its {@code [n]}
 * back to items. {@code chat} holds the streaming chat engine and its sessions, {@code tool} the
 * tools the model calls mid-answer, {@code search} the search engine underneath.
 */
package dev.loupe.rag;
