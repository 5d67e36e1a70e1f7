import type { YamlPath, YamlSource } from '../yaml-source.js';
import { formatPath, isRecord } from './findings.js';
import { varReferences } from './var-refs.js';

/** A `((var))` a pipeline config still holds once its static vars are applied, where it is written. */
export interface PipelineVarUse {
  /** The text between the parentheses: `github.token`, `vault:deploy-key`, `.:version`. */
  text: string;
  /** The var source (`vault`, `.` for a build's local vars); undefined for the credential managers. */
  source?: string;
  file: string;
  line: number;
  column: number;
  /** The field path of the value (or key) holding it, as problems name them. */
  path: string;
}

/**
 * Every var use in the config (values and keys, at any depth), in file order: what resolves when
 * builds run, for `check_creds` to look up ahead of them.
 */
export function findVarUses(config: unknown, source: YamlSource, file: string): PipelineVarUse[] {
  const uses: Array<PipelineVarUse & { offset: number }> = [];
  const visitText = (text: string, segments: YamlPath, target: 'key' | 'value') => {
    for (const reference of varReferences(text)) {
      const { line, column, offset } = source.closestPositionOf(segments, target);
      uses.push({
        text: reference.text,
        ...(reference.source === undefined ? {} : { source: reference.source }),
        file,
        line,
        column,
        offset,
        path: formatPath(segments),
      });
    }
  };
  const walk = (node: unknown, segments: YamlPath) => {
    if (typeof node === 'string') visitText(node, segments, 'value');
    else if (Array.isArray(node)) {
      for (const [i, item] of node.entries()) walk(item, [...segments, i]);
    } else if (isRecord(node)) {
      for (const [key, item] of Object.entries(node)) {
        visitText(key, [...segments, key], 'key');
        walk(item, [...segments, key]);
      }
    }
  };
  walk(config, []);
  return uses.sort((a, b) => a.offset - b.offset).map(({ offset: _offset, ...use }) => use);
}
