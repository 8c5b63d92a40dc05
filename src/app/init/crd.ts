import { isMap } from '../../go/kubeJson.ts';

/** An OpenAPI v3 schema node of a CRD (structural schema), the parts `init` reads. */
export interface SchemaNode {
  readonly type?: string;
  readonly format?: string;
  readonly description?: string;
  readonly enum?: readonly unknown[];
  readonly pattern?: string;
  readonly maxLength?: number;
  readonly nullable?: boolean;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, SchemaNode>>;
  readonly items?: SchemaNode;
  readonly additionalProperties?: SchemaNode | boolean;
  readonly anyOf?: readonly SchemaNode[];
  readonly allOf?: readonly SchemaNode[];
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
}

export interface PrinterColumn {
  readonly name: string;
  readonly type: string;
  readonly jsonPath: string;
  readonly format?: string;
  readonly description?: string;
  readonly priority?: number;
}

/** The version of a CRD a config is drafted for, with everything the draft needs. */
export interface CrdVersion {
  /** `metadata.name`, e.g. `certificates.cert-manager.io`. */
  readonly crdName: string;
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly namespaced: boolean;
  readonly version: string;
  /** Why this version: the storage version, or the one `--version` asked for. */
  readonly versionChoice: 'storage' | 'requested' | 'only';
  readonly schema: SchemaNode;
  readonly printerColumns: readonly PrinterColumn[];
  /** The scale subresource's replica paths (`.spec.replicas`), when it has one. */
  readonly scale: { readonly specReplicasPath?: string; readonly statusReplicasPath?: string } | undefined;
}

/** A CRD that cannot be drafted from, with the reason in one line (no location: the caller adds it). */
export class CrdInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CrdInputError';
  }
}

interface RawVersion {
  name?: unknown;
  served?: unknown;
  storage?: unknown;
  schema?: { openAPIV3Schema?: unknown };
  additionalPrinterColumns?: unknown;
  subresources?: { scale?: { specReplicasPath?: unknown; statusReplicasPath?: unknown } };
}

/** Whether an object is a CustomResourceDefinition of any apiextensions version. */
export function isCrd(object: Record<string, unknown>): boolean {
  return (
    object.kind === 'CustomResourceDefinition' &&
    typeof object.apiVersion === 'string' &&
    object.apiVersion.startsWith('apiextensions.k8s.io/')
  );
}

/**
 * The version of a CRD to draft for: `requested` if given (it must be served), else the storage
 * version (the one every object is stored as, so every object can be read in it).
 * @throws CrdInputError for an unsupported or incomplete CRD, or a version it does not serve.
 */
export function crdVersion(crd: Record<string, unknown>, requested?: string): CrdVersion {
  const name = isMap(crd.metadata) && typeof crd.metadata.name === 'string' ? crd.metadata.name : '';
  if (crd.apiVersion !== 'apiextensions.k8s.io/v1')
    throw new CrdInputError(
      `${name || 'CustomResourceDefinition'}: ${String(crd.apiVersion)} is not supported, only apiextensions.k8s.io/v1 (v1beta1 was removed in Kubernetes 1.22; kubectl get crd ${name || 'NAME'} -o yaml gives v1)`,
    );
  const spec = isMap(crd.spec) ? crd.spec : {};
  const names = isMap(spec.names) ? spec.names : {};
  const group = typeof spec.group === 'string' ? spec.group : '';
  const kind = typeof names.kind === 'string' ? names.kind : '';
  const label = name || `${typeof names.plural === 'string' ? names.plural : '?'}.${group}`;
  if (group === '' || kind === '')
    throw new CrdInputError(`${label}: spec.group and spec.names.kind are required`);
  const versions = (Array.isArray(spec.versions) ? spec.versions : []).filter(isMap) as RawVersion[];
  const served = versions.filter((v) => typeof v.name === 'string' && v.served !== false);
  const servedNames = served.map((v) => v.name as string).join(', ') || 'none';
  let chosen: RawVersion | undefined;
  let versionChoice: CrdVersion['versionChoice'];
  if (requested !== undefined) {
    chosen = served.find((v) => v.name === requested);
    versionChoice = 'requested';
    if (!chosen)
      throw new CrdInputError(`${label}: version ${requested} is not served (served: ${servedNames})`);
  } else {
    chosen = versions.find((v) => v.storage === true);
    versionChoice = 'storage';
    if (!chosen && versions.length === 1) {
      chosen = versions[0];
      versionChoice = 'only';
    }
    if (!chosen) throw new CrdInputError(`${label}: no version is marked storage: true`);
    if (chosen.served === false)
      throw new CrdInputError(
        `${label}: the storage version ${String(chosen.name)} is not served; pass --version (served: ${servedNames})`,
      );
  }
  const schema = chosen.schema?.openAPIV3Schema;
  if (!isMap(schema))
    throw new CrdInputError(`${label}: version ${String(chosen.name)} has no schema.openAPIV3Schema`);
  const scale = chosen.subresources?.scale;
  return {
    crdName: label,
    group,
    kind,
    plural: typeof names.plural === 'string' ? names.plural : '',
    namespaced: spec.scope !== 'Cluster',
    version: String(chosen.name),
    versionChoice,
    schema,
    printerColumns: (Array.isArray(chosen.additionalPrinterColumns) ? chosen.additionalPrinterColumns : [])
      .filter(isMap)
      .filter((c) => typeof c.jsonPath === 'string' && typeof c.name === 'string')
      .map((c) => c as unknown as PrinterColumn),
    scale: isMap(scale)
      ? {
          ...(typeof scale.specReplicasPath === 'string' ? { specReplicasPath: scale.specReplicasPath } : {}),
          ...(typeof scale.statusReplicasPath === 'string'
            ? { statusReplicasPath: scale.statusReplicasPath }
            : {}),
        }
      : undefined,
  };
}
