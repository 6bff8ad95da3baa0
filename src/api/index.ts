export { ApiClient } from './client.js';
export { managementPlugin } from './routes.js';
export { LocalManagement, type Management, type RegisterInput } from './service.js';
export * from './views.js';
