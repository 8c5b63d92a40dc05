import type { ConfigProblem } from '../../config/ConfigError.ts';
import type { FamilyMeta } from '../../model/FamilyMeta.ts';
import type { CompiledResource } from './CompiledResource.ts';

/** A config turned into executable form: the families in exposition order and the resources. */
export interface CompiledConfig {
  readonly file: string;
  readonly families: readonly FamilyMeta[];
  readonly resources: readonly CompiledResource[];
  /** Things that work but are probably not what the author meant. */
  readonly warnings: readonly ConfigProblem[];
}
