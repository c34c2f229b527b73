package dev.loupe.embeddings.onnx.graph;

/** ONNX tensor element types ({@code TensorProto.DataType}) that Loupe's generated graphs use. */
public enum DataType {
  FLOAT(1),
  UINT8(2),
  INT8(3),
  INT32(6),
  INT64(7),
  BOOL(9);

  /** The number {@code onnx.proto} gives this type. */
  public final int code;

  DataType(int code) {
    this.code = code;
  }
}
