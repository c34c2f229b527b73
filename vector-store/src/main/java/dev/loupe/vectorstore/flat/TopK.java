package dev.loupe.vectorstore.flat;

/**
 * The best {@code k} (score, row) pairs seen so far: a binary min-heap on parallel primitive arrays,
 * so a scan allocates nothing per row. Ties keep the earlier row. Not thread-safe: one per scanning
 * thread, merged at the end.
 */
final class TopK {
  private final float[] scores;
  private final int[] rows;
  private int size;

  TopK(int k) {
    scores = new float[k];
    rows = new int[k];
  }

  /** The score a new row must beat to enter, or -Infinity while the heap is not full. */
  float threshold() {
    return size < scores.length ? Float.NEGATIVE_INFINITY : scores[0];
  }

  void offer(float score, int row) {
    if (size < scores.length) {
      int i = size++;
      // Sift up.
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (!less(score, row, scores[parent], rows[parent])) {
          break;
        }
        scores[i] = scores[parent];
        rows[i] = rows[parent];
        i = parent;
      }
      scores[i] = score;
      rows[i] = row;
    } else if (less(scores[0], rows[0], score, row)) {
      siftDown(score, row);
    }
  }

  void addAll(TopK other) {
    for (int i = 0; i < other.size; i++) {
      offer(other.scores[i], other.rows[i]);
    }
  }

  int size() {
    return size;
  }

  /** Rows best first, with their scores written to {@code scoresOut}. Empties the heap. */
  int[] drain(float[] scoresOut) {
    int n = size;
    int[] out = new int[n];
    for (int i = n - 1; i >= 0; i--) {
      out[i] = rows[0];
      scoresOut[i] = scores[0];
      size--;
      if (size > 0) {
        siftDown(scores[size], rows[size]);
      }
    }
    return out;
  }

  private void siftDown(float score, int row) {
    int i = 0;
    int half = size >>> 1;
    while (i < half) {
      int child = 2 * i + 1;
      int right = child + 1;
      if (right < size && less(scores[right], rows[right], scores[child], rows[child])) {
        child = right;
      }
      if (!less(scores[child], rows[child], score, row)) {
        break;
      }
      scores[i] = scores[child];
      rows[i] = rows[child];
      i = child;
    }
    scores[i] = score;
    rows[i] = row;
  }

  /** Heap order: lower score first; among equal scores the later row is "lower" (evicted first). */
  private static boolean less(float s1, int r1, float s2, int r2) {
    return s1 < s2 || (s1 == s2 && r1 > r2);
  }
}
