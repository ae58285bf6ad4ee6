import { BoundedLabel, OTHER_LABEL } from '../../src/metrics/labels';

describe('BoundedLabel', () => {
  it('keeps the first values of a label and folds later ones into "other"', () => {
    const label = new BoundedLabel(2);
    expect(label.of('acme')).toBe('acme');
    expect(label.of('globex')).toBe('globex');
    expect(label.of('initech')).toBe(OTHER_LABEL);
    // A value seen before the limit stays itself.
    expect(label.of('acme')).toBe('acme');
    expect(label.of(undefined)).toBe(OTHER_LABEL);
  });
});
