// Pieces shared by the file screens: sizes, status badges, percentage bars.

import { h } from "../../dom.js";

/** "12.3 KB" */
export function formatSize(bytes) {
  if (bytes === null || bytes === undefined) return "—";
  const units = ["bytes", "KB", "MB", "GB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} bytes` : `${value.toFixed(1)} ${units[unit]}`;
}

export function percentBar(label, cls) {
  const bar = h("progress", { class: cls, max: "100", value: "0", "aria-label": label });
  const text = h("span", { class: "progress-text", text: "0 %" });
  const wrap = h("span", { class: "progress-wrap" }, bar, text);
  wrap.set = (value) => {
    const v = Math.max(0, Math.min(100, Math.round(Number(value) || 0)));
    bar.value = v;
    text.textContent = `${v} %`;
  };
  return wrap;
}

export function statusBadge(status) {
  return h("span", { class: `status status-${status} file-status`, text: status });
}
