/**
 * Colour on a terminal, never in a pipe or a file, and never when NO_COLOR is set
 * (https://no-color.org: any non-empty value).
 */
export function useColour(stream: { isTTY?: boolean } = process.stdout): boolean {
  return Boolean(stream.isTTY) && !process.env.NO_COLOR;
}

const STATUS_COLOURS: Record<string, string> = {
  PASS: '32', // green
  FAIL: '31', // red
  INCONCLUSIVE: '33', // yellow
  ERROR: '35', // magenta
};

/** A run's outcome with its status word (the first word of a line: PASS, FAIL, …) coloured. */
export function colourStatuses(text: string, colour = useColour()): string {
  if (!colour) return text;
  return text.replace(
    /^(PASS|FAIL|INCONCLUSIVE|ERROR)\b/gm,
    (word) => `\x1b[1;${STATUS_COLOURS[word]}m${word}\x1b[0m`,
  );
}

/** Dimmed text (progress lines), when colour is on. */
export function dim(text: string, colour = useColour()): string {
  return colour ? `\x1b[2m${text}\x1b[0m` : text;
}
