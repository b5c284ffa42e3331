export {
  type EngineOptions,
  type EngineState,
  OPERATIONS,
  type Operation,
  SecretsEngine,
  SecretsManagerFault,
} from './engine.ts';
export {
  type FaultSpec,
  type LocalSecretsManager,
  type LocalSecretsManagerOptions,
  type LocalSecretsManagerStats,
  type RequestLogEntry,
  startLocalSecretsManager,
} from './server.ts';
