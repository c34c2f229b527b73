package dev.loupe.vectorstore.lucene;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.lucene.codecs.hnsw.FlatVectorScorerUtil;
import org.apache.lucene.codecs.hnsw.FlatVectorsScorer;
import org.slf4j.LoggerFactory;

/**
 * Finds out, once per JVM, which vectorization provider Lucene chose. Thread-safe: the probe runs
 * in the holder's class initializer.
 *
 * <p>Lucene's {@code VectorizationProvider.getInstance()} is public but rejects callers outside
 * Lucene with an {@link IllegalCallerException}, so the probe asks public API instead: {@link
 * FlatVectorScorerUtil#getLucene99FlatVectorsScorer()} returns the provider's float scorer, and
 * only {@code PanamaVectorizationProvider} hands out the memory-segment scorer built on {@code
 * jdk.incubator.vector}. When the probe is the first to touch the provider it also captures
 * Lucene's own start-up line ({@code "Java vector incubator API enabled; uses
 * preferredBitSize=…"}) and repeats it through SLF4J.
 */
final class LuceneVectorization {

  static final String PANAMA_PROVIDER =
      "org.apache.lucene.internal.vectorization.PanamaVectorizationProvider";
  static final String DEFAULT_PROVIDER =
      "org.apache.lucene.internal.vectorization.DefaultVectorizationProvider";

  /** The scorer class {@code PanamaVectorizationProvider} returns and no other provider does. */
  static final String PANAMA_FLOAT_SCORER =
      "org.apache.lucene.internal.vectorization.Lucene99MemorySegmentFlatVectorsScorer";

  private LuceneVectorization() {}

  /** The fully qualified class name of Lucene's vectorization provider in this JVM. */
  static String provider() {
    return Holder.PROVIDER;
  }

  /** Lucene's start-up log line about vectorization, if the probe was there to see it. */
  static Optional<String> startupLogLine() {
    return Optional.ofNullable(Holder.LOG_LINE);
  }

  private static final class Holder {
    static final String PROVIDER;
    static final String LOG_LINE;

    static {
      // Handlers on a parent logger see the records of its children; the provider logs under
      // its own class name inside this package.
      Logger luceneLog = Logger.getLogger("org.apache.lucene.internal.vectorization");
      List<String> lines = new ArrayList<>();
      Handler capture =
          new Handler() {
            @Override
            public void publish(LogRecord record) {
              synchronized (lines) {
                lines.add(record.getMessage());
              }
            }

            @Override
            public void flush() {}

            @Override
            public void close() {}
          };
      luceneLog.addHandler(capture);
      FlatVectorsScorer scorer;
      try {
        scorer = FlatVectorScorerUtil.getLucene99FlatVectorsScorer();
      } finally {
        luceneLog.removeHandler(capture);
      }
      PROVIDER =
          scorer.getClass().getName().equals(PANAMA_FLOAT_SCORER)
              ? PANAMA_PROVIDER
              : DEFAULT_PROVIDER;
      synchronized (lines) {
        LOG_LINE = lines.isEmpty() ? null : String.join("; ", lines);
      }
      var log = LoggerFactory.getLogger(LuceneVectorIndex.class);
      if (PROVIDER.equals(PANAMA_PROVIDER)) {
        log.info(
            "Lucene vector scoring uses {}{}",
            PROVIDER,
            LOG_LINE == null ? "" : " (" + LOG_LINE + ")");
      } else {
        log.warn(
            "Lucene vector scoring uses the scalar {}{}; start the JVM with"
                + " --add-modules jdk.incubator.vector for SIMD scoring",
            PROVIDER,
            LOG_LINE == null ? "" : " (" + LOG_LINE + ")");
      }
    }
  }
}
