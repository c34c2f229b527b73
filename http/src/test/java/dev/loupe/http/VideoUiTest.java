package dev.loupe.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.loupe.embeddings.bench.GeneratedClip;
import java.awt.Color;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.ffmpeg.global.avcodec;
import org.bytedeco.ffmpeg.global.avutil;
import org.bytedeco.javacv.FFmpegFrameRecorder;
import org.bytedeco.javacv.Frame;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.WebElement;

/**
 * A video frame in the browser: a picture search finds the frame of a real WebM video ingested by
 * the real pipeline (generated CLIP-shaped model), the Video chip keeps only frames, and the detail
 * view plays the video in Chromium from the frame's time. Skipped with a message where Chromium,
 * ChromeDriver or CLIP's tokenizer is missing.
 */
class VideoUiTest {
  /** Frames a second and the frame where red turns green (a scene change at 1.6 s). */
  private static final int FPS = 5, CUT = 8, FRAMES = 15;

  @TempDir static Path tmp;
  private static Chromium chromium;
  private static LoupeServer server;
  private static String skip;

  @BeforeAll
  static void ingestAndServe() throws Exception {
    skip = Chromium.missing();
    if (skip != null) {
      return;
    }
    if (GeneratedClip.findClipTokenizer() == null) {
      skip = "CLIP's tokenizer is not in ../shared/testdata/tokenizers/clip-vit-b32; skipping the video UI test";
      return;
    }
    Path data = tmp.resolve("data");
    GeneratedModels.installClip(data);
    Path inbox = Files.createDirectories(tmp.resolve("inbox"));
    writeWebm(inbox.resolve("harbour.webm"));
    Files.write(inbox.resolve("blue.png"), Fixtures.png(Color.BLUE, 96));
    Fixtures.ingest(data, inbox);
    server = Main.start(new ServerConfig("127.0.0.1", 0, data, tmp.resolve("watch")));
    chromium = new Chromium();
  }

  @AfterAll
  static void stop() throws IOException {
    if (chromium != null) {
      chromium.close();
    }
    if (server != null) {
      server.close();
    }
  }

  /** A 3-second VP8 WebM of 64x48: red, then green from frame {@link #CUT}. */
  private static void writeWebm(Path file) throws IOException {
    int w = 64, h = 48;
    try (FFmpegFrameRecorder r = new FFmpegFrameRecorder(file.toFile(), w, h, 0)) {
      r.setFormat("webm");
      r.setVideoCodec(avcodec.AV_CODEC_ID_VP8);
      r.setPixelFormat(avutil.AV_PIX_FMT_YUV420P);
      r.setFrameRate(FPS);
      r.setGopSize(FPS);
      r.setVideoBitrate(2_000_000);
      r.start();
      byte[] rgb = new byte[w * h * 3];
      ByteBuffer buffer = ByteBuffer.allocateDirect(rgb.length);
      for (int i = 0; i < FRAMES; i++) {
        for (int p = 0; p < w * h; p++) {
          rgb[3 * p] = (byte) (i < CUT ? 220 : 20);
          rgb[3 * p + 1] = (byte) (i < CUT ? 20 : 220);
          rgb[3 * p + 2] = 30;
        }
        buffer.clear();
        buffer.put(rgb).flip();
        r.recordImage(w, h, Frame.DEPTH_UBYTE, 3, w * 3, avutil.AV_PIX_FMT_RGB24, buffer);
      }
      r.stop();
    }
  }

  private static WebElement byId(String id) {
    return chromium.driver.findElement(By.id(id));
  }

  private static List<WebElement> cards() {
    return chromium.driver.findElements(By.cssSelector("#results .hit"));
  }

  @Test
  void a_picture_finds_the_video_frame_and_its_detail_plays_the_video_from_the_frames_time() throws Exception {
    assumeTrue(skip == null, skip);
    chromium.resize(1280, 900);
    chromium.open(server.url());
    Path green = Files.write(tmp.resolve("query-green.png"), Fixtures.png(new Color(20, 220, 30), 96));

    byId("image-file").sendKeys(green.toString());
    chromium.waiting().until(d -> byId("search-message").getText().startsWith("3 results for the picture"));
    chromium.driver.findElement(By.cssSelector("#type-filters .chip[data-types='video-frame']")).click();
    chromium.waiting().until(d -> byId("search-message").getText().startsWith("2 results for the picture"));
    WebElement first = cards().getFirst();
    assertEquals("harbour.webm", first.findElement(By.className("name")).getText());

    first.findElement(By.className("card")).click();

    chromium.waiting().until(d -> byId("detail").getDomAttribute("open") != null);
    WebElement video = byId("detail-media").findElement(By.cssSelector("video.video"));
    String src = video.getDomProperty("src");
    assertTrue(src.matches(".*/content#t=\\d+\\.\\d{3}"), src);
    double start = Double.parseDouble(src.substring(src.indexOf("#t=") + 3));
    assertTrue(start >= (CUT - 1.0) / FPS && start <= (CUT + 1.0) / FPS,
        "the green frame is the best match, so the video starts near the cut at " + (double) CUT / FPS + " s: " + start);
    // Chromium loads the served file, knows its length and stands at the frame's time.
    chromium.waiting().until(d -> ((Number) chromium.script("return arguments[0].readyState", video)).intValue() >= 1);
    double duration = ((Number) chromium.script("return arguments[0].duration", video)).doubleValue();
    double at = ((Number) chromium.script("return arguments[0].currentTime", video)).doubleValue();
    assertEquals((double) FRAMES / FPS, duration, 0.25, "the video's duration as Chromium reads it");
    assertEquals(start, at, 0.05, "the position Chromium shows");
    String facts = byId("detail-facts").getText();
    assertTrue(facts.contains("Video") && facts.contains("Position"), facts);
    assertEquals(List.of(), chromium.consoleErrors());
    chromium.screenshot("detail-video");
  }
}
