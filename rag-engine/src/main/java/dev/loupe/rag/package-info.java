/**
 * Retrieval-augmented generation: retrievers over the vector store, prompt assembly with
 * citations, and the generation hook that retrieves more context in the middle of an answer.
 */
package dev.loupe.rag;
