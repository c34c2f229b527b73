package dev.loupe.embeddings.model;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.zip.CRC32C;

/**
 * Which files of an installed model hashed to their pinned digest, keyed by path, size and
 * modification time, so that {@code loupe serve} does not re-hash 150 MB at every start. A file
 * whose size or time changed is hashed again; {@code loupe models verify} ignores the cache.
 *
 * <p>Format of {@code <model>/.verified}, UTF-8 text: the line {@code loupe-verified 1}, then one
 * line per file {@code <sha256> <size> <mtime-nanos> <path>}, then {@code crc32c <8 hex digits>}
 * over every byte before that line. A file with another magic, version or checksum is ignored:
 * the cache only saves time, so a bad one costs a re-hash, never a wrong answer about a digest
 * it does not hold. Not thread-safe; each check reads its own copy, and writes replace the file
 * atomically.
 */
final class VerificationCache {
  static final String FILE_NAME = ".verified";
  private static final String MAGIC = "loupe-verified 1";

  private record Entry(String sha256, long size, long mtime) {}

  private final Path file;
  private final Map<String, Entry> entries;

  private VerificationCache(Path file, Map<String, Entry> entries) {
    this.file = file;
    this.entries = entries;
  }

  /** An empty cache for the model in {@code modelDir}; {@link #write} replaces any old one. */
  static VerificationCache empty(Path modelDir) {
    return new VerificationCache(modelDir.resolve(FILE_NAME), new LinkedHashMap<>());
  }

  /** The cache of the model in {@code modelDir}; empty when absent or not valid. */
  static VerificationCache read(Path modelDir) {
    VerificationCache cache = empty(modelDir);
    try {
      if (!Files.isRegularFile(cache.file, LinkOption.NOFOLLOW_LINKS)) {
        return cache;
      }
      List<String> lines = Files.readAllLines(cache.file, StandardCharsets.UTF_8);
      if (lines.size() < 2 || !lines.getFirst().equals(MAGIC)) {
        return cache;
      }
      String body = String.join("\n", lines.subList(0, lines.size() - 1)) + "\n";
      if (!lines.getLast().equals("crc32c " + crc(body))) {
        return cache;
      }
      for (String line : lines.subList(1, lines.size() - 1)) {
        String[] parts = line.split(" ", 4);
        if (parts.length != 4) {
          return empty(modelDir);
        }
        cache.entries.put(parts[3], new Entry(parts[0], Long.parseLong(parts[1]), Long.parseLong(parts[2])));
      }
      return cache;
    } catch (IOException | RuntimeException e) {
      return empty(modelDir);
    }
  }

  /** Whether {@code path} was verified as {@code sha256} while it had this size and time. */
  boolean verified(String path, String sha256, long size, long mtime) {
    return new Entry(sha256, size, mtime).equals(entries.get(path));
  }

  void put(String path, String sha256, long size, long mtime) {
    entries.put(path, new Entry(sha256, size, mtime));
  }

  /** Writes the cache; false when the folder is not writable (the next check hashes again). */
  boolean writeQuietly() {
    StringBuilder body = new StringBuilder(MAGIC).append('\n');
    entries.forEach(
        (path, e) -> body.append(e.sha256()).append(' ').append(e.size()).append(' ')
            .append(e.mtime()).append(' ').append(path).append('\n'));
    String text = body + "crc32c " + crc(body.toString()) + "\n";
    Path tmp = file.resolveSibling(FILE_NAME + ".tmp");
    try {
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      try {
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
      }
      return true;
    } catch (IOException e) {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // Nothing to clean up that a later write does not replace.
      }
      return false;
    }
  }

  /** The modification time the cache keys on, in nanoseconds. */
  static long mtime(Path file) throws IOException {
    return Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).to(TimeUnit.NANOSECONDS);
  }

  private static String crc(String text) {
    CRC32C crc = new CRC32C();
    crc.update(text.getBytes(StandardCharsets.UTF_8));
    return HexFormat.of().toHexDigits((int) crc.getValue());
  }
}
