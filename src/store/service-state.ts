import type { ServicePause, ServiceState, ServiceStats } from './records.js';

/** The deployment as a whole: its state (running or paused) and its counts. */
export interface ServiceStateStore {
  getServiceState(): Promise<ServiceState>;
  /**
   * Sets the state. A change from running to paused records its time and `by` (who asked);
   * pausing a paused service keeps the first pause's; resuming clears them.
   */
  setServiceState(state: ServiceState, by?: string | null): Promise<void>;
  /** Since when and by whom the service is paused; null while it runs. Fields are null for a pause older than this record. */
  getServicePause(): Promise<ServicePause | null>;
  stats(): Promise<ServiceStats>;
}

/** The methods of ServiceStateStore by name: what a store made of record stores delegates (see delegate.ts). */
export const serviceStateStoreMethods: Record<keyof ServiceStateStore, true> = {
  getServiceState: true,
  setServiceState: true,
  getServicePause: true,
  stats: true,
};
