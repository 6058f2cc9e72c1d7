/** The registry client's public face, for pull.ts, the services and the tests. */
export type { Credentials } from './auth.js';
export { type FetchedImage, type FetchOptions, normalizeRegistry, RegistryClient } from './client.js';
export { DEFAULT_CERTS_DIR, DEFAULT_CONSTANTS_FILE, LIMITS, loadRegistryConfig, type RegistryConfig } from './config.js';
export { CredentialStore, DEFAULT_AUTH_DIR } from './credentials.js';
export { formatPlatform, hostPlatform, MediaType, parsePlatform } from './manifest.js';
export { type PushLayer, type PushOptions, type PushResult, pushImage } from './push.js';
