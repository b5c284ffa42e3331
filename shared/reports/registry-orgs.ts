import * as z from 'zod';
import type { Org, OrgRegistry } from '../orgs/index.ts';
import type { OrgLister, PendingPeriod, PendingReports } from './ports.ts';
import type { ReportOrg } from './types.ts';

/**
 * {@link OrgLister} over the org registry: `activeOrgs` pages the byKind index with a status
 * filter, leaving out client-credentials orgs (their app token reads no user data) (a Query, never a Scan: it reads every org item once, so its cost grows with the orgs
 * registered); `getOrg` is one GetItem. The org's `timezone` (set with the CLI) makes the
 * report show local times beside UTC.
 *
 * @example
 * const orgs = registryOrgLister(createOrgRegistry({ client: document, tableName, clock }));
 */
export function registryOrgLister(registry: Pick<OrgRegistry, 'listOrgs' | 'getOrg'>): OrgLister {
  return {
    async activeOrgs() {
      const orgs: ReportOrg[] = [];
      for await (const org of registry.listOrgs({ status: 'active' })) {
        // an app (client-credentials) token reads no tasks or processes: nothing to report
        if (org.authMode !== 'client_credentials') orgs.push(reportOrg(org));
      }
      return orgs;
    },
    async getOrg(orgId) {
      // eventually consistent is enough: the org's name and zone are all the report reads
      const org = await registry.getOrg(orgId, { consistent: false });
      return org === undefined ? undefined : reportOrg(org);
    },
  };
}

function reportOrg(org: Org): ReportOrg {
  return { orgId: org.orgId, name: org.name, timezone: org.timezone };
}

/** The reporter's part name for its per-org state in the registry. */
const REPORTER_STATE = 'reporter';

const PendingStateSchema = z.lazy(() =>
  z.looseObject({
    pending: z
      .array(
        z.object({
          sinceMs: z.number().int(),
          untilMs: z.number().int(),
          resumeAfterMs: z.number().int(),
        }),
      )
      .default([]),
  }),
);

/**
 * {@link PendingReports} over the org registry: the org's `STATE#reporter` item (one GetItem
 * per org and scheduled run; written only when it changes).
 *
 * @example
 * const pending = registryPendingReports(registry);
 */
export function registryPendingReports(
  registry: Pick<OrgRegistry, 'getOrgState' | 'setOrgState'>,
): PendingReports {
  return {
    async get(orgId) {
      const state = await registry.getOrgState(orgId, REPORTER_STATE);
      if (state === undefined) return [];
      const parsed = PendingStateSchema.safeParse(state);
      // a state written by other code is not trusted: the periods are reported by hand then
      return parsed.success ? parsed.data.pending : [];
    },
    async set(orgId, periods: readonly PendingPeriod[]) {
      await registry.setOrgState(orgId, REPORTER_STATE, { pending: [...periods] });
    },
  };
}
