import { isDeepStrictEqual } from 'node:util';
import {
  type Document,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
} from 'yaml';
import { ConveyorError } from '../../errors/index.js';
import type { PipelineProblem } from './findings.js';

/** The canonical order of each kind of mapping's known keys; unknown keys follow in their order. */
const orders = {
  pipeline: ['var_sources', 'resource_types', 'resources', 'jobs', 'groups', 'display'],
  resource: [
    'name',
    'old_name',
    'type',
    'icon',
    'source',
    'version',
    'check_every',
    'check_timeout',
    'tags',
    'public',
    'webhook_token',
    'expose_build_created_by',
  ],
  resourceType: ['name', 'type', 'source', 'defaults', 'params', 'privileged', 'check_every', 'tags'],
  varSource: ['name', 'type', 'config'],
  group: ['name', 'jobs', 'resources'],
  job: [
    'name',
    'old_name',
    'public',
    'serial',
    'serial_groups',
    'max_in_flight',
    'interruptible',
    'disable_manual_trigger',
    'build_log_retention',
    'build_logs_to_retain',
    'plan',
    'on_success',
    'on_failure',
    'on_error',
    'on_abort',
    'ensure',
  ],
  buildLogRetention: ['builds', 'days', 'minimum_succeeded_builds'],
  step: [
    // The step type first, then what each type takes, then modifiers and hooks.
    'get',
    'put',
    'task',
    'set_pipeline',
    'load_var',
    'in_parallel',
    'do',
    'try',
    'resource',
    'passed',
    'trigger',
    'version',
    'file',
    'config',
    'image',
    'privileged',
    'team',
    'instance_vars',
    'vars',
    'var_files',
    'format',
    'reveal',
    'inputs',
    'params',
    'get_params',
    'no_get',
    'input_mapping',
    'output_mapping',
    'container_limits',
    'hermetic',
    'across',
    'fail_fast',
    'timeout',
    'attempts',
    'tags',
    'on_success',
    'on_failure',
    'on_error',
    'on_abort',
    'ensure',
  ],
  inParallel: ['limit', 'fail_fast', 'steps'],
  acrossVar: ['var', 'values', 'max_in_flight'],
  taskConfig: [
    'platform',
    'image_resource',
    'rootfs_uri',
    'container_limits',
    'inputs',
    'outputs',
    'caches',
    'params',
    'run',
  ],
  imageResource: ['type', 'source', 'params', 'version'],
  run: ['path', 'args', 'dir', 'user'],
  taskInput: ['name', 'path', 'optional'],
  containerLimits: ['cpu', 'memory'],
  display: ['background_image'],
} as const satisfies Record<string, readonly string[]>;

type Kind = keyof typeof orders;

/**
 * Format a pipeline like `fly format-pipeline`: known keys in a canonical order (the name and the
 * step type first, hooks last), two-space indentation, lists not indented under their key as
 * go-yaml writes them. Comments and blank lines stay with what they describe; values (`source`,
 * `params`, ...) are left exactly as they are. Formatting twice changes nothing more.
 */
export function formatPipeline(text: string, options: { file?: string } = {}): string {
  const doc = parse(text, options.file ?? 'pipeline.yml');
  const original: unknown = doc.toJS({ maxAliasCount: 100 });
  reorder(doc.contents, 'pipeline');
  // Reordering can still move a `*alias` before its `&anchor`; then keep the user's order.
  const formatted = tryRender(doc);
  if (formatted !== undefined && sameValue(formatted, original)) return formatted;
  return render(parse(text, options.file ?? 'pipeline.yml'));
}

function parse(text: string, file: string): Document.Parsed {
  const doc = parseDocument(text, { merge: true, keepSourceTokens: false });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map(
      (error): PipelineProblem => ({
        file,
        line: error.linePos?.[0].line ?? 1,
        column: error.linePos?.[0].col ?? 1,
        path: '',
        message: `is not valid YAML: ${error.message.split('\n')[0] ?? error.code}`,
        severity: 'error',
      }),
    );
    throw new ConveyorError(
      'CC_E_PIPELINE_INVALID',
      `Pipeline ${file} is not valid YAML, so it cannot be formatted`,
      {
        details: { file, problems },
      },
    );
  }
  return doc;
}

function tryRender(doc: Document): string | undefined {
  try {
    return render(doc);
  } catch {
    return undefined;
  }
}

function render(doc: Document): string {
  return doc.toString({
    indent: 2,
    indentSeq: false,
    lineWidth: 0,
    minContentWidth: 0,
    flowCollectionPadding: false,
  });
}

function sameValue(text: string, original: unknown): boolean {
  const reparsed = parseDocument(text, { merge: true });
  return reparsed.errors.length === 0 && isDeepStrictEqual(reparsed.toJS({ maxAliasCount: 100 }), original);
}

function reorder(node: unknown, kind: Kind): void {
  if (!isMap(node)) return;
  sortPairs(node, orders[kind]);
  for (const pair of node.items) {
    if (!isPair(pair) || !isScalar(pair.key)) continue;
    const key = String(pair.key.value);
    for (const [child, childKind] of childKinds(kind, key, pair)) reorder(child, childKind);
  }
}

/** The mappings below a key that have a canonical order of their own. */
function childKinds(kind: Kind, key: string, pair: Pair): Array<[unknown, Kind]> {
  const value = pair.value;
  const each = (childKind: Kind): Array<[unknown, Kind]> =>
    isSeq(value) ? value.items.map((item) => [item, childKind]) : [];
  if (kind === 'pipeline') {
    const lists: Partial<Record<string, Kind>> = {
      resources: 'resource',
      resource_types: 'resourceType',
      var_sources: 'varSource',
      groups: 'group',
      jobs: 'job',
    };
    const listKind = lists[key];
    if (listKind) return each(listKind);
    if (key === 'display') return [[value, 'display']];
    return [];
  }
  if (kind === 'job') {
    if (key === 'plan') return each('step');
    if (key === 'build_log_retention') return [[value, 'buildLogRetention']];
    if (orders.step.slice(-5).includes(key as 'ensure')) return [[value, 'step']];
    return [];
  }
  if (kind === 'step') {
    if (key === 'do') return each('step');
    if (key === 'try' || orders.step.slice(-5).includes(key as 'ensure')) return [[value, 'step']];
    if (key === 'in_parallel') return isSeq(value) ? each('step') : [[value, 'inParallel']];
    if (key === 'across') return each('acrossVar');
    if (key === 'config') return [[value, 'taskConfig']];
    if (key === 'container_limits') return [[value, 'containerLimits']];
    return [];
  }
  if (kind === 'inParallel' && key === 'steps') return each('step');
  if (kind === 'taskConfig') {
    if (key === 'image_resource') return [[value, 'imageResource']];
    if (key === 'run') return [[value, 'run']];
    if (key === 'container_limits') return [[value, 'containerLimits']];
    if (key === 'inputs' || key === 'outputs') return each('taskInput');
  }
  return [];
}

/**
 * A stable sort of a mapping's pairs: known keys by rank, the rest after them as they were;
 * except unknown keys that define anchors (`shared: &defaults`), which stay in front of the
 * keys whose aliases need them.
 */
function sortPairs(map: YAMLMap, order: readonly string[]): void {
  const rank = (pair: unknown) => {
    if (!isPair(pair) || !isScalar(pair.key)) return order.length;
    const index = order.indexOf(String(pair.key.value));
    if (index >= 0) return index;
    return definesAnchor(pair.value) ? -1 : order.length;
  };
  const items = map.items.map((pair, index) => ({ pair, index, rank: rank(pair) }));
  items.sort((a, b) => a.rank - b.rank || a.index - b.index);
  const first = map.items[0] as Pair<Node> | undefined;
  map.items = items.map(({ pair }) => pair);
  moveLeadingComment(first, map.items[0] as Pair<Node> | undefined);
}

function definesAnchor(node: unknown): boolean {
  let found = false;
  visit(node, (value) => {
    if (isNode(value) && value.anchor) found = true;
  });
  return found;
}

function visit(node: unknown, callback: (node: unknown) => void): void {
  callback(node);
  if (isMap(node) || isSeq(node)) {
    for (const item of node.items) {
      if (isPair(item)) {
        visit(item.key, callback);
        visit(item.value, callback);
      } else visit(item, callback);
    }
  }
}

/**
 * A comment above a mapping's first key belongs to the mapping more than to that key; when the
 * first key changes, the comment stays at the top.
 */
function moveLeadingComment(oldFirst: Pair<Node> | undefined, newFirst: Pair<Node> | undefined): void {
  if (!oldFirst || !newFirst || oldFirst === newFirst) return;
  const from = oldFirst.key as Node | null;
  const to = newFirst.key as Node | null;
  if (!from || !to) return;
  // Blank lines stay where they were: none before the first key, as before.
  [from.spaceBefore, to.spaceBefore] = [to.spaceBefore, from.spaceBefore];
  if (!from.commentBefore) return;
  to.commentBefore = to.commentBefore ? `${from.commentBefore}\n${to.commentBefore}` : from.commentBefore;
  from.commentBefore = undefined;
}
