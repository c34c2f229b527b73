package dev.loupe.indexer;

import dev.loupe.vectorstore.Metadata;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * Turns one content into its items: extraction, chunking, thumbnails and embedding, everything an
 * ingester does to a file before it writes to the indexes and the journal. {@link
 * Ingester#processor} does it in this process; {@link dev.loupe.indexer.isolate.ChildProcessor}
 * hands it to a child process, so that extraction's garbage, native crashes and JIT work stay out
 * of a server's search JVM.
 *
 * <p>Implementations are thread-safe: an ingester's workers call {@link #process} concurrently.
 */
public interface ContentProcessor extends AutoCloseable {

  /**
   * Processes the content {@code sha} read from {@code path}.
   *
   * @throws InterruptedException when closing
   * @throws IOException when the processor itself fails (not the file: that is a {@link Failed})
   */
  Processed process(String sha, Path path) throws IOException, InterruptedException;

  @Override
  void close();

  /** One item of a content: its ordinal (the {@code #i} of its id), vector (null when none) and metadata. */
  record Item(int ordinal, boolean visual, float[] vector, Metadata metadata) {
    public Item {
      Objects.requireNonNull(metadata, "metadata");
      if (ordinal < 0) throw new IllegalArgumentException("ordinal " + ordinal + " is negative");
    }
  }

  /** What became of a content. */
  sealed interface Processed permits Items, Failed, Gone {}

  /** Its items, and the extractor's label as the journal records it. */
  record Items(String extractor, List<Item> items) implements Processed {
    public Items {
      Objects.requireNonNull(extractor, "extractor");
      items = List.copyOf(items);
    }
  }

  /** It could not be ingested: a reason (a short word such as {@code io} or {@code encrypted}) and a message. */
  record Failed(String reason, String message) implements Processed {
    public Failed {
      Objects.requireNonNull(reason, "reason");
      Objects.requireNonNull(message, "message");
    }
  }

  /** The file was moved or deleted since it was hashed: not a failure of the content. */
  record Gone() implements Processed {}
}
