package dev.loupe.embeddings.onnx;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.Modality;
import dev.loupe.embeddings.TestData;
import dev.loupe.embeddings.VocabWordPiece;
import dev.loupe.embeddings.bench.GeneratedClip;
import dev.loupe.embeddings.bench.TransformerModels;
import dev.loupe.embeddings.image.ImagePreprocessor;
import dev.loupe.embeddings.image.PreprocessorConfig;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.embeddings.model.ModelManifest;
import dev.loupe.embeddings.model.ModelManifest.Family;
import dev.loupe.embeddings.model.ModelManifest.Pooling;
import dev.loupe.embeddings.onnx.OnnxEmbedder.Device;
import dev.loupe.embeddings.onnx.OnnxEmbedder.Options;
import dev.loupe.embeddings.onnx.graph.DataType;
import dev.loupe.embeddings.onnx.graph.Graph;
import dev.loupe.embeddings.onnx.graph.OnnxModel;
import dev.loupe.embeddings.onnx.graph.ValueInfo;
import dev.loupe.embeddings.text.TokenBatch;
import dev.loupe.embeddings.text.Tokenizer;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.LongStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

/** The ONNX embedder end to end on tiny generated models, against the same computation in plain Java. */
class OnnxEmbedderTest {

  /** ONNX Runtime sums in float, the oracle in double; after normalization they agree to this. */
  private static final float TOLERANCE = 2e-5f;
  private static final Options CPU = new Options(4, 2, Device.CPU);
  private static final long EOT = 49407, SOT = 49406;

  @TempDir
  Path dir;

  /** Writes a CLIP-family model (text and vision) of width {@code dim}; returns the text and vision oracles. */
  private Object[] writeClip(String name, Family family, int dim, boolean withMask, long seed) throws Exception {
    TinyModels.ClipText text = new TinyModels.ClipText(dim, withMask, seed);
    TinyModels.Vision vision = new TinyModels.Vision(dim, seed + 1);
    ModelDirs.writeOnnx(dir, ModelDirs.clipText().onnx(), text.model(false));
    ModelDirs.writeOnnx(dir, ModelDirs.clipVision().onnx(), vision.model());
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.CLIP_TOKENIZER);
    ModelDirs.writeClipPreprocessor(dir);
    ModelDirs.writeManifest(dir, name, family, dim, ModelDirs.clipText(), ModelDirs.clipVision());
    return new Object[] {text, vision};
  }

  /** {@code ids} padded with CLIP's padding id (end-of-text) to 77, and the matching mask. */
  private static long[][] clipRow(long... ids) {
    long[] row = new long[77], mask = new long[77];
    Arrays.fill(row, EOT);
    System.arraycopy(ids, 0, row, 0, ids.length);
    Arrays.fill(mask, 0, ids.length, 1);
    return new long[][] {row, mask};
  }

  @ParameterizedTest(name = "{0}-d {1} model, attention mask input: {2}")
  @CsvSource({"512, CLIP, true", "768, CLIP, false", "1024, IMAGEBIND, true"})
  void text_vectors_match_an_independent_computation_for_each_width(int dim, Family family, boolean withMask) throws Exception {
    long seed = 1000 + dim;
    TinyModels.ClipText oracle = (TinyModels.ClipText) writeClip("tiny-" + dim, family, dim, withMask, seed)[0];
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU)) {
      assertEquals(dim, embedder.info().dimension());
      assertEquals(Set.of(Modality.TEXT, Modality.IMAGE), embedder.info().modalities());

      // Ids known from the CLIP vocabulary, independently of the tokenizer under test.
      long[][] cat = clipRow(SOT, 320, 1125, 539, 320, 2368, EOT);
      assertArrayClose(oracle.expected(cat[0], cat[1]), embedder.embedText("a photo of a cat"), "'a photo of a cat', seed " + seed);

      // Far over the context: truncated to 75 'a' tokens between the special ones, not rejected.
      long[] truncated = new long[77];
      Arrays.fill(truncated, 320);
      truncated[0] = SOT;
      truncated[76] = EOT;
      assertArrayClose(oracle.expected(truncated, clipRow(truncated)[1]), embedder.embedText("a ".repeat(5000)),
          "5000 times 'a', seed " + seed);

      // A batch of several texts, each against the oracle on the ids the (separately tested) tokenizer gives.
      List<String> texts = List.of("A diagram of the Solar System!", "rocket", "the quick brown fox jumps over the lazy dog",
          "a photo of a cat");
      List<float[]> vectors = embedder.embedAll(texts.stream().map(Media::text).toList());
      try (Tokenizer tokenizer = Tokenizer.load(dir.resolve("tokenizer.json"), 77, Tokenizer.Padding.FIXED)) {
        TokenBatch batch = tokenizer.encode(texts);
        for (int i = 0; i < texts.size(); i++) {
          long[][] row = clipRow(batch.ids(i));
          assertArrayClose(oracle.expected(row[0], row[1]), vectors.get(i), "'" + texts.get(i) + "', seed " + seed);
        }
      }
    }
  }

  @ParameterizedTest(name = "{0}-d {1} model")
  @CsvSource({"512, CLIP", "768, CLIP", "1024, IMAGEBIND"})
  void image_vectors_match_an_independent_computation_for_each_width(int dim, Family family) throws Exception {
    long seed = 2000 + dim;
    TinyModels.Vision oracle = (TinyModels.Vision) writeClip("tiny-" + dim, family, dim, true, seed)[1];
    // The preprocessing is another component's; the oracle uses its output, whatever its resampling.
    ImagePreprocessor preprocessor = new ImagePreprocessor(PreprocessorConfig.read(dir.resolve("preprocessor_config.json")));
    SplittableRandom random = new SplittableRandom(seed);
    List<Media> images = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      images.add(Media.image(randomImage(random, 40 + 17 * i, 300 - 31 * i)));
    }
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU)) {
      List<float[]> vectors = embedder.embedAll(images);
      for (int i = 0; i < images.size(); i++) {
        float[] expected = oracle.expected(preprocessor.toTensor(((Media.Image) images.get(i)).pixels()));
        assertArrayClose(expected, vectors.get(i), "image " + i + ", seed " + seed);
      }
    }
  }

  @Test
  void a_clip_text_tower_that_takes_any_length_is_fed_each_text_at_its_own_length_with_the_same_vectors() throws Exception {
    TransformerModels.Shape shape = GeneratedClip.TINY_TEXT;
    Path fixed = dir.resolve("fixed"), any = dir.resolve("any");
    for (Path d : List.of(fixed, any)) {
      // The same seed gives the same weights; only the declared length and the slicing differ.
      writeGeneratedText(d, shape, d == fixed);
    }
    List<String> texts = List.of("rocket", "a photo of a cat", "the quick brown fox jumps over the lazy dog",
        "a ".repeat(500), "A diagram of the Solar System!");
    try (OnnxEmbedder full = OnnxEmbedder.open(fixed, CPU); OnnxEmbedder own = OnnxEmbedder.open(any, CPU)) {
      assertEquals(Tokenizer.Padding.FIXED, full.textPadding());
      assertEquals(Tokenizer.Padding.LONGEST, own.textPadding());
      List<float[]> padded = full.embedAll(texts.stream().map(Media::text).toList());
      List<float[]> batch = own.embedAll(texts.stream().map(Media::text).toList());
      for (int i = 0; i < texts.size(); i++) {
        String what = "'" + texts.get(i).substring(0, Math.min(20, texts.get(i).length())) + "'";
        assertArrayClose(padded.get(i), batch.get(i), what + " in a batch padded to its longest text");
        assertArrayClose(padded.get(i), own.embedText(texts.get(i)), what + " alone, at its own length");
      }
    }
  }

  @Test
  void int8_towers_run_in_onnx_runtime_and_point_where_their_float_weights_do() throws Exception {
    // The same seed rounds the same random weights to int8: each vector must stay close to the
    // float model's (cosine), and different texts must not collapse onto one vector.
    TransformerModels.Shape shape = GeneratedClip.TINY_TEXT;
    Path fp32 = dir.resolve("fp32"), int8 = dir.resolve("int8");
    writeGeneratedText(fp32, shape, false, TransformerModels.Weights.FP32);
    writeGeneratedText(int8, shape, false, TransformerModels.Weights.INT8);
    List<String> texts = List.of("rocket", "a photo of a cat", "the quick brown fox jumps over the lazy dog");
    try (OnnxEmbedder f = OnnxEmbedder.open(fp32, CPU); OnnxEmbedder q = OnnxEmbedder.open(int8, CPU)) {
      List<float[]> exact = f.embedAll(texts.stream().map(Media::text).toList());
      List<float[]> rounded = q.embedAll(texts.stream().map(Media::text).toList());
      for (int i = 0; i < texts.size(); i++) {
        assertTrue(dot(exact.get(i), rounded.get(i)) > 0.98, "cosine of '" + texts.get(i) + "': " + dot(exact.get(i), rounded.get(i)));
        assertFalse(Arrays.equals(exact.get(i), rounded.get(i)), "the int8 model computed the float one's vector exactly");
      }
      assertTrue(dot(rounded.get(0), rounded.get(1)) < 0.98, "two texts gave nearly one vector");
    }
  }

  private static double dot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += a[i] * b[i];
    }
    return s;
  }

  @Test
  void a_text_tower_of_another_fixed_length_than_the_manifest_context_is_reported_naming_both() throws Exception {
    TransformerModels.Shape s = GeneratedClip.TINY_TEXT;
    writeGeneratedText(dir, new TransformerModels.Shape(s.width(), s.layers(), s.heads(), s.mlp(), 16, s.output()), true);
    var e = assertThrows(IllegalArgumentException.class, () -> OnnxEmbedder.open(dir, CPU).close());
    assertTrue(e.getMessage().contains("takes exactly 16 tokens") && e.getMessage().contains("contextLength is 77"), e.getMessage());
  }

  /** A text-only CLIP model folder with the generated transformer text tower of {@code shape}, context 77 in its manifest. */
  private static void writeGeneratedText(Path d, TransformerModels.Shape shape, boolean fixedLength) throws Exception {
    writeGeneratedText(d, shape, fixedLength, TransformerModels.Weights.FP32);
  }

  private static void writeGeneratedText(Path d, TransformerModels.Shape shape, boolean fixedLength,
      TransformerModels.Weights weights) throws Exception {
    Path onnx = d.resolve(ModelDirs.clipText().onnx());
    Files.createDirectories(onnx.getParent());
    TransformerModels.writeText(onnx, shape, 7, fixedLength, weights);
    ModelDirs.copyShared(d, "tokenizer.json", ModelDirs.CLIP_TOKENIZER);
    ModelDirs.writeManifest(d, "generated-text", Family.CLIP, shape.output(), ModelDirs.clipText(), null);
  }

  @Test
  void mixed_text_and_image_inputs_keep_their_order() throws Exception {
    writeClip("tiny-clip", Family.CLIP, 512, true, 77);
    SplittableRandom random = new SplittableRandom(78);
    List<Media> inputs = List.of(Media.text("one"), Media.image(randomImage(random, 30, 30)), Media.text("two"),
        Media.text("three"), Media.image(randomImage(random, 50, 20)), Media.image(randomImage(random, 20, 50)),
        Media.text("four"), Media.text("five"), Media.text("six"));
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU.withMaxBatch(2))) {
      List<float[]> mixed = embedder.embedAll(inputs);
      for (int i = 0; i < inputs.size(); i++) {
        assertArrayClose(embedder.embed(inputs.get(i)), mixed.get(i), "input " + i);
      }
    }
  }

  @ParameterizedTest
  @EnumSource(value = Pooling.class, names = {"MEAN", "CLS"})
  void bert_vectors_match_an_independent_computation_on_wordpiece_ids_from_the_vocabulary(Pooling pooling) throws Exception {
    long seed = 3000 + pooling.ordinal();
    TinyModels.Bert oracle = new TinyModels.Bert(seed);
    ModelDirs.writeOnnx(dir, ModelDirs.bertText(pooling).onnx(), oracle.model());
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.MINILM_TOKENIZER);
    ModelDirs.writeManifest(dir, "tiny-minilm", Family.BERT, 384, ModelDirs.bertText(pooling), null);
    VocabWordPiece vocab = new VocabWordPiece(TestData.shared("tokenizers/all-MiniLM-L6-v2/vocab.txt"));

    // Texts of different lengths in one batch: each is padded to the longest, and the mask keeps
    // the padding out of the pooled vector.
    List<String> texts = List.of("The quick brown fox jumps over the lazy dog.", "unaffable", "Hello, world!",
        "Search engines rank passages by relevance; embeddings make that semantic.");
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU)) {
      assertEquals(Set.of(Modality.TEXT), embedder.info().modalities());
      List<float[]> vectors = embedder.embedAll(texts.stream().map(Media::text).toList());
      for (int i = 0; i < texts.size(); i++) {
        assertArrayClose(oracle.expected(vocab.encode(texts.get(i)), pooling), vectors.get(i),
            pooling + " '" + texts.get(i) + "', seed " + seed);
      }
    }
  }

  @Test
  void bert_text_far_over_the_context_is_truncated_to_it() throws Exception {
    TinyModels.Bert oracle = new TinyModels.Bert(31);
    ModelDirs.writeOnnx(dir, ModelDirs.bertText(Pooling.MEAN).onnx(), oracle.model());
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.MINILM_TOKENIZER);
    ModelDirs.writeManifest(dir, "tiny-minilm", Family.BERT, 384, ModelDirs.bertText(Pooling.MEAN), null);
    VocabWordPiece vocab = new VocabWordPiece(TestData.shared("tokenizers/all-MiniLM-L6-v2/vocab.txt"));
    int context = ModelDirs.bertText(Pooling.MEAN).contextLength();
    long word = vocab.id("word");
    long[] ids = LongStream.range(0, context).map(i -> word).toArray();
    ids[0] = vocab.id("[CLS]");
    ids[context - 1] = vocab.id("[SEP]");
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU)) {
      assertArrayClose(oracle.expected(ids, Pooling.MEAN), embedder.embedText("word ".repeat(100_000)), "100000 words");
    }
  }

  @Test
  void a_text_only_model_rejects_an_image_naming_the_input_and_what_it_takes() throws Exception {
    ModelDirs.writeOnnx(dir, ModelDirs.bertText(Pooling.CLS).onnx(), new TinyModels.Bert(5).model());
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.MINILM_TOKENIZER);
    ModelDirs.writeManifest(dir, "tiny-bge", Family.BERT, 384, ModelDirs.bertText(Pooling.CLS), null);
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU)) {
      RgbImage image = randomImage(new SplittableRandom(5), 4, 4);
      var e = assertThrows(IllegalArgumentException.class, () -> embedder.embedImage(image));
      assertEquals("input 0 is image, but model tiny-bge embeds only [text]", e.getMessage());
    }
  }

  @Test
  void an_output_width_other_than_the_manifest_dimension_is_reported_naming_both() throws Exception {
    ModelDirs.writeOnnx(dir, ModelDirs.clipText().onnx(), new TinyModels.ClipText(512, false, 9).model(false));
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.CLIP_TOKENIZER);
    ModelDirs.writeManifest(dir, "tiny-clip", Family.CLIP, 768, ModelDirs.clipText(), null);
    var e = assertThrows(IllegalArgumentException.class, () -> OnnxEmbedder.open(dir, CPU));
    assertTrue(e.getMessage().contains("text_embeds") && e.getMessage().contains("512 wide")
        && e.getMessage().contains("dimension 768"), e.getMessage());
  }

  @Test
  void an_output_declared_with_a_symbolic_width_is_still_checked_when_the_session_opens() throws Exception {
    // ONNX Runtime infers the width from the graph, so the check at open catches this case too.
    ModelDirs.writeOnnx(dir, ModelDirs.clipText().onnx(), new TinyModels.ClipText(512, false, 9).model(true));
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.CLIP_TOKENIZER);
    ModelDirs.writeManifest(dir, "tiny-clip", Family.CLIP, 768, ModelDirs.clipText(), null);
    var e = assertThrows(IllegalArgumentException.class, () -> OnnxEmbedder.open(dir, CPU));
    assertTrue(e.getMessage().contains("512 wide") && e.getMessage().contains("dimension 768"), e.getMessage());
  }

  @Test
  void an_output_that_comes_back_with_another_shape_is_reported_naming_it_and_the_dimension() {
    // A width only known at run time (a data-dependent shape) meets the same check after the run.
    FloatBuffer data = FloatBuffer.wrap(new float[2 * 512]);
    int[] positions = {4, 7};
    float[][] out = new float[8][];
    var e = assertThrows(IllegalStateException.class, () -> OnnxEmbedder.poolAndNormalize(Pooling.NONE, data,
        new long[] {2, 512}, 2, new long[0], 768, "tiny-clip", "text_embeds", positions, 0, out));
    assertTrue(e.getMessage().contains("tiny-clip") && e.getMessage().contains("[2, 512]")
        && e.getMessage().contains("dimension 768"), e.getMessage());
    e = assertThrows(IllegalStateException.class, () -> OnnxEmbedder.poolAndNormalize(Pooling.MEAN, data,
        new long[] {2, 512}, 2, new long[2], 512, "tiny-bert", "last_hidden_state", positions, 0, out));
    assertTrue(e.getMessage().contains("[batch, seq, dim]"), e.getMessage());
  }

  @Test
  void mean_pooling_averages_only_masked_in_positions_and_cls_takes_the_first() {
    // Two rows of three positions of width 2; row 0 has a padded last position.
    float[] states = {1, 0, 3, 0, 100, 100, 0, 2, 0, 4, 0, 6};
    long[] mask = {1, 1, 0, 1, 1, 1};
    int[] positions = {1, 0};
    float[][] out = new float[2][];
    OnnxEmbedder.poolAndNormalize(Pooling.MEAN, FloatBuffer.wrap(states), new long[] {2, 3, 2}, 2, mask, 2, "m", "h",
        positions, 0, out);
    assertArrayEquals(new float[] {1, 0}, out[1], 1e-7f); // mean (2, 0) of row 0 went to position 1
    assertArrayEquals(new float[] {0, 1}, out[0], 1e-7f);
    OnnxEmbedder.poolAndNormalize(Pooling.CLS, FloatBuffer.wrap(states), new long[] {2, 3, 2}, 2, mask, 2, "m", "h",
        positions, 0, out);
    assertArrayEquals(new float[] {1, 0}, out[1], 1e-7f);
    assertArrayEquals(new float[] {0, 1}, out[0], 1e-7f);
  }

  @Test
  void a_missing_model_file_is_named_with_the_commands_that_install_it() throws Exception {
    writeClip("tiny-clip", Family.CLIP, 512, true, 3);
    Files.delete(dir.resolve("onnx/vision_model.onnx"));
    var e = assertThrows(NoSuchFileException.class, () -> OnnxEmbedder.open(dir, CPU));
    assertTrue(e.getMessage().contains(dir.resolve("onnx/vision_model.onnx").toString()), e.getMessage());
    assertTrue(e.getMessage().contains("./loupe models pull tiny-clip") && e.getMessage().contains("./loupe models import DIR"),
        e.getMessage());

    Files.delete(dir.resolve(ModelManifest.FILE_NAME));
    e = assertThrows(NoSuchFileException.class, () -> OnnxEmbedder.open(dir, CPU));
    assertTrue(e.getMessage().contains(ModelManifest.FILE_NAME) && e.getMessage().contains("./loupe models pull"), e.getMessage());
  }

  @Test
  void a_graph_input_the_embedder_cannot_feed_is_named() throws Exception {
    Graph.Builder g = Graph.builder("needs_positions");
    g.input(ValueInfo.of("input_ids", DataType.INT64, "batch", 77));
    g.input(ValueInfo.of("position_ids", DataType.INT64, "batch", 77));
    String sum = g.node("Add", List.of("input_ids", "position_ids"), "sum");
    g.node("Cast", List.of(sum), "text_embeds", dev.loupe.embeddings.onnx.graph.Attribute.of("to", DataType.FLOAT.code));
    g.output(ValueInfo.of("text_embeds", DataType.FLOAT, "batch", 77));
    ModelDirs.writeOnnx(dir, ModelDirs.clipText().onnx(), OnnxModel.of(g.build()));
    ModelDirs.copyShared(dir, "tokenizer.json", ModelDirs.CLIP_TOKENIZER);
    ModelDirs.writeManifest(dir, "odd-clip", Family.CLIP, 77, ModelDirs.clipText(), null);
    var e = assertThrows(IllegalArgumentException.class, () -> OnnxEmbedder.open(dir, CPU));
    assertTrue(e.getMessage().contains("'position_ids'") && e.getMessage().contains("cannot feed"), e.getMessage());
  }

  @Test
  void asking_for_cuda_without_the_gpu_build_fails_with_the_fix() throws Exception {
    assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA), "this ONNX Runtime has CUDA");
    writeClip("tiny-clip", Family.CLIP, 512, true, 4);
    var e = assertThrows(IllegalStateException.class, () -> OnnxEmbedder.open(dir, CPU.withDevice(Device.CUDA)));
    assertTrue(e.getMessage().contains("mvn -Dcuda"), e.getMessage());
  }

  @Test
  void auto_device_runs_on_the_cpu_when_this_build_has_no_cuda() throws Exception {
    assumeFalse(OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA), "this ONNX Runtime has CUDA");
    writeClip("tiny-clip", Family.CLIP, 512, true, 4);
    try (OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU.withDevice(Device.AUTO).withIntraOpThreads(0))) {
      assertEquals(Device.CPU, embedder.device());
      assertEquals(512, embedder.embedText("works").length);
    }
  }

  @Test
  void the_version_is_a_digest_of_the_files_and_settings() throws Exception {
    ModelManifest m = ModelManifest.parse(
        OnnxEmbedder.class.getResourceAsStream("/dev/loupe/embeddings/model/catalog/clip-vit-b32.json"), "catalog");
    String version = OnnxEmbedder.version(m);
    assertTrue(version.matches("[0-9a-f]{16}"), version);
    assertEquals(version, OnnxEmbedder.version(ModelManifest.parse(
        new java.io.ByteArrayInputStream(m.toJson().getBytes(java.nio.charset.StandardCharsets.UTF_8)), "again")));

    List<ModelManifest.ModelFile> files = new ArrayList<>(m.files());
    ModelManifest.ModelFile f = files.getFirst();
    files.set(0, new ModelManifest.ModelFile(f.path(), f.bytes(), "0".repeat(64)));
    ModelManifest changedFile = new ModelManifest(m.name(), m.family(), m.description(), m.dimension(), m.licence(),
        m.source(), files, m.text(), m.vision());
    assertNotEquals(version, OnnxEmbedder.version(changedFile));

    var t = m.text();
    ModelManifest changedPooling = new ModelManifest(m.name(), m.family(), m.description(), m.dimension(), m.licence(),
        m.source(), m.files(), new ModelManifest.TextEncoder(t.onnx(), t.tokenizer(), t.contextLength(), t.inputIds(),
            t.attentionMask(), t.tokenTypeIds(), t.output(), Pooling.MEAN), m.vision());
    assertNotEquals(version, OnnxEmbedder.version(changedPooling));
  }

  @Test
  void a_closed_embedder_says_so() throws Exception {
    writeClip("tiny-clip", Family.CLIP, 512, true, 6);
    OnnxEmbedder embedder = OnnxEmbedder.open(dir, CPU);
    embedder.close();
    embedder.close();
    var e = assertThrows(IllegalStateException.class, () -> embedder.embedText("late"));
    assertTrue(e.getMessage().contains("tiny-clip") && e.getMessage().contains("closed"), e.getMessage());
  }

  @Test
  void options_reject_impossible_values_naming_them() {
    var e = assertThrows(IllegalArgumentException.class, () -> new Options(0, 1, Device.CPU));
    assertTrue(e.getMessage().contains("0"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new Options(8, -1, Device.CPU));
    assertTrue(e.getMessage().contains("-1"), e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> Device.parse("gpu"));
    assertTrue(e.getMessage().contains("'gpu'"), e.getMessage());
    assertEquals(Device.CUDA, Device.parse(" CUDA "));
    assertEquals(Runtime.getRuntime().availableProcessors(), new Options(8, 0, Device.CPU).threads());
  }

  @Test
  void a_zero_vector_cannot_be_normalized_and_names_the_input() {
    var e = assertThrows(IllegalStateException.class, () -> OnnxEmbedder.normalize(new float[4], "m", 3));
    assertTrue(e.getMessage().contains("zero") && e.getMessage().contains("input 3"), e.getMessage());
    float[] v = {3, 4};
    OnnxEmbedder.normalize(v, "m", 0);
    assertArrayEquals(new float[] {0.6f, 0.8f}, v, 1e-7f);
  }

  static RgbImage randomImage(SplittableRandom random, int width, int height) {
    byte[] rgb = new byte[3 * width * height];
    for (int i = 0; i < rgb.length; i++) {
      rgb[i] = (byte) random.nextInt(256);
    }
    return new RgbImage(width, height, rgb);
  }

  static void assertArrayClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      if (Math.abs(expected[i] - actual[i]) > TOLERANCE) {
        throw new AssertionError(what + ": component " + i + " is " + actual[i] + ", expected " + expected[i]);
      }
    }
  }
}
