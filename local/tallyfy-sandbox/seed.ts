import { isoAt } from './dates.ts';
import type {
  OrgRecord,
  RunRecord,
  SandboxStore,
  StepRecord,
  TaskRecord,
  TemplateRecord,
  UserRecord,
} from './store.ts';
import type { DemoIds } from './types.ts';

/** The demo seed: ids and people of the webhook fixtures (test/unit/webhooks/fixtures), credentials for local use. */
export const DEMO: DemoIds = {
  orgId: 'org5f4e3d2c1b0a',
  orgName: 'Northwind Demo',
  admin: {
    id: 'u02ops',
    email: 'ops@example.com',
    password: 'demo-admin-password',
    fullName: 'Priya Raman',
  },
  standard: {
    id: 'u01finance',
    email: 'finance.lead@example.com',
    password: 'demo-finance-password',
    fullName: 'Dana Okafor',
  },
  buyer: {
    id: 'u03buyer',
    email: 'buyer@example.com',
    password: 'demo-buyer-password',
    fullName: 'Sam Lee',
  },
  passwordClient: { clientId: '3127', clientSecret: 'demo-password-client-secret' },
  appClient: { clientId: '3128', clientSecret: 'demo-app-client-secret' },
  templates: {
    purchaseOrder: {
      id: 'c3b2a1f0e9d84c7b6a5f4e3d2c1b0a9f',
      steps: { requestDetails: 's01request', approvePo: 's02approve', issuePo: 's03issue' },
    },
    onboarding: { id: 'c7e6d5c4b3a24f1e0d9c8b7a6f5e4d3c' },
  },
  runs: {
    purchaseOrderOpen: 'r1a2b3c4d5e64f7a8b9c0d1e2f3a4b5c',
    purchaseOrderCompleted: 'r2b3c4d5e6f74a8b9c0d1e2f3a4b5c6d',
    onboardingActive: 'r3c4d5e6f7a84b9c0d1e2f3a4b5c6d7e',
    onboardingOverdue: 'r4d5e6f7a8b94c0d1e2f3a4b5c6d7e8f',
  },
  tasks: {
    requestDetails: 't5a0c9e8d7f64b3a2c1d0e9f8a7b6c5d',
    approvePo: 't7c1f0a9b2e34d5c8a6b1e2f3a4b5c6d',
    issuePo: 't9e8d7c6b5a44f3e2d1c0b9a8f7e6d5c',
  },
  groups: { finance: 'grp01finance', purchasing: 'grp02purchasing' },
  guestEmail: 'accounts@northwind.example',
  tags: { itHardware: 'tag01', urgent: 'tag02' },
};

const HOUR = 3_600_000;

function user(
  creds: { id: string; email: string; password: string; fullName: string },
  role: 'admin' | 'standard',
  createdAt: string,
): UserRecord {
  const [firstName = '', lastName = ''] = creds.fullName.split(' ');
  return {
    id: creds.id,
    email: creds.email,
    password: creds.password,
    firstName,
    lastName,
    fullName: creds.fullName,
    roles: new Map([[DEMO.orgId, role]]),
    createdAt,
  };
}

function step(
  id: string,
  alias: string,
  title: string,
  summary: string,
  position: number,
  assigneeIds: string[],
  fields: StepRecord['fields'] = [],
  guestEmails: string[] = [],
): StepRecord {
  return {
    id,
    alias,
    title,
    summary,
    position,
    deadlineOffsetHours: 24 * position,
    assigneeIds,
    guestEmails,
    fields,
    webhookUrl: null,
  };
}

interface TaskState {
  id: string;
  status: TaskRecord['status'];
  deadlineMs: number;
  completedAtMs?: number;
  completedBy?: string;
  captures?: TaskRecord['captures'];
}

function run(
  store: SandboxStore,
  org: OrgRecord,
  template: TemplateRecord,
  r: {
    id: string;
    name: string;
    launcher: string;
    createdMs: number;
    prerun: Record<string, string>;
    tagIds: string[];
    tasks: TaskState[];
  },
): void {
  const tasks: TaskRecord[] = template.steps.map((s, i) => {
    const state = r.tasks[i] as TaskState;
    const completedAt = state.completedAtMs === undefined ? null : isoAt(state.completedAtMs);
    return {
      id: state.id,
      orgId: org.id,
      runId: r.id,
      checklistId: template.id,
      stepId: s.id,
      alias: s.alias,
      title: s.title,
      summary: s.summary,
      position: s.position,
      status: state.status,
      deadline: isoAt(state.deadlineMs),
      ownerIds: [...s.assigneeIds],
      guestEmails: [...s.guestEmails],
      captures: state.captures ?? {},
      createdAt: isoAt(r.createdMs),
      startedAt: isoAt(r.createdMs),
      updatedAt: completedAt ?? isoAt(r.createdMs),
      completedAt,
      completedBy: state.completedBy ?? null,
    };
  });
  const done = tasks.every((t) => t.status === 'completed');
  let updatedAt = isoAt(r.createdMs);
  for (const t of tasks) if (t.updatedAt > updatedAt) updatedAt = t.updatedAt;
  const record: RunRecord = {
    id: r.id,
    orgId: org.id,
    incrementId: org.nextIncrementId++,
    checklistId: template.id,
    checklistTitle: template.title,
    name: r.name,
    summary: '',
    status: done ? 'completed' : 'active',
    startedBy: r.launcher,
    ownerId: r.launcher,
    prerun: r.prerun,
    tagIds: r.tagIds,
    createdAt: isoAt(r.createdMs),
    startedAt: isoAt(r.createdMs),
    updatedAt,
    completedAt: done ? updatedAt : null,
    taskIds: tasks.map((t) => t.id),
  };
  store.putRun(record, tasks);
}

/** Loads the demo org, people, clients, templates and runs, dated relative to `nowMs`. */
export function seedDemo(store: SandboxStore, nowMs: number): void {
  const d = DEMO;
  const nowHour = Math.floor(nowMs / HOUR) * HOUR;
  const createdAt = isoAt(nowHour - 30 * 24 * HOUR);
  const org: OrgRecord = {
    id: d.orgId,
    name: d.orgName,
    timezone: 'UTC',
    dateFormat: 'iso',
    webhookUrl: null,
    nextIncrementId: 415,
    createdAt,
  };
  store.putOrg(org);
  store.putUser(user(d.admin, 'admin', createdAt), d.orgId);
  store.putUser(user(d.standard, 'standard', createdAt), d.orgId);
  store.putUser(user(d.buyer, 'standard', createdAt), d.orgId);
  store.clients.set(d.passwordClient.clientId, { ...d.passwordClient, orgId: null });
  store.clients.set(d.appClient.clientId, { ...d.appClient, orgId: d.orgId });
  store.putGroup({
    id: d.groups.finance,
    orgId: d.orgId,
    name: 'Finance',
    description: 'Approves purchase orders',
    memberIds: [d.standard.id],
  });
  store.putGroup({
    id: d.groups.purchasing,
    orgId: d.orgId,
    name: 'Purchasing',
    description: 'Issues purchase orders',
    memberIds: [d.buyer.id, d.admin.id],
  });
  store.putGuest({
    email: d.guestEmail,
    orgId: d.orgId,
    firstName: 'Northwind',
    lastName: 'Accounts',
    code: 'gc8812',
  });
  store.putTag({ id: d.tags.itHardware, orgId: d.orgId, name: 'IT hardware', color: '#3366FF' });
  store.putTag({ id: d.tags.urgent, orgId: d.orgId, name: 'Urgent', color: '#E53935' });

  const po: TemplateRecord = {
    id: d.templates.purchaseOrder.id,
    orgId: d.orgId,
    title: 'Purchase order',
    alias: 'purchase-order',
    summary: 'Request, approve and issue a purchase order',
    prerun: [
      { id: 'kf01vendor', alias: 'vendor', label: 'Vendor' },
      { id: 'kf02amount', alias: 'requested-amount', label: 'Requested amount' },
    ],
    steps: [
      step(
        's01request',
        'request-details',
        'Request details',
        'Describe what to buy',
        1,
        [d.admin.id],
        [{ id: 'tl00vendor', alias: 'vendor', label: 'Vendor' }],
      ),
      step(
        's02approve',
        'approve-po',
        'Approve purchase order',
        'Finance approves or rejects the purchase order',
        2,
        [d.standard.id],
        [
          { id: 'tl01approval', alias: 'approval-decision', label: 'Decision' },
          { id: 'tl02amount', alias: 'approved-amount', label: 'Approved amount' },
        ],
      ),
      step(
        's03issue',
        'issue-po',
        'Issue purchase order',
        'Send the PO to the vendor',
        3,
        [d.buyer.id],
        [{ id: 'tl03po', alias: 'po-number', label: 'PO number' }],
        [d.guestEmail],
      ),
    ],
    webhookUrl: null,
    createdAt,
    updatedAt: createdAt,
  };
  const onboarding: TemplateRecord = {
    id: d.templates.onboarding.id,
    orgId: d.orgId,
    title: 'Employee onboarding',
    alias: 'employee-onboarding',
    summary: 'Get a new hire ready for day one',
    prerun: [{ id: 'kf10hire', alias: 'new-hire', label: 'New hire' }],
    steps: [
      step('s11laptop', 'prepare-laptop', 'Prepare laptop', 'Image and ship a laptop', 1, [
        d.buyer.id,
      ]),
      step('s12accounts', 'create-accounts', 'Create accounts', 'Email, chat and HR system', 2, [
        d.admin.id,
      ]),
      step('s13welcome', 'welcome-meeting', 'Welcome meeting', 'First-day welcome', 3, [
        d.admin.id,
      ]),
    ],
    webhookUrl: null,
    createdAt,
    updatedAt: createdAt,
  };
  store.putTemplate(po);
  store.putTemplate(onboarding);

  // runs in creation order: lists default to oldest first
  const prerun = { vendor: 'Northwind Traders', 'requested-amount': '12500' };
  const t1 = nowHour - 10 * 24 * HOUR;
  run(store, org, po, {
    id: d.runs.purchaseOrderCompleted,
    name: 'PO - Contoso - monitors',
    launcher: d.admin.id,
    createdMs: t1,
    prerun: { vendor: 'Contoso', 'requested-amount': '4200' },
    tagIds: [],
    tasks: [
      {
        id: 't21po000000000000000000000000001',
        status: 'completed',
        deadlineMs: t1 + 24 * HOUR,
        completedAtMs: t1 + HOUR,
        completedBy: d.admin.id,
      },
      {
        id: 't21po000000000000000000000000002',
        status: 'completed',
        deadlineMs: t1 + 48 * HOUR,
        completedAtMs: t1 + 20 * HOUR,
        completedBy: d.standard.id,
      },
      {
        id: 't21po000000000000000000000000003',
        status: 'completed',
        deadlineMs: t1 + 72 * HOUR,
        completedAtMs: t1 + 50 * HOUR,
        completedBy: d.buyer.id,
      },
    ],
  });
  const t3 = nowHour - 8 * 24 * HOUR;
  run(store, org, onboarding, {
    id: d.runs.onboardingOverdue,
    name: 'Onboarding - Maria Lopez',
    launcher: d.admin.id,
    createdMs: t3,
    prerun: { 'new-hire': 'Maria Lopez' },
    tagIds: [d.tags.urgent],
    tasks: [
      {
        id: 't41onb00000000000000000000000001',
        status: 'completed',
        deadlineMs: t3 + 24 * HOUR,
        completedAtMs: t3 + 30 * HOUR,
        completedBy: d.buyer.id,
      },
      { id: 't41onb00000000000000000000000002', status: 'not-started', deadlineMs: t3 + 48 * HOUR },
      { id: 't41onb00000000000000000000000003', status: 'not-started', deadlineMs: t3 + 72 * HOUR },
    ],
  });
  const t0 = nowHour - 4 * 24 * HOUR;
  run(store, org, po, {
    id: d.runs.purchaseOrderOpen,
    name: 'PO - Northwind Traders - laptops',
    launcher: d.admin.id,
    createdMs: t0,
    prerun,
    tagIds: [d.tags.itHardware],
    tasks: [
      {
        id: d.tasks.requestDetails,
        status: 'completed',
        deadlineMs: t0 + 24 * HOUR,
        completedAtMs: t0 + 2 * HOUR,
        completedBy: d.admin.id,
        captures: { tl00vendor: { alias: 'vendor', label: 'Vendor', value: 'Northwind Traders' } },
      },
      // overdue: its deadline passed two days ago
      { id: d.tasks.approvePo, status: 'in-progress', deadlineMs: nowHour - 48 * HOUR },
      { id: d.tasks.issuePo, status: 'not-started', deadlineMs: nowHour + 48 * HOUR },
    ],
  });
  const t2 = nowHour - 6 * HOUR;
  run(store, org, onboarding, {
    id: d.runs.onboardingActive,
    name: 'Onboarding - Alex Kim',
    launcher: d.admin.id,
    createdMs: t2,
    prerun: { 'new-hire': 'Alex Kim' },
    tagIds: [],
    tasks: [
      { id: 't31onb00000000000000000000000001', status: 'in-progress', deadlineMs: t2 + 24 * HOUR },
      { id: 't31onb00000000000000000000000002', status: 'not-started', deadlineMs: t2 + 48 * HOUR },
      { id: 't31onb00000000000000000000000003', status: 'not-started', deadlineMs: t2 + 72 * HOUR },
    ],
  });
}

/** The OAuth clients of the demo, registered with generated data sets too. */
export function seedDemoClients(store: SandboxStore): void {
  store.clients.set(DEMO.passwordClient.clientId, { ...DEMO.passwordClient, orgId: null });
}
