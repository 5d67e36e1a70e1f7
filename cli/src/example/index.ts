export {
  type ExampleOptions,
  exampleJob,
  examplePipeline,
  examplePipelineFile,
  runExample,
} from './run-example.js';
