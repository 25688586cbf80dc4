export { LocalEventSourceMapping } from './event-source-mapping';
export { buildOnFailureRecord, type FailedBatch } from './on-failure-record';
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
