import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  BatchGetSecretValueCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RestoreSecretCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  type LocalSecretsManager,
  type RequestLogEntry,
  startLocalSecretsManager,
} from '../../../local/secrets-manager/index.ts';
import { localClient } from './support.ts';

let now = Date.parse('2026-11-22T12:00:00.000Z');
const log: RequestLogEntry[] = [];
let sm: LocalSecretsManager;
let client: SecretsManagerClient;

beforeAll(async () => {
  sm = await startLocalSecretsManager({ clock: () => now, onRequest: (entry) => log.push(entry) });
  client = localClient(sm.endpoint);
});

afterAll(async () => {
  client.destroy();
  await sm.close();
});

const unique = (label: string) => `lsm/${label}/${randomUUID().slice(0, 8)}`;

async function failure(
  promise: Promise<unknown>,
): Promise<Error & { $metadata?: { httpStatusCode?: number; attempts?: number } }> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('local Secrets Manager through the real SDK client', () => {
  test('a created secret is read back by name and by ARN, with an AWS-shaped ARN', async () => {
    const name = unique('create');
    const created = await client.send(
      new CreateSecretCommand({
        Name: name,
        SecretString: 'v1',
        Description: 'd',
        Tags: [{ Key: 'k', Value: 'v' }],
      }),
    );
    expect(created.ARN).toMatch(
      new RegExp(`^arn:aws:secretsmanager:us-east-1:000000000000:secret:${name}-[A-Za-z0-9]{6}$`),
    );
    const byName = await client.send(new GetSecretValueCommand({ SecretId: name }));
    const byArn = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));
    expect(byName.SecretString).toBe('v1');
    expect(byArn.VersionId).toBe(created.VersionId);
    expect(byName.VersionStages).toEqual(['AWSCURRENT']);
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.Description).toBe('d');
    expect(described.Tags).toEqual([{ Key: 'k', Value: 'v' }]);
  });

  test('creating a name that exists answers ResourceExistsException with status 400', async () => {
    const name = unique('conflict');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'a' }));
    const error = await failure(
      client.send(new CreateSecretCommand({ Name: name, SecretString: 'a' })),
    );
    expect(error.name).toBe('ResourceExistsException');
    expect(error.$metadata?.httpStatusCode).toBe(400);
  });

  test('reading an unknown secret answers ResourceNotFoundException', async () => {
    const error = await failure(
      client.send(new GetSecretValueCommand({ SecretId: unique('nothing') })),
    );
    expect(error.name).toBe('ResourceNotFoundException');
  });

  test('a secret created without a value has no AWSCURRENT version to read', async () => {
    const name = unique('empty');
    const created = await client.send(new CreateSecretCommand({ Name: name }));
    expect(created.VersionId).toBeUndefined();
    const error = await failure(client.send(new GetSecretValueCommand({ SecretId: name })));
    expect(error.name).toBe('ResourceNotFoundException');
  });

  test('PutSecretValue with a used ClientRequestToken and the same value returns that version', async () => {
    const name = unique('idempotent');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'a' }));
    const token = randomUUID();
    const first = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'b', ClientRequestToken: token }),
    );
    const retry = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'b', ClientRequestToken: token }),
    );
    expect(retry.VersionId).toBe(first.VersionId);
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(Object.keys(described.VersionIdsToStages ?? {})).toHaveLength(2);
    const conflict = await failure(
      client.send(
        new PutSecretValueCommand({ SecretId: name, SecretString: 'c', ClientRequestToken: token }),
      ),
    );
    expect(conflict.name).toBe('ResourceExistsException');
  });

  test('PutSecretValue moves AWSCURRENT to the new version and AWSPREVIOUS to the old one', async () => {
    const name = unique('stages');
    const v1 = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    const v2 = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'two' }),
    );
    const previous = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPREVIOUS' }),
    );
    expect(previous.SecretString).toBe('one');
    expect(previous.VersionId).toBe(v1.VersionId);
    const v3 = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'three' }),
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({
      [v2.VersionId as string]: ['AWSPREVIOUS'],
      [v3.VersionId as string]: ['AWSCURRENT'],
    });
    const oldByVersion = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionId: v1.VersionId }),
    );
    expect(oldByVersion.SecretString).toBe('one');
    expect(oldByVersion.VersionStages).toEqual([]);
  });

  test('PutSecretValue with VersionStages AWSPENDING leaves AWSCURRENT where it was', async () => {
    const name = unique('pending');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'live' }));
    const pending = await client.send(
      new PutSecretValueCommand({
        SecretId: name,
        SecretString: 'next',
        VersionStages: ['AWSPENDING'],
      }),
    );
    expect(pending.VersionStages).toEqual(['AWSPENDING']);
    const current = await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(current.SecretString).toBe('live');
    const staged = await client.send(
      new GetSecretValueCommand({ SecretId: name, VersionStage: 'AWSPENDING' }),
    );
    expect(staged.SecretString).toBe('next');
  });

  test('UpdateSecretVersionStage rolls AWSCURRENT back and AWSPREVIOUS follows', async () => {
    const name = unique('rollback');
    const v1 = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'one' }));
    const v2 = await client.send(
      new PutSecretValueCommand({ SecretId: name, SecretString: 'two' }),
    );
    const refused = await failure(
      client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: name,
          VersionStage: 'AWSCURRENT',
          MoveToVersionId: v1.VersionId,
        }),
      ),
    );
    expect(refused.name).toBe('InvalidParameterException');
    await client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: name,
        VersionStage: 'AWSCURRENT',
        MoveToVersionId: v1.VersionId,
        RemoveFromVersionId: v2.VersionId,
      }),
    );
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.VersionIdsToStages).toEqual({
      [v1.VersionId as string]: ['AWSCURRENT'],
      [v2.VersionId as string]: ['AWSPREVIOUS'],
    });
  });

  test('ListSecrets filters by name prefix and pages with NextToken', async () => {
    const base = unique('list');
    for (const leaf of ['a', 'b', 'c']) {
      await client.send(new CreateSecretCommand({ Name: `${base}/${leaf}`, SecretString: leaf }));
    }
    await client.send(new CreateSecretCommand({ Name: `${base}-other`, SecretString: 'x' }));
    const first = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [`${base}/`] }], MaxResults: 2 }),
    );
    expect(first.SecretList?.map((s) => s.Name)).toEqual([`${base}/a`, `${base}/b`]);
    expect(first.NextToken).toBeDefined();
    const second = await client.send(
      new ListSecretsCommand({
        Filters: [{ Key: 'name', Values: [`${base}/`] }],
        MaxResults: 2,
        NextToken: first.NextToken,
      }),
    );
    expect(second.SecretList?.map((s) => s.Name)).toEqual([`${base}/c`]);
    expect(second.NextToken).toBeUndefined();
  });

  test('a secret scheduled for deletion refuses reads with InvalidRequestException until restored', async () => {
    const name = unique('deleted');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'keep' }));
    const deleted = await client.send(
      new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }),
    );
    expect(deleted.DeletionDate?.getTime()).toBe(now + 7 * 86_400_000);
    const read = await failure(client.send(new GetSecretValueCommand({ SecretId: name })));
    expect(read.name).toBe('InvalidRequestException');
    const recreate = await failure(
      client.send(new CreateSecretCommand({ Name: name, SecretString: 'new' })),
    );
    expect(recreate.name).toBe('InvalidRequestException');
    const described = await client.send(new DescribeSecretCommand({ SecretId: name }));
    expect(described.DeletedDate).toBeInstanceOf(Date);
    const listed = await client.send(
      new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [name] }] }),
    );
    expect(listed.SecretList).toEqual([]);
    await client.send(new RestoreSecretCommand({ SecretId: name }));
    expect((await client.send(new GetSecretValueCommand({ SecretId: name }))).SecretString).toBe(
      'keep',
    );
  });

  test('a secret is gone for good once its recovery window has passed', async () => {
    const name = unique('purged');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await client.send(new DeleteSecretCommand({ SecretId: name, RecoveryWindowInDays: 7 }));
    now += 7 * 86_400_000 + 1000;
    const error = await failure(client.send(new DescribeSecretCommand({ SecretId: name })));
    expect(error.name).toBe('ResourceNotFoundException');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'again' }));
  });

  test('ForceDeleteWithoutRecovery removes the secret at once', async () => {
    const name = unique('forced');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    await client.send(
      new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }),
    );
    const error = await failure(client.send(new GetSecretValueCommand({ SecretId: name })));
    expect(error.name).toBe('ResourceNotFoundException');
  });

  test('BatchGetSecretValue answers values and per-secret errors', async () => {
    const name = unique('batch');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'b' }));
    const missing = unique('batch-missing');
    const out = await client.send(
      new BatchGetSecretValueCommand({ SecretIdList: [name, missing] }),
    );
    expect(out.SecretValues?.map((v) => [v.Name, v.SecretString])).toEqual([[name, 'b']]);
    expect(out.Errors?.map((e) => [e.SecretId, e.ErrorCode])).toEqual([
      [missing, 'ResourceNotFoundException'],
    ]);
  });

  test('a ClientRequestToken shorter than 32 characters is refused as AWS does', async () => {
    const name = unique('short-token');
    const error = await failure(
      client.send(
        new CreateSecretCommand({ Name: name, SecretString: 'x', ClientRequestToken: 'short' }),
      ),
    );
    expect(error.name).toBe('ValidationException');
  });

  test('an injected ThrottlingException is retried by the SDK and counted', async () => {
    const name = unique('throttle');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    sm.resetStats();
    sm.injectFault({ kind: 'ThrottlingException', count: 1, operations: ['GetSecretValue'] });
    const out = await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(out.SecretString).toBe('x');
    expect(out.$metadata.attempts).toBe(2);
    expect(sm.stats()).toEqual({ requests: 2, byOperation: { GetSecretValue: 2 }, faults: 1 });
  });

  test('a connection reset without an answer is retried by the SDK as a transient error', async () => {
    const name = unique('reset');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    sm.injectFault({ kind: 'reset', count: 1, operations: ['GetSecretValue'] });
    const out = await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(out.SecretString).toBe('x');
    expect(out.$metadata.attempts).toBe(2);
  });

  test('injected faults beyond the retry budget reach the caller', async () => {
    const name = unique('exhausted');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: 'x' }));
    const oneShot = localClient(sm.endpoint, 1);
    sm.injectFault({ kind: 'InternalServiceError', count: 1 });
    const error = await failure(oneShot.send(new GetSecretValueCommand({ SecretId: name })));
    expect(error.name).toBe('InternalServiceError');
    expect(error.$metadata?.httpStatusCode).toBe(500);
    oneShot.destroy();
  });

  test('request log entries never carry a secret value', async () => {
    const value = `very-secret-${randomUUID()}`;
    const name = unique('log');
    await client.send(new CreateSecretCommand({ Name: name, SecretString: value }));
    await client.send(new GetSecretValueCommand({ SecretId: name }));
    expect(log.some((entry) => entry.operation === 'GetSecretValue')).toBe(true);
    expect(JSON.stringify(log)).not.toContain(value);
  });
});

describe('local Secrets Manager persistence', () => {
  test('secrets survive a restart through the data file, written with mode 0600', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lsm-'));
    const dataFile = join(dir, 'nested', 'secrets.json');
    try {
      const first = await startLocalSecretsManager({ dataFile });
      const firstClient = localClient(first.endpoint);
      await firstClient.send(new CreateSecretCommand({ Name: 'persisted/a', SecretString: 'one' }));
      await firstClient.send(
        new PutSecretValueCommand({ SecretId: 'persisted/a', SecretString: 'two' }),
      );
      firstClient.destroy();
      await first.close();
      expect((await stat(dataFile)).mode & 0o777).toBe(0o600);

      const second = await startLocalSecretsManager({ dataFile });
      const secondClient = localClient(second.endpoint);
      const current = await secondClient.send(
        new GetSecretValueCommand({ SecretId: 'persisted/a' }),
      );
      const previous = await secondClient.send(
        new GetSecretValueCommand({ SecretId: 'persisted/a', VersionStage: 'AWSPREVIOUS' }),
      );
      expect([current.SecretString, previous.SecretString]).toEqual(['two', 'one']);
      secondClient.destroy();
      await second.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a damaged data file is kept aside and every complete secret salvaged, no value in the report', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lsm-'));
    const dataFile = join(dir, 'secrets.json');
    try {
      const first = await startLocalSecretsManager({ dataFile });
      const firstClient = localClient(first.endpoint);
      for (const name of ['org/a', 'org/b', 'org/c']) {
        await firstClient.send(
          new CreateSecretCommand({ Name: name, SecretString: `hunter2-${name}` }),
        );
      }
      firstClient.destroy();
      await first.close();
      const text = await readFile(dataFile, 'utf8');
      const cut = text.indexOf('hunter2-org/c');
      await import('node:fs/promises').then((fs) => fs.writeFile(dataFile, text.slice(0, cut)));

      const second = await startLocalSecretsManager({
        dataFile,
        clock: () => Date.parse('2026-11-22T08:15:00Z'),
      });
      const secondClient = localClient(second.endpoint);
      const a = await secondClient.send(new GetSecretValueCommand({ SecretId: 'org/a' }));
      const b = await secondClient.send(new GetSecretValueCommand({ SecretId: 'org/b' }));
      expect([a.SecretString, b.SecretString]).toEqual(['hunter2-org/a', 'hunter2-org/b']);
      const c = await failure(secondClient.send(new GetSecretValueCommand({ SecretId: 'org/c' })));
      expect(c.name).toBe('ResourceNotFoundException');
      secondClient.destroy();
      await second.close();

      const keptAt = `${dataFile}.damaged-20261122T081500Z`;
      expect(second.salvage).toEqual([
        {
          file: dataFile,
          keptAt,
          kept: 2,
          lost: 1,
          reason: expect.stringMatching(/^the file ends early \(byte \d+ of \d+\)$/),
        },
      ]);
      expect(JSON.stringify(second.salvage)).not.toContain('hunter2');
      expect(await readFile(keptAt, 'utf8')).toBe(text.slice(0, cut));
      expect((await stat(keptAt)).mode & 0o777).toBe(0o600);
      expect((await stat(dataFile)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
