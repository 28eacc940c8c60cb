// The files screen: upload with a byte-level progress bar, then follow the
// file's `file.process` job live (job.updated events), a list of the
// tenant's files with status, image thumbnails, download and delete.
//
// The list is read once (GET /files) and after each socket reconnect; a
// row changes from job.updated events of its job, and when the job ends the
// file is read again for its final status and thumbnail. Thumbnails and
// downloads are fetched with the token and shown through blob: URLs (the
// local storage backend serves bytes only with the Authorization header).

import { api, query } from "../../api.js";
import { h, randomId, replaceChildren, timeEl } from "../../dom.js";
import { clearErrors, field, formAlert, showError } from "../../forms.js";
import { liveScreen } from "../../live.js";
import { renderFile } from "./detail.js";
import { fetchBlob, uploadForm } from "./transfer.js";
import { formatSize, percentBar, statusBadge } from "./widgets.js";

const PER_PAGE = 50;
const JOB_DONE = new Set(["succeeded", "failed", "cancelled"]);

export async function renderFiles(main, _params, ctx) {
  const rows = new Map(); // file id -> {file, tr, cells}
  const lastEvents = new Map(); // job id -> latest job.updated, for jobs whose file we do not know yet
  const blobUrls = new Set();
  let total = 0;

  // --- upload ---------------------------------------------------------------
  const alert = formAlert();
  const fileField = field({ path: "file", label: "File to upload", type: "file", required: true,
    hint: "Images get a thumbnail; CSV files are checked row by row." });
  const uploadBar = percentBar("Upload progress", "upload-progress");
  const uploadStatus = h("p", { class: "upload-state muted", "aria-live": "polite" });
  const uploadBox = h("div", { class: "upload-box", hidden: true }, uploadBar, uploadStatus);
  const button = h("button", { type: "submit", class: "btn btn-primary", text: "Upload" });
  const form = h("form", { class: "upload-form", novalidate: true, "aria-labelledby": "upload-title" },
    alert, fileField, uploadBox, h("div", { class: "form-actions" }, button));
  form.addEventListener("submit", upload);

  // --- list -----------------------------------------------------------------
  const listAlert = formAlert();
  const tbody = h("tbody");
  const summary = h("p", { class: "muted list-summary", "aria-live": "polite" });
  const empty = h("p", { class: "muted empty", text: "No files yet.", hidden: true });
  const table = h("table", { class: "jobs-table files-table" },
    h("caption", { class: "sr-only", text: "Files, newest first" }),
    h("thead", {}, h("tr", {},
      ["File", "Status", "Preview", "Uploaded"].map((t) => h("th", { scope: "col", text: t })),
      h("th", { scope: "col" }, h("span", { class: "sr-only", text: "Actions" })))),
    tbody);

  main.append(
    h("h1", { text: "Files" }),
    h("div", { class: "jobs-layout" },
      h("section", { class: "card", "aria-labelledby": "upload-title" },
        h("h2", { id: "upload-title", text: "Upload a file" }), form),
      h("section", { class: "card", "aria-labelledby": "file-list-title" },
        h("h2", { id: "file-list-title", text: "Your files" }),
        listAlert, summary, h("div", { class: "table-wrap" }, table), empty)));

  async function upload(event) {
    event.preventDefault();
    clearErrors(form);
    const chosen = fileField.control.files[0];
    if (!chosen) {
      showError(form, { message: "Choose a file to upload." }, { file: ["Required."] });
      return;
    }
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    button.disabled = true;
    form.setAttribute("aria-busy", "true");
    uploadBox.hidden = false;
    uploadBar.set(0);
    uploadStatus.textContent = `Uploading ${chosen.name}…`;
    try {
      const envelope = await uploadForm("/files", body, {
        headers: { "Idempotency-Key": randomId() },
        onProgress: (loaded, size) => uploadBar.set((100 * loaded) / size),
      });
      uploadBar.set(100);
      uploadStatus.textContent = `${chosen.name} uploaded; processing is queued.`;
      ctx.notify(envelope.message);
      fileField.control.value = "";
      upsert(envelope.data, { isNew: true });
    } catch (err) {
      uploadStatus.textContent = "";
      uploadBox.hidden = true;
      showError(form, err);
    } finally {
      button.disabled = false;
      form.removeAttribute("aria-busy");
    }
  }

  function showSummary() {
    summary.textContent = `${total} file${total === 1 ? "" : "s"}`;
    empty.hidden = rows.size > 0;
    table.hidden = rows.size === 0;
  }

  function showListError(err) {
    replaceChildren(listAlert, h("p", { text: err.message }));
    listAlert.hidden = false;
  }

  async function load() {
    listAlert.hidden = true;
    try {
      const envelope = await api.get(`/files${query({ per_page: PER_PAGE })}`);
      total = (envelope.meta.pagination || {}).total || envelope.data.length;
      for (const row of rows.values()) row.tr.remove();
      rows.clear();
      for (const file of envelope.data) upsert(file);
    } catch (err) {
      showListError(err);
    }
    showSummary();
  }

  function buildRow(file) {
    const processing = percentBar(`Processing of ${file.filename}`, "file-progress");
    const cells = {
      status: h("span", { class: "status-slot" }),
      processing,
      message: h("span", { class: "file-message muted" }),
      preview: h("td", { class: "preview-cell", "data-label": "Preview" }),
    };
    const download = h("button", { type: "button", class: "btn btn-small",
      "aria-label": `Download ${file.filename}`, text: "Download", onclick: (e) => downloadFile(file, e) });
    const remove = h("button", { type: "button", class: "btn btn-small",
      "aria-label": `Delete ${file.filename}`, text: "Delete", onclick: (e) => deleteFile(file, e) });
    const tr = h("tr", { dataset: { fileId: file.id } },
      h("th", { scope: "row", "data-label": "File" },
        h("a", { class: "file-name", href: `#/files/${encodeURIComponent(file.id)}`, text: file.filename }),
        h("span", { class: "muted job-id", text: formatSize(file.size) })),
      h("td", { "data-label": "Status" }, cells.status, " ", processing, cells.message),
      cells.preview,
      h("td", { "data-label": "Uploaded" }, timeEl(file.uploaded_at || file.created_at)),
      h("td", { class: "actions-cell" }, h("span", { class: "actions" }, download, remove)));
    return { tr, cells };
  }

  function show(row) {
    const { file, cells } = row;
    replaceChildren(cells.status, statusBadge(file.status));
    const live = ["uploaded", "processing"].includes(file.status) && file.job_id;
    cells.processing.hidden = !live;
    cells.message.textContent = file.status === "failed" && file.error ? ` ${file.error.message}` : "";
    if (file.has_thumbnail && !row.thumbnail) showThumbnail(row);
  }

  async function showThumbnail(row) {
    row.thumbnail = true;
    if (row.file.storage_backend !== "local") {
      // S3 answers with a redirect to the bucket, which the console's CSP
      // (connect-src 'self') does not let fetch() follow.
      replaceChildren(row.cells.preview, h("span", { class: "muted", text: "Preview not shown for S3 storage." }));
      return;
    }
    try {
      const url = URL.createObjectURL(await fetchBlob(`/files/${encodeURIComponent(row.file.id)}/thumbnail`));
      blobUrls.add(url);
      replaceChildren(row.cells.preview, h("img", { class: "thumbnail", src: url,
        alt: `Thumbnail of ${row.file.filename}` }));
    } catch (err) {
      replaceChildren(row.cells.preview, h("span", { class: "muted", text: err.message }));
    }
  }

  /** Add a file (from an HTTP answer) or apply a newer version of one. */
  function upsert(file, { isNew = false } = {}) {
    let row = rows.get(file.id);
    if (row) {
      row.file = { ...row.file, ...file };
    } else {
      row = { file, ...buildRow(file) };
      rows.set(file.id, row);
      if (isNew) {
        tbody.prepend(row.tr);
        total += 1;
      } else {
        tbody.append(row.tr);
      }
    }
    show(row);
    showSummary();
    const pending = file.job_id && lastEvents.get(file.job_id);
    if (pending) {
      lastEvents.delete(file.job_id);
      onJobUpdated(pending);
    }
  }

  function rowOfJob(jobId) {
    for (const row of rows.values()) if (row.file.job_id === jobId) return row;
    return null;
  }

  async function refetch(row) {
    try {
      upsert((await api.get(`/files/${encodeURIComponent(row.file.id)}`)).data);
    } catch (err) {
      showListError(err);
    }
  }

  function onJobUpdated(event) {
    if (!event || !event.id || (event.type && event.type !== "file.process")) return;
    const row = rowOfJob(event.id);
    if (!row) {
      // The upload's answer may still be on its way; keep the event for it.
      lastEvents.set(event.id, event);
      if (lastEvents.size > 200) lastEvents.delete(lastEvents.keys().next().value);
      return;
    }
    row.cells.processing.set(event.progress);
    if (JOB_DONE.has(event.status)) {
      refetch(row);
    } else if (event.status === "running" || event.status === "retrying") {
      row.file.status = "processing";
      show(row);
    }
  }

  async function downloadFile(file, event) {
    const btn = event.currentTarget;
    btn.disabled = true;
    try {
      const url = URL.createObjectURL(await fetchBlob(`/files/${encodeURIComponent(file.id)}/download`));
      const link = h("a", { href: url, download: file.filename, hidden: true });
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
    } catch (err) {
      showListError(err);
    } finally {
      btn.disabled = false;
    }
  }

  async function deleteFile(file, event) {
    if (!window.confirm(`Delete ${file.filename}? This cannot be undone.`)) return;
    const btn = event.currentTarget;
    btn.disabled = true;
    try {
      const envelope = await api.delete(`/files/${encodeURIComponent(file.id)}`);
      ctx.notify(envelope.message);
      const row = rows.get(file.id);
      if (row) {
        row.tr.remove();
        rows.delete(file.id);
        total = Math.max(0, total - 1);
        showSummary();
      }
    } catch (err) {
      showListError(err);
      btn.disabled = false;
    }
  }

  const stopLive = liveScreen(onJobUpdated, load);
  await load();
  return () => {
    stopLive();
    for (const url of blobUrls) URL.revokeObjectURL(url);
  };
}

export default {
  id: "files",
  nav: [{ label: "Files", href: "#/files" }],
  routes: [
    { path: /^files$/, title: "Files", render: renderFiles },
    { path: /^files\/([0-9a-fA-F-]{36})$/, title: "File", render: renderFile },
  ],
};
