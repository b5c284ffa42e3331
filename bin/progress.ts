/**
 * A progress bar on stderr while a long call runs, only when stderr is a terminal (no escape
 * codes in logs or pipes). The calls it wraps report no steps, so the bar moves through the
 * phases it is told and shows the elapsed time.
 */
import type { OutStream } from './io.ts';

const WIDTH = 24;

export interface Progress {
  /** Moves to phase `step` of `total` with a label. */
  phase(step: number, total: number, label: string): void;
  /** Clears the line. */
  done(): void;
}

export function progressBar(
  stream: OutStream,
  enabled: boolean,
  clock: () => number = Date.now,
): Progress {
  if (!enabled || stream.isTTY !== true) {
    return { phase: () => undefined, done: () => undefined };
  }
  const started = clock();
  let state = { step: 0, total: 1, label: '' };
  let tick = 0;
  const draw = () => {
    const base = Math.floor((state.step / state.total) * WIDTH);
    const span = Math.max(1, Math.floor(WIDTH / state.total));
    // a marker that sweeps the current phase's share, so a long phase still shows life
    const sweep = state.step < state.total ? base + (tick % span) : WIDTH;
    const bar = `${'='.repeat(Math.min(sweep, WIDTH))}${sweep < WIDTH ? '>' : ''}`.padEnd(
      WIDTH + 1,
      ' ',
    );
    const seconds = ((clock() - started) / 1000).toFixed(1);
    stream.write(`\r[${bar}] ${state.step}/${state.total} ${state.label} ${seconds}s\x1b[K`);
    tick += 1;
  };
  const timer = setInterval(draw, 120);
  timer.unref();
  return {
    phase(step, total, label) {
      state = { step, total, label };
      draw();
    },
    done() {
      clearInterval(timer);
      stream.write('\r\x1b[K');
    },
  };
}
