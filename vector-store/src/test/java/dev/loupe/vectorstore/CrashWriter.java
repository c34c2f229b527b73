package dev.loupe.vectorstore;

import dev.loupe.vectorstore.bench.SyntheticVectors;
import java.nio.file.Path;
import java.util.Map;

/**
 * Child process of the kill -9 test: adds batches of items to an index and commits after each,
 * printing {@code ACK b} once batch {@code b}'s commit returned, until it is killed.
 */
public final class CrashWriter {
  private CrashWriter() {}

  static String id(int batch, int i) {
    return "b" + batch + "-" + i;
  }

  public static void main(String[] args) throws Exception {
    String kind = args[0];
    Path dir = Path.of(args[1]);
    int dim = Integer.parseInt(args[2]);
    int batchSize = Integer.parseInt(args[3]);
    SyntheticVectors data = new SyntheticVectors(dim, 4, 0.8f, 7);
    VectorIndex index = TestIndexes.open(kind, dir, new IndexSpec(dim, Similarity.COSINE));
    for (int b = 0; b < 100_000; b++) {
      for (int i = 0; i < batchSize; i++) {
        index.add(id(b, i), data.vector((long) b * batchSize + i), new Metadata("text", "/crash/" + b, 0, b, "", Map.of()));
      }
      index.commit();
      System.out.println("ACK " + b);
      System.out.flush();
    }
  }
}
