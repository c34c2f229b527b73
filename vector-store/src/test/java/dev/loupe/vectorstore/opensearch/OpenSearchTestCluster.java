package dev.loupe.vectorstore.opensearch;

import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.abort;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Deque;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * The real 2-node OpenSearch cluster the backend's tests run against, started once per test JVM
 * by {@code scripts/opensearch-cluster.sh} and stopped when the JVM's tests are done, failed or
 * not. Use it as an extension ({@code @ExtendWith(OpenSearchTestCluster.class)}); the http
 * module's tests share it through vector-store's test jar.
 *
 * <p>Node 1 listens on {@code 127.0.0.1:9250} (cluster manager and data), node 2 on {@code
 * 127.0.0.2:9250} (data); transport on port 9350. The cluster's files live in {@code
 * <java.io.tmpdir>/loupe-opensearch-cluster}, where the unprivileged user the script runs the nodes
 * as (when the tests run as root) can read them. When the distribution zips that vector-store's
 * build copies to {@code target/opensearch-dist} are missing, the tests are skipped with a message,
 * or fail when {@code CI=true}. With {@code LOUPE_OPENSEARCH_REUSE=true} a green cluster already
 * running on those ports (started by hand with the script) is used and left running.
 *
 * <p>Thread-safe: the start is synchronized and happens once.
 */
public final class OpenSearchTestCluster implements BeforeAllCallback {

  /** Both nodes' HTTP endpoints, node 1 first. */
  public static final List<URI> URLS = List.of(URI.create("http://127.0.0.1:9250"), URI.create("http://127.0.0.2:9250"));

  private static final long START_LIMIT_SECONDS = 300;
  private static String startFailure;
  private static boolean started;
  private static boolean reused;

  @Override
  public void beforeAll(ExtensionContext context) {
    start();
    // Closed when the whole test plan has run: the cluster stops even when tests failed.
    context.getRoot().getStore(ExtensionContext.Namespace.GLOBAL)
        .computeIfAbsent(OpenSearchTestCluster.class, k -> (AutoCloseable) OpenSearchTestCluster::stop);
  }

  /** Starts the cluster unless this JVM already did; skips or fails the caller when it cannot. */
  public static synchronized void start() {
    if (started) {
      return;
    }
    if (startFailure != null) {
      fail(startFailure);
    }
    Path root = repoRoot();
    Path dist = root.resolve("vector-store/target/opensearch-dist");
    if (!Files.isRegularFile(dist.resolve("opensearch.zip")) || !Files.isRegularFile(dist.resolve("opensearch-knn.zip"))) {
      String message = "the OpenSearch test cluster's zips are missing from " + dist
          + "; build vector-store online once (mvn -pl vector-store generate-test-resources) so Maven fetches"
          + " org.opensearch.distribution.integ-test-zip:opensearch and org.opensearch.plugin:opensearch-knn";
      if ("true".equalsIgnoreCase(System.getenv("CI"))) {
        startFailure = message;
        fail(message);
      }
      abort(message);
    }
    if ("true".equals(System.getenv("LOUPE_OPENSEARCH_REUSE")) && green()) {
      // A developer's cluster left running between runs (scripts/opensearch-cluster.sh start):
      // used as it is and left running.
      System.err.println("using the running OpenSearch test cluster (LOUPE_OPENSEARCH_REUSE=true)");
      reused = true;
      started = true;
      return;
    }
    Runtime.getRuntime().addShutdownHook(new Thread(OpenSearchTestCluster::stop, "loupe-opensearch-stop"));
    try {
      script(START_LIMIT_SECONDS, "start", clusterDir().toString());
    } catch (RuntimeException | Error e) {
      startFailure = "the OpenSearch test cluster did not start: " + e.getMessage();
      stop();
      throw e;
    }
    started = true;
  }

  /** Stops both nodes; harmless when they are not running. */
  public static synchronized void stop() {
    if (reused) {
      return;
    }
    try {
      script(120, "stop", clusterDir().toString());
    } catch (RuntimeException | Error e) {
      System.err.println("stopping the OpenSearch test cluster failed: " + e.getMessage());
    }
    started = false;
  }

  /** SIGKILLs node {@code n} (1 or 2). */
  public static void killNode(int n) {
    script(60, "kill-node", clusterDir().toString(), Integer.toString(n));
  }

  /** Starts node {@code n} again and returns once both nodes are in the cluster (yellow or better). */
  public static void startNode(int n) {
    script(START_LIMIT_SECONDS, "start-node", clusterDir().toString(), Integer.toString(n));
  }

  /** Waits until the cluster has status {@code green} or {@code yellow} with both nodes. */
  public static void waitFor(String status) {
    script(START_LIMIT_SECONDS, "wait", clusterDir().toString(), status);
  }

  /** A connection to both nodes that gives up after {@code retrySeconds} of unreachable nodes. */
  public static OpenSearchConnection.Config config() {
    return OpenSearchConnection.Config.of(URLS);
  }

  private static boolean green() {
    try (OpenSearchConnection c = OpenSearchConnection.open(OpenSearchConnection.Config.of(URLS).withRetryFor(java.time.Duration.ZERO))) {
      return c.send("GET", "/_cluster/health", java.util.Map.of(), null).body().path("status").asText().equals("green");
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  static Path clusterDir() {
    return Path.of(System.getProperty("java.io.tmpdir"), "loupe-opensearch-cluster");
  }

  static Path repoRoot() {
    String root = System.getProperty("loupe.repo.root");
    if (root != null) {
      return Path.of(root);
    }
    Path here = Path.of("").toAbsolutePath();
    while (here != null && !Files.isRegularFile(here.resolve("scripts/opensearch-cluster.sh"))) {
      here = here.getParent();
    }
    if (here == null) {
      throw new IllegalStateException("cannot find scripts/opensearch-cluster.sh above " + Path.of("").toAbsolutePath()
          + "; set -Dloupe.repo.root");
    }
    return here;
  }

  /** Runs the script, its output going to this JVM's stderr; kills it past {@code limitSeconds}. */
  private static void script(long limitSeconds, String... args) {
    Path root = repoRoot();
    List<String> command = new ArrayList<>();
    command.add("bash");
    command.add(root.resolve("scripts/opensearch-cluster.sh").toString());
    command.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
    pb.environment().put("LOUPE_OS_DIST", root.resolve("vector-store/target/opensearch-dist").toString());
    // The JDK these tests run on: the JDK 25 ./loupe found, or the one Maven runs with.
    pb.environment().put("OPENSEARCH_JAVA_HOME", System.getProperty("java.home"));
    // C1 only and the serial collector: a node starts in about half the CPU time, which on a
    // small shared CI machine is most of the suite's wait; the tests measure correctness, not speed.
    pb.environment().putIfAbsent("LOUPE_OS_JVM_OPTS", "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC");
    try {
      Process p = pb.start();
      // Echoed through System.err (which surefire captures; the JVM's own stdout is its channel) and kept for the message.
      Deque<String> tail = new ArrayDeque<>();
      Thread reader = Thread.ofPlatform().daemon().start(() -> {
        try (var lines = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
          for (String line = lines.readLine(); line != null; line = lines.readLine()) {
            System.err.println(line);
            synchronized (tail) {
              tail.addLast(line);
              if (tail.size() > 60) {
                tail.removeFirst();
              }
            }
          }
        } catch (IOException e) {
          // the script ended
        }
      });
      boolean finished = p.waitFor(limitSeconds, TimeUnit.SECONDS);
      if (finished) {
        reader.join(5_000);
      }
      String output;
      synchronized (tail) {
        output = String.join("\n", tail);
      }
      if (!finished) {
        p.descendants().forEach(ProcessHandle::destroyForcibly);
        p.destroyForcibly();
        throw new IllegalStateException("opensearch-cluster.sh " + String.join(" ", args) + " ran past " + limitSeconds + " s and was killed; its output:\n" + output);
      }
      if (p.exitValue() != 0) {
        throw new IllegalStateException("opensearch-cluster.sh " + String.join(" ", args) + " exited with " + p.exitValue()
            + "; its output:\n" + output);
      }
    } catch (IOException e) {
      throw new IllegalStateException("cannot run scripts/opensearch-cluster.sh: " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted while running opensearch-cluster.sh", e);
    }
  }
}
