// The console's screens, one module per area. To add an integration's
// screen (reconciliations, connections, ...), write
// screens/<area>.js (or screens/<area>/index.js) exporting a module like
// screens/jobs/index.js, and list it here. See docs/DEVELOPING.md, "Console".
//
// A module is {id, nav: [{label, href, external?}], routes: [{path, title,
// render}], visible?(ctx)}. render(main, params, ctx) fills <main> and may
// return a cleanup function; ctx has user, tenant, config, notify(message).
// Screens anyone may open logged out (sign-up, the mailed links) are
// `publicRoutes` in main.js, not modules.
import apiKeys from "./screens/api_keys/index.js";
import audit from "./screens/audit/index.js";
import connections from "./screens/connections/index.js";
import flower from "./screens/flower.js";
import files from "./screens/files/index.js";
import invitations from "./screens/invitations.js";
import jobs from "./screens/jobs/index.js";
import operations from "./screens/operations/index.js";
import reconciliations from "./screens/reconciliations/index.js";
import users from "./screens/users/index.js";
import webhooks from "./screens/webhooks/index.js";

export default [jobs, files, reconciliations, connections, webhooks, users, invitations, apiKeys, audit, operations, flower];
