import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  type YAMLMap,
} from 'yaml';

/** A path into a YAML document: map keys as strings, sequence indices as numbers. */
export type YamlPath = ReadonlyArray<string | number>;

/** A place in the source text; line and column count from 1, offset from 0. */
export interface SourcePosition {
  line: number;
  column: number;
  offset: number;
}

/** A YAML syntax error (or an error building the value), with its position. */
export interface YamlSyntaxProblem extends SourcePosition {
  /** The yaml package's error code, e.g. `BAD_INDENT`, `DUPLICATE_KEY`. */
  code: string;
  message: string;
}

export interface YamlSourceOptions {
  /** The file name, for messages; positions do not depend on it. */
  file?: string;
  /** Honour `<<` merge keys as YAML 1.1 (and Concourse's go-yaml) does. */
  merge?: boolean;
  /** Anchors may be expanded at most this many times, against "billion laughs" documents. */
  maxAliasCount?: number;
}

/** `value` points at the node a key maps to, `key` at the key itself (for "unknown key" problems). */
export type PositionTarget = 'key' | 'value';

/** Where a path leads: the value node, and the key node when the last step went through a map. */
interface Located {
  key?: Node;
  value?: Node;
}

/**
 * A parsed YAML document that remembers where everything came from, so problems found in the
 * plain value (by a schema validator, say) can be reported at file:line:column. Parse once with
 * {@link parseYamlSource}, check `problems`, use `value`, and ask `positionOf` for each problem.
 */
export class YamlSource {
  readonly file: string | undefined;
  /** Syntax errors; when there are any, `value` is undefined. */
  readonly problems: readonly YamlSyntaxProblem[];
  /** The document as plain data (an empty document is null). */
  readonly value: unknown;
  readonly #doc: Document.Parsed;
  readonly #lines: LineCounter;

  constructor(text: string, options: YamlSourceOptions = {}) {
    this.file = options.file;
    this.#lines = new LineCounter();
    this.#doc = parseDocument(text, {
      lineCounter: this.#lines,
      // Positions are ours to render; the package's code frames would repeat them.
      prettyErrors: false,
      merge: options.merge ?? false,
    });
    const problems: YamlSyntaxProblem[] = this.#doc.errors.map((error) => ({
      code: error.code,
      message: error.message,
      ...this.#position(error.pos[0]),
    }));
    let value: unknown;
    if (problems.length === 0) {
      try {
        value = this.#doc.toJS({ maxAliasCount: options.maxAliasCount ?? 100 });
      } catch (error: unknown) {
        // toJS throws for alias bombs and the like; they are problems of the text, not crashes.
        problems.push({
          code: 'BAD_DOCUMENT',
          message: error instanceof Error ? error.message : String(error),
          ...this.#position(this.#doc.range[0]),
        });
      }
    }
    this.problems = problems;
    this.value = value;
  }

  /**
   * The position of the node at `path`: its value (default) or, with `target: 'key'`, the key
   * that leads to it. Undefined when the path does not exist in the document.
   */
  positionOf(path: YamlPath, target: PositionTarget = 'value'): SourcePosition | undefined {
    const found = this.#locate(path);
    if (!found) return undefined;
    const node = target === 'key' ? (found.key ?? found.value) : (found.value ?? found.key);
    return this.#nodePosition(node);
  }

  /**
   * Like {@link positionOf}, but when the path does not exist, the position of its longest
   * prefix that does (ultimately the document itself): where a missing field should have been.
   */
  closestPositionOf(path: YamlPath, target: PositionTarget = 'value'): SourcePosition {
    for (let length = path.length; length > 0; length--) {
      const position = this.positionOf(path.slice(0, length), length === path.length ? target : 'value');
      if (position) return position;
    }
    return this.#nodePosition(this.#doc.contents ?? undefined) ?? this.#position(this.#doc.range[0]);
  }

  /** The position of an offset into the text. */
  #position(offset: number): SourcePosition {
    const { line, col } = this.#lines.linePos(offset);
    return { line, column: col, offset };
  }

  #nodePosition(node: Node | undefined): SourcePosition | undefined {
    const offset = node?.range?.[0];
    return offset === undefined ? undefined : this.#position(offset);
  }

  #locate(path: YamlPath): Located | undefined {
    let current: Located = { value: this.#doc.contents ?? undefined };
    for (const step of path) {
      const node = this.#resolve(current.value);
      let next: Located | undefined;
      if (isMap(node)) {
        next = this.#inMap(node, String(step), new Set());
      } else if (isSeq(node)) {
        const index = typeof step === 'number' ? step : /^\d+$/.test(step) ? Number(step) : -1;
        const item = node.items[index];
        next = item === undefined ? undefined : { value: item as Node };
      }
      if (!next) return undefined;
      current = next;
    }
    return current;
  }

  /** Look a key up in a map, then in what its `<<` merge keys bring in, as YAML 1.1 merges them. */
  #inMap(map: YAMLMap, key: string, seen: Set<YAMLMap>): Located | undefined {
    seen.add(map);
    const pairs = map.items as Pair<unknown, unknown>[];
    for (const pair of pairs) {
      if (isScalar(pair.key) && !isMergeKey(pair.key) && String(pair.key.value) === key) {
        return { key: pair.key, value: (pair.value ?? undefined) as Node | undefined };
      }
    }
    for (const pair of pairs) {
      if (!isScalar(pair.key) || !isMergeKey(pair.key)) continue;
      const sources = isSeq(pair.value) ? pair.value.items : [pair.value];
      for (const source of sources) {
        const merged = this.#resolve(source as Node | undefined);
        if (isMap(merged) && !seen.has(merged)) {
          const found = this.#inMap(merged, key, seen);
          if (found) return found;
        }
      }
    }
    return undefined;
  }

  #resolve(node: Node | undefined): Node | undefined {
    return isAlias(node) ? (node.resolve(this.#doc) ?? undefined) : node;
  }
}

/** A `<<` key that the parser took as a merge (it does only when merging is on). */
function isMergeKey(key: { value: unknown; source?: string }): boolean {
  return typeof key.value === 'symbol' && key.source === '<<';
}

/** Parse YAML text, keeping positions. Never throws for bad YAML: see `problems`. */
export function parseYamlSource(text: string, options: YamlSourceOptions = {}): YamlSource {
  return new YamlSource(text, options);
}
