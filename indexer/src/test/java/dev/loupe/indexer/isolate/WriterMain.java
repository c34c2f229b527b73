package dev.loupe.indexer.isolate;

import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.FileDescriptor;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * A writer process for {@link RemoteIndexesTest}: {@code WriterMain TEXT_DIR VISUAL_DIR DIMENSION
 * [POISON]} serves {@link IndexWriterServer} over two Lucene indexes, as {@code loupe
 * index-writer} does. With {@code POISON}, the process dies at once (as a native crash would) when
 * the bytes of that id arrive, before it can commit them.
 */
public final class WriterMain {
  private WriterMain() {}

  public static void main(String[] args) throws Exception {
    var out = new FileOutputStream(FileDescriptor.out);
    System.setOut(System.err);
    IndexSpec spec = new IndexSpec(Integer.parseInt(args[2]), Similarity.COSINE);
    InputStream in = new FileInputStream(FileDescriptor.in);
    if (args.length > 3) {
      in = poisoned(in, args[3].getBytes(StandardCharsets.UTF_8));
    }
    LuceneVectorIndex text = LuceneVectorIndex.open(Path.of(args[0]), spec, LuceneVectorIndex.Options.defaults());
    LuceneVectorIndex visual = LuceneVectorIndex.open(Path.of(args[1]), spec, LuceneVectorIndex.Options.defaults());
    try {
      IndexWriterServer.serve(in, out, text, visual);
    } finally {
      visual.rollbackAndClose();
      text.rollbackAndClose();
    }
  }

  /** {@code in}, but the process halts when {@code poison} has gone by. */
  private static InputStream poisoned(InputStream in, byte[] poison) {
    return new FilterInputStream(in) {
      int matched;

      @Override
      public int read() throws IOException {
        int b = super.read();
        if (b >= 0) check((byte) b);
        return b;
      }

      @Override
      public int read(byte[] buf, int off, int len) throws IOException {
        int n = super.read(buf, off, len);
        for (int i = 0; i < n; i++) check(buf[off + i]);
        return n;
      }

      private void check(byte b) {
        matched = b == poison[matched] ? matched + 1 : (b == poison[0] ? 1 : 0);
        if (matched == poison.length) Runtime.getRuntime().halt(137);
      }
    };
  }
}
