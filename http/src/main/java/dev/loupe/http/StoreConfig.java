package dev.loupe.http;

import dev.loupe.vectorstore.opensearch.OpenSearchConnection;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Where {@code loupe serve} keeps its indexes: the embedded Lucene store in the data folder (the
 * default), or an OpenSearch cluster ({@code --store opensearch}), where the passage and visual
 * indexes are the OpenSearch indexes {@code <indexPrefix>text} and {@code <indexPrefix>visual}.
 * The journal, thumbnails, models and keys stay in the data folder either way.
 *
 * @param kind {@code lucene} or {@code opensearch}
 * @param opensearch the cluster; null for {@code lucene}, required for {@code opensearch}
 * @param indexPrefix prefix of the OpenSearch index names, a valid index name start
 */
public record StoreConfig(String kind, OpenSearchConnection.Config opensearch, String indexPrefix) {

  /** The embedded store. */
  public static final StoreConfig LUCENE = new StoreConfig("lucene", null, "loupe-");

  public StoreConfig {
    switch (kind == null ? "" : kind) {
      case "lucene" -> {
        if (opensearch != null) {
          throw new IllegalArgumentException("--opensearch-url needs --store opensearch");
        }
      }
      case "opensearch" -> {
        if (opensearch == null) {
          throw new IllegalArgumentException("--store opensearch needs --opensearch-url URL[,URL...]");
        }
      }
      default -> throw new IllegalArgumentException("store '" + kind + "' must be lucene or opensearch");
    }
    if (indexPrefix == null || indexPrefix.isEmpty()) {
      throw new IllegalArgumentException("OpenSearch index prefix must not be empty");
    }
    checkPrefix(indexPrefix);
  }

  private static void checkPrefix(String prefix) {
    String sample = prefix + "text";
    if (!sample.matches("[a-z0-9][a-z0-9._-]{0,200}")) {
      throw new IllegalArgumentException("OpenSearch index prefix '" + prefix
          + "' must be lower-case letters, digits, '.', '_' or '-', starting with a letter or digit");
    }
  }

  /**
   * The OpenSearch store at {@code urls} ({@code URL[,URL…]}), logging in as {@code user} with the
   * password in the first line of {@code passwordFile} when a user is given.
   *
   * @throws IllegalArgumentException naming a bad URL, a user without a password file or the reverse,
   *     or a password file that cannot be read
   */
  public static StoreConfig opensearch(String urls, String user, Path passwordFile, String indexPrefix) {
    if ((user == null) != (passwordFile == null)) {
      throw new IllegalArgumentException("--opensearch-user and --opensearch-password-file go together");
    }
    String password = null;
    if (passwordFile != null) {
      try {
        password = Files.readString(passwordFile, StandardCharsets.UTF_8).lines().findFirst().orElse("").strip();
      } catch (IOException e) {
        throw new IllegalArgumentException("cannot read the OpenSearch password file " + passwordFile + ": " + e.getMessage(), e);
      }
      if (password.isEmpty()) {
        throw new IllegalArgumentException("the OpenSearch password file " + passwordFile + " is empty");
      }
    }
    OpenSearchConnection.Config config = new OpenSearchConnection.Config(
        OpenSearchConnection.Config.parseUrls(urls), user, password, Duration.ofMinutes(2));
    return new StoreConfig("opensearch", config, indexPrefix == null ? "loupe-" : indexPrefix);
  }

  /** True for {@code --store opensearch}. */
  public boolean isOpenSearch() {
    return kind.equals("opensearch");
  }

  @Override
  public String toString() { // the config never prints a password
    return "StoreConfig[" + kind + (opensearch == null ? "" : ", " + opensearch + ", prefix " + indexPrefix) + "]";
  }
}
