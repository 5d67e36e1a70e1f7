import { closestKey } from '../problems.js';
import type { YamlPath } from '../yaml-source.js';
import { describeValue, type Findings, isRecord } from './findings.js';
import { structureValidator } from './schema.js';
import { schemaFindings } from './schema-findings.js';
import {
  childSteps,
  declaredStepTypes,
  hookKeys,
  modifierKeys,
  removedStepTypes,
  stepDefs,
  stepTypes,
} from './step-kinds.js';

const stepTypeList = ['get', 'put', 'task', 'set_pipeline', 'load_var', 'in_parallel', 'do', 'try'];
const typeList = stepTypeList.map((type) => `\`${type}\``).join(', ');

/**
 * Check the document against the pipeline schema: the whole document first (each step accepted
 * as anything), then each step against the schema of its own type, once the walk has decided
 * which type that is. Findings go to `findings`.
 */
export function checkStructure(doc: Record<string, unknown>, findings: Findings): void {
  const validate = structureValidator();
  if (!validate(doc)) findings.push(...schemaFindings(validate.errors, doc, [], undefined));
  if (!Array.isArray(doc.jobs)) return;
  doc.jobs.forEach((job, j) => {
    if (!isRecord(job)) return;
    if (Array.isArray(job.plan)) {
      job.plan.forEach((step, i) => {
        checkStep(step, ['jobs', j, 'plan', i], findings);
      });
    }
    for (const hook of hookKeys) if (hook in job) checkStep(job[hook], ['jobs', j, hook], findings);
  });
}

function checkStep(step: unknown, segments: YamlPath, findings: Findings): void {
  if (!isRecord(step)) {
    findings.error(
      segments,
      `must be a step (a mapping with one of ${typeList}), not ${describeValue(step)}`,
    );
    return;
  }
  const removed = Object.keys(step).filter((key) => key in removedStepTypes);
  for (const key of removed)
    findings.error([...segments, key], removedStepTypes[key] ?? '', { target: 'key' });
  // Document order: the first type the user wrote is the step, any later one is the mistake.
  const declared = Object.keys(step).filter((key) => (stepTypes as readonly string[]).includes(key));
  const [first, ...extra] = declared;
  if (first === undefined) {
    if (removed.length === 0) reportNoStepType(step, segments, findings);
    return;
  }
  if (extra.length > 0) {
    for (const key of extra) {
      findings.error(
        [...segments, key],
        `is a second step type in one step, which already is \`${first}\`; a step is exactly one of ${typeList}: split it into two steps`,
        { target: 'key' },
      );
    }
    return;
  }
  const [type] = declaredStepTypes(step);
  if (type === undefined) return;
  const def = stepDefs[type];
  const validate = structureValidator(def);
  if (!validate(step)) {
    const found = schemaFindings(validate.errors, step, segments, def).filter(
      // Removed step types are already reported with what to write instead.
      (finding) =>
        !(
          finding.target === 'key' &&
          removed.includes(String(finding.segments.at(-1))) &&
          finding.segments.length === segments.length + 1
        ),
    );
    findings.push(...found);
  }
  for (const [relative, child] of childSteps(type, step))
    checkStep(child, [...segments, ...relative], findings);
  for (const hook of hookKeys) if (hook in step) checkStep(step[hook], [...segments, hook], findings);
}

function reportNoStepType(step: Record<string, unknown>, segments: YamlPath, findings: Findings): void {
  const keys = Object.keys(step);
  const others = keys.filter((key) => !(modifierKeys as readonly string[]).includes(key));
  let suggested = false;
  for (const key of others) {
    const suggestion = closestKey(key, stepTypeList);
    if (suggestion) {
      findings.error([...segments, key], `is an unknown step type; did you mean \`${suggestion}\`?`, {
        target: 'key',
        suggestion,
      });
      suggested = true;
    }
  }
  if (suggested) return;
  let message: string;
  if (keys.length === 0) message = 'is an empty step';
  else if (others.length === 0)
    message = `has no step type, only modifiers (${keys.map((key) => `\`${key}\``).join(', ')})`;
  else message = `has an unknown step type: ${others.map((key) => `\`${key}\``).join(', ')}`;
  findings.error(segments, `${message}; a step is exactly one of ${typeList}`);
}
