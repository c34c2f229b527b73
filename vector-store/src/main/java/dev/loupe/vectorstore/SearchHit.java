package dev.loupe.vectorstore;

/**
 * One result of a search: the item's id, its score (higher is better; see {@link Similarity}
 * for vector scores) and its metadata.
 */
public record SearchHit(String id, float score, Metadata metadata) {}
