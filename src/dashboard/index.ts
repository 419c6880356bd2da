export { registerDashboard, type DashboardOptions } from './routes.js';
export { html, escapeHtml, join, SafeHtml } from './html.js';
export * from './model.js';
