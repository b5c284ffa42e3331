/** Human renderings of times and durations. */

/** `3d 4h`, `59m`, `45s`; negative durations read `-2h 5m`. */
export function formatDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '';
  let seconds = Math.floor(Math.abs(ms) / 1000);
  const days = Math.floor(seconds / 86_400);
  seconds -= days * 86_400;
  const hours = Math.floor(seconds / 3600);
  seconds -= hours * 3600;
  const minutes = Math.floor(seconds / 60);
  seconds -= minutes * 60;
  const parts =
    days > 0
      ? [`${days}d`, hours > 0 ? `${hours}h` : '']
      : hours > 0
        ? [`${hours}h`, minutes > 0 ? `${minutes}m` : '']
        : minutes > 0
          ? [`${minutes}m`]
          : [`${seconds}s`];
  return `${sign}${parts.filter(Boolean).join(' ')}`;
}

/** `in 59m` / `3h ago` relative to `nowMs`; `—` when absent. */
export function relative(iso: string | undefined, nowMs: number): string {
  if (iso === undefined) return '—';
  const delta = Date.parse(iso) - nowMs;
  return delta >= 0 ? `in ${formatDuration(delta)}` : `${formatDuration(-delta)} ago`;
}

/** Parses `30s`, `15m`, `24h`, `7d` or a bare number of seconds into seconds. */
export function parseDurationSeconds(text: string): number | undefined {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (match === null) return undefined;
  const value = Number(match[1]);
  const unit = match[2] === '' ? 's' : match[2];
  const factor = { s: 1, m: 60, h: 3600, d: 86_400 }[unit as 's' | 'm' | 'h' | 'd'];
  return value * factor;
}
