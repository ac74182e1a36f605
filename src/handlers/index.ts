/**
 * The handler SDK, exported as `jobs-service/handlers`: everything a handler module needs.
 * It imports nothing of the service (test/sdk.test.ts checks).
 */
export {
  defineHandler,
  type CatalogView,
  type FieldError,
  type Handler,
  type HandlerContext,
  type Kwargs,
  type RecoveryView,
  type RunLogger,
  type Step,
  type StepSelection,
} from './types.js';
export { DurationError, parseDuration } from './duration.js';
