// One file: what processing found (GET /files/{id}): the detected type beside
// the type the uploader declared (a mismatch is flagged), size and hash, an
// image's dimensions, and a CSV's row counts and first row errors. While the
// file.process job runs, its progress is followed live and the file is read
// again when the job ends.

import { api } from "../../api.js";
import { h, replaceChildren, timeEl } from "../../dom.js";
import { FINISHED, followJob } from "../../follow.js";
import { formAlert } from "../../forms.js";
import { formatSize, percentBar, statusBadge } from "./widgets.js";

function typeFacts(file, meta) {
  const detected = meta.detected ? `${meta.detected.description} (${file.content_type})` : file.content_type;
  const mismatch = meta.declared_content_type_mismatch === true;
  return [
    h("dt", { text: "Detected type" }), h("dd", { class: "file-detected", text: detected }),
    h("dt", { text: "Declared type" }), h("dd", { class: "file-declared" },
      file.declared_content_type || h("span", { class: "muted", text: "none" }),
      mismatch ? " " : null, mismatch ? h("span", { class: "status status-failed type-mismatch",
        text: "does not match the content" }) : null),
  ];
}

function csvSection(csv) {
  const errors = csv.row_errors || [];
  const counts = `${csv.row_count} row${csv.row_count === 1 ? "" : "s"}: ${csv.valid_rows} valid, `
    + `${csv.invalid_rows} with errors · ${csv.column_count} column${csv.column_count === 1 ? "" : "s"}, `
    + `delimiter “${csv.delimiter}”`;
  return h("section", { class: "card", "aria-labelledby": "csv-title" },
    h("h2", { id: "csv-title", text: "CSV check" }),
    h("p", { class: "csv-counts", text: counts }),
    csv.header ? h("p", { class: "muted csv-header" }, "Header: ", h("code", { text: csv.header.join(", ") })) : null,
    csv.schema_applied ? null : h("p", { class: "muted", text: "No column schema was declared: only the shape was checked." }),
    errors.length
      ? h("div", { class: "table-wrap" }, h("table", { class: "jobs-table row-errors-table" },
        h("caption", { class: "sr-only", text: "Row errors, in file order" }),
        h("thead", {}, h("tr", {}, ["Row", "Column", "Value", "Problem"].map((t) => h("th", { scope: "col", text: t })))),
        h("tbody", {}, errors.map((e) => h("tr", {},
          h("th", { scope: "row", "data-label": "Row", text: String(e.row) }),
          h("td", { "data-label": "Column", text: e.column || "—" }),
          h("td", { "data-label": "Value" }, e.value !== undefined ? h("code", { text: e.value }) : "—"),
          h("td", { "data-label": "Problem", class: "row-error", text: e.error }))))))
      : h("p", { class: "muted", text: "No row errors." }),
    csv.row_errors_truncated
      ? h("p", { class: "muted errors-truncated",
        text: `${csv.error_count} errors in all; the first ${errors.length} are shown.` })
      : null);
}

export async function renderFile(main, [fileId]) {
  const path = `/files/${encodeURIComponent(fileId)}`;
  let file = (await api.get(path)).data;
  const alert = formAlert();
  const facts = h("dl", { class: "fields file-facts" });
  const progress = percentBar(`Processing of ${file.filename}`, "file-progress");
  const extra = h("div");
  main.append(h("p", {}, h("a", { href: "#/files", class: "back", text: "← All files" })),
    h("h1", { class: "file-title", text: file.filename }), alert,
    h("section", { class: "card", "aria-label": "File" }, facts, progress), extra);

  function show() {
    const meta = file.metadata || {};
    replaceChildren(facts,
      h("dt", { text: "Status" }), h("dd", {}, statusBadge(file.status),
        file.error ? h("span", { class: "field-error file-error", text: ` ${file.error.message}` }) : null),
      h("dt", { text: "Size" }), h("dd", { class: "file-size", text: formatSize(file.size) }),
      typeFacts(file, meta),
      meta.image ? [h("dt", { text: "Image" }), h("dd", { text: `${meta.image.width} × ${meta.image.height} px` })] : null,
      (meta.warnings || []).length ? [h("dt", { text: "Warnings" }),
        h("dd", {}, h("ul", { class: "file-warnings" }, meta.warnings.map((w) => h("li", { text: w }))))] : null,
      h("dt", { text: "SHA-256" }), h("dd", {}, file.sha256 ? h("code", { class: "record-data", text: file.sha256 }) : "—"),
      h("dt", { text: "Uploaded" }), h("dd", {}, timeEl(file.uploaded_at || file.created_at)),
      h("dt", { text: "Processed" }), h("dd", {}, timeEl(file.processed_at)));
    progress.hidden = !["uploaded", "processing"].includes(file.status);
    replaceChildren(extra, meta.csv ? csvSection(meta.csv) : null);
  }

  async function reload() {
    try {
      file = (await api.get(path)).data;
      show();
    } catch (err) {
      replaceChildren(alert, h("p", { text: err.message }));
      alert.hidden = false;
    }
  }

  show();
  if (!file.job_id || !["uploaded", "processing"].includes(file.status)) return undefined;
  return followJob(file.job_id, (job) => {
    progress.set(job.progress);
    if (FINISHED.has(job.status)) reload();
  });
}
