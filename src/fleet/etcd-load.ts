// The one place the etcd client library is loaded: lazily, on the first fleet start, so a
// node without `coordination` never loads it (nor gRPC). Tests check the module cache.
import type * as Etcd3Module from "etcd3";

export type Etcd3Lib = typeof Etcd3Module;

let loaded: Promise<Etcd3Lib> | undefined;

export function loadEtcd3(): Promise<Etcd3Lib> {
  loaded ??= import("etcd3");
  return loaded;
}
