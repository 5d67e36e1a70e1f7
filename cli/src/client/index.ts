export {
  ApiClient,
  type ApiClientOptions,
  type ErrorResponse,
  type InfoResponse,
  type PluginSummary,
} from './api-client.js';
