import { STATUS_CODES } from 'node:http';

/**
 * REST error bodies: Spring Boot's shape (what Orca and Gate log and sometimes parse) plus our stable
 * code: `{"error":"Bad Request","message":"…","status":400,"code":"REQUEST_INVALID"}`. Both the REST API
 * (src/hub/api) and its authorization hooks (src/hub/auth) answer in it, so it sits below both.
 */
export interface ErrorBody {
  error: string;
  message: string;
  status: number;
  code: string;
}

export function errorBody(status: number, message: string, code: string): ErrorBody {
  return { error: STATUS_CODES[status] ?? 'Error', message, status, code };
}
