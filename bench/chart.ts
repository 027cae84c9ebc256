/** A two-panel horizontal bar chart as SVG text: no chart library, no fonts to embed. */

export interface Bar {
  label: string;
  /** Stacked segments, drawn left to right. */
  segments: Array<{ value: number; color: string; name: string }>;
  highlight?: boolean;
}

export interface Panel {
  title: string;
  unit: string;
  bars: Bar[];
  /** A dashed reference line (e.g. the cost floor). */
  reference?: { value: number; label: string };
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const fmt = (v: number): string => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

const WIDTH = 860;
const LABEL_W = 300;
const BAR_H = 22;
const GAP = 8;
const PLOT_W = WIDTH - LABEL_W - 110;

function panel(p: Panel, top: number): { svg: string; height: number } {
  const totals = p.bars.map((b) => b.segments.reduce((s, x) => s + x.value, 0));
  const max = Math.max(...totals, p.reference?.value ?? 0, 1e-9);
  const scale = PLOT_W / max;
  const parts: string[] = [];
  parts.push(`<text x="16" y="${top + 20}" font-size="15" font-weight="bold">${escape(p.title)}</text>`);
  let y = top + 36;
  p.bars.forEach((bar, i) => {
    parts.push(
      `<text x="${LABEL_W - 8}" y="${y + BAR_H * 0.7}" font-size="12" text-anchor="end"${bar.highlight ? ' font-weight="bold"' : ''}>${escape(bar.label)}</text>`,
    );
    let x = LABEL_W;
    for (const seg of bar.segments) {
      const w = Math.max(seg.value * scale, 0);
      if (w > 0) parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${seg.color}"><title>${escape(`${seg.name}: ${fmt(seg.value)} ${p.unit}`)}</title></rect>`);
      x += w;
    }
    parts.push(`<text x="${(x + 6).toFixed(1)}" y="${y + BAR_H * 0.7}" font-size="12">${fmt(totals[i]!)} ${escape(p.unit)}</text>`);
    y += BAR_H + GAP;
  });
  if (p.reference) {
    const rx = LABEL_W + p.reference.value * scale;
    parts.push(`<line x1="${rx.toFixed(1)}" y1="${top + 30}" x2="${rx.toFixed(1)}" y2="${y - GAP + 4}" stroke="#444" stroke-dasharray="4 3"/>`);
    parts.push(`<text x="${(rx + 4).toFixed(1)}" y="${y + 10}" font-size="11" fill="#444">${escape(p.reference.label)}</text>`);
    y += 14;
  }
  const legend = new Map<string, string>();
  for (const bar of p.bars) for (const seg of bar.segments) legend.set(seg.name, seg.color);
  if (legend.size > 1) {
    let lx = LABEL_W;
    for (const [name, color] of legend) {
      parts.push(`<rect x="${lx}" y="${y + 4}" width="12" height="12" fill="${color}"/><text x="${lx + 16}" y="${y + 14}" font-size="12">${escape(name)}</text>`);
      lx += 30 + name.length * 7;
    }
    y += 22;
  }
  return { svg: parts.join('\n'), height: y - top + 12 };
}

export function barChart(title: string, subtitle: string, panels: Panel[]): string {
  const body: string[] = [];
  let top = 52;
  for (const p of panels) {
    const drawn = panel(p, top);
    body.push(drawn.svg);
    top += drawn.height;
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${top + 8}" viewBox="0 0 ${WIDTH} ${top + 8}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="16" y="24" font-size="17" font-weight="bold">${escape(title)}</text>`,
    `<text x="16" y="42" font-size="12" fill="#555">${escape(subtitle)}</text>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}
