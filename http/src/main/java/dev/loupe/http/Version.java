package dev.loupe.http;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/** The Loupe release this build is, as Maven stamped it into {@code loupe.properties}. */
final class Version {
  private Version() {}

  /** The project version, for example {@code 0.1.0} or {@code 0.1.0-SNAPSHOT}. */
  static final String NUMBER = load();

  private static String load() {
    try (InputStream in = Version.class.getResourceAsStream("loupe.properties")) {
      if (in == null) {
        throw new IllegalStateException(
            "dev/loupe/http/loupe.properties is missing from the class path; rebuild with"
                + " mvn -pl http package");
      }
      Properties p = new Properties();
      p.load(in);
      String version = p.getProperty("version", "");
      if (version.isBlank() || version.contains("${")) {
        throw new IllegalStateException(
            "loupe.properties holds no version ('" + version + "'); rebuild with mvn -pl http"
                + " package so Maven filters it");
      }
      return version;
    } catch (IOException e) {
      throw new UncheckedIOException("cannot read dev/loupe/http/loupe.properties", e);
    }
  }
}
