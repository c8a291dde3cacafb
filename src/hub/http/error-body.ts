import { STATUS_CODES } from 'node:http';

/**
 * REST error bodies: Spring Boot's shape (what Orca and Gate log and sometimes parse) plus our stable
 * code: `{"timestamp":"2021-01-25T21:52:25.252+00:00","status":400,"error":"Bad Request","message":"…","code":"REQUEST_INVALID"}`.
 * Both the REST API (src/hub/api) and its authorization hooks (src/hub/auth) answer in it, so it sits
 * below both.
 */
export interface ErrorBody {
  /** When the error was answered, as Spring Boot's DefaultErrorAttributes writes it through Jackson (springTimestamp). */
  timestamp: string;
  status: number;
  error: string;
  message: string;
  code: string;
}

/**
 * An instant as Clouddriver's error bodies carry it: Spring Boot serialises DefaultErrorAttributes'
 * `java.util.Date` with Jackson's StdDateFormat in UTC (WRITE_DATES_AS_TIMESTAMPS is off in Spring
 * Boot), i.e. ISO-8601 with milliseconds and a `+00:00` offset, e.g. `2021-01-25T21:52:25.252+00:00`
 * (a real Clouddriver 404 in spinnaker/orca's test resources,
 * orca-clouddriver/src/test/resources/…/monitorDeployManifestTask/owner-pod-manifest-not-found.json).
 */
export function springTimestamp(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/Z$/, '+00:00');
}

/** `now` is the instant the body reports (epoch milliseconds); tests that compare bodies whole pass a fixed one. */
export function errorBody(status: number, message: string, code: string, now: number = Date.now()): ErrorBody {
  return { timestamp: springTimestamp(now), status, error: STATUS_CODES[status] ?? 'Error', message, code };
}
