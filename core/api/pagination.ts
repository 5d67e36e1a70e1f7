import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConveyorError } from '../errors/index.js';
import type { PageQuery } from './generated/page-query.generated.js';
import type { Page, PageRequest } from './services.js';

const kDefaultLimit = 100;

/** The page a validated query asks for; `before` and `since` together are a contradiction. */
export function pageRequest(query: PageQuery): PageRequest {
  if (query.before !== undefined && query.since !== undefined) {
    throw new ConveyorError(
      'CC_E_API_BAD_REQUEST',
      'invalid request: querystring.before and querystring.since cannot be used together; follow the Link header instead',
      { details: { field: 'querystring.before' } },
    );
  }
  const page: PageRequest = { limit: query.limit ?? kDefaultLimit };
  if (query.before !== undefined) page.before = query.before;
  if (query.since !== undefined) page.since = query.since;
  return page;
}

/**
 * Sets the `Link` header of a page as Concourse does: `rel="next"` for older items, `rel="previous"`
 * for newer ones, each anchored at the id of the page's last or first item. The links are
 * relative to the request (RFC 8288 allows it), so they hold behind any proxy or external URL.
 */
export function setPageLinks<T extends { id: number }>(
  request: FastifyRequest,
  reply: FastifyReply,
  page: Page<T>,
  limit: number,
): void {
  const path = request.url.split('?', 1)[0];
  const first = page.items[0];
  const last = page.items.at(-1);
  const links: string[] = [];
  if (page.hasOlder && last !== undefined)
    links.push(`<${path}?before=${last.id}&limit=${limit}>; rel="next"`);
  if (page.hasNewer && first !== undefined) {
    links.push(`<${path}?since=${first.id}&limit=${limit}>; rel="previous"`);
  }
  if (links.length > 0) reply.header('link', links.join(', '));
}
