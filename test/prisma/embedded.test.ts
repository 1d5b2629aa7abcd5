import { EmbeddedLastSeenStore } from '../../prisma/embedded.js';
import { lastSeenStoreContract } from '../contract/lastSeenStore.contract.js';

lastSeenStoreContract('embedded', async () => {
  const store = new EmbeddedLastSeenStore();
  return { store, queries: () => store.queries, dispose: () => store.close() };
});
