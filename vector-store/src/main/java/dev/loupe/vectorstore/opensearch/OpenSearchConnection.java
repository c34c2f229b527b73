package dev.loupe.vectorstore.opensearch;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.Closeable;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.auth.AuthScope;
import org.apache.hc.client5.http.auth.UsernamePasswordCredentials;
import org.apache.hc.client5.http.impl.auth.BasicCredentialsProvider;
import org.apache.hc.core5.http.HttpHost;
import org.apache.hc.core5.util.Timeout;
import org.opensearch.client.opensearch.generic.Body;
import org.opensearch.client.opensearch.generic.OpenSearchGenericClient;
import org.opensearch.client.opensearch.generic.Requests;
import org.opensearch.client.opensearch.generic.Response;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5Transport;
import org.opensearch.client.transport.httpclient5.ApacheHttpClient5TransportBuilder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A connection to an OpenSearch cluster through the official {@code opensearch-java} client and
 * its Apache HttpClient 5 transport, shared by every {@link OpenSearchVectorIndex} of one
 * process.
 *
 * <h2>Failover and back-pressure</h2>
 *
 * Requests go to the listed nodes in turn. When a node cannot be reached (connection refused or
 * reset, a timeout) or answers 502, 503 or 504, the transport marks it dead for a while and sends
 * the same request to the next node; a dead node is tried again later. When every node failed,
 * or the cluster answers 429 (too many requests: its write queues are full) or 503, this class
 * waits and sends the request again, with exponential backoff from 50 ms to 5 s, until {@link
 * Config#retryFor()} has passed. Only idempotent requests go through this retry: Loupe's bulk
 * writes index and delete documents by id, so sending one twice leaves the same state.
 *
 * <h2>Thread safety</h2>
 *
 * Thread-safe; the underlying client holds a connection pool. {@link #close()} releases it.
 */
public final class OpenSearchConnection implements Closeable {
  private static final Logger log = LoggerFactory.getLogger(OpenSearchConnection.class);

  /** JSON as Loupe reads and writes it; decimals stay exact so that float vectors round-trip. */
  static final ObjectMapper JSON =
      new ObjectMapper().enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS);

  /**
   * Where the cluster is and how to log in.
   *
   * @param urls one or more node URLs ({@code http://host:9200}, {@code https://…}); requests go
   *     to any of them
   * @param user HTTP basic user, or null for a cluster without security
   * @param password the user's password; required with a user
   * @param retryFor how long a request is retried while every node is unreachable or the cluster
   *     pushes back with 429/503 before the call fails
   */
  public record Config(List<URI> urls, String user, String password, Duration retryFor) {
    public Config {
      if (urls == null || urls.isEmpty()) {
        throw new IllegalArgumentException("at least one OpenSearch URL is needed");
      }
      urls = List.copyOf(urls);
      for (URI url : urls) {
        if (url.getScheme() == null
            || !(url.getScheme().equals("http") || url.getScheme().equals("https"))
            || url.getHost() == null) {
          throw new IllegalArgumentException(
              "OpenSearch URL '" + url + "' must be http://HOST:PORT or https://HOST:PORT");
        }
      }
      if (user != null && (user.isBlank() || password == null)) {
        throw new IllegalArgumentException(
            "OpenSearch user '" + user + "' needs a non-blank name and a password");
      }
      if (retryFor == null || retryFor.isNegative()) {
        throw new IllegalArgumentException("retry duration " + retryFor + " must be >= 0");
      }
    }

    /** No credentials, retrying for two minutes. */
    public static Config of(List<URI> urls) {
      return new Config(urls, null, null, Duration.ofMinutes(2));
    }

    /**
     * Parses {@code URL[,URL…]}.
     *
     * @throws IllegalArgumentException naming a URL that does not parse
     */
    public static List<URI> parseUrls(String commaSeparated) {
      if (commaSeparated == null || commaSeparated.isBlank()) {
        throw new IllegalArgumentException("OpenSearch URL list '" + commaSeparated + "' is empty");
      }
      List<URI> urls = new ArrayList<>();
      for (String part : commaSeparated.split(",")) {
        String u = part.strip();
        try {
          urls.add(new URI(u));
        } catch (URISyntaxException e) {
          throw new IllegalArgumentException("OpenSearch URL '" + u + "' does not parse: " + e.getMessage(), e);
        }
      }
      return urls;
    }

    /** These settings with another retry duration. */
    public Config withRetryFor(Duration d) {
      return new Config(urls, user, password, d);
    }

    @Override
    public String toString() { // never the password
      return "Config[urls=" + urls + ", user=" + user + ", retryFor=" + retryFor + "]";
    }
  }

  /** A response: its status and parsed JSON body (a missing node for an empty body). */
  record Reply(int status, JsonNode body) {
    boolean ok() {
      return status >= 200 && status < 300;
    }

    /** The error's type and reason, for messages. */
    String error() {
      JsonNode e = body.path("error");
      if (e.isObject()) {
        return e.path("type").asText() + ": " + e.path("reason").asText();
      }
      return e.isMissingNode() ? body.toString() : e.asText();
    }
  }

  private final Config config;
  private final ApacheHttpClient5Transport transport;
  private final OpenSearchGenericClient client;

  private OpenSearchConnection(Config config, ApacheHttpClient5Transport transport) {
    this.config = config;
    this.transport = transport;
    this.client = new OpenSearchGenericClient(transport);
  }

  /**
   * Connects and checks the cluster: it answers, and has the k-NN plugin.
   *
   * @throws IOException if no node answers within {@link Config#retryFor()}, or the cluster
   *     lacks the k-NN plugin
   */
  public static OpenSearchConnection open(Config config) throws IOException {
    HttpHost[] hosts = new HttpHost[config.urls().size()];
    for (int i = 0; i < hosts.length; i++) {
      URI u = config.urls().get(i);
      hosts[i] = new HttpHost(u.getScheme(), u.getHost(), u.getPort() < 0 ? 9200 : u.getPort());
    }
    ApacheHttpClient5TransportBuilder builder =
        ApacheHttpClient5TransportBuilder.builder(hosts)
            .setMapper(new org.opensearch.client.json.jackson.JacksonJsonpMapper(JSON))
            .setRequestConfigCallback(
                r -> r.setConnectionRequestTimeout(Timeout.ofSeconds(30))
                    .setResponseTimeout(Timeout.ofSeconds(60)));
    if (config.user() != null) {
      BasicCredentialsProvider credentials = new BasicCredentialsProvider();
      for (HttpHost host : hosts) {
        credentials.setCredentials(
            new AuthScope(host),
            new UsernamePasswordCredentials(config.user(), config.password().toCharArray()));
      }
      builder.setHttpClientConfigCallback(b -> b.setDefaultCredentialsProvider(credentials));
    }
    OpenSearchConnection connection = new OpenSearchConnection(config, builder.build());
    try {
      Reply root = connection.send("GET", "/", Map.of(), null);
      if (!root.ok()) {
        throw new IOException("OpenSearch at " + config.urls() + " answered " + root.status() + ": " + root.error()
            + (root.status() == 401 ? " (check --opensearch-user and --opensearch-password-file)" : ""));
      }
      Reply plugins = connection.send("GET", "/_cat/plugins", Map.of("format", "json"), null);
      boolean knn = false;
      for (JsonNode p : plugins.body()) {
        knn |= p.path("component").asText().equals("opensearch-knn");
      }
      if (!knn) {
        throw new IOException("the OpenSearch cluster at " + config.urls() + " has no k-NN plugin (opensearch-knn);"
            + " install it on every node: bin/opensearch-plugin install opensearch-knn");
      }
      log.info("connected to OpenSearch {} at {}", root.body().path("version").path("number").asText(), config.urls());
      return connection;
    } catch (IOException | RuntimeException e) {
      connection.close();
      throw e;
    }
  }

  /** The settings this connection was opened with. */
  public Config config() {
    return config;
  }

  /**
   * Sends one request, with failover between nodes and backoff on 429/503 and on every node
   * being unreachable. Other statuses come back to the caller.
   *
   * @param body JSON, NDJSON (for {@code _bulk}) or null
   */
  Reply send(String method, String endpoint, Map<String, String> query, String body) throws IOException {
    long deadline = System.nanoTime() + config.retryFor().toNanos();
    long backoffMillis = 50;
    for (int attempt = 1; ; attempt++) {
      IOException failure = null;
      Reply reply = null;
      try {
        reply = sendOnce(method, endpoint, query, body);
        if (reply.status() != 429 && reply.status() != 503) {
          return reply;
        }
      } catch (IOException e) {
        failure = e;
      }
      if (System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoffMillis) > deadline) {
        if (failure != null) {
          throw new IOException("OpenSearch at " + config.urls() + " is unreachable after " + attempt
              + " attempts over " + config.retryFor() + " (" + method + " " + endpoint + "): " + failure.getMessage(), failure);
        }
        return reply;
      }
      log.debug("{} {} attempt {} failed ({}); retrying in {} ms", method, endpoint, attempt,
          failure != null ? failure.toString() : reply.status(), backoffMillis);
      sleep(backoffMillis);
      backoffMillis = Math.min(5_000, backoffMillis * 2);
    }
  }

  static void sleep(long millis) throws InterruptedIOException {
    try {
      Thread.sleep(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("interrupted while waiting to retry an OpenSearch request");
    }
  }

  private Reply sendOnce(String method, String endpoint, Map<String, String> query, String body) throws IOException {
    var request = Requests.builder().method(method).endpoint(endpoint).query(query);
    if (body != null) {
      String type = endpoint.endsWith("/_bulk") ? "application/x-ndjson" : "application/json";
      request.body(Body.from(body.getBytes(StandardCharsets.UTF_8), type));
    }
    try (Response response = client.execute(request.build())) {
      JsonNode json = JSON.missingNode();
      if (response.getBody().isPresent()) {
        try (Body b = response.getBody().get()) {
          byte[] bytes = b.bodyAsBytes();
          if (bytes.length > 0) {
            json = JSON.readTree(bytes);
          }
        }
      }
      return new Reply(response.getStatus(), json);
    }
  }

  @Override
  public void close() throws IOException {
    transport.close();
  }

  @Override
  public String toString() {
    return "OpenSearchConnection[" + config.urls() + "]";
  }
}
