/** The in-memory fake the activity tests use keeps the store contract too. */
import { MemoryStore } from '../helpers/fakes';
import { storeContract } from './storeContract';

storeContract('MemoryStore', async () => new MemoryStore());
