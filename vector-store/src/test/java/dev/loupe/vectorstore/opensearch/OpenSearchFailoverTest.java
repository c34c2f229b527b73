package dev.loupe.vectorstore.opensearch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Metadata;
import dev.loupe.vectorstore.SearchHit;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.bench.SyntheticVectors;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * A node of the real test cluster killed with SIGKILL in the middle of a bulk ingest: nothing
 * acknowledged is lost, searches go on against the other node, and the node rejoins.
 */
@ExtendWith(OpenSearchTestCluster.class)
class OpenSearchFailoverTest {

  private static final long SEED = Long.getLong("loupe.test.seed", 20261122L);
  private static final int DIM = 16, BATCH = 100;
  private static final String INDEX = "loupe-test-failover";

  private static Metadata meta(int i) {
    return new Metadata("page", "/docs/" + i + ".pdf", 1 + i % 9, 1_700_000_000_000L + i, "passage " + i, Map.of("batch", "b" + i / BATCH));
  }

  @Test
  void a_node_killed_during_bulk_ingest_loses_nothing_acknowledged_and_rejoins() throws Exception {
    SyntheticVectors data = new SyntheticVectors(DIM, 8, 0.8f, SEED);
    IndexSpec spec = new IndexSpec(DIM, Similarity.COSINE);
    // Two primaries with a replica each: node 2 holds a primary or a copy of each, so its death
    // costs promotions and retries while the writes go on.
    OpenSearchVectorIndex.Options options = OpenSearchVectorIndex.Options.defaults().withShards(2).withReplicas(1).withBulkActions(50);
    try (OpenSearchConnection c = OpenSearchConnection.open(OpenSearchTestCluster.config())) {
      c.send("DELETE", "/" + INDEX, Map.of(), null);
    }
    OpenSearchTestCluster.waitFor("green");
    AtomicInteger acknowledged = new AtomicInteger(); // batches whose commit returned
    int batches = 14, killAfter = 3;
    try (OpenSearchVectorIndex writer = OpenSearchVectorIndex.open(OpenSearchTestCluster.config(), INDEX, spec, options)) {
      OpenSearchTestCluster.waitFor("green");
      // The writer stops after batch killAfter until the node is dead, so the kill falls inside the
      // ingest however fast the machine is; the batch in flight at that moment is the next one.
      java.util.concurrent.CountDownLatch killed = new java.util.concurrent.CountDownLatch(1);
      CompletableFuture<Void> ingest = CompletableFuture.runAsync(() -> {
        try {
          for (int b = 0; b < batches; b++) {
            for (int i = b * BATCH; i < (b + 1) * BATCH; i++) {
              writer.add("d" + i, data.vector(i), meta(i));
              if (b == killAfter && i == b * BATCH + BATCH / 2) killed.await(); // half a batch buffered
            }
            writer.commit();
            acknowledged.incrementAndGet();
          }
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        } catch (InterruptedException e) {
          throw new IllegalStateException(e);
        }
      });
      while (acknowledged.get() < killAfter && !ingest.isDone()) {
        Thread.sleep(20);
      }
      OpenSearchTestCluster.killNode(2);
      int atKill = acknowledged.get();
      killed.countDown();
      assertEquals(killAfter, atKill, "the kill came after batch " + killAfter);

      // Node 2 is listed first: every search pays for finding it dead, none fails.
      OpenSearchConnection.Config deadFirst = OpenSearchConnection.Config.of(List.of(OpenSearchTestCluster.URLS.get(1), OpenSearchTestCluster.URLS.get(0)));
      try (OpenSearchVectorIndex reader = OpenSearchVectorIndex.open(deadFirst, INDEX, spec, options.withReadYourWrites(false))) {
        for (int q = 0; q < 20; q++) {
          List<SearchHit> hits = reader.search(data.query(q), 10);
          assertEquals(10, hits.size(), "search " + q + " during the outage (seed " + SEED + ")");
        }
      }
      ingest.get(5, TimeUnit.MINUTES); // the writes went on without node 2
      assertEquals(batches, acknowledged.get());
      assertTrue(acknowledged.get() > atKill, "no batch was acknowledged after the kill");
    }

    OpenSearchTestCluster.startNode(2);
    OpenSearchTestCluster.waitFor("green"); // rejoined, replicas recovered

    try (OpenSearchVectorIndex reopened = OpenSearchVectorIndex.open(OpenSearchTestCluster.config(), INDEX, spec, options)) {
      assertEquals(batches * BATCH, reopened.size(), "items present after the node came back");
      for (int i = 0; i < batches * BATCH; i++) {
        assertTrue(reopened.contains("d" + i), "acknowledged d" + i + " was lost (seed " + SEED + ")");
      }
      for (int i = 0; i < batches * BATCH; i += 97) {
        assertEquals(meta(i), reopened.get("d" + i).orElseThrow());
      }
      assertEquals("d5", reopened.search(data.vector(5), 1).getFirst().id());
      assertFalse(reopened.search(data.query(0), 10).isEmpty());
    } finally {
      try (OpenSearchConnection c = OpenSearchConnection.open(OpenSearchTestCluster.config())) {
        c.send("DELETE", "/" + INDEX, Map.of(), null);
      }
    }
  }
}
