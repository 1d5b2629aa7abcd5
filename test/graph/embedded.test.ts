import { EmbeddedContactGraph } from '../../graph/embedded.js';
import { contactGraphContract } from '../contract/contactGraph.contract.js';

contactGraphContract('embedded', async () => ({ graph: new EmbeddedContactGraph(), dispose: async () => {} }));
