package dev.loupe.http;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.loupe.vectorstore.durable.AtomicFile;
import java.io.IOException;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Optional;

/**
 * {@code <data>/serve.json}: how to reach the {@code loupe serve} that holds a data folder, for
 * {@code loupe status}, which cannot open the ingest journal while the server holds its lock.
 *
 * <p>The server writes it atomically once it listens and deletes it when it closes. A server
 * killed with {@code -9} leaves it behind; that is harmless because it is read only while the
 * data folder's lock is held, and the next server replaces it. It is small JSON with a format
 * name and version ({@code {"format":"loupe-serve","version":1,"pid":…,"url":…,"started":…}});
 * it has no checksum because the atomic rename means it is never seen half-written, and a
 * damaged one fails to parse and is named as such.
 *
 * @param pid the server's process id
 * @param url the base URL to reach it from this machine (a wildcard bind address already
 *     replaced by {@code 127.0.0.1})
 * @param started when it started listening
 */
record ServeFile(long pid, URI url, Instant started) {
  /** The file's name in the data folder. */
  static final String NAME = "serve.json";

  static final String FORMAT = "loupe-serve";
  static final int VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper();

  ServeFile {
    if (pid <= 0) {
      throw new IllegalArgumentException("pid " + pid + " must be positive");
    }
    if (url == null || !"http".equals(url.getScheme()) || url.getHost() == null || url.getPort() <= 0) {
      throw new IllegalArgumentException("url '" + url + "' must be http://HOST:PORT/");
    }
    if (started == null) {
      throw new IllegalArgumentException("start time must not be null");
    }
  }

  /** This process, serving at {@code url} since now. */
  static ServeFile ofThisProcess(URI url) {
    return new ServeFile(ProcessHandle.current().pid(), url, Instant.now());
  }

  static Path path(Path dataDir) {
    return dataDir.resolve(NAME);
  }

  /** Replaces {@code <dataDir>/serve.json} atomically with this. */
  void write(Path dataDir) throws IOException {
    ObjectNode node = JSON.createObjectNode()
        .put("format", FORMAT)
        .put("version", VERSION)
        .put("pid", pid)
        .put("url", url.toString())
        .put("started", started.toString());
    byte[] bytes = JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(node);
    AtomicFile.replace(path(dataDir), channel -> {
      ByteBuffer buffer = ByteBuffer.wrap(bytes);
      while (buffer.hasRemaining()) {
        channel.write(buffer);
      }
    });
  }

  /**
   * Reads {@code <dataDir>/serve.json}; empty when there is none.
   *
   * @throws IOException naming the file when it cannot be read or is not a serve file of this version
   */
  static Optional<ServeFile> read(Path dataDir) throws IOException {
    Path file = path(dataDir);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    }
    try {
      JsonNode node = JSON.readTree(bytes);
      if (node == null || !FORMAT.equals(node.path("format").asText()) || node.path("version").asInt() != VERSION) {
        throw new IOException(file + " is not a " + FORMAT + " file of version " + VERSION + "; delete it if no `loupe serve` runs on "
            + dataDir);
      }
      return Optional.of(new ServeFile(node.path("pid").asLong(), URI.create(node.path("url").asText()),
          Instant.parse(node.path("started").asText())));
    } catch (JacksonException | IllegalArgumentException | DateTimeParseException e) {
      throw new IOException(file + " is damaged (" + e.getMessage().lines().findFirst().orElse("") + "); delete it if no `loupe serve` runs on "
          + dataDir, e);
    }
  }

  /** Deletes {@code <dataDir>/serve.json} if it names this server (another may have replaced it). */
  void deleteIfMine(Path dataDir) throws IOException {
    Optional<ServeFile> there;
    try {
      there = read(dataDir);
    } catch (IOException damaged) {
      there = Optional.empty();
    }
    if (there.isPresent() && there.get().equals(this)) {
      Files.deleteIfExists(path(dataDir));
    }
  }
}
