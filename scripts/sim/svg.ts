import type { SimResult } from './sim-result.ts';

const W = 1000;
const H = 440;
const M = { left: 60, right: 76, top: 48, bottom: 64 };
const PW = W - M.left - M.right;
const PH = H - M.top - M.bottom;

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const f = (n: number) => (Math.round(n * 10) / 10).toString();

function niceStep(max: number, ticks: number): number {
  const raw = max / ticks;
  const mag = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

/**
 * A hand-written SVG of one simulation: instances (ready, ready + booting, desired) on the left axis, the
 * arrival rate on the right axis, provider outages shaded, panic periods marked, and the static fleet's size
 * as a dashed line. No scripts, no external fonts: it renders the same anywhere.
 */
export function renderSvg(
  result: SimResult,
  options: { title: string; subtitle: string; staticReplicas: number },
): string {
  const tl = result.timeline;
  const hours = result.durationS / 3600;
  const maxInst =
    Math.max(4, options.staticReplicas, ...tl.map((p) => p.ready + p.booting), ...tl.map((p) => p.desired)) *
    1.1;
  const maxRate = Math.max(1, ...tl.map((p) => p.rate)) * 1.1;
  const x = (tS: number) => M.left + (tS / result.durationS) * PW;
  const yI = (n: number) => M.top + PH - (n / maxInst) * PH;
  const yR = (r: number) => M.top + PH - (r / maxRate) * PH;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#ffffff"/>`,
    `<text x="${M.left}" y="20" font-size="15" font-weight="bold">${esc(options.title)}</text>`,
    `<text x="${M.left}" y="37" fill="#4b5563">${esc(options.subtitle.length > 150 ? `${options.subtitle.slice(0, 149)}…` : options.subtitle)}</text>`,
  );
  for (const o of result.outages) {
    out.push(
      `<rect x="${f(x(o.fromS))}" y="${M.top}" width="${f(x(o.toS) - x(o.fromS))}" height="${PH}" fill="#fecaca" opacity="0.6"/>`,
      `<text x="${f(x(o.fromS) + 4)}" y="${M.top + 14}" fill="#b91c1c">${esc(o.provider)} down</text>`,
    );
  }
  // Grid and axes.
  const iStep = niceStep(maxInst, 6);
  for (let v = 0; v <= maxInst; v += iStep) {
    out.push(
      `<line x1="${M.left}" x2="${M.left + PW}" y1="${f(yI(v))}" y2="${f(yI(v))}" stroke="#f1f5f9"/>`,
      `<text x="${M.left - 8}" y="${f(yI(v) + 4)}" text-anchor="end" fill="#1d4ed8">${v}</text>`,
    );
  }
  const rStep = niceStep(maxRate, 6);
  for (let v = 0; v <= maxRate; v += rStep) {
    out.push(`<text x="${M.left + PW + 8}" y="${f(yR(v) + 4)}" fill="#6b7280">${Math.round(v)}</text>`);
  }
  const hStep = hours > 6 ? 2 : hours > 2 ? 0.5 : 0.25;
  for (let h = 0; h <= hours + 1e-9; h += hStep) {
    const label = Number.isInteger(h)
      ? `${h}h`
      : `${Math.floor(h)}:${String(Math.round((h % 1) * 60)).padStart(2, '0')}`;
    out.push(
      `<line x1="${f(x(h * 3600))}" x2="${f(x(h * 3600))}" y1="${M.top + PH}" y2="${M.top + PH + 5}" stroke="#374151"/>`,
      `<text x="${f(x(h * 3600))}" y="${M.top + PH + 18}" text-anchor="middle">${label}</text>`,
    );
  }
  out.push(
    `<rect x="${M.left}" y="${M.top}" width="${PW}" height="${PH}" fill="none" stroke="#374151"/>`,
    `<text transform="translate(16 ${M.top + PH / 2}) rotate(-90)" text-anchor="middle" fill="#1d4ed8">instances</text>`,
    `<text transform="translate(${W - 14} ${M.top + PH / 2}) rotate(90)" text-anchor="middle" fill="#6b7280">arrivals (req/s)</text>`,
  );
  if (tl.length > 0) {
    const area = [
      `M${f(x(tl[0]!.t))},${f(yR(0))}`,
      ...tl.map((p) => `L${f(x(p.t + 30))},${f(yR(p.rate))}`),
      `L${f(x(tl[tl.length - 1]!.t + 60))},${f(yR(0))}Z`,
    ];
    out.push(`<path d="${area.join('')}" fill="#e5e7eb" stroke="#9ca3af" stroke-width="0.8"/>`);
    const step = (pick: (p: (typeof tl)[number]) => number, y: (n: number) => number) =>
      tl.map((p, i) => `${i === 0 ? 'M' : 'L'}${f(x(p.t))},${f(y(pick(p)))}H${f(x(p.t + 60))}`).join('');
    out.push(
      `<line x1="${M.left}" x2="${M.left + PW}" y1="${f(yI(options.staticReplicas))}" y2="${f(yI(options.staticReplicas))}" stroke="#6b7280" stroke-dasharray="6 4"/>`,
      `<path d="${step((p) => p.ready + p.booting, yI)}" fill="none" stroke="#93c5fd" stroke-width="1.5"/>`,
      `<path d="${step((p) => p.desired, yI)}" fill="none" stroke="#f97316" stroke-width="1" stroke-dasharray="3 2"/>`,
      `<path d="${step((p) => p.ready, yI)}" fill="none" stroke="#1d4ed8" stroke-width="2"/>`,
    );
    for (const p of tl) {
      if (p.panic)
        out.push(
          `<rect x="${f(x(p.t))}" y="${M.top + PH - 4}" width="${f(Math.max(1, x(p.t + 60) - x(p.t)))}" height="4" fill="#dc2626"/>`,
        );
    }
  }
  const legend: [string, string, string][] = [
    ['#1d4ed8', '', 'ready'],
    ['#93c5fd', '', 'ready + booting'],
    ['#f97316', '3 2', 'desired'],
    ['#6b7280', '6 4', `static fleet (${options.staticReplicas})`],
    ['#9ca3af', '', 'arrivals (right axis)'],
    ['#dc2626', '', 'panic'],
  ];
  legend.forEach(([color, dash, label], i) => {
    const lx = M.left + i * 150;
    const ly = H - 18;
    out.push(
      `<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${color}" stroke-width="2.5"${dash ? ` stroke-dasharray="${dash}"` : ''}/>`,
      `<text x="${lx + 30}" y="${ly}">${esc(label)}</text>`,
    );
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
