/** The geometry of a metric's line chart: a series scaled into an SVG box. */
import { toNumber } from './format';
import type { IMetricPoint } from './tokens';

export interface IChartGeometry {
  /** SVG path data; NaN and infinite points break the line. */
  path: string;
  /** The finite points as circles (for short series). */
  dots: { x: number; y: number; step: number; value: number }[];
  xMin: number;
  xMax: number;
  yMin: number;
  yMax: number;
}

/** Scales a metric series into a `width` x `height` box with `pad` pixels of margin. */
export function chartGeometry(
  points: Pick<IMetricPoint, 'step' | 'value'>[],
  width: number,
  height: number,
  pad = 4
): IChartGeometry {
  const finite = points
    .map(p => ({ step: p.step, value: toNumber(p.value) }))
    .filter(p => Number.isFinite(p.value));
  if (!finite.length) {
    return { path: '', dots: [], xMin: 0, xMax: 0, yMin: 0, yMax: 0 };
  }
  const xs = finite.map(p => p.step);
  const ys = finite.map(p => p.value);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yMin = Math.min(...ys);
  const yMax = Math.max(...ys);
  const sx = (x: number): number =>
    xMax === xMin
      ? width / 2
      : pad + ((x - xMin) / (xMax - xMin)) * (width - 2 * pad);
  const sy = (y: number): number =>
    yMax === yMin
      ? height / 2
      : height - pad - ((y - yMin) / (yMax - yMin)) * (height - 2 * pad);
  let path = '';
  let pen = false;
  const dots: IChartGeometry['dots'] = [];
  for (const p of points) {
    const v = toNumber(p.value);
    if (!Number.isFinite(v)) {
      pen = false;
      continue;
    }
    const x = Math.round(sx(p.step) * 10) / 10;
    const y = Math.round(sy(v) * 10) / 10;
    path += `${pen ? 'L' : 'M'}${x} ${y} `;
    pen = true;
    dots.push({ x, y, step: p.step, value: v });
  }
  return { path: path.trim(), dots, xMin, xMax, yMin, yMax };
}
