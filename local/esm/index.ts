export { LocalEventSourceMapping } from './event-source-mapping';
export { AWS_LIMITS, validateSettings } from './esm-settings';
export { buildOnFailureRecord, onFailureObjectKey, type FailedBatch } from './on-failure-record';
export type {
  BatchReport,
  EventSourceMappingSettings,
  InvokeFunction,
  KinesisBatchInfo,
  LocalEventSourceMappingOptions,
  MappingStats,
  OnFailureCondition,
  OnFailureRecord,
} from './types';
