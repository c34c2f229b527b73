package dev.loupe.vectorstore.durable;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Replaces a file so that a crash at any moment leaves either the old or the new content, never
 * a mix: the new content goes to {@code NAME.tmp}, is forced to disk, renamed over {@code NAME}
 * atomically, and the directory is forced so the rename itself is durable.
 */
public final class AtomicFile {
  /** Suffix of the temporary file a commit writes before its rename. */
  public static final String TEMP_SUFFIX = ".tmp";

  private AtomicFile() {}

  /** Writes the new content to the channel it is given; need not force it. */
  @FunctionalInterface
  public interface Writer {
    void write(FileChannel channel) throws IOException;
  }

  /** Replaces {@code target} with what {@code writer} writes. */
  public static void replace(Path target, Writer writer) throws IOException {
    Path temp = target.resolveSibling(target.getFileName() + TEMP_SUFFIX);
    try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
      writer.write(channel);
      channel.force(true);
    }
    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try (FileChannel dir = FileChannel.open(target.getParent(), StandardOpenOption.READ)) {
      dir.force(true);
    }
  }

  /** Deletes temporary files an interrupted {@link #replace} left in {@code dir}; returns how many. */
  public static int deleteLeftovers(Path dir) throws IOException {
    int deleted = 0;
    try (DirectoryStream<Path> temps = Files.newDirectoryStream(dir, "*" + TEMP_SUFFIX)) {
      for (Path temp : temps) {
        Files.deleteIfExists(temp);
        deleted++;
      }
    }
    return deleted;
  }
}
