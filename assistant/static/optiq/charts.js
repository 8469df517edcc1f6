// OptiQ's one way of drawing a chart in the admin: a line chart as inline SVG, coloured from
// the admin's CSS variables so that it follows the light and dark themes. Used by the
// Ask OptiQ page (figures over time) and the training job page (loss curves).
const SVG = "http://www.w3.org/2000/svg";
export const COLOURS = ["var(--link-fg, #447e9b)", "var(--error-fg, #ba2121)", "var(--message-success-bg, #2e8540)"];
const GRID = "stroke: var(--hairline-color, #e8e8e8); stroke-width: 1";
const LABEL = "fill: var(--body-quiet-color, #666); font-size: 11px; font-family: var(--font-family-primary, sans-serif)";

function node(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  if (text !== undefined) element.textContent = text;
  return element;
}

function defaultFormat(value) {
  return Math.abs(value) >= 1000 ? Math.round(value).toLocaleString("en-GB") : String(+value.toPrecision(4));
}

/**
 * Draw `series` into `svg` (replacing what it held).
 *   series: [{label, points: [[x, y], ...], colour?, dots?}]
 *   xLabels: [[x, text], ...] ticks for categorical x (periods); otherwise x is numeric from 0
 *   xMax: the right end of a numeric x axis (e.g. a job's total steps)
 *   yFromZero: start the y axis at zero (counts and money); loss curves leave it off
 *   yFormat: value -> text for the y axis and the points' tooltips
 */
export function lineChart(svg, {series, xLabels = null, xMax = null, yFromZero = false, yFormat = defaultFormat, width = 640, height = 220}) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  svg.classList.add("optiq-chart");
  svg.style.background = "var(--darkened-bg, #f8f8f8)";
  svg.style.border = "1px solid var(--hairline-color, #e8e8e8)";
  const points = series.flatMap((s) => s.points);
  if (!points.length) return;
  const left = 64, right = 16, top = 12, bottom = 30;
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const xLow = xLabels ? Math.min(...xs) : 0;
  const xHigh = Math.max(xMax ?? 0, ...xs);
  let yLow = yFromZero ? Math.min(0, ...ys) : Math.min(...ys);
  let yHigh = Math.max(...ys);
  if (yHigh === yLow) { yHigh += Math.abs(yHigh) * 0.1 || 1; if (!yFromZero) yLow -= Math.abs(yLow) * 0.1 || 1; }
  const x = (v) => left + (xHigh === xLow ? 0.5 : (v - xLow) / (xHigh - xLow)) * (width - left - right);
  const y = (v) => top + (yHigh - v) / (yHigh - yLow) * (height - top - bottom);
  for (const fraction of [0, 0.5, 1]) {
    const value = yLow + (yHigh - yLow) * fraction;
    svg.append(node("line", {x1: left, x2: width - right, y1: y(value), y2: y(value), style: GRID}));
    svg.append(node("text", {x: left - 6, y: y(value) + 4, "text-anchor": "end", style: LABEL}, yFormat(value)));
  }
  if (xLabels) {
    const every = Math.ceil(xLabels.length / 8);
    xLabels.forEach(([at, text], i) => {
      const last = i === xLabels.length - 1;
      if (i % every === 0 || last) {
        const anchor = i === 0 ? "start" : last ? "end" : "middle";
        svg.append(node("text", {x: x(at), y: height - 10, "text-anchor": anchor, style: LABEL}, text));
      }
    });
  } else {
    for (const value of [xLow, xHigh]) {
      svg.append(node("text", {x: x(value), y: height - 10, "text-anchor": "middle", style: LABEL}, defaultFormat(value)));
    }
  }
  series.forEach((s, i) => {
    const colour = s.colour || COLOURS[i % COLOURS.length];
    if (s.points.length > 1) {
      const line = node("polyline", {fill: "none", "stroke-width": 2, points: s.points.map((p) => `${x(p[0])},${y(p[1])}`).join(" ")});
      line.style.stroke = colour;
      svg.append(line);
    }
    if (s.dots || s.points.length === 1) {
      for (const [px, py] of s.points) {
        const dot = node("circle", {cx: x(px), cy: y(py), r: 3.5});
        dot.style.fill = colour;
        const label = xLabels ? (xLabels.find((t) => t[0] === px) || [px, px])[1] : defaultFormat(px);
        dot.append(node("title", {}, `${s.label ? s.label + ", " : ""}${label}: ${yFormat(py)}`));
        svg.append(dot);
      }
    }
  });
  svg.setAttribute("aria-label", series.map((s) => s.label).filter(Boolean).join(", ") || "chart");
}
