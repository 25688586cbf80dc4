/**
 * The package's runtime surface for destination plug-ins (`import { pluginHandler } from 'ordered-fanout/runtime'`):
 * what a plug-in's Lambda handler imports. No `aws-cdk-lib` here: it is bundled into Lambda functions.
 */
export type { AdapterContext, ReconcileReader, RuntimePlugin } from './runtime-plugin';
export { buildPluginRuntime, pluginHandler, pluginSweeper } from './plugin-runtime';
export { deliverInAccountWaves, type SendWave } from './account-waves';
export { sendInBatches, type BatchLimits, type EntryAnswer } from './batch-calls';
export type { DeliverOptions, Delivery, DeliveryResult, Destination } from '../ordering/ports';
export type { DeliveryMode } from '../ordering/delivery-mode';
export type { ChangeRecord } from '../change-record/change-record';
export { describeRecord } from '../change-record/change-record';
export { Retrier, type ItemAnswer, type RetryPolicy } from '../retry/retrier';
export { NOT_SENT_DEADLINE, withDeadline } from '../retry/deadline';
export { classifyError, describeError } from '../retry/classify-error';
export { chunkBySize } from '../async/chunk-by-size';
export { mapLimited } from '../async/limited';
export { ConfigurationError, integer, optionalString, requiredString, url, type Env } from '../config/env';
