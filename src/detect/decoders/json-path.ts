/**
 * The JSON paths of the values that contain the given byte offsets (sorted ascending) of a JSON
 * text, e.g. "$.device.ids[1]", in one walk over the text. An offset the walk cannot place (the
 * text is not JSON up to there) gets undefined.
 *
 * @example
 *   jsonPathsAt(Buffer.from('{"a":{"b":["x","imei"]}}'), [17]) // → ['$.a.b[1]']
 */
export function jsonPathsAt(bytes: Uint8Array, offsets: readonly number[]): (string | undefined)[] {
  const paths: (string | undefined)[] = [];
  let next = 0;
  const place = (path: string | undefined, until: number) => {
    while (next < offsets.length && (offsets[next] as number) < until) {
      paths.push(path);
      next++;
    }
  };
  walk(bytes, (path, until) => place(path, until));
  place(undefined, Infinity);
  return paths;
}

/** Walks a JSON text, reporting each string and the path it sits at, until the text is not JSON. */
function walk(bytes: Uint8Array, onString: (path: string, end: number) => void): void {
  // A stack of containers: for objects the current key, for arrays the current index.
  const stack: { key?: string; index?: number }[] = [];
  let i = 0;
  let expectKey = false;
  while (i < bytes.length) {
    const byte = bytes[i] as number;
    if (byte === 0x22) {
      const end = stringEnd(bytes, i);
      if (end < 0) return;
      const top = stack[stack.length - 1];
      if (expectKey && top) {
        try {
          top.key = JSON.parse(Buffer.from(bytes.subarray(i, end)).toString('utf8')) as string;
        } catch {
          return;
        }
        expectKey = false;
      } else onString(render(stack), end);
      i = end;
      continue;
    }
    if (byte === 0x7b) {
      stack.push({});
      expectKey = true;
    } else if (byte === 0x5b) stack.push({ index: 0 });
    else if (byte === 0x7d || byte === 0x5d) stack.pop();
    else if (byte === 0x2c) {
      const top = stack[stack.length - 1];
      if (top?.index !== undefined) top.index++;
      else expectKey = true;
    }
    i++;
  }
}

/** Index just past the closing quote of the string that opens at `start`, or -1. */
function stringEnd(bytes: Uint8Array, start: number): number {
  for (let i = start + 1; i < bytes.length; i++) {
    const byte = bytes[i];
    if (byte === 0x5c) i++;
    else if (byte === 0x22) return i + 1;
  }
  return -1;
}

function render(stack: { key?: string; index?: number }[]): string {
  let path = '$';
  for (const level of stack) {
    if (level.index !== undefined) path += `[${level.index}]`;
    else if (level.key !== undefined)
      path += /^[A-Za-z_$][\w$]*$/.test(level.key)
        ? `.${level.key}`
        : `[${JSON.stringify(level.key)}]`;
  }
  return path;
}
