package dev.loupe.http;

import dev.loupe.indexer.IngestSettings;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * A data folder's {@code loupe.properties}: the settings a person may change, by section
 * ({@code ingest.*} for now). A missing file means every default; a key of no known section, or a
 * bad value, is an error naming the file, the key and the value, so a typo never passes silently.
 */
record Settings(Path file, Map<String, String> values) {
  static final String FILE_NAME = "loupe.properties";
  static final List<String> SECTIONS = List.of("ingest.");

  Settings {
    values = Map.copyOf(values);
  }

  /** A settings file that cannot be used: its message names the file, the key and the value. */
  static final class InvalidException extends IOException {
    InvalidException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Reads {@code <dataDir>/loupe.properties}.
   *
   * @throws InvalidException for a key of no known section or a bad value
   * @throws IOException if the file exists but cannot be read
   */
  static Settings load(Path dataDir) throws IOException {
    try {
      return read(dataDir);
    } catch (IllegalArgumentException e) {
      throw new InvalidException(e.getMessage(), e);
    }
  }

  private static Settings read(Path dataDir) throws IOException {
    Path file = dataDir.resolve(FILE_NAME);
    Properties p = new Properties();
    try (Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      p.load(in);
    } catch (NoSuchFileException e) {
      return new Settings(file, Map.of());
    } catch (IllegalArgumentException e) { // a malformed \\u escape
      throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
    }
    Map<String, String> values = new LinkedHashMap<>();
    for (String key : p.stringPropertyNames()) {
      if (SECTIONS.stream().noneMatch(key::startsWith)) {
        throw new IllegalArgumentException(file + ": unknown setting " + key + "; settings start with " + String.join(" or ", SECTIONS));
      }
      values.put(key, p.getProperty(key));
    }
    Settings settings = new Settings(file, values);
    settings.ingest(); // every value checked now, not when first used
    return settings;
  }

  /** The {@code ingest.*} settings. */
  IngestSettings ingest() {
    return IngestSettings.from(values, file.toString());
  }
}
