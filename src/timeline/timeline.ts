import type { IdentifierKind, Mark } from '../types.ts';

/**
 * The step from the start of the session (the virtual phone powering on) to the scenario's first
 * step: what the phone sends on its own, before any user action.
 */
export const BOOT_STEP = 'boot';

/**
 * The run's one clock (the host's), with steps and consents as marks on it. An exchange belongs
 * to the phase in which its request started; a consent given at the very millisecond a request
 * started counts as given (the toggle was flipped before the phone could react to it).
 */
export class Timeline {
  readonly marks: readonly Mark[];

  constructor(marks: Mark[]) {
    this.marks = [...marks].sort((a, b) => a.at - b.at);
  }

  /**
   * The step running at time `at`, as reports name it (`stepLabel`), or "" before the first step.
   */
  stepAt(at: number): string {
    let step: Mark | undefined;
    for (const mark of this.marks) {
      if (mark.at > at) break;
      if (mark.type === 'step') step = mark;
    }
    return step ? stepLabel(step) : '';
  }

  /** "before consent" until the first consent, then "after <name>" of the latest consent. */
  phaseAt(at: number): string {
    let phase = 'before consent';
    for (const mark of this.marks) {
      if (mark.at > at) break;
      if (mark.type === 'consent') phase = `after ${mark.name}`;
    }
    return phase;
  }

  /** The first consent of any kind, if one was given. */
  firstConsent(): Mark | undefined {
    return this.marks.find((mark) => mark.type === 'consent');
  }
}

/**
 * A step as every report names it: its name, and when the device did not perform it, why — so a
 * finding during a step that did nothing is never read as caused by it.
 *
 * @example
 *   stepLabel({ name: 'insert SIM', skipped: 'a SIM is already in' }) // "insert SIM (skipped: a SIM is already in)"
 */
export function stepLabel(mark: Pick<Mark, 'name' | 'skipped'>): string {
  return mark.skipped ? `${mark.name} (skipped: ${mark.skipped})` : mark.name;
}

/**
 * Adds a mark read from a journal to `marks`. A step's mark is restated once the step is found to
 * have been skipped (same type, name and time, with `skipped`): the restatement replaces it.
 *
 * @example
 *   addMark(marks, { type: 'step', name: 'insert SIM', at, skipped: 'a SIM is already in' });
 */
export function addMark(marks: Mark[], mark: Mark): void {
  for (let i = marks.length - 1; i >= 0; i -= 1) {
    const known = marks[i]!;
    if (known.type === mark.type && known.name === mark.name && known.at === mark.at) {
      marks[i] = mark;
      return;
    }
  }
  marks.push(mark);
}

export function covers(mark: Pick<Mark, 'covers'>, kind: IdentifierKind): boolean {
  return mark.covers === undefined || mark.covers === 'all' || mark.covers.includes(kind);
}
