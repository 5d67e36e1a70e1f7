import { parseDuration, tryParseDuration } from '@conveyor/core/config';
import { isConveyorError } from '@conveyor/core/errors';
import { describe, expect, it } from 'vitest';

describe('parseDuration', () => {
  it.each([
    ['0', 0],
    ['500ms', 500],
    ['90s', 90_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['1h30m', 5_400_000],
    ['2h45m30s', 9_930_000],
    ['1m30s250ms', 90_250],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['1h0m0.5s', 3_600_500],
  ])('%s is %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'is empty'],
    ['5', 'no unit after `5`'],
    ['1h30', 'no unit after `30`'],
    ['1d', 'unknown unit `d`'],
    ['10us', 'unknown unit `us`'],
    ['-5m', 'must not have a sign'],
    ['abc', '`abc` where a number was expected'],
    ['5 m', 'unknown unit ` m`'],
    ['m5', '`m5` where a number was expected'],
  ])('rejects %j: it %s', (text, reason) => {
    let thrown: unknown;
    try {
      parseDuration(text);
    } catch (error: unknown) {
      thrown = error;
    }
    expect(isConveyorError(thrown, 'CC_E_CONFIG_DURATION')).toBe(true);
    expect((thrown as Error).message).toContain(reason);
    expect((thrown as Error).message).toContain(JSON.stringify(text));
  });

  it('answers instead of throwing through tryParseDuration', () => {
    expect(tryParseDuration('1h')).toEqual({ ok: true, ms: 3_600_000 });
    expect(tryParseDuration('1y')).toEqual({
      ok: false,
      reason: 'has the unknown unit `y` (use ms, s, m or h)',
    });
  });
});
