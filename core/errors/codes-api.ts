import { defineErrors } from './define.js';

/** Errors of core/api/. */
export const apiErrors = defineErrors({
  CC_E_API_UNAUTHORIZED: {
    status: 401,
    docs: 'The request carries no bearer token, or one the server does not know. Send `Authorization: Bearer <token>`; `cc login --url URL --token TOKEN` saves a token for the CLI.',
  },
  CC_E_API_BAD_REQUEST: {
    status: 400,
    docs: 'The request does not match the route’s schema (a missing or malformed parameter, query field or body field). `details.field` names the failing field; the OpenAPI document at /api/v1/openapi.json describes every route.',
  },
  CC_E_API_NOT_FOUND: {
    status: 404,
    docs: 'No route answers this method and path. Check the path against /api/v1/openapi.json; every route lives under /api/v1.',
  },
  CC_E_API_PAYLOAD_TOO_LARGE: {
    status: 413,
    docs: 'The request body is larger than the server accepts. Send a smaller body.',
  },
  CC_E_API_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    docs: 'The request body has a Content-Type the route does not accept. Send `Content-Type: application/json`.',
  },
});
