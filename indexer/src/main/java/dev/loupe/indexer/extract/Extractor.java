package dev.loupe.indexer.extract;

import java.io.IOException;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Reads one kind of file (PDF, office and text documents, images, videos) into {@link Extracted}
 * pieces. Implementations are thread-safe: several files are extracted at once.
 */
public interface Extractor {

  /** Short name for logs and the journal: {@code pdf}, {@code tika}, {@code image}, {@code video}. */
  String name();

  /** Whether this extractor reads files of {@code mediaType} (as Tika detects it, e.g. {@code application/pdf}). */
  boolean accepts(String mediaType);

  /**
   * Extracts {@code file}, handing each piece to {@code sink} as it is found (so a 500-page PDF
   * is never held in memory at once).
   *
   * @throws ExtractionException for a file that cannot be read as it should (corrupt, truncated,
   *     encrypted, unsupported, over a limit): its message says precisely what and where
   * @throws IOException when the file cannot be read at all
   */
  void extract(Path file, ExtractionLimits limits, Consumer<Extracted> sink) throws IOException, ExtractionException;
}
