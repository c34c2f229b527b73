package dev.loupe.vectorstore.lucene;

import dev.loupe.vectorstore.IndexSpec;
import java.io.IOException;
import java.util.concurrent.ExecutorService;
import org.apache.lucene.codecs.Codec;
import org.apache.lucene.codecs.KnnVectorsFormat;
import org.apache.lucene.codecs.KnnVectorsReader;
import org.apache.lucene.codecs.KnnVectorsWriter;
import org.apache.lucene.codecs.lucene104.Lucene104Codec;
import org.apache.lucene.codecs.lucene104.Lucene104HnswScalarQuantizedVectorsFormat;
import org.apache.lucene.codecs.lucene99.Lucene99HnswVectorsFormat;
import org.apache.lucene.index.SegmentReadState;
import org.apache.lucene.index.SegmentWriteState;
import org.apache.lucene.util.quantization.QuantizedByteVectorValues.ScalarEncoding;

/**
 * Builds the codec {@link LuceneVectorIndex} writes with: Lucene 10.6's default codec with the
 * vector field's HNSW format configured from {@link LuceneVectorIndex.Options}. Stateless.
 */
final class LuceneCodecs {

  private LuceneCodecs() {}

  /**
   * The codec for new segments. The codec keeps Lucene's SPI name ({@code Lucene104}), and the
   * vector format keeps the name of the Lucene format it wraps, so a reader needs nothing but
   * lucene-core to open the index: the per-field format name written into each segment resolves
   * to Lucene's own class.
   *
   * @param mergeExecutor the executor HNSW merges spread graph building over, or null when
   *     {@code options.mergeWorkers()} is 1 (Lucene rejects an executor for a single worker)
   */
  static Codec codec(LuceneVectorIndex.Options options, ExecutorService mergeExecutor) {
    KnnVectorsFormat hnsw =
        options.scalarQuantized()
            ? new Lucene104HnswScalarQuantizedVectorsFormat(
                ScalarEncoding.UNSIGNED_BYTE,
                options.maxConn(),
                options.beamWidth(),
                options.mergeWorkers(),
                mergeExecutor)
            : new Lucene99HnswVectorsFormat(
                options.maxConn(), options.beamWidth(), options.mergeWorkers(), mergeExecutor);
    KnnVectorsFormat vectors = new WideVectorsFormat(hnsw);
    return new Lucene104Codec() {
      @Override
      public KnnVectorsFormat getKnnVectorsFormatForField(String field) {
        return vectors;
      }
    };
  }

  /**
   * Lucene's HNSW formats accept at most 1024 dimensions, a guard against accidental huge vectors
   * rather than a limit of the on-disk format or the graph. Loupe's {@link IndexSpec} already
   * bounds the dimension at {@link IndexSpec#MAX_DIMENSION}, so this wrapper raises the guard to
   * that and otherwise delegates. It reports the delegate's name, so segments it writes are read
   * back by the delegate's own class through SPI.
   */
  private static final class WideVectorsFormat extends KnnVectorsFormat {
    private final KnnVectorsFormat delegate;

    WideVectorsFormat(KnnVectorsFormat delegate) {
      super(delegate.getName());
      this.delegate = delegate;
    }

    @Override
    public KnnVectorsWriter fieldsWriter(SegmentWriteState state) throws IOException {
      return delegate.fieldsWriter(state);
    }

    @Override
    public KnnVectorsReader fieldsReader(SegmentReadState state) throws IOException {
      return delegate.fieldsReader(state);
    }

    @Override
    public int getMaxDimensions(String fieldName) {
      return IndexSpec.MAX_DIMENSION;
    }

    @Override
    public String toString() {
      return delegate.toString();
    }
  }
}
