// A small hand-written SVG bar chart: one panel per measure, one bar per system. No browser and no
// dependency; the text is plain SVG so it renders on GitHub and in any viewer.

export interface ChartPanel {
  readonly title: string;
  /** e.g. "items/s (higher is better)" */
  readonly unit: string;
  readonly values: readonly { readonly label: string; readonly value: number }[];
}

const COLORS = ["#2563eb", "#d97706", "#059669", "#7c3aed"];

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function format(value: number): string {
  if (!Number.isFinite(value)) return "n/a";
  if (value >= 100) return value.toFixed(0);
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function barChartSvg(title: string, subtitle: string, panels: readonly ChartPanel[]): string {
  const panelWidth = 260;
  const panelHeight = 220;
  const top = 64;
  const width = panels.length * panelWidth + 20;
  const height = top + panelHeight + 40;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="10" y="24" font-size="16" font-weight="600" fill="#111827">${escape(title)}</text>`,
    `<text x="10" y="44" font-size="11" fill="#4b5563">${escape(subtitle)}</text>`,
  ];
  panels.forEach((panel, panelIndex) => {
    const x0 = 10 + panelIndex * panelWidth;
    const max = Math.max(...panel.values.map((each) => (Number.isFinite(each.value) ? each.value : 0)), 1e-9);
    const plotTop = top + 34;
    const plotHeight = panelHeight - 70;
    const barWidth = Math.min(56, (panelWidth - 40) / panel.values.length - 12);
    parts.push(`<text x="${x0 + 4}" y="${top + 4}" font-size="13" font-weight="600" fill="#111827">${escape(panel.title)}</text>`);
    parts.push(`<text x="${x0 + 4}" y="${top + 20}" font-size="11" fill="#6b7280">${escape(panel.unit)}</text>`);
    parts.push(`<line x1="${x0 + 4}" y1="${plotTop + plotHeight}" x2="${x0 + panelWidth - 24}" y2="${plotTop + plotHeight}" stroke="#9ca3af"/>`);
    panel.values.forEach((each, index) => {
      const value = Number.isFinite(each.value) ? each.value : 0;
      const h = Math.max(1, (value / max) * plotHeight);
      const x = x0 + 16 + index * (barWidth + 16);
      const y = plotTop + plotHeight - h;
      parts.push(`<rect x="${x}" y="${y.toFixed(1)}" width="${barWidth}" height="${h.toFixed(1)}" fill="${COLORS[index % COLORS.length]}" rx="2"/>`);
      parts.push(`<text x="${x + barWidth / 2}" y="${(y - 4).toFixed(1)}" font-size="11" text-anchor="middle" fill="#111827">${format(each.value)}</text>`);
      parts.push(`<text x="${x + barWidth / 2}" y="${plotTop + plotHeight + 16}" font-size="11" text-anchor="middle" fill="#374151">${escape(each.label)}</text>`);
    });
  });
  parts.push("</svg>");
  return `${parts.join("\n")}\n`;
}
