/**
 * infra/app.ts as `cdk synth` runs it: the CLI hands the app its context and a default account
 * and region (us-east-1 when none is configured). The template must not be pinned to them.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, test } from 'vitest';
import { REPO_ROOT } from './emitters.ts';
import { CDK_JSON_SETTINGS, FEATURE_FLAGS } from './support.ts';

const run = promisify(execFile);

describe('infra/app.ts', () => {
  test('synthesizes an environment-agnostic template: no account or region from the CLI defaults', async () => {
    const outdir = mkdtempSync(join(tmpdir(), 'tallyfy-app-'));
    try {
      await run(process.execPath, ['--import', 'tsx', 'infra/app.ts'], {
        cwd: REPO_ROOT,
        timeout: 120_000,
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_DEFAULT_ACCOUNT: '111122223333',
          CDK_DEFAULT_REGION: 'us-east-1',
          CDK_CONTEXT_JSON: JSON.stringify({
            ...FEATURE_FLAGS,
            ...CDK_JSON_SETTINGS,
            'aws:cdk:bundling-stacks': [],
            // as the CLI passes it: the metadata resource lists every region in a condition
            'aws:cdk:version-reporting': true,
          }),
        },
      });
      const template = JSON.parse(
        readFileSync(join(outdir, 'TallyfyServerless.template.json'), 'utf8'),
      ) as { Conditions?: Record<string, unknown> };
      // CDK's metadata condition names every region it may report from: not a pin
      expect(Object.keys(template.Conditions ?? {})).toEqual(['CDKMetadataAvailable']);
      delete template.Conditions;
      const text = JSON.stringify(template);
      expect(text).not.toContain('us-east-1');
      expect(text).not.toContain('111122223333');
      // region- and account-dependent values are CloudFormation references instead
      expect(text).toContain('{"Ref":"AWS::Region"}');
      expect(text).toContain('{"Ref":"AWS::AccountId"}');
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  });
});
