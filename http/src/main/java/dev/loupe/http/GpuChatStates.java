package dev.loupe.http;

import dev.loupe.gpu.CudaException;
import dev.loupe.gpu.Gpu;
import dev.loupe.llm.cuda.CudaBackend;
import dev.loupe.llm.cuda.CudaModel;
import dev.loupe.llm.generate.LanguageModelState;
import dev.loupe.llm.model.KvCacheType;
import dev.loupe.llm.model.Model;
import dev.loupe.llm.model.ModelConfig;
import dev.loupe.llm.model.Session;
import dev.loupe.llm.model.SessionOptions;
import dev.loupe.rag.chat.ChatEngine;

/**
 * {@code loupe serve --gpu}'s chats on the CUDA backend: the model's weights uploaded once, each
 * chat's session (its fp16 KV cache in device memory) opened on them. The chat memory budget then
 * counts device memory, at fp16 whatever the settings' cache type. {@link #close} frees the device
 * model; the {@link ChatEngine} closes the sessions first.
 */
final class GpuChatStates implements ChatEngine.StateFactory, AutoCloseable {
  private final CudaModel device;

  private GpuChatStates(CudaModel device) {
    this.device = device;
  }

  /**
   * The GPU backend for {@code model}'s chats of {@code context} positions, or null when the device
   * cannot take it (no GPU, a tensor type the kernels lack, too little memory): chats then run on the
   * CPU, and one log line says which and why.
   */
  static GpuChatStates open(Model model, Gpu.Detection gpu, int context) {
    CudaBackend.Device d = CudaBackend.device(model, gpu, SessionOptions.of(context).withKvCacheType(KvCacheType.F16));
    return d.onGpu() ? new GpuChatStates(d.model()) : null;
  }

  /**
   * A chat's device session.
   *
   * @throws IllegalStateException when the device cannot hold it (the chat's turn ends with that
   *     message; the server goes on)
   */
  @Override
  public LanguageModelState open(SessionOptions options) {
    try {
      return device.newSession(options);
    } catch (CudaException e) {
      throw new IllegalStateException("the GPU has no room for another chat's KV cache of "
          + (cacheBytes(device.model().config(), options) >> 20) + " MiB (" + e.getMessage()
          + "); lower --chat-memory so that the server keeps fewer chats' caches, or --llm-context", e);
    }
  }

  @Override
  public long cacheBytes(ModelConfig config, SessionOptions options) {
    return Session.kvCacheBytes(config, options.contextLength(), KvCacheType.F16);
  }

  @Override
  public void close() {
    device.close();
  }
}
