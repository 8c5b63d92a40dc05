import type { SchemaNode } from './crd.ts';
import type { JsonPathStep } from './printerColumnPath.ts';

/** What a schema says a field holds, as far as metrics care. */
export type FieldKind =
  | 'number'
  | 'boolean'
  | 'timestamp'
  /** A string with an `enum` of strings. */
  | 'enum'
  /** A Kubernetes quantity (`5Gi`, `250m`) or an integer: converts to a number. */
  | 'quantity'
  /** An int-or-string that is not a quantity (a port name, `25%`): may not convert. */
  | 'int-or-string'
  | 'string'
  | 'object'
  | 'list'
  | 'map'
  /** No type, or an object whose contents the schema leaves open. */
  | 'unknown';

/**
 * `metadata` as the API server fills it in: CRD schemas leave it out (or give only `type: object`),
 * but printer columns and the draft read these fields.
 */
const METADATA: SchemaNode = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    namespace: { type: 'string' },
    uid: { type: 'string', format: 'uuid' },
    resourceVersion: { type: 'string' },
    generation: {
      type: 'integer',
      description: 'A sequence number representing a specific generation of the desired state.',
    },
    creationTimestamp: { type: 'string', format: 'date-time', description: 'When the object was created.' },
    deletionTimestamp: {
      type: 'string',
      format: 'date-time',
      description: 'When the object will be deleted.',
    },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    ownerReferences: { type: 'array', items: { type: 'object' } },
    finalizers: { type: 'array', items: { type: 'string' } },
  },
};

/** The controller-gen pattern of a `resource.Quantity` (`^(\+|-)?(([0-9]+(\.[0-9]*)?)|…`). */
function isQuantityPattern(pattern: string | undefined): boolean {
  return pattern !== undefined && pattern.includes('[KMGTPE]i') && pattern.includes('[0-9]');
}

function isIntOrString(node: SchemaNode): boolean {
  if (node['x-kubernetes-int-or-string'] === true) return true;
  const types = (node.anyOf ?? []).map((n) => n.type);
  return types.includes('integer') && types.includes('string');
}

/** String values of an enum (a string field may list `null` or numbers by mistake). */
export function enumStrings(node: SchemaNode): string[] {
  return (node.enum ?? []).filter((v): v is string => typeof v === 'string');
}

export function fieldKind(node: SchemaNode | undefined): FieldKind {
  if (!node) return 'unknown';
  if (isIntOrString(node)) {
    const pattern = node.pattern ?? node.anyOf?.find((n) => n.pattern)?.pattern;
    return isQuantityPattern(pattern) ? 'quantity' : 'int-or-string';
  }
  switch (node.type) {
    case 'integer':
    case 'number':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'string':
      if (node.format === 'date-time') return 'timestamp';
      if (enumStrings(node).length > 0) return 'enum';
      if (isQuantityPattern(node.pattern)) return 'quantity';
      return 'string';
    case 'array':
      return 'list';
    case 'object':
    case undefined:
      if (node.properties && Object.keys(node.properties).length > 0) return 'object';
      if (typeof node.additionalProperties === 'object') return 'map';
      return 'unknown';
    default:
      return 'unknown';
  }
}

/** The schema of the field `steps` lead to (list steps go into `items`); undefined if the schema does not say. */
export function nodeAt(root: SchemaNode, steps: readonly JsonPathStep[]): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const [i, step] of steps.entries()) {
    if (!node) return undefined;
    if (step.kind === 'field') {
      if (i === 0 && step.name === 'metadata') node = METADATA;
      else if (node.properties && step.name in node.properties) node = node.properties[step.name];
      else if (typeof node.additionalProperties === 'object') node = node.additionalProperties;
      else return undefined;
    } else {
      node = node.items;
    }
  }
  return node;
}

/**
 * Whether every field on the way is required (and not nullable) by the schema, so that every valid
 * object has a value there. `metadata` fields never are: objects written in files often lack them.
 */
export function isRequiredAlong(root: SchemaNode, steps: readonly JsonPathStep[]): boolean {
  let node: SchemaNode | undefined = root;
  for (const step of steps) {
    if (!node || step.kind !== 'field' || (step.name === 'metadata' && node === root)) return false;
    if (!(node.required ?? []).includes(step.name)) return false;
    node = node.properties?.[step.name];
    if (!node || node.nullable === true) return false;
  }
  return true;
}

/** The first sentence of a schema description, on one line, at most `max` characters. */
export function firstSentence(description: string | undefined, max = 160): string {
  if (!description) return '';
  const oneLine = description.replace(/\s+/g, ' ').trim();
  const end = oneLine.search(/[.!?](\s|$)/);
  let sentence = end >= 0 ? oneLine.slice(0, end + 1) : oneLine;
  if (sentence.length > max) sentence = `${sentence.slice(0, max - 1).trimEnd()}…`;
  return sentence;
}

/**
 * A reason not to make a string field a label: its name says it holds free text, a unique or
 * changing token, or secret material; or the schema allows long text. Undefined when it may be one.
 */
export function unfitForLabel(fieldName: string, node: SchemaNode | undefined): string | undefined {
  const words = fieldName
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/);
  const last = words[words.length - 1] ?? '';
  if (
    [
      'message',
      'messages',
      'msg',
      'description',
      'details',
      'detail',
      'text',
      'note',
      'notes',
      'comment',
      'log',
      'output',
    ].includes(last)
  )
    return 'free text';
  if (['reason', 'error', 'errors'].includes(last)) return 'free text that changes with every event';
  if (['uid', 'uuid'].includes(last) || node?.format === 'uuid') return 'unique per object (a UID)';
  if (
    ['hash', 'digest', 'checksum', 'sha', 'revision', 'fingerprint', 'signature', 'nonce', 'token'].includes(
      last,
    ) ||
    (last === 'version' && words.includes('resource'))
  )
    return 'a token that changes with every update';
  if (node?.format === 'byte' || node?.format === 'password') return `encoded data (format ${node.format})`;
  if (node?.maxLength !== undefined && node.maxLength > 1024)
    return `free text (up to ${node.maxLength} characters)`;
  return undefined;
}
