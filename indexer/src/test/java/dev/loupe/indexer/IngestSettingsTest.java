package dev.loupe.indexer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.indexer.extract.ExtractionLimits;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

class IngestSettingsTest {

  @Test
  void no_keys_means_every_default() {
    IngestSettings s = IngestSettings.from(Map.of("server.other", "x"), "loupe.properties");
    assertEquals(IngestSettings.defaults(), s);
    IngestConfig base = IngestConfig.defaults(Path.of("/tmp/data"));
    assertEquals(base, s.apply(base));
  }

  @Test
  void sizes_durations_and_counts_are_read_with_their_units() {
    IngestSettings s = IngestSettings.from(Map.ofEntries(
        Map.entry("ingest.max-file-size", "512MiB"),
        Map.entry("ingest.max-pixels", "40_000_000"),
        Map.entry("ingest.max-pdf-pages", "50"),
        Map.entry("ingest.max-video-duration", "90m"),
        Map.entry("ingest.max-time-per-file", "PT30S"),
        Map.entry("ingest.keyframe-interval", "2.5s"),
        Map.entry("ingest.scene-threshold", "0.5"),
        Map.entry("ingest.render-dpi", "100"),
        Map.entry("ingest.chunk-tokens", "200"),
        Map.entry("ingest.chunk-overlap", "20"),
        Map.entry("ingest.workers", "3"),
        Map.entry("ingest.settle-time", "500ms"),
        Map.entry("ingest.thumbnail-size", "128")), "f");
    ExtractionLimits l = s.limits();
    assertEquals(512L << 20, l.maxFileBytes());
    assertEquals(40_000_000L, l.maxPixels());
    assertEquals(50, l.maxPdfPages());
    assertEquals(Duration.ofMinutes(90), l.maxVideoDuration());
    assertEquals(Duration.ofSeconds(30), l.maxTimePerFile());
    assertEquals(Duration.ofMillis(2500), l.keyframeInterval());
    assertEquals(0.5, l.sceneThreshold());
    assertEquals(100, l.renderDpi());
    assertEquals(200, s.chunkTokens());
    assertEquals(20, s.chunkOverlap());
    IngestConfig c = s.apply(IngestConfig.defaults(Path.of("/tmp/data")));
    assertEquals(3, c.workers());
    assertEquals(Duration.ofMillis(500), c.settleTime());
    assertEquals(128, c.thumbnailSize());
    assertEquals(l, c.limits());
    assertEquals(2_000_000_000L, IngestSettings.from(Map.of("ingest.max-file-size", "2GB"), "f").limits().maxFileBytes());
    assertEquals(1234L, IngestSettings.from(Map.of("ingest.max-file-size", "1234"), "f").limits().maxFileBytes());
  }

  @Test
  void a_bad_setting_is_named_with_its_file_key_and_value() {
    for (var bad : Map.of(
        "ingest.max-file-size", "lots",
        "ingest.max-video-duration", "4 hours",
        "ingest.max-pdf-pages", "0",
        "ingest.chunk-overlap", "200",
        "ingest.scene-threshold", "1.5",
        "ingest.workers", "many").entrySet()) {
      var e = assertThrows(IllegalArgumentException.class,
          () -> IngestSettings.from(Map.of(bad.getKey(), bad.getValue()), "/data/loupe.properties"), bad.toString());
      assertTrue(e.getMessage().startsWith("/data/loupe.properties: "), e.getMessage());
      assertTrue(e.getMessage().contains(bad.getValue()), e.getMessage());
    }
    var unknown = assertThrows(IllegalArgumentException.class, () -> IngestSettings.from(Map.of("ingest.max-size", "1"), "f"));
    assertTrue(unknown.getMessage().contains("unknown setting ingest.max-size") && unknown.getMessage().contains("ingest.max-file-size"),
        unknown.getMessage());
  }
}
