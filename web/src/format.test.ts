import { describe, expect, it } from 'vitest';
import { grams, money } from './format';

describe('money', () => {
  it('shows an amount in the currency with the digits asked for', () => {
    const shown = money(0.345, 'EUR', 3);
    expect(shown).toMatch(/0[.,]345/);
    expect(shown).toMatch(/€|EUR/);
  });

  it('shows an unknown currency code after the number', () => {
    expect(money(1.5, 'not a code')).toBe('1.50 not a code');
  });

  it('shows a missing value as a dash', () => {
    expect(money(null, 'EUR')).toBe('—');
    expect(money(Number.NaN, 'EUR')).toBe('—');
  });
});

describe('grams', () => {
  it('shows grams below a kilogram and kilograms from there', () => {
    expect(grams(212.4, 'kWh')).toBe('212 g/kWh');
    expect(grams(1530, 'h')).toBe('1.53 kg/h');
    expect(grams(undefined)).toBe('—');
  });
});
