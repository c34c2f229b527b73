package dev.loupe.llm.model;

/** The element type of a {@link Session}'s key/value cache. */
public enum KvCacheType {
  /** 4 bytes per element: exact, what the llama.cpp comparisons use. */
  F32(4),
  /** 2 bytes per element (IEEE half): half the memory, llama.cpp's default. */
  F16(2);

  private final int bytes;

  KvCacheType(int bytes) {
    this.bytes = bytes;
  }

  /** Bytes per cached element. */
  public int bytes() {
    return bytes;
  }
}
