/**
 * The GPU exact index ({@link dev.loupe.vectorstore.gpu.GpuFlatIndex}, the flat index's twin in
 * device memory) and the hot tier that puts it in front of a store ({@link
 * dev.loupe.vectorstore.gpu.GpuHotTier}, {@code loupe serve --gpu}). Device access goes through
 * {@code dev.loupe.gpu} only.
 */
package dev.loupe.vectorstore.gpu;
