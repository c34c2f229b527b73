package dev.loupe.llm.gguf;

import java.io.IOException;

/**
 * A GGUF file that cannot be read: bad magic, an unsupported version, a truncated or malformed
 * header, or tensor data outside the file. The message is one line naming the file and the problem.
 */
public final class GgufException extends IOException {
  private static final long serialVersionUID = 1L;

  public GgufException(String message) {
    super(message);
  }
}
