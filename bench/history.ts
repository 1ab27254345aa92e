// History accounting shared by the benchmarks: events by type, encoded size, payload bytes.
import type { temporal as proto } from '@temporalio/proto';
import protoPkg from '@temporalio/proto';

const { temporal } = protoPkg;
type History = proto.api.history.v1.IHistory;

export interface HistoryCost {
  events: number;
  /** Size of the whole history, protobuf-encoded (what the server stores and replays). */
  historyBytes: number;
  /** Bytes of the payloads in it (data + metadata): inputs, results, signals, memo, search attributes, markers. */
  payloadBytes: number;
  byType: Record<string, number>;
}

function payloadSize(v: unknown, seen = new Set<unknown>()): number {
  if (!v || typeof v !== 'object' || seen.has(v)) return 0;
  seen.add(v);
  const o = v as Record<string, unknown>;
  if (o.data instanceof Uint8Array && 'metadata' in o) {
    let n = o.data.length;
    for (const m of Object.values((o.metadata as Record<string, Uint8Array>) ?? {})) n += m?.length ?? 0;
    return n;
  }
  if (v instanceof Uint8Array) return 0;
  let total = 0;
  for (const x of Array.isArray(v) ? v : Object.values(o)) total += payloadSize(x, seen);
  return total;
}

export function historyCost(history: History): HistoryCost {
  const events = history.events ?? [];
  const byType: Record<string, number> = {};
  for (const e of events) {
    const name = (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
    byType[name] = (byType[name] ?? 0) + 1;
  }
  return {
    events: events.length,
    historyBytes: temporal.api.history.v1.History.encode(history as proto.api.history.v1.History).finish().length,
    payloadBytes: payloadSize(events),
    byType,
  };
}

export const eventTime = (e: proto.api.history.v1.IHistoryEvent): number => {
  const t = e.eventTime;
  if (!t) return NaN;
  return Number(t.seconds ?? 0) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
};

export const eventTypeName = (e: proto.api.history.v1.IHistoryEvent): string =>
  (temporal.api.enums.v1.EventType[e.eventType ?? 0] ?? String(e.eventType)).replace(/^EVENT_TYPE_/, '');
