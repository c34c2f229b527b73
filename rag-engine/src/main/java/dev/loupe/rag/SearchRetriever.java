package dev.loupe.rag;

import dev.loupe.rag.search.Query;
import dev.loupe.rag.search.SearchMode;
import dev.loupe.rag.search.SearchRequest;
import dev.loupe.rag.search.SearchResult;
import dev.loupe.rag.search.Searcher;
import dev.loupe.vectorstore.Metadata;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.ToIntFunction;

/**
 * The {@link Retriever} over the {@link Searcher}: one hybrid search of the passages (BM25 and the
 * passage model's vectors, fused) and a CLIP search of images, pages and video frames for the same
 * query, merged by the searcher's rank fusion; then at most {@link RetrievalOptions#maxPerDocument}
 * sources per document (content hash) and, in rank order, as many as fit {@link
 * RetrievalOptions#tokenBudget} tokens as the LLM's tokenizer counts them. A source too large for
 * what is left is skipped and smaller ones after it still get their chance.
 *
 * <p>Passages enter the prompt with their whole text. A visual enters as words the model can use:
 * its file name, its page or time, the text of a passage on the same page of the same document
 * (found in the same results, else by a keyword search of that file), and its metadata fields.
 *
 * <p>Thread-safe: the searcher is, and the token counter must be.
 */
public final class SearchRetriever implements Retriever {
  /** Hits asked of the searcher per source wanted: room for the per-document limit and the budget. */
  static final int OVERFETCH = 3;
  /** The most characters of nearby text a visual's description carries. */
  static final int NEARBY_CHARS = 600;
  /** Metadata fields that are bookkeeping, not content, and stay out of descriptions. */
  private static final Set<String> HIDDEN_FIELDS = Set.of("sha", "thumbnail", "chunk", "offset", "mime");

  private final Searcher searcher;
  private final ToIntFunction<String> tokens;

  /**
   * @param searcher the search engine over both indexes
   * @param tokens counts the tokens of a text with the LLM's tokenizer
   */
  public SearchRetriever(Searcher searcher, ToIntFunction<String> tokens) {
    if (searcher == null || tokens == null) {
      throw new IllegalArgumentException("a search retriever needs a searcher and a token counter");
    }
    this.searcher = searcher;
    this.tokens = tokens;
  }

  @Override
  public Retrieval retrieve(String query, RetrievalOptions options) {
    long t0 = System.nanoTime();
    int k = Math.min(SearchRequest.MAX_K, options.maxSources() * OVERFETCH);
    SearchRequest request = new SearchRequest(new Query.Text(query), k, 0, options.types(), options.pathPrefix(),
        options.from(), options.to(), null, SearchMode.HYBRID);
    SearchResult result = searcher.search(request);
    List<String> notes = result.sides().stream().filter(s -> s.note() != null).map(s -> s.space() + ": " + s.note()).toList();

    Map<String, Integer> perDocument = new HashMap<>();
    List<Source> kept = new ArrayList<>();
    int used = 0;
    int dropped = 0;
    for (SearchResult.Hit hit : result.hits()) {
      if (kept.size() == options.maxSources()) {
        dropped++;
        continue;
      }
      String document = document(hit);
      if (perDocument.getOrDefault(document, 0) >= options.maxPerDocument()) {
        dropped++;
        continue;
      }
      String title = title(hit);
      String text = hit.type().equals("text") ? passageText(hit) : describeVisual(hit, result.hits());
      int cost = tokens.applyAsInt(title + "\n" + text);
      if (used + cost > options.tokenBudget()) {
        dropped++;
        continue;
      }
      used += cost;
      perDocument.merge(document, 1, Integer::sum);
      kept.add(new Source(kept.size() + 1, hit.id(), hit.type(), hit.path(), hit.page(), hit.timestamp(),
          hit.thumbnail(), title, text, cost, hit.score()));
    }
    return new Retrieval(query, kept, used, dropped, System.nanoTime() - t0, notes);
  }

  /** The document a hit belongs to: its content hash, the part of the id before '#'. */
  static String document(SearchResult.Hit hit) {
    String sha = hit.fields().get("sha");
    if (sha != null) return sha;
    int hash = hit.id().indexOf('#');
    return hash < 0 ? hit.id() : hit.id().substring(0, hash);
  }

  /** The heading of a source: file name, then page or time, then what kind of item it is. */
  static String title(SearchResult.Hit hit) {
    Path p = Path.of(hit.path()).getFileName();
    StringBuilder t = new StringBuilder(p == null ? hit.path() : p.toString());
    if (hit.page() > 0) {
      t.append(", page ").append(hit.page());
    }
    if (hit.timestamp() > 0) {
      t.append(hit.type().equals("video-frame") ? ", at " + clock(hit.timestamp()) : ", taken " + date(hit.timestamp()));
    }
    if (!hit.type().equals("text")) {
      t.append(" (").append(hit.type().replace('-', ' ')).append(')');
    }
    return t.toString();
  }

  private String passageText(SearchResult.Hit hit) {
    String text = searcher.item(hit.id()).map(Metadata::text).orElse(null);
    if (text == null || text.isBlank()) {
      text = hit.snippet() == null ? "" : hit.snippet();
    }
    return text.strip().replaceAll("\\s+", " ");
  }

  /** Words for a picture: what it is, the nearby page text, its metadata. */
  private String describeVisual(SearchResult.Hit hit, List<SearchResult.Hit> all) {
    StringBuilder d = new StringBuilder();
    String kind = switch (hit.type()) {
      case "page" -> "A rendered page of " + fileName(hit.path());
      case "video-frame" -> "A frame of the video " + fileName(hit.path()) + " at " + clock(hit.timestamp());
      case "embedded-image" -> "An image inside " + fileName(hit.path()) + (hit.page() > 0 ? " on page " + hit.page() : "");
      default -> "The picture " + fileName(hit.path());
    };
    d.append(kind).append('.');
    String nearby = nearbyText(hit, all);
    if (nearby != null) {
      d.append(" Text on the page: ").append(nearby);
    }
    List<String> fields = new ArrayList<>();
    hit.fields().entrySet().stream().filter(e -> !HIDDEN_FIELDS.contains(e.getKey()) && !e.getValue().isBlank())
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> fields.add(e.getKey() + ": " + e.getValue()));
    if (!fields.isEmpty()) {
      d.append(" Metadata: ").append(String.join("; ", fields)).append('.');
    }
    return d.toString();
  }

  /** A passage of the same document and page: from the results when one is there, else a keyword search of the file. */
  private String nearbyText(SearchResult.Hit hit, List<SearchResult.Hit> all) {
    if (hit.page() <= 0) {
      return null;
    }
    String document = document(hit);
    for (SearchResult.Hit h : all) {
      if (h.type().equals("text") && h.page() == hit.page() && document(h).equals(document)) {
        return clip(passageText(h));
      }
    }
    String words = fileName(hit.path()).replaceAll("[^\\p{L}\\p{N}]+", " ").strip();
    if (words.isEmpty()) {
      return null;
    }
    try {
      SearchResult same = searcher.search(new SearchRequest(new Query.Text(words), 20, 0, Set.of("text"), hit.path(),
          null, null, null, SearchMode.KEYWORD));
      for (SearchResult.Hit h : same.hits()) {
        if (h.page() == hit.page() && document(h).equals(document)) {
          return clip(passageText(h));
        }
      }
    } catch (RuntimeException e) {
      return null; // the description does without nearby text
    }
    return null;
  }

  private static String clip(String text) {
    if (text.length() <= NEARBY_CHARS) return text;
    int cut = text.lastIndexOf(' ', NEARBY_CHARS);
    return text.substring(0, cut > NEARBY_CHARS / 2 ? cut : NEARBY_CHARS) + "…";
  }

  private static String fileName(String path) {
    Path p = Path.of(path).getFileName();
    return p == null ? path : p.toString();
  }

  /** A frame position as m:ss or h:mm:ss. */
  static String clock(long millis) {
    long s = millis / 1000;
    return s >= 3600 ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }

  private static String date(long millis) {
    return DateTimeFormatter.ISO_LOCAL_DATE.format(Instant.ofEpochMilli(millis).atOffset(ZoneOffset.UTC));
  }
}
