import { isDeepStrictEqual } from 'node:util';
import { stringify } from 'yaml';
import type { Style } from '../output/index.js';
import { type DiffLine, diffLines } from './line-diff.js';

/** What happened to one named thing of a pipeline (a resource, a job) between two configs. */
export interface ItemChange {
  /** `resource greeting`, `job say-hello`, `display`. */
  subject: string;
  change: 'added' | 'removed' | 'changed';
  lines: DiffLine[];
}

export interface SectionChange {
  /** The top-level key: `resources`, `jobs`, ... */
  key: string;
  items: ItemChange[];
}

interface SectionKind {
  key: string;
  /** What one item is called; none for a section compared as a whole (`display`). */
  noun?: string;
  /** Whether an item's position matters (a group's does: it is the tab order). */
  ordered?: boolean;
}

/** The sections of a pipeline config, in the order fly shows their changes. */
const kSections: readonly SectionKind[] = [
  { key: 'groups', noun: 'group', ordered: true },
  { key: 'resources', noun: 'resource' },
  { key: 'resource_types', noun: 'resource type' },
  { key: 'jobs', noun: 'job' },
  { key: 'var_sources', noun: 'var source' },
  { key: 'display' },
];

/**
 * The differences between two pipeline configs (parsed YAML), as fly shows them before it sets a
 * pipeline: per section, each resource, job, group, ... that was added, removed or changed, with
 * a line diff of its YAML. Keys fly does not know are compared as wholes, so no change is hidden.
 */
export function diffPipelineConfigs(before: unknown, after: unknown): SectionChange[] {
  const a = isRecord(before) ? before : {};
  const b = isRecord(after) ? after : {};
  const known = new Set(kSections.map((s) => s.key));
  const others = [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => !known.has(key));
  const changes: SectionChange[] = [];
  for (const section of [...kSections, ...others.map((key): SectionKind => ({ key }))]) {
    const items =
      section.noun !== undefined && isListOrAbsent(a[section.key]) && isListOrAbsent(b[section.key])
        ? diffNamedItems(section, listOf(a[section.key]), listOf(b[section.key]))
        : diffWhole(section.key, a[section.key], b[section.key]);
    if (items.length > 0) changes.push({ key: section.key, items });
  }
  return changes;
}

/** The diff as text, fly's way: section headers, a yellow line per item, `+`/`-` lines in colour. */
export function renderConfigDiff(sections: readonly SectionChange[], style: Style): string {
  const out: string[] = [];
  for (const section of sections) {
    out.push(`${section.key.replaceAll('_', ' ')}:`);
    for (const item of section.items) {
      const verb = item.change === 'changed' ? 'has changed' : `has been ${item.change}`;
      out.push(`  ${style.yellow(`${item.subject} ${verb}:`)}`);
      for (const line of item.lines) {
        if (line.op === '+') out.push(`${style.green('+')} ${style.green(line.text)}`);
        else if (line.op === '-') out.push(`${style.red('-')} ${style.red(line.text)}`);
        else out.push(`  ${line.text}`);
      }
      out.push('');
    }
  }
  return out.join('\n');
}

function diffNamedItems(section: SectionKind, before: unknown[], after: unknown[]): ItemChange[] {
  const noun = section.noun ?? section.key;
  const oldByName = indexByName(before);
  const newByName = indexByName(after);
  const items: ItemChange[] = [];
  for (const [name, { item, index }] of oldByName) {
    const now = newByName.get(name);
    const subject = `${noun} ${name}`;
    if (now === undefined) items.push({ subject, change: 'removed', lines: diffLines(yamlLines(item), []) });
    else if (!isDeepStrictEqual(item, now.item) || (section.ordered === true && index !== now.index)) {
      items.push({ subject, change: 'changed', lines: diffLines(yamlLines(item), yamlLines(now.item)) });
    }
  }
  for (const [name, { item }] of newByName) {
    if (oldByName.has(name)) continue;
    items.push({ subject: `${noun} ${name}`, change: 'added', lines: diffLines([], yamlLines(item)) });
  }
  return items;
}

function diffWhole(key: string, before: unknown, after: unknown): ItemChange[] {
  if (isDeepStrictEqual(before, after)) return [];
  const lines = (value: unknown) => (value === undefined ? [] : yamlLines({ [key]: value }));
  const change = before === undefined ? 'added' : after === undefined ? 'removed' : 'changed';
  return [{ subject: key, change, lines: diffLines(lines(before), lines(after)) }];
}

/** Items by name (`#3` for one without a name, by its position); the first of a duplicate wins. */
function indexByName(items: unknown[]): Map<string, { item: unknown; index: number }> {
  const byName = new Map<string, { item: unknown; index: number }>();
  items.forEach((item, index) => {
    const name = isRecord(item) && typeof item.name === 'string' ? item.name : `#${index}`;
    if (!byName.has(name)) byName.set(name, { item, index });
  });
  return byName;
}

function yamlLines(value: unknown): string[] {
  return stringify(value, { lineWidth: 0 }).replace(/\n$/, '').split('\n');
}

function listOf(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

function isListOrAbsent(value: unknown): boolean {
  return value === undefined || value === null || Array.isArray(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
