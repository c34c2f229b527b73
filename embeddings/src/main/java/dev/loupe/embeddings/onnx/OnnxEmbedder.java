package dev.loupe.embeddings.onnx;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtProvider;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.loupe.embeddings.Embedder;
import dev.loupe.embeddings.Media;
import dev.loupe.embeddings.Modality;
import dev.loupe.embeddings.image.ImagePreprocessor;
import dev.loupe.embeddings.image.PreprocessorConfig;
import dev.loupe.embeddings.model.ModelManifest;
import dev.loupe.embeddings.model.ModelManifest.Pooling;
import dev.loupe.embeddings.text.TokenBatch;
import dev.loupe.embeddings.text.Tokenizer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.locks.ReadWriteLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * An {@link Embedder} that runs a model's ONNX encoders, as its {@link ModelManifest} describes
 * them, with ONNX Runtime: CLIP and ImageBind text and vision towers, and BERT passage encoders.
 *
 * <p>Text goes through the model's own tokenizer (padded to the context length for CLIP-style
 * models, to the longest text of the batch for BERT), the session, the manifest's pooling (none,
 * masked mean or CLS) and L2 normalization. Images go through the model's preprocessing and the
 * vision session. Inputs of both kinds may be mixed in one call; the result keeps their order.
 *
 * <p>Thread-safe: each encoder has one {@link OrtSession}, created at {@link #open} and shared by
 * all callers (ONNX Runtime runs sessions concurrently). A call is split into batches of at most
 * {@link Options#maxBatch()} inputs per modality. {@link #close()} waits for calls in flight.
 */
public final class OnnxEmbedder implements Embedder {

  private static final System.Logger LOG = System.getLogger(OnnxEmbedder.class.getName());

  /** Where the sessions run. */
  public enum Device {
    /** The CUDA execution provider when this ONNX Runtime build and the machine have it, else the CPU with a warning. */
    AUTO,
    /** The CPU. */
    CPU,
    /** The CUDA execution provider, or an error that says how to get it. */
    CUDA;

    /** {@code auto}, {@code cpu} or {@code cuda}, in any case. */
    public static Device parse(String value) {
      try {
        return valueOf(value.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException | NullPointerException e) {
        throw new IllegalArgumentException("embedding device '" + value + "' is not auto, cpu or cuda");
      }
    }
  }

  /**
   * How to run the sessions.
   *
   * @param maxBatch inputs per session run at most, per modality
   * @param intraOpThreads threads ONNX Runtime uses inside one operator; 0 means all cores
   * @param device where the sessions run
   */
  public record Options(int maxBatch, int intraOpThreads, Device device) {

    /** The system property that sets {@link #defaults()}'s device: {@code auto}, {@code cpu} or {@code cuda}. */
    public static final String DEVICE_PROPERTY = "loupe.embeddings.device";

    public Options {
      if (maxBatch < 1 || maxBatch > 4096) {
        throw new IllegalArgumentException("maximum batch " + maxBatch + " is outside [1, 4096]");
      }
      if (intraOpThreads < 0 || intraOpThreads > 1024) {
        throw new IllegalArgumentException("intra-op threads " + intraOpThreads + " is outside [0, 1024] (0 = all cores)");
      }
      Objects.requireNonNull(device, "device");
    }

    /** Batches of 32, all cores, and the device of {@value #DEVICE_PROPERTY} (default auto). */
    public static Options defaults() {
      return new Options(32, 0, Device.parse(System.getProperty(DEVICE_PROPERTY, "auto")));
    }

    public Options withMaxBatch(int maxBatch) {
      return new Options(maxBatch, intraOpThreads, device);
    }

    public Options withIntraOpThreads(int intraOpThreads) {
      return new Options(maxBatch, intraOpThreads, device);
    }

    public Options withDevice(Device device) {
      return new Options(maxBatch, intraOpThreads, device);
    }

    /** The thread count handed to ONNX Runtime: {@link #intraOpThreads}, or the number of cores when 0. */
    public int threads() {
      return intraOpThreads == 0 ? Runtime.getRuntime().availableProcessors() : intraOpThreads;
    }
  }

  private final ModelManifest manifest;
  private final Info info;
  private final Options options;
  private final Device device;
  private final TextTower text;
  private final VisionTower vision;
  private final ReadWriteLock lock = new ReentrantReadWriteLock();
  private boolean closed; // guarded by lock

  private OnnxEmbedder(ModelManifest manifest, Info info, Options options, Device device, TextTower text, VisionTower vision) {
    this.manifest = manifest;
    this.info = info;
    this.options = options;
    this.device = device;
    this.text = text;
    this.vision = vision;
  }

  /** Opens the model installed in {@code modelDir}, described by its {@code model.json}. */
  public static OnnxEmbedder open(Path modelDir, Options options) throws IOException {
    Path manifestFile = modelDir.resolve(ModelManifest.FILE_NAME);
    if (!Files.isRegularFile(manifestFile)) {
      String name = modelDir.getFileName() == null ? "<name>" : modelDir.getFileName().toString();
      throw new NoSuchFileException(manifestFile.toString(), null, "no model manifest here; "
          + "run ./loupe models pull " + name + " to download the model, or ./loupe models import DIR to install it from a folder");
    }
    return open(modelDir, ModelManifest.read(manifestFile), options);
  }

  /**
   * Opens the encoders of {@code manifest} whose files lie in {@code modelDir}: loads the
   * tokenizer and preprocessing, creates one session per encoder and checks that the graphs'
   * inputs and outputs match the manifest.
   *
   * @throws NoSuchFileException naming a model file that is absent and the command that installs it
   * @throws IllegalArgumentException when a graph does not match the manifest (names, types, dimension)
   * @throws IllegalStateException when {@link Device#CUDA} was asked for and cannot be had
   */
  public static OnnxEmbedder open(Path modelDir, ModelManifest manifest, Options options) throws IOException {
    return onLargeStack(() -> openHere(modelDir, manifest, options));
  }

  /** How the text tower pads token rows; null for a model without one. For tests. */
  Tokenizer.Padding textPadding() {
    return text == null ? null : text.padding();
  }

  /**
   * Runs {@code body} on a platform thread with a 64 MB stack and returns its result. ONNX Runtime's
   * set-up (its environment and first sessions) recursed past a platform thread's default 1 MB in a
   * JVM started by another JVM: SIGSEGV, no hs_err. The new thread keeps the caller's scheduling
   * priority, and so do the threads ONNX Runtime starts from it.
   */
  private static OnnxEmbedder onLargeStack(Opening body) throws IOException {
    OnnxEmbedder[] opened = new OnnxEmbedder[1];
    Throwable[] failure = new Throwable[1];
    Thread t = Thread.ofPlatform().name("loupe-onnx-open").stackSize(64 << 20).start(() -> {
      try {
        opened[0] = body.open();
      } catch (Throwable e) {
        failure[0] = e;
      }
    });
    boolean interrupted = false;
    while (true) {
      try {
        t.join();
        break;
      } catch (InterruptedException e) {
        interrupted = true; // wait anyway, so that sessions being made are not leaked
      }
    }
    if (interrupted) Thread.currentThread().interrupt();
    switch (failure[0]) {
      case null -> {}
      case IOException e -> throw e;
      case RuntimeException e -> throw e;
      case Error e -> throw e;
      default -> throw new IllegalStateException(failure[0]);
    }
    return opened[0];
  }

  private interface Opening {
    OnnxEmbedder open() throws IOException;
  }

  private static OnnxEmbedder openHere(Path modelDir, ModelManifest manifest, Options options) throws IOException {
    Objects.requireNonNull(manifest, "manifest");
    Objects.requireNonNull(options, "options");
    List<String> used = new ArrayList<>();
    if (manifest.text() != null) {
      used.add(manifest.text().onnx());
      used.add(manifest.text().tokenizer());
    }
    if (manifest.vision() != null) {
      used.add(manifest.vision().onnx());
      used.add(manifest.vision().preprocessor());
    }
    for (String file : used) {
      Path p = modelDir.resolve(file);
      if (!Files.isRegularFile(p)) {
        throw new NoSuchFileException(p.toString(), null, "model " + manifest.name() + " is missing its file " + file
            + "; run ./loupe models pull " + manifest.name() + " to download it, or ./loupe models import DIR"
            + " to install it from a folder that holds the model's files");
      }
    }

    SessionFactory sessions = new SessionFactory(manifest.name(), options);
    TextTower text = null;
    VisionTower vision = null;
    try {
      if (manifest.text() != null) {
        text = TextTower.open(modelDir, manifest, sessions);
      }
      if (manifest.vision() != null) {
        vision = VisionTower.open(modelDir, manifest, sessions, options.maxBatch());
      }
    } catch (IOException | RuntimeException e) {
      if (text != null) {
        text.close();
      }
      throw e;
    }
    Set<Modality> modalities = EnumSet.noneOf(Modality.class);
    if (text != null) {
      modalities.add(Modality.TEXT);
    }
    if (vision != null) {
      modalities.add(Modality.IMAGE);
    }
    Info info = new Info(manifest.name(), version(manifest), manifest.dimension(), modalities);
    LOG.log(System.Logger.Level.INFO, "embedder " + manifest.name() + " (" + info.dimension() + "-d, "
        + modalities.stream().map(Modality::label).sorted().toList() + ", version " + info.version() + ") on "
        + sessions.chosen + " with " + options.threads() + " intra-op threads, batches of " + options.maxBatch());
    return new OnnxEmbedder(manifest, info, options, sessions.chosen, text, vision);
  }

  @Override
  public Info info() {
    return info;
  }

  /** Where the sessions run: {@link Device#CPU} or {@link Device#CUDA}, never {@link Device#AUTO}. */
  public Device device() {
    return device;
  }

  public Options options() {
    return options;
  }

  @Override
  public List<float[]> embedAll(List<? extends Media> inputs) {
    Objects.requireNonNull(inputs, "inputs");
    // Check the whole request first, so that nothing runs for a call that will fail.
    int textCount = 0;
    for (int i = 0; i < inputs.size(); i++) {
      Media m = inputs.get(i);
      if (m == null) {
        throw new IllegalArgumentException("input " + i + " is null");
      }
      info.checkAccepts(m, i);
      if (m instanceof Media.Text t) {
        Tokenizer.checkText(t.text(), i);
        textCount++;
      }
    }
    int[] textPositions = new int[textCount];
    int[] imagePositions = new int[inputs.size() - textCount];
    for (int i = 0, t = 0, v = 0; i < inputs.size(); i++) {
      switch (inputs.get(i)) {
        case Media.Text ignored -> textPositions[t++] = i;
        case Media.Image ignored -> imagePositions[v++] = i;
      }
    }

    float[][] out = new float[inputs.size()][];
    lock.readLock().lock();
    try {
      if (closed) {
        throw new IllegalStateException("embedder " + info.modelId() + " is closed");
      }
      for (int from = 0; from < textPositions.length; from += options.maxBatch()) {
        int to = Math.min(textPositions.length, from + options.maxBatch());
        text.embed(inputs, textPositions, from, to, out);
      }
      for (int from = 0; from < imagePositions.length; from += options.maxBatch()) {
        int to = Math.min(imagePositions.length, from + options.maxBatch());
        vision.embed(inputs, imagePositions, from, to, out);
      }
    } finally {
      lock.readLock().unlock();
    }
    return List.of(out);
  }

  /** Closes the sessions and the tokenizer, after the calls in flight have finished. Idempotent. */
  @Override
  public void close() {
    lock.writeLock().lock();
    try {
      if (closed) {
        return;
      }
      closed = true;
      if (text != null) {
        text.close();
      }
      if (vision != null) {
        vision.close();
      }
    } finally {
      lock.writeLock().unlock();
    }
  }

  @Override
  public String toString() {
    return "OnnxEmbedder[" + manifest.name() + ", " + info.dimension() + "-d, " + device + "]";
  }

  /**
   * The content digest of the model: sha256 over everything that decides its vectors (family,
   * dimension, encoder settings, and the path and sha256 of every file), first 16 hex digits.
   */
  static String version(ModelManifest m) {
    StringBuilder canonical = new StringBuilder();
    canonical.append("family ").append(m.family()).append('\n');
    canonical.append("dimension ").append(m.dimension()).append('\n');
    if (m.text() != null) {
      var t = m.text();
      canonical.append("text ").append(String.join(" ", t.onnx(), t.tokenizer(), Integer.toString(t.contextLength()),
          t.inputIds(), t.attentionMask(), t.tokenTypeIds(), t.output(), t.pooling().name())).append('\n');
    }
    if (m.vision() != null) {
      var v = m.vision();
      canonical.append("vision ").append(String.join(" ", v.onnx(), v.preprocessor(), v.input(), v.output())).append('\n');
    }
    m.files().stream().sorted((a, b) -> a.path().compareTo(b.path()))
        .forEach(f -> canonical.append("file ").append(f.sha256()).append(' ').append(f.path()).append('\n'));
    try {
      byte[] digest = MessageDigest.getInstance("SHA-256").digest(canonical.toString().getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(digest, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Sessions

  /** Creates the sessions of one embedder; decides CUDA or CPU once, at the first session. */
  private static final class SessionFactory {
    private final String model;
    private final Options options;
    private Device chosen; // null until the first session

    SessionFactory(String model, Options options) {
      this.model = model;
      this.options = options;
    }

    OrtSession create(Path onnx, String role) {
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      if (chosen == null) {
        chosen = switch (options.device()) {
          case CPU -> Device.CPU;
          case CUDA -> {
            if (!OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA)) {
              throw new IllegalStateException("embedding device cuda was asked for (" + Options.DEVICE_PROPERTY
                  + "), but this ONNX Runtime build has no CUDA execution provider; build Loupe with `mvn -Dcuda ...`"
                  + " (onnxruntime_gpu, which needs CUDA 12 and cuDNN 9 on the machine), or use device auto or cpu");
            }
            yield Device.CUDA;
          }
          case AUTO -> OrtEnvironment.getAvailableProviders().contains(OrtProvider.CUDA) ? Device.CUDA : Device.CPU;
        };
      }
      if (chosen == Device.CUDA) {
        try {
          return session(env, onnx, true);
        } catch (OrtException e) {
          if (options.device() == Device.CUDA) {
            throw new IllegalStateException("embedding device cuda was asked for, but ONNX Runtime could not start the CUDA"
                + " execution provider for " + onnx + " (" + e.getMessage() + "); install CUDA 12 and cuDNN 9 and check that"
                + " nvidia-smi sees a GPU, or use device auto or cpu", e);
          }
          LOG.log(System.Logger.Level.WARNING, "embedder " + model + ": the CUDA execution provider did not start ("
              + e.getMessage() + "); running on the CPU");
          // From here on every session is a CPU one; a tower already opened on CUDA stays there,
          // which only happens when the GPU fails between the two towers of one model.
          chosen = Device.CPU;
        }
      }
      try {
        return session(env, onnx, false);
      } catch (OrtException e) {
        throw new IllegalArgumentException("model " + model + ": ONNX Runtime cannot load the " + role + " " + onnx + ": "
            + e.getMessage(), e);
      }
    }

    private OrtSession session(OrtEnvironment env, Path onnx, boolean cuda) throws OrtException {
      // The session copies what it needs from the options, so they can be closed right away.
      try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
        so.setIntraOpNumThreads(options.threads());
        // Spinning threads keep cores busy between calls; an appliance that also indexes and
        // serves should give them back.
        so.addConfigEntry("session.intra_op.allow_spinning", "0");
        if (cuda) {
          so.addCUDA(0);
        }
        return env.createSession(onnx.toString(), so);
      }
    }
  }


  /** Declared inputs and outputs of a session, for messages. */
  private static String describe(Map<String, NodeInfo> nodes) {
    StringBuilder sb = new StringBuilder();
    for (NodeInfo n : nodes.values()) {
      if (!sb.isEmpty()) {
        sb.append(", ");
      }
      sb.append(n.getName());
      if (n.getInfo() instanceof TensorInfo t) {
        sb.append(' ').append(t.type.name().toLowerCase(Locale.ROOT)).append(Arrays.toString(t.getShape()));
      }
    }
    return sb.toString();
  }

  /** The tensor info of {@code name} in {@code nodes}, or an error listing what there is. */
  private static TensorInfo tensor(Map<String, NodeInfo> nodes, String name, String kind, String model, Path onnx) {
    NodeInfo node = nodes.get(name);
    if (node == null) {
      throw new IllegalArgumentException("model " + model + ": " + onnx + " has no " + kind + " '" + name
          + "' (the manifest names it); its " + kind + "s are: " + describe(nodes));
    }
    if (!(node.getInfo() instanceof TensorInfo t)) {
      throw new IllegalArgumentException("model " + model + ": " + kind + " '" + name + "' of " + onnx + " is not a tensor");
    }
    return t;
  }

  /** Checks a declared output's rank and width against the pooling and the manifest dimension. */
  private static void checkOutput(TensorInfo out, String name, Pooling pooling, int dimension, String model, Path onnx) {
    if (out.type != OnnxJavaType.FLOAT) {
      throw new IllegalArgumentException("model " + model + ": output " + name + " of " + onnx + " is "
          + out.type.name().toLowerCase(Locale.ROOT) + ", not float32");
    }
    long[] shape = out.getShape();
    int rank = pooling == Pooling.NONE ? 2 : 3;
    if (shape.length != rank) {
      throw new IllegalArgumentException("model " + model + ": output " + name + " of " + onnx + " has shape "
          + Arrays.toString(shape) + ", but pooling " + pooling.name().toLowerCase(Locale.ROOT) + " needs "
          + (rank == 2 ? "[batch, dim]" : "[batch, seq, dim]"));
    }
    long width = shape[rank - 1];
    if (width > 0 && width != dimension) {
      throw new IllegalArgumentException("model " + model + ": output " + name + " of " + onnx + " is " + width
          + " wide, but the manifest says dimension " + dimension);
    }
  }

  private static IllegalStateException runFailed(String model, String role, int[] positions, int from, int to, OrtException e) {
    return new IllegalStateException("model " + model + ": ONNX Runtime failed running the " + role + " on inputs "
        + Arrays.toString(Arrays.copyOfRange(positions, from, to)) + ": " + e.getMessage(), e);
  }

  // ---------------------------------------------------------------------------------------------
  // Pooling and normalization

  /**
   * Turns an encoder output into one L2-normalized vector per row and stores row {@code r} at
   * {@code out[positions[from + r]]}.
   *
   * @param data the output, row-major: {@code [rows, dim]} for {@link Pooling#NONE},
   *     {@code [rows, seq, dim]} otherwise
   * @param mask the attention mask {@code [rows, seq]}, read by {@link Pooling#MEAN}
   */
  static void poolAndNormalize(Pooling pooling, FloatBuffer data, long[] shape, int rows, long[] mask, int dimension,
      String model, String output, int[] positions, int from, float[][] out) {
    int rank = pooling == Pooling.NONE ? 2 : 3;
    if (shape.length != rank || shape[0] != rows || shape[rank - 1] != dimension) {
      throw new IllegalStateException("model " + model + ": output " + output + " came back with shape "
          + Arrays.toString(shape) + " for " + rows + " inputs, but the manifest says dimension " + dimension
          + " and pooling " + pooling.name().toLowerCase(Locale.ROOT) + " needs " + (rank == 2 ? "[batch, dim]" : "[batch, seq, dim]"));
    }
    int seq = rank == 3 ? (int) shape[1] : 1;
    if (pooling == Pooling.MEAN && mask.length != (long) rows * seq) {
      throw new IllegalStateException("model " + model + ": output " + output + " has " + seq
          + " positions per row, but " + (mask.length / Math.max(rows, 1)) + " tokens went in");
    }
    for (int r = 0; r < rows; r++) {
      float[] v = new float[dimension];
      switch (pooling) {
        case NONE -> data.get(r * dimension, v);
        case CLS -> data.get(r * seq * dimension, v);
        case MEAN -> {
          // Sum in double: a long passage adds hundreds of states.
          double[] sum = new double[dimension];
          long count = 0;
          for (int s = 0; s < seq; s++) {
            if (mask[r * seq + s] == 0) {
              continue;
            }
            count++;
            int base = (r * seq + s) * dimension;
            for (int d = 0; d < dimension; d++) {
              sum[d] += data.get(base + d);
            }
          }
          assert count > 0 : "a row with no token passed the tokenizer";
          for (int d = 0; d < dimension; d++) {
            v[d] = (float) (sum[d] / count);
          }
        }
      }
      int position = positions[from + r];
      normalize(v, model, position);
      out[position] = v;
    }
  }

  /** Scales {@code v} to unit L2 norm in place; throws naming the input for NaN, infinite or zero vectors. */
  static void normalize(float[] v, String model, int position) {
    double sq = 0;
    for (float x : v) {
      sq += (double) x * x;
    }
    if (!Double.isFinite(sq) || sq == 0) {
      throw new IllegalStateException("model " + model + " produced a " + (sq == 0 ? "zero" : "non-finite")
          + " vector for input " + position + ", which cannot be normalized");
    }
    double inv = 1 / Math.sqrt(sq);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (v[i] * inv);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Towers

  /** The text encoder: tokenizer plus session, fed only the inputs the graph declares. */
  private static final class TextTower {
    private final String model;
    private final int dimension;
    private final ModelManifest.TextEncoder spec;
    private final Tokenizer tokenizer;
    private final OrtSession session;
    private final boolean feedMask, feedTypes;

    private TextTower(String model, int dimension, ModelManifest.TextEncoder spec, Tokenizer tokenizer, OrtSession session,
        boolean feedMask, boolean feedTypes) {
      this.model = model;
      this.dimension = dimension;
      this.spec = spec;
      this.tokenizer = tokenizer;
      this.session = session;
      this.feedMask = feedMask;
      this.feedTypes = feedTypes;
    }

    static TextTower open(Path dir, ModelManifest m, SessionFactory sessions) throws IOException {
      ModelManifest.TextEncoder spec = m.text();
      Path onnx = dir.resolve(spec.onnx());
      OrtSession session = null;
      Tokenizer tokenizer = null;
      try {
        session = sessions.create(onnx, "text encoder");
        Map<String, NodeInfo> inputs = session.getInputInfo();
        // Exports differ in what they take: Xenova's CLIP text model may or may not take an
        // attention mask, BERT takes token types. Feed exactly what the graph declares.
        for (String name : inputs.keySet()) {
          if (!name.equals(spec.inputIds()) && !name.equals(spec.attentionMask()) && !name.equals(spec.tokenTypeIds())) {
            throw new IllegalArgumentException("model " + m.name() + ": text encoder " + onnx + " takes input '" + name
                + "', which Loupe cannot feed; it feeds the manifest's inputIds '" + spec.inputIds() + "', attentionMask '"
                + spec.attentionMask() + "' and tokenTypeIds '" + spec.tokenTypeIds() + "' (inputs: " + describe(inputs) + ")");
          }
          TensorInfo t = tensor(inputs, name, "input", m.name(), onnx);
          if (t.type != OnnxJavaType.INT64) {
            throw new IllegalArgumentException("model " + m.name() + ": input " + name + " of " + onnx + " is "
                + t.type.name().toLowerCase(Locale.ROOT) + "; Loupe feeds token ids as int64");
          }
        }
        long[] idsShape = tensor(inputs, spec.inputIds(), "input", m.name(), onnx).getShape();
        long declared = idsShape.length == 2 ? idsShape[1] : -1;
        if (declared > 0 && declared != spec.contextLength()) {
          throw new IllegalArgumentException("model " + m.name() + ": input " + spec.inputIds() + " of " + onnx + " takes exactly "
              + declared + " tokens, but the manifest's contextLength is " + spec.contextLength());
        }
        tokenizer = Tokenizer.load(dir.resolve(spec.tokenizer()), spec.contextLength(), padding(m.family(), declared));
        TensorInfo out = tensor(session.getOutputInfo(), spec.output(), "output", m.name(), onnx);
        checkOutput(out, spec.output(), spec.pooling(), m.dimension(), m.name(), onnx);
        return new TextTower(m.name(), m.dimension(), spec, tokenizer, session,
            inputs.containsKey(spec.attentionMask()), inputs.containsKey(spec.tokenTypeIds()));
      } catch (OrtException e) {
        closeQuietly(session, tokenizer);
        throw new IllegalArgumentException("model " + m.name() + ": cannot read the inputs and outputs of " + onnx + ": "
            + e.getMessage(), e);
      } catch (IOException | RuntimeException e) {
        closeQuietly(session, tokenizer);
        throw e;
      }
    }

    /**
     * How rows are padded. BERT encoders mask padding, so a batch is as long as its longest text.
     * CLIP's text tower is causal and pools the first end-of-text token, so no position after it
     * changes the embedding: a graph that takes any length is fed each batch at its longest text
     * (a 5-word query costs 7 positions, not 77). A graph that declares a fixed length, and
     * ImageBind, whose exports are not known to take shorter inputs, get the full context.
     */
    static Tokenizer.Padding padding(ModelManifest.Family family, long declaredLength) {
      return switch (family) {
        case BERT -> Tokenizer.Padding.LONGEST;
        case CLIP -> declaredLength > 0 ? Tokenizer.Padding.FIXED : Tokenizer.Padding.LONGEST;
        case IMAGEBIND -> Tokenizer.Padding.FIXED;
      };
    }

    /** The padding this tower's tokenizer applies. */
    Tokenizer.Padding padding() {
      return tokenizer.padding();
    }

    void embed(List<? extends Media> inputs, int[] positions, int from, int to, float[][] out) {
      List<String> texts = new ArrayList<>(to - from);
      for (int i = from; i < to; i++) {
        texts.add(((Media.Text) inputs.get(positions[i])).text());
      }
      TokenBatch batch = tokenizer.encode(texts, i -> positions[from + i]);
      long[] shape = {batch.rows(), batch.length()};
      OrtEnvironment env = OrtEnvironment.getEnvironment();
      try (OnnxTensor ids = OnnxTensor.createTensor(env, LongBuffer.wrap(batch.inputIds()), shape);
          OnnxTensor mask = feedMask ? OnnxTensor.createTensor(env, LongBuffer.wrap(batch.attentionMask()), shape) : null;
          OnnxTensor types = feedTypes ? OnnxTensor.createTensor(env, LongBuffer.wrap(batch.tokenTypeIds()), shape) : null) {
        Map<String, OnnxTensor> feed = new LinkedHashMap<>();
        feed.put(spec.inputIds(), ids);
        if (mask != null) {
          feed.put(spec.attentionMask(), mask);
        }
        if (types != null) {
          feed.put(spec.tokenTypeIds(), types);
        }
        try (OrtSession.Result result = session.run(feed, Set.of(spec.output()))) {
          OnnxTensor t = output(result.get(0));
          poolAndNormalize(spec.pooling(), t.getFloatBuffer(), t.getInfo().getShape(), batch.rows(), batch.attentionMask(), dimension,
              model, spec.output(), positions, from, out);
        }
      } catch (OrtException e) {
        throw runFailed(model, "text encoder", positions, from, to, e);
      }
    }

    void close() {
      closeQuietly(session, tokenizer);
    }
  }

  /** The image encoder: preprocessing plus session, with pooled scratch buffers for the pixel batch. */
  private static final class VisionTower {
    private final String model;
    private final int dimension;
    private final ModelManifest.VisionEncoder spec;
    private final ImagePreprocessor preprocessor;
    private final OrtSession session;
    private final int maxBatch;
    // Pixel batches are large (32 images of 3 x 224 x 224 floats take 19 MB) and off-heap so that
    // ONNX Runtime reads them without a copy; each concurrent caller takes one from the pool and
    // puts it back, so they are allocated once per level of concurrency, not per call.
    private final ConcurrentLinkedDeque<PixelScratch> scratch = new ConcurrentLinkedDeque<>();

    private VisionTower(String model, int dimension, ModelManifest.VisionEncoder spec, ImagePreprocessor preprocessor,
        OrtSession session, int maxBatch) {
      this.model = model;
      this.dimension = dimension;
      this.spec = spec;
      this.preprocessor = preprocessor;
      this.session = session;
      this.maxBatch = maxBatch;
    }

    static VisionTower open(Path dir, ModelManifest m, SessionFactory sessions, int maxBatch) throws IOException {
      ModelManifest.VisionEncoder spec = m.vision();
      PreprocessorConfig config = PreprocessorConfig.read(dir.resolve(spec.preprocessor()));
      Path onnx = dir.resolve(spec.onnx());
      OrtSession session = sessions.create(onnx, "vision encoder");
      try {
        Map<String, NodeInfo> inputs = session.getInputInfo();
        TensorInfo in = tensor(inputs, spec.input(), "input", m.name(), onnx);
        if (inputs.size() != 1) {
          throw new IllegalArgumentException("model " + m.name() + ": vision encoder " + onnx + " takes " + inputs.size()
              + " inputs (" + describe(inputs) + "); Loupe feeds only the pixels, '" + spec.input() + "'");
        }
        long[] shape = in.getShape();
        long[] want = {-1, 3, config.outputHeight(), config.outputWidth()};
        boolean fits = in.type == OnnxJavaType.FLOAT && shape.length == 4;
        for (int i = 1; fits && i < 4; i++) {
          fits = shape[i] < 0 || shape[i] == want[i];
        }
        if (!fits) {
          throw new IllegalArgumentException("model " + m.name() + ": input " + spec.input() + " of " + onnx + " is "
              + in.type.name().toLowerCase(Locale.ROOT) + Arrays.toString(shape) + ", but the preprocessing "
              + spec.preprocessor() + " makes float32[batch, 3, " + want[2] + ", " + want[3] + "]");
        }
        TensorInfo out = tensor(session.getOutputInfo(), spec.output(), "output", m.name(), onnx);
        checkOutput(out, spec.output(), Pooling.NONE, m.dimension(), m.name(), onnx);
        return new VisionTower(m.name(), m.dimension(), spec, new ImagePreprocessor(config), session, maxBatch);
      } catch (OrtException e) {
        closeQuietly(session, null);
        throw new IllegalArgumentException("model " + m.name() + ": cannot read the inputs and outputs of " + onnx + ": "
            + e.getMessage(), e);
      } catch (RuntimeException e) {
        closeQuietly(session, null);
        throw e;
      }
    }

    void embed(List<? extends Media> inputs, int[] positions, int from, int to, float[][] out) {
      int rows = to - from;
      PixelScratch s = scratch.pollFirst();
      if (s == null) {
        s = new PixelScratch(maxBatch, preprocessor.tensorSize());
      }
      try {
        FloatBuffer pixels = s.batch.clear();
        for (int i = from; i < to; i++) {
          preprocessor.toTensor(((Media.Image) inputs.get(positions[i])).pixels(), s.image, 0);
          pixels.put(s.image);
        }
        pixels.flip();
        PreprocessorConfig c = preprocessor.config();
        long[] shape = {rows, 3, c.outputHeight(), c.outputWidth()};
        try (OnnxTensor in = OnnxTensor.createTensor(OrtEnvironment.getEnvironment(), pixels, shape);
            OrtSession.Result result = session.run(Map.of(spec.input(), in), Set.of(spec.output()))) {
          OnnxTensor t = output(result.get(0));
          poolAndNormalize(Pooling.NONE, t.getFloatBuffer(), t.getInfo().getShape(), rows, new long[0], dimension,
              model, spec.output(), positions, from, out);
        } catch (OrtException e) {
          throw runFailed(model, "vision encoder", positions, from, to, e);
        }
      } finally {
        scratch.push(s);
      }
    }

    void close() {
      scratch.clear();
      closeQuietly(session, null);
    }
  }

  /** One caller's pixel buffers: a single image, and the batch handed to ONNX Runtime. */
  private static final class PixelScratch {
    final float[] image;
    final FloatBuffer batch;

    PixelScratch(int maxBatch, int tensorSize) {
      image = new float[tensorSize];
      batch = ByteBuffer.allocateDirect(Math.multiplyExact(Math.multiplyExact(maxBatch, tensorSize), Float.BYTES))
          .order(ByteOrder.nativeOrder()).asFloatBuffer();
    }
  }

  private static OnnxTensor output(OnnxValue value) {
    if (!(value instanceof OnnxTensor t) || t.getInfo().type != OnnxJavaType.FLOAT) {
      throw new IllegalStateException("encoder output is " + value.getInfo() + ", not a float32 tensor");
    }
    return t;
  }

  private static void closeQuietly(OrtSession session, Tokenizer tokenizer) {
    if (session != null) {
      try {
        session.close();
      } catch (OrtException e) {
        LOG.log(System.Logger.Level.WARNING, "closing an ONNX Runtime session failed: " + e.getMessage());
      }
    }
    if (tokenizer != null) {
      tokenizer.close();
    }
  }
}
