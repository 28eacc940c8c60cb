// Who may do what in the console, as the hub decides it: admins and owners
// manage the tenant (users, keys, webhooks, connections, the audit log).

/** True for a tenant's owner or admin. */
export const isAdmin = (ctx) => ["owner", "admin"].includes(ctx.user.role);
