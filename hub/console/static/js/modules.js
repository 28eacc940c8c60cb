// The console's screens, one module per area. To add an integration's
// screen (reconciliations, connections, ...), write
// screens/<area>.js (or screens/<area>/index.js) exporting a module like
// screens/jobs/index.js, and list it here. See docs/DEVELOPING.md, "Console".
//
// A module is {id, nav: [{label, href, external?}], routes: [{path, title,
// render, public?}], visible?(ctx)}; a public route is shown logged out too.
// render(main, params, ctx) fills <main> and may return a cleanup function;
// ctx has user, tenant, config, notify(message).
import apiKeys from "./screens/api_keys/index.js";
import audit from "./screens/audit/index.js";
import connections from "./screens/connections/index.js";
import flower from "./screens/flower.js";
import files from "./screens/files/index.js";
import jobs from "./screens/jobs/index.js";
import reconciliations from "./screens/reconciliations/index.js";
import signup from "./screens/signup.js";
import users from "./screens/users/index.js";
import webhooks from "./screens/webhooks/index.js";

export default [jobs, files, reconciliations, connections, webhooks, users, apiKeys, audit, flower, signup];
