import type { ServiceState, ServiceStats } from './records.js';

/** The deployment as a whole: its state (running or paused) and its counts. */
export interface ServiceStateStore {
  getServiceState(): Promise<ServiceState>;
  setServiceState(state: ServiceState): Promise<void>;
  stats(): Promise<ServiceStats>;
}

/** The methods of ServiceStateStore by name: what a store made of record stores delegates (see delegate.ts). */
export const serviceStateStoreMethods: Record<keyof ServiceStateStore, true> = {
  getServiceState: true,
  setServiceState: true,
  stats: true,
};
