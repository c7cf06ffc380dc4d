import type { NodeAPI } from "node-red";
import { CodedError } from "../../lib/common/CodedError";

/** Catalogues are named by this package's module: Node-RED loads each node type's file under that namespace. */
const PACKAGE = "@alarm-mail/node-red";

/**
 * Any error in the runtime's language: ours through the catalogue it names (its terms translated first), others with
 * their own text. This is the one place where a library error becomes words.
 */
export function describeError(RED: NodeAPI, err: unknown): string {
  if (!(err instanceof CodedError)) return err instanceof Error ? err.message : String(err);
  const catalogue = `${PACKAGE}/${err.catalogue}:`;
  const params = { ...err.params };
  for (const term of err.terms) {
    if (params[term] !== undefined) params[term] = RED._(`${catalogue}${err.catalogue}.${term}.${params[term]}`);
  }
  return RED._(`${catalogue}errors.${err.code}`, params);
}
