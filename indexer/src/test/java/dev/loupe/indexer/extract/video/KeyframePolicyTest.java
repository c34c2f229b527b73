package dev.loupe.indexer.extract.video;

import static dev.loupe.indexer.extract.video.KeyframePolicy.MIN_SCENE_GAP_MS;
import static dev.loupe.indexer.extract.video.KeyframePolicy.Reason.INTERVAL;
import static dev.loupe.indexer.extract.video.KeyframePolicy.Reason.SCENE;
import static dev.loupe.indexer.extract.video.KeyframePolicy.Reason.START;
import static dev.loupe.indexer.extract.video.KeyframePolicy.THUMBNAIL_BYTES;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KeyframePolicyTest {
  static byte[] flat(int value) {
    byte[] t = new byte[THUMBNAIL_BYTES];
    Arrays.fill(t, (byte) value);
    return t;
  }

  @Test
  void the_difference_is_zero_for_equal_thumbnails_and_one_for_black_against_white() {
    assertEquals(0.0, KeyframePolicy.difference(flat(77), flat(77)));
    assertEquals(1.0, KeyframePolicy.difference(flat(0), flat(255)));
    assertEquals(0.5, KeyframePolicy.difference(flat(100), flat(100 + 255 / 2)), 0.01);
  }

  @Test
  void the_first_frame_is_always_a_keyframe() {
    KeyframePolicy policy = new KeyframePolicy(10_000, 0.3);

    assertTrue(policy.isCandidate(1234));
    assertEquals(START, policy.decide(1234, flat(0)));
  }

  @Test
  void a_frame_differing_by_the_threshold_is_a_scene_change_and_a_smaller_change_is_not() {
    KeyframePolicy policy = new KeyframePolicy(10_000, 0.3);
    policy.decide(0, flat(100));

    assertNull(policy.decide(2_000, flat(100 + 70)), "70/255 = 0.27 < 0.3");
    assertEquals(SCENE, policy.decide(3_000, flat(100 + 80)), "80/255 = 0.31");
    // The reference is now the scene-change frame, not the first one.
    assertNull(policy.decide(4_500, flat(100 + 100)));
  }

  @Test
  void changes_are_measured_against_the_last_keyframe_so_slow_drift_counts() {
    KeyframePolicy policy = new KeyframePolicy(60_000, 0.3);
    policy.decide(0, flat(0));
    KeyframePolicy.Reason found = null;
    long at = -1;
    // A fade: 2 levels a frame at 25 frames a second, never 0.3 between neighbours.
    for (int i = 1; i <= 100 && found == null; i++) {
      found = policy.decide(i * 40L, flat(2 * i));
      at = i * 40L;
    }
    assertEquals(SCENE, found);
    assertEquals(39 * 40L, at, "at 78 levels = 0.306 from the first frame");
  }

  @Test
  void scene_changes_wait_for_the_minimum_gap() {
    KeyframePolicy policy = new KeyframePolicy(10_000, 0.3);
    policy.decide(0, flat(0));

    assertFalse(policy.isCandidate(MIN_SCENE_GAP_MS - 1), "a strobe right after a keyframe is not even looked at");
    assertNull(policy.decide(MIN_SCENE_GAP_MS - 1, flat(255)));
    assertTrue(policy.isCandidate(MIN_SCENE_GAP_MS));
    assertEquals(SCENE, policy.decide(MIN_SCENE_GAP_MS, flat(255)), "once the gap has passed, the new picture counts");
  }

  @Test
  void a_keyframe_is_taken_once_the_interval_has_passed_without_one() {
    KeyframePolicy policy = new KeyframePolicy(4_000, 0.3);
    policy.decide(0, flat(50));

    assertNull(policy.decide(3_999, flat(50)));
    assertEquals(INTERVAL, policy.decide(4_000, flat(50)));
    assertNull(policy.decide(7_999, flat(50)));
    assertEquals(INTERVAL, policy.decide(8_000, flat(50)));
  }

  @Test
  void an_interval_shorter_than_the_scene_gap_still_holds() {
    KeyframePolicy policy = new KeyframePolicy(250, 0.3);
    policy.decide(0, flat(0));

    assertTrue(policy.isCandidate(250));
    assertEquals(INTERVAL, policy.decide(250, flat(255)));
  }

  @Test
  void timestamps_that_jump_back_restart_the_interval_from_there() {
    KeyframePolicy policy = new KeyframePolicy(4_000, 0.3);
    policy.decide(60_000, flat(0));

    assertNull(policy.decide(1_000, flat(0)), "the clock restarted at 1 s");
    assertNull(policy.decide(4_999, flat(0)));
    assertEquals(INTERVAL, policy.decide(5_000, flat(0)));
  }

  @Test
  void small_noise_on_a_still_picture_never_makes_a_scene_change() {
    long seed = 7L;
    Random random = new Random(seed);
    KeyframePolicy policy = new KeyframePolicy(1_000_000, 0.3);
    byte[] base = new byte[THUMBNAIL_BYTES];
    random.nextBytes(base);
    policy.decide(0, base);
    for (int i = 1; i < 500; i++) {
      byte[] noisy = base.clone();
      for (int j = 0; j < noisy.length; j++) {
        noisy[j] = (byte) Math.clamp((noisy[j] & 0xff) + random.nextInt(-20, 21), 0, 255);
      }
      assertNull(policy.decide(i * 40L, noisy), "seed " + seed + ", frame " + i);
    }
  }

  @Test
  void bad_settings_and_thumbnails_are_refused_with_their_values() {
    assertEquals("keyframe interval 0 ms must be positive",
        assertThrows(IllegalArgumentException.class, () -> new KeyframePolicy(0, 0.3)).getMessage());
    assertEquals("scene threshold 1.5 is outside (0, 1]",
        assertThrows(IllegalArgumentException.class, () -> new KeyframePolicy(1000, 1.5)).getMessage());
    assertEquals("thumbnail of 3 bytes, expected " + THUMBNAIL_BYTES,
        assertThrows(IllegalArgumentException.class, () -> new KeyframePolicy(1000, 0.3).decide(0, new byte[3])).getMessage());
  }
}
