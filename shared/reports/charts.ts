/**
 * Charts as inline SVG, rendered on the server: the same markup in `report.html` (a file with
 * no script and no external request, readable offline, printable) and in the operator console
 * (server-rendered pages under a strict Content-Security-Policy). No chart library runs in the
 * browser, so "the console shows the same charts" holds by construction.
 *
 * Every chart is a `<figure class="chart" data-chart="<id>" data-points="<n>">`; each series
 * is a `<g data-series="<name>" data-points="<n>">` whose points are `[data-point]` elements
 * with a `<title>` (the value on hover). `n` counts the values drawn; a `null` value (no data,
 * e.g. before event counting began) draws nothing and is not counted.
 */

/** One series of a chart: a value per category (`null` = no data). */
export interface ChartSeries {
  /** Stable name (`received`, `median`…): the `data-series` hook and the legend label key. */
  readonly name: string;
  /** The legend text. */
  readonly label: string;
  readonly values: readonly (number | null)[];
  /** Colour slot 0–5 (`s0`…`s5`), so one figure keeps its colour in every chart. @default its position */
  readonly color?: number;
}

/** What to draw. */
export interface ChartSpec {
  /** Stable id: the `data-chart` hook. */
  readonly id: string;
  readonly title: string;
  /**
   * `columns`: vertical grouped bars over ordered categories (days, hours);
   * `lines`: lines with a marker per value over ordered categories;
   * `rows`: horizontal grouped bars over named categories (templates, assignees).
   */
  readonly kind: 'columns' | 'lines' | 'rows';
  readonly categories: readonly string[];
  readonly series: readonly ChartSeries[];
  /** The value axis' unit (`events`, `hours`). */
  readonly unit?: string;
  /** A sentence under the chart (what is left out, where the data comes from). */
  readonly note?: string;
}

/** One mark of a {@link TimelineSpec}. */
export interface TimelinePoint {
  /** Index into `lanes`. */
  readonly lane: number;
  readonly atMs: number;
  /** The hover text. */
  readonly label: string;
}

/** Marks on a time axis, one row (lane) per kind: token expiries per state. */
export interface TimelineSpec {
  readonly id: string;
  readonly title: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly lanes: readonly string[];
  readonly points: readonly TimelinePoint[];
  readonly note?: string;
}

/** The styles the charts use (class names only: no inline style, so a strict CSP holds). */
export const CHART_CSS = `
.chart{margin:0 0 1.5rem;max-width:100%}
.chart figcaption{font-weight:600;margin:0 0 .25rem}
.chart svg{display:block;width:100%;height:auto;font:11px system-ui,sans-serif;overflow:visible}
.chart .axis{stroke:#9aa3ad;stroke-width:1}
.chart .grid{stroke:#e3e7eb;stroke-width:1}
.chart .tick{fill:#56606b}
.chart .legend{fill:#2b3137}
.chart .note{color:#56606b;font-size:.85rem;margin:.25rem 0 0}
.chart .empty{fill:#56606b;font-size:13px}
.chart .s0{fill:#2f6fb0;stroke:#2f6fb0}
.chart .s1{fill:#e08a1e;stroke:#e08a1e}
.chart .s2{fill:#3c9a5f;stroke:#3c9a5f}
.chart .s3{fill:#c23b3b;stroke:#c23b3b}
.chart .s4{fill:#7b5ea7;stroke:#7b5ea7}
.chart .s5{fill:#6b7785;stroke:#6b7785}
.chart path.line{fill:none;stroke-width:2}
.chart .lane{fill:#f4f6f8}
`;

/** Escapes text for HTML and SVG content and attribute values. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

const W = 720;
const PAD = { top: 28, right: 16, bottom: 44, left: 48 };

/** Round numbers for an axis from 0 to at least `max`; whole steps for counts (`integers`). */
export function niceTicks(max: number, count = 4, integers = false): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = Math.max(max / count, integers ? 1 : 0);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  for (let v = 0; v < max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  if ((ticks.at(-1) ?? 0) < max) ticks.push(Number((ticks.length * step).toPrecision(12)));
  return ticks;
}

const fmt = (value: number): string =>
  Number.isInteger(value) ? String(value) : value.toFixed(value < 10 ? 2 : 1);

const colorOf = (series: ChartSeries, index: number): number => (series.color ?? index) % 6;

function legend(series: readonly ChartSeries[], y: number): string {
  let x = PAD.left;
  return series
    .map((s, index) => {
      const item = `<g class="legend-item"><rect class="s${colorOf(s, index)}" x="${x}" y="${y - 9}" width="10" height="10"/><text class="legend" x="${x + 14}" y="${y}">${escapeHtml(s.label)}</text></g>`;
      x += 24 + s.label.length * 6.5;
      return item;
    })
    .join('');
}

function figure(
  id: string,
  title: string,
  points: number,
  svg: string,
  note: string | undefined,
): string {
  const titleId = `chart-${id}-title`;
  return `<figure class="chart" data-chart="${escapeHtml(id)}" data-points="${points}"><figcaption id="${titleId}">${escapeHtml(title)}</figcaption>${svg.replace('<svg ', `<svg role="img" aria-labelledby="${titleId}" `)}${note === undefined ? '' : `<p class="note">${escapeHtml(note)}</p>`}</figure>`;
}

/**
 * Renders a chart as a `<figure>` holding an inline `<svg>`.
 *
 * @example
 * renderChart({ id: 'flow-hourly', title: 'Events per hour', kind: 'columns',
 *   categories: ['10:00', '11:00'], series: [{ name: 'received', label: 'Received', values: [3, null] }] });
 */
export function renderChart(spec: ChartSpec): string {
  return spec.kind === 'rows' ? renderRows(spec) : renderColumns(spec);
}

function renderColumns(spec: ChartSpec): string {
  const height = 240;
  const plotW = W - PAD.left - PAD.right;
  const plotH = height - PAD.top - PAD.bottom;
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const ticks = niceTicks(Math.max(0, ...values), 4, values.every(Number.isInteger));
  const top = ticks.at(-1) ?? 1;
  const n = Math.max(1, spec.categories.length);
  const slot = plotW / n;
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const parts: string[] = [];
  for (const tick of ticks) {
    parts.push(
      `<line class="grid" x1="${PAD.left}" x2="${W - PAD.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}"/><text class="tick" x="${PAD.left - 6}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end">${fmt(tick)}</text>`,
    );
  }
  parts.push(
    `<line class="axis" x1="${PAD.left}" x2="${W - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}"/>`,
  );
  // category labels: at most ~12, evenly picked
  const every = Math.max(1, Math.ceil(n / 12));
  spec.categories.forEach((label, index) => {
    if (index % every !== 0) return;
    const x = PAD.left + slot * (index + 0.5);
    parts.push(
      `<text class="tick" x="${x.toFixed(1)}" y="${PAD.top + plotH + 16}" text-anchor="middle">${escapeHtml(label)}</text>`,
    );
  });
  let total = 0;
  spec.series.forEach((series, s) => {
    const marks: string[] = [];
    let drawn = 0;
    const line: string[] = [];
    series.values.forEach((value, index) => {
      if (value === null) {
        if (line.length > 0) line.push('|');
        return;
      }
      const category = spec.categories[index] ?? '';
      const title = `<title>${escapeHtml(`${category} · ${series.label}: ${fmt(value)}${spec.unit === undefined ? '' : ` ${spec.unit}`}`)}</title>`;
      if (spec.kind === 'columns') {
        const group = slot * 0.8;
        const width = group / Math.max(1, spec.series.length);
        const x = PAD.left + slot * index + slot * 0.1 + width * s;
        const h = Math.max(value > 0 ? 1 : 0, (value / top) * plotH);
        marks.push(
          `<rect data-point="${index}" x="${x.toFixed(1)}" y="${(PAD.top + plotH - h).toFixed(1)}" width="${Math.max(1, width - 1).toFixed(1)}" height="${h.toFixed(1)}">${title}</rect>`,
        );
      } else {
        const cx = PAD.left + slot * (index + 0.5);
        line.push(`${cx.toFixed(1)},${y(value).toFixed(1)}`);
        marks.push(
          `<circle data-point="${index}" cx="${cx.toFixed(1)}" cy="${y(value).toFixed(1)}" r="3">${title}</circle>`,
        );
      }
      drawn++;
    });
    if (spec.kind === 'lines' && line.length > 0) {
      const d = line
        .join(' ')
        .split('|')
        .map((run) => run.trim())
        .filter((run) => run !== '')
        .map((run) => `M${run.replace(/ /g, ' L')}`)
        .join(' ');
      marks.unshift(`<path class="line s${colorOf(series, s)}" d="${d}"/>`);
    }
    total += drawn;
    parts.push(
      `<g class="series s${colorOf(series, s)}" data-series="${escapeHtml(series.name)}" data-points="${drawn}">${marks.join('')}</g>`,
    );
  });
  if (total === 0) {
    parts.push(
      `<text class="empty" x="${W / 2}" y="${PAD.top + plotH / 2}" text-anchor="middle">No data</text>`,
    );
  }
  parts.push(legend(spec.series, 14));
  const svg = `<svg viewBox="0 0 ${W} ${height}" width="${W}" height="${height}">${parts.join('')}</svg>`;
  return figure(spec.id, spec.title, total, svg, spec.note);
}

function renderRows(spec: ChartSpec): string {
  const labelW = 180;
  const rowH = 14 * Math.max(1, spec.series.length) + 8;
  const plotTop = PAD.top;
  const plotW = W - labelW - PAD.right - 8;
  const height = plotTop + rowH * Math.max(1, spec.categories.length) + 28;
  const values = spec.series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const ticks = niceTicks(Math.max(0, ...values), 4, values.every(Number.isInteger));
  const top = ticks.at(-1) ?? 1;
  const x = (v: number) => labelW + (v / top) * plotW;
  const parts: string[] = [];
  const bottom = plotTop + rowH * Math.max(1, spec.categories.length);
  for (const tick of ticks) {
    parts.push(
      `<line class="grid" x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${plotTop}" y2="${bottom}"/><text class="tick" x="${x(tick).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${fmt(tick)}</text>`,
    );
  }
  spec.categories.forEach((label, index) => {
    const short = label.length > 28 ? `${label.slice(0, 27)}…` : label;
    parts.push(
      `<text class="tick" x="${labelW - 6}" y="${(plotTop + rowH * index + rowH / 2 + 4).toFixed(1)}" text-anchor="end"><title>${escapeHtml(label)}</title>${escapeHtml(short)}</text>`,
    );
  });
  let total = 0;
  spec.series.forEach((series, s) => {
    const marks: string[] = [];
    let drawn = 0;
    series.values.forEach((value, index) => {
      if (value === null) return;
      const category = spec.categories[index] ?? '';
      const yTop = plotTop + rowH * index + 4 + 14 * s;
      const w = Math.max(value > 0 ? 1 : 0, x(value) - labelW);
      marks.push(
        `<rect data-point="${index}" x="${labelW}" y="${yTop}" width="${w.toFixed(1)}" height="12"><title>${escapeHtml(`${category} · ${series.label}: ${fmt(value)}${spec.unit === undefined ? '' : ` ${spec.unit}`}`)}</title></rect>`,
      );
      drawn++;
    });
    total += drawn;
    parts.push(
      `<g class="series s${s % 6}" data-series="${escapeHtml(series.name)}" data-points="${drawn}">${marks.join('')}</g>`,
    );
  });
  parts.push(`<line class="axis" x1="${labelW}" x2="${labelW}" y1="${plotTop}" y2="${bottom}"/>`);
  if (total === 0) {
    parts.push(
      `<text class="empty" x="${W / 2}" y="${plotTop + 16}" text-anchor="middle">No data</text>`,
    );
  }
  parts.push(legend(spec.series, 14));
  const svg = `<svg viewBox="0 0 ${W} ${height}" width="${W}" height="${height}">${parts.join('')}</svg>`;
  return figure(spec.id, spec.title, total, svg, spec.note);
}

/** `dd hh:mm` in UTC for timeline ticks. */
const tickLabel = (ms: number): string => {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(5, 10)} ${iso.slice(11, 16)}`;
};

/**
 * Marks on a time axis in lanes (one per state): a token expiry timeline. Points outside
 * `[fromMs, toMs]` are drawn at the edge they passed, so none is lost from sight.
 */
export function renderTimeline(spec: TimelineSpec): string {
  const labelW = 110;
  const laneH = 22;
  const plotTop = PAD.top;
  const plotW = W - labelW - PAD.right;
  const bottom = plotTop + laneH * Math.max(1, spec.lanes.length);
  const height = bottom + 28;
  const span = Math.max(1, spec.toMs - spec.fromMs);
  const x = (ms: number) =>
    labelW + (Math.min(Math.max(ms, spec.fromMs), spec.toMs) - spec.fromMs) * (plotW / span);
  const parts: string[] = [];
  spec.lanes.forEach((lane, index) => {
    parts.push(
      `<rect class="lane" x="${labelW}" y="${plotTop + laneH * index + 2}" width="${plotW}" height="${laneH - 4}"/><text class="tick" x="${labelW - 6}" y="${plotTop + laneH * index + laneH / 2 + 4}" text-anchor="end">${escapeHtml(lane)}</text>`,
    );
  });
  for (let i = 0; i <= 4; i++) {
    const at = spec.fromMs + (span * i) / 4;
    parts.push(
      `<line class="grid" x1="${x(at).toFixed(1)}" x2="${x(at).toFixed(1)}" y1="${plotTop}" y2="${bottom}"/><text class="tick" x="${x(at).toFixed(1)}" y="${bottom + 14}" text-anchor="middle">${tickLabel(at)}</text>`,
    );
  }
  const byLane = spec.lanes.map(() => [] as string[]);
  for (const point of spec.points) {
    const marks = byLane[point.lane];
    if (marks === undefined) continue;
    marks.push(
      `<circle data-point="${marks.length}" cx="${x(point.atMs).toFixed(1)}" cy="${plotTop + laneH * point.lane + laneH / 2}" r="4"><title>${escapeHtml(point.label)}</title></circle>`,
    );
  }
  let total = 0;
  byLane.forEach((marks, lane) => {
    total += marks.length;
    parts.push(
      `<g class="series s${lane % 6}" data-series="${escapeHtml(spec.lanes[lane] ?? '')}" data-points="${marks.length}">${marks.join('')}</g>`,
    );
  });
  const svg = `<svg viewBox="0 0 ${W} ${height}" width="${W}" height="${height}">${parts.join('')}</svg>`;
  return figure(spec.id, spec.title, total, svg, spec.note);
}
