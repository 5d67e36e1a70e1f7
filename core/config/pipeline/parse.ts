import { parseDocument } from 'yaml';
import { parseYamlSource, type YamlSource } from '../yaml-source.js';

/**
 * Parse pipeline YAML as Concourse does (go-yaml, YAML 1.1): `yes`/`no`/`on`/`off` are booleans,
 * `0755` is octal, `<<` merges maps. Timestamps stay strings, as go-yaml leaves them when it
 * decodes into plain values. Positions and syntax errors come from {@link parseYamlSource}; the
 * value from a YAML 1.1 reading of the same text, which has the same shape.
 */
export function parsePipelineYaml(text: string, file: string): { source: YamlSource; value: unknown } {
  const source = parseYamlSource(text, { file, merge: true });
  if (source.problems.length > 0) return { source, value: undefined };
  const doc = parseDocument(text, {
    version: '1.1',
    merge: true,
    customTags: (tags) =>
      tags.filter((tag) =>
        typeof tag === 'string' ? tag !== 'timestamp' : tag.tag !== 'tag:yaml.org,2002:timestamp',
      ),
  });
  if (doc.errors.length > 0) return { source, value: source.value };
  try {
    return { source, value: doc.toJS({ maxAliasCount: 100 }) as unknown };
  } catch {
    // YamlSource read the same text within the same alias limit; this is only a safety net.
    return { source, value: source.value };
  }
}
