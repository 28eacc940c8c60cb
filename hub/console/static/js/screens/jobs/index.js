// The jobs module: the list with its submit form, and one job's detail.
import { renderJobDetail } from "./detail.js";
import { renderJobs } from "./list.js";

export default {
  id: "jobs",
  nav: [{ label: "Jobs", href: "#/jobs" }],
  routes: [
    { path: /^jobs$/, title: "Jobs", render: renderJobs },
    { path: /^jobs\/([0-9a-fA-F-]{36})$/, title: "Job", render: renderJobDetail },
  ],
};
