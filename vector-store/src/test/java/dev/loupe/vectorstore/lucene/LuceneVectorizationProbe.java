package dev.loupe.vectorstore.lucene;

/**
 * Child-process entry point of {@link LuceneVectorizationTest}: prints which vectorization
 * provider Lucene chose in this JVM and the start-up line Lucene logged about it.
 */
public final class LuceneVectorizationProbe {
  private LuceneVectorizationProbe() {}

  public static void main(String[] args) {
    System.out.println("provider=" + LuceneVectorIndex.vectorizationProvider());
    System.out.println("log=" + LuceneVectorization.startupLogLine().orElse("<none>"));
  }
}
