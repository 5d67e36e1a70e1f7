/** One page of a list and the cursor of the next (older) page, if the `Link` header names one. */
export interface Page<T> {
  items: T[];
  /** Pass as `before` to get the next, older page. */
  before?: number;
}

/**
 * The `before` cursor of the `rel="next"` link of a `Link` header, as the API writes it
 * (`</api/v1/builds?before=12&limit=50>; rel="next"`). Following the server's link rather than
 * computing the cursor keeps the client right whatever the server counts pages by.
 */
export function nextCursor(link: string | null): number | undefined {
  if (link === null) return undefined;
  for (const part of link.split(',')) {
    const match = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (match?.[1] === undefined) continue;
    const before = new URL(match[1], 'http://relative.invalid').searchParams.get('before');
    const value = before === null ? Number.NaN : Number(before);
    return Number.isSafeInteger(value) ? value : undefined;
  }
  return undefined;
}
