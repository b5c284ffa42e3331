import { readFileSync } from 'node:fs';
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { describe, expect, test } from 'vitest';
import {
  readSettings,
  SETTINGS_SCHEMA,
  SettingsError,
  stackPropsFromSettings,
} from '../../infra/index.ts';
import { CDK_JSON_SETTINGS } from './support.ts';

const settingsOf = (context: Record<string, unknown>) => readSettings(new App({ context }).node);

describe('readSettings (CDK context)', () => {
  test('cdk.json settings are valid and give the documented defaults', () => {
    const settings = settingsOf(CDK_JSON_SETTINGS);
    expect(settings).toMatchObject({
      stackName: 'TallyfyServerless',
      tallyfyBaseUrl: 'https://go.tallyfy.com/api',
      refreshIntervalMinutes: 5,
      reconcileIntervalMinutes: 15,
      reportHourUtc: 6,
      refreshMarginMinSeconds: 900,
      refreshMarginFraction: 0.2,
      logRetentionDays: 30,
      removalPolicy: 'retain',
      refreshShardCount: 4,
      workerTimeoutSeconds: 120,
    });
    const props = stackPropsFromSettings(settings);
    expect(props.integration?.secretPrefix).toBe('tallyfy-serverless/TallyfyServerless');
    expect(props.integration?.removalPolicy).toBe(RemovalPolicy.RETAIN);
    expect(props.integration?.workerTimeout?.toSeconds()).toBe(Duration.seconds(120).toSeconds());
    expect(props.encryptionKeyArn).toBeUndefined();
  });

  test('values given as strings on the command line (-c key=value) are read as numbers', () => {
    const settings = settingsOf({
      'tallyfy:refreshShardCount': '8',
      'tallyfy:logRetentionDays': '90',
      'tallyfy:reservedConcurrency': '{"token-refresher": 2}',
      'tallyfy:removalPolicy': 'destroy',
    });
    expect(settings.refreshShardCount).toBe(8);
    expect(settings.logRetentionDays).toBe(90);
    expect(settings.reservedConcurrency).toEqual({ 'token-refresher': 2 });
    expect(stackPropsFromSettings(settings).integration?.removalPolicy).toBe(RemovalPolicy.DESTROY);
  });

  test('tallyfy:tokenUrl reaches every function; without it the API root must be a Tallyfy host', () => {
    const settings = settingsOf({
      'tallyfy:tallyfyBaseUrl': 'https://tallyfy.acme.example/api',
      'tallyfy:tokenUrl': 'https://auth.acme.example/oauth/token',
    });
    expect(stackPropsFromSettings(settings).integration?.tallyfyTokenUrl).toBe(
      'https://auth.acme.example/oauth/token',
    );
    expect(
      stackPropsFromSettings(settingsOf(CDK_JSON_SETTINGS)).integration?.tallyfyTokenUrl,
    ).toBeUndefined();
    expect(() =>
      settingsOf({ 'tallyfy:tallyfyBaseUrl': 'https://tallyfy.acme.example/api' }),
    ).toThrow(
      /tallyfy:tokenUrl is not set, and tallyfy:tallyfyBaseUrl \(https:\/\/tallyfy\.acme\.example\) is not one of Tallyfy's API hosts/,
    );
    expect(() => settingsOf({ 'tallyfy:tokenUrl': 'account.tallyfy.com/oauth/token' })).toThrow(
      /tallyfy:tokenUrl/,
    );
  });

  test('a bad value fails naming the context key and the value', () => {
    expect(() => settingsOf({ 'tallyfy:logRetentionDays': 42 })).toThrow(
      /tallyfy:logRetentionDays is 42; expected one of 1, 3, 5/,
    );
    expect(() => settingsOf({ 'tallyfy:kmsKeyArn': 'alias/mine' })).toThrow(/tallyfy:kmsKeyArn/);
    expect(() => settingsOf({ 'tallyfy:refreshShardCount': 'eight' })).toThrow(
      /tallyfy:refreshShardCount is "eight"/,
    );
  });

  test('every bad key is reported at once', () => {
    try {
      settingsOf({ 'tallyfy:reportHourUtc': 24, 'tallyfy:removalPolicy': 'snapshot' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(SettingsError);
      const problems = (error as SettingsError).problems;
      expect(problems).toHaveLength(2);
      expect(problems.join('\n')).toMatch(/tallyfy:reportHourUtc/);
      expect(problems.join('\n')).toMatch(/tallyfy:removalPolicy/);
      expect((error as SettingsError).code).toBe('SETTINGS_INVALID');
    }
  });

  test('a misspelt key is rejected instead of silently falling back to a default', () => {
    expect(() => settingsOf({ 'tallyfy:logRetentionDay': 30 })).toThrow(
      /tallyfy:logRetentionDay is not a known setting/,
    );
  });

  test('a bad per-part reserved concurrency names the part', () => {
    expect(() => settingsOf({ 'tallyfy:reservedConcurrency': { reporter: -1 } })).toThrow(
      /tallyfy:reservedConcurrency \(at reporter\)/,
    );
    expect(() => settingsOf({ 'tallyfy:reservedConcurrency': { worker: 2 } })).toThrow(
      /tallyfy:reservedConcurrency has unknown key\(s\) worker/,
    );
  });

  test('an archive expiry not after its transition is refused naming both keys', () => {
    expect(() =>
      settingsOf({ 'tallyfy:archiveTransitionDays': 90, 'tallyfy:archiveExpirationDays': 30 }),
    ).toThrow(/tallyfy:archiveExpirationDays is 30; must exceed tallyfy:archiveTransitionDays/);
  });

  test('a refresher interval not shorter than the refresh margin is refused naming both keys', () => {
    expect(() =>
      settingsOf({ 'tallyfy:refreshIntervalMinutes': 15, 'tallyfy:refreshMarginMinSeconds': 900 }),
    ).toThrow(
      /tallyfy:refreshIntervalMinutes is 15; must be shorter than tallyfy:refreshMarginMinSeconds \(900 s\)/,
    );
  });

  test('docs/configuration.md documents every setting', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const key of Object.keys(SETTINGS_SCHEMA.shape)) {
      expect(doc, key).toContain(`\`tallyfy:${key}\``);
    }
  });
});
