// Node 20 compatibility shims, all in one place (see README "Node 20 shims"): import this first.
//
// 1. `Promise.withResolvers` (ES2024, Node 22+) is used by aws-local-stepfunctions.
// 2. @kubernetes/client-node 2.x needs undici ≥ 7.16, pinned with `"overrides": { "undici": "^7.16.0" }`
//    in package.json (an npm override cannot live in code).
// Both can go once the machines run Node 22.

interface Resolvers<T> {
  promise: Promise<T>;
  resolve: (value: T | PromiseLike<T>) => void;
  reject: (reason?: unknown) => void;
}

const promiseConstructor = Promise as PromiseConstructor & { withResolvers?: <T>() => Resolvers<T> };

if (typeof promiseConstructor.withResolvers !== "function") {
  Object.defineProperty(Promise, "withResolvers", {
    configurable: true,
    writable: true,
    value<T>(): Resolvers<T> {
      let resolve!: Resolvers<T>["resolve"];
      let reject!: Resolvers<T>["reject"];
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

export {};
