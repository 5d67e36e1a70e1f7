import { fileURLToPath } from 'node:url';
import type { ApiClient } from '../client/index.js';
import { readTextFile } from '../files/index.js';
import type { Style } from '../output/index.js';
import { setPipeline } from '../pipeline/index.js';
import { type WatchOutcome, watchBuild } from '../watch/index.js';

/** The example pipeline, shipped inside the CLI package (cli/examples/hello.yml). */
export const examplePipelineFile = fileURLToPath(new URL('../../examples/hello.yml', import.meta.url));
export const examplePipeline = 'hello';
export const exampleJob = 'say-hello';

export interface ExampleOptions {
  client: ApiClient;
  /** A line of output; `write` streams the build log as it is. */
  out: (line: string) => void;
  write: (text: string) => void;
  err: (line: string) => void;
  style: Style;
  /** Stops watching the build (the server is shutting down). */
  signal?: AbortSignal;
}

/**
 * What `cc up --example` does once the server runs: sets the example as pipeline `hello`
 * (without asking), unpauses it, checks its job's inputs, triggers `hello/say-hello` (unless the
 * scheduler just did) and streams its log like `cc watch`, then says how to see it again.
 */
export async function runExample(options: ExampleOptions): Promise<WatchOutcome> {
  const { client, out } = options;
  const team = 'main';
  const text = await readTextFile(examplePipelineFile);
  out(`setting the example pipeline ${examplePipeline} from ${examplePipelineFile}`);
  await setPipeline({
    client,
    team,
    pipeline: examplePipeline,
    file: examplePipelineFile,
    text,
    vars: {},
    nonInteractive: true,
    out,
    err: options.err,
    style: options.style,
    // Never called: the example is set without asking.
    confirm: async () => true,
  });
  await client.unpausePipeline({ team, pipeline: examplePipeline });
  out(`unpaused '${examplePipeline}'`);
  const job = { team, pipeline: examplePipeline, job: exampleJob };
  // The checker finds the first versions within its interval; checking now lets the build start
  // at once (a job whose inputs have no version yet cannot be triggered).
  for (const input of (await client.getJob(job)).inputs) {
    await client.checkResource({ team, pipeline: examplePipeline, resource: input.resource });
  }
  // `trigger: true` may already have made the scheduler start a build: watch that one if so.
  const scheduled = (await client.getJob(job)).next_build;
  const build = scheduled ?? (await client.triggerJob(job));
  out(`${scheduled === null ? 'started' : 'watching'} ${examplePipeline}/${exampleJob} #${build.name}`);
  out('');
  const outcome = await watchBuild(client, build.id, {
    write: options.write,
    warn: (text) => options.err(text.trimEnd()),
    style: options.style,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (outcome.status !== 'detached') {
    out('');
    out(`see it again with: cc watch -j ${examplePipeline}/${exampleJob}`);
  }
  return outcome;
}
