import { HealthOverrideProblems } from '../generate/HealthJudge.ts';
import type { HealthJudge, HealthJudges } from '../generate/HealthJudge.ts';
import { builtInHealthRules } from '../health/builtInRules.ts';
import { HealthRuleError } from '../health/ruleDocument.ts';

/**
 * The shipped health rules (rules/health/*.yaml) as the compiler asks for them: read on the first
 * resource with `health` (a config without one never pays for parsing them), a resource's own
 * rules in front.
 */
export function builtInHealthJudges(file: string): HealthJudges {
  return {
    forResource(overrides): HealthJudge {
      let rules: ReturnType<typeof builtInHealthRules>;
      try {
        rules = builtInHealthRules();
      } catch (err) {
        // A damaged installation (rules/health/ missing, emptied or edited): one problem at the
        // resource's `health` key, not a stack trace.
        throw new HealthOverrideProblems([
          {
            keyPath: '',
            message: `the shipped health rules cannot be read: ${(err as Error).message.split('\n')[0]}`,
          },
        ]);
      }
      if (!overrides) return rules;
      try {
        return rules.withOverrides(overrides, file);
      } catch (err) {
        if (!(err instanceof HealthRuleError)) throw err;
        throw new HealthOverrideProblems(
          err.problems.map((p) => ({ keyPath: p.keyPath, message: p.message })),
        );
      }
    },
  };
}
