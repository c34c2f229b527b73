/**
 * Search over the appliance's two embedding spaces: passages (BM25 and the passage model's
 * vectors) and visuals (CLIP vectors of images, pages, embedded images and video frames), by text,
 * by image or by example, fused into one ranking. {@link dev.loupe.rag.search.Searcher} is the
 * entry point.
 */
package dev.loupe.rag.search;
