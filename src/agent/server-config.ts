import { z } from 'zod';

/** The agent's admin/health port (Armory's server.port). */
export const DEFAULT_ADMIN_PORT = 8082;
/** Armory's prometheus.port: a separate listener for the metrics only. */
export const DEFAULT_PROMETHEUS_PORT = 8008;

/**
 * How the admin server checks client certificates (Armory's server.ssl.clientAuth, Go's
 * crypto/tls client auth types): none; request (asked for, not checked); any (required, not checked);
 * want (checked when given); need (required and checked).
 */
export const ADMIN_CLIENT_AUTH = ['none', 'request', 'any', 'want', 'need'] as const;
export type AdminClientAuth = (typeof ADMIN_CLIENT_AUTH)[number];

const clientAuthSchema = z.string().transform((value, ctx): AdminClientAuth => {
  const mode = value.trim().toLowerCase();
  if (!(ADMIN_CLIENT_AUTH as readonly string[]).includes(mode)) {
    ctx.addIssue({ code: 'custom', message: `unknown clientAuth "${value}"; one of ${ADMIN_CLIENT_AUTH.join(', ')}` });
    return z.NEVER;
  }
  return mode as AdminClientAuth;
});

/** `server.ssl`: TLS for the admin/health server only (Armory's keys; see src/agent/admin/admin-tls.ts). */
export const serverSslSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** The server certificate (chain), PEM; it may hold the private key too, then keyFile may be left out. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
    /** Password of an encrypted key (Armory also spells it keyPassword). */
    keyFilePassword: z.string().min(1).optional(),
    /** CA bundle client certificates must chain to; default: the server certificate itself (as Armory's agent does). */
    cacertFile: z.string().min(1).optional(),
    clientAuth: clientAuthSchema.default('none'),
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.enabled && s.certFile === undefined) ctx.addIssue({ code: 'custom', message: 'server.ssl.enabled needs certFile', path: ['certFile'] });
  })
  .prefault({});

export type ServerSslConfig = z.output<typeof serverSslSchema>;

export const serverSchema = z
  .object({
    host: z.string().min(1).default('0.0.0.0'),
    port: z.number().int().min(0).max(65535).default(DEFAULT_ADMIN_PORT),
    ssl: serverSslSchema,
  })
  .strict()
  .prefault({});

/** `prometheus.*`: the metrics, also on a port of their own at /metrics and /prometheus_metrics (Armory's). */
export const prometheusSchema = z
  .object({
    enabled: z.boolean().default(false),
    port: z.number().int().min(0).max(65535).default(DEFAULT_PROMETHEUS_PORT),
  })
  .strict()
  .prefault({});

export type PrometheusConfig = z.output<typeof prometheusSchema>;
