/**
 * One stream of bytes the detector scans: a URL, a header value, a cookie, a body, or something
 * decoded out of one of those. `where` is what a finding reports, e.g. "request-body>gzip>json:$.d".
 */
export interface Part {
  where: string;
  bytes: Uint8Array;
  /** The declared media type, lowercased, without parameters, when the part has one. */
  contentType?: string;
  /** Parameters of the media type that decoders need (a multipart boundary). */
  contentTypeParams?: Record<string, string>;
  /** The declared content-encoding when the capture could not undo it (bytes are then raw). */
  contentEncoding?: string;
  /**
   * For a slice: the outermost bytes it lies in and where, so a fragment shows the context around
   * a cookie, not just the cookie's value.
   */
  context?: { bytes: Uint8Array; offset: number };
  /** How many decodings deep the part is: bounds the work on hostile nesting. */
  depth: number;
  /** For a window of a body scanned in windows: where the window starts in the body. */
  streamOffset?: number;
  /**
   * Set on a body the capture could not decode within its budget: its raw bytes are scanned as
   * they are, and not decoded again (that would only hit the same budget).
   */
  unscanned?: string;
}

/**
 * The decoding budget of one exchange's scan, and where it tells what it could not scan: a
 * body of a thousand small base64 blobs each inflating to 60 MiB must cost no more than one.
 */
export interface DecodeScope {
  /** Decoded bytes this exchange may still produce. */
  left: number;
  unscanned(where: string, reason: string): void;
}

/**
 * A part found inside another. A slice is the same bytes seen under a more specific name (a
 * cookie in the Cookie header, a multipart part): it is not scanned again, the parent's matches
 * inside it move to it. Anything else was transformed (unzipped, base64-decoded) and is scanned.
 */
export interface Child extends Part {
  /** Where the source of the child lies in the parent. */
  start: number;
  end: number;
  slice: boolean;
  /**
   * Set when the child is exactly one value of a structure (a protobuf string field, a msgpack or
   * CBOR string): the bytes around it are framing (a tag, a length header), so a match that fills
   * the value, or is delimited within it, stands alone whatever those bytes look like.
   */
  field?: boolean;
}
