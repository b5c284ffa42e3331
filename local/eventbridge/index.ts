/** Local EventBridge: a PutEvents endpoint with a JSONL log and a subscribe hook. */
export {
  type LocalBusEvent,
  type LocalEventBridge,
  type LocalEventBridgeOptions,
  startLocalEventBridge,
} from './server.ts';
