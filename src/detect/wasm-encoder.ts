/**
 * Just enough of the WebAssembly binary format to write one function by hand: the fast scan in
 * wasm-automaton.ts is generated at run time, so there is no toolchain, no committed binary and no
 * install step. Only i32 values, one imported memory and one exported function are supported.
 */

/** Opcodes used by the scan loop (WebAssembly core spec, section 5.4). */
export const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  select: 0x1b,
  i32Eqz: 0x45,
  i32LtU: 0x49,
  i32GtS: 0x4a,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32Sub: 0x6b,
  i32Mul: 0x6c,
  i32And: 0x71,
  i32Or: 0x72,
  i32Shl: 0x74,
  i32ShrU: 0x76,
  /** Block type of a block, loop or if that leaves nothing on the stack. */
  void: 0x40,
} as const;

const I32 = 0x7f;

/** Unsigned LEB128, the format's encoding of counts, indices and memory offsets. */
export function uleb(value: number): number[] {
  const out: number[] = [];
  let rest = value >>> 0;
  do {
    const byte = rest & 0x7f;
    rest >>>= 7;
    out.push(rest === 0 ? byte : byte | 0x80);
  } while (rest !== 0);
  return out;
}

/** Signed LEB128, the encoding of an i32.const immediate. */
export function sleb(value: number): number[] {
  const out: number[] = [];
  let rest = value | 0;
  for (;;) {
    const byte = rest & 0x7f;
    rest >>= 7;
    const done = (rest === 0 && (byte & 0x40) === 0) || (rest === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

/** Code: a sequence of instructions, as bytes. The helpers below nest like the expressions. */
export type Code = number[];

/** i32 instructions with their operands first, so code reads as nested expressions. */
export const i32 = {
  const: (value: number): Code => [0x41, ...sleb(value)],
  get: (local: number): Code => [0x20, ...uleb(local)],
  set: (local: number, value: Code): Code => [...value, 0x21, ...uleb(local)],
  tee: (local: number, value: Code): Code => [...value, 0x22, ...uleb(local)],
  /** i32.load with an alignment hint of 1: the scan reads 4-byte grams at any address. */
  load: (address: Code, offset = 0): Code => [...address, 0x28, 0, ...uleb(offset)],
  load8: (address: Code, offset = 0): Code => [...address, 0x2d, 0, ...uleb(offset)],
  store: (address: Code, value: Code, offset = 0): Code => [
    ...address,
    ...value,
    0x36,
    2,
    ...uleb(offset),
  ],
  eqz: (value: Code): Code => [...value, op.i32Eqz],
  add: binary(op.i32Add),
  sub: binary(op.i32Sub),
  mul: binary(op.i32Mul),
  and: binary(op.i32And),
  or: binary(op.i32Or),
  shl: binary(op.i32Shl),
  shrU: binary(op.i32ShrU),
  ltU: binary(op.i32LtU),
  gtS: binary(op.i32GtS),
  gtU: binary(op.i32GtU),
  geU: binary(op.i32GeU),
  /** The smaller, unsigned; both operands must be free of side effects (they run twice). */
  minU: (a: Code, b: Code): Code => [...a, ...b, ...a, ...b, op.i32LtU, op.select],
};

function binary(opcode: number): (a: Code, b: Code) => Code {
  return (a, b) => [...a, ...b, opcode];
}

/** Structured control: `br(0)` in a loop jumps to its start, `br(1)` leaves the enclosing block. */
export const control = {
  block: (...code: Code[]): Code => [op.block, op.void, ...code.flat(), op.end],
  loop: (...code: Code[]): Code => [op.loop, op.void, ...code.flat(), op.end],
  when: (condition: Code, ...code: Code[]): Code => [
    ...condition,
    op.if,
    op.void,
    ...code.flat(),
    op.end,
  ],
  br: (depth: number): Code => [op.br, ...uleb(depth)],
  brIf: (depth: number, condition: Code): Code => [...condition, op.brIf, ...uleb(depth)],
};

export interface FunctionSpec {
  /** Exported under this name. */
  name: string;
  /** Number of i32 parameters; the function returns one i32. */
  params: number;
  /** Number of i32 locals after the parameters. */
  locals: number;
  /** Instructions, without the final `end`. */
  body: Code;
}

/**
 * A module that imports `env.memory` and exports one function.
 *
 * @example
 *   const bytes = moduleBytes({ name: 'add', params: 2, locals: 0, body: i32.add(i32.get(0), i32.get(1)) });
 *   new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports.add(2, 3) // → 5
 */
export function moduleBytes(fn: FunctionSpec): Uint8Array {
  const types = section(
    1,
    vector([[0x60, ...vector(repeat([I32], fn.params)), ...vector([[I32]])]]),
  );
  // Memory import with limits "min 1 page, no max": the caller's Memory decides the real size.
  const imports = section(2, vector([[...name('env'), ...name('memory'), 0x02, 0x00, 1]]));
  const functions = section(3, vector([uleb(0)]));
  const exports = section(7, vector([[...name(fn.name), 0x00, ...uleb(0)]]));
  const locals = fn.locals > 0 ? vector([[...uleb(fn.locals), I32]]) : vector([]);
  const body = [...locals, ...fn.body, op.end];
  const code = section(10, vector([[...uleb(body.length), ...body]]));
  const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
  return Uint8Array.from([...header, ...types, ...imports, ...functions, ...exports, ...code]);
}

function section(id: number, content: number[]): number[] {
  return [id, ...uleb(content.length), ...content];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(text: string): number[] {
  return vector([...Buffer.from(text, 'utf8')].map((byte) => [byte]));
}

function repeat(item: number[], count: number): number[][] {
  return Array.from({ length: count }, () => item);
}
