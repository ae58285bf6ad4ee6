/**
 * Label values that come from users (tenants, models) must not grow a metric without bound: every distinct
 * value is a time series Prometheus keeps. The first `max` values of a label are kept; later ones read "other".
 */
export const OTHER_LABEL = 'other';
export const MAX_LABEL_VALUES = 50;

export class BoundedLabel {
  private readonly seen = new Set<string>();

  constructor(private readonly max = MAX_LABEL_VALUES) {}

  /** `value` itself while fewer than `max` distinct values were seen (or it is one of them), else "other". */
  of(value: string | undefined): string {
    const v = value ?? '';
    if (this.seen.has(v)) return v;
    if (this.seen.size >= this.max) return OTHER_LABEL;
    this.seen.add(v);
    return v;
  }
}
