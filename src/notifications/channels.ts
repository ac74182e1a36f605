/**
 * Sending one delivery to its channel: a webhook (JSON, signed), a Slack-compatible incoming
 * webhook, or e-mail over SMTP. HTTP goes through the outbound policy of http-request
 * (handlers/_outbound.ts); the SMTP server is the operator's own (JOBS_SMTP_*).
 */
import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import { NoAnswerError, outboundPolicy, outboundRequest, PolicyError } from '../../handlers/_outbound.js';
import type { SmtpSettings } from '../config/config.js';
import type { DeliveryRecord } from '../store/types.js';

/** How one try went: `code` is the HTTP status or the SMTP reply code, null without an answer. */
export interface SendResult {
  ok: boolean;
  code: number | null;
  error: string | null;
}

/** The headers of a signed webhook delivery. */
export const signatureHeader = 'X-Jobs-Signature';
export const timestampHeader = 'X-Jobs-Timestamp';

/**
 * `sha256=` and the hex HMAC-SHA256, keyed by the rule's secret, of `<timestamp>.<body>`: the
 * receiver computes the same over the raw body it got and the timestamp header, compares in
 * constant time, and refuses a timestamp too far from its own clock (a replay).
 */
export function signature(secret: string, timestamp: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export interface ChannelOptions {
  timeoutMs: number;
  maxRedirects: number;
  smtp: SmtpSettings | null;
  /** The SMTP password when it is a stored secret (JOBS_SMTP_PASSWORD_SECRET), opened when needed. */
  smtpPassword: () => Promise<string | null>;
}

const keepBytes = 300;

async function post(url: string, body: string, headers: Record<string, string>, options: ChannelOptions): Promise<SendResult> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
  try {
    const res = await outboundRequest({
      url,
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'User-Agent': 'jobs-service', ...headers },
      body,
      signal: controller.signal,
      policy: outboundPolicy(),
      maxBytes: 64 * 1024,
      keepBytes,
      maxRedirects: options.maxRedirects,
    });
    const ok = res.status >= 200 && res.status < 300;
    const answer = res.kept.toString('utf8').trim();
    return { ok, code: res.status, error: ok ? null : `answered ${res.status}${answer ? `: ${answer.slice(0, keepBytes)}` : ''}` };
  } catch (err) {
    if (err instanceof PolicyError) return { ok: false, code: null, error: `refused by the outbound policy: ${err.message}` };
    if (err instanceof NoAnswerError) return { ok: false, code: null, error: err.message };
    if (controller.signal.aborted) return { ok: false, code: null, error: (controller.signal.reason as Error).message };
    return { ok: false, code: null, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** The Slack text and the e-mail body: the message, then the run's fields. */
export function textOf(payload: Record<string, unknown>): string {
  return String(payload.message ?? payload.event);
}

/** Sends a delivery whose target has its secrets opened. */
export async function send(d: DeliveryRecord, target: Record<string, unknown>, options: ChannelOptions, transport: () => Promise<Transporter>): Promise<SendResult> {
  if (d.channel === 'webhook') {
    const body = JSON.stringify(d.payload);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const headers: Record<string, string> = { 'X-Jobs-Event': d.event, 'X-Jobs-Delivery': d.id, [timestampHeader]: timestamp };
    if (typeof target.secret === 'string') headers[signatureHeader] = signature(target.secret, timestamp, body);
    return post(String(target.url), body, headers, options);
  }
  if (d.channel === 'slack') return post(String(target.url), JSON.stringify({ text: textOf(d.payload) }), {}, options);
  if (!options.smtp) return { ok: false, code: null, error: 'e-mail cannot be sent: JOBS_SMTP_HOST is not set' };
  try {
    const info = (await (
      await transport()
    ).sendMail({
      from: options.smtp.from,
      to: target.to as string[],
      subject: String(d.payload.subject ?? d.payload.message),
      text: `${textOf(d.payload)}\n\n${JSON.stringify(d.payload, null, 2)}\n`,
    })) as { response?: string };
    const code = Number(/^\d{3}/.exec(info.response ?? '')?.[0] ?? 250);
    return { ok: true, code, error: null };
  } catch (err) {
    const code = (err as { responseCode?: number }).responseCode ?? null;
    return { ok: false, code, error: (err as Error).message };
  }
}

/** A transport for the SMTP settings, with the password given. */
export function smtpTransport(smtp: SmtpSettings, password: string | null, timeoutMs: number): Transporter {
  return nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure,
    auth: smtp.user && password ? { user: smtp.user, pass: password } : undefined,
    tls: { rejectUnauthorized: smtp.rejectUnauthorized },
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
}
