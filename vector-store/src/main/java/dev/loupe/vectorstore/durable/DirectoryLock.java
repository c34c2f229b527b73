package dev.loupe.vectorstore.durable;

import java.io.Closeable;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * An exclusive lock on an index directory ({@code write.lock}), held while an index has the
 * directory open so that no second index instance, in this process or another, writes there too.
 * The operating system releases it when the process dies, so a {@code kill -9} leaves nothing to
 * clean up.
 */
public final class DirectoryLock implements Closeable {
  /** The lock file's name inside the directory. */
  public static final String FILE = "write.lock";

  private final FileChannel channel;
  private final FileLock lock;

  private DirectoryLock(FileChannel channel, FileLock lock) {
    this.channel = channel;
    this.lock = lock;
  }

  /**
   * Creates {@code dir} if needed and locks it.
   *
   * @throws IOException naming the directory if another index instance holds it
   */
  public static DirectoryLock acquire(Path dir) throws IOException {
    Files.createDirectories(dir);
    FileChannel channel = FileChannel.open(dir.resolve(FILE), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
    FileLock lock;
    try {
      lock = channel.tryLock();
    } catch (OverlappingFileLockException e) {
      lock = null; // held by another index instance in this JVM
    } catch (IOException | RuntimeException e) {
      channel.close();
      throw e;
    }
    if (lock == null) {
      channel.close();
      throw new HeldException(
          "directory " + dir + " is already open in another process or instance ("
              + FILE + " is locked)");
    }
    return new DirectoryLock(channel, lock);
  }

  /** The directory is held by another process or another instance in this one. */
  public static final class HeldException extends IOException {
    HeldException(String message) {
      super(message);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      lock.release();
    } finally {
      channel.close();
    }
  }
}
