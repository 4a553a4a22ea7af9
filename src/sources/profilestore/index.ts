/** Historical profiles from Parca or Pyroscope (`investigate --profiles-from`). */
export { parseProfileStoreUrl, type StoreAddress, type StoreKind, type Protocol } from './url.js';
export { profileStoreFromFlags, DEFAULT_TIMEOUT, type ProfileStore, type ProfileStoreFlags } from './store.js';
export { captureStoredProfiles, openStore, type StoredProfilesRequest } from './capture.js';
