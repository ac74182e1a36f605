/** @jsxRuntime automatic @jsxImportSource preact */
/**
 * Forms generated from a JSON schema of openapi.yaml (a handler's kwargs, the create options):
 * one input per property, of the kind its schema says, prefilled from the schema's example (or
 * its defaults), read back into the value the API takes, and showing on each input the errors
 * the API names for that field.
 */
import type { JSX } from 'preact';

export interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  enum?: unknown[];
  default?: unknown;
  example?: unknown;
  description?: string;
  deprecated?: boolean;
  minimum?: number;
  maximum?: number;
  maxLength?: number;
  pattern?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  additionalProperties?: boolean | JsonSchema;
  [key: string]: unknown;
}

/** How a property is edited. `number-or-text` is a oneOf of a number and a string (e.g. "10 minutes"). */
export type FieldKind = 'text' | 'enum' | 'integer' | 'number' | 'boolean' | 'number-or-text' | 'json';

export interface Field {
  name: string;
  kind: FieldKind;
  required: boolean;
  schema: JsonSchema;
  /** The choices of an `enum` field. */
  choices?: string[];
}

/** What the inputs hold: the text typed (a checkbox's state for a boolean). */
export type FormValues = Record<string, string | boolean>;

/**
 * The schema with its `$ref`s to `#/components/schemas/X` replaced by X (a few levels deep),
 * keeping the referring schema's own description.
 */
export function deref(schema: JsonSchema, schemas: Record<string, unknown>, depth = 4): JsonSchema {
  if (depth === 0 || !schema || typeof schema !== 'object') return schema;
  let s = schema;
  const ref = typeof s.$ref === 'string' ? /^#\/components\/schemas\/(.+)$/.exec(s.$ref) : null;
  if (ref && schemas[ref[1]]) {
    const { $ref: _ref, ...own } = s;
    s = { ...(schemas[ref[1]] as JsonSchema), ...own };
  }
  const out: JsonSchema = { ...s };
  if (s.properties) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k, deref(v, schemas, depth - 1)]));
  if (s.oneOf) out.oneOf = s.oneOf.map((v) => deref(v, schemas, depth - 1));
  if (s.anyOf) out.anyOf = s.anyOf.map((v) => deref(v, schemas, depth - 1));
  if (s.allOf) out.allOf = (s.allOf as JsonSchema[]).map((v) => deref(v, schemas, depth - 1));
  return out;
}

const typesOf = (s: JsonSchema): string[] => (Array.isArray(s.type) ? s.type : s.type ? [s.type] : []);

export function kindOf(s: JsonSchema): FieldKind {
  const alternatives = s.oneOf ?? s.anyOf;
  if (alternatives) {
    const kinds = alternatives.map((a) => typesOf(a)[0]);
    if (kinds.length === 2 && kinds.includes('string') && (kinds.includes('integer') || kinds.includes('number'))) return 'number-or-text';
    return 'json';
  }
  if (s.enum) return 'enum';
  const t = typesOf(s).filter((x) => x !== 'null')[0];
  if (t === 'string') return 'text';
  if (t === 'integer' || t === 'number' || t === 'boolean') return t;
  return 'json';
}

/**
 * The fields of an object schema, in its order. A schema with no properties of its own (a
 * handler that takes anything) is one JSON field named '' that stands for the whole value.
 */
export function fieldsOf(schema: JsonSchema, omit: readonly string[] = []): Field[] {
  const props = schema.properties ?? {};
  const names = Object.keys(props).filter((n) => !omit.includes(n));
  if (names.length === 0 && Object.keys(props).length === 0) return [{ name: '', kind: 'json', required: false, schema }];
  return names.map((name) => {
    const s = props[name];
    const kind = kindOf(s);
    return {
      name,
      kind,
      required: (schema.required ?? []).includes(name),
      schema: s,
      ...(kind === 'enum' ? { choices: (s.enum ?? []).filter((v) => v !== null).map(String) } : {}),
    };
  });
}

function toText(field: Field, value: unknown): string | boolean {
  // A box nobody set is '' (left out when sent); one the example or the viewer set is a boolean.
  if (field.kind === 'boolean') return typeof value === 'boolean' ? value : '';
  if (value === undefined || value === null) return '';
  if (field.kind === 'json') return JSON.stringify(value, null, 2);
  return String(value);
}

/** The inputs' first values: the schema's example when it has one, else each property's default. */
export function initialValues(fields: Field[], schema: JsonSchema, example: unknown = schema.example): FormValues {
  const values: FormValues = {};
  const ex = example && typeof example === 'object' && !Array.isArray(example) ? (example as Record<string, unknown>) : undefined;
  for (const f of fields) {
    if (f.name === '') values[''] = toText(f, example ?? {});
    else values[f.name] = toText(f, ex ? ex[f.name] : f.schema.default);
  }
  return values;
}

export interface ReadResult {
  value: Record<string, unknown>;
  /** Problems found before sending, by field name. */
  errors: Record<string, string>;
}

/** The value the inputs stand for; an empty input is left out, a required one is an error. */
export function readValues(fields: Field[], values: FormValues): ReadResult {
  const value: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const raw = values[f.name];
    if (f.kind === 'boolean') {
      if (typeof raw === 'boolean') value[f.name] = raw;
      else if (f.required) value[f.name] = false;
      continue;
    }
    const text = typeof raw === 'string' ? raw.trim() : '';
    if (text === '') {
      if (f.required) errors[f.name] = 'is required';
      continue;
    }
    switch (f.kind) {
      case 'integer':
      case 'number': {
        const n = Number(text);
        if (!Number.isFinite(n) || (f.kind === 'integer' && !Number.isInteger(n))) errors[f.name] = `must be ${f.kind === 'integer' ? 'a whole number' : 'a number'}`;
        else value[f.name] = n;
        break;
      }
      case 'number-or-text':
        value[f.name] = /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
        break;
      case 'json':
        try {
          const parsed: unknown = JSON.parse(text);
          if (f.name === '') {
            if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) errors[''] = 'must be a JSON object';
            else Object.assign(value, parsed);
          } else value[f.name] = parsed;
        } catch (err) {
          errors[f.name] = `is not valid JSON: ${(err as Error).message}`;
        }
        break;
      default:
        value[f.name] = raw;
    }
  }
  return { value, errors };
}

/**
 * The API's field errors (`body.kwargs.url`, `query.cron`, `kwargs/url`...) keyed by the field
 * of this form they name, under `prefix` (e.g. `kwargs`); an error of the form's value as a
 * whole is keyed ''.
 */
export function errorsFor(apiErrors: Array<{ field: string; reason: string }>, fields: Field[], prefix: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  const names = new Set(fields.map((f) => f.name));
  for (const e of apiErrors) {
    const parts = e.field.split(/[./]/).filter(Boolean);
    if (parts[0] === 'body' || parts[0] === 'query') parts.shift();
    if (prefix !== null) {
      if (parts[0] !== prefix) continue;
      parts.shift();
    }
    const name = parts[0] ?? '';
    const key = names.has(name) ? name : names.has('') ? '' : prefix !== null && name === '' ? '' : null;
    if (key === null) continue;
    const where = key === name ? parts.slice(1).join('.') : parts.join('.');
    const reason = where ? `${where}: ${e.reason}` : e.reason;
    out[key] = out[key] ? `${out[key]}; ${reason}` : reason;
  }
  return out;
}

export interface SchemaFormProps {
  /** Prefixes the inputs' ids, so two forms on a page do not collide. */
  id: string;
  fields: Field[];
  values: FormValues;
  errors: Record<string, string>;
  onChange: (values: FormValues) => void;
  disabled?: boolean;
  /** A label for the whole-value field of a schema without properties. */
  wholeLabel?: string;
}

const label = (name: string) => name.replace(/_/g, ' ');

/** The inputs of `fields`, each with its label, help text and error (aria-invalid, aria-describedby). */
export function SchemaForm({ id, fields, values, errors, onChange, disabled, wholeLabel = 'JSON' }: SchemaFormProps) {
  const set = (name: string, v: string | boolean) => onChange({ ...values, [name]: v });
  const whole = errors[''] && !fields.some((f) => f.name === '') ? errors[''] : null;
  return (
    <div class="schema-form">
      {whole && (
        <p class="field-error" role="alert">
          {whole}
        </p>
      )}
      {fields.map((f) => {
        const inputId = `${id}-${f.name || 'value'}`;
        const help = f.schema.description;
        const error = errors[f.name];
        const describedBy = [help ? `${inputId}-help` : '', error ? `${inputId}-error` : ''].filter(Boolean).join(' ') || undefined;
        const common = {
          id: inputId,
          name: f.name || 'value',
          disabled,
          'aria-invalid': error ? ('true' as const) : undefined,
          'aria-describedby': describedBy,
          'aria-required': f.required ? ('true' as const) : undefined,
        };
        const text = typeof values[f.name] === 'string' ? (values[f.name] as string) : '';
        const onText = (e: JSX.TargetedEvent<HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement>) => set(f.name, e.currentTarget.value);
        let input: JSX.Element;
        switch (f.kind) {
          case 'boolean':
            input = <input type="checkbox" {...common} checked={values[f.name] === true} onChange={(e) => set(f.name, e.currentTarget.checked)} />;
            break;
          case 'enum':
            input = (
              <select {...common} value={text} onChange={onText}>
                {!f.required && <option value="">(default{f.schema.default !== undefined ? `: ${String(f.schema.default)}` : ''})</option>}
                {f.choices!.map((c) => (
                  <option key={c} value={c}>
                    {c}
                  </option>
                ))}
              </select>
            );
            break;
          case 'integer':
          case 'number':
            input = (
              <input
                type="text"
                inputMode={f.kind === 'integer' ? 'numeric' : 'decimal'}
                {...common}
                value={text}
                placeholder={f.schema.default !== undefined ? String(f.schema.default) : undefined}
                onInput={onText}
              />
            );
            break;
          case 'json':
            input = <textarea {...common} class="code" rows={Math.min(12, Math.max(3, text.split('\n').length))} value={text} spellcheck={false} onInput={onText} />;
            break;
          default:
            input = <input type="text" {...common} value={text} placeholder={f.schema.default !== undefined ? String(f.schema.default) : undefined} onInput={onText} />;
        }
        return (
          <div class={`field${f.kind === 'boolean' ? ' field-check' : ''}${error ? ' has-error' : ''}`} key={f.name}>
            <label for={inputId}>
              {f.name === '' ? wholeLabel : label(f.name)}
              {f.required && <span aria-hidden="true"> *</span>}
              {f.kind === 'json' && f.name !== '' && <span class="muted"> (JSON)</span>}
              {f.schema.deprecated && <span class="muted"> (deprecated)</span>}
            </label>
            {input}
            {help && (
              <small id={`${inputId}-help`} class="help">
                {help}
              </small>
            )}
            {error && (
              <small id={`${inputId}-error`} class="field-error" role="alert">
                {error}
              </small>
            )}
          </div>
        );
      })}
    </div>
  );
}
