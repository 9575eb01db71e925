import { describe, expect, it } from 'vitest';
import { camel, fieldErrors } from './problems';

describe('fieldErrors', () => {
  it('puts messages on the form fields they name, snake_case or camelCase', () => {
    const result = fieldErrors(
      [
        { field: 'latitude', message: 'Must be between -90 and 90.', kind: 'VALIDATION' },
        { field: 'base_load_w', message: 'Must be positive.', kind: 'VALIDATION' },
        { field: 'owner', message: 'Not yours.', kind: 'PERMISSION' },
        { field: null, message: 'Try again.', kind: 'ERROR' },
      ],
      ['name', 'latitude', 'baseLoadW'],
    );
    expect(result.fields).toEqual({ latitude: 'Must be between -90 and 90.', baseLoadW: 'Must be positive.' });
    expect(result.general).toEqual(['owner: Not yours.', 'Try again.']);
  });

  it('converts names', () => {
    expect(camel('max_discharge_w')).toBe('maxDischargeW');
    expect(camel('name')).toBe('name');
  });
});
