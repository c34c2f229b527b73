package dev.loupe.embeddings.model;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 over files, in lower-case hex as manifests write it. */
public final class Digests {
  private Digests() {}

  static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  /** Feeds the whole content of {@code file} to {@code md}. */
  static void update(MessageDigest md, Path file) throws IOException {
    byte[] buffer = new byte[1 << 16];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n = in.read(buffer); n >= 0; n = in.read(buffer)) {
        md.update(buffer, 0, n);
      }
    }
  }

  /** The sha256 of {@code file}. */
  public static String of(Path file) throws IOException {
    MessageDigest md = sha256();
    update(md, file);
    return hex(md);
  }

  /** Finishes {@code md} and formats the digest. */
  static String hex(MessageDigest md) {
    return HexFormat.of().formatHex(md.digest());
  }
}
