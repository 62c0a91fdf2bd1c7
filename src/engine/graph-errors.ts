/** The graph has no attention the engine can expose (the message says what was searched for). */
export class AttentionNotFoundError extends Error {}

/** The file is not an ONNX model, or is cut short. */
export class ModelFormatError extends Error {}
