package dev.loupe.indexer.extract.video;

import static org.bytedeco.ffmpeg.global.avcodec.AV_PKT_DATA_DISPLAYMATRIX;
import static org.bytedeco.ffmpeg.global.avcodec.AVDISCARD_NONKEY;
import static org.bytedeco.ffmpeg.global.avcodec.AVDISCARD_NONREF;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_alloc;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_free;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_side_data_get;
import static org.bytedeco.ffmpeg.global.avcodec.av_packet_unref;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_alloc_context3;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_find_decoder;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_free_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_get_name;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_open2;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_parameters_to_context;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_receive_frame;
import static org.bytedeco.ffmpeg.global.avcodec.avcodec_send_packet;
import static org.bytedeco.ffmpeg.global.avformat.AVFMT_DURATION_FROM_BITRATE;
import static org.bytedeco.ffmpeg.global.avformat.AV_DISPOSITION_ATTACHED_PIC;
import static org.bytedeco.ffmpeg.global.avformat.AV_DISPOSITION_DEFAULT;
import static org.bytedeco.ffmpeg.global.avformat.av_read_frame;
import static org.bytedeco.ffmpeg.global.avformat.avformat_close_input;
import static org.bytedeco.ffmpeg.global.avformat.avformat_find_stream_info;
import static org.bytedeco.ffmpeg.global.avformat.avformat_open_input;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_RANGE_JPEG;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_SPC_BT709;
import static org.bytedeco.ffmpeg.global.avutil.AVCOL_SPC_UNSPECIFIED;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EACCES;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EAGAIN;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EIO;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_ENOENT;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_ENOMEM;
import static org.bytedeco.ffmpeg.global.avutil.AVERROR_EOF;
import static org.bytedeco.ffmpeg.global.avutil.AVMEDIA_TYPE_VIDEO;
import static org.bytedeco.ffmpeg.global.avutil.AV_NOPTS_VALUE;
import static org.bytedeco.ffmpeg.global.avutil.AV_PIX_FMT_RGB24;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_free;
import static org.bytedeco.ffmpeg.global.avutil.av_dict_set;
import static org.bytedeco.ffmpeg.global.avutil.av_display_rotation_get;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_alloc;
import static org.bytedeco.ffmpeg.global.avutil.av_frame_free;
import static org.bytedeco.ffmpeg.global.avutil.av_get_media_type_string;
import static org.bytedeco.ffmpeg.global.avutil.av_get_pix_fmt_name;
import static org.bytedeco.ffmpeg.global.swscale.SWS_AREA;
import static org.bytedeco.ffmpeg.global.swscale.SWS_CS_DEFAULT;
import static org.bytedeco.ffmpeg.global.swscale.sws_freeContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getCachedContext;
import static org.bytedeco.ffmpeg.global.swscale.sws_getCoefficients;
import static org.bytedeco.ffmpeg.global.swscale.sws_scale;
import static org.bytedeco.ffmpeg.global.swscale.sws_setColorspaceDetails;

import dev.loupe.embeddings.image.ImageDecoder;
import dev.loupe.embeddings.image.RgbImage;
import dev.loupe.indexer.extract.ExtractionException;
import dev.loupe.indexer.extract.ExtractionException.Reason;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.bytedeco.ffmpeg.avcodec.AVCodec;
import org.bytedeco.ffmpeg.avcodec.AVCodecContext;
import org.bytedeco.ffmpeg.avcodec.AVCodecParameters;
import org.bytedeco.ffmpeg.avcodec.AVPacket;
import org.bytedeco.ffmpeg.avcodec.AVPacketSideData;
import org.bytedeco.ffmpeg.avformat.AVFormatContext;
import org.bytedeco.ffmpeg.avformat.AVStream;
import org.bytedeco.ffmpeg.avutil.AVDictionary;
import org.bytedeco.ffmpeg.avutil.AVFrame;
import org.bytedeco.ffmpeg.avutil.AVRational;
import org.bytedeco.ffmpeg.swscale.SwsContext;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.PointerPointer;

/**
 * The best video stream of one file, decoded frame by frame with FFmpeg's libavformat and
 * libavcodec; frames are converted (libswscale) only when asked: to a tiny thumbnail for the scene
 * measure, or to a bounded RGB picture for a keyframe.
 *
 * <p>Decoding skips frames no other frame refers to (FFmpeg's {@code skip_frame=nonref}: most
 * B-frames), which roughly halves the work on streams with B-frames; a cut is then seen at most a
 * couple of frames late. Only the {@code file} protocol is allowed, so a crafted playlist cannot
 * make FFmpeg reach the network.
 *
 * <p>Owns native memory: always {@link #close()} it (it is {@link AutoCloseable}, and {@link #open}
 * cleans up after itself when it fails). Not thread-safe: one per file and thread; several decoders
 * run at once independently.
 */
final class VideoDecoder implements AutoCloseable {
  /**
   * What the container says about the video stream.
   *
   * @param codec FFmpeg's codec name ({@code h264}, {@code hevc}, {@code mpeg4}...)
   * @param width coded width in pixels, before sample aspect ratio and rotation
   * @param height coded height in pixels
   * @param fps average frame rate, 0 when unknown
   * @param durationMs the stream's duration, else the container's, -1 when neither is stated (a
   *     duration FFmpeg can only guess from the bit rate counts as unknown)
   * @param streamDuration whether {@code durationMs} is the stream's own
   * @param rotation clockwise turn (0, 90, 180, 270) that shows the picture upright
   */
  record Info(
      String codec,
      int width,
      int height,
      double fps,
      long durationMs,
      boolean streamDuration,
      int rotation) {}

  private final Path file;
  private AVFormatContext format;
  private AVCodecContext decoder;
  private AVPacket packet;
  private AVFrame frame;
  private AVStream stream;
  private int streamIndex = -1;
  private Info info;
  private long startUs;
  private double timeBase;

  private boolean endOfInput;
  private boolean drained;
  private long frames;
  private long lastTimestampMs = -1;
  private long packetEndMs = -1;
  private int decodeErrors;
  private String firstDecodeError;
  private String readError;

  private SwsContext thumbnailScaler;
  private BytePointer thumbnailBuffer;
  private PointerPointer<?> thumbnailPlanes;
  private IntPointer thumbnailStrides;
  private SwsContext pictureScaler;

  private VideoDecoder(Path file) {
    this.file = file;
  }

  /**
   * Opens {@code file}, picks its video stream and opens a decoder for it; decodes nothing yet.
   *
   * @throws ExtractionException CORRUPT when FFmpeg cannot read the container, UNSUPPORTED when
   *     there is no video stream or no decoder for it
   * @throws IOException when the file is missing or unreadable
   */
  static VideoDecoder open(Path file) throws IOException, ExtractionException {
    Ffmpeg.require();
    VideoDecoder video = new VideoDecoder(file);
    try {
      video.openInput();
      video.openDecoder();
      return video;
    } catch (IOException | ExtractionException | RuntimeException | Error e) {
      video.close();
      throw e;
    }
  }

  private void openInput() throws IOException, ExtractionException {
    Ffmpeg.clearMessages();
    format = new AVFormatContext(null);
    AVDictionary options = new AVDictionary(null);
    av_dict_set(options, "protocol_whitelist", "file", 0);
    // The "file:" prefix keeps a name like "a:b.mp4" from being read as protocol "a".
    byte[] url = ("file:" + file.toAbsolutePath()).getBytes(StandardCharsets.UTF_8);
    int ret;
    try (BytePointer name = new BytePointer(url.length + 1)) {
      name.put(url).put(url.length, (byte) 0);
      // On failure avformat_open_input frees the context and sets the pointer to null.
      ret = avformat_open_input(format, name, null, options);
    } finally {
      av_dict_free(options);
    }
    if (ret < 0) {
      format = null;
      throwOpenFailure(ret);
    }
    ret = avformat_find_stream_info(format, (PointerPointer<?>) null);
    if (ret < 0) {
      throwOpenFailure(ret);
    }
    String container = format.iformat().name().getString();
    if (container.equals("hls") || container.equals("concat") || container.equals("dash")) {
      throw new ExtractionException(Reason.UNSUPPORTED,
          file + " is a " + container + " playlist, not a video file: playlists are not indexed");
    }

    List<String> others = new ArrayList<>();
    int fallback = -1;
    for (int i = 0; i < format.nb_streams(); i++) {
      AVStream s = format.streams(i);
      AVCodecParameters par = s.codecpar();
      boolean picture = (s.disposition() & AV_DISPOSITION_ATTACHED_PIC) != 0;
      if (par.codec_type() == AVMEDIA_TYPE_VIDEO && !picture && par.width() > 0 && par.height() > 0) {
        if ((s.disposition() & AV_DISPOSITION_DEFAULT) != 0 && streamIndex < 0) {
          streamIndex = i;
        } else if (fallback < 0) {
          fallback = i;
        }
      } else {
        BytePointer type = av_get_media_type_string(par.codec_type());
        others.add((type == null ? "data" : type.getString()) + (picture ? " (cover picture)" : "")
            + " " + avcodec_get_name(par.codec_id()).getString());
      }
    }
    if (streamIndex < 0) {
      streamIndex = fallback;
    }
    if (streamIndex < 0) {
      throw new ExtractionException(Reason.UNSUPPORTED, file + " has no video stream"
          + (others.isEmpty() ? "" : " (its streams: " + String.join(", ", others) + ")"));
    }
    stream = format.streams(streamIndex);
    info = readInfo();
  }

  private Info readInfo() {
    AVCodecParameters par = stream.codecpar();
    AVRational tb = stream.time_base();
    timeBase = tb.den() == 0 ? 0 : (double) tb.num() / tb.den();
    AVRational rate = stream.avg_frame_rate();
    if (rate.num() <= 0 || rate.den() <= 0) {
      rate = stream.r_frame_rate();
    }
    double fps = rate.num() > 0 && rate.den() > 0 ? (double) rate.num() / rate.den() : 0;

    long durationMs = -1;
    boolean own = false;
    if (stream.duration() != AV_NOPTS_VALUE && stream.duration() > 0 && timeBase > 0) {
      durationMs = Math.round(stream.duration() * timeBase * 1000);
      own = true;
    } else if (format.duration() != AV_NOPTS_VALUE && format.duration() > 0
        && format.duration_estimation_method() != AVFMT_DURATION_FROM_BITRATE) {
      // A duration guessed from the bit rate is no duration: treated as unknown.
      durationMs = format.duration() / 1000;
    }

    if (format.start_time() != AV_NOPTS_VALUE) {
      startUs = format.start_time();
    } else if (stream.start_time() != AV_NOPTS_VALUE && timeBase > 0) {
      startUs = Math.round(stream.start_time() * timeBase * 1e6);
    }

    return new Info(avcodec_get_name(par.codec_id()).getString(), par.width(), par.height(), fps, durationMs, own,
        rotation(par));
  }

  /** Clockwise turn (0, 90, 180, 270) that shows the picture upright, from the display matrix. */
  private static int rotation(AVCodecParameters par) {
    AVPacketSideData data = av_packet_side_data_get(par.coded_side_data(), par.nb_coded_side_data(), AV_PKT_DATA_DISPLAYMATRIX);
    if (data == null || data.isNull() || data.size() < 9 * 4) {
      return 0;
    }
    // av_display_rotation_get gives the anticlockwise angle the matrix applies; showing the picture
    // upright needs the opposite turn, as in FFmpeg's own autorotate.
    double anticlockwise = av_display_rotation_get(new IntPointer(data.data()));
    if (Double.isNaN(anticlockwise)) {
      return 0;
    }
    long clockwise = Math.round(-anticlockwise / 90.0) * 90;
    return Math.floorMod(clockwise, 360);
  }

  private void openDecoder() throws ExtractionException {
    AVCodecParameters par = stream.codecpar();
    AVCodec codec = avcodec_find_decoder(par.codec_id());
    if (codec == null || codec.isNull()) {
      throw new ExtractionException(Reason.UNSUPPORTED,
          file + ": this FFmpeg build has no decoder for its " + info.codec() + " video");
    }
    decoder = avcodec_alloc_context3(codec);
    if (decoder == null || decoder.isNull()) {
      throw new OutOfMemoryError("FFmpeg could not allocate a decoder for " + file);
    }
    int ret = avcodec_parameters_to_context(decoder, par);
    if (ret < 0) {
      throw corrupt("its " + info.codec() + " stream parameters are invalid", ret);
    }
    decoder.pkt_timebase(stream.time_base());
    decoder.skip_frame(AVDISCARD_NONREF);
    // A few threads per video: the ingester already extracts several files at once.
    decoder.thread_count(Math.min(4, Runtime.getRuntime().availableProcessors()));
    ret = avcodec_open2(decoder, codec, (AVDictionary) null);
    if (ret < 0) {
      throw new ExtractionException(Reason.UNSUPPORTED,
          file + ": FFmpeg's " + info.codec() + " decoder cannot open this stream: " + detail(ret));
    }
    packet = av_packet_alloc();
    frame = av_frame_alloc();
    if (packet == null || frame == null) {
      throw new OutOfMemoryError("FFmpeg could not allocate a packet and a frame for " + file);
    }
  }

  /**
   * From now on decodes only the frames the stream marks as keyframes (I-frames), a small fraction
   * of them: FFmpeg's {@code skip_frame=nonkey}.
   */
  void keyframesOnly() {
    decoder.skip_frame(AVDISCARD_NONKEY);
  }

  /** What the container says; known once {@link #open} has returned. */
  Info info() {
    return info;
  }

  /**
   * Decodes the next frame of the video stream.
   *
   * @return false at the end of the stream, or where the file could be read no further (see
   *     {@link #readError()})
   */
  boolean nextFrame() throws IOException {
    Ffmpeg.clearMessages();
    while (!drained) {
      int ret = avcodec_receive_frame(decoder, frame);
      if (ret >= 0) {
        frames++;
        return true;
      }
      if (ret == AVERROR_EOF()) {
        drained = true;
        break;
      }
      if (ret != AVERROR_EAGAIN()) {
        decodeError(ret);
      }
      if (endOfInput) { // a draining decoder that neither gives a frame nor says EOF has no more
        drained = true;
        break;
      }
      if (readVideoPacket()) {
        ret = avcodec_send_packet(decoder, packet);
        av_packet_unref(packet);
        if (ret < 0 && ret != AVERROR_EAGAIN()) {
          decodeError(ret);
        }
      } else {
        endOfInput = true;
        avcodec_send_packet(decoder, null); // enter draining mode: the decoder gives its last frames
      }
    }
    return false;
  }

  /** The next packet of the video stream into {@link #packet}; false at the end of the input. */
  private boolean readVideoPacket() throws IOException {
    while (true) {
      int ret = av_read_frame(format, packet);
      if (ret == AVERROR_EOF()) {
        return false;
      }
      if (ret < 0) {
        if (ret == AVERROR_EIO() || ret == AVERROR_ENOENT() || ret == AVERROR_EACCES()) {
          throw new IOException("cannot read " + file + ": " + detail(ret));
        }
        readError = detail(ret);
        return false;
      }
      if (packet.stream_index() == streamIndex) {
        long pts = packet.pts() != AV_NOPTS_VALUE ? packet.pts() : packet.dts();
        if (pts != AV_NOPTS_VALUE && timeBase > 0) {
          long end = Math.round((pts + Math.max(0, packet.duration())) * timeBase * 1000 - startUs / 1000.0);
          packetEndMs = Math.max(packetEndMs, end);
        }
        return true;
      }
      av_packet_unref(packet);
    }
  }

  private void decodeError(int code) {
    if (code == AVERROR_ENOMEM()) {
      throw new OutOfMemoryError("FFmpeg ran out of memory decoding " + file);
    }
    decodeErrors++;
    if (firstDecodeError == null) {
      firstDecodeError = detail(code);
    }
  }

  /** Presentation time of the current frame, in milliseconds from the start of the file (never negative). */
  long timestampMs() {
    long pts = frame.best_effort_timestamp();
    long ms;
    if (pts != AV_NOPTS_VALUE && timeBase > 0) {
      ms = Math.round(pts * timeBase * 1000 - startUs / 1000.0);
    } else { // no timestamps at all: count frames
      double step = info.fps() > 0 ? 1000 / info.fps() : 40;
      ms = lastTimestampMs < 0 ? 0 : Math.round(lastTimestampMs + step);
    }
    ms = Math.max(0, ms);
    lastTimestampMs = ms;
    return ms;
  }

  /** Frames decoded so far. */
  long frames() {
    return frames;
  }

  /**
   * Where the video packets read so far end, in milliseconds from the start of the file, decoded or
   * not (-1 when they carry no timestamps): how far the file really goes.
   */
  long packetEndMs() {
    return packetEndMs;
  }

  /** Packets the decoder rejected so far. */
  int decodeErrors() {
    return decodeErrors;
  }

  /** FFmpeg's text for the first packet the decoder rejected, or null. */
  String firstDecodeError() {
    return firstDecodeError;
  }

  /** Why reading stopped before the end of the file (a damaged or truncated container), or null. */
  String readError() {
    return readError;
  }

  /**
   * Area-averages the current frame into a {@value KeyframePolicy#THUMBNAIL}-pixel square RGB
   * thumbnail, written to {@code rgb} (aspect ratio and colour space ignored: it is only compared
   * with other thumbnails of the same video).
   */
  void thumbnail(byte[] rgb) throws ExtractionException {
    int side = KeyframePolicy.THUMBNAIL;
    if (rgb.length != side * side * 3) {
      throw new IllegalArgumentException("thumbnail buffer of " + rgb.length + " bytes, expected " + side * side * 3);
    }
    thumbnailScaler = scaler(thumbnailScaler, side, side);
    if (thumbnailBuffer == null) {
      thumbnailBuffer = new BytePointer(rgb.length);
      thumbnailPlanes = new PointerPointer<>(4).put(0, thumbnailBuffer);
      thumbnailStrides = new IntPointer(4).put(0, side * 3);
    }
    sws_scale(thumbnailScaler, frame.data(), frame.linesize(), 0, frame.height(), thumbnailPlanes, thumbnailStrides);
    thumbnailBuffer.position(0).get(rgb);
  }

  /**
   * The current frame as displayed (sample aspect ratio and rotation applied), area-averaged down
   * so that its shorter side is at most {@code maxShortSide} (never enlarged), in 8-bit RGB with the
   * stream's colour matrix and range.
   */
  RgbImage picture(int maxShortSide) throws ExtractionException {
    int w = frame.width(), h = frame.height();
    AVRational sar = frame.sample_aspect_ratio();
    if (sar.num() <= 0 || sar.den() <= 0) {
      sar = stream.codecpar().sample_aspect_ratio();
    }
    double displayWidth = sar.num() > 0 && sar.den() > 0 ? w * ((double) sar.num() / sar.den()) : w;
    double scale = Math.min(1.0, maxShortSide / Math.min(displayWidth, h));
    int ow = (int) Math.max(1, Math.round(displayWidth * scale));
    int oh = (int) Math.max(1, Math.round(h * scale));

    pictureScaler = scaler(pictureScaler, ow, oh);
    int colorspace = frame.colorspace();
    if (colorspace == AVCOL_SPC_UNSPECIFIED) {
      // What players assume for untagged video: HD is BT.709, SD is BT.601.
      colorspace = h >= 720 ? AVCOL_SPC_BT709 : SWS_CS_DEFAULT;
    }
    // Returns -1, harmlessly, for sources that are not YUV.
    sws_setColorspaceDetails(pictureScaler, sws_getCoefficients(colorspace), frame.color_range() == AVCOL_RANGE_JPEG ? 1 : 0,
        sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);

    int stride = (ow * 3 + 63) & ~63;
    byte[] rgb = new byte[ow * oh * 3];
    try (BytePointer buffer = new BytePointer((long) stride * oh);
        PointerPointer<?> planes = new PointerPointer<BytePointer>(4).put(0, buffer);
        IntPointer strides = new IntPointer(4).put(0, stride)) {
      sws_scale(pictureScaler, frame.data(), frame.linesize(), 0, h, planes, strides);
      ByteBuffer pixels = buffer.position(0).capacity((long) stride * oh).asByteBuffer();
      for (int y = 0; y < oh; y++) {
        pixels.get(y * stride, rgb, y * ow * 3, ow * 3);
      }
    }
    RgbImage picture = new RgbImage(ow, oh, rgb);
    return switch (info.rotation()) {
      case 90 -> ImageDecoder.orient(picture, 6);
      case 180 -> ImageDecoder.orient(picture, 3);
      case 270 -> ImageDecoder.orient(picture, 8);
      default -> picture;
    };
  }

  private SwsContext scaler(SwsContext cached, int width, int height) throws ExtractionException {
    SwsContext scaler = sws_getCachedContext(cached, frame.width(), frame.height(), frame.format(), width, height,
        AV_PIX_FMT_RGB24, SWS_AREA, null, null, (DoublePointer) null);
    if (scaler == null || scaler.isNull()) {
      BytePointer name = av_get_pix_fmt_name(frame.format());
      throw new ExtractionException(Reason.UNSUPPORTED, file + ": its " + info.codec() + " frames of "
          + frame.width() + "x" + frame.height() + " pixels in format " + (name == null ? frame.format() : name.getString())
          + " cannot be converted to RGB");
    }
    return scaler;
  }

  private void throwOpenFailure(int code) throws IOException, ExtractionException {
    if (code == AVERROR_ENOENT()) {
      throw new NoSuchFileException(file.toString());
    }
    if (code == AVERROR_EACCES()) {
      throw new AccessDeniedException(file.toString());
    }
    if (code == AVERROR_EIO()) {
      throw new IOException("cannot read " + file + ": " + detail(code));
    }
    throw corrupt("FFmpeg cannot read it as a video", code);
  }

  private ExtractionException corrupt(String what, int code) {
    return new ExtractionException(Reason.CORRUPT, file + ": " + what + ": " + detail(code));
  }

  /** FFmpeg's text for {@code code}, with the error lines it logged on this thread (the precise cause). */
  private static String detail(int code) {
    String text = Ffmpeg.describe(code);
    List<String> messages = Ffmpeg.messages();
    return messages.isEmpty() ? text : text + " (" + String.join("; ", messages) + ")";
  }

  static String clock(long ms) {
    long h = ms / 3_600_000, m = ms / 60_000 % 60, s = ms / 1000 % 60, milli = ms % 1000;
    return h > 0
        ? String.format(Locale.ROOT, "%d:%02d:%02d.%03d", h, m, s, milli)
        : String.format(Locale.ROOT, "%d:%02d.%03d", m, s, milli);
  }

  @Override
  public void close() {
    if (pictureScaler != null) {
      sws_freeContext(pictureScaler);
      pictureScaler = null;
    }
    if (thumbnailScaler != null) {
      sws_freeContext(thumbnailScaler);
      thumbnailScaler = null;
    }
    if (thumbnailBuffer != null) {
      thumbnailPlanes.close();
      thumbnailStrides.close();
      thumbnailBuffer.close();
      thumbnailBuffer = null;
    }
    if (frame != null) {
      av_frame_free(frame);
      frame = null;
    }
    if (packet != null) {
      av_packet_free(packet);
      packet = null;
    }
    if (decoder != null) {
      avcodec_free_context(decoder);
      decoder = null;
    }
    if (format != null) {
      avformat_close_input(format);
      format = null;
    }
  }
}
