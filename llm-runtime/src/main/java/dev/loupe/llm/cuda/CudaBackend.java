package dev.loupe.llm.cuda;

import dev.loupe.gpu.CudaException;
import dev.loupe.gpu.Gpu;
import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.SessionOptions;

/**
 * Chooses the backend a session runs on: {@link #open} gives a {@link CudaSession} when asked for
 * the GPU, a device is there ({@link Gpu#detect()}) and the model is one the CUDA backend runs, and
 * otherwise the CPU {@link dev.loupe.llm.model.Session}, with one log line saying which and why;
 * {@link #device} makes the same choice once for a caller that opens many sessions.
 *
 * <p>Stateless and thread-safe.
 */
public final class CudaBackend {
  private static final System.Logger log = System.getLogger("dev.loupe.llm.cuda");

  private CudaBackend() {}

  /**
   * A session and what it holds: {@link #close} frees the device model and session (nothing for a
   * CPU session; the {@link Model} stays the caller's).
   *
   * @param state the session a generator drives
   * @param gpu the CUDA model when the session runs on the GPU, else null
   * @param description one line: {@code GPU: …} or {@code CPU: …why…}
   */
  public record Selected(LanguageModelState state, CudaModel gpu, String description) implements AutoCloseable {
    public Selected {
      if (state == null || description == null || description.isBlank()) {
        throw new IllegalArgumentException("state " + state + " and description '" + description + "' must be given");
      }
    }

    /** Whether the session runs on the GPU. */
    public boolean onGpu() {
      return gpu != null;
    }

    @Override
    public void close() {
      if (state instanceof CudaSession s) s.close();
      if (gpu != null) gpu.close();
    }
  }

  /** As {@link #open(Model, SessionOptions, boolean, Gpu.Detection)} with the JVM's {@link Gpu#detect()}. */
  public static Selected open(Model model, SessionOptions options, boolean wantGpu) {
    return open(model, options, wantGpu, wantGpu ? Gpu.detect() : null);
  }

  /**
   * A session of {@code model}: on the GPU when {@code wantGpu} and {@code gpu} is available and the
   * model runs there, else on the CPU (logged, with the reason).
   *
   * @throws IllegalArgumentException as {@link Model#newSession} (the CPU session's memory budget)
   */
  public static Selected open(Model model, SessionOptions options, boolean wantGpu, Gpu.Detection gpu) {
    if (!wantGpu) {
      return new Selected(model.newSession(options), null, "CPU: the GPU was not asked for");
    }
    Uploaded up = upload(model, gpu, options);
    if (up.model() == null) {
      return new Selected(model.newSession(options), null, up.description());
    }
    return new Selected(up.firstSession(), up.model(), up.description());
  }

  /**
   * Where a model's sessions run, for a caller that opens many (a server's chats): the device
   * model, or null with the reason in {@code description} ({@code GPU: …} or {@code CPU: …}).
   */
  public record Device(CudaModel model, String description) {
    /** Whether sessions run on the GPU. */
    public boolean onGpu() {
      return model != null;
    }
  }

  /**
   * Uploads {@code model} to {@code gpu} and opens (and closes) one session of {@code probe}'s size to
   * check that it runs there; on any failure the CPU, with the reason. One log line either way. The
   * caller closes the device model after its sessions.
   */
  public static Device device(Model model, Gpu.Detection gpu, SessionOptions probe) {
    Uploaded up = upload(model, gpu, probe);
    if (up.model() != null) up.firstSession().close();
    return new Device(up.model(), up.description());
  }

  private record Uploaded(CudaModel model, CudaSession firstSession, String description) {}

  private static Uploaded upload(Model model, Gpu.Detection gpu, SessionOptions options) {
    String reason;
    if (gpu instanceof Gpu.Available available) {
      CudaModel cm = null;
      try {
        cm = CudaModel.open(model, available);
        CudaSession s = cm.newSession(options);
        String line = "GPU: " + model.config().architecture().ggufName() + " decoding on " + available.device().describe() + ", "
            + String.format(java.util.Locale.ROOT, "%.1f MiB", cm.deviceBytes() / 1048576.0) + " of weights, decode step as a CUDA graph";
        log.log(System.Logger.Level.INFO, line);
        return new Uploaded(cm, s, line);
      } catch (UnsupportedOperationException | IllegalArgumentException | CudaException e) {
        if (cm != null) cm.close();
        reason = e.getMessage();
      }
    } else {
      reason = gpu == null ? "no GPU detection given" : gpu.describe().replaceFirst("^CPU: ", "");
    }
    String line = "CPU: LLM decoding on the CPU backend (" + reason + ")";
    log.log(System.Logger.Level.WARNING, line);
    return new Uploaded(null, null, line);
  }
}
