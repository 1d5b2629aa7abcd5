import { EmbeddedHotStore } from '../../hot/embedded.js';
import { hotStoreContract } from '../contract/hotStore.contract.js';

hotStoreContract('embedded', async () => ({ store: new EmbeddedHotStore(), dispose: async () => {} }));
