/** A Unix time as fly prints it: local time, `2006-01-02@15:04:05-0700`. */
export function formatTime(unixSeconds: number | undefined): string {
  if (unixSeconds === undefined || unixSeconds === 0) return 'n/a';
  const date = new Date(unixSeconds * 1000);
  const pad = (n: number) => String(n).padStart(2, '0');
  const offset = -date.getTimezoneOffset();
  const sign = offset < 0 ? '-' : '+';
  const zone = `${sign}${pad(Math.floor(Math.abs(offset) / 60))}${pad(Math.abs(offset) % 60)}`;
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `@${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}${zone}`
  );
}

/** Seconds as Go prints a duration (`1h2m3s`, `45s`, `0s`), as fly's tables show them. */
export function formatDuration(seconds: number): string {
  const total = Math.max(0, Math.round(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

/** A build's duration cell: `n/a` before it started, `12s+` while it runs. */
export function buildDuration(start: number | undefined, end: number | undefined, now = Date.now()): string {
  if (start === undefined) return 'n/a';
  if (end === undefined) return `${formatDuration(now / 1000 - start)}+`;
  return formatDuration(end - start);
}
