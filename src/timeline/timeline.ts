import type { IdentifierKind, Mark } from '../types.ts';

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

  /** The step running at time `at`, or "" before the first step. */
  stepAt(at: number): string {
    let name = '';
    for (const mark of this.marks) {
      if (mark.at > at) break;
      if (mark.type === 'step') name = mark.name;
    }
    return name;
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

export function covers(mark: Pick<Mark, 'covers'>, kind: IdentifierKind): boolean {
  return mark.covers === undefined || mark.covers === 'all' || mark.covers.includes(kind);
}
