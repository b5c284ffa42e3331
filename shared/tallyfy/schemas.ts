import * as z from 'zod';
import { Secret } from '../secret.ts';

/*
 * What the client relies on in Tallyfy's answers, and nothing more: every object is loose
 * (unknown fields pass through untouched), and only the fields our code reads are checked.
 * Names are the API's own: a template is a `checklist`, a process a `run`. Each schema is a
 * `z.lazy`, built on its first parse rather than at every cold start of every function that
 * bundles the client.
 */

/** Tallyfy ids are strings (hex) except user ids, which are numbers in production. */
const id = z.lazy(() => z.union([z.string().min(1), z.number().int()]).transform(String));
const optionalText = z.string().nullish();
/** Dates stay as Tallyfy sent them; parse with `parseTallyfyDate` when needed. */
const optionalDate = z.string().nullish();

export const userSchema = z.lazy(() =>
  z.looseObject({
    id,
    email: z.string().optional(),
    full_name: optionalText,
  }),
);
export type TallyfyUser = z.infer<typeof userSchema>;

export const organizationSchema = z.lazy(() => z.looseObject({ id, name: z.string() }));
export type TallyfyOrganization = z.infer<typeof organizationSchema>;

export const stepSchema = z.lazy(() =>
  z.looseObject({
    id,
    alias: optionalText,
    title: z.string(),
    position: z.number().optional(),
  }),
);
export type TallyfyStep = z.infer<typeof stepSchema>;

export const checklistSchema = z.lazy(() =>
  z.looseObject({
    id,
    title: z.string(),
    steps: z.array(stepSchema).optional(),
  }),
);
export type TallyfyChecklist = z.infer<typeof checklistSchema>;

export const runSchema = z.lazy(() =>
  z.looseObject({
    id,
    name: z.string(),
    checklist_id: optionalText,
    status: z.string(),
    created_at: optionalDate,
    completed_at: optionalDate,
  }),
);
export type TallyfyRun = z.infer<typeof runSchema>;

export const taskSchema = z.lazy(() =>
  z.looseObject({
    id,
    title: z.string(),
    status: z.string(),
    run_id: optionalText,
    alias: optionalText,
    deadline: optionalDate,
    completed_at: optionalDate,
  }),
);
export type TallyfyTask = z.infer<typeof taskSchema>;

export const commentSchema = z.lazy(() => z.looseObject({ id, content: optionalText }));
export type TallyfyComment = z.infer<typeof commentSchema>;

/**
 * A task with its comments (`GET …/tasks/{id}?with=threads`): the include comes as a list or,
 * in Fractal's include shape, as `{data: [...]}`; both read as the list.
 */
export const taskWithThreadsSchema = z.lazy(() =>
  z.looseObject({
    id,
    threads: z
      .union([z.array(commentSchema), z.looseObject({ data: z.array(commentSchema) })])
      .optional()
      .transform((threads) =>
        threads === undefined ? [] : Array.isArray(threads) ? threads : threads.data,
      ),
  }),
);
export type TallyfyTaskWithThreads = z.infer<typeof taskWithThreadsSchema>;

export const groupSchema = z.lazy(() => z.looseObject({ id, name: z.string() }));
export type TallyfyGroup = z.infer<typeof groupSchema>;

export const guestSchema = z.lazy(() => z.looseObject({ email: z.string() }));
export type TallyfyGuest = z.infer<typeof guestSchema>;

export const tagSchema = z.lazy(() => z.looseObject({ id, name: z.string() }));
export type TallyfyTag = z.infer<typeof tagSchema>;

export const watcherSchema = z.lazy(() =>
  z.looseObject({
    id,
    notification_type: optionalText,
    /** The receiver URL holds our webhook secret: kept as a Secret so it never reaches a log. */
    webhook: z
      .string()
      .nullish()
      .transform((url) => (typeof url === 'string' ? new Secret(url) : undefined)),
  }),
);
export type TallyfyWatcher = z.infer<typeof watcherSchema>;

const singles = new WeakMap<z.ZodType, z.ZodType>();

/**
 * Tallyfy's envelope for one object, `{data: {...}}`, unwrapped. Built once per item schema:
 * zod compiles a schema on first use, so a schema made per call costs more than the request.
 */
export function single<T extends z.ZodType>(item: T): z.ZodType<z.output<T>> {
  let schema = singles.get(item);
  if (schema === undefined) {
    schema = z.looseObject({ data: item }).transform((body) => body.data as z.output<T>);
    singles.set(item, schema);
  }
  return schema as z.ZodType<z.output<T>>;
}
