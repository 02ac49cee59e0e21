// Types for the pure-JS compressors the codec tests use as real senders (they ship none).

declare module 'snappyjs' {
  /** One raw snappy block, as snappyjs (a port of Google's snappy) writes it. */
  export function compress<T extends Uint8Array | ArrayBuffer>(input: T): T;
  export function uncompress<T extends Uint8Array | ArrayBuffer>(input: T, maxLength?: number): T;
}

declare module 'lz4js' {
  /** One LZ4 frame: 4 MiB blocks, linked, no content size, no checksums. */
  export function compress(input: Uint8Array, maxSize?: number): Uint8Array;
  /** One LZ4 block of `src[sIndex, sIndex + sLength)` into `dst`; its size, or 0. */
  export function compressBlock(
    src: Uint8Array,
    dst: Uint8Array,
    sIndex: number,
    sLength: number,
    hashTable: Uint32Array,
  ): number;
  export function compressBound(length: number): number;
}

declare module 'lz4js/xxh32.js' {
  /** XXH32 of `src[index, index + length)`. */
  export function hash(seed: number, src: Uint8Array, index: number, length: number): number;
}
