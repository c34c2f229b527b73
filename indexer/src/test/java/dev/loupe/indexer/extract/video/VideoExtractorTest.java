package dev.loupe.indexer.extract.video;

import static dev.loupe.indexer.extract.video.TestVideos.AVI_MJPEG;
import static dev.loupe.indexer.extract.video.TestVideos.MKV_MPEG4;
import static dev.loupe.indexer.extract.video.TestVideos.MP4_H264;
import static dev.loupe.indexer.extract.video.TestVideos.MP4_MPEG4;
import static dev.loupe.indexer.extract.video.TestVideos.MP4_MPEG4_B_FRAMES;
import static dev.loupe.indexer.extract.video.TestVideos.WEBM_VP8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.indexer.extract.Extracted;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import dev.loupe.indexer.extract.ExtractionLimits;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.apache.tika.io.TikaInputStream;
import org.apache.tika.metadata.TikaCoreProperties;
import org.apache.tika.mime.MimeTypes;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class VideoExtractorTest {
  static final int[] RED = {230, 20, 20};
  static final int[] BLUE = {20, 20, 230};
  static final int[] YELLOW = {240, 230, 30};
  static final int[] BLACK = {0, 0, 0};
  static final int[] WHITE = {255, 255, 255};

  static final int WIDTH = 96, HEIGHT = 64;
  static final double FPS = 10;
  static final long FRAME_MS = 100;
  /** 12 s: red with a small white square moving over it, a cut to blue at 3 s, a cut to a yellow and black checkerboard at 7 s. */
  static final int FRAMES = 120;
  static final long[] CUTS_MS = {3_000, 7_000};

  @TempDir static Path dir;
  static Path scenesMp4;

  final VideoExtractor extractor = new VideoExtractor();

  static void paintScenes(int index, int width, int height, byte[] rgb) {
    if (index < 30) {
      TestVideos.fill(rgb, RED);
      int x = index * 2 % (width - 8);
      TestVideos.fill(rgb, width, height, x, height / 2 - 4, x + 8, height / 2 + 4, WHITE);
    } else if (index < 70) {
      TestVideos.fill(rgb, BLUE);
    } else {
      checkerboard(width, height, rgb);
    }
  }

  /** Yellow and black squares of 16 pixels, yellow at the top left. */
  static void checkerboard(int width, int height, byte[] rgb) {
    for (int y = 0; y < height; y += 16) {
      for (int x = 0; x < width; x += 16) {
        TestVideos.fill(rgb, width, height, x, y, x + 16, y + 16, ((x + y) / 16) % 2 == 0 ? YELLOW : BLACK);
      }
    }
  }

  private static final Map<TestVideos.Format, Path> SCENES = new ConcurrentHashMap<>();

  /** The three scenes in {@code format}, written once per test class. */
  static Path scenes(TestVideos.Format format) {
    return SCENES.computeIfAbsent(format, f -> TestVideos.write(
        dir.resolve("scenes-" + f.container() + "-" + f.codec() + "-" + f.bFrames() + "." + f.extension()),
        f, WIDTH, HEIGHT, FPS, FRAMES, 25, VideoExtractorTest::paintScenes, r -> {}));
  }

  @BeforeAll
  static void writeFixtures() {
    VideoExtractor.ffmpegVersion(); // loads FFmpeg, which then logs errors only: the recorder stays quiet
    scenesMp4 = scenes(MP4_MPEG4);
  }

  static ExtractionLimits limits(Duration interval) {
    ExtractionLimits d = ExtractionLimits.defaults();
    return new ExtractionLimits(d.maxFileBytes(), d.maxPixels(), d.maxPdfPages(), d.maxVideoDuration(), d.maxTimePerFile(),
        d.minEmbeddedImagePixels(), d.renderDpi(), interval, d.sceneThreshold());
  }

  static ExtractionLimits limits(long maxFileBytes, long maxPixels, Duration maxVideoDuration, Duration maxTimePerFile) {
    ExtractionLimits d = ExtractionLimits.defaults();
    return new ExtractionLimits(maxFileBytes, maxPixels, d.maxPdfPages(), maxVideoDuration, maxTimePerFile,
        d.minEmbeddedImagePixels(), d.renderDpi(), d.keyframeInterval(), d.sceneThreshold());
  }

  List<Extracted> extract(Path file, ExtractionLimits limits) throws IOException, ExtractionException {
    List<Extracted> out = new ArrayList<>();
    extractor.extract(file, limits, out::add);
    return out;
  }

  static List<Extracted.Visual> frames(List<Extracted> pieces) {
    return pieces.stream().filter(p -> p instanceof Extracted.Visual).map(p -> (Extracted.Visual) p).toList();
  }

  static Map<String, String> metadata(List<Extracted> pieces) {
    assertInstanceOf(Extracted.Metadata.class, pieces.getFirst(), "the metadata comes first");
    return ((Extracted.Metadata) pieces.getFirst()).fields();
  }

  /** Mean colour of the square of side 5 around ({@code x}, {@code y}). */
  static int[] colourAt(RgbImage image, int x, int y) {
    int[] sum = new int[3];
    int n = 0;
    for (int dy = -2; dy <= 2; dy++) {
      for (int dx = -2; dx <= 2; dx++) {
        for (int c = 0; c < 3; c++) {
          sum[c] += image.sample(x + dx, y + dy, c);
        }
        n++;
      }
    }
    return new int[] {sum[0] / n, sum[1] / n, sum[2] / n};
  }

  static void assertColour(int[] expected, int[] actual, String where) {
    for (int c = 0; c < 3; c++) {
      assertTrue(Math.abs(expected[c] - actual[c]) <= 40,
          where + ": expected about " + Arrays.toString(expected) + ", got " + Arrays.toString(actual));
    }
  }

  static long[] timestamps(List<Extracted.Visual> frames) {
    return frames.stream().mapToLong(Extracted.Visual::timestampMs).toArray();
  }

  // --- keyframes -------------------------------------------------------------------------------

  static Stream<Arguments> formats() {
    return Stream.of(MP4_MPEG4, MKV_MPEG4, AVI_MJPEG, MP4_H264, WEBM_VP8, MP4_MPEG4_B_FRAMES).map(Arguments::of);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("formats")
  void keyframes_are_the_first_frame_each_cut_and_one_per_interval(TestVideos.Format format) throws Exception {
    Path video = scenes(format);

    List<Extracted.Visual> frames = frames(extract(video, limits(Duration.ofSeconds(4))));

    // 0 (start), 3.0 and 7.0 (cuts), 11.0 (4 s after the last keyframe); the white square moving
    // over the red scene is no scene change. B-frames are not decoded (skip_frame=nonref), so with
    // two between references a cut may be seen two frames late.
    long late = FRAME_MS * format.bFrames();
    long[] ts = timestamps(frames);
    assertEquals(4, ts.length, "keyframes at " + Arrays.toString(ts));
    assertEquals(0, ts[0], "the first frame");
    for (int i = 0; i < CUTS_MS.length; i++) {
      long t = ts[i + 1];
      assertTrue(t >= CUTS_MS[i] && t <= CUTS_MS[i] + late,
          "cut at " + CUTS_MS[i] + " ms found at " + t + " ms (keyframes " + Arrays.toString(ts) + ")");
    }
    assertTrue(ts[3] >= ts[2] + 4_000 && ts[3] <= ts[2] + 4_000 + late, "interval keyframe at " + ts[3]);
    assertEquals(List.of("start", "scene", "scene", "interval"),
        frames.stream().map(f -> f.metadata().get("keyframe")).toList());

    for (Extracted.Visual f : frames) {
      assertEquals(Extracted.Kind.VIDEO_FRAME, f.kind());
      assertEquals(0, f.page());
      assertEquals(WIDTH, f.pixels().width(), "small frames are kept at their size");
      assertEquals(HEIGHT, f.pixels().height());
    }
    assertColour(RED, colourAt(frames.get(0).pixels(), 48, 10), "first frame");
    assertColour(BLUE, colourAt(frames.get(1).pixels(), 48, 32), "frame at the first cut");
    assertColour(YELLOW, colourAt(frames.get(2).pixels(), 8, 8), "frame at the second cut, top-left square");
    assertColour(BLACK, colourAt(frames.get(2).pixels(), 24, 8), "frame at the second cut, second square");
  }

  @Test
  void the_metadata_comes_first_with_duration_size_codec_and_frame_rate() throws Exception {
    Map<String, String> fields = metadata(extract(scenesMp4, ExtractionLimits.defaults()));

    assertEquals("96", fields.get("width"));
    assertEquals("64", fields.get("height"));
    assertEquals("mpeg4", fields.get("codec"));
    assertEquals("10", fields.get("fps"));
    long duration = Long.parseLong(fields.get("duration_ms"));
    assertTrue(Math.abs(duration - 12_000) <= FRAME_MS, "duration " + duration);
    assertFalse(fields.containsKey("rotation"), "no rotation on an upright video");
  }

  @Test
  void a_shorter_interval_gives_more_keyframes_and_no_gap_exceeds_it() throws Exception {
    int previous = 0;
    for (int seconds : new int[] {20, 4, 2, 1}) {
      long[] ts = timestamps(frames(extract(scenesMp4, limits(Duration.ofSeconds(seconds)))));
      assertTrue(ts.length > previous, seconds + " s interval gave " + ts.length + " keyframes, not more than " + previous);
      for (int i = 1; i < ts.length; i++) {
        assertTrue(ts[i] - ts[i - 1] <= seconds * 1000L, "gap " + ts[i - 1] + " to " + ts[i] + " with a " + seconds + " s interval");
      }
      assertTrue(FRAMES * FRAME_MS - ts[ts.length - 1] <= seconds * 1000L, "the end is covered: last keyframe at " + ts[ts.length - 1]);
      previous = ts.length;
    }
    // 20 s: start and the two cuts only. 2 s: 0, 2, 3 (cut), 5, 7 (cut), 9, 11.
    assertEquals(3, timestamps(frames(extract(scenesMp4, limits(Duration.ofSeconds(20))))).length);
    assertEquals(7, timestamps(frames(extract(scenesMp4, limits(Duration.ofSeconds(2))))).length);
  }

  @Test
  void large_frames_are_scaled_down_to_448_pixels_on_the_short_side() throws Exception {
    Path video = TestVideos.write(dir.resolve("hd.mp4"), MP4_MPEG4, 1280, 720, 5, 5, 5, (i, w, h, rgb) -> {
      TestVideos.fill(rgb, BLUE);
      TestVideos.fill(rgb, w, h, 0, 0, w / 2, h / 2, RED);
    }, r -> {});

    List<Extracted.Visual> frames = frames(extract(video, ExtractionLimits.defaults()));

    assertEquals(1, frames.size());
    RgbImage picture = frames.getFirst().pixels();
    assertEquals(448, picture.height());
    assertEquals(796, picture.width(), "1280 x 448 / 720, rounded");
    assertColour(RED, colourAt(picture, 100, 100), "top-left quarter");
    assertColour(BLUE, colourAt(picture, 600, 100), "top-right quarter");
  }

  /**
   * Stored landscape with red at the top left, and a display matrix that says how to turn it, as
   * phones record portrait video. The recorder's angle is anticlockwise (FFmpeg's {@code
   * -display_rotation}); the extractor reports and applies the clockwise turn.
   */
  @ParameterizedTest(name = "recorded at {0} degrees anticlockwise")
  @ValueSource(ints = {-90, 180, 90})
  void a_rotated_video_is_turned_upright(int anticlockwise) throws Exception {
    Path video = TestVideos.write(dir.resolve("rotated" + anticlockwise + ".mp4"), MP4_MPEG4, WIDTH, HEIGHT, FPS, 5, 5,
        (i, w, h, rgb) -> {
          TestVideos.fill(rgb, BLUE);
          TestVideos.fill(rgb, w, h, 0, 0, w / 2, h / 2, RED);
        }, r -> r.setDisplayRotation(anticlockwise));
    int clockwise = Math.floorMod(-anticlockwise, 360);

    List<Extracted> pieces = extract(video, ExtractionLimits.defaults());

    assertEquals(Integer.toString(clockwise), metadata(pieces).get("rotation"));
    RgbImage picture = frames(pieces).getFirst().pixels();
    boolean portrait = clockwise != 180;
    assertEquals(portrait ? HEIGHT : WIDTH, picture.width());
    assertEquals(portrait ? WIDTH : HEIGHT, picture.height());
    // Where the stored top-left quarter ends up: turned 90 clockwise it is the top right, 180 the
    // bottom right, 270 the bottom left.
    int w = picture.width(), h = picture.height();
    int redX = clockwise == 270 ? w / 4 : w * 3 / 4;
    int redY = clockwise == 90 ? h / 4 : h * 3 / 4;
    assertColour(RED, colourAt(picture, redX, redY), "the stored top-left quarter");
    assertColour(BLUE, colourAt(picture, w - redX, redY), "beside it");
    assertColour(BLUE, colourAt(picture, redX, h - redY), "above or below it");
  }

  @Test
  void a_file_name_with_spaces_colons_and_accents_is_read() throws Exception {
    Path odd = Files.copy(scenesMp4, dir.resolve("clip: vidéo ☃ 100%.mp4"));

    assertEquals(4, frames(extract(odd, limits(Duration.ofSeconds(4)))).size());
  }

  @Test
  void several_videos_are_extracted_at_once_with_the_same_results() throws Exception {
    List<Path> videos = List.of(scenesMp4, scenes(MKV_MPEG4), scenes(AVI_MJPEG), scenesMp4);
    List<long[]> sequential = new ArrayList<>();
    for (Path v : videos) {
      sequential.add(timestamps(frames(extract(v, limits(Duration.ofSeconds(4))))));
    }

    ExecutorService pool = Executors.newFixedThreadPool(videos.size());
    try {
      List<Future<long[]>> futures = new ArrayList<>();
      for (Path v : videos) {
        futures.add(pool.submit(() -> timestamps(frames(extract(v, limits(Duration.ofSeconds(4)))))));
      }
      for (int i = 0; i < videos.size(); i++) {
        assertEquals(Arrays.toString(sequential.get(i)), Arrays.toString(futures.get(i).get()), videos.get(i).toString());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  // --- limits ----------------------------------------------------------------------------------

  @Test
  void a_video_over_the_duration_limit_fails_before_anything_is_decoded() {
    List<Extracted> out = new ArrayList<>();
    ExtractionLimits d = ExtractionLimits.defaults();

    ExtractionException e = assertThrows(ExtractionException.class, () -> extractor.extract(scenesMp4,
        limits(d.maxFileBytes(), d.maxPixels(), Duration.ofSeconds(5), d.maxTimePerFile()), out::add));

    assertEquals(Reason.OVER_LIMIT, e.reason());
    assertTrue(e.getMessage().contains(scenesMp4.toString()) && e.getMessage().contains("0:12.000")
        && e.getMessage().contains("0:05.000"), e.getMessage());
    assertEquals(List.of(), out, "nothing reaches the sink");
  }

  @Test
  void a_video_that_declares_no_duration_stops_at_the_limit_while_decoding() throws Exception {
    Path live = TestVideos.write(dir.resolve("live.mkv"), MKV_MPEG4, WIDTH, HEIGHT, FPS, FRAMES, 25,
        VideoExtractorTest::paintScenes, r -> {}, true);
    List<Extracted> unlimited = extract(live, ExtractionLimits.defaults());
    assertFalse(metadata(unlimited).containsKey("duration_ms"), "no duration: " + metadata(unlimited));
    List<Extracted> out = new ArrayList<>();
    ExtractionLimits d = ExtractionLimits.defaults();

    ExtractionException e = assertThrows(ExtractionException.class, () -> extractor.extract(live,
        limits(d.maxFileBytes(), d.maxPixels(), Duration.ofSeconds(5), d.maxTimePerFile()), out::add));

    assertEquals(Reason.OVER_LIMIT, e.reason());
    assertEquals(live + " runs past 0:05.100, longer than the video limit of 0:05.000", e.getMessage());
  }

  @Test
  void frames_over_the_pixel_limit_fail_before_anything_is_decoded() {
    List<Extracted> out = new ArrayList<>();
    ExtractionLimits d = ExtractionLimits.defaults();

    ExtractionException e = assertThrows(ExtractionException.class, () -> extractor.extract(scenesMp4,
        limits(d.maxFileBytes(), WIDTH * HEIGHT - 1, d.maxVideoDuration(), d.maxTimePerFile()), out::add));

    assertEquals(Reason.OVER_LIMIT, e.reason());
    assertTrue(e.getMessage().contains("96x64"), e.getMessage());
    assertEquals(List.of(), out);
  }

  @Test
  void a_file_over_the_size_limit_fails_without_being_opened() throws IOException {
    ExtractionLimits d = ExtractionLimits.defaults();
    long size = Files.size(scenesMp4);

    ExtractionException e = assertThrows(ExtractionException.class, () -> extract(scenesMp4,
        limits(size - 1, d.maxPixels(), d.maxVideoDuration(), d.maxTimePerFile())));

    assertEquals(Reason.OVER_LIMIT, e.reason());
    assertTrue(e.getMessage().contains(Long.toString(size)), e.getMessage());
  }

  @Test
  void extraction_stops_when_the_time_per_file_is_spent() {
    ExtractionLimits d = ExtractionLimits.defaults();

    // One nanosecond is spent before the first frame is out of the decoder, whatever the machine.
    ExtractionException e = assertThrows(ExtractionException.class, () -> extract(scenesMp4,
        limits(d.maxFileBytes(), d.maxPixels(), d.maxVideoDuration(), Duration.ofNanos(1))));

    assertEquals(Reason.OVER_LIMIT, e.reason());
    assertTrue(e.getMessage().contains("took longer than the 0:00.000 per file"), e.getMessage());
  }

  @Test
  void a_video_too_slow_to_decode_in_full_falls_back_to_its_own_keyframes_and_finishes() throws Exception {
    // A fake clock that advances 6 s each time it is read (once per decoded frame): decoding all
    // 120 frames would "take" 12 minutes, over the 10-minute budget. After a twentieth of the
    // budget the extractor sees that coming and decodes only the I-frames (every 25th frame, or
    // where the encoder saw a cut).
    long[] now = {0};
    VideoExtractor slow = new VideoExtractor(() -> now[0] += 6_000_000_000L);
    ExtractionLimits d = ExtractionLimits.defaults();
    ExtractionLimits limits = new ExtractionLimits(d.maxFileBytes(), d.maxPixels(), d.maxPdfPages(), d.maxVideoDuration(),
        Duration.ofMinutes(10), d.minEmbeddedImagePixels(), d.renderDpi(), Duration.ofSeconds(4), d.sceneThreshold());
    List<Extracted> out = new ArrayList<>();

    slow.extract(scenesMp4, limits, out::add);

    assertTrue(now[0] < Duration.ofMinutes(10).toNanos(), "finished within the budget: " + Duration.ofNanos(now[0]));
    List<Extracted.Visual> frames = frames(out);
    long[] ts = timestamps(frames);
    assertEquals(0, ts[0]);
    // Each scene still gets a keyframe, at the first I-frame after its cut.
    assertColour(BLUE, colourAt(frames.get(1).pixels(), 48, 32), "keyframes " + Arrays.toString(ts));
    assertTrue(ts[1] >= CUTS_MS[0] && ts[1] < CUTS_MS[1], "keyframes " + Arrays.toString(ts));
    assertColour(YELLOW, colourAt(frames.get(2).pixels(), 8, 8), "keyframes " + Arrays.toString(ts));
    assertTrue(ts[2] >= CUTS_MS[1], "keyframes " + Arrays.toString(ts));
  }

  @Test
  void the_pace_is_judged_against_three_quarters_of_the_budget_after_a_twentieth_of_it() {
    long budget = 600;
    assertFalse(VideoExtractor.tooSlow(29, budget, 1, 1_000_000), "too early to judge");
    assertTrue(VideoExtractor.tooSlow(30, budget, 1_000, 16_000), "30 x 16 = 480 > 450");
    assertFalse(VideoExtractor.tooSlow(30, budget, 1_000, 15_000), "30 x 15 = 450");
    assertFalse(VideoExtractor.tooSlow(300, budget, 0, -1), "unknown duration: no judgement");
  }

  @Test
  void an_interrupted_thread_stops_the_extraction() {
    Thread.currentThread().interrupt();
    try {
      assertThrows(InterruptedIOException.class, () -> extract(scenesMp4, ExtractionLimits.defaults()));
    } finally {
      Thread.interrupted();
    }
  }

  // --- bad input -------------------------------------------------------------------------------

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"mp4", "mkv", "mp4-faststart"})
  void a_truncated_video_fails_as_corrupt_naming_the_file(String kind) throws Exception {
    TestVideos.Format format = kind.equals("mkv") ? MKV_MPEG4 : MP4_MPEG4;
    Path whole = TestVideos.write(dir.resolve("whole-" + kind + "." + format.extension()), format, WIDTH, HEIGHT, FPS,
        FRAMES, 25, VideoExtractorTest::paintScenes,
        r -> { if (kind.endsWith("faststart")) r.setOption("movflags", "+faststart"); });
    Path cut = TestVideos.truncatedCopy(whole, dir.resolve("cut-" + kind + "." + format.extension()), Files.size(whole) * 6 / 10);

    ExtractionException e = assertThrows(ExtractionException.class, () -> extract(cut, ExtractionLimits.defaults()));

    assertEquals(Reason.CORRUPT, e.reason(), e.getMessage());
    assertTrue(e.getMessage().startsWith(cut.toString()), e.getMessage());
    // Without its index (the moov box, written last) an mp4 cannot be opened at all; the others
    // open and stop early.
    String expected = kind.equals("mp4") ? "moov atom not found" : "is truncated or damaged: its video stops at ";
    assertTrue(e.getMessage().contains(expected), e.getMessage());
  }

  @Test
  void a_video_damaged_in_the_middle_is_indexed_past_the_damage() throws Exception {
    long seed = 1L;
    byte[] bytes = Files.readAllBytes(scenesMp4);
    Random random = new Random(seed);
    for (int i = bytes.length / 3; i < bytes.length / 3 + bytes.length / 10; i++) {
      bytes[i] = (byte) random.nextInt();
    }
    Path damaged = Files.write(dir.resolve("damaged.mp4"), bytes);

    // The decoder conceals what it cannot read; nothing is lost for long, so the file is indexed.
    List<Extracted.Visual> frames = frames(extract(damaged, limits(Duration.ofSeconds(4))));

    long[] ts = timestamps(frames);
    assertEquals(0, ts[0], "seed " + seed);
    Extracted.Visual last = frames.getLast();
    assertTrue(last.timestampMs() >= CUTS_MS[1], "seed " + seed + ", keyframes " + Arrays.toString(ts));
    assertColour(YELLOW, colourAt(last.pixels(), 8, 8), "seed " + seed + ", the last scene");
  }

  @Test
  void random_bytes_named_mp4_fail_as_corrupt() throws IOException {
    long seed = 20260517L;
    byte[] noise = new byte[64 * 1024];
    new Random(seed).nextBytes(noise);
    Path file = Files.write(dir.resolve("noise.mp4"), noise);

    ExtractionException e = assertThrows(ExtractionException.class, () -> extract(file, ExtractionLimits.defaults()),
        "seed " + seed);

    assertEquals(Reason.CORRUPT, e.reason(), "seed " + seed + ": " + e.getMessage());
    assertTrue(e.getMessage().startsWith(file + ": FFmpeg cannot read it as a video"), e.getMessage());
  }

  @Test
  void an_empty_file_fails_as_corrupt() throws IOException {
    Path file = Files.write(dir.resolve("empty.mp4"), new byte[0]);

    ExtractionException e = assertThrows(ExtractionException.class, () -> extract(file, ExtractionLimits.defaults()));

    assertEquals(Reason.CORRUPT, e.reason(), e.getMessage());
  }

  @Test
  void an_audio_only_file_fails_as_unsupported_with_no_video_stream() {
    Path audio = TestVideos.writeAudioOnly(dir.resolve("tone.mp4"), "mp4", 1.5);

    ExtractionException e = assertThrows(ExtractionException.class, () -> extract(audio, ExtractionLimits.defaults()));

    assertEquals(Reason.UNSUPPORTED, e.reason());
    assertEquals(audio + " has no video stream (its streams: audio aac)", e.getMessage());
  }

  @Test
  void a_missing_file_is_an_io_error() {
    assertThrows(NoSuchFileException.class, () -> extract(dir.resolve("absent.mp4"), ExtractionLimits.defaults()));
  }

  // --- contract --------------------------------------------------------------------------------

  @Test
  void it_is_named_video_and_accepts_video_media_types_only() {
    assertEquals("video", extractor.name());
    for (String type : List.of("video/mp4", "video/quicktime", "video/x-matroska", "video/webm", "video/x-msvideo",
        "video/mpeg", "Video/MP4", "video/webm; codecs=vp8", "application/x-matroska", "application/mp4")) {
      assertTrue(extractor.accepts(type), type);
    }
    for (String type : List.of("audio/mp4", "audio/mpeg", "application/pdf", "image/gif", "application/octet-stream")) {
      assertFalse(extractor.accepts(type), type);
    }
  }

  @Test
  void the_media_types_tika_detects_for_videos_are_accepted() throws IOException {
    MimeTypes tika = MimeTypes.getDefaultMimeTypes();
    Path mkv = scenes(MKV_MPEG4);
    for (Path video : List.of(scenesMp4, mkv, Files.copy(mkv, dir.resolve("no-extension")), scenes(AVI_MJPEG), scenes(WEBM_VP8))) {
      org.apache.tika.metadata.Metadata metadata = new org.apache.tika.metadata.Metadata();
      metadata.set(TikaCoreProperties.RESOURCE_NAME_KEY, video.getFileName().toString());
      String type;
      try (InputStream in = TikaInputStream.get(video)) {
        type = tika.detect(in, metadata).toString();
      }
      assertTrue(extractor.accepts(type), video.getFileName() + " detected as " + type);
    }
  }

  @Test
  void the_ffmpeg_version_names_the_platform() {
    String version = VideoExtractor.ffmpegVersion();
    assertTrue(version.startsWith("FFmpeg ") && version.contains(org.bytedeco.javacpp.Loader.getPlatform()), version);
  }
}
