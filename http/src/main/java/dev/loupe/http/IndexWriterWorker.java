package dev.loupe.http;

import dev.loupe.indexer.isolate.IndexWriterServer;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The index writer child of {@code loupe serve}: {@code loupe index-writer --data DIR --text DIM
 * [--visual DIM]} (not for people to run) holds the writers of the data folder's Lucene indexes
 * and applies the server's writes ({@link IndexWriterServer}), while the server searches read-only
 * views of the same directories. Started like {@link IngestWorker}, in the idle scheduling class at
 * nice 19. Its messages go to standard error, which is the server's.
 */
final class IndexWriterWorker {
  static final String COMMAND = "index-writer";

  private IndexWriterWorker() {}

  /** The command line that starts a writer for {@code dataDir}'s indexes; {@code visualDimension} 0 for none. */
  static List<String> command(Path dataDir, int textDimension, int visualDimension) {
    List<String> args = new ArrayList<>(List.of("--data", dataDir.toAbsolutePath().toString(), "--text", Integer.toString(textDimension)));
    if (visualDimension > 0) {
      args.addAll(List.of("--visual", Integer.toString(visualDimension)));
    }
    return IngestWorker.command(COMMAND, args);
  }

  /** Runs the writer: {@code args} are {@code index-writer --data DIR --text DIM [--visual DIM]}. Returns the exit code. */
  static int run(String[] args, PrintStream err) throws IOException {
    Path dataDir = null;
    int text = 0, visual = 0;
    try {
      for (int i = 1; i + 1 < args.length; i += 2) {
        switch (args[i]) {
          case "--data" -> dataDir = Path.of(args[i + 1]);
          case "--text" -> text = Integer.parseInt(args[i + 1]);
          case "--visual" -> visual = Integer.parseInt(args[i + 1]);
          default -> throw new IllegalArgumentException(args[i]);
        }
      }
    } catch (IllegalArgumentException e) {
      dataDir = null;
    }
    if (dataDir == null || text < 1 || visual < 0 || args.length % 2 == 0) {
      err.println("loupe: usage: loupe " + COMMAND + " --data DIR --text DIM [--visual DIM] (started by loupe serve, not by hand)");
      return 2;
    }
    // Standard output carries the answers: nothing else may write to it.
    OutputStream answers = new FileOutputStream(FileDescriptor.out);
    System.setOut(System.err);
    LuceneVectorIndex textIndex = null, visualIndex = null;
    try {
      textIndex = LuceneVectorIndex.open(dataDir.resolve("index").resolve("text"), new IndexSpec(text, Similarity.COSINE),
          Pipeline.SEARCH_WHILE_INGESTING);
      if (visual > 0) {
        visualIndex = LuceneVectorIndex.open(dataDir.resolve("index").resolve("visual"), new IndexSpec(visual, Similarity.COSINE),
            Pipeline.SEARCH_WHILE_INGESTING);
      }
      IndexWriterServer.serve(System.in, answers, textIndex, visualIndex);
      return 0;
    } finally {
      // Without a commit: what the server did not commit, its journal did not make durable either.
      if (visualIndex != null) visualIndex.rollbackAndClose();
      if (textIndex != null) textIndex.rollbackAndClose();
    }
  }
}
