package dev.loupe.indexer.bench;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.bench.GeneratedClip;
import dev.loupe.embeddings.bench.TransformerModels;
import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.onnx.OnnxEmbedder;
import dev.loupe.indexer.IngestConfig;
import dev.loupe.indexer.IngestStatus;
import dev.loupe.indexer.IngestSummary;
import dev.loupe.indexer.Ingester;
import dev.loupe.indexer.chunk.TextChunker;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionLimits;
import dev.loupe.indexer.extract.Extractors;
import dev.loupe.indexer.journal.IngestJournal;
import dev.loupe.vectorstore.IndexSpec;
import dev.loupe.vectorstore.Similarity;
import dev.loupe.vectorstore.lucene.LuceneVectorIndex;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/**
 * {@code loupe bench ingest}: how fast a folder becomes searchable, and what it costs in memory.
 *
 * <p>On a seeded {@link SyntheticCorpus} (10,000 files by default) it measures, in one run:
 *
 * <ol>
 *   <li><b>hash</b>: reading and SHA-256 hashing every file on one thread, as the ingester does
 *       for each file it sees: the floor under any ingest;
 *   <li><b>extraction alone</b>: the standard extractors and the text chunker over every file on
 *       the ingester's number of worker threads (PDF text, page renders, embedded images, image
 *       decoding): files/s, PDF pages/s;
 *   <li><b>end to end</b>: a real {@link Ingester} with journal, Lucene indexes, thumbnails and a
 *       generated CLIP-shaped embedder ({@link GeneratedClip}, random weights; {@code tiny} by
 *       default, {@code vit-b32} for the real model's arithmetic) over the folder: files/s, pages/s,
 *       visual items/s, peak resident memory, and the live heap after a collection at each quarter
 *       of the files, which stays flat when back-pressure works;
 *   <li><b>embedder alone</b>: the same embedder on 64 images and 64 passages, batched, so the
 *       end-to-end time can be set against extraction plus embedding done back to back.
 * </ol>
 *
 * The last line printed is one JSON object with every figure.
 */
public final class IngestBench {
  private static final String USAGE = "usage: loupe bench ingest [--files N] [--shape tiny|vit-b32] [--dir DIR] [--workers W]"
      + " [--threads T] [--batch B] [--seed S] [--mix documents|images] [--tokenizer tokenizer.json] [--phases hash,extract,e2e]";
  /** NVIDIA's NanoDB: 275K MS-COCO images in about 5 hours with CLIP on a Jetson AGX Orin. */
  static final double NANODB_IMAGES_PER_S = 275_000 / (5 * 3600.0);

  private IngestBench() {}

  record Config(int files, String shape, Path dir, int workers, int threads, int batch, long seed, Path tokenizer, List<String> phases,
      SyntheticCorpus.Mix mix) {
    Config {
      if (files < 1) throw new IllegalArgumentException("--files " + files + " must be at least 1");
      if (!shape.equals("tiny") && !shape.equals("vit-b32")) throw new IllegalArgumentException("--shape '" + shape + "' must be tiny or vit-b32");
      if (workers < 1 || workers > 256) throw new IllegalArgumentException("--workers " + workers + " is outside [1, 256]");
      if (threads < 1) throw new IllegalArgumentException("--threads " + threads + " must be at least 1");
      if (batch < 1 || batch > 1024) throw new IllegalArgumentException("--batch " + batch + " is outside [1, 1024]");
      for (String p : phases) {
        if (!List.of("hash", "extract", "e2e").contains(p)) throw new IllegalArgumentException("--phases: unknown phase '" + p + "'; expected hash, extract, e2e");
      }
      if (phases.isEmpty()) throw new IllegalArgumentException("--phases names no phase");
    }
  }

  public static int run(String[] args, PrintStream out, PrintStream err) throws Exception {
    Config c;
    try {
      c = parse(args);
    } catch (IllegalArgumentException e) {
      err.println("loupe bench ingest: " + e.getMessage());
      err.println(USAGE);
      return 2;
    }
    try {
      out.println(new ObjectMapper().writeValueAsString(new Run(c, out).run()));
      return 0;
    } catch (IllegalArgumentException | IOException e) {
      err.println("loupe bench ingest: " + e.getMessage());
      return 1;
    }
  }

  static Config parse(String[] args) {
    int files = 10_000, cores = Runtime.getRuntime().availableProcessors();
    int workers = cores, threads = cores, batch = 16;
    String shape = "tiny";
    long seed = 42;
    Path dir = null, tokenizer = null;
    List<String> phases = List.of("hash", "extract", "e2e");
    SyntheticCorpus.Mix mix = SyntheticCorpus.Mix.DOCUMENTS;
    for (int i = 0; i < args.length; i++) {
      String flag = args[i];
      if (flag.equals("--help") || flag.equals("-h")) throw new IllegalArgumentException("help");
      if (i + 1 >= args.length) throw new IllegalArgumentException("flag " + flag + " needs a value");
      String value = args[++i];
      switch (flag) {
        case "--files" -> files = intValue(flag, value);
        case "--shape" -> shape = value;
        case "--dir" -> dir = Path.of(value);
        case "--workers" -> workers = intValue(flag, value);
        case "--threads" -> threads = intValue(flag, value);
        case "--batch" -> batch = intValue(flag, value);
        case "--seed" -> seed = intValue(flag, value);
        case "--tokenizer" -> tokenizer = Path.of(value);
        case "--phases" -> phases = List.of(value.split(","));
        case "--mix" -> mix = switch (value) {
          case "documents" -> SyntheticCorpus.Mix.DOCUMENTS;
          case "images" -> SyntheticCorpus.Mix.IMAGES;
          default -> throw new IllegalArgumentException("--mix '" + value + "' must be documents or images");
        };
        default -> throw new IllegalArgumentException("unknown flag " + flag);
      }
    }
    return new Config(files, shape, dir, workers, threads, batch, seed, tokenizer, phases, mix);
  }

  private static int intValue(String flag, String value) {
    try {
      return Integer.parseInt(value);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(flag + " '" + value + "' is not a whole number");
    }
  }

  /** What the extraction phase found; the end-to-end phase makes the same items. */
  record Found(long chunks, long visuals) {}

  private record Run(Config c, PrintStream out) {

    Map<String, Object> run() throws Exception {
      Map<String, Object> json = new LinkedHashMap<>();
      json.put("benchmark", "ingest");
      json.put("machine", Map.of("cores", Runtime.getRuntime().availableProcessors(), "cpu", cpuModel(),
          "jdk", Runtime.version().toString(), "max_heap_mb", Runtime.getRuntime().maxMemory() >> 20));
      json.put("workers", c.workers());
      json.put("onnx_threads", c.threads());
      json.put("batch", c.batch());
      out.printf(Locale.ROOT, "machine: %s, %d cores, max heap %,d MB; %d extraction workers%n", cpuModel(),
          Runtime.getRuntime().availableProcessors(), Runtime.getRuntime().maxMemory() >> 20, c.workers());

      Path work = c.dir() != null ? Files.createDirectories(c.dir()) : Files.createTempDirectory("loupe-bench-ingest");
      try {
        String mixName = c.mix() == SyntheticCorpus.Mix.DOCUMENTS ? "" : "-" + c.mix().name().toLowerCase(Locale.ROOT);
        Path corpusDir = work.resolve("corpus-" + c.files() + "-" + c.seed() + mixName);
        long t0 = System.nanoTime();
        SyntheticCorpus.Summary corpus = SyntheticCorpus.write(corpusDir, c.files(), c.seed(), c.mix(), out);
        List<Path> files = SyntheticCorpus.files(corpusDir);
        if (files.size() != c.files()) {
          throw new IOException("corpus folder " + corpusDir + " holds " + files.size() + " files, not " + c.files() + "; delete it to regenerate");
        }
        out.printf(Locale.ROOT, "corpus: %,d files, %,d MB, %,d PDF pages, %s (ready in %.1f s)%n", corpus.files(),
            corpus.bytes() >> 20, corpus.pdfPages(), corpus.kinds(), (System.nanoTime() - t0) / 1e9);
        json.put("corpus", Map.of("mix", c.mix().name().toLowerCase(Locale.ROOT), "files", corpus.files(), "bytes", corpus.bytes(), "pdf_pages", corpus.pdfPages(), "kinds", corpus.kinds()));

        if (c.phases().contains("hash")) {
          json.put("hash", hash(files, corpus.bytes()));
        }
        Found found = null;
        if (c.phases().contains("extract")) {
          Map<String, Object> r = new LinkedHashMap<>();
          found = extract(files, r);
          json.put("extract", r);
        }
        if (c.phases().contains("e2e")) {
          Path modelDir = modelDir(work);
          try (OnnxEmbedder embedder = OnnxEmbedder.open(modelDir, new OnnxEmbedder.Options(c.batch(), c.threads(), OnnxEmbedder.Device.CPU))) {
            Map<String, Object> e2e = endToEnd(corpusDir, work.resolve("data"), embedder, corpus);
            json.put("e2e", e2e);
            Map<String, Object> alone = embedAlone(embedder);
            json.put("embed_alone", alone);
            if (found != null) {
              compare(json, found, corpus);
            }
          }
        }
      } finally {
        if (c.dir() == null) {
          deleteTree(work);
        } else {
          deleteTree(work.resolve("data"));
        }
      }
      return json;
    }

    private Path modelDir(Path work) throws IOException {
      boolean tiny = c.shape().equals("tiny");
      TransformerModels.Shape vision = tiny ? GeneratedClip.TINY_VISION : TransformerModels.VIT_B32_VISION;
      TransformerModels.Shape text = tiny ? GeneratedClip.TINY_TEXT : TransformerModels.VIT_B32_TEXT;
      return GeneratedClip.write(work.resolve("generated-" + c.shape()), c.shape(), vision, text, c.tokenizer(), out);
    }

    /** Reads and SHA-256 hashes every file on one thread. */
    private Map<String, Object> hash(List<Path> files, long bytes) throws IOException {
      MessageDigest sha;
      try {
        sha = MessageDigest.getInstance("SHA-256");
      } catch (NoSuchAlgorithmException e) {
        throw new IllegalStateException("the JDK has no SHA-256", e);
      }
      byte[] buffer = new byte[1 << 16];
      long t0 = System.nanoTime();
      for (Path f : files) {
        try (InputStream in = Files.newInputStream(f)) {
          for (int n; (n = in.read(buffer)) > 0; ) {
            sha.update(buffer, 0, n);
          }
        }
        sha.digest();
      }
      double s = (System.nanoTime() - t0) / 1e9;
      out.printf(Locale.ROOT, "hash (read + SHA-256, 1 thread): %.1f s, %.0f files/s, %.0f MB/s%n", s, files.size() / s, bytes / s / 1e6);
      return Map.of("seconds", round(s), "files_per_s", round(files.size() / s), "mb_per_s", round(bytes / s / 1e6));
    }

    /** The standard extractors plus chunking over every file, on {@code workers} threads. */
    private Found extract(List<Path> files, Map<String, Object> r) throws InterruptedException {
      Extractors extractors = Extractors.standard();
      ExtractionLimits limits = ExtractionLimits.defaults();
      TextChunker chunker = TextChunker.withDefaults();
      AtomicInteger next = new AtomicInteger();
      AtomicLong chunks = new AtomicLong(), visuals = new AtomicLong(), pages = new AtomicLong(), failed = new AtomicLong();
      ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
      long t0 = System.nanoTime();
      List<Thread> threads = new ArrayList<>();
      for (int w = 0; w < c.workers(); w++) {
        threads.add(Thread.ofPlatform().name("bench-extract-" + w).start(() -> {
          for (int i; (i = next.getAndIncrement()) < files.size(); ) {
            List<Extracted.Text> parts = new ArrayList<>();
            try {
              extractors.extract(files.get(i), limits, e -> {
                switch (e) {
                  case Extracted.Text t -> parts.add(t);
                  case Extracted.Visual v -> {
                    visuals.incrementAndGet();
                    if (v.kind() == Extracted.Kind.PAGE_RENDER) pages.incrementAndGet();
                  }
                  case Extracted.Metadata ignored -> {}
                }
              });
              chunks.addAndGet(chunker.chunk(parts).size());
            } catch (IOException | ExtractionException | RuntimeException e) {
              failed.incrementAndGet();
              if (failures.size() < 5) failures.add(files.get(i) + ": " + e.getMessage());
            }
          }
        }));
      }
      for (Thread t : threads) t.join();
      double s = (System.nanoTime() - t0) / 1e9;
      out.printf(Locale.ROOT, "extraction alone (%d workers): %.1f s, %.0f files/s, %.1f PDF pages/s; %,d chunks, %,d visuals, %d failed%n",
          c.workers(), s, files.size() / s, pages.get() / s, chunks.get(), visuals.get(), failed.get());
      failures.forEach(f -> out.println("  failed " + f));
      r.put("seconds", round(s));
      r.put("files_per_s", round(files.size() / s));
      r.put("pages_per_s", round(pages.get() / s));
      r.put("chunks", chunks.get());
      r.put("visuals", visuals.get());
      r.put("pages", pages.get());
      r.put("failed", failed.get());
      return new Found(chunks.get(), visuals.get());
    }

    private Map<String, Object> endToEnd(Path corpusDir, Path data, Embedder embedder, SyntheticCorpus.Summary corpus)
        throws IOException, InterruptedException {
      deleteTree(data);
      Files.createDirectories(data);
      int dim = embedder.info().dimension();
      Map<String, Object> r = new LinkedHashMap<>();
      Memory memory = new Memory();
      memory.resetPeak();
      try (IngestJournal journal = IngestJournal.open(data.resolve("journal"));
           LuceneVectorIndex textIndex = LuceneVectorIndex.open(data.resolve("index/text"), new IndexSpec(dim, Similarity.COSINE),
               LuceneVectorIndex.Options.defaults());
           LuceneVectorIndex visualIndex = LuceneVectorIndex.open(data.resolve("index/visual"), new IndexSpec(dim, Similarity.COSINE),
               LuceneVectorIndex.Options.defaults())) {
        IngestConfig config = IngestConfig.defaults(data).withWorkers(c.workers()).withEmbedBatch(c.batch());
        long t0;
        IngestSummary summary;
        List<Long> liveHeap = new ArrayList<>();
        try (Ingester ingester = new Ingester(config, journal, Extractors.standard(), TextChunker.withDefaults(),
            embedder, textIndex, embedder, visualIndex)) {
          ingester.start();
          // A sampler: peak heap, and the live heap after a collection at each quarter of the files.
          AtomicLong peakHeap = new AtomicLong();
          Thread sampler = Thread.ofPlatform().daemon().name("bench-memory").start(() -> {
            int quarter = 1;
            long lastPrint = System.nanoTime();
            while (!Thread.currentThread().isInterrupted()) {
              IngestStatus s = ingester.status();
              peakHeap.accumulateAndGet(memory.heapUsed(), Math::max);
              if (quarter < 4 && s.done() + s.failed() >= (long) corpus.files() * quarter / 4) {
                liveHeap.add(memory.liveHeapAfterGc());
                quarter++;
              }
              if (System.nanoTime() - lastPrint > 10e9) {
                out.printf(Locale.ROOT, "  e2e: %,d done, %d failed, %,d items, %.1f files/s%n", s.done(), s.failed(), s.items(), s.filesPerSecond());
                lastPrint = System.nanoTime();
              }
              try {
                Thread.sleep(100);
              } catch (InterruptedException e) {
                return;
              }
            }
          });
          t0 = System.nanoTime();
          try {
            summary = ingester.ingest(List.of(corpusDir));
          } finally {
            sampler.interrupt();
            sampler.join();
          }
          double s = (System.nanoTime() - t0) / 1e9;
          while (liveHeap.size() < 3) liveHeap.add(null);
          liveHeap.add(memory.liveHeapAfterGc());
          r.put("seconds", round(s));
          r.put("files", summary.files());
          r.put("done", summary.done());
          r.put("failed", summary.failed());
          r.put("items", summary.items());
          r.put("files_per_s", round(summary.files() / s));
          r.put("pages_per_s", round(corpus.pdfPages() / s));
          r.put("items_per_s", round(summary.items() / s));
          r.put("peak_heap_mb", peakHeap.get() >> 20);
          r.put("live_heap_mb_at_quarters", liveHeap.stream().map(b -> b == null ? null : b >> 20).toList());
          out.printf(Locale.ROOT, "end to end (%s embedder, %d workers): %.1f s, %.1f files/s, %.1f PDF pages/s, %,d items (%.1f/s), %d failed%n",
              c.shape(), c.workers(), s, summary.files() / s, corpus.pdfPages() / s, summary.items(), summary.items() / s, summary.failed());
          summary.failures().stream().limit(5).forEach(f -> out.println("  failed " + f.path() + ": " + f.failure().message()));
        }
      }
      long rss = memory.peakRss();
      r.put("peak_rss_mb", rss >> 20);
      r.put("peak_rss_since", memory.peakResetWorked ? "phase start" : "process start");
      r.put("data_mb", treeSize(data) >> 20);
      out.printf(Locale.ROOT, "memory: peak RSS %,d MB (since %s), peak heap %,d MB, live heap after GC at 25/50/75/100%% of files: %s MB; data folder %,d MB%n",
          rss >> 20, r.get("peak_rss_since"), r.get("peak_heap_mb"), r.get("live_heap_mb_at_quarters"), r.get("data_mb"));
      return r;
    }

    /** The embedder on its own: 64 photo-sized images and 64 passages, in batches. */
    private Map<String, Object> embedAlone(Embedder embedder) {
      var random = new SplittableRandom(c.seed() + 1);
      List<Media> images = new ArrayList<>();
      List<Media> passages = new ArrayList<>();
      TextChunker chunker = TextChunker.withDefaults();
      for (int i = 0; i < 64; i++) {
        images.add(new Media.Image(ImageDecoder.toRgb(SyntheticCorpus.photo(random, 640, 480))));
      }
      while (passages.size() < 64) {
        for (var chunk : chunker.chunk(new Extracted.Text(SyntheticCorpus.prose(random, 8), 0, 0))) {
          if (passages.size() < 64) passages.add(new Media.Text(chunk.text()));
        }
      }
      embedder.embedAll(images.subList(0, c.batch() > 64 ? 64 : c.batch())); // warm-up
      embedder.embedAll(passages.subList(0, c.batch() > 64 ? 64 : c.batch()));
      long t0 = System.nanoTime();
      embedder.embedAll(images);
      double imageSeconds = (System.nanoTime() - t0) / 1e9 / images.size();
      t0 = System.nanoTime();
      embedder.embedAll(passages);
      double textSeconds = (System.nanoTime() - t0) / 1e9 / passages.size();
      out.printf(Locale.ROOT, "embedder alone (batches of %d, %d threads): %.1f images/s, %.1f passages/s%n",
          c.batch(), c.threads(), 1 / imageSeconds, 1 / textSeconds);
      return Map.of("images_per_s", round(1 / imageSeconds), "passages_per_s", round(1 / textSeconds));
    }

    /** End to end against extraction and embedding run back to back, and against NanoDB's rate. */
    private void compare(Map<String, Object> json, Found found, SyntheticCorpus.Summary corpus) {
      @SuppressWarnings("unchecked") Map<String, Object> e2e = (Map<String, Object>) json.get("e2e");
      @SuppressWarnings("unchecked") Map<String, Object> extract = (Map<String, Object>) json.get("extract");
      @SuppressWarnings("unchecked") Map<String, Object> alone = (Map<String, Object>) json.get("embed_alone");
      double embedSeconds = found.visuals() / (double) alone.get("images_per_s") + found.chunks() / (double) alone.get("passages_per_s");
      double extractSeconds = (double) extract.get("seconds"), e2eSeconds = (double) e2e.get("seconds");
      double serial = extractSeconds + embedSeconds;
      Map<String, Object> r = new LinkedHashMap<>();
      r.put("embed_alone_seconds_for_these_items", round(embedSeconds));
      r.put("extract_plus_embed_seconds", round(serial));
      r.put("e2e_vs_extract_plus_embed", round(serial / e2eSeconds));
      json.put("comparison", r);
      out.printf(Locale.ROOT, "extraction alone %.1f s + embedding alone %.1f s = %.1f s back to back; end to end %.1f s: %.2fx of back to back%n",
          extractSeconds, embedSeconds, serial, e2eSeconds, serial / e2eSeconds);
      // NanoDB's figure is CLIP ViT-B/32 over a folder of photos: comparable only to the same work.
      if (c.mix() == SyntheticCorpus.Mix.IMAGES && c.shape().equals("vit-b32")) {
        double imagesPerSecond = found.visuals() / e2eSeconds;
        r.put("images_per_s", round(imagesPerSecond));
        r.put("images_per_s_vs_nanodb", round(imagesPerSecond / NANODB_IMAGES_PER_S));
        out.printf(Locale.ROOT, "images end to end: %.1f/s = %.2fx NanoDB's %.1f images/s (CLIP ViT-B/32 on a Jetson AGX Orin)%n",
            imagesPerSecond, imagesPerSecond / NANODB_IMAGES_PER_S, NANODB_IMAGES_PER_S);
      }
    }
  }

  /** Heap and resident-memory readings of this process. */
  private static final class Memory {
    boolean peakResetWorked;

    /** Resets the kernel's peak resident size (VmHWM), where the kernel lets a process do so. */
    void resetPeak() {
      try {
        Files.writeString(Path.of("/proc/self/clear_refs"), "5");
        peakResetWorked = true;
      } catch (IOException | RuntimeException e) {
        peakResetWorked = false;
      }
    }

    long peakRss() {
      return statusField("VmHWM:");
    }

    long heapUsed() {
      return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    long liveHeapAfterGc() {
      System.gc();
      return heapUsed();
    }

    private static long statusField(String name) {
      try (Stream<String> lines = Files.lines(Path.of("/proc/self/status"))) {
        return lines.filter(l -> l.startsWith(name)).mapToLong(l -> Long.parseLong(l.replaceAll("[^0-9]", "")) * 1024).findFirst().orElse(-1);
      } catch (IOException | RuntimeException e) {
        return -1;
      }
    }
  }

  private static double round(double v) {
    return Math.round(v * 1000) / 1000.0;
  }

  private static String cpuModel() {
    try (Stream<String> lines = Files.lines(Path.of("/proc/cpuinfo"))) {
      return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim()).findFirst().orElse("unknown");
    } catch (IOException | RuntimeException e) {
      return "unknown";
    }
  }

  private static long treeSize(Path dir) throws IOException {
    if (!Files.exists(dir)) return 0;
    try (Stream<Path> s = Files.walk(dir)) {
      return s.filter(Files::isRegularFile).mapToLong(p -> p.toFile().length()).sum();
    }
  }

  private static void deleteTree(Path dir) throws IOException {
    if (!Files.exists(dir)) return;
    try (Stream<Path> files = Files.walk(dir)) {
      for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }
}
