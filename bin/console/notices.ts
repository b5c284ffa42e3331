/**
 * The outcome of an action, shown once on the page the action redirects to. Kept here and
 * referred to by a short id in the redirect's query, so no text from a request is ever
 * reflected into a page.
 */
import { randomBytes } from 'node:crypto';

export interface Notice {
  kind: 'ok' | 'error';
  text: string;
}

export interface Notices {
  /** Stores a notice; returns its id for `?notice=<id>`. */
  add(notice: Notice): string;
  /** The notice of an id (shown once), or `undefined`. */
  take(id: string | null): Notice | undefined;
}

/** Keeps the latest `limit` notices. */
export function createNotices(limit = 200): Notices {
  const notices = new Map<string, Notice>();
  return {
    add(notice) {
      const id = randomBytes(9).toString('base64url');
      notices.set(id, notice);
      if (notices.size > limit) notices.delete(notices.keys().next().value as string);
      return id;
    },
    take(id) {
      if (id === null) return undefined;
      const notice = notices.get(id);
      notices.delete(id);
      return notice;
    },
  };
}
