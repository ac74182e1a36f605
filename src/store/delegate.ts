/**
 * Makes `target` answer each method of interface `I` by calling the same method of `part`:
 * how a backend's store is composed of its record stores. The method tables
 * (jobStoreMethods, ...) are typed `Record<keyof I, true>`, so a method added to an interface
 * and not to its table fails the compile, and `part` must implement `I`.
 */
export function delegate<I extends object>(target: object, part: I, methods: Record<keyof I, true>): void {
  for (const name of Object.keys(methods) as Array<keyof I & string>) {
    const method = part[name];
    if (typeof method !== 'function') throw new Error(`${part.constructor.name} has no method ${name}`);
    Object.defineProperty(target, name, { value: method.bind(part), enumerable: false, writable: true, configurable: true });
  }
}
