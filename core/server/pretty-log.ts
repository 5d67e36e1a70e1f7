/** pino's numeric levels, for `log.format: pretty`. */
const levelNames: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};

/**
 * A stream that turns pino's JSON lines into short lines for people: time, level, message, and
 * the request's method, URL and status when there are some. Lines that are not JSON pass through.
 */
export function prettyLogStream(out: { write(line: string): void }): { write(line: string): void } {
  return {
    write(line: string) {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const time = new Date(typeof entry.time === 'number' ? entry.time : Date.now())
        .toISOString()
        .slice(11, 23);
      const level = levelNames[Number(entry.level)] ?? String(entry.level);
      const req = entry.req as { method?: string; url?: string } | undefined;
      const res = entry.res as { statusCode?: number } | undefined;
      const extra = [
        req?.method,
        req?.url,
        res?.statusCode,
        entry.reqId ? `(${String(entry.reqId)})` : undefined,
      ]
        .filter((part) => part !== undefined)
        .join(' ');
      out.write(`${time} ${level.padEnd(5)} ${String(entry.msg ?? '')}${extra ? ` ${extra}` : ''}\n`);
    },
  };
}
